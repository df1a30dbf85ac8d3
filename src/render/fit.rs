//! Fitting: one fixed output size for every photo.
//!
//! A TV shows 1920×1080 whatever the photo is, and players that see the frame size change
//! mid-stream reinitialise or give up. So every photo is scaled, up or down, to the largest
//! size that fits inside the frame with its aspect ratio kept, and centred on the background
//! colour. Transparent pixels are composited onto that same colour first (compositing before
//! scaling gives the same result as scaling premultiplied alpha, and the scaler then works on
//! three channels instead of four).
//!
//! Scaling uses a Lanczos3 convolution from `fast_image_resize` (SIMD), written straight into
//! the middle of the canvas so no intermediate picture is made.

use fast_image_resize::images::{CroppedImageMut, Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::{Error, Layout, Pixels, Rgb, Size, Spec};

/// Where the picture goes inside the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Left edge of the picture.
    pub x: u32,
    /// Top edge of the picture.
    pub y: u32,
    /// Scaled picture size (at least 1×1, at most the frame).
    pub size: Size,
}

/// The largest size with the aspect ratio of `source` that fits in `frame`, centred.
pub fn placement(source: Size, frame: Size) -> Placement {
    let scale = f64::min(
        frame.width as f64 / source.width as f64,
        frame.height as f64 / source.height as f64,
    );
    let side = |v: u32, max: u32| ((v as f64 * scale).round() as u32).clamp(1, max);
    let size = Size {
        width: side(source.width, frame.width),
        height: side(source.height, frame.height),
    };
    Placement {
        x: (frame.width - size.width) / 2,
        y: (frame.height - size.height) / 2,
        size,
    }
}

/// Scales `src` into a frame of `spec.size` on `spec.background`; returns RGB pixels of
/// exactly that size.
pub fn fit(src: &Pixels, spec: &Spec) -> Result<Pixels, Error> {
    let flattened;
    let src = match src.layout {
        Layout::Rgb => src,
        Layout::Rgba => {
            flattened = composite(src, spec.background);
            &flattened
        }
    };
    let frame = spec.size;
    let mut canvas = Pixels::filled(frame.width, frame.height, spec.background.0);
    let place = placement(
        Size {
            width: src.width,
            height: src.height,
        },
        frame,
    );
    if place.size.width == src.width && place.size.height == src.height {
        copy_into(src, &mut canvas, place);
    } else {
        scale_into(src, &mut canvas, place)
            .map_err(|e| Error::Internal(format!("scaling: {e}")))?;
    }
    Ok(canvas)
}

/// Straight copy when no scaling is needed.
fn copy_into(src: &Pixels, canvas: &mut Pixels, place: Placement) {
    let row = src.stride();
    let canvas_stride = canvas.stride();
    for (y, line) in src.data.chunks_exact(row).enumerate() {
        let at = (place.y as usize + y) * canvas_stride + place.x as usize * 3;
        canvas.data[at..at + row].copy_from_slice(line);
    }
}

/// Fails only if the invariants of [`Pixels`] and [`placement`] were broken (a bug, not input).
fn scale_into(src: &Pixels, canvas: &mut Pixels, place: Placement) -> Result<(), String> {
    let (fw, fh) = (canvas.width, canvas.height);
    let source = ImageRef::new(src.width, src.height, &src.data, PixelType::U8x3)
        .map_err(|e| e.to_string())?;
    let mut target = Image::from_slice_u8(fw, fh, &mut canvas.data, PixelType::U8x3)
        .map_err(|e| e.to_string())?;
    let mut window = CroppedImageMut::new(
        &mut target,
        place.x,
        place.y,
        place.size.width,
        place.size.height,
    )
    .map_err(|e| e.to_string())?;
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&source, &mut window, &options)
        .map_err(|e| e.to_string())
}

/// Flattens straight alpha onto an opaque background.
pub fn composite(src: &Pixels, background: Rgb) -> Pixels {
    let mut out = Vec::with_capacity(src.data.len() / 4 * 3);
    let bg = background.0.map(u32::from);
    for px in src.data.chunks_exact(4) {
        let a = px[3] as u32;
        for c in 0..3 {
            let v = px[c] as u32 * a + bg[c] * (255 - a);
            out.push(((v + 127) / 255) as u8);
        }
    }
    Pixels {
        width: src.width,
        height: src.height,
        layout: Layout::Rgb,
        data: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(width: u32, height: u32) -> Size {
        Size { width, height }
    }

    #[test]
    fn placement_keeps_aspect_and_centres() {
        let hd = size(1920, 1080);
        assert_eq!(
            placement(size(4000, 3000), hd),
            Placement {
                x: 240,
                y: 0,
                size: size(1440, 1080)
            }
        );
        assert_eq!(
            placement(size(1200, 1800), hd),
            Placement {
                x: 600,
                y: 0,
                size: size(720, 1080)
            }
        );
        // 8:1 panorama: a thin band across the middle.
        assert_eq!(
            placement(size(12000, 1500), hd),
            Placement {
                x: 0,
                y: 420,
                size: size(1920, 240)
            }
        );
        // 1×1 scales up to fill the height.
        assert_eq!(
            placement(size(1, 1), hd),
            Placement {
                x: 420,
                y: 0,
                size: size(1080, 1080)
            }
        );
        // Extremely thin pictures never get a zero side.
        assert_eq!(placement(size(100_000, 1), hd).size, size(1920, 1));
        assert_eq!(placement(size(1, 100_000), hd).size, size(1, 1080));
    }

    #[test]
    fn fit_is_exactly_the_frame_with_background_bars() {
        let spec = Spec {
            size: size(64, 36),
            quality: 85,
            background: Rgb([10, 20, 30]),
        };
        let white = Pixels::filled(100, 100, [255, 255, 255]);
        let out = fit(&white, &spec).expect("fits");
        assert_eq!((out.width, out.height, out.layout), (64, 36, Layout::Rgb));
        assert_eq!(out.data.len(), 64 * 36 * 3);
        assert_eq!(out.pixel(0, 0), [10, 20, 30]);
        assert_eq!(out.pixel(63, 35), [10, 20, 30]);
        assert_eq!(out.pixel(32, 18), [255, 255, 255]);
    }

    #[test]
    fn alpha_becomes_background() {
        let data = vec![255, 0, 0, 0, 255, 0, 0, 255, 0, 0, 255, 128];
        let rgba = Pixels::new(3, 1, Layout::Rgba, data).expect("3 pixels");
        let out = composite(&rgba, Rgb([0, 0, 0]));
        assert_eq!(out.data, [0, 0, 0, 255, 0, 0, 0, 0, 128]);
    }
}
