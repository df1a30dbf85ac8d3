//! The soft backdrop of the `blur` fill mode, made at low resolution so it stays cheap.
//!
//! A blur wide enough to read as a backdrop (a standard deviation of about 4% of the frame's
//! width) leaves no detail finer than a few dozen pixels, so there is nothing to gain from
//! computing it at full resolution: a full-frame blur that wide would cost more than the
//! rest of the pipeline. [`super::fit`] shrinks the picture to 1/[`REDUCTION`] of the frame's
//! sides, this module blurs and darkens that small picture, and [`super::fit`] scales it back
//! up. Three box blurs in a row are close to a Gaussian and cost the same whatever the radius
//! (a running sum per line), each separable into a pass along the rows and one along the
//! columns.

use super::{Layout, Pixels};

/// The backdrop is made at 1/16 of the frame's width and height (120×68 for 1920×1080).
pub const REDUCTION: u32 = 16;

/// Radius of each box pass, in pixels of the reduced picture. Three passes of 9-pixel boxes
/// have a standard deviation of about 4.5 reduced pixels, 72 pixels of a 1080p frame.
const RADIUS: usize = 4;

/// Box passes each way.
const PASSES: usize = 3;

/// The backdrop keeps 55% of its brightness (141/256), so the photo in front stands out.
const DIM: u32 = 141;

/// Blurs and darkens a small RGB picture in place (an RGBA one is left as it is: the backdrop
/// is always made from a flattened picture).
pub fn soften(pixels: &mut Pixels) {
    if pixels.layout != Layout::Rgb || pixels.data.is_empty() {
        return;
    }
    let (w, h) = (pixels.width as usize, pixels.height as usize);
    let mut line = Vec::new();
    for _ in 0..PASSES {
        // Along each row: pixels 3 bytes apart, rows `3w` apart; then along each column.
        blur_lines(&mut pixels.data, h, w * 3, w, 3, &mut line);
        blur_lines(&mut pixels.data, w, 3, h, w * 3, &mut line);
    }
    for v in &mut pixels.data {
        *v = ((*v as u32 * DIM + 128) >> 8) as u8;
    }
}

/// One box pass of [`RADIUS`] over `lines` lines of `len` RGB pixels each: line `i` starts at
/// byte `i × line_step`, its pixels are `px_step` bytes apart. Beyond its ends a line repeats
/// its end pixels, so the edges keep their colour rather than fading to black.
fn blur_lines(
    data: &mut [u8],
    lines: usize,
    line_step: usize,
    len: usize,
    px_step: usize,
    line: &mut Vec<[u32; 3]>,
) {
    let width = 2 * RADIUS as u32 + 1;
    for i in 0..lines {
        let at = |x: usize| i * line_step + x * px_step;
        line.clear();
        line.extend((0..len).map(|x| {
            let p = at(x);
            [data[p] as u32, data[p + 1] as u32, data[p + 2] as u32]
        }));
        let get = |x: isize| line[x.clamp(0, len as isize - 1) as usize];
        let mut sum = [0u32; 3];
        for x in -(RADIUS as isize)..=RADIUS as isize {
            let p = get(x);
            (0..3).for_each(|c| sum[c] += p[c]);
        }
        for x in 0..len {
            let p = at(x);
            for c in 0..3 {
                data[p + c] = ((sum[c] + width / 2) / width) as u8;
            }
            let (enter, leave) = (
                get((x + RADIUS + 1) as isize),
                get(x as isize - RADIUS as isize),
            );
            (0..3).for_each(|c| sum[c] = sum[c] + enter[c] - leave[c]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_colour_is_only_darkened() {
        let mut p = Pixels::filled(7, 3, [200, 100, 0]);
        soften(&mut p);
        assert!(
            p.data.chunks(3).all(|px| px == [110, 55, 0]),
            "{:?}",
            p.data
        );
    }

    #[test]
    fn a_sharp_edge_becomes_a_ramp() {
        // Black left half, white right half, 40 pixels wide.
        let data: Vec<u8> = (0..40u32)
            .flat_map(|x| if x < 20 { [0u8; 3] } else { [255; 3] })
            .collect();
        let mut p = Pixels::new(40, 1, Layout::Rgb, data).expect("sized");
        soften(&mut p);
        let v: Vec<u8> = p.data.chunks(3).map(|px| px[0]).collect();
        // Ends keep their (darkened) colour, the middle climbs smoothly across the edge.
        assert_eq!((v[0], v[39]), (0, 140));
        assert!(v.windows(2).all(|w| w[0] <= w[1]), "{v:?}");
        assert!(v[17] > 0 && v[22] < 140 && v[19].abs_diff(70) < 20, "{v:?}");
    }

    #[test]
    fn one_pixel_survives() {
        let mut p = Pixels::filled(1, 1, [255, 255, 255]);
        soften(&mut p);
        assert_eq!(p.data, [140, 140, 140]);
    }
}
