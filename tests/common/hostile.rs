//! Hostile and large files, generated at test time (never committed): decompression bombs,
//! chunks that declare more than the file holds, and large but valid pictures.
#![allow(dead_code)]

/// CRC-32 as PNG uses it.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    let mut table = [0u32; 256];
    for (n, entry) in table.iter_mut().enumerate() {
        let mut c = n as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *entry = c;
    }
    let mut crc = !0u32;
    for part in parts {
        for &b in *part {
            crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
        }
    }
    !crc
}

/// Writes bits least significant first, as DEFLATE packs them.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn new() -> Bits {
        Bits {
            out: Vec::new(),
            acc: 0,
            n: 0,
        }
    }

    /// `count` bits of `value`, least significant first (header fields, extra bits).
    fn value(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code of `len` bits, most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        for i in (0..len).rev() {
            self.value(code >> i & 1, 1);
        }
    }

    /// `count` zero bits, fast.
    fn zeros(&mut self, mut count: u64) {
        while count > 0 && self.n != 0 {
            self.value(0, 1);
            count -= 1;
        }
        self.out.resize(self.out.len() + (count / 8) as usize, 0);
        for _ in 0..count % 8 {
            self.value(0, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A zlib stream that inflates to `len` zero bytes, about 1/1000 of that size: one dynamic
/// Huffman block where a match of 258 bytes at distance 1 costs two bits, the best ratio
/// DEFLATE allows.
pub fn zlib_zeros(len: u64) -> Vec<u8> {
    assert!(len >= 1);
    let mut bits = Bits::new();
    bits.value(1, 1); // final block
    bits.value(2, 2); // dynamic Huffman codes
    bits.value(286 - 257, 5); // HLIT: literal/length codes 0..=285
    bits.value(0, 5); // HDIST: one distance code
    bits.value(18 - 4, 4); // HCLEN: code length codes up to symbol 1 in the order below
    // Code length code lengths in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1:
    // symbol 18 (a run of zeros) gets 1 bit, symbols 1 and 2 get 2 bits.
    for len in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        bits.value(len, 3);
    }
    // Canonical codes: 18 -> 0, 1 -> 10, 2 -> 11.
    let run = |bits: &mut Bits, zeros: u64| {
        bits.code(0, 1);
        bits.value(zeros - 11, 7);
    };
    // Literal/length code lengths: 0 -> 2 bits, 256 (end) -> 2, 285 (length 258) -> 1;
    // then the single distance code (distance 1) -> 1 bit.
    bits.code(0b11, 2);
    run(&mut bits, 138);
    run(&mut bits, 117);
    bits.code(0b11, 2);
    run(&mut bits, 28);
    bits.code(0b10, 2);
    bits.code(0b10, 2);
    // Data. Canonical codes: 285 -> 0, literal 0 -> 10, end -> 11; distance 0 -> 0.
    bits.code(0b10, 2);
    let matches = (len - 1) / 258;
    bits.zeros(matches * 2);
    for _ in 0..(len - 1) % 258 {
        bits.code(0b10, 2);
    }
    bits.code(0b11, 2);
    let mut out = vec![0x78, 0xDA];
    out.extend(bits.finish());
    // Adler-32 of `len` zeros: a stays 1, b grows by 1 a byte.
    let b = len % 65521;
    out.extend_from_slice(&((b << 16 | 1) as u32).to_be_bytes());
    out
}

/// A zlib stream holding `data` uncompressed (stored blocks).
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(chunks.peek().is_none() as u8);
        out.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
        out.extend_from_slice(&(!(chunk.len() as u16)).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&(b << 16 | a).to_be_bytes());
    out
}

/// A PNG chunk with its length and CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
    chunk
}

/// A black PNG of `width × height`, 8- or 16-bit RGB, with `extra` chunks before the image
/// data. Its pixels compress a thousandfold, so even 100 MP make a small file.
pub fn black_png(width: u32, height: u32, depth: u8, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, 2, 0, 0, 0]);
    png.extend(png_chunk(b"IHDR", &ihdr));
    for chunk in extra {
        png.extend_from_slice(chunk);
    }
    let row = 1 + width as u64 * 3 * (depth as u64 / 8);
    png.extend(png_chunk(b"IDAT", &zlib_zeros(row * height as u64)));
    png.extend(png_chunk(b"IEND", b""));
    png
}

/// An iCCP chunk whose profile inflates to `len` zero bytes.
pub fn iccp_bomb(len: u64) -> Vec<u8> {
    let mut data = b"bomb\0\0".to_vec();
    data.extend(zlib_zeros(len));
    png_chunk(b"iCCP", &data)
}

/// A zTXt chunk whose text inflates to `len` bytes.
pub fn ztxt_bomb(len: u64) -> Vec<u8> {
    let mut data = b"Comment\0\0".to_vec();
    data.extend(zlib_zeros(len));
    png_chunk(b"zTXt", &data)
}

/// A compressed iTXt chunk with the XMP keyword, inflating to `len` bytes.
pub fn itxt_bomb(len: u64) -> Vec<u8> {
    let mut data = b"XML:com.adobe.xmp\0\x01\0\0\0".to_vec();
    data.extend(zlib_zeros(len));
    png_chunk(b"iTXt", &data)
}

/// A chunk of `kind` whose length field says `declared` while only `actual` bytes follow
/// (and no CRC): the file ends inside it.
pub fn lying_png_chunk(kind: &[u8; 4], declared: u32, actual: usize) -> Vec<u8> {
    let mut chunk = declared.to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend(std::iter::repeat_n(0u8, actual));
    chunk
}

