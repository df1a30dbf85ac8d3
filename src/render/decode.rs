//! Decoding: from file bytes to 8-bit sRGB pixels and the orientation to apply.
//!
//! The format is taken from the content ([`Format::sniff`]), never the name. Before any pixel
//! buffer is allocated the header's size is checked against the [`Limits`], so a 3 KB PNG that
//! claims 60000×60000 pixels is refused in microseconds. JPEG goes to libjpeg-turbo at the
//! smallest DCT scale that still covers the frame in its fill mode; HEIC and AVIF to libheif
//! (`heif.rs`); CMYK TIFF to the `tiff` crate (`cmyk_tiff.rs`); the other formats to the
//! `image` crate at full size (they offer no cheaper path). All results are normalised to
//! [`Pixels`] in sRGB.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError};

use super::color::{self, Profile};
use super::jpeg::{self, ColorModel, Markers};
use super::orient::Orientation;
use super::{Error, Fit, Layout, Limits, Pixels, Size, Warning};
use super::{cmyk_tiff, heif};
use crate::format::Format;

/// What decoding produced.
#[derive(Debug)]
pub struct Decoded {
    /// The stored pixels (not yet oriented), in sRGB; possibly smaller than the stored size.
    pub pixels: Pixels,
    /// How to turn the pixels upright.
    pub orientation: Orientation,
    /// The format recognised.
    pub format: Format,
    /// The full stored size from the header, before any decode-time scaling.
    pub stored_size: Size,
}

