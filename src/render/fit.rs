//! Fitting: one fixed output size for every photo, in one of four fill modes.
//!
//! A TV shows 1920×1080 whatever the photo is, and players that see the frame size change
//! mid-stream reinitialise or give up. So every photo becomes a frame of exactly one size, and
//! the [`Fit`] says what happens where the photo's shape differs from the frame's:
//!
//! - [`Fit::Letterbox`]: scaled, up or down, to the largest size that fits inside the frame with
//!   its aspect ratio kept, centred on the background colour ([`placement`]).
//! - [`Fit::Blur`]: the same picture in the same place, over a blurred, darkened copy of itself
//!   that covers the whole frame, as digital photo frames do. The copy is made at 1/16 of the
//!   frame's resolution ([`super::blur`]), so it costs a few milliseconds.
//! - [`Fit::Cover`]: scaled to cover the whole frame and cropped, centred ([`cover_crop`]).
//!   Keeping faces or a centre of interest inside the crop would take a detector that costs more
//!   than the rest of the pipeline, so the crop is always centred.
//! - [`Fit::Pair`]: two portraits side by side on a landscape frame ([`pairs`], [`pair_layout`]),
//!   each fitted into its half with a thin gap of background colour between them. A picture
//!   that has no partner is shown as [`Fit::Blur`].
//!
//! Transparent pixels are composited onto the background colour first (compositing before
//! scaling gives the same result as scaling premultiplied alpha, and the scaler then works on
//! three channels instead of four).
//!
//! Scaling uses a Lanczos3 convolution from `fast_image_resize` (SIMD), written straight into
//! its place in the canvas so no intermediate picture is made.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use fast_image_resize::images::{CroppedImageMut, Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::{Error, Layout, Pixels, Rgb, Size, Spec, blur};

/// How a photo fills a frame whose shape differs from its own. Part of the [`Spec`], so frames
/// of one photo in two modes are two frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fit {
    /// The whole photo, with bars of the background colour.
    #[default]
    Letterbox,
    /// The whole photo, over a blurred, darkened copy of itself that fills the bars.
    Blur,
    /// The frame filled, the photo cropped (centred).
    Cover,
    /// Two portraits side by side on a landscape frame; anything else as [`Fit::Blur`].
    Pair,
}

impl Fit {
    /// Every mode, in the order the help text lists them.
    pub const ALL: [Fit; 4] = [Fit::Letterbox, Fit::Blur, Fit::Cover, Fit::Pair];

    /// The name used on the command line and in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Fit::Letterbox => "letterbox",
            Fit::Blur => "blur",
            Fit::Cover => "cover",
            Fit::Pair => "pair",
        }
    }

    /// The factor a picture shown at `shown` is scaled by in a frame of `frame`: the smaller
    /// of the two side ratios for the modes that show the whole picture, the larger for
    /// [`Fit::Cover`]. A paired portrait goes into half the frame, which never needs more than
    /// fitting into the whole frame, so [`Fit::Pair`] answers as [`Fit::Letterbox`]. The JPEG
    /// decoder uses this to decode no more pixels than the frame needs.
    pub fn scale(self, shown: Size, frame: Size) -> f64 {
        let across = frame.width as f64 / shown.width as f64;
        let down = frame.height as f64 / shown.height as f64;
        match self {
            Fit::Cover => across.max(down),
            Fit::Letterbox | Fit::Blur | Fit::Pair => across.min(down),
        }
    }
}

impl fmt::Display for Fit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fit {
    type Err = String;

    /// Parses `letterbox`, `blur`, `cover` or `pair` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Fit::ALL
            .into_iter()
            .find(|fit| fit.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| format!("'{s}' is not a fill mode: use letterbox, blur, cover or pair"))
    }
}

/// Where a picture goes inside the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Left edge of the picture.
    pub x: u32,
    /// Top edge of the picture.
    pub y: u32,
    /// Scaled picture size (at least 1×1, at most the frame).
    pub size: Size,
}

impl Placement {
    /// Whether the picture covers the whole of a frame of `frame`.
    fn covers(&self, frame: Size) -> bool {
        self.x == 0 && self.y == 0 && self.size == frame
    }
}