/// A PNG whose only chunk after IHDR lies about its length, so the file ends inside it.
pub fn png_with_lying_chunk(kind: &[u8; 4], declared: u32) -> Vec<u8> {
    let mut png = black_png(1, 1, 8, &[]);
    png.truncate(33); // signature and IHDR
    png.extend(lying_png_chunk(kind, declared, 16));
    png
}

/// A 1×1 lossless WebP bitstream (the VP8L chunk's payload), made by the `image` crate.
pub fn vp8l_1x1() -> Vec<u8> {
    let mut file = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut file)
        .encode(&[200, 30, 30], 1, 1, image::ExtendedColorType::Rgb8)
        .expect("encodes");
    assert_eq!(&file[12..16], b"VP8L");
    let len = u32::from_le_bytes(file[16..20].try_into().expect("4 bytes")) as usize;
    file[20..20 + len].to_vec()
}

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = kind.to_vec();
    chunk.extend_from_slice(&(data.len() as u32).to_le_bytes());
    chunk.extend_from_slice(data);
    if data.len() % 2 == 1 {
        chunk.push(0);
    }
    chunk
}

/// An extended 1×1 WebP (VP8X, the image, then `meta` chunks as `(kind, payload)`), and, at
/// the end, a chunk of `lying` that declares `declared` bytes but holds four.
pub fn webp_with(meta: &[(&[u8; 4], &[u8])], lying: Option<(&[u8; 4], u32)>) -> Vec<u8> {
    let mut flags = 0u8;
    let kinds = meta.iter().map(|(k, _)| *k).chain(lying.map(|(k, _)| k));
    for kind in kinds {
        flags |= match kind {
            b"ICCP" => 0x20,
            b"EXIF" => 0x08,
            b"XMP " => 0x04,
            _ => 0,
        };
    }
    let mut vp8x = vec![flags, 0, 0, 0];
    vp8x.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // canvas 1×1 (stored minus one)
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend(riff_chunk(b"VP8L", &vp8l_1x1()));
    for (kind, data) in meta {
        body.extend(riff_chunk(kind, data));
    }
    if let Some((kind, declared)) = lying {
        body.extend_from_slice(kind);
        body.extend_from_slice(&declared.to_le_bytes());
        body.extend_from_slice(b"junk");
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend(body);
    file
}

/// A 1×1 RGB baseline TIFF, little-endian, with `extra` IFD entries `(tag, type, count,
/// value or offset)`.
pub fn tiff_with(extra: &[(u16, u16, u32, u32)]) -> Vec<u8> {
    let mut entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 3, 1, 1), // ImageWidth
        (257, 3, 1, 1), // ImageLength
        (258, 3, 1, 8), // BitsPerSample (one value, applies to all samples)
        (259, 3, 1, 1), // no compression
        (262, 3, 1, 2), // RGB
        (273, 4, 1, 0), // StripOffsets, patched below
        (277, 3, 1, 3), // SamplesPerPixel
        (278, 3, 1, 1), // RowsPerStrip
        (279, 4, 1, 3), // StripByteCounts
    ];
    entries.extend_from_slice(extra);
    entries.sort_by_key(|e| e.0);
    let ifd_len = 2 + entries.len() * 12 + 4;
    let pixel_at = (8 + ifd_len) as u32;
    let mut file = b"II*\0\x08\0\0\0".to_vec();
    file.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        let value = if tag == 273 { pixel_at } else { value };
        file.extend_from_slice(&tag.to_le_bytes());
        file.extend_from_slice(&kind.to_le_bytes());
        file.extend_from_slice(&count.to_le_bytes());
        file.extend_from_slice(&value.to_le_bytes());
    }
    file.extend_from_slice(&[0; 4]); // no next IFD
    file.extend_from_slice(&[30, 200, 30]);
    file
}

/// A GIF with a `screen` logical screen whose first frame declares `frame`, with a minimal
/// one-pixel image data block.
pub fn gif_with_frame(screen: (u16, u16), frame: (u16, u16)) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&screen.0.to_le_bytes());
    gif.extend_from_slice(&screen.1.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0]); // a global table of two colours
    gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    gif.push(0x2C);
    gif.extend_from_slice(&[0, 0, 0, 0]);
    gif.extend_from_slice(&frame.0.to_le_bytes());
    gif.extend_from_slice(&frame.1.to_le_bytes());
    gif.push(0);
    // LZW minimum code size 2; clear, pixel 0, end (codes 4, 0, 5 in 3 bits).
    gif.extend_from_slice(&[2, 2, 0x44, 0x01, 0, 0x3B]);
    gif
}

/// `jpeg` with bytes inserted between its first two segments, which libjpeg skips with the
/// warning "extraneous bytes before marker".
pub fn jpeg_with_extraneous_bytes(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8]);
    let first = 4 + u16::from_be_bytes([jpeg[4], jpeg[5]]) as usize;
    let mut out = jpeg[..first].to_vec();
    out.extend_from_slice(b"\0garbage\0");
    out.extend_from_slice(&jpeg[first..]);
    out
}

/// `jpeg` with the sequence number of its first ICC chunk set to 0, which libjpeg reports
/// as "bad ICC marker"; `None` when it has no ICC chunk.
pub fn jpeg_with_bad_icc_chunk(jpeg: &[u8]) -> Option<Vec<u8>> {
    let at = jpeg.windows(12).position(|w| w == b"ICC_PROFILE\0")?;
    let mut out = jpeg.to_vec();
    out[at + 12] = 0;
    Some(out)
}
