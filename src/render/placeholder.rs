//! Frames that say something instead of showing a photo ("no photos to show").
//!
//! A stream with nothing to show must still send frames of the right size, or players time
//! out and browsers show a broken image. The text is drawn with a built-in 5×7 pixel font, so
//! no font file is needed and the result is the same on every machine.

use super::{Error, Frame, Pixels, Spec, encode};

/// Text colour: light grey reads on any background the user is likely to pick.
const INK: [u8; 3] = [200, 200, 200];

/// Renders a frame of `spec` with `lines` centred on the background. Letters outside the
/// font (which has A–Z, 0–9 and common punctuation; lower case is drawn as upper case) are
/// drawn as `?`.
pub fn placeholder(spec: &Spec, lines: &[String]) -> Result<Frame, Error> {
    let size = spec.size;
    let mut canvas = Pixels::filled(size.width, size.height, spec.background.0);
    let ink = if spec.background.0.iter().map(|&c| c as u32).sum::<u32>() > 3 * 128 {
        [40, 40, 40]
    } else {
        INK
    };
    let longest = lines
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(1) as u32;
    let rows = lines.len().max(1) as u32;
    // Each character takes a 6×9 cell (5×7 glyph plus spacing); the text fills at most 90% of
    // the width and 60% of the height, and never grows past a comfortable reading size.
    let scale = (size.width * 9 / 10 / (longest * 6))
        .min(size.height * 6 / 10 / (rows * 9))
        .min((size.height / 80).max(1))
        .max(1);
    let block_h = rows * 9 * scale;
    let top = size.height.saturating_sub(block_h) / 2;
    for (row, line) in lines.iter().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let line_w = chars.len() as u32 * 6 * scale;
        let left = size.width.saturating_sub(line_w) / 2;
        let y0 = top + row as u32 * 9 * scale;
        for (i, ch) in chars.iter().enumerate() {
            let x0 = left + i as u32 * 6 * scale;
            draw_glyph(&mut canvas, glyph(*ch), x0, y0, scale, ink);
        }
    }
    Ok(Frame {
        jpeg: encode::encode(&canvas, spec.quality)?,
        size,
    })
}

fn draw_glyph(canvas: &mut Pixels, rows: [u8; 7], x0: u32, y0: u32, scale: u32, ink: [u8; 3]) {
    let stride = canvas.stride();
    for (gy, bits) in rows.iter().enumerate() {
        for gx in 0..5u32 {
            if bits & (0b10000 >> gx) == 0 {
                continue;
            }
            for dy in 0..scale {
                let y = y0 + gy as u32 * scale + dy;
                if y >= canvas.height {
                    break;
                }
                for dx in 0..scale {
                    let x = x0 + gx * scale + dx;
                    if x >= canvas.width {
                        break;
                    }
                    let at = y as usize * stride + x as usize * 3;
                    canvas.data[at..at + 3].copy_from_slice(&ink);
                }
            }
        }
    }
}

/// The 5×7 glyph of `ch`, one byte a row, the leftmost pixel in bit 4.
fn glyph(ch: char) -> [u8; 7] {
    match ch.to_ascii_uppercase() {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ' ' => [0; 7],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '!' => [0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04],
        '\'' => [0x04, 0x04, 0x08, 0, 0, 0, 0],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Size;

    #[test]
    fn placeholder_is_a_frame_of_the_spec_size_with_text() {
        let spec = Spec {
            size: Size {
                width: 320,
                height: 180,
            },
            ..Spec::default()
        };
        let frame = placeholder(&spec, &["No photos to show".into()]).expect("renders");
        assert_eq!(frame.size, spec.size);
        assert_eq!(&frame.jpeg[..2], [0xFF, 0xD8]);
    }

    #[test]
    fn glyphs_fit_five_columns() {
        for ch in ('A'..='Z').chain('0'..='9').chain(" .,:/-_()!?'~".chars()) {
            assert!(glyph(ch).iter().all(|row| *row < 0x20), "{ch}");
        }
        assert_eq!(glyph('a'), glyph('A'));
    }
}
