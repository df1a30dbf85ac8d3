//! The photo's header: what a photo is, read from its first bytes, with no decoding.
//!
//! The library indexes every photo (format, pixel size, orientation, date taken, position) so
//! it can order and count them; a library of 100,000 photos cannot afford a decode each, nor
//! reading whole files. The probe reads the head of the file (64 KiB, one read on any disk),
//! and for a JPEG whose frame header lies beyond it, seeks from segment to segment. EXIF
//! blocks go through [`super::exif`], the same reader rendering uses.
//!
//! HEIC and AVIF keep their header in boxes that libheif reads ([`super::heif::probe`]): the
//! upright size of the primary picture and its EXIF item, without touching the coded picture.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::exif::{self, Metadata};
use super::{Error, FileError, Limits, Size, heif};
use crate::file::{OpenError, open_regular};
use crate::format::Format;

/// How much of a file is read at first: enough for every header and the EXIF block of
/// nearly every photo (an APP1 segment is at most 64 KiB).
const HEAD: usize = 64 * 1024;

/// What a photo's header says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    /// The format, from the content.
    pub format: Format,
    /// The stored pixel size (before orientation), when the header was read. For HEIC and
    /// AVIF the upright size: libheif turns the picture itself, and their orientation is
    /// `None`.
    pub size: Option<Size>,
    /// The raw EXIF orientation (1–8 when valid).
    pub orientation: Option<u16>,
    /// When the photo was taken (EXIF DateTimeOriginal), in seconds since 1970; see
    /// [`Metadata::taken`].
    pub taken: Option<i64>,
    /// Latitude and longitude in degrees.
    pub gps: Option<(f64, f64)>,
}

impl Header {
    fn new(format: Format, size: Option<(u32, u32)>, meta: Metadata) -> Header {
        Header {
            format,
            size: size
                .filter(|&(w, h)| w > 0 && h > 0)
                .map(|(width, height)| Size { width, height }),
            orientation: meta.orientation,
            taken: meta.taken,
            gps: meta.gps,
        }
    }
}

/// Probes the file at `path` within `limits`; the error names the file.
pub fn probe_file(path: &Path, limits: &Limits) -> Result<Header, FileError> {
    let with_path = |source: Error| FileError {
        path: path.to_path_buf(),
        source,
    };
    let (mut file, _) = open_regular(path).map_err(|e| {
        with_path(match e {
            OpenError::NotRegular(kind) => Error::NotAFile(kind),
            OpenError::Io(e) => Error::Io(e),
        })
    })?;
    probe(&mut file, limits).map_err(with_path)
}

/// Probes a photo from a reader positioned at its start. `limits` bound what a HEIF probe
/// reads (the file's size and the picture's).
pub fn probe<R: Read + Seek>(reader: &mut R, limits: &Limits) -> Result<Header, Error> {
    let mut head = Vec::with_capacity(HEAD);
    reader.by_ref().take(HEAD as u64).read_to_end(&mut head)?;
    let format = Format::sniff(&head).ok_or_else(|| {
        Error::NotAnImage(if head.is_empty() {
            "the file is empty".into()
        } else {
            "no known image signature at the start of the file".into()
        })
    })?;
    let meta = |block: Option<&[u8]>| {
        block
            .and_then(|b| exif::metadata(b).ok())
            .unwrap_or_default()
    };
    Ok(match format {
        Format::Jpeg => jpeg(&head, reader)?,
        Format::Png => {
            let exif = png_chunk(&head, b"eXIf");
            Header::new(format, be_pair(&head, 16), meta(exif))
        }
        Format::Gif => Header::new(format, le16_pair(&head, 6), Metadata::default()),
        Format::WebP => {
            let exif = riff_chunk(&head, b"EXIF").map(|b| b.strip_prefix(b"Exif\0\0").unwrap_or(b));
            Header::new(format, webp_size(&head), meta(exif))
        }
        Format::Bmp => Header::new(format, bmp_size(&head), Metadata::default()),
        Format::Tiff => {
            // The file is the TIFF structure; a directory past the head leaves the size
            // unknown (rendering reads the whole file anyway).
            let meta = meta(Some(&head));
            Header::new(format, meta.tiff_size, meta)
        }
        Format::Heic | Format::Avif => heif_header(format, reader, limits)?,
    })
}

/// HEIF (HEIC, AVIF) headers, read by libheif from the boxes. The EXIF orientation is left
/// out: libheif applies the container's rotation, and the size is already upright.
fn heif_header<R: Read + Seek>(
    format: Format,
    reader: &mut R,
    limits: &Limits,
) -> Result<Header, Error> {
    let len = reader.seek(SeekFrom::End(0))?;
    if len > limits.max_file_bytes {
        return Err(Error::FileTooLarge {
            size: len,
            limit: limits.max_file_bytes,
        });
    }
    reader.seek(SeekFrom::Start(0))?;
    let probe = heif::probe(reader, len, format, limits)?;
    let meta = probe
        .exif
        .as_deref()
        .and_then(|b| exif::metadata(b).ok())
        .unwrap_or_default();
    let size = Some((probe.size.width, probe.size.height));
    Ok(Header {
        orientation: None,
        ..Header::new(format, size, meta)
    })
}

