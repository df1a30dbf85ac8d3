//! JPEG decoding through libjpeg-turbo's TurboJPEG 3 API, with DCT-domain downscaling.
//!
//! JPEG is most of any photo library and most of framecast's CPU time, so it gets the fastest
//! decoder measured (`benches/render.rs`, a 16 MP photo for a 1080p frame): libjpeg-turbo
//! 72 ms at full size and 41 ms at the DCT scale framecast picks (3/8), against jpeg-decoder
//! 114 ms (65 ms with its own DCT scaling) and zune-jpeg, the `image` crate's decoder, 77 ms
//! with no scaling. All three decoded every valid JPEG of the test set (jpeg-decoder hands CMYK samples
//! back unconverted). Scaling in the DCT domain skips
//! most of the IDCT, colour conversion and upsampling work and most of the memory.
//!
//! This is the crate's only `unsafe` code: a small owner of a `tjhandle` that checks every
//! return value. The marker scan that finds EXIF, ICC and Adobe segments is plain Rust, since
//! libjpeg-turbo does not hand those out before decoding.

use std::ffi::{CStr, c_int};
use std::ptr::NonNull;

use turbojpeg_sys as tj;

use super::Error;
use super::probe::MAX_METADATA_BYTES;
use crate::format::Format;

/// Metadata segments found before the first scan.
#[derive(Debug, Default)]
pub struct Markers<'a> {
    /// The TIFF structure of the APP1 `Exif` segment (after the `Exif\0\0` prefix).
    pub exif: Option<&'a [u8]>,
    /// The ICC profile, reassembled from its APP2 chunks.
    pub icc: Option<Vec<u8>>,
    /// Why the ICC chunks could not be used, when they could not: the photo is then shown
    /// with its pixels taken as sRGB.
    pub icc_problem: Option<String>,
    /// An APP14 `Adobe` segment is present: CMYK samples are stored inverted, as Photoshop
    /// writes them.
    pub adobe: bool,
    /// The frame header (SOF), for the memory estimate.
    pub frame: Option<FrameInfo>,
}

/// What the frame header (SOF) says, read without libjpeg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Number of components (1 grey, 3 YCbCr or RGB, 4 CMYK or YCCK).
    pub components: u8,
    /// Progressive (or otherwise multi-scan) coding: libjpeg keeps every coefficient of the
    /// full-size image in memory while decoding.
    pub progressive: bool,
    /// The largest horizontal and vertical sampling factors, and the sum over components of
    /// `h × v` (the number of blocks per MCU).
    pub sampling: (u8, u8, u32),
}

impl FrameInfo {
    /// Bytes of the whole-image coefficient buffer libjpeg allocates for a progressive JPEG:
    /// 64 coefficients of 2 bytes for every 8×8 block of every component.
    pub fn coefficient_bytes(&self) -> u64 {
        if !self.progressive {
            return 0;
        }
        let (hmax, vmax, blocks) = self.sampling;
        let mcu_w = 8 * hmax.max(1) as u64;
        let mcu_h = 8 * vmax.max(1) as u64;
        let mcus = (self.width as u64).div_ceil(mcu_w) * (self.height as u64).div_ceil(mcu_h);
        mcus * blocks.max(1) as u64 * 128
    }
}

