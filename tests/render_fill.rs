//! The fill modes (`letterbox`, `blur`, `cover`, `pair`) on real photos: each frame is decoded
//! with an independent decoder and compared with the source photo, decoded independently too.

mod common;

use common::{Decoded, assert_frame, decode, fixture, grid_distance};
use framecast::render::fit::{cover_crop, pair_layout, pairs, placement};
use framecast::render::{Error, Fit, Rendered, Renderer, Rgb, Size, Spec};

const HD: Size = Size {
    width: 1920,
    height: 1080,
};

/// A grey, stormy 1200×1800 portrait (orientation 1, so the file's pixels are upright).
const STORM: &str = "exif-orientation/Portrait_1.jpg";
/// A blue-sky 1500×2000 portrait (no orientation tag).
const CLOISTER: &str = "edge/progressive.jpg";
/// A 1800×1200 landscape (orientation 1).
const LANDSCAPE: &str = "exif-orientation/Landscape_1.jpg";

fn renderer(fit: Fit, size: Size, background: Rgb) -> Renderer {
    let spec = Spec {
        size,
        background,
        fit,
        ..Spec::default()
    };
    Renderer::new(spec, Default::default())
}

fn hd(fit: Fit) -> Renderer {
    renderer(fit, HD, Rgb([0, 0, 0]))
}

