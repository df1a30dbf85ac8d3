//! Every file of `exif-orientation/` (EXIF orientation 0..8, landscape and portrait) renders to
//! the same upright picture. The reference is orientation 1 (stored upright), decoded by an
//! independent decoder (`jpeg-decoder`) at full size; the comparison is on a coarse grid of
//! mean colours, so it is robust to resampling filters but not to a turn or a mirror. The
//! centre, where each file shows its own digit, is left out.

mod common;

use common::{Decoded, decode, fixture, grid_distance, renderer};
use framecast::render::fit::placement;
use framecast::render::{Size, Warning};

const COLS: u32 = 24;
const ROWS: u32 = 16;
/// Mean colour difference allowed between a frame and the reference, per grid cell (0..255).
const TOLERANCE: f64 = 3.0;

/// Grid cells outside the central box that holds the digit.
fn outside_centre(cells: Vec<[f64; 3]>) -> Vec<[f64; 3]> {
    cells
        .into_iter()
        .enumerate()
        .filter(|(i, _)| {
            let (c, r) = (*i as u32 % COLS, *i as u32 / COLS);
            let centre_c = (COLS * 3 / 8..COLS * 5 / 8).contains(&c);
            let centre_r = (ROWS * 3 / 10..ROWS * 7 / 10).contains(&r);
            !(centre_c && centre_r)
        })
        .map(|(_, cell)| cell)
        .collect()
}

fn reference(kind: &str) -> Decoded {
    let bytes = std::fs::read(fixture(&format!("exif-orientation/{kind}_1.jpg"))).expect("read");
    decode(&bytes)
}

fn check(kind: &str, n: u16) {
    let rendered = renderer()
        .render_file(&fixture(&format!("exif-orientation/{kind}_{n}.jpg")))
        .expect("renders");
    let (w, h) = if kind == "Landscape" {
        (1800, 1200)
    } else {
        (1200, 1800)
    };
    assert_eq!(
        rendered.source_size,
        Size {
            width: w,
            height: h
        },
        "shown size after orientation"
    );
    if n == 0 {
        assert_eq!(rendered.warnings, [Warning::InvalidOrientation(0)]);
    } else {
        assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    }
    let frame = decode(&rendered.frame.jpeg);
    let place = placement(rendered.source_size, rendered.frame.size);
    let got = outside_centre(frame.grid(
        place.x,
        place.y,
        place.size.width,
        place.size.height,
        COLS,
        ROWS,
    ));
    let reference = reference(kind);
    let want = outside_centre(reference.grid(0, 0, reference.width, reference.height, COLS, ROWS));
    let distance = grid_distance(&got, &want);
    eprintln!("{kind}_{n}: {distance:.2}");
    assert!(
        distance < TOLERANCE,
        "{kind}_{n}: distance {distance:.2} from the upright reference"
    );
    // Letterbox bars are pure background.
    if place.x > 0 {
        assert_eq!(frame.pixel(0, 540), [0, 0, 0]);
        assert_eq!(frame.pixel(1919, 540), [0, 0, 0]);
    }
}

/// The comparison must be able to fail: a mirrored or turned reference is far from itself.
#[test]
fn comparison_detects_a_wrong_orientation() {
    for kind in ["Landscape", "Portrait"] {
        let r = reference(kind);
        let straight = outside_centre(r.grid(0, 0, r.width, r.height, COLS, ROWS));
        let mut mirrored_rgb = Vec::with_capacity(r.rgb.len());
        for row in r.rgb.chunks(r.width as usize * 3) {
            for px in row.chunks(3).rev() {
                mirrored_rgb.extend_from_slice(px);
            }
        }
        let mirrored = Decoded {
            width: r.width,
            height: r.height,
            rgb: mirrored_rgb,
        };
        let flipped = outside_centre(mirrored.grid(0, 0, r.width, r.height, COLS, ROWS));
        let distance = grid_distance(&straight, &flipped);
        eprintln!("{kind} mirrored: {distance:.2}");
        assert!(
            distance > 3.0 * TOLERANCE,
            "{kind}: mirror distance only {distance:.2}"
        );
    }
}

macro_rules! orientation_trials {
    ($($name:ident: $kind:literal, $n:literal;)*) => {
        $(
            #[test]
            fn $name() {
                check($kind, $n);
            }
        )*
    };
}

orientation_trials! {
    landscape_0: "Landscape", 0;
    landscape_1: "Landscape", 1;
    landscape_2: "Landscape", 2;
    landscape_3: "Landscape", 3;
    landscape_4: "Landscape", 4;
    landscape_5: "Landscape", 5;
    landscape_6: "Landscape", 6;
    landscape_7: "Landscape", 7;
    landscape_8: "Landscape", 8;
    portrait_0: "Portrait", 0;
    portrait_1: "Portrait", 1;
    portrait_2: "Portrait", 2;
    portrait_3: "Portrait", 3;
    portrait_4: "Portrait", 4;
    portrait_5: "Portrait", 5;
    portrait_6: "Portrait", 6;
    portrait_7: "Portrait", 7;
    portrait_8: "Portrait", 8;
}