impl<'a> Markers<'a> {
    /// Scans the segments between SOI and the first SOS. Bytes between segments are skipped
    /// as libjpeg skips them (with a warning); a segment that runs past the end stops the scan
    /// with what was found so far, and the decoder then reports the damage properly.
    pub fn scan(data: &'a [u8]) -> Markers<'a> {
        let mut markers = Markers::default();
        let mut icc_chunks: Vec<(u8, u8, &[u8])> = Vec::new();
        let mut pos = 2;
        while pos + 4 <= data.len() {
            if data[pos] != 0xFF {
                pos += 1; // extraneous bytes before a marker
                continue;
            }
            let marker = data[pos + 1];
            if marker == 0xFF {
                pos += 1; // fill byte
                continue;
            }
            if marker == 0x00 || marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
                pos += 2; // markers without a length
                continue;
            }
            if marker == 0xDA || marker == 0xD9 {
                break; // start of scan or end of image: no more metadata
            }
            let len = u16::from_be_bytes([data[pos + 2], data[pos + 3]]) as usize;
            let Some(body) = len
                .checked_sub(2)
                .and_then(|n| data.get(pos + 4..pos + 4 + n))
            else {
                break;
            };
            match marker {
                0xE1 if markers.exif.is_none() => {
                    markers.exif = body.strip_prefix(b"Exif\0\0");
                }
                0xE2 => {
                    if let Some(rest) = body.strip_prefix(b"ICC_PROFILE\0") {
                        match rest {
                            [seq, count, chunk @ ..] => icc_chunks.push((*seq, *count, chunk)),
                            _ => {
                                markers.icc_problem = Some("an ICC chunk has no header".into());
                            }
                        }
                    }
                }
                0xEE if body.starts_with(b"Adobe") => markers.adobe = true,
                // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
                0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) && markers.frame.is_none() => {
                    markers.frame = frame_info(marker, body);
                }
                _ => {}
            }
            pos += 2 + len;
        }
        if !icc_chunks.is_empty() && markers.icc_problem.is_none() {
            match assemble_icc(&mut icc_chunks) {
                Ok(icc) => markers.icc = Some(icc),
                Err(why) => markers.icc_problem = Some(why),
            }
        }
        markers
    }
}

/// Reads an SOF segment body: precision, height, width, components with sampling factors.
fn frame_info(marker: u8, body: &[u8]) -> Option<FrameInfo> {
    let height = u16::from_be_bytes([*body.get(1)?, *body.get(2)?]) as u32;
    let width = u16::from_be_bytes([*body.get(3)?, *body.get(4)?]) as u32;
    let components = *body.get(5)?;
    let (mut hmax, mut vmax, mut blocks) = (1u8, 1u8, 0u32);
    for c in 0..components as usize {
        let factors = *body.get(6 + c * 3 + 1)?;
        let (h, v) = ((factors >> 4).max(1), (factors & 15).max(1));
        hmax = hmax.max(h);
        vmax = vmax.max(v);
        blocks += h as u32 * v as u32;
    }
    Some(FrameInfo {
        width,
        height,
        components,
        // SOF2, SOF6, SOF10 and SOF14 are progressive.
        progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
        sampling: (hmax, vmax, blocks),
    })
}

/// Joins ICC chunks in sequence order, checking what libjpeg checks: every chunk gives the
/// same count, and the sequence numbers are exactly 1 to that count. Anything else is a
/// malformed profile, and guessing at it could tint the photo.
fn assemble_icc(chunks: &mut [(u8, u8, &[u8])]) -> Result<Vec<u8>, String> {
    let count = chunks[0].1;
    if count == 0 || chunks.iter().any(|&(_, n, _)| n != count) {
        return Err("malformed ICC chunks (inconsistent chunk counts)".into());
    }
    // Chunks carry a 1-based sequence number; writers normally emit them in order.
    chunks.sort_by_key(|&(seq, _, _)| seq);
    let in_order = chunks.len() == count as usize
        && chunks
            .iter()
            .enumerate()
            .all(|(i, &(seq, _, _))| seq as usize == i + 1);
    if !in_order {
        return Err(format!(
            "malformed ICC chunks (sequence numbers {:?} for {count} chunks)",
            chunks.iter().map(|c| c.0).collect::<Vec<_>>()
        ));
    }
    let total: usize = chunks.iter().map(|c| c.2.len()).sum();
    if total > MAX_METADATA_BYTES {
        return Err(format!(
            "the profile is {total} bytes, over the limit of {MAX_METADATA_BYTES}"
        ));
    }
    let mut icc = Vec::with_capacity(total);
    for (_, _, chunk) in chunks.iter() {
        icc.extend_from_slice(chunk);
    }
    Ok(icc)
}