/// The largest size with the aspect ratio of `source` that fits in `frame`, centred: where
/// [`Fit::Letterbox`] and [`Fit::Blur`] put the picture.
pub fn placement(source: Size, frame: Size) -> Placement {
    let scale = Fit::Letterbox.scale(source, frame);
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

/// A rectangle of a source picture, in source pixels. The sides are fractional so that the
/// crop has exactly the frame's aspect ratio and the scaler places it exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crop {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Width, at most the picture's.
    pub width: f64,
    /// Height, at most the picture's.
    pub height: f64,
}

/// The part of a picture of size `source` that [`Fit::Cover`] shows in a frame of `frame`: the
/// largest rectangle with the frame's aspect ratio, centred.
pub fn cover_crop(source: Size, frame: Size) -> Crop {
    let scale = Fit::Cover.scale(source, frame);
    let (sw, sh) = (source.width as f64, source.height as f64);
    let width = (frame.width as f64 / scale).min(sw);
    let height = (frame.height as f64 / scale).min(sh);
    Crop {
        left: (sw - width) / 2.0,
        top: (sh - height) / 2.0,
        width,
        height,
    }
}

/// Whether a picture shown at `shown` can be half of a pair on a frame of `frame`: the frame is
/// landscape (wider than high) and the picture a portrait (higher than wide; a square picture
/// is not a portrait).
pub fn pairable(frame: Size, shown: Size) -> bool {
    frame.width > frame.height && shown.height > shown.width
}

/// Whether two pictures shown at `first` and `second` go side by side on one frame of `frame`
/// in [`Fit::Pair`]: exactly when both are [`pairable`].
pub fn pairs(frame: Size, first: Size, second: Size) -> bool {
    pairable(frame, first) && pairable(frame, second)
}

/// The gap between the two pictures of a pair: 1/120 of the frame's width (16 pixels at
/// 1920), at least 2 pixels, and never so wide that no picture fits.
pub fn pair_gap(frame: Size) -> u32 {
    (frame.width / 120)
        .max(2)
        .min(frame.width.saturating_sub(2))
}

/// Where the two pictures of a pair go: each is fitted into its half of the frame (the width
/// less the [`pair_gap`], halved), they sit side by side with the gap between them, and the
/// two are centred together, so the pair reads as one picture with a seam. The first is on the
/// left.
pub fn pair_layout(frame: Size, first: Size, second: Size) -> [Placement; 2] {
    let gap = pair_gap(frame);
    let half = Size {
        width: ((frame.width - gap) / 2).max(1),
        height: frame.height,
    };
    let (a, b) = (placement(first, half), placement(second, half));
    let x = frame
        .width
        .saturating_sub(a.size.width + gap + b.size.width)
        / 2;
    [
        Placement { x, ..a },
        Placement {
            x: x + a.size.width + gap,
            ..b
        },
    ]
}

/// Makes the frame of one picture: `src` in a frame of `spec.size`, filled as `spec.fit` says
/// ([`Fit::Pair`] shows a picture without a partner as [`Fit::Blur`]). Returns RGB pixels of
/// exactly that size.
pub fn fit(src: &Pixels, spec: &Spec) -> Result<Pixels, Error> {
    let src = flatten(src, spec.background);
    let frame = spec.size;
    let size = Size {
        width: src.width,
        height: src.height,
    };
    match spec.fit {
        Fit::Letterbox => letterbox(&src, spec),
        Fit::Cover => {
            let mut canvas = Pixels::filled(frame.width, frame.height, spec.background.0);
            let whole = Placement {
                x: 0,
                y: 0,
                size: frame,
            };
            let crop = cover_crop(size, frame);
            scale_into(&src, Some(crop), &mut canvas, whole, FilterType::Lanczos3)?;
            Ok(canvas)
        }
        Fit::Blur | Fit::Pair => {
            let place = placement(size, frame);
            if place.covers(frame) {
                // Nothing of a backdrop would show.
                return letterbox(&src, spec);
            }
            let mut canvas = backdrop(&src, frame)?;
            scale_into(&src, None, &mut canvas, place, FilterType::Lanczos3)?;
            Ok(canvas)
        }
    }
}

/// Makes the frame of two pictures side by side (see [`pair_layout`]) on `spec.background`,
/// or `None` when they do not [`pairs`] (whatever `spec.fit` says: the caller chose to pair).
pub fn fit_pair(first: &Pixels, second: &Pixels, spec: &Spec) -> Result<Option<Pixels>, Error> {
    let frame = spec.size;
    let size = |p: &Pixels| Size {
        width: p.width,
        height: p.height,
    };
    if !pairs(frame, size(first), size(second)) {
        return Ok(None);
    }
    let mut canvas = Pixels::filled(frame.width, frame.height, spec.background.0);
    let places = pair_layout(frame, size(first), size(second));
    for (picture, place) in [first, second].into_iter().zip(places) {
        let picture = flatten(picture, spec.background);
        scale_into(&picture, None, &mut canvas, place, FilterType::Lanczos3)?;
    }
    Ok(Some(canvas))
}

