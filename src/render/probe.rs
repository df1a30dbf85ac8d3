//! Probing: what a file declares about itself, checked before any decoder believes it.
//!
//! Decoders trust the sizes a file declares. A 126-byte WebP whose ICCP chunk declares 4 GiB
//! makes image-webp allocate 4 GiB to read it; a TIFF tag that declares millions of values
//! makes the tiff crate reserve room for all of them before it reads one; a PNG's compressed
//! colour profile may inflate a thousandfold. So before the `image` crate sees a PNG, WebP,
//! GIF, TIFF or BMP, this module walks its container (PNG chunks, RIFF chunks, GIF blocks,
//! the first TIFF IFD, the BMP header) and
//!
//! - refuses a chunk that declares more bytes than the file holds ([`Error::Overrun`]; in the
//!   image data itself that is an interrupted copy, [`Error::Truncated`]);
//! - finds the metadata (colour profile, EXIF) and its size, so a block larger than
//!   [`MAX_METADATA_BYTES`] is skipped with a warning instead of being read;
//! - reads the size and sample layout from the header, so the memory a decode needs is known
//!   ([`Probe::decoder_bytes`]) before any of it is allocated.
//!
//! Nothing is copied: metadata comes back as slices of the file.

use super::Error;
use crate::format::Format;

/// The largest colour profile or EXIF block framecast reads, inflated. Real profiles are a
/// few kilobytes to a few megabytes (CMYK press profiles), real EXIF blocks at most 64 KiB
/// in JPEG and rarely more elsewhere.
pub const MAX_METADATA_BYTES: usize = 16 * 1024 * 1024;

/// TIFF tags the tiff crate reads for every image (sizes, sample layout, strip and tile
/// tables). It holds their values as 16-byte enums, so their counts are bounded too.
const TIFF_STRUCTURE_TAGS: &[u16] = &[
    256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 320, 322, 323, 324, 325, 339, 347,
];

/// The most values one of [`TIFF_STRUCTURE_TAGS`] may hold: a strip or tile table of a 100 MP
/// image with one row per strip or 16×16 tiles stays well below it.
const MAX_TIFF_VALUES: u64 = 1 << 20;

const TIFF_ICC_TAG: u16 = 34675;

/// Where a metadata block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta<'a> {
    /// Not in the file.
    Absent,
    /// These bytes of the file.
    Bytes(&'a [u8]),
    /// Present in a form only the decoder reads (compressed, or split into blocks); it bounds
    /// what it inflates or gathers itself.
    InDecoder,
    /// Present but declared larger than [`MAX_METADATA_BYTES`]: not read.
    TooLarge(u64),
}

impl<'a> Meta<'a> {
    fn bytes(bytes: &'a [u8]) -> Meta<'a> {
        if bytes.len() > MAX_METADATA_BYTES {
            Meta::TooLarge(bytes.len() as u64)
        } else {
            Meta::Bytes(bytes)
        }
    }
}

/// What a file's container declares, checked against the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe<'a> {
    /// Width from the header.
    pub width: u32,
    /// Height from the header.
    pub height: u32,
    /// Bytes of the buffer the decoder fills (its native layout, before conversion to 8-bit
    /// RGB or RGBA).
    pub decoded_bytes: u64,
    /// Bytes the decoder holds on the side while filling it (its own copy, planes, a canvas).
    pub side_bytes: u64,
    /// The decoded layout is not 8-bit RGB(A), so converting it allocates another buffer.
    pub converts: bool,
    /// The picture has an alpha channel.
    pub alpha: bool,
    /// The embedded colour profile.
    pub icc: Meta<'a>,
    /// The EXIF block (a TIFF structure, possibly behind an `Exif\0\0` prefix).
    pub exif: Meta<'a>,
    /// A second picture larger than the header's size that the decoder allocates too (a GIF
    /// frame that does not fit its logical screen, held as RGBA and, while it is read, as one
    /// palette index a pixel): `(width, height)`.
    pub extra_frame: Option<(u32, u32)>,
}