/// Walks the JPEG segments up to the frame header, reading beyond the head only when needed.
fn jpeg<R: Read + Seek>(head: &[u8], reader: &mut R) -> Result<Header, Error> {
    let mut pos: u64 = 2;
    let mut exif: Option<Vec<u8>> = None;
    let mut size = None;
    let mut buf = [0u8; 9];
    let mut read = |pos: u64, out: &mut [u8]| -> io::Result<bool> {
        if let Some(bytes) = usize::try_from(pos)
            .ok()
            .and_then(|p| head.get(p..p + out.len()))
        {
            out.copy_from_slice(bytes);
            return Ok(true);
        }
        reader.seek(SeekFrom::Start(pos))?;
        match reader.read_exact(out) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e),
        }
    };
    // Bounded: each step moves forward by at least two bytes, and a frame header is found
    // in the first few segments of any real file.
    for _ in 0..1024 {
        if !read(pos, &mut buf[..4])? || buf[0] != 0xFF {
            break;
        }
        let marker = buf[1];
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            pos += 2;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = u16::from_be_bytes([buf[2], buf[3]]) as u64;
        if len < 2 {
            break;
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            if read(pos + 4, &mut buf[..5])? {
                let height = u16::from_be_bytes([buf[1], buf[2]]) as u32;
                let width = u16::from_be_bytes([buf[3], buf[4]]) as u32;
                size = Some((width, height));
            }
            break;
        }
        if marker == 0xE1 && exif.is_none() && len > 8 {
            let mut body = vec![0u8; (len - 2) as usize];
            if read(pos + 4, &mut body)? && body.starts_with(b"Exif\0\0") {
                body.drain(..6);
                exif = Some(body);
            }
        }
        pos += 2 + len;
    }
    let meta = exif
        .as_deref()
        .and_then(|b| exif::metadata(b).ok())
        .unwrap_or_default();
    Ok(Header::new(Format::Jpeg, size, meta))
}

fn be_pair(b: &[u8], at: usize) -> Option<(u32, u32)> {
    let w = b.get(at..at + 4)?;
    let h = b.get(at + 4..at + 8)?;
    Some((
        u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
        u32::from_be_bytes([h[0], h[1], h[2], h[3]]),
    ))
}

fn le16_pair(b: &[u8], at: usize) -> Option<(u32, u32)> {
    let v = b.get(at..at + 4)?;
    Some((
        u16::from_le_bytes([v[0], v[1]]) as u32,
        u16::from_le_bytes([v[2], v[3]]) as u32,
    ))
}

fn le24(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], 0])
}

/// The body of the first PNG chunk of `kind` within the head (before the image data).
fn png_chunk<'a>(head: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    let mut pos = 8;
    while let Some(h) = head.get(pos..pos + 8) {
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        if &h[4..8] == kind {
            return head.get(pos + 8..pos + 8 + len);
        }
        if &h[4..8] == b"IDAT" {
            return None;
        }
        pos = pos.checked_add(12)?.checked_add(len)?;
    }
    None
}

/// The body of the first RIFF chunk of `kind` within the head.
fn riff_chunk<'a>(head: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    let mut pos = 12;
    while let Some(h) = head.get(pos..pos + 8) {
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        if &h[..4] == kind {
            return head.get(pos + 8..pos + 8 + len);
        }
        // Chunks are padded to an even size.
        pos = pos.checked_add(8)?.checked_add(len + (len & 1))?;
    }
    None
}

/// WebP canvas size from its first chunk: lossy (`VP8 `), lossless (`VP8L`) or extended
/// (`VP8X`).
fn webp_size(head: &[u8]) -> Option<(u32, u32)> {
    let kind = head.get(12..16)?;
    let body = head.get(20..)?;
    match kind {
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
            if body.get(3..6)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let w = u16::from_le_bytes([*body.get(6)?, *body.get(7)?]) & 0x3FFF;
            let h = u16::from_le_bytes([*body.get(8)?, *body.get(9)?]) & 0x3FFF;
            Some((w as u32, h as u32))
        }
        b"VP8L" => {
            if *body.first()? != 0x2F {
                return None;
            }
            let bits =
                u32::from_le_bytes([*body.get(1)?, *body.get(2)?, *body.get(3)?, *body.get(4)?]);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(body.get(4..7)?) + 1, le24(body.get(7..10)?) + 1)),
        _ => None,
    }
}