fn bytes(relative: &str) -> Vec<u8> {
    std::fs::read(fixture(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn render(renderer: &Renderer, relative: &str) -> Rendered {
    let rendered = renderer
        .render(&bytes(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    assert_frame(&rendered.frame.jpeg, renderer.spec().size);
    rendered
}

/// The photo itself, decoded by `jpeg-decoder`.
fn original(relative: &str) -> Decoded {
    decode(&bytes(relative))
}

fn size_of(d: &Decoded) -> Size {
    Size {
        width: d.width,
        height: d.height,
    }
}

/// Mean and standard deviation of the brightness (mean of R, G, B) of a rectangle.
fn brightness(d: &Decoded, x0: u32, y0: u32, w: u32, h: u32) -> (f64, f64) {
    let values: Vec<f64> = (y0..y0 + h)
        .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
        .map(|(x, y)| d.pixel(x, y).iter().map(|&v| v as f64).sum::<f64>() / 3.0)
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    (mean, var.sqrt())
}

/// A portrait on a landscape frame: letterbox leaves flat bars of the background colour, blur
/// fills them with the photo's own middle band, blurred and darkened, and leaves the photo
/// itself as letterbox has it.
#[test]
fn blur_fills_the_bars_with_the_photo() {
    let letterbox = decode(&render(&hd(Fit::Letterbox), STORM).frame.jpeg);
    let blur = decode(&render(&hd(Fit::Blur), STORM).frame.jpeg);
    let source = original(STORM);
    let place = placement(size_of(&source), HD);
    assert_eq!((place.x, place.size.width), (600, 720));

    // The bars, kept 16 pixels (one JPEG block) away from the photo's edges.
    let bars = [(0, 584), (1336, 584)];
    for (x, w) in bars {
        let (mean, spread) = brightness(&letterbox, x, 0, w, 1080);
        assert!(
            mean < 2.0 && spread < 2.0,
            "letterbox bar at {x}: {mean} ± {spread}"
        );
        let (mean, spread) = brightness(&blur, x, 0, w, 1080);
        assert!(mean > 40.0, "blur bar at {x} is dark: {mean}");
        assert!(spread > 8.0, "blur bar at {x} is flat: ± {spread}");
    }

    // What fills the bars is the photo's middle band scaled to cover the frame (the sky above
    // the horizon, the dark ground below it), at 55% of its brightness, softened: coarse cells
    // match the photo's, the far side of the frame does not.
    let crop = cover_crop(size_of(&source), HD);
    let scale = HD.width as f64 / crop.width;
    let in_source = |x: u32, y: u32, w: u32, h: u32| {
        (
            (crop.left + x as f64 / scale) as u32,
            (crop.top + y as f64 / scale) as u32,
            (w as f64 / scale) as u32,
            (h as f64 / scale) as u32,
        )
    };
    for (x, w) in bars {
        let ours = blur.grid(x, 0, w, 1080, 2, 4);
        let (sx, sy, sw, sh) = in_source(x, 0, w, 1080);
        let expected: Vec<[f64; 3]> = source
            .grid(sx, sy, sw, sh, 2, 4)
            .iter()
            .map(|c| c.map(|v| v * 141.0 / 256.0))
            .collect();
        let upside_down: Vec<[f64; 3]> = expected.iter().rev().copied().collect();
        let (near, far) = (
            grid_distance(&ours, &expected),
            grid_distance(&ours, &upside_down),
        );
        assert!(near < 5.0, "bar at {x}: {near} from the darkened photo");
        assert!(
            near * 4.0 < far,
            "bar at {x}: {near} near, {far} upside down"
        );
    }

    // The photo itself is the letterbox picture (JPEG blocks along its edges see the bars, so
    // keep one block inside).
    let (x, w) = (place.x + 16, place.size.width - 32);
    let centre = grid_distance(
        &blur.grid(x, 0, w, 1080, 24, 36),
        &letterbox.grid(x, 0, w, 1080, 24, 36),
    );
    assert!(centre < 1.0, "centre differs from letterbox by {centre}");
}

/// Cover fills the frame: on a background nothing in the photo resembles, no edge row or
/// column has the background's colour, and the picture is the centred crop of the photo.
#[test]
fn cover_has_no_bars_and_a_centred_crop() {
    let magenta = Rgb([255, 0, 255]);
    let portrait_frame = Size {
        width: 1080,
        height: 1920,
    };
    for (file, frame) in [(STORM, HD), (LANDSCAPE, portrait_frame), (CLOISTER, HD)] {
        let letterbox = renderer(Fit::Letterbox, frame, magenta);
        let cover = renderer(Fit::Cover, frame, magenta);
        let bars = decode(&render(&letterbox, file).frame.jpeg);
        let ours = decode(&render(&cover, file).frame.jpeg);
        let (w, h) = (frame.width, frame.height);
        let edges = [
            (0, 0, w, 1),
            (0, h - 1, w, 1),
            (0, 0, 1, h),
            (w - 1, 0, 1, h),
        ];
        let is_magenta = |c: [f64; 3]| c[0] > 200.0 && c[1] < 60.0 && c[2] > 200.0;
        assert!(
            edges
                .iter()
                .any(|&(x, y, ew, eh)| is_magenta(bars.mean(x, y, ew, eh))),
            "{file}: letterbox shows its bars"
        );
        for (x, y, ew, eh) in edges {
            let mean = ours.mean(x, y, ew, eh);
            assert!(
                !is_magenta(mean),
                "{file}: edge at ({x}, {y}) is a bar: {mean:?}"
            );
            // Every pixel of the edge, not only its mean, is photo.
            for (px, py) in (y..y + eh).flat_map(|py| (x..x + ew).map(move |px| (px, py))) {
                let p = ours.pixel(px, py).map(f64::from);
                assert!(!is_magenta(p), "{file}: ({px}, {py}) is background");
            }
        }

        // Against the photo's own centred crop, and against the same crop at the start of the
        // cropped side (top or left), which a crop that is not centred would be closer to.
        let source = original(file);
        let crop = cover_crop(size_of(&source), frame);
        assert!(
            crop.left.max(crop.top) > 100.0,
            "{file}: the photo is cropped"
        );
        let reference = |x: f64, y: f64| {
            let (cw, ch) = (crop.width as u32, crop.height as u32);
            source.grid(x as u32, y as u32, cw, ch, 16, 16)
        };
        let grid = ours.grid(0, 0, w, h, 16, 16);
        let centred = grid_distance(&grid, &reference(crop.left, crop.top));
        let at_start = grid_distance(&grid, &reference(0.0, 0.0));
        assert!(centred < 2.0, "{file}: {centred} from the centred crop");
        assert!(
            centred * 10.0 < at_start,
            "{file}: {centred} from the centred crop, {at_start} from the crop at the start"
        );
    }
}

/// Two portraits on a landscape frame: each half holds its own photo (and not the other's),
/// the gap between them and the bars outside are background.
#[test]
fn pair_frames_hold_two_portraits() {
    let pair = hd(Fit::Pair);
    let paired = pair
        .render_pair(&bytes(STORM), &bytes(CLOISTER))
        .expect("renders");
    assert_frame(&paired.frame.jpeg, HD);
    let second = paired.second.expect("two portraits pair");
    let (storm, cloister) = (original(STORM), original(CLOISTER));
    assert_eq!(paired.first.size, size_of(&storm));
    assert_eq!(second.size, size_of(&cloister));
    let frame = decode(&paired.frame.jpeg);
    let [a, b] = pair_layout(HD, size_of(&storm), size_of(&cloister));
    // Both fill the height; the gap is 16 pixels; the pair is centred.
    assert_eq!((a.size.height, b.size.height), (1080, 1080));
    assert_eq!(b.x - (a.x + a.size.width), 16);
    assert!(a.x.abs_diff(HD.width - (b.x + b.size.width)) <= 1);

    let cells = |d: &Decoded, x: u32, y: u32, w: u32, h: u32| d.grid(x, y, w, h, 6, 8);
    let left = cells(&frame, a.x, a.y, a.size.width, a.size.height);
    let right = cells(&frame, b.x, b.y, b.size.width, b.size.height);
    let storm_cells = cells(&storm, 0, 0, storm.width, storm.height);
    let cloister_cells = cells(&cloister, 0, 0, cloister.width, cloister.height);
    let near = [
        grid_distance(&left, &storm_cells),
        grid_distance(&right, &cloister_cells),
    ];
    let crossed = [
        grid_distance(&left, &cloister_cells),
        grid_distance(&right, &storm_cells),
    ];
    assert!(
        near.iter().all(|&d| d < 2.0),
        "halves against their photos: {near:?}"
    );
    assert!(
        crossed.iter().all(|&d| d > 10.0 * near[0].max(near[1])),
        "halves against the other photo: {crossed:?}, own: {near:?}"
    );

    // The middle of the gap, and the outer bars (one JPEG block away from the photos).
    let gap = brightness(&frame, a.x + a.size.width + 6, 0, 4, 1080);
    assert!(gap.0 < 6.0, "gap {gap:?}");
    for (x, w) in [
        (0, a.x - 16),
        (
            b.x + b.size.width + 16,
            HD.width - (b.x + b.size.width) - 16,
        ),
    ] {
        let bar = brightness(&frame, x, 0, w, 1080);
        assert!(bar.0 < 2.0 && bar.1 < 2.0, "bar at {x}: {bar:?}");
    }

    // The order is kept: the first photo is on the left.
    let swapped = pair
        .render_pair(&bytes(CLOISTER), &bytes(STORM))
        .expect("renders");
    let swapped = decode(&swapped.frame.jpeg);
    let [a, _] = pair_layout(HD, size_of(&cloister), size_of(&storm));
    let left = cells(&swapped, a.x, a.y, a.size.width, a.size.height);
    assert!(grid_distance(&left, &cloister_cells) < 2.0);
}

/// Without a partner a picture is shown as blur: a portrait next to a landscape, a landscape
/// first, portraits on a portrait frame, a partner that cannot be decoded, and a photo rendered
/// on its own. Only the first photo's error is an error.
#[test]
fn pair_falls_back_to_blur() {
    let pair = hd(Fit::Pair);
    let blur = hd(Fit::Blur);
    let alone = |r: &Renderer, file: &str| render(r, file).frame.jpeg;
    let (storm, cloister, landscape) = (bytes(STORM), bytes(CLOISTER), bytes(LANDSCAPE));

    // A lone photo in pair mode is the blur frame, byte for byte.
    assert_eq!(alone(&pair, STORM), alone(&blur, STORM));
    assert_eq!(alone(&pair, LANDSCAPE), alone(&blur, LANDSCAPE));

    for (first, second, first_name) in [
        (&storm, &landscape, STORM),
        (&landscape, &storm, LANDSCAPE),
        (&storm, &b"not a photo".to_vec(), STORM),
        (&storm, &Vec::new(), STORM),
    ] {
        let paired = pair.render_pair(first, second).expect("renders");
        assert!(paired.second.is_none(), "{first_name} paired");
        assert_eq!(paired.frame.jpeg, alone(&blur, first_name), "{first_name}");
    }

    // A portrait frame never pairs.
    let tall = Size {
        width: 1080,
        height: 1920,
    };
    let paired = renderer(Fit::Pair, tall, Rgb([0, 0, 0]))
        .render_pair(&storm, &cloister)
        .expect("renders");
    assert!(paired.second.is_none());
    assert_eq!(
        paired.frame.jpeg,
        alone(&renderer(Fit::Blur, tall, Rgb([0, 0, 0])), STORM)
    );

    // Another fill mode never pairs: render_pair is render.
    let letterbox = hd(Fit::Letterbox);
    let paired = letterbox.render_pair(&storm, &cloister).expect("renders");
    assert!(paired.second.is_none());
    assert_eq!(paired.frame.jpeg, alone(&letterbox, STORM));

    // The first photo's error is the error.
    assert!(matches!(
        pair.render_pair(b"", &storm),
        Err(Error::NotAnImage(_))
    ));

    // The two-step API agrees with the one-step one.
    let (a, b) = (
        pair.picture(&storm).expect("decodes"),
        pair.picture(&cloister).expect("decodes"),
    );
    assert!(pair.pairs(&a, &b) && !blur.pairs(&a, &b));
    let frame = pair.pair_frame(&a, &b).expect("composes").expect("pairs");
    assert_eq!(
        frame.jpeg,
        pair.render_pair(&storm, &cloister)
            .expect("renders")
            .frame
            .jpeg
    );
    let l = pair.picture(&landscape).expect("decodes");
    assert_eq!(pair.pair_frame(&a, &l).expect("composes"), None);
}

/// Photos of every shape, the eight orientations included, make frames of exactly the frame
/// size in every mode, at a usual size and an odd one.
fn every_shape(fit: Fit) {
    let mut files: Vec<String> = [
        "edge/1x1.jpg",
        "edge/1x1.png",
        "edge/panorama-12000x1500.jpg",
        "edge/tall-screenshot-1080x6000.png",
        "edge/alpha.png",
        "edge/grayscale.jpg",
        "edge/cmyk.jpg",
    ]
    .map(String::from)
    .to_vec();
    for n in 1..=8 {
        files.push(format!("exif-orientation/Portrait_{n}.jpg"));
        files.push(format!("exif-orientation/Landscape_{n}.jpg"));
    }
    let odd = Size {
        width: 333,
        height: 251,
    };
    for size in [HD, odd] {
        let r = renderer(fit, size, Rgb([0, 0, 0]));
        let shown: Vec<Size> = files.iter().map(|f| render(&r, f).source_size).collect();
        if fit != Fit::Pair {
            continue;
        }
        // Each photo with the next one, so every shape meets a portrait and a landscape.
        for i in 0..files.len() {
            let j = (i + 1) % files.len();
            let paired = r
                .render_pair(&bytes(&files[i]), &bytes(&files[j]))
                .unwrap_or_else(|e| panic!("{} + {}: {e}", files[i], files[j]));
            assert_frame(&paired.frame.jpeg, size);
            assert_eq!(
                paired.second.is_some(),
                pairs(size, shown[i], shown[j]),
                "{} + {}",
                files[i],
                files[j]
            );
        }
    }
}

#[test]
fn letterbox_frames_for_every_shape() {
    every_shape(Fit::Letterbox);
}

#[test]
fn blur_frames_for_every_shape() {
    every_shape(Fit::Blur);
}

#[test]
fn cover_frames_for_every_shape() {
    every_shape(Fit::Cover);
}

#[test]
fn pair_frames_for_every_shape() {
    every_shape(Fit::Pair);
}

/// The eight orientations of one photo give the same picture in every mode (orientation is
/// applied before filling), and so do pairs of them.
#[test]
fn orientations_agree_in_every_mode() {
    for fit in [Fit::Blur, Fit::Cover] {
        let r = hd(fit);
        let grids: Vec<_> = (1..=8)
            .map(|n| {
                let file = format!("exif-orientation/Portrait_{n}.jpg");
                decode(&render(&r, &file).frame.jpeg).grid(0, 0, 1920, 1080, 16, 9)
            })
            .collect();
        for (n, grid) in grids.iter().enumerate().skip(1) {
            let d = grid_distance(grid, &grids[0]);
            assert!(d < 3.0, "{fit}: Portrait_{} differs by {d}", n + 1);
        }
    }
    let r = hd(Fit::Pair);
    let pair = |a: u32, b: u32| {
        let paired = r
            .render_pair(
                &bytes(&format!("exif-orientation/Portrait_{a}.jpg")),
                &bytes(&format!("exif-orientation/Portrait_{b}.jpg")),
            )
            .expect("renders");
        assert!(paired.second.is_some(), "{a} + {b}");
        decode(&paired.frame.jpeg).grid(0, 0, 1920, 1080, 16, 9)
    };
    let reference = pair(1, 1);
    for (a, b) in [(2, 3), (5, 6), (7, 8), (4, 1)] {
        let d = grid_distance(&pair(a, b), &reference);
        assert!(d < 3.0, "Portrait_{a} + Portrait_{b} differs by {d}");
    }
}