/// Today's letterbox, unchanged: the picture fitted and centred on the background.
fn letterbox(src: &Pixels, spec: &Spec) -> Result<Pixels, Error> {
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
        scale_into(src, None, &mut canvas, place, FilterType::Lanczos3)?;
    }
    Ok(canvas)
}

/// The backdrop of [`Fit::Blur`]: the part of `src` that covers the frame, averaged down to
/// 1/[`blur::REDUCTION`] of the frame's sides (a box filter reads each source pixel once),
/// blurred and darkened there ([`blur::soften`]), and scaled back up to the whole frame with a
/// bilinear filter, which is smooth enough for a picture that has no detail left.
fn backdrop(src: &Pixels, frame: Size) -> Result<Pixels, Error> {
    let source = Size {
        width: src.width,
        height: src.height,
    };
    let small = Size {
        width: frame.width.div_ceil(blur::REDUCTION),
        height: frame.height.div_ceil(blur::REDUCTION),
    };
    let mut reduced = Pixels::filled(small.width, small.height, [0, 0, 0]);
    let whole_small = Placement {
        x: 0,
        y: 0,
        size: small,
    };
    let crop = cover_crop(source, frame);
    scale_into(src, Some(crop), &mut reduced, whole_small, FilterType::Box)?;
    blur::soften(&mut reduced);
    let mut canvas = Pixels::filled(frame.width, frame.height, [0, 0, 0]);
    let whole = Placement {
        x: 0,
        y: 0,
        size: frame,
    };
    scale_into(&reduced, None, &mut canvas, whole, FilterType::Bilinear)?;
    Ok(canvas)
}

/// `src` with its alpha composited onto `background`; RGB pictures as they are.
fn flatten(src: &Pixels, background: Rgb) -> Cow<'_, Pixels> {
    match src.layout {
        Layout::Rgb => Cow::Borrowed(src),
        Layout::Rgba => Cow::Owned(composite(src, background)),
    }
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

