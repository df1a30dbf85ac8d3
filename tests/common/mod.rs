//! Helpers shared by the integration tests: fixture paths, an independent JPEG decoder for
//! checking frames, and coarse picture comparison.
#![allow(dead_code)]

pub mod alloc;
pub mod browser;
pub mod hostile;
pub mod server;
pub mod sockets;

use std::path::PathBuf;

use framecast::render::{Renderer, Size, Spec};

/// Path of a file under `tests/fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// The default 1920×1080 renderer.
pub fn renderer() -> Renderer {
    Renderer::new(Spec::default(), Default::default())
}

/// A decoded frame, from a decoder other than the one framecast uses.
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Decoded {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Mean colour of a rectangle.
    pub fn mean(&self, x0: u32, y0: u32, w: u32, h: u32) -> [f64; 3] {
        let mut sum = [0f64; 3];
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                let p = self.pixel(x, y);
                for c in 0..3 {
                    sum[c] += p[c] as f64;
                }
            }
        }
        let n = (w * h) as f64;
        sum.map(|s| s / n)
    }

    /// Mean colours of a `cols × rows` grid over a rectangle: a thumbnail that is robust to
    /// the resampling filter used.
    pub fn grid(&self, x0: u32, y0: u32, w: u32, h: u32, cols: u32, rows: u32) -> Vec<[f64; 3]> {
        let mut cells = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let (cx0, cx1) = (x0 + c * w / cols, x0 + (c + 1) * w / cols);
                let (cy0, cy1) = (y0 + r * h / rows, y0 + (r + 1) * h / rows);
                cells.push(self.mean(cx0, cy0, cx1 - cx0, cy1 - cy0));
            }
        }
        cells
    }

    /// Bounding box `(x, y, w, h)` of the pixels brighter than `threshold` in any channel.
    pub fn content_box(&self, threshold: u8) -> Option<(u32, u32, u32, u32)> {
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        for y in 0..self.height {
            for x in 0..self.width {
                if self.pixel(x, y).iter().any(|&v| v > threshold) {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                }
            }
        }
        (x0 != u32::MAX).then(|| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
    }
}

/// Decodes a JPEG with `jpeg-decoder` (not libjpeg-turbo, which framecast uses).
pub fn decode(jpeg: &[u8]) -> Decoded {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let pixels = decoder.decode().expect("a valid JPEG");
    let info = decoder.info().expect("header read");
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&g| [g, g, g]).collect(),
        other => panic!("unexpected pixel format {other:?}"),
    };
    Decoded {
        width: info.width as u32,
        height: info.height as u32,
        rgb,
    }
}

/// The segments of a JPEG up to its first scan: `(marker, body)`.
pub fn segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8], "starts with SOI");
    let mut out = Vec::new();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() {
        assert_eq!(jpeg[pos], 0xFF, "marker at {pos}");
        let marker = jpeg[pos + 1];
        let len = u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]) as usize;
        out.push((marker, jpeg[pos + 4..pos + 2 + len].to_vec()));
        if marker == 0xDA {
            break;
        }
        pos += 2 + len;
    }
    out
}

/// Asserts what every frame must be: a baseline JPEG of exactly `size`, three components
/// with 4:2:0 chroma, standard Huffman tables written out, no metadata segment but JFIF, and
/// an end marker.
pub fn assert_frame(jpeg: &[u8], size: Size) {
    let segs = segments(jpeg);
    let markers: Vec<u8> = segs.iter().map(|(m, _)| *m).collect();
    assert!(markers.contains(&0xC4), "has DHT segments: {markers:x?}");
    assert!(markers.contains(&0xDB), "has DQT segments");
    for (m, body) in &segs {
        match m {
            0xE0 => assert!(body.starts_with(b"JFIF\0"), "APP0 is JFIF"),
            0xE1..=0xEF => panic!("metadata segment APP{} in a frame", m - 0xE0),
            0xFE => panic!("comment segment in a frame"),
            0xC1..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                panic!("not a baseline frame: SOF marker {m:x}")
            }
            _ => {}
        }
    }
    let sof = &segs
        .iter()
        .find(|(m, _)| *m == 0xC0)
        .expect("a baseline SOF0")
        .1;
    let height = u16::from_be_bytes([sof[1], sof[2]]) as u32;
    let width = u16::from_be_bytes([sof[3], sof[4]]) as u32;
    assert_eq!((width, height), (size.width, size.height), "frame size");
    assert_eq!(sof[5], 3, "three components");
    assert_eq!(sof[7], 0x22, "luma sampled 2x2 (4:2:0)");
    assert_eq!((sof[10], sof[13]), (0x11, 0x11), "chroma sampled 1x1");
    assert_eq!(&jpeg[jpeg.len() - 2..], [0xFF, 0xD9], "ends with EOI");
    let decoded = decode(jpeg);
    assert_eq!((decoded.width, decoded.height), (size.width, size.height));
}

/// Mean absolute difference of two grids.
pub fn grid_distance(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    assert_eq!(a.len(), b.len());
    let total: f64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| (0..3).map(|c| (p[c] - q[c]).abs()).sum::<f64>() / 3.0)
        .sum();
    total / a.len() as f64
}

/// A small solid-colour JPEG, with an EXIF DateTimeOriginal (`YYYY:MM:DD HH:MM:SS`) when
/// `taken` is given: photos whose frames tell them apart and whose dates the test chooses.
pub fn solid_jpeg(rgb: [u8; 3], taken: Option<&str>) -> Vec<u8> {
    let (w, h) = (64u16, 48u16);
    let pixels: Vec<u8> = (0..w as usize * h as usize).flat_map(|_| rgb).collect();
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    if let Some(date) = taken {
        encoder
            .add_app_segment(1, exif_with_date(date))
            .expect("APP1");
    }
    encoder
        .encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .expect("encodes");
    out
}

/// `Exif\0\0` and a little-endian TIFF block: IFD0 pointing to an EXIF IFD that holds
/// DateTimeOriginal.
fn exif_with_date(date: &str) -> Vec<u8> {
    let mut v = b"Exif\0\0II\x2a\0\x08\0\0\0".to_vec();
    let entry = |v: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&kind.to_le_bytes());
        v.extend_from_slice(&count.to_le_bytes());
        v.extend_from_slice(&value.to_le_bytes());
    };
    // Offsets count from the TIFF header (after "Exif\0\0"). IFD0 at 8: one entry, ends at 26.
    v.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut v, 0x8769, 4, 1, 26);
    v.extend_from_slice(&0u32.to_le_bytes());
    // EXIF IFD at 26: one entry, ends at 44; the date's 20 bytes follow.
    v.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut v, 0x9003, 2, 20, 44);
    v.extend_from_slice(&0u32.to_le_bytes());
    let mut text = date.as_bytes().to_vec();
    text.resize(20, 0);
    v.extend_from_slice(&text);
    v
}

/// The mean colour of a decoded frame's centre.
pub fn centre_colour(jpeg: &[u8]) -> [f64; 3] {
    let d = decode(jpeg);
    d.mean(d.width / 2 - 4, d.height / 2 - 4, 8, 8)
}
