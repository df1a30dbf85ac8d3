//! Decoding: from file bytes to 8-bit sRGB pixels and the orientation to apply.
//!
//! The format is taken from the content ([`Format::sniff`]), never the name. Before any
//! decoder runs, the container is checked ([`probe`](super::probe); JPEG markers by
//! `jpeg::Markers`) and the header's size against the [`Limits`], so a 3 KB PNG that claims
//! 60000×60000 pixels is refused in microseconds and no declared size is believed beyond the
//! file. Every decoder gets its limits before it reads anything: libjpeg-turbo a pixel and a
//! memory cap, the png crate a byte budget that bounds what a compressed profile may inflate
//! to, libheif its security limits, the others `image::Limits`. JPEG goes to libjpeg-turbo at
//! the smallest DCT scale that still covers the frame in its fill mode; HEIC and AVIF to
//! libheif (`heif.rs`); CMYK TIFF to the `tiff` crate (`cmyk_tiff.rs`); the other formats to
//! the `image` crate at full size (they offer no cheaper path). All results are normalised to
//! [`Pixels`] in sRGB.
//!
//! [`estimate`] works out from the same headers how much memory decoding a photo will take,
//! so callers can wait for memory before they start.

use std::io::{self, BufRead, Cursor, Read, Seek, SeekFrom};

use image::{DynamicImage, ImageDecoder, ImageError};

use super::color::{self, Profile};
use super::jpeg::{self, ColorModel, Markers};
use super::orient::Orientation;
use super::probe::{MAX_METADATA_BYTES, Meta, Probe};
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
/// reduced scale, never below what that frame needs. `stop` is asked now and then while the `image`
/// crate decodes; once it says yes, decoding ends early with [`Error::Stopped`].
pub fn decode(
    bytes: &[u8],
    target: Size,
    fit: Fit,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
    stop: &dyn Fn() -> bool,
) -> Result<Decoded, Error> {
    let format = decodable_format(bytes)?;
    match format {
        Format::Jpeg => decode_jpeg(bytes, target, fit, limits, warnings),
        Format::Heic | Format::Avif => heif::decode(bytes, format, limits, warnings),
        Format::Tiff if cmyk_tiff::is_cmyk(bytes) => cmyk_tiff::decode(bytes, limits, warnings),
        _ => decode_other(bytes, format, limits, warnings, stop),
    }
}

fn decodable_format(bytes: &[u8]) -> Result<Format, Error> {
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
    Ok(format)
}

/// The most heap a render of this photo into a `target` frame holds at once, in bytes (the
/// file's own bytes not included), worked out from its headers alone: the decoder's buffers,
/// the conversion to 8-bit RGB, the colour and orientation copies, fitting and encoding. The
/// same checks as [`decode`] run first, so a photo that would be refused is refused here.
pub fn estimate(bytes: &[u8], target: Size, fit: Fit, limits: &Limits) -> Result<u64, Error> {
    let format = decodable_format(bytes)?;
    let (shown, decoder, alpha) = match format {
        Format::Jpeg => {
            let markers = Markers::scan(bytes);
            let Some(frame) = markers.frame else {
                // No frame header found before the first scan: libjpeg will refuse the file
                // or find one this scan missed; count the largest photo allowed.
                let decoder = limits.max_pixels.saturating_mul(4);
                return Ok(pipeline(limits.max_pixels, 1, decoder, false, target));
            };
            limits.check_pixels(frame.width as u64, frame.height as u64)?;
            let mut ignored = Vec::new();
            let orientation = markers
                .exif
                .map(|exif| Orientation::from_exif_block(exif, &mut ignored))
                .unwrap_or_default();
            let stored = Size {
                width: frame.width.max(1),
                height: frame.height.max(1),
            };
            let scale = jpeg_scale(stored, orientation, target, fit);
            let (w, h) = (
                jpeg::scaled(stored.width, scale),
                jpeg::scaled(stored.height, scale),
            );
            let pixels = w as u64 * h as u64;
            let samples = pixels.saturating_mul(frame.components.clamp(1, 4) as u64);
            // Grey and CMYK samples are converted to RGB into a second buffer.
            let converted = if frame.components == 3 {
                0
            } else {
                pixels.saturating_mul(3)
            };
            let decoder = samples
                .saturating_add(converted)
                .saturating_add(frame.coefficient_bytes());
            ((w as u64, h as u64), decoder, false)
        }
        Format::Heic | Format::Avif => {
            let header = heif::header(bytes, format, limits)?;
            let shown = (header.size.width as u64, header.size.height as u64);
            (shown, header.decoder_bytes, header.alpha)
        }
        _ => {
            let probe = Probe::read(bytes, format)?;
            check_probe(&probe, limits)?;
            let out = probe
                .pixels()
                .saturating_mul(if probe.alpha { 4 } else { 3 });
            let converted = if probe.converts { out } else { 0 };
            // The conversion holds the decoded buffer and its 8-bit copy at once.
            let decoder = probe
                .decoder_bytes()
                .max(probe.decoded_bytes.saturating_add(converted));
            let shown = (probe.width as u64, probe.height as u64);
            (shown, decoder, probe.alpha)
        }
    };
    Ok(pipeline(shown.0 * shown.1, shown.1, decoder, alpha, target))
}

