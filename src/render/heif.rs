//! HEIF photos: HEIC (what iPhones write by default) and AVIF, decoded by libheif.
//!
//! A HEIF file is a container (ISO-BMFF boxes) around HEVC or AV1 coded pictures. libheif reads
//! the container and hands the pictures to a codec: libde265 for HEVC and dav1d for AV1, both
//! from Debian; libheif itself is built from the `libheif-rs` crate's embedded copy because
//! Debian 12's libheif (1.15) is older than the crate needs.
//!
//! What the container adds over a JPEG, and how each part is handled:
//!
//! - **Geometry lives in the container.** `irot` (rotation), `imir` (mirror) and `clap` (crop)
//!   are applied by libheif while decoding, so its pixels are already upright. iPhones also
//!   write an EXIF orientation tag describing the same turn (and `heif-enc` keeps a stale one
//!   after turning the pixels itself); applying it as well would turn the photo twice, so the
//!   EXIF tag is ignored and the result's orientation is always [`Orientation::Normal`].
//! - **Grids.** 12 and 48 MP iPhone photos are grids of 512×512 tiles that libheif assembles
//!   into one picture. Tiles are decoded one after the other on the calling thread, and the
//!   codecs get one thread each: callers already decode one photo per core, and threads of
//!   libheif's own would only compete with them.
//! - **Size limits.** The header's size is checked against [`Limits`] before anything is
//!   decoded, and libheif's own security limits are set from the same numbers, as a second line
//!   for what it allocates inside (tiles, auxiliary images).
//! - **Colour.** The embedded ICC profile, or else the `nclx` colour description, is converted
//!   to sRGB ([`Profile`]).
//! - **No reduced-size decode.** HEVC and AV1 have nothing like JPEG's DCT scaling (libheif's
//!   own scaler is a nearest-neighbour pass over the fully decoded picture), so the picture is
//!   decoded at full size and scaled by the fit step with Lanczos3 like any other.
//! - **Only the primary picture is shown**: thumbnails, depth maps and other auxiliary images
//!   in the file are never decoded.
//! - **Damaged files fail.** Decoding is strict: a grid with a missing or broken tile (an
//!   interrupted copy) is an error rather than a picture with black holes.

use std::io::{Read, Seek};

use libheif_rs::{
    ColorPrimaries, ColorProfileNCLX, ColorSpace, DecodingOptions, HeifContext, HeifError,
    HeifErrorCode, HeifErrorSubCode, ImageHandle, LibHeif, RgbChroma, StreamReader,
    TransferCharacteristics,
};

use super::color::{Cicp, Profile};
use super::decode::Decoded;
use super::orient::Orientation;
use super::{Error, Layout, Limits, Pixels, Size, Warning};
use crate::format::Format;

/// Room above the decoded picture itself for what libheif allocates on the way: the YCbCr
/// planes it converts from (1.5 bytes a pixel for 4:2:0, 3 for 4:4:4, twice that at 10 bits)
/// and the RGBA result (4 bytes a pixel).
const BYTES_PER_PIXEL_BUDGET: u64 = 10;

/// What a HEIC or AVIF file's boxes say about its primary picture, read without decoding it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    /// The upright size, after libheif's rotation and crop.
    pub size: Size,
    /// Whether the picture has an alpha channel.
    pub alpha: bool,
    /// The most memory libheif takes to decode it ([`BYTES_PER_PIXEL_BUDGET`] a coded pixel).
    pub decoder_bytes: u64,
}

/// Reads the container of a HEIC or AVIF file (its boxes, no picture data) within the limits,
/// and says what decoding it will take; a picture over the limits is refused here already.
pub(super) fn header(bytes: &[u8], format: Format, limits: &Limits) -> Result<Header, Error> {
    let failed = |e: HeifError| heif_error(e, format);
    let context = context(format, limits, |c| c.read_bytes(bytes))?;
    let handle = context.primary_image_handle().map_err(failed)?;
    check_size(&handle, limits)?;
    let coded = match (handle.ispe_width(), handle.ispe_height()) {
        (w, h) if w > 0 && h > 0 => w as u64 * h as u64,
        _ => handle.width() as u64 * handle.height() as u64,
    };
    Ok(Header {
        size: Size {
            width: handle.width(),
            height: handle.height(),
        },
        alpha: handle.has_alpha_channel(),
        decoder_bytes: coded.saturating_mul(BYTES_PER_PIXEL_BUDGET),
    })
}

/// What the library's index keeps of a HEIC or AVIF file, read without decoding it.
#[derive(Debug, Clone)]
pub(super) struct Probe {
    /// The upright size, after libheif's rotation and crop.
    pub size: Size,
    /// The EXIF block of the primary picture (a TIFF structure), when it has one.
    pub exif: Option<Vec<u8>>,
}