impl<'a> Probe<'a> {
    /// Probes `bytes` as `format` (PNG, GIF, WebP, BMP or TIFF). JPEG has its own marker scan
    /// (`jpeg::Markers`), and other formats are not probed.
    pub fn read(bytes: &'a [u8], format: Format) -> Result<Probe<'a>, Error> {
        match format {
            Format::Png => png(bytes),
            Format::WebP => webp(bytes),
            Format::Gif => gif(bytes),
            Format::Tiff => tiff(bytes),
            Format::Bmp => bmp(bytes),
            Format::Jpeg | Format::Heic | Format::Avif => {
                Err(Error::Unsupported(format!("{format} is not probed here")))
            }
        }
    }

    /// Width × height.
    pub fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }

    /// What the decoder itself allocates at its peak: its buffer and its side allocations.
    pub fn decoder_bytes(&self) -> u64 {
        let extra = self
            .extra_frame
            .map_or(0, |(w, h)| (w as u64 * h as u64).saturating_mul(4 + 1));
        self.decoded_bytes
            .saturating_add(self.side_bytes)
            .saturating_add(extra)
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn truncated(format: Format) -> Error {
    Error::Truncated(format!("the {format} data ends early"))
}

fn corrupt(format: Format, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        format,
        detail: detail.into(),
    }
}

fn overrun(format: Format, what: String, declared: u64, available: u64) -> Error {
    Error::Overrun {
        format,
        what,
        declared,
        available,
    }
}

/// A VP8 key frame's data partitions must fit in its chunk. The decoder allocates each
/// partition at its declared size (up to 16 MiB, a 24-bit field) before reading it, so a
/// few kilobytes that declare more would make it allocate that much for nothing.
///
/// The partition count is in the frame header, which is arithmetic-coded: it is read here
/// with the boolean decoder of RFC 6386, section 7, over the fields before it (section 19.2).
/// A header cut short is left to the decoder, which refuses it before the partitions.
fn vp8_partitions(data: &[u8]) -> Result<(), Error> {
    const F: Format = Format::WebP;
    let tag = u32::from_le_bytes([data[0], data[1], data[2], 0]);
    if tag & 1 != 0 {
        return Err(corrupt(F, "the VP8 frame is not a key frame"));
    }
    let first = (tag >> 5) as usize;
    let Some(header) = data.get(10..10 + first) else {
        return Ok(());
    };
    let mut d = BoolDecoder::new(header);
    d.literal(2); // colour space, clamping
    if d.flag() {
        let update_map = d.flag();
        if d.flag() {
            d.flag(); // absolute or delta values
            (0..4).for_each(|_| d.optional_signed(7)); // quantizer per segment
            (0..4).for_each(|_| d.optional_signed(6)); // loop filter level per segment
        }
        if update_map {
            (0..3).for_each(|_| {
                if d.flag() {
                    d.literal(8);
                }
            });
        }
    }
    d.literal(1 + 6 + 3); // filter type, level, sharpness
    if d.flag() && d.flag() {
        (0..8).for_each(|_| d.optional_signed(6)); // reference frame and mode deltas
    }
    let count = 1usize << d.literal(2);
    if d.exhausted() {
        return Ok(());
    }
    let table = 10 + first;
    let sizes_end = table + 3 * (count - 1);
    let available = data.len().saturating_sub(sizes_end) as u64;
    let Some(sizes) = data.get(table..sizes_end) else {
        return Err(truncated(F));
    };
    // The last partition is the rest of the chunk; the others are declared.
    let declared: u64 = sizes
        .chunks_exact(3)
        .map(|s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], 0])))
        .sum();
    if declared > available {
        return Err(overrun(
            F,
            "its VP8 data partitions".into(),
            declared,
            available,
        ));
    }
    Ok(())
}

/// The boolean entropy decoder of VP8 (RFC 6386, section 7), for reading frame headers.
/// Past the end of its data it reads zeros and says so.
struct BoolDecoder<'a> {
    data: &'a [u8],
    next: usize,
    value: u32,
    range: u32,
    bits: u32,
    overrun: bool,
}