/// Decodes a photo for a frame of size `target` filled as `fit` says: JPEG may be decoded at a
/// reduced scale, never below what that frame needs.
pub fn decode(
    bytes: &[u8],
    target: Size,
    fit: Fit,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Result<Decoded, Error> {
    let format = Format::sniff(bytes).ok_or_else(|| {
        Error::NotAnImage(if bytes.is_empty() {
            "the file is empty".into()
        } else {
            "no known image signature at the start of the file".into()
        })
    })?;
    if !format.is_decodable() {
        return Err(Error::Unsupported(format!(
            "{format} photos cannot be decoded"
        )));
    }
    match format {
        Format::Jpeg => decode_jpeg(bytes, target, fit, limits, warnings),
        Format::Heic | Format::Avif => heif::decode(bytes, format, limits, warnings),
        Format::Tiff if cmyk_tiff::is_cmyk(bytes) => cmyk_tiff::decode(bytes, limits, warnings),
        _ => decode_other(bytes, format, limits, warnings),
    }
}

/// How much of the reduction is left to the Lanczos3 step after DCT-domain scaling. Scaling
/// in the DCT domain drops high frequencies abruptly and aliases a little; decoding to at least
/// 1.5× the fitted size and letting Lanczos3 do the rest gave a higher PSNR against an exact
/// Lanczos reference than libvips' shrink-on-load (`benches/vs_peers.sh`: 40.5 dB against
/// 40.2 dB; a margin of 1 gave 39.8 dB, a margin of 2 was slower for no gain, 40.4 dB).
const DCT_MARGIN: f64 = 1.5;

/// The smallest DCT scale `n/8` at which a `stored` picture, turned by `orientation`, still
/// has 1.5 times as many pixels (per side) as a frame of `target` filled as `fit` says needs
/// (see `DCT_MARGIN`): fitting inside the frame is held by the picture's longer side relative
/// to the frame, covering it by the shorter one, so cover needs more ([`Fit::scale`]).
/// Decoding any larger only costs time.
pub fn jpeg_scale(stored: Size, orientation: Orientation, target: Size, fit: Fit) -> u8 {
    let ratio = fit.scale(orientation.shown(stored), target);
    if ratio >= 1.0 {
        return 8;
    }
    let need = |side: u32| {
        (side as f64 * ratio * DCT_MARGIN)
            .round()
            .clamp(1.0, side as f64) as u32
    };
    let (need_w, need_h) = (need(stored.width), need(stored.height));
    (1..=8u8)
        .find(|&n| {
            jpeg::scaled(stored.width, n) >= need_w && jpeg::scaled(stored.height, n) >= need_h
        })
        .unwrap_or(8)
}

fn decode_jpeg(
    bytes: &[u8],
    target: Size,
    fit: Fit,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Result<Decoded, Error> {
    let markers = Markers::scan(bytes);
    let orientation = markers
        .exif
        .map(|exif| Orientation::from_exif_block(exif, warnings))
        .unwrap_or_default();
    let mut decoder = jpeg::Decoder::new()?;
    let header = decoder.header(bytes)?;
    limits.check_pixels(header.width as u64, header.height as u64)?;
    let stored_size = Size {
        width: header.width,
        height: header.height,
    };
    let scale = jpeg_scale(stored_size, orientation, target, fit);
    let profile = markers
        .icc
        .as_deref()
        .and_then(|icc| Profile::parse(icc, warnings));

    let mut note = |warning: Option<String>| {
        if let Some(w) = warning {
            warnings.push(Warning::CorruptData(w));
        }
    };
    let pixels = match header.model {
        ColorModel::Rgb => {
            let (data, w, h, warning) = decoder.decode(bytes, &header, scale, 3)?;
            note(warning);
            let mut pixels = Pixels::new(w, h, Layout::Rgb, data).ok_or_else(size_mismatch)?;
            if let Some(profile) = &profile {
                profile.rgb_to_srgb(&mut pixels, warnings);
            }
            pixels
        }
        ColorModel::Gray => {
            let (data, w, h, warning) = decoder.decode(bytes, &header, scale, 1)?;
            note(warning);
            profile
                .as_ref()
                .filter(|p| p.is_gray())
                .and_then(|p| p.gray_to_srgb(&data, w, h, warnings))
                .or_else(|| color::gray_to_rgb(&data, w, h))
                .ok_or_else(size_mismatch)?
        }
        ColorModel::Cmyk => {
            let (mut data, w, h, warning) = decoder.decode(bytes, &header, scale, 4)?;
            note(warning);
            color::normalise_cmyk(&mut data, markers.adobe);
            profile
                .as_ref()
                .filter(|p| p.is_cmyk())
                .and_then(|p| p.cmyk_to_srgb(&data, w, h, warnings))
                .or_else(|| color::naive_cmyk_to_rgb(&data, w, h))
                .ok_or_else(size_mismatch)?
        }
    };
    Ok(Decoded {
        pixels,
        orientation,
        format: Format::Jpeg,
        stored_size,
    })
}

fn size_mismatch() -> Error {
    Error::Corrupt {
        format: Format::Jpeg,
        detail: "decoded buffer does not match the header size".into(),
    }
}

/// PNG, GIF, WebP, BMP and TIFF through the `image` crate.
fn decode_other(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Result<Decoded, Error> {
    let cursor = Cursor::new(bytes);
    let map = |e: ImageError| image_error(e, format);
    let mut decoder: Box<dyn ImageDecoder> = match format {
        Format::Png => Box::new(image::codecs::png::PngDecoder::new(cursor).map_err(map)?),
        Format::Gif => Box::new(image::codecs::gif::GifDecoder::new(cursor).map_err(map)?),
        Format::WebP => Box::new(image::codecs::webp::WebPDecoder::new(cursor).map_err(map)?),
        Format::Bmp => Box::new(image::codecs::bmp::BmpDecoder::new(cursor).map_err(map)?),
        Format::Tiff => Box::new(image::codecs::tiff::TiffDecoder::new(cursor).map_err(map)?),
        Format::Jpeg | Format::Heic | Format::Avif => {
            return Err(Error::Unsupported(format.to_string()));
        }
    };
    let (width, height) = decoder.dimensions();
    limits.check_pixels(width as u64, height as u64)?;
    // The decoder's own allocation cap, as a second line behind the pixel limit: 16-bit RGBA
    // is the widest layout any of these formats decodes to.
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(1 << 20));
    decoder.set_limits(image_limits).map_err(map)?;

    let icc = decoder.icc_profile().ok().flatten();
    let orientation = match format {
        // A TIFF file is itself the structure an EXIF block is made of.
        Format::Tiff => Orientation::from_exif_block(bytes, warnings),
        _ => match decoder.exif_metadata() {
            Ok(Some(exif)) => {
                let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(&exif);
                Orientation::from_exif_block(tiff, warnings)
            }
            _ => Orientation::Normal,
        },
    };
    let image = DynamicImage::from_decoder(decoder).map_err(map)?;
    let profile = icc.as_deref().and_then(|icc| Profile::parse(icc, warnings));
    // A grey picture with a grey profile goes through the profile's curve straight to sRGB;
    // expanded to RGB first, the profile would no longer fit the pixels.
    let gray = match &profile {
        Some(p) if p.is_gray() && !image.color().has_color() => {
            gray_through_profile(p, &image, warnings)
        }
        _ => None,
    };
    let converted = gray.is_some();
    let mut pixels = match gray {
        Some(pixels) => Some(pixels),
        None if image.color().has_alpha() => {
            let rgba = image.into_rgba8();
            Pixels::new(rgba.width(), rgba.height(), Layout::Rgba, rgba.into_raw())
        }
        None => {
            let rgb = image.into_rgb8();
            Pixels::new(rgb.width(), rgb.height(), Layout::Rgb, rgb.into_raw())
        }
    }
    .ok_or_else(|| Error::Corrupt {
        format,
        detail: "decoded buffer does not match the header size".into(),
    })?;
    if let Some(profile) = profile.filter(|_| !converted) {
        profile.rgb_to_srgb(&mut pixels, warnings);
    }
    Ok(Decoded {
        pixels,
        orientation,
        format,
        stored_size: Size { width, height },
    })
}

/// Grey pixels (with or without alpha) through a grey profile to sRGB; `None` if the colour
/// engine refused (a warning says why).
fn gray_through_profile(
    profile: &Profile,
    image: &DynamicImage,
    warnings: &mut Vec<Warning>,
) -> Option<Pixels> {
    let (width, height) = (image.width(), image.height());
    if !image.color().has_alpha() {
        return profile.gray_to_srgb(image.to_luma8().as_raw(), width, height, warnings);
    }
    let gray_alpha = image.to_luma_alpha8();
    let luma: Vec<u8> = gray_alpha.pixels().map(|p| p[0]).collect();
    let rgb = profile.gray_to_srgb(&luma, width, height, warnings)?;
    let rgba = rgb
        .data
        .chunks_exact(3)
        .zip(gray_alpha.pixels())
        .flat_map(|(c, p)| [c[0], c[1], c[2], p[1]])
        .collect();
    Pixels::new(width, height, Layout::Rgba, rgba)
}

fn image_error(e: ImageError, format: Format) -> Error {
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Truncated(format!("the {format} data ends early"))
        }
        ImageError::IoError(io) => Error::Io(io),
        ImageError::Limits(l) => Error::Corrupt {
            format,
            detail: format!("over the decoder's memory limit ({l})"),
        },
        ImageError::Unsupported(u) => Error::Unsupported(format!("{format}: {u}")),
        other => {
            let detail = other.to_string();
            if detail.contains("EOF")
                || detail.contains("end of file")
                || detail.contains("truncated")
            {
                Error::Truncated(format!("the {format} data ends early ({detail})"))
            } else {
                Error::Corrupt { format, detail }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(width: u32, height: u32) -> Size {
        Size { width, height }
    }

    #[test]
    fn jpeg_scale_covers_the_frame() {
        let hd = size(1920, 1080);
        let scale = |w, h, o| jpeg_scale(size(w, h), o, hd, Fit::Letterbox);
        // 16 MP landscape into 1080p: 4928 is shown 1631 wide, so at least 1.5 × 1631 = 2447
        // must be decoded: 4/8 gives 2464.
        assert_eq!(scale(4928, 3264, Orientation::Normal), 4);
        // The same photo turned upright (orientation 8) is a portrait 1080 high: 1.5 × 1080 =
        // 1620 of the stored width 4928 needs 3/8 (1848).
        assert_eq!(scale(4928, 3264, Orientation::Rotate270), 3);
        // Smaller than the frame: full size.
        assert_eq!(scale(800, 600, Orientation::Normal), 8);
        // A panorama is limited by its width: 1.5 × 1920 = 2880 ≤ 3000 at 2/8.
        assert_eq!(scale(12000, 1500, Orientation::Normal), 2);
        // Just larger than the frame: the margin never asks for more than the full size.
        assert_eq!(scale(2000, 1100, Orientation::Normal), 8);
    }

    #[test]
    fn jpeg_scale_follows_the_fill_mode() {
        let hd = size(1920, 1080);
        let leica = size(4928, 3264);
        let scale = |o, fit| jpeg_scale(leica, o, hd, fit);
        // Blur and pair show the whole picture as letterbox does (a paired portrait gets half
        // the frame, never more than the whole): the same scale.
        for fit in [Fit::Blur, Fit::Pair] {
            assert_eq!(scale(Orientation::Rotate270, fit), 3, "{fit}");
            assert_eq!(scale(Orientation::Normal, fit), 4, "{fit}");
        }
        // Cover on the upright portrait: its width 3264 becomes 1920, so 1.5 × 1920 = 2880 of
        // the stored height 3264 are needed: 8/8 (7/8 gives 2856). Letterbox needed 3/8.
        assert_eq!(scale(Orientation::Rotate270, Fit::Cover), 8);
        // Cover on the 3:2 landscape: its width 4928 becomes 1920 (the height is cropped), so
        // 1.5 × 1920 = 2880 are needed: 5/8 (3080), where letterbox took 4/8.
        assert_eq!(scale(Orientation::Normal, Fit::Cover), 5);
        // A panorama covers by its height: 1.5 × 1080 = 1620 of 1500 stored: the full size,
        // where letterbox took 2/8.
        let pano = size(12000, 1500);
        assert_eq!(jpeg_scale(pano, Orientation::Normal, hd, Fit::Cover), 8);
        // A 4:3 photo three times the frame: cover needs 1.5 × 1920 = 2880 of 5760 (4/8),
        // letterbox 1.5 × 1440 = 2160 (3/8).
        let big = size(5760, 4320);
        assert_eq!(jpeg_scale(big, Orientation::Normal, hd, Fit::Cover), 4);
        assert_eq!(jpeg_scale(big, Orientation::Normal, hd, Fit::Letterbox), 3);
    }

    #[test]
    fn not_images() {
        let mut w = Vec::new();
        let l = Limits::default();
        let t = size(64, 64);
        assert!(matches!(
            decode(b"", t, Fit::Letterbox, &l, &mut w),
            Err(Error::NotAnImage(_))
        ));
        assert!(matches!(
            decode(b"hello world", t, Fit::Letterbox, &l, &mut w),
            Err(Error::NotAnImage(_))
        ));
        // A HEIF brand and nothing after it: recognised, then refused by libheif.
        assert!(matches!(
            decode(b"\0\0\0\x18ftypheic\0\0\0\0", t, Fit::Letterbox, &l, &mut w),
            Err(Error::Corrupt { .. } | Error::Truncated(_))
        ));
    }
}