/// Reads the boxes of a HEIC or AVIF file of `len` bytes through `reader`, and its EXIF item.
///
/// libheif reads the file through the reader as it needs it: the `ftyp` and `meta` boxes and
/// the bytes of the EXIF item, never the coded picture (the `mdat` box is skipped by its
/// length), so a 2 MB iPhone photo costs a few KiB of reading. The picture size is checked
/// against the limits as it is for rendering.
pub(super) fn probe<R: Read + Seek>(
    reader: R,
    len: u64,
    format: Format,
    limits: &Limits,
) -> Result<Probe, Error> {
    let failed = |e: HeifError| heif_error(e, format);
    let context = context(format, limits, |c| {
        c.read_reader(Box::new(StreamReader::new(reader, len)))
    })?;
    let handle = context.primary_image_handle().map_err(failed)?;
    check_size(&handle, limits)?;
    Ok(Probe {
        size: Size {
            width: handle.width(),
            height: handle.height(),
        },
        exif: exif_block(&handle),
    })
}

/// The primary picture's EXIF block as a TIFF structure. In HEIF the item starts with a
/// four-byte offset to the TIFF header (past an optional `Exif\0\0`).
fn exif_block(handle: &ImageHandle) -> Option<Vec<u8>> {
    let mut ids = [0; 1];
    if handle.metadata_block_ids(&mut ids, b"Exif") == 0 {
        return None;
    }
    let item = handle.metadata(ids[0]).ok()?;
    let offset = u32::from_be_bytes(item.get(..4)?.try_into().ok()?) as usize;
    let start = offset.checked_add(4)?;
    item.get(start..).map(<[u8]>::to_vec)
}

/// A libheif context with its security limits set before `read` gives it anything to read.
fn context<'a>(
    format: Format,
    limits: &Limits,
    read: impl FnOnce(&mut HeifContext<'a>) -> Result<(), HeifError>,
) -> Result<HeifContext<'a>, Error> {
    let failed = |e: HeifError| heif_error(e, format);
    let mut context: HeifContext<'a> = HeifContext::new().map_err(failed)?;
    let mut security = context.security_limits();
    security.set_max_image_size_pixels(limits.max_pixels);
    security.set_max_total_memory(
        limits
            .max_pixels
            .saturating_mul(BYTES_PER_PIXEL_BUDGET)
            .saturating_add(64 << 20),
    );
    context.set_security_limits(&security).map_err(failed)?;
    context.set_max_decoding_threads(0);
    read(&mut context).map_err(failed)?;
    Ok(context)
}