impl<'a> BoolDecoder<'a> {
    fn new(data: &'a [u8]) -> BoolDecoder<'a> {
        let mut d = BoolDecoder {
            data,
            next: 0,
            value: 0,
            range: 255,
            bits: 0,
            overrun: false,
        };
        d.value = (d.byte() << 8) | d.byte();
        d
    }

    fn byte(&mut self) -> u32 {
        let b = self.data.get(self.next).copied();
        self.next += 1;
        self.overrun |= b.is_none();
        u32::from(b.unwrap_or(0))
    }

    fn bool(&mut self, probability: u32) -> bool {
        let split = 1 + (((self.range - 1) * probability) >> 8);
        let big_split = split << 8;
        let bit = self.value >= big_split;
        if bit {
            self.range -= split;
            self.value -= big_split;
        } else {
            self.range = split;
        }
        while self.range < 128 {
            self.value <<= 1;
            self.range <<= 1;
            self.bits += 1;
            if self.bits == 8 {
                self.bits = 0;
                self.value |= self.byte();
            }
        }
        bit
    }

    fn flag(&mut self) -> bool {
        self.bool(128)
    }

    fn literal(&mut self, bits: u32) -> u32 {
        (0..bits).fold(0, |v, _| (v << 1) | u32::from(self.flag()))
    }

    fn optional_signed(&mut self, bits: u32) {
        if self.flag() {
            self.literal(bits + 1);
        }
    }

    /// Whether a read went past the data (what was read since is not to be trusted).
    fn exhausted(&self) -> bool {
        self.overrun
    }
}

/// PNG: the chunk list up to IEND.
fn png(b: &[u8]) -> Result<Probe<'_>, Error> {
    const F: Format = Format::Png;
    let mut ihdr = None;
    let (mut icc, mut exif) = (Meta::Absent, Meta::Absent);
    let (mut trns, mut seen_idat) = (false, false);
    let mut pos = 8usize;
    while pos + 8 <= b.len() {
        let len = be32(b, pos).ok_or_else(|| truncated(F))? as u64;
        let kind: [u8; 4] = b[pos + 4..pos + 8].try_into().unwrap_or_default();
        let name = String::from_utf8_lossy(&kind).into_owned();
        let start = pos + 8;
        let available = (b.len() - start) as u64;
        if len > (1 << 31) - 1 {
            return Err(corrupt(
                F,
                format!("the {name} chunk has an invalid length {len}"),
            ));
        }
        if len > available {
            // Cut in or after the image data: an interrupted copy. Before it: there is no
            // picture in the file anyway, and the size is a lie.
            return Err(if seen_idat || &kind == b"IDAT" {
                truncated(F)
            } else {
                overrun(F, format!("its {name} chunk"), len, available)
            });
        }
        let data = &b[start..start + len as usize];
        match &kind {
            b"IHDR" if ihdr.is_none() => {
                if data.len() != 13 {
                    return Err(corrupt(F, "the IHDR chunk is not 13 bytes long"));
                }
                ihdr = Some((
                    be32(data, 0).unwrap_or(0),
                    be32(data, 4).unwrap_or(0),
                    data[8],
                    data[9],
                ));
            }
            b"iCCP" if icc == Meta::Absent => {
                icc = if data.len() > MAX_METADATA_BYTES {
                    Meta::TooLarge(len)
                } else {
                    Meta::InDecoder
                };
            }
            b"eXIf" if exif == Meta::Absent => exif = Meta::bytes(data),
            b"tRNS" => trns = true,
            b"IDAT" => seen_idat = true,
            b"IEND" => break,
            _ => {}
        }
        pos = start + len as usize + 4; // and the CRC
    }
    let Some((width, height, depth, color)) = ihdr else {
        return Err(if b.len() < 33 {
            truncated(F)
        } else {
            corrupt(F, "no IHDR chunk")
        });
    };
    if width == 0 || height == 0 {
        return Err(corrupt(F, "the header has no valid size"));
    }
    // The decoder expands palettes, low bit depths and tRNS to whole 8- or 16-bit channels.
    let (channels, alpha) = match color {
        0 => (1 + trns as u64, trns),
        2 | 3 => (3 + trns as u64, trns),
        4 => (2, true),
        6 => (4, true),
        other => return Err(corrupt(F, format!("unknown colour type {other}"))),
    };
    let sample = if depth == 16 { 2 } else { 1 };
    let pixels = width as u64 * height as u64;
    Ok(Probe {
        width,
        height,
        decoded_bytes: pixels.saturating_mul(channels * sample),
        // Two rows: the one being unfiltered and the one before it.
        side_bytes: 2 * width as u64 * channels * sample,
        converts: sample == 2 || channels < 3,
        alpha,
        icc,
        exif,
        extra_frame: None,
    })
}

