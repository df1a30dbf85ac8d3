//! CMYK TIFF: print files, decoded to their ink values and converted like a CMYK JPEG.
//!
//! Print workflows leave CMYK TIFFs in photo folders, usually with the press profile they were
//! separated for. The `image` crate turns CMYK into RGB itself with the naive formula and keeps
//! no way to get at the ink values, so the embedded profile could not be applied (it was dropped
//! with a warning). These files are read here with the `tiff` crate instead, and go through the
//! same conversion as CMYK JPEGs: the embedded profile when there is one, else the usual
//! Adobe-style formula. In TIFF, unlike in Adobe's JPEGs, 0 always means no ink.

use std::io::Cursor;

use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;

use super::color::{self, Profile};
use super::decode::Decoded;
use super::orient::Orientation;
use super::{Error, Layout, Limits, Pixels, Size, Warning};
use crate::format::Format;

/// Whether a TIFF's first picture holds CMYK (optionally with alpha); reads the header only.
pub(super) fn is_cmyk(bytes: &[u8]) -> bool {
    Decoder::new(Cursor::new(bytes))
        .and_then(|mut d| d.colortype())
        .is_ok_and(|c| matches!(c, ColorType::CMYK(8 | 16) | ColorType::CMYKA(8 | 16)))
}

/// Decodes the first picture of a CMYK TIFF to sRGB.
pub(super) fn decode(
    bytes: &[u8],
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Result<Decoded, Error> {
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(tiff_error)?;
    let (width, height) = decoder.dimensions().map_err(tiff_error)?;
    limits.check_pixels(width as u64, height as u64)?;
    let channels = match decoder.colortype().map_err(tiff_error)? {
        ColorType::CMYK(_) => 4,
        _ => 5,
    };
    // Room for 16-bit samples of five channels, as a second line behind the pixel limit.
    let mut tiff_limits = tiff::decoder::Limits::default();
    tiff_limits.decoding_buffer_size = limits
        .max_pixels
        .saturating_mul(10)
        .try_into()
        .unwrap_or(usize::MAX);
    let mut decoder = decoder.with_limits(tiff_limits);
    let icc = decoder
        .find_tag(Tag::IccProfile)
        .ok()
        .flatten()
        .and_then(|v| v.into_u8_vec().ok());
    // A TIFF file is itself the structure an EXIF block is made of.
    let orientation = Orientation::from_exif_block(bytes, warnings);

    let samples: Vec<u8> = match decoder.read_image().map_err(tiff_error)? {
        DecodingResult::U8(v) => v,
        DecodingResult::U16(v) => v.into_iter().map(|s| (s >> 8) as u8).collect(),
        _ => {
            return Err(Error::Unsupported(
                "TIFF: CMYK with samples other than 8 or 16 bits".into(),
            ));
        }
    };
    let pixel_count = width as usize * height as usize;
    if samples.len() < pixel_count * channels {
        return Err(Error::Truncated("the TIFF data ends early".into()));
    }
    let (cmyk, alpha): (Vec<u8>, Option<Vec<u8>>) = if channels == 4 {
        (samples, None)
    } else {
        let cmyk = samples
            .chunks_exact(5)
            .flat_map(|p| [p[0], p[1], p[2], p[3]]);
        let alpha = samples.chunks_exact(5).map(|p| p[4]);
        (cmyk.collect(), Some(alpha.collect()))
    };
    let profile = icc.as_deref().and_then(|icc| Profile::parse(icc, warnings));
    let rgb = match profile {
        Some(p) if p.is_cmyk() => p.cmyk_to_srgb(&cmyk, width, height, warnings),
        Some(_) => {
            warnings.push(Warning::BadIccProfile(
                "a non-CMYK profile on CMYK pixels".into(),
            ));
            None
        }
        None => None,
    }
    .or_else(|| color::naive_cmyk_to_rgb(&cmyk, width, height))
    .ok_or_else(size_mismatch)?;
    let pixels = match alpha {
        None => rgb,
        Some(alpha) => {
            let rgba = rgb
                .data
                .chunks_exact(3)
                .zip(alpha)
                .flat_map(|(c, a)| [c[0], c[1], c[2], a])
                .collect();
            Pixels::new(width, height, Layout::Rgba, rgba).ok_or_else(size_mismatch)?
        }
    };
    Ok(Decoded {
        pixels,
        orientation,
        format: Format::Tiff,
        stored_size: Size { width, height },
    })
}

fn size_mismatch() -> Error {
    Error::Corrupt {
        format: Format::Tiff,
        detail: "decoded buffer does not match the header size".into(),
    }
}

fn tiff_error(e: tiff::TiffError) -> Error {
    match e {
        tiff::TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Truncated("the TIFF data ends early".into())
        }
        tiff::TiffError::IoError(io) => Error::Io(io),
        tiff::TiffError::UnsupportedError(u) => Error::Unsupported(format!("TIFF: {u}")),
        tiff::TiffError::LimitsExceeded => Error::Corrupt {
            format: Format::Tiff,
            detail: "over the decoder's memory limit".into(),
        },
        other => Error::Corrupt {
            format: Format::Tiff,
            detail: other.to_string(),
        },
    }
}