/// The colour model of the coded samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorModel {
    /// YCbCr or RGB: decoded straight to RGB.
    Rgb,
    /// One grey channel.
    Gray,
    /// CMYK or YCCK: decoded to CMYK samples, converted to RGB by the caller.
    Cmyk,
}

/// What the frame header says.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// Full width.
    pub width: u32,
    /// Full height.
    pub height: u32,
    /// Colour model.
    pub model: ColorModel,
    /// Lossless JPEGs cannot be scaled while decoding.
    pub lossless: bool,
}

/// An owned TurboJPEG decompressor.
pub struct Decoder {
    handle: NonNull<std::ffi::c_void>,
}

// SAFETY: a TurboJPEG handle has no thread affinity; it is only used through `&mut self`.
unsafe impl Send for Decoder {}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the handle came from tj3Init and is destroyed exactly once.
        unsafe { tj::tj3Destroy(self.handle.as_ptr()) }
    }
}

/// How a failed TurboJPEG call ended.
struct Failure {
    message: String,
    /// A warning: libjpeg recovered and the output buffer holds a (partly grey) picture.
    warning: bool,
}

/// Progressive JPEGs may hold any number of scans; a hostile file with thousands of tiny scans
/// costs minutes of CPU. Real encoders write at most a few dozen.
const SCAN_LIMIT: c_int = 500;

impl Decoder {
    /// A new decompressor that refuses images of more than `max_pixels` pixels and whose
    /// internal buffers (the coefficients of a progressive JPEG) would take more than
    /// `max_memory` bytes.
    pub fn new(max_pixels: u64, max_memory: u64) -> Result<Decoder, Error> {
        // SAFETY: plain constructor; a null return is handled.
        let raw = unsafe { tj::tj3Init(tj::TJINIT_TJINIT_DECOMPRESS as c_int) };
        let handle = NonNull::new(raw)
            .ok_or_else(|| Error::Io(std::io::Error::other("cannot initialise libjpeg-turbo")))?;
        let mut decoder = Decoder { handle };
        decoder.set(tj::TJPARAM_TJPARAM_SCANLIMIT, SCAN_LIMIT)?;
        // framecast reads the ICC chunks itself (`Markers`); libjpeg would copy them again
        // and turn a malformed chunk into a failed header.
        decoder.set(tj::TJPARAM_TJPARAM_SAVEMARKERS, 0)?;
        let clamp = |v: u64| c_int::try_from(v).unwrap_or(c_int::MAX);
        decoder.set(tj::TJPARAM_TJPARAM_MAXPIXELS, clamp(max_pixels))?;
        decoder.set(
            tj::TJPARAM_TJPARAM_MAXMEMORY,
            clamp(max_memory.div_ceil(1 << 20).max(1)),
        )?;
        Ok(decoder)
    }

    fn set(&mut self, param: tj::TJPARAM, value: c_int) -> Result<(), Error> {
        // SAFETY: valid handle; the parameter constant comes from the bindings.
        let rc = unsafe { tj::tj3Set(self.handle.as_ptr(), param as c_int, value) };
        if rc != 0 {
            return Err(self.failure().into_error());
        }
        Ok(())
    }

    fn get(&mut self, param: tj::TJPARAM) -> c_int {
        // SAFETY: valid handle; read-only query.
        unsafe { tj::tj3Get(self.handle.as_ptr(), param as c_int) }
    }

    fn failure(&mut self) -> Failure {
        // SAFETY: valid handle; the returned string is owned by the handle and copied at once.
        let (message, code) = unsafe {
            let text = tj::tj3GetErrorStr(self.handle.as_ptr());
            let message = if text.is_null() {
                String::from("unknown libjpeg-turbo error")
            } else {
                CStr::from_ptr(text).to_string_lossy().into_owned()
            };
            (message, tj::tj3GetErrorCode(self.handle.as_ptr()))
        };
        Failure {
            message,
            warning: code == tj::TJERR_TJERR_WARNING as c_int,
        }
    }