/// WebP: the RIFF chunks of an extended file, or the one image chunk of a simple one.
fn webp(b: &[u8]) -> Result<Probe<'_>, Error> {
    const F: Format = Format::WebP;
    let riff_end = le32(b, 4).map_or(b.len(), |n| (n as usize).saturating_add(8).min(b.len()));
    let mut size: Option<(u32, u32)> = None;
    let (mut icc, mut exif) = (Meta::Absent, Meta::Absent);
    let (mut extended, mut alpha, mut lossless, mut animated) = (false, false, false, false);
    let mut pos = 12usize;
    let mut first = true;
    while pos + 8 <= riff_end {
        let kind: [u8; 4] = b[pos..pos + 4].try_into().unwrap_or_default();
        let name = String::from_utf8_lossy(&kind).into_owned();
        let len = le32(b, pos + 4).unwrap_or(0) as u64;
        let start = pos + 8;
        let available = (b.len() - start) as u64;
        if len > available {
            return Err(match &kind {
                b"VP8 " | b"VP8L" | b"ALPH" | b"ANMF" => truncated(F),
                _ => overrun(F, format!("its {} chunk", name.trim_end()), len, available),
            });
        }
        let data = &b[start..start + len as usize];
        match &kind {
            b"VP8X" if first => {
                if data.len() < 10 {
                    return Err(corrupt(F, "the VP8X chunk is too short"));
                }
                extended = true;
                alpha = data[0] & 0x10 != 0;
                animated = data[0] & 0x02 != 0;
                let u24 = |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], 0]);
                size = Some((u24(4) + 1, u24(7) + 1));
            }
            b"VP8 " => {
                // Frame tag (3 bytes), start code, then 14-bit width and height.
                if data.len() < 10 || data[3..6] != [0x9d, 0x01, 0x2a] {
                    return Err(corrupt(F, "the VP8 frame header is invalid"));
                }
                if size.is_none() {
                    let side = |at: usize| (le16(data, at).unwrap_or(0) & 0x3fff) as u32;
                    size = Some((side(6), side(8)));
                }
                vp8_partitions(data)?;
            }
            b"VP8L" => {
                lossless = true;
                if size.is_none() {
                    let bits = le32(data, 1).filter(|_| data.first() == Some(&0x2f));
                    let bits = bits.ok_or_else(|| corrupt(F, "the VP8L header is invalid"))?;
                    alpha = bits >> 28 & 1 != 0;
                    size = Some(((bits & 0x3fff) + 1, (bits >> 14 & 0x3fff) + 1));
                }
            }
            // Only the extended format carries metadata chunks; a decoder reads the first.
            b"ICCP" if extended && icc == Meta::Absent => icc = Meta::bytes(data),
            b"EXIF" if extended && exif == Meta::Absent => exif = Meta::bytes(data),
            _ => {}
        }
        if !extended {
            break; // a simple file is its image chunk and nothing else
        }
        first = false;
        pos = start + len as usize + (len as usize & 1);
    }
    let Some((width, height)) = size.filter(|&(w, h)| w > 0 && h > 0) else {
        return Err(if pos + 8 > b.len() {
            truncated(F)
        } else {
            corrupt(F, "no image size in the file")
        });
    };
    let pixels = width as u64 * height as u64;
    let channels = if alpha { 4 } else { 3 };
    // Lossy frames are decoded to YUV planes first; lossless ones without alpha to RGBA, then
    // copied; an animation's first frame is composed on an RGBA canvas.
    let side = if animated {
        pixels.saturating_mul(8)
    } else if lossless && !alpha {
        pixels.saturating_mul(4)
    } else if lossless {
        0
    } else {
        pixels.saturating_mul(2)
    };
    Ok(Probe {
        width,
        height,
        decoded_bytes: pixels.saturating_mul(channels),
        side_bytes: side,
        converts: false,
        alpha,
        icc,
        exif,
        extra_frame: None,
    })
}