/// Peak bytes of the steps after decoding, for a decoded picture of `pixels` pixels and
/// `rows` rows, given the decoder's own peak: colour and orientation each copy the picture
/// once; fitting flattens alpha into a copy, scales through a buffer of the frame's width and
/// the picture's height, onto the frame-sized canvas; encoding writes at most a frame's size.
fn pipeline(pixels: u64, rows: u64, decoder: u64, alpha: bool, target: Size) -> u64 {
    let picture = pixels.saturating_mul(if alpha { 4 } else { 3 });
    let frame = target.width as u64 * target.height as u64 * 3;
    let flattened = if alpha { pixels.saturating_mul(3) } else { 0 };
    let scaling = (target.width as u64 * 3).saturating_mul(rows);
    let steps = [
        decoder,
        picture.saturating_mul(2),
        picture
            .saturating_add(flattened)
            .saturating_add(scaling)
            .saturating_add(frame),
        2 * frame,
    ];
    // Small allocations (tables, rows, the encoder's state) on top, and a margin for buffers
    // that grow past their final size.
    let peak = steps.into_iter().max().unwrap_or(0);
    peak.saturating_add(peak / 32).saturating_add(1 << 20)
}

/// The header checks every format shares: the pixel limit, on the picture and on a frame the
/// decoder allocates besides it.
fn check_probe(probe: &Probe<'_>, limits: &Limits) -> Result<(), Error> {
    limits.check_pixels(probe.width as u64, probe.height as u64)?;
    if let Some((w, h)) = probe.extra_frame {
        limits.check_pixels(w as u64, h as u64)?;
    }
    Ok(())
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
    let mut decoder = jpeg::Decoder::new(limits.max_pixels, limits.max_alloc())?;
    let (header, header_warning) = decoder.header(bytes)?;
    limits.check_pixels(header.width as u64, header.height as u64)?;
    if let Some(problem) = &markers.icc_problem {
        warnings.push(Warning::BadIccProfile(problem.clone()));
    }
    let stored_size = Size {
        width: header.width,
        height: header.height,
    };
    let scale = jpeg_scale(stored_size, orientation, target, fit);
    let profile = markers
        .icc
        .as_deref()
        .and_then(|icc| Profile::parse(icc, warnings));

    // libjpeg says the same about the header when decoding; report it once.
    let mut note = |warning: Option<String>| {
        if let Some(w) = warning.or_else(|| header_warning.clone()) {
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
    stop: &dyn Fn() -> bool,
) -> Result<Decoded, Error> {
    let probe = Probe::read(bytes, format)?;
    check_probe(&probe, limits)?;
    let reader = Stoppable {
        inner: Cursor::new(bytes),
        stop,
    };
    let map = |e: ImageError| {
        if stop() {
            Error::Stopped
        } else {
            image_error(e, format)
        }
    };
    // The allocation cap for every decoder, as a second line behind the pixel limit: the
    // decoder's own peak for this header, and room for small tables.
    let mut image_limits = image::Limits::default();
    let decoder_peak = probe.decoder_bytes().saturating_add(8 << 20);
    image_limits.max_alloc = Some(limits.max_alloc().min(decoder_peak));
    let mut decoder: Box<dyn ImageDecoder + '_> = match format {
        Format::Png => {
            // The png crate takes its byte budget at construction, before it reads (and
            // inflates) the chunks ahead of the image data; `set_limits` comes too late for
            // those. The budget covers metadata and a few rows, not the picture.
            let mut png_limits = image::Limits::default();
            png_limits.max_alloc =
                Some((MAX_METADATA_BYTES as u64 + (1 << 20)).saturating_add(probe.side_bytes * 2));
            Box::new(image::codecs::png::PngDecoder::with_limits(reader, png_limits).map_err(map)?)
        }
        Format::Gif => Box::new(image::codecs::gif::GifDecoder::new(reader).map_err(map)?),
        Format::WebP => Box::new(image::codecs::webp::WebPDecoder::new(reader).map_err(map)?),
        Format::Bmp => Box::new(image::codecs::bmp::BmpDecoder::new(reader).map_err(map)?),
        Format::Tiff => Box::new(image::codecs::tiff::TiffDecoder::new(reader).map_err(map)?),
        Format::Jpeg | Format::Heic | Format::Avif => {
            return Err(Error::Unsupported(format.to_string()));
        }
    };
    let (width, height) = decoder.dimensions();
    limits.check_pixels(width as u64, height as u64)?;
    decoder.set_limits(image_limits).map_err(map)?;

    // Metadata comes from the probe, as slices of the file, never from a size the decoder
    // would believe; only what is compressed or scattered (a PNG or GIF profile) is left to
    // the decoder, which bounds it.
    let icc: Option<std::borrow::Cow<'_, [u8]>> = match probe.icc {
        Meta::Absent => None,
        Meta::Bytes(icc) => Some(icc.into()),
        Meta::InDecoder => match decoder.icc_profile() {
            Ok(Some(icc)) if icc.len() <= MAX_METADATA_BYTES => Some(icc.into()),
            _ => {
                warnings.push(Warning::BadIccProfile(format!(
                    "the profile is damaged or larger than {} MiB",
                    MAX_METADATA_BYTES >> 20
                )));
                None
            }
        },
        Meta::TooLarge(size) => {
            warnings.push(Warning::BadIccProfile(too_large(size)));
            None
        }
    };
    let orientation = match (format, probe.exif) {
        // A TIFF file is itself the structure an EXIF block is made of.
        (Format::Tiff, _) => Orientation::from_exif_block(bytes, warnings),
        (_, Meta::Bytes(exif)) => {
            let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
            Orientation::from_exif_block(tiff, warnings)
        }
        (_, Meta::TooLarge(size)) => {
            warnings.push(Warning::BadExif(too_large(size)));
            Orientation::Normal
        }
        (_, Meta::Absent | Meta::InDecoder) => Orientation::Normal,
    };
    let image = DynamicImage::from_decoder(decoder).map_err(map)?;
    if stop() {
        return Err(Error::Stopped);
    }
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

fn too_large(size: u64) -> String {
    format!(
        "{size} bytes, over the limit of {} MiB; ignored",
        MAX_METADATA_BYTES >> 20
    )
}

/// The file's bytes as the `image` decoders read them, with a way out: once `stop` says so,
/// every read fails, which ends any decode within one read.
struct Stoppable<'a, 'b> {
    inner: Cursor<&'a [u8]>,
    stop: &'b dyn Fn() -> bool,
}

impl Stoppable<'_, '_> {
    fn check(&self) -> io::Result<()> {
        if (self.stop)() {
            Err(io::Error::other("render abandoned"))
        } else {
            Ok(())
        }
    }
}

impl Read for Stoppable<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        self.inner.read(buf)
    }
}

impl BufRead for Stoppable<'_, '_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.check()?;
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

impl Seek for Stoppable<'_, '_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

fn image_error(e: ImageError, format: Format) -> Error {
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Truncated(format!("the {format} data ends early"))
        }
        ImageError::IoError(io) => Error::Io(io),
        ImageError::Limits(l) => Error::Corrupt {
            format,
            detail: format!("needs more memory than its size justifies ({l})"),
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
            decode(b"", t, Fit::Letterbox, &l, &mut w, &|| false),
            Err(Error::NotAnImage(_))
        ));
        assert!(matches!(
            decode(b"hello world", t, Fit::Letterbox, &l, &mut w, &|| false),
            Err(Error::NotAnImage(_))
        ));
        // A HEIF brand and nothing after it: recognised, then refused by libheif.
        assert!(matches!(
            decode(
                b"\0\0\0\x18ftypheic\0\0\0\0",
                t,
                Fit::Letterbox,
                &l,
                &mut w,
                &|| false
            ),
            Err(Error::Corrupt { .. } | Error::Truncated(_))
        ));
    }
}
