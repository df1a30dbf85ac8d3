//! EXIF orientation: turning stored pixels into the upright picture people saw when shooting.
//!
//! Cameras and phones store the sensor's pixels as they come and record how to turn them in
//! the EXIF Orientation tag. TV browsers ignore that tag, so framecast bakes the orientation
//! into the pixels and writes frames without any tag (no viewer can then rotate twice).
//!
//! A missing tag, the invalid value 0 or an unreadable EXIF block all mean "as stored": a bad
//! tag is no reason to lose a photo. The last two come back as a [`Warning`].

use super::{Layout, Pixels, Size, Warning};

/// One of the eight EXIF orientations, named by what must be done to the stored pixels to show
/// them upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Orientation {
    /// 1: stored upright.
    #[default]
    Normal,
    /// 2: mirror left–right.
    FlipHorizontal,
    /// 3: turn half a turn.
    Rotate180,
    /// 4: mirror top–bottom.
    FlipVertical,
    /// 5: mirror across the top-left to bottom-right diagonal.
    Transpose,
    /// 6: turn a quarter turn clockwise.
    Rotate90,
    /// 7: mirror across the top-right to bottom-left diagonal.
    Transverse,
    /// 8: turn a quarter turn anticlockwise.
    Rotate270,
}

impl Orientation {
    /// The orientation for an EXIF tag value, `None` outside 1..=8.
    pub fn from_exif(value: u16) -> Option<Orientation> {
        Some(match value {
            1 => Orientation::Normal,
            2 => Orientation::FlipHorizontal,
            3 => Orientation::Rotate180,
            4 => Orientation::FlipVertical,
            5 => Orientation::Transpose,
            6 => Orientation::Rotate90,
            7 => Orientation::Transverse,
            8 => Orientation::Rotate270,
            _ => return None,
        })
    }

    /// Whether width and height trade places.
    pub fn swaps_sides(self) -> bool {
        matches!(
            self,
            Orientation::Transpose
                | Orientation::Rotate90
                | Orientation::Transverse
                | Orientation::Rotate270
        )
    }

    /// The shown size of a picture stored at `stored`.
    pub fn shown(self, stored: Size) -> Size {
        if self.swaps_sides() {
            Size {
                width: stored.height,
                height: stored.width,
            }
        } else {
            stored
        }
    }

    /// Reads the orientation from an EXIF block (a TIFF structure: byte order, IFD0, …), which
    /// is also how a TIFF file itself begins. Problems become a warning and "as stored".
    pub fn from_exif_block(tiff: &[u8], warnings: &mut Vec<Warning>) -> Orientation {
        match read_orientation_tag(tiff) {
            Ok(None) => Orientation::Normal,
            Ok(Some(value)) => Orientation::from_exif(value).unwrap_or_else(|| {
                warnings.push(Warning::InvalidOrientation(value));
                Orientation::Normal
            }),
            Err(why) => {
                warnings.push(Warning::BadExif(why));
                Orientation::Normal
            }
        }
    }
}

/// The Orientation tag (0x0112) of IFD0, `Ok(None)` when the block has none.
fn read_orientation_tag(tiff: &[u8]) -> Result<Option<u16>, String> {
    super::exif::orientation(tiff)
}

/// Returns the upright picture. `Normal` costs nothing; the others copy once.
pub fn apply(src: Pixels, orientation: Orientation) -> Pixels {
    if orientation == Orientation::Normal {
        return src;
    }
    let (w, h) = (src.width as isize, src.height as isize);
    let c = src.layout.channels() as isize;
    let stride = w * c;
    let shown = orientation.shown(Size {
        width: src.width,
        height: src.height,
    });
    // For each output row: the source index of its first pixel and the step from one output
    // pixel to the next, so the inner loop is a strided copy whatever the orientation.
    let (start, row_step, col_step): (isize, isize, isize) = match orientation {
        Orientation::Normal => (0, stride, c),
        Orientation::FlipHorizontal => ((w - 1) * c, stride, -c),
        Orientation::Rotate180 => ((h - 1) * stride + (w - 1) * c, -stride, -c),
        Orientation::FlipVertical => ((h - 1) * stride, -stride, c),
        // Output (x, y) = source (y, x).
        Orientation::Transpose => (0, c, stride),
        // Output (x, y) = source (y, h-1-x).
        Orientation::Rotate90 => ((h - 1) * stride, c, -stride),
        // Output (x, y) = source (w-1-y, h-1-x).
        Orientation::Transverse => ((h - 1) * stride + (w - 1) * c, -c, -stride),
        // Output (x, y) = source (w-1-y, x).
        Orientation::Rotate270 => ((w - 1) * c, -c, stride),
    };
    let mut out = vec![0u8; src.data.len()];
    let walk = Walk {
        start,
        row_step,
        col_step,
        width: shown.width as usize,
    };
    match src.layout {
        Layout::Rgb => walk.copy::<3>(&src.data, &mut out),
        Layout::Rgba => walk.copy::<4>(&src.data, &mut out),
    }
    Pixels {
        width: shown.width,
        height: shown.height,
        layout: src.layout,
        data: out,
    }
}