/// GIF: the logical screen, then the blocks up to the first image descriptor.
fn gif(b: &[u8]) -> Result<Probe<'_>, Error> {
    const F: Format = Format::Gif;
    let (Some(width), Some(height), Some(&flags)) = (le16(b, 6), le16(b, 8), b.get(10)) else {
        return Err(truncated(F));
    };
    let mut pos = 13usize;
    if flags & 0x80 != 0 {
        pos += 3 << ((flags & 7) + 1);
    }
    let mut icc = Meta::Absent;
    let mut frame = None;
    // Data sub-blocks: a length byte, that many bytes, until a zero length.
    let skip_blocks = |mut at: usize| -> Result<usize, Error> {
        loop {
            let n = *b.get(at).ok_or_else(|| truncated(F))? as usize;
            at += 1 + n;
            if n == 0 {
                return Ok(at);
            }
            if at > b.len() {
                return Err(truncated(F));
            }
        }
    };
    while frame.is_none() {
        match b.get(pos) {
            Some(0x21) => {
                let label = *b.get(pos + 1).ok_or_else(|| truncated(F))?;
                if label == 0xFF && b.get(pos + 3..pos + 14) == Some(b"ICCRGBG1012") {
                    icc = Meta::InDecoder;
                }
                pos = skip_blocks(pos + 2)?;
            }
            Some(0x2C) => {
                let field = |at: usize| le16(b, pos + at).ok_or_else(|| truncated(F));
                frame = Some((field(1)?, field(3)?, field(5)?, field(7)?));
            }
            Some(0x3B) | None => return Err(truncated(F)),
            Some(other) => {
                return Err(corrupt(
                    F,
                    format!("unknown block 0x{other:02x} before the first frame"),
                ));
            }
        }
    }
    if width == 0 || height == 0 {
        return Err(corrupt(F, "the logical screen has no size"));
    }
    // The first frame is decoded straight into the screen-sized buffer when it fits the
    // screen's width; otherwise into its own buffer, then copied.
    let extra_frame = frame.and_then(|(left, top, w, h)| {
        let fits = left == 0 && w == width && u32::from(top) + u32::from(h) <= u32::from(height);
        (!fits).then_some((u32::from(w), u32::from(h)))
    });
    let pixels = width as u64 * height as u64;
    Ok(Probe {
        width: width.into(),
        height: height.into(),
        decoded_bytes: pixels.saturating_mul(4),
        side_bytes: width as u64 * 4,
        converts: false,
        alpha: true,
        icc,
        exif: Meta::Absent,
        extra_frame,
    })
}