/// Scales `src` (or the `crop` of it) into the `place` window of `canvas`, both RGB. Fails only
/// if the invariants of [`Pixels`] and of the geometry above were broken (a bug, not input).
fn scale_into(
    src: &Pixels,
    crop: Option<Crop>,
    canvas: &mut Pixels,
    place: Placement,
    filter: FilterType,
) -> Result<(), Error> {
    let internal = |e: &dyn fmt::Display| Error::Internal(format!("scaling: {e}"));
    let (fw, fh) = (canvas.width, canvas.height);
    let source = ImageRef::new(src.width, src.height, &src.data, PixelType::U8x3)
        .map_err(|e| internal(&e))?;
    let mut target = Image::from_slice_u8(fw, fh, &mut canvas.data, PixelType::U8x3)
        .map_err(|e| internal(&e))?;
    let mut window = CroppedImageMut::new(
        &mut target,
        place.x,
        place.y,
        place.size.width,
        place.size.height,
    )
    .map_err(|e| internal(&e))?;
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
    if let Some(c) = crop {
        options = options.crop(c.left, c.top, c.width, c.height);
    }
    Resizer::new()
        .resize(&source, &mut window, &options)
        .map_err(|e| internal(&e))
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

    fn spec(width: u32, height: u32, fit: Fit) -> Spec {
        Spec {
            size: size(width, height),
            quality: 85,
            background: Rgb([10, 20, 30]),
            fit,
        }
    }

    /// A picture whose left half is `left` and right half `right`.
    fn halves(width: u32, height: u32, left: [u8; 3], right: [u8; 3]) -> Pixels {
        let data = (0..height)
            .flat_map(|_| (0..width).flat_map(move |x| if x < width / 2 { left } else { right }))
            .collect();
        Pixels::new(width, height, Layout::Rgb, data).expect("sized")
    }

    #[test]
    fn fit_modes_parse_and_print() {
        for fit in Fit::ALL {
            assert_eq!(fit.to_string().parse::<Fit>(), Ok(fit));
        }
        assert_eq!("Blur".parse::<Fit>(), Ok(Fit::Blur));
        assert_eq!(" cover ".parse::<Fit>(), Ok(Fit::Cover));
        assert_eq!(Fit::default(), Fit::Letterbox);
        let e = "fill".parse::<Fit>().expect_err("not a mode");
        assert!(
            e.contains("'fill'") && e.contains("letterbox, blur, cover or pair"),
            "{e}"
        );
        assert!("".parse::<Fit>().is_err());
    }

    #[test]
    fn scale_fits_inside_or_covers() {
        let hd = size(1920, 1080);
        let portrait = size(1080, 1920);
        assert_eq!(Fit::Letterbox.scale(portrait, hd), 1080.0 / 1920.0);
        assert_eq!(Fit::Blur.scale(portrait, hd), 1080.0 / 1920.0);
        assert_eq!(Fit::Pair.scale(portrait, hd), 1080.0 / 1920.0);
        assert_eq!(Fit::Cover.scale(portrait, hd), 1920.0 / 1080.0);
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
    fn cover_crop_has_the_frame_aspect_and_is_centred() {
        let hd = size(1920, 1080);
        // A 3:2 landscape loses a strip top and bottom.
        let c = cover_crop(size(3000, 2000), hd);
        assert_eq!((c.left, c.width), (0.0, 3000.0));
        assert!((c.height - 1687.5).abs() < 1e-9 && (c.top - 156.25).abs() < 1e-9);
        // A portrait keeps its middle band.
        let c = cover_crop(size(1080, 1920), hd);
        assert_eq!((c.left, c.width), (0.0, 1080.0));
        assert!((c.height - 607.5).abs() < 1e-9 && (c.top - 656.25).abs() < 1e-9);
        // A panorama keeps its middle.
        let c = cover_crop(size(12000, 1500), hd);
        assert!(c.top.abs() < 1e-9 && (c.height - 1500.0).abs() < 1e-9);
        assert!((c.width - 2666.666).abs() < 0.01 && (c.left - 4666.666).abs() < 0.01);
        // The same shape: all of it.
        assert_eq!(
            cover_crop(size(3840, 2160), hd),
            Crop {
                left: 0.0,
                top: 0.0,
                width: 3840.0,
                height: 2160.0
            }
        );
        // One pixel: a fraction of it, still the frame's shape.
        let c = cover_crop(size(1, 1), hd);
        assert!((c.width / c.height - 16.0 / 9.0).abs() < 1e-9 && c.width == 1.0);
    }

    #[test]
    fn pairs_are_two_portraits_on_a_landscape_frame() {
        let hd = size(1920, 1080);
        let (portrait, landscape, square) = (size(2, 3), size(3, 2), size(5, 5));
        assert!(pairs(hd, portrait, size(1080, 6000)));
        assert!(!pairs(hd, portrait, landscape));
        assert!(!pairs(hd, landscape, portrait));
        assert!(!pairs(hd, portrait, square));
        assert!(!pairs(size(1080, 1920), portrait, portrait));
        assert!(!pairs(size(1000, 1000), portrait, portrait));
    }

    #[test]
    fn pair_layout_fits_each_half_with_a_centred_gap() {
        let hd = size(1920, 1080);
        assert_eq!(pair_gap(hd), 16);
        // Two 2:3 portraits: 720 wide each, 16 apart, centred together.
        let [a, b] = pair_layout(hd, size(2000, 3000), size(1200, 1800));
        assert_eq!(
            (a, b),
            (
                Placement {
                    x: 232,
                    y: 0,
                    size: size(720, 1080)
                },
                Placement {
                    x: 968,
                    y: 0,
                    size: size(720, 1080)
                }
            )
        );
        // On a 4:3 frame a 2:3 portrait is held by its half's width and centred vertically.
        let frame = size(1024, 768);
        let [a, b] = pair_layout(frame, size(2000, 3000), size(2000, 3000));
        assert_eq!(pair_gap(frame), 8);
        assert_eq!(a.size, size(508, 762));
        assert_eq!((a.x, a.y, b.x), (0, 3, 516));
        // Tiny frames still hold two pictures.
        let [a, b] = pair_layout(size(3, 2), size(1, 2), size(1, 2));
        assert!(a.x + a.size.width <= b.x && b.x + b.size.width <= 3);
    }

    #[test]
    fn fit_is_exactly_the_frame_with_background_bars() {
        let spec = spec(64, 36, Fit::Letterbox);
        let white = Pixels::filled(100, 100, [255, 255, 255]);
        let out = fit(&white, &spec).expect("fits");
        assert_eq!((out.width, out.height, out.layout), (64, 36, Layout::Rgb));
        assert_eq!(out.data.len(), 64 * 36 * 3);
        assert_eq!(out.pixel(0, 0), [10, 20, 30]);
        assert_eq!(out.pixel(63, 35), [10, 20, 30]);
        assert_eq!(out.pixel(32, 18), [255, 255, 255]);
    }

    #[test]
    fn blur_fills_the_bars_with_the_darkened_picture() {
        let spec = spec(320, 180, Fit::Blur);
        let white = Pixels::filled(100, 100, [255, 255, 255]);
        let out = fit(&white, &spec).expect("fits");
        assert_eq!((out.width, out.height), (320, 180));
        // The picture itself is untouched, the bars are darkened white, not the background.
        assert_eq!(out.pixel(160, 90), [255, 255, 255]);
        let bar = out.pixel(5, 90);
        assert!(bar.iter().all(|&v| (100..200).contains(&v)), "{bar:?}");
        // A picture of the frame's own shape has no bars and no backdrop.
        let wide = halves(640, 360, [200, 0, 0], [0, 0, 200]);
        assert_eq!(
            fit(&wide, &spec).expect("fits"),
            fit(
                &wide,
                &Spec {
                    fit: Fit::Letterbox,
                    ..spec
                }
            )
            .expect("fits")
        );
    }

    #[test]
    fn cover_fills_the_frame_from_the_centre() {
        // A portrait whose top third is red, middle green, bottom blue: the landscape frame
        // shows only green.
        let (w, h) = (90, 300);
        let data = (0..h)
            .flat_map(|y| {
                let c = [[255, 0, 0], [0, 255, 0], [0, 0, 255]][(y * 3 / h) as usize];
                (0..w).flat_map(move |_| c)
            })
            .collect();
        let bands = Pixels::new(w, h, Layout::Rgb, data).expect("sized");
        let out = fit(&bands, &spec(160, 90, Fit::Cover)).expect("fits");
        assert_eq!((out.width, out.height), (160, 90));
        for (x, y) in [(0, 0), (159, 0), (0, 89), (159, 89), (80, 45)] {
            assert_eq!(out.pixel(x, y), [0, 255, 0], "({x}, {y})");
        }
        // A landscape of two colours in a portrait frame: the middle, both colours, no bars.
        let wide = halves(400, 100, [255, 0, 0], [0, 0, 255]);
        let out = fit(&wide, &spec(50, 100, Fit::Cover)).expect("fits");
        assert_eq!(out.pixel(0, 50), [255, 0, 0]);
        assert_eq!(out.pixel(49, 50), [0, 0, 255]);
    }

    #[test]
    fn pair_puts_two_portraits_side_by_side() {
        let spec = spec(320, 180, Fit::Pair);
        let red = Pixels::filled(60, 90, [255, 0, 0]);
        let blue = Pixels::filled(60, 90, [0, 0, 255]);
        let out = fit_pair(&red, &blue, &spec)
            .expect("fits")
            .expect("two portraits pair");
        let [a, b] = pair_layout(spec.size, size(60, 90), size(60, 90));
        assert_eq!(out.pixel(a.x + a.size.width / 2, 90), [255, 0, 0]);
        assert_eq!(out.pixel(b.x + b.size.width / 2, 90), [0, 0, 255]);
        assert_eq!(out.pixel(a.x + a.size.width + 1, 90), [10, 20, 30], "gap");
        assert_eq!(out.pixel(0, 90), [10, 20, 30], "outer bar");
        // A landscape partner does not pair.
        let wide = Pixels::filled(90, 60, [0, 255, 0]);
        assert_eq!(fit_pair(&red, &wide, &spec).expect("fits"), None);
    }

    #[test]
    fn alpha_becomes_background() {
        let data = vec![255, 0, 0, 0, 255, 0, 0, 255, 0, 0, 255, 128];
        let rgba = Pixels::new(3, 1, Layout::Rgba, data).expect("3 pixels");
        let out = composite(&rgba, Rgb([0, 0, 0]));
        assert_eq!(out.data, [0, 0, 0, 255, 0, 0, 0, 0, 128]);
    }
}
