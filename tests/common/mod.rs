//! Helpers shared by the integration tests: fixture paths, an independent JPEG decoder for
//! checking frames, and coarse picture comparison.
#![allow(dead_code)]

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