/// TIFF (classic and BigTIFF): the entries of the first IFD.
fn tiff(b: &[u8]) -> Result<Probe<'_>, Error> {
    const F: Format = Format::Tiff;
    let big_endian = b.starts_with(b"MM");
    let u16_at = |at: usize| if big_endian { be16(b, at) } else { le16(b, at) };
    let u32_at = |at: usize| if big_endian { be32(b, at) } else { le32(b, at) };
    let u64_at = |at: usize| -> Option<u64> {
        let (hi, lo) = if big_endian {
            (u32_at(at)?, u32_at(at + 4)?)
        } else {
            (u32_at(at + 4)?, u32_at(at)?)
        };
        Some((hi as u64) << 32 | lo as u64)
    };
    let bigtiff = u16_at(2) == Some(43);
    // Classic: 2-byte entry count, 12-byte entries with a 4-byte value field; BigTIFF: 8, 20, 8.
    let (ifd, count_len, entry_len, field_len) = if bigtiff {
        (u64_at(8), 8, 20, 8)
    } else {
        (u32_at(4).map(u64::from), 2, 12, 4)
    };
    let ifd = ifd.ok_or_else(|| truncated(F))?;
    let len = b.len() as u64;
    if ifd.saturating_add(count_len) > len {
        return Err(overrun(
            F,
            "its first IFD".into(),
            ifd.saturating_add(count_len),
            len,
        ));
    }
    let ifd = ifd as usize;
    let entries = if bigtiff {
        u64_at(ifd)
    } else {
        u16_at(ifd).map(u64::from)
    }
    .ok_or_else(|| truncated(F))?;
    let table = entries.saturating_mul(entry_len as u64);
    let table_end = (ifd as u64 + count_len).saturating_add(table);
    if table_end > len {
        return Err(overrun(
            F,
            "its first IFD".into(),
            table,
            len - ifd as u64 - count_len,
        ));
    }
    let (mut width, mut height, mut samples, mut bits) = (0u64, 0u64, 1u64, 8u64);
    let mut cmyk = false;
    let mut icc = Meta::Absent;
    for i in 0..entries as usize {
        let e = ifd + count_len as usize + i * entry_len;
        let (Some(tag), Some(kind)) = (u16_at(e), u16_at(e + 2)) else {
            return Err(truncated(F));
        };
        let count = if bigtiff {
            u64_at(e + 4)
        } else {
            u32_at(e + 4).map(u64::from)
        }
        .ok_or_else(|| truncated(F))?;
        let field = e + entry_len - field_len;
        let size: u64 = match kind {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 | 13 => 4,
            5 | 10 | 12 | 16 | 17 | 18 => 8,
            _ => continue, // a type no reader knows: the entry is skipped
        };
        let structural = TIFF_STRUCTURE_TAGS.contains(&tag);
        if !(structural || tag == TIFF_ICC_TAG) {
            continue;
        }
        let total = count.saturating_mul(size);
        if structural && count > MAX_TIFF_VALUES {
            return Err(corrupt(
                F,
                format!("tag {tag} declares {count} values, more than any image needs"),
            ));
        }
        // A value that does not fit in the entry is stored at an offset.
        let value = if total <= field_len as u64 {
            Some(field)
        } else {
            let offset = if bigtiff {
                u64_at(field)
            } else {
                u32_at(field).map(u64::from)
            }
            .ok_or_else(|| truncated(F))?;
            if offset.saturating_add(total) > len {
                return Err(overrun(
                    F,
                    format!("its tag {tag}"),
                    total,
                    len.saturating_sub(offset),
                ));
            }
            Some(offset as usize)
        };
        let first = |at: usize| -> u64 {
            match size {
                1 => b.get(at).copied().unwrap_or(0) as u64,
                2 => u16_at(at).unwrap_or(0) as u64,
                _ => u32_at(at).unwrap_or(0) as u64,
            }
        };
        match (tag, value) {
            (256, Some(at)) => width = first(at),
            (257, Some(at)) => height = first(at),
            (258, Some(at)) => bits = first(at).max(1),
            (262, Some(at)) => cmyk = first(at) == 5,
            (277, Some(at)) => samples = first(at).max(1),
            (TIFF_ICC_TAG, Some(at)) => icc = Meta::bytes(&b[at..at + total as usize]),
            _ => {}
        }
    }
    let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(corrupt(F, "the image size does not fit 32 bits"));
    };
    if w == 0 || h == 0 {
        return Err(corrupt(F, "no image size in the first IFD"));
    }
    let pixels = width * height;
    let sample = bits.div_ceil(8).min(8);
    let native = pixels.saturating_mul(samples.min(16) * sample);
    // The tiff crate decodes into its own buffer, which is then copied (and CMYK converted).
    Ok(Probe {
        width: w,
        height: h,
        decoded_bytes: native,
        side_bytes: native,
        converts: sample != 1 || samples != 3 || cmyk,
        alpha: samples == 2 || samples >= 4 && !cmyk,
        icc,
        exif: Meta::Absent,
        extra_frame: None,
    })
}