/// Decodes the primary picture of a HEIC or AVIF file, upright, in sRGB.
pub(super) fn decode(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Result<Decoded, Error> {
    let failed = |e: HeifError| heif_error(e, format);
    // Registers the built-in codecs; libheif counts these, so concurrent decodes share one
    // registration and the last one to finish releases it.
    let lib = LibHeif::new();
    let context = context(format, limits, |c| c.read_bytes(bytes))?;
    let handle = context.primary_image_handle().map_err(failed)?;
    check_size(&handle, limits)?;
    // The size after libheif's rotation and crop: the upright size.
    let shown = Size {
        width: handle.width(),
        height: handle.height(),
    };

    let alpha = handle.has_alpha_channel();
    let mut options = DecodingOptions::new()
        .ok_or_else(|| Error::Internal("libheif could not allocate its decoding options".into()))?;
    options.set_convert_hdr_to_8bit(true);
    options.set_strict_decoding(true);
    options.set_num_codec_threads(1);
    let chroma = if alpha {
        RgbChroma::Rgba
    } else {
        RgbChroma::Rgb
    };
    let image = lib
        .decode(&handle, ColorSpace::Rgb(chroma), Some(options))
        .map_err(failed)?;
    let plane = image.planes().interleaved.ok_or_else(|| Error::Corrupt {
        format,
        detail: "libheif returned no interleaved RGB plane".into(),
    })?;
    let layout = if alpha { Layout::Rgba } else { Layout::Rgb };
    let row = plane.width as usize * layout.channels();
    if plane.storage_bits_per_pixel as usize != layout.channels() * 8 || plane.stride < row {
        return Err(Error::Internal(format!(
            "libheif returned {} bits a pixel and {} bytes a row for {}x{} {layout:?}",
            plane.storage_bits_per_pixel, plane.stride, plane.width, plane.height
        )));
    }
    let mut data = Vec::with_capacity(row * plane.height as usize);
    for line in plane.data.chunks(plane.stride).take(plane.height as usize) {
        data.extend_from_slice(&line[..row]);
    }
    let mut pixels =
        Pixels::new(plane.width, plane.height, layout, data).ok_or_else(|| Error::Corrupt {
            format,
            detail: "decoded buffer does not match the picture size".into(),
        })?;
    drop(image);
    if alpha && handle.is_premultiplied_alpha() {
        unpremultiply(&mut pixels);
    }
    to_srgb(&handle, &mut pixels, warnings);

    Ok(Decoded {
        pixels,
        orientation: Orientation::Normal,
        format,
        stored_size: shown,
    })
}

/// Refuses a picture whose header announces more pixels than allowed, before decoding. Both
/// the shown size and the coded size (`ispe`, before a crop) are checked: decoding allocates
/// the latter.
fn check_size(handle: &ImageHandle, limits: &Limits) -> Result<(), Error> {
    limits.check_pixels(handle.width() as u64, handle.height() as u64)?;
    let (ispe_w, ispe_h) = (handle.ispe_width(), handle.ispe_height());
    if ispe_w > 0 && ispe_h > 0 {
        limits.check_pixels(ispe_w as u64, ispe_h as u64)?;
    }
    Ok(())
}

/// Converts the decoded RGB to sRGB: the embedded ICC profile when there is one (iPhones embed
/// Display P3), else the `nclx` description (what AVIF encoders write), else nothing (sRGB).
fn to_srgb(handle: &ImageHandle, pixels: &mut Pixels, warnings: &mut Vec<Warning>) {
    if let Some(icc) = handle.color_profile_raw() {
        if let Some(profile) = Profile::parse(&icc.data, warnings) {
            profile.rgb_to_srgb(pixels, warnings);
        }
        return;
    }
    if let Some(profile) = handle
        .color_profile_nclx()
        .and_then(|nclx| Profile::from_cicp(cicp(&nclx), warnings))
    {
        profile.rgb_to_srgb(pixels, warnings);
    }
}

/// The colour code points of an `nclx` box, as numbers from ITU-T H.273.
fn cicp(nclx: &ColorProfileNCLX) -> Cicp {
    let primaries = match nclx.color_primaries() {
        ColorPrimaries::Unknown => 2,
        known => known as u8,
    };
    let transfer = match nclx.transfer_characteristics() {
        TransferCharacteristics::Unknown => 2,
        known => known as u8,
    };
    Cicp {
        primaries,
        transfer,
    }
}

/// Turns premultiplied colour (as some HEIF writers store it) into the straight alpha the
/// fit step composites.
fn unpremultiply(pixels: &mut Pixels) {
    for px in pixels.data.chunks_exact_mut(4) {
        let a = px[3] as u32;
        if a != 0 && a != 255 {
            for c in &mut px[..3] {
                *c = ((*c as u32 * 255 + a / 2) / a).min(255) as u8;
            }
        }
    }
}

/// Maps libheif's errors onto the pipeline's: missing data is a truncated file, a missing
/// codec an unsupported format, a limit a refusal, anything else damaged data.
fn heif_error(e: HeifError, format: Format) -> Error {
    let detail = if e.message.is_empty() {
        format!("{:?}/{:?}", e.code, e.sub_code)
    } else {
        e.message.clone()
    };
    match (e.code, e.sub_code) {
        (_, HeifErrorSubCode::EndOfData) => {
            Error::Truncated(format!("the {format} data ends early ({detail})"))
        }
        (_, HeifErrorSubCode::UnsupportedCodec) | (HeifErrorCode::UnsupportedFeature, _) => {
            Error::Unsupported(format!(
                "{format}: {detail} (this build of libheif has no decoder for it)"
            ))
        }
        (HeifErrorCode::UnsupportedFileType, _) => {
            Error::Unsupported(format!("{format}: {detail}"))
        }
        (_, HeifErrorSubCode::SecurityLimitExceeded) => Error::Corrupt {
            format,
            detail: format!("over libheif's security limits ({detail})"),
        },
        (HeifErrorCode::MemoryAllocationError, _) => Error::Corrupt {
            format,
            detail: format!("libheif could not allocate memory ({detail})"),
        },
        _ => Error::Corrupt { format, detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpremultiplies() {
        let mut p = Pixels::new(
            3,
            1,
            Layout::Rgba,
            vec![50, 100, 0, 128, 9, 9, 9, 0, 10, 20, 30, 255],
        )
        .expect("3 pixels");
        unpremultiply(&mut p);
        assert_eq!(p.data, [100, 199, 0, 128, 9, 9, 9, 0, 10, 20, 30, 255]);
    }

    #[test]
    fn garbage_after_the_brand_is_an_error_not_a_crash() {
        let mut w = Vec::new();
        for bytes in [
            &b"\0\0\0\x18ftypheic\0\0\0\0"[..],
            &b"\0\0\0\x18ftypavif\0\0\0\0mif1avif\0\0\0\x08meta"[..],
        ] {
            let format = Format::sniff(bytes).expect("a HEIF brand");
            let e = decode(bytes, format, &Limits::default(), &mut w).expect_err("no picture");
            assert!(
                matches!(e, Error::Corrupt { .. } | Error::Truncated(_)),
                "{e}"
            );
        }
    }
}