    /// Reads the frame header (no pixel data is touched). Damage libjpeg recovers from (bytes
    /// between markers, say) comes back as the `String` of a warning with the header.
    pub fn header(&mut self, data: &[u8]) -> Result<(Header, Option<String>), Error> {
        // SAFETY: valid handle; the slice outlives the call.
        let rc = unsafe {
            tj::tj3DecompressHeader(
                self.handle.as_ptr(),
                data.as_ptr(),
                data.len() as tj::size_t,
            )
        };
        let mut warning = None;
        if rc != 0 {
            let failure = self.failure();
            if !failure.warning || is_truncation(&failure.message) {
                return Err(failure.into_error());
            }
            warning = Some(failure.message);
        }
        let width = self.get(tj::TJPARAM_TJPARAM_JPEGWIDTH);
        let height = self.get(tj::TJPARAM_TJPARAM_JPEGHEIGHT);
        let colorspace = self.get(tj::TJPARAM_TJPARAM_COLORSPACE);
        let lossless = self.get(tj::TJPARAM_TJPARAM_LOSSLESS) == 1;
        let model = match colorspace as u32 {
            tj::TJCS_TJCS_GRAY => ColorModel::Gray,
            tj::TJCS_TJCS_CMYK | tj::TJCS_TJCS_YCCK => ColorModel::Cmyk,
            _ => ColorModel::Rgb,
        };
        let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
            return Err(corrupt("the frame header has no valid size"));
        };
        if width == 0 || height == 0 {
            return Err(corrupt("the frame header has no valid size"));
        }
        Ok((
            Header {
                width,
                height,
                model,
                lossless,
            },
            warning,
        ))
    }

    /// Decodes at `eighths / 8` of the full size into `channels` bytes a pixel (1 = grey,
    /// 3 = RGB, 4 = CMYK), returning the buffer and its size. Recoverable damage comes back as
    /// the `String` of a warning, with the picture the decoder made of it.
    pub fn decode(
        &mut self,
        data: &[u8],
        header: &Header,
        eighths: u8,
        channels: usize,
    ) -> Result<(Vec<u8>, u32, u32, Option<String>), Error> {
        let eighths = if header.lossless {
            8
        } else {
            eighths.clamp(1, 8)
        };
        // libjpeg-turbo lists its factors in lowest terms (1/4, not 2/8) and matches exactly.
        let common = gcd(eighths, 8);
        let factor = tj::tjscalingfactor {
            num: (eighths / common) as c_int,
            denom: (8 / common) as c_int,
        };
        // SAFETY: valid handle; the factor is one libjpeg-turbo supports (n/8).
        let rc = unsafe { tj::tj3SetScalingFactor(self.handle.as_ptr(), factor) };
        if rc != 0 {
            return Err(self.failure().into_error());
        }
        let width = scaled(header.width, eighths);
        let height = scaled(header.height, eighths);
        let format = match channels {
            1 => tj::TJPF_TJPF_GRAY,
            3 => tj::TJPF_TJPF_RGB,
            _ => tj::TJPF_TJPF_CMYK,
        };
        let pitch = width as usize * channels;
        let mut buffer = vec![0u8; pitch * height as usize];
        // SAFETY: the buffer holds exactly `pitch × height` bytes for the scaled size computed
        // with libjpeg-turbo's own rounding (TJSCALED), and the pixel format has `channels`
        // bytes a pixel.
        let rc = unsafe {
            tj::tj3Decompress8(
                self.handle.as_ptr(),
                data.as_ptr(),
                data.len() as tj::size_t,
                buffer.as_mut_ptr(),
                pitch as c_int,
                format as c_int,
            )
        };
        if rc == 0 {
            return Ok((buffer, width, height, None));
        }
        let failure = self.failure();
        if failure.warning && !is_truncation(&failure.message) {
            return Ok((buffer, width, height, Some(failure.message)));
        }
        Err(failure.into_error())
    }
}

impl Failure {
    fn into_error(self) -> Error {
        if is_truncation(&self.message) {
            Error::Truncated(format!("the JPEG data ends early ({})", self.message))
        } else {
            corrupt(&self.message)
        }
    }
}

fn corrupt(detail: &str) -> Error {
    Error::Corrupt {
        format: Format::Jpeg,
        detail: detail.to_string(),
    }
}