/// BMP: the file header and the DIB header's size and bit count.
fn bmp(b: &[u8]) -> Result<Probe<'_>, Error> {
    const F: Format = Format::Bmp;
    let header = le32(b, 14).ok_or_else(|| truncated(F))?;
    let (width, height, bits) = if header == 12 {
        let w = le16(b, 18).ok_or_else(|| truncated(F))? as i64;
        let h = le16(b, 20).ok_or_else(|| truncated(F))? as i64;
        (w, h, le16(b, 24).unwrap_or(24))
    } else {
        let w = le32(b, 18).ok_or_else(|| truncated(F))? as i32 as i64;
        let h = le32(b, 22).ok_or_else(|| truncated(F))? as i32 as i64;
        (w, h, le16(b, 28).unwrap_or(24))
    };
    // A negative height means rows are stored top-down.
    let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height.abs())) else {
        return Err(corrupt(F, format!("invalid size {width}x{height}")));
    };
    if w == 0 || h == 0 {
        return Err(corrupt(F, "the header has no valid size"));
    }
    let alpha = bits == 32;
    let pixels = w as u64 * h as u64;
    Ok(Probe {
        width: w,
        height: h,
        decoded_bytes: pixels.saturating_mul(if alpha { 4 } else { 3 }),
        side_bytes: w as u64 * 4,
        converts: false,
        alpha,
        icc: Meta::Absent,
        exif: Meta::Absent,
        extra_frame: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0; 4]);
        c
    }

    fn png_with(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = 640u32.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&480u32.to_be_bytes());
        ihdr.extend_from_slice(&[16, 6, 0, 0, 0]);
        f.extend(png_chunk(b"IHDR", &ihdr));
        for c in chunks {
            f.extend_from_slice(c);
        }
        f
    }

    #[test]
    fn png_layout_and_metadata() {
        let f = png_with(&[
            png_chunk(b"iCCP", b"p\0\0xx"),
            png_chunk(b"eXIf", b"MM\0*"),
            png_chunk(b"IDAT", b"zz"),
            png_chunk(b"IEND", b""),
        ]);
        let p = Probe::read(&f, Format::Png).expect("probes");
        assert_eq!(
            (p.width, p.height, p.alpha, p.converts),
            (640, 480, true, true)
        );
        assert_eq!(p.decoded_bytes, 640 * 480 * 8);
        assert_eq!(p.icc, Meta::InDecoder);
        assert_eq!(p.exif, Meta::Bytes(b"MM\0*"));
    }

    #[test]
    fn png_overruns_are_refused_or_truncated() {
        let mut lying = png_chunk(b"eXIf", b"MM\0*");
        lying[..4].copy_from_slice(&0x7000_0000u32.to_be_bytes());
        let f = png_with(&[lying]);
        assert!(matches!(
            Probe::read(&f, Format::Png),
            Err(Error::Overrun {
                declared: 0x7000_0000,
                ..
            })
        ));
        let mut cut = png_with(&[png_chunk(b"IDAT", &[0; 100])]);
        cut.truncate(cut.len() - 50);
        assert!(matches!(
            Probe::read(&cut, Format::Png),
            Err(Error::Truncated(_))
        ));
    }

    #[test]
    fn webp_metadata_chunk_larger_than_the_file_is_refused() {
        let mut f = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x20\0\0\0\x0f\0\0\x0f\0\0".to_vec();
        f.extend_from_slice(b"ICCP\xf0\xff\xff\xffabc");
        let n = (f.len() - 8) as u32;
        f[4..8].copy_from_slice(&n.to_le_bytes());
        match Probe::read(&f, Format::WebP) {
            Err(Error::Overrun {
                declared,
                available,
                ..
            }) => assert_eq!((declared, available), (0xffff_fff0, 3)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn vp8_partitions_are_checked_against_the_chunk() {
        // A real lossy WebP passes; one the fuzzer made, whose partition table declares
        // megabytes in a 15 KB file, is refused before any decoder allocates them.
        let photo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/photo.webp"))
            .expect("the sample WebP");
        assert!(Probe::read(&photo, Format::WebP).is_ok());
        let found = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/regressions/render/webp-vp8-partition-sizes-past-the-chunk"
        ))
        .expect("the fuzzer's file");
        match Probe::read(&found, Format::WebP) {
            Err(Error::Overrun {
                declared,
                available,
                ..
            }) => assert!(declared > available, "{declared} {available}"),
            other => panic!("{other:?}"),
        }
        // Not a key frame: no WebP holds one, and the decoder would read it differently.
        let mut inter = photo.clone();
        inter[20] |= 1;
        assert!(matches!(
            Probe::read(&inter, Format::WebP),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn tiff_tag_counts_are_checked_against_the_file() {
        // Little-endian, IFD at 8 with one entry: StripOffsets, LONG, 50 000 000 values at 26.
        let mut f = b"II*\0\x08\0\0\0\x01\0".to_vec();
        f.extend_from_slice(&273u16.to_le_bytes());
        f.extend_from_slice(&4u16.to_le_bytes());
        f.extend_from_slice(&50_000_000u32.to_le_bytes());
        f.extend_from_slice(&26u32.to_le_bytes());
        f.extend_from_slice(&[0; 4]);
        assert!(matches!(
            Probe::read(&f, Format::Tiff),
            Err(Error::Corrupt { .. })
        ));
        f[14..18].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(
            Probe::read(&f, Format::Tiff),
            Err(Error::Overrun { declared: 4000, .. })
        ));
    }

    #[test]
    fn gif_frame_outside_the_screen_is_counted() {
        let mut f = b"GIF89a\x0a\0\x0a\0\0\0\0".to_vec();
        f.extend_from_slice(&[0x2C, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0]);
        let p = Probe::read(&f, Format::Gif).expect("probes");
        assert_eq!((p.width, p.height), (10, 10));
        assert_eq!(p.extra_frame, Some((65535, 65535)));
        assert!(p.decoder_bytes() > 16_000_000_000);
    }
}