/// Where each output pixel comes from: output row `y`, column `x` reads the source pixel at
/// byte `start + y × row_step + x × col_step`.
struct Walk {
    start: isize,
    row_step: isize,
    col_step: isize,
    width: usize,
}

/// Output pixels are copied in square tiles: a quarter turn reads the source down its columns,
/// and tiles keep those reads within a few cache lines instead of a new row for every pixel.
const TILE: usize = 32;

impl Walk {
    fn copy<const C: usize>(&self, src: &[u8], out: &mut [u8]) {
        let height = out.len() / (self.width * C);
        for ty in (0..height).step_by(TILE) {
            for tx in (0..self.width).step_by(TILE) {
                for y in ty..(ty + TILE).min(height) {
                    let row = &mut out[y * self.width * C..(y + 1) * self.width * C];
                    let mut at =
                        self.start + y as isize * self.row_step + tx as isize * self.col_step;
                    for px in row[tx * C..(tx + TILE).min(self.width) * C].chunks_exact_mut(C) {
                        let i = at as usize;
                        px.copy_from_slice(&src[i..i + C]);
                        at += self.col_step;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×2 picture whose red channel numbers the pixels: 0 1 2 / 3 4 5.
    fn numbered() -> Pixels {
        let data = (0..6u8).flat_map(|i| [i, 0, 0]).collect();
        Pixels::new(3, 2, Layout::Rgb, data).expect("3x2 buffer")
    }

    fn reds(p: &Pixels) -> Vec<u8> {
        p.data.chunks(3).map(|px| px[0]).collect()
    }

    #[test]
    fn all_eight_orientations() {
        let cases: [(u16, (u32, u32), [u8; 6]); 8] = [
            (1, (3, 2), [0, 1, 2, 3, 4, 5]),
            (2, (3, 2), [2, 1, 0, 5, 4, 3]),
            (3, (3, 2), [5, 4, 3, 2, 1, 0]),
            (4, (3, 2), [3, 4, 5, 0, 1, 2]),
            (5, (2, 3), [0, 3, 1, 4, 2, 5]),
            (6, (2, 3), [3, 0, 4, 1, 5, 2]),
            (7, (2, 3), [5, 2, 4, 1, 3, 0]),
            (8, (2, 3), [2, 5, 1, 4, 0, 3]),
        ];
        for (value, (w, h), expected) in cases {
            let o = Orientation::from_exif(value).expect("valid value");
            let out = apply(numbered(), o);
            assert_eq!((out.width, out.height), (w, h), "orientation {value}");
            assert_eq!(reds(&out), expected, "orientation {value}");
        }
    }

    fn exif(big_endian: bool, entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut v: Vec<u8> = Vec::new();
        let u16b = |x: u16| {
            if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        };
        let u32b = |x: u32| {
            if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        };
        v.extend_from_slice(if big_endian { b"MM" } else { b"II" });
        v.extend_from_slice(&u16b(42));
        v.extend_from_slice(&u32b(8));
        v.extend_from_slice(&u16b(entries.len() as u16));
        for &(tag, kind, value) in entries {
            v.extend_from_slice(&u16b(tag));
            v.extend_from_slice(&u16b(kind));
            v.extend_from_slice(&u32b(1));
            if kind == 3 {
                v.extend_from_slice(&u16b(value as u16));
                v.extend_from_slice(&[0, 0]);
            } else {
                v.extend_from_slice(&u32b(value));
            }
        }
        v.extend_from_slice(&u32b(0));
        v
    }

    #[test]
    fn reads_the_tag_in_both_byte_orders() {
        let mut w = Vec::new();
        for be in [true, false] {
            let block = exif(be, &[(0x010F, 2, 0), (0x0112, 3, 6)]);
            assert_eq!(
                Orientation::from_exif_block(&block, &mut w),
                Orientation::Rotate90
            );
        }
        assert!(w.is_empty());
    }

    #[test]
    fn missing_tag_is_normal_without_warning() {
        let mut w = Vec::new();
        let block = exif(false, &[(0x010F, 2, 0)]);
        assert_eq!(
            Orientation::from_exif_block(&block, &mut w),
            Orientation::Normal
        );
        assert!(w.is_empty());
    }

    #[test]
    fn zero_and_corrupt_blocks_warn_and_keep_as_stored() {
        let mut w = Vec::new();
        let zero = exif(true, &[(0x0112, 3, 0)]);
        assert_eq!(
            Orientation::from_exif_block(&zero, &mut w),
            Orientation::Normal
        );
        assert_eq!(w, [Warning::InvalidOrientation(0)]);

        let mut w = Vec::new();
        let mut past_end = exif(true, &[(0x0112, 3, 6)]);
        past_end[4..8].copy_from_slice(&5000u32.to_be_bytes());
        assert_eq!(
            Orientation::from_exif_block(&past_end, &mut w),
            Orientation::Normal
        );
        assert!(matches!(&w[..], [Warning::BadExif(why)] if why.contains("past the end")));

        let mut w = Vec::new();
        assert_eq!(
            Orientation::from_exif_block(b"junk", &mut w),
            Orientation::Normal
        );
        assert_eq!(w.len(), 1);
    }
}