/// libjpeg says "Premature end of JPEG file" when the data stops mid-scan. framecast skips
/// such files rather than showing a half-grey picture on a TV: an interrupted copy is broken,
/// and the next sync usually completes it.
fn is_truncation(message: &str) -> bool {
    message.contains("Premature end") || message.contains("insufficient data")
}

fn gcd(a: u8, b: u8) -> u8 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// libjpeg-turbo's TJSCALED: the size of `dimension` decoded at `eighths / 8`, rounded up.
pub fn scaled(dimension: u32, eighths: u8) -> u32 {
    (dimension as u64 * eighths as u64).div_ceil(8) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_exif_icc_and_adobe() {
        let mut jpeg = vec![0xFF, 0xD8];
        let mut segment = |marker: u8, body: &[u8]| {
            jpeg.extend_from_slice(&[0xFF, marker]);
            jpeg.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            jpeg.extend_from_slice(body);
        };
        segment(0xE1, b"Exif\0\0MM\0*");
        segment(0xE2, b"ICC_PROFILE\0\x02\x02world");
        segment(0xE2, b"ICC_PROFILE\0\x01\x02hello ");
        segment(0xEE, b"Adobe\0\x64\0\0\0\0\x02");
        // Progressive, 4000x3000, YCbCr 4:2:0.
        segment(
            0xC2,
            b"\x08\x0b\xb8\x0f\xa0\x03\x01\x22\0\x02\x11\x01\x03\x11\x01",
        );
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
        let m = Markers::scan(&jpeg);
        assert_eq!(m.exif, Some(&b"MM\0*"[..]));
        assert_eq!(m.icc.as_deref(), Some(&b"hello world"[..]));
        assert!(m.adobe);
        let frame = m.frame.expect("SOF found");
        assert_eq!(
            (frame.width, frame.height, frame.components),
            (4000, 3000, 3)
        );
        assert!(frame.progressive);
        // 250 × 188 MCUs of 6 blocks of 128 bytes.
        assert_eq!(frame.coefficient_bytes(), 250 * 188 * 6 * 128);
    }

    #[test]
    fn malformed_icc_chunks_are_a_problem_not_a_profile() {
        for chunks in [
            &[&b"ICC_PROFILE\0\x00\x01abc"[..]][..],
            &[b"ICC_PROFILE\0\x01\x02abc", b"ICC_PROFILE\0\x01\x02def"],
            &[b"ICC_PROFILE\0\x01\x02abc", b"ICC_PROFILE\0\x02\x03def"],
            &[b"ICC_PROFILE\0\x01"],
        ] {
            let mut jpeg = vec![0xFF, 0xD8];
            for body in chunks {
                jpeg.extend_from_slice(&[0xFF, 0xE2]);
                jpeg.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
                jpeg.extend_from_slice(body);
            }
            let m = Markers::scan(&jpeg);
            assert!(m.icc.is_none(), "{chunks:?}");
            assert!(m.icc_problem.is_some(), "{chunks:?}");
        }
    }

    #[test]
    fn scan_skips_bytes_between_segments_like_libjpeg() {
        let mut jpeg = vec![0xFF, 0xD8, 0, 0, 0x42];
        jpeg.extend_from_slice(&[0xFF, 0xE1, 0, 10]);
        jpeg.extend_from_slice(b"Exif\0\0MM");
        assert_eq!(Markers::scan(&jpeg).exif, Some(&b"MM"[..]));
    }

    #[test]
    fn scan_stops_at_damaged_segment() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE1, 0x40, 0x00, b'E'];
        let m = Markers::scan(&jpeg);
        assert!(m.exif.is_none() && m.icc.is_none() && !m.adobe);
    }

    #[test]
    fn scaled_rounds_up_like_libjpeg() {
        assert_eq!(scaled(4928, 2), 1232);
        assert_eq!(scaled(1, 1), 1);
        assert_eq!(scaled(1001, 4), 501);
        assert_eq!(scaled(65_500, 8), 65_500);
    }
}