/// BMP size from the info header (negative heights mean top-down rows).
fn bmp_size(head: &[u8]) -> Option<(u32, u32)> {
    let header_len = u32::from_le_bytes(head.get(14..18)?.try_into().ok()?);
    if header_len == 12 {
        return le16_pair(head, 18);
    }
    let w = i32::from_le_bytes(head.get(18..22)?.try_into().ok()?);
    let h = i32::from_le_bytes(head.get(22..26)?.try_into().ok()?);
    Some((w.unsigned_abs(), h.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn probe_bytes(bytes: &[u8]) -> Header {
        probe(&mut Cursor::new(bytes), &Limits::default()).expect("probes")
    }

    /// A JPEG head: SOI, an APP1 EXIF segment, `padding` bytes of APP2, then SOF0.
    fn jpeg_head(exif: &[u8], padding: usize, w: u16, h: u16) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        let app1_len = (2 + 6 + exif.len()) as u16;
        v.extend_from_slice(&[0xFF, 0xE1]);
        v.extend_from_slice(&app1_len.to_be_bytes());
        v.extend_from_slice(b"Exif\0\0");
        v.extend_from_slice(exif);
        let mut left = padding;
        while left > 0 {
            let n = left.min(60_000);
            v.extend_from_slice(&[0xFF, 0xE2]);
            v.extend_from_slice(&((n + 2) as u16).to_be_bytes());
            v.extend(std::iter::repeat_n(0u8, n));
            left -= n;
        }
        v.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8]);
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&[1, 1, 0x11, 0, 0xFF, 0xDA]);
        v
    }

    #[test]
    fn jpeg_size_date_and_position() {
        let exif = exif::tests::block(8, Some("2019:12:31 23:59:59"), Some([48, 2]));
        let h = probe_bytes(&jpeg_head(&exif, 0, 4032, 3024));
        assert_eq!(h.format, Format::Jpeg);
        assert_eq!(
            h.size,
            Some(Size {
                width: 4032,
                height: 3024
            })
        );
        assert_eq!(h.orientation, Some(8));
        assert_eq!(h.taken, exif::parse_datetime("2019:12:31 23:59:59"));
        assert!(h.gps.is_some());
    }

    #[test]
    fn a_frame_header_past_the_head_is_found_by_seeking() {
        let exif = exif::tests::block(1, None, None);
        let h = probe_bytes(&jpeg_head(&exif, 200_000, 640, 480));
        assert_eq!(h.size.map(|s| (s.width, s.height)), Some((640, 480)));
    }

    #[test]
    fn the_real_fixtures() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let limits = Limits::default();
        let h = probe_file(&fixtures.join("exif-orientation/Landscape_6.jpg"), &limits)
            .expect("probes");
        assert_eq!(h.orientation, Some(6));
        assert!(h.size.is_some());
    }

    /// A Read + Seek that counts the bytes read through it.
    struct Counting<R> {
        inner: R,
        read: u64,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl<R: Seek> Seek for Counting<R> {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    #[test]
    fn an_iphone_heic_gives_its_upright_size_and_date_from_its_boxes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/edge/iphone-IMG_5195.HEIC");
        let bytes = std::fs::read(&path).expect("fixture");
        let mut reader = Counting {
            inner: Cursor::new(&bytes),
            read: 0,
        };
        let h = probe(&mut reader, &Limits::default()).expect("probes");
        assert_eq!(h.format, Format::Heic);
        // A grid of 512×512 tiles, shown 2566×3313 (`ispe`, no turn).
        assert_eq!(
            h.size,
            Some(Size {
                width: 2566,
                height: 3313
            })
        );
        assert_eq!(h.orientation, None);
        // DateTimeOriginal 2021:04:11 15:47:53 at OffsetTimeOriginal -05:00.
        assert_eq!(h.taken, exif::parse_datetime("2021:04:11 20:47:53"));
        // The head, the boxes and the EXIF item; none of the coded picture.
        assert!(
            reader.read < 128 * 1024 && reader.read < bytes.len() as u64 / 4,
            "read {} of {} bytes",
            reader.read,
            bytes.len()
        );
        let small = Limits {
            max_pixels: 1_000_000,
            ..Limits::default()
        };
        assert!(matches!(
            probe(&mut Cursor::new(&bytes), &small),
            Err(Error::TooLarge { .. })
        ));
        let tiny = Limits {
            max_file_bytes: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            probe(&mut Cursor::new(&bytes), &tiny),
            Err(Error::FileTooLarge { .. })
        ));
    }

    #[test]
    fn other_formats_give_their_size() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&300u32.to_be_bytes());
        png.extend_from_slice(&200u32.to_be_bytes());
        assert_eq!(
            probe_bytes(&png).size.map(|s| (s.width, s.height)),
            Some((300, 200))
        );
        let gif = b"GIF89a\x2c\x01\xc8\x00";
        assert_eq!(
            probe_bytes(gif).size.map(|s| (s.width, s.height)),
            Some((300, 200))
        );
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        vp8x.extend_from_slice(&[0x2B, 0x01, 0x00, 0xC7, 0x00, 0x00]);
        assert_eq!(
            probe_bytes(&vp8x).size.map(|s| (s.width, s.height)),
            Some((300, 200))
        );
        assert!(matches!(
            probe(&mut Cursor::new(b"plain text"), &Limits::default()),
            Err(Error::NotAnImage(_))
        ));
    }
}
