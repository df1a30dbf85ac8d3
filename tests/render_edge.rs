//! Every file of the edge-case set gets its documented outcome (`tests/fixtures/README.md`):
//! unusual formats render upright with the right colours; broken and hostile files fail with
//! the right typed error. Every frame is checked with an independent decoder.

mod common;

use std::time::{Duration, Instant};

use common::{Decoded, assert_frame, decode, fixture, grid_distance, renderer};
use framecast::format::Format;
use framecast::render::fit::placement;
use framecast::render::{Error, Rendered, Renderer, Rgb, Size, Spec, Warning};

const HD: Size = Size {
    width: 1920,
    height: 1080,
};

fn render(relative: &str) -> Rendered {
    let rendered = renderer()
        .render_file(&fixture(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    assert_frame(&rendered.frame.jpeg, HD);
    rendered
}

fn render_error(relative: &str) -> Error {
    match renderer().render_file(&fixture(relative)) {
        Ok(_) => panic!("{relative} rendered, but should have failed"),
        Err(e) => {
            assert_eq!(e.path, fixture(relative), "the error names the file");
            assert!(
                e.to_string()
                    .contains(relative.rsplit('/').next().unwrap_or(relative))
            );
            e.source
        }
    }
}

/// Broad colour classes, enough to tell the test card's corners apart.
fn is_red(c: [f64; 3]) -> bool {
    c[0] > 170.0 && c[1] < 90.0 && c[2] < 90.0
}
fn is_green(c: [f64; 3]) -> bool {
    c[1] > 140.0 && c[0] < 100.0 && c[2] < 120.0
}
fn is_blue(c: [f64; 3]) -> bool {
    c[2] > 170.0 && c[0] < 90.0 && c[1] < 120.0
}
fn is_yellow(c: [f64; 3]) -> bool {
    c[0] > 180.0 && c[1] > 170.0 && c[2] < 100.0
}

/// The test card's corners, sampled in the middle of each corner square: red top-left, green
/// top-right, blue bottom-left, yellow bottom-right. A card that is turned, mirrored or read
/// in the wrong colour space fails.
fn corners(rendered: &Rendered) -> [[f64; 3]; 4] {
    let frame = decode(&rendered.frame.jpeg);
    let src = rendered.source_size;
    let place = placement(src, HD);
    let scale = place.size.width as f64 / src.width as f64;
    let square = ((src.width.min(src.height) / 8) as f64 * scale) as u32;
    let inset = square / 4;
    let side = square / 2;
    let (x0, y0) = (place.x + inset, place.y + inset);
    let x1 = place.x + place.size.width - inset - side;
    let y1 = place.y + place.size.height - inset - side;
    [
        frame.mean(x0, y0, side, side),
        frame.mean(x1, y0, side, side),
        frame.mean(x0, y1, side, side),
        frame.mean(x1, y1, side, side),
    ]
}

fn assert_card(relative: &str) -> Rendered {
    let rendered = render(relative);
    let [tl, tr, bl, br] = corners(&rendered);
    assert!(is_red(tl), "{relative}: top-left {tl:?} is not red");
    assert!(is_green(tr), "{relative}: top-right {tr:?} is not green");
    assert!(is_blue(bl), "{relative}: bottom-left {bl:?} is not blue");
    assert!(
        is_yellow(br),
        "{relative}: bottom-right {br:?} is not yellow"
    );
    rendered
}

macro_rules! card_trials {
    ($($name:ident: $file:literal, $format:ident;)*) => {
        $(
            #[test]
            fn $name() {
                let rendered = assert_card($file);
                assert_eq!(rendered.format, Format::$format);
                assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
            }
        )*
    };
}

card_trials! {
    cmyk_jpeg_has_true_colours: "edge/cmyk.jpg", Jpeg;
    icc_swapped_profile_is_applied: "edge/icc-swapped-red-green.jpg", Jpeg;
    icc_adobe_rgb_card: "edge/icc-adobergb.jpg", Jpeg;
    uppercase_extension: "edge/UPPERCASE.JPG", Jpeg;
    jpeg_extension: "edge/lowercase.jpeg", Jpeg;
    unicode_file_name: "edge/été 2023 – Ünïcødé (copy).jpg", Jpeg;
    nested_folder: "edge/nested/deeper/nested.jpg", Jpeg;
    png_16_bit: "edge/rgb16.png", Png;
    webp: "edge/photo.webp", WebP;
    tiff_lzw: "edge/photo.tiff", Tiff;
    bmp_24_bit: "edge/photo.bmp", Bmp;
    png_named_jpg_is_decoded_by_content: "edge/actually-png.jpg", Png;
}

#[test]
fn adobe_rgb_profile_gives_the_srgb_colour() {
    let [tl, ..] = corners(&render("edge/icc-adobergb.jpg"));
    // Documented: (224, 32, 32) with the profile applied, (191, 37, 37) if read as sRGB.
    let expected = [224.0, 32.0, 32.0];
    for c in 0..3 {
        assert!(
            (tl[c] - expected[c]).abs() < 10.0,
            "top-left {tl:?}, expected about {expected:?}"
        );
    }
}

#[test]
fn grayscale_jpeg_stays_grey() {
    let rendered = render("edge/grayscale.jpg");
    let frame = decode(&rendered.frame.jpeg);
    for (x, y) in [(300, 100), (960, 540), (1500, 900), (960, 50)] {
        let [r, g, b] = frame.pixel(x, y);
        assert!(
            r.abs_diff(g) <= 3 && g.abs_diff(b) <= 3,
            "({x},{y}) = {r},{g},{b}"
        );
    }
}

#[test]
fn alpha_png_is_black_where_transparent() {
    let rendered = render("edge/alpha.png");
    assert_eq!(rendered.format, Format::Png);
    let frame = decode(&rendered.frame.jpeg);
    let place = placement(rendered.source_size, HD);
    let sum = |c: [f64; 3]| c.iter().sum::<f64>();
    // The left edge is fully transparent, and so is the disc in the middle.
    let left = frame.mean(place.x + 2, 400, 10, 280);
    assert!(sum(left) < 15.0, "left edge {left:?}");
    let disc = frame.mean(940, 520, 40, 40);
    assert!(sum(disc) < 15.0, "centre disc {disc:?}");
    // The right edge is opaque card.
    let right = frame.mean(place.x + place.size.width - 60, 400, 40, 280);
    assert!(sum(right) > 150.0, "right edge {right:?}");
}

#[test]
fn one_pixel_images_fill_the_frame_height() {
    for (file, check) in [
        ("edge/1x1.jpg", is_red as fn([f64; 3]) -> bool),
        ("edge/1x1.png", is_green),
    ] {
        let rendered = render(file);
        assert_eq!(
            rendered.source_size,
            Size {
                width: 1,
                height: 1
            }
        );
        let frame = decode(&rendered.frame.jpeg);
        assert!(check(frame.mean(430, 10, 1060, 1060)), "{file}: square");
        let (x, y, w, h) = frame.content_box(24).expect("not all black");
        assert!(
            x.abs_diff(420) <= 2 && w.abs_diff(1080) <= 4 && (y, h) == (0, 1080),
            "{file}: {x}+{w}"
        );
    }
}

#[test]
fn panorama_is_a_thin_band() {
    let rendered = render("edge/panorama-12000x1500.jpg");
    let frame = decode(&rendered.frame.jpeg);
    let (x, y, w, h) = frame.content_box(24).expect("not all black");
    assert_eq!((x, w), (0, 1920));
    assert!(
        (418..=422).contains(&y) && (238..=242).contains(&h),
        "band {y}+{h}"
    );
}

#[test]
fn long_screenshot_is_a_thin_column() {
    let rendered = render("edge/tall-screenshot-1080x6000.png");
    let frame = decode(&rendered.frame.jpeg);
    let (x, y, w, h) = frame.content_box(24).expect("not all black");
    assert_eq!((y, h), (0, 1080));
    assert!(
        (861..=865).contains(&x) && (192..=196).contains(&w),
        "column {x}+{w}"
    );
}

#[test]
fn progressive_jpeg_renders_upright_portrait() {
    let rendered = render("edge/progressive.jpg");
    assert_eq!(
        rendered.source_size,
        Size {
            width: 1500,
            height: 2000
        }
    );
    let frame = decode(&rendered.frame.jpeg);
    let (x, _, w, h) = frame.content_box(24).expect("a photo");
    assert!(
        (808..=812).contains(&w) && h >= 1070 && (553..=557).contains(&x),
        "{x}+{w}x{h}"
    );
}

#[test]
fn animated_gif_shows_its_first_frame() {
    use image::AnimationDecoder;
    let rendered = assert_card("edge/animated.gif");
    assert_eq!(rendered.format, Format::Gif);
    let frame = decode(&rendered.frame.jpeg);
    let place = placement(rendered.source_size, HD);
    // The frames differ only in their label ("red", "green", "blue") in the middle.
    let label = |d: &Decoded, x0: u32, y0: u32, w: u32, h: u32| {
        d.grid(x0 + w / 4, y0 + h * 2 / 5, w / 2, h / 5, 16, 4)
    };
    let ours = label(
        &frame,
        place.x,
        place.y,
        place.size.width,
        place.size.height,
    );
    let bytes = std::fs::read(fixture("edge/animated.gif")).expect("read");
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).expect("gif");
    let frames: Vec<_> = decoder.into_frames().collect_frames().expect("frames");
    assert_eq!(frames.len(), 3);
    let distances: Vec<f64> = frames
        .iter()
        .map(|f| {
            let rgba = f.buffer();
            let d = Decoded {
                width: rgba.width(),
                height: rgba.height(),
                rgb: rgba.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect(),
            };
            grid_distance(&ours, &label(&d, 0, 0, d.width, d.height))
        })
        .collect();
    assert!(
        distances[0] < distances[1] && distances[0] < distances[2],
        "distances to frames 1, 2, 3: {distances:?}"
    );
}

#[test]
fn corrupt_exif_is_shown_as_stored_with_a_warning() {
    let rendered = assert_card("edge/bad-exif.jpg");
    assert!(
        matches!(&rendered.warnings[..], [Warning::BadExif(_)]),
        "{:?}",
        rendered.warnings
    );
}

#[test]
fn hidden_files_still_render_when_asked_for_directly() {
    // Discovery skips them; rendering one explicitly works like any photo.
    assert_card("edge/.hidden.jpg");
}

#[test]
fn truncated_jpeg_is_skipped_as_truncated() {
    assert!(matches!(
        render_error("edge/truncated.jpg"),
        Error::Truncated(_)
    ));
}

#[test]
fn empty_and_non_image_files_are_not_images() {
    for file in [
        "edge/empty.jpg",
        "edge/not-an-image.jpg",
        "edge/._IMG_0001.JPG",
    ] {
        let e = render_error(file);
        assert!(matches!(e, Error::NotAnImage(_)), "{file}: {e}");
    }
}

#[test]
fn heic_is_unsupported_with_a_clear_message() {
    let e = render_error("edge/iphone-IMG_5195.HEIC");
    assert!(
        matches!(&e, Error::Unsupported(m) if m.contains("HEIC")),
        "{e}"
    );
}

#[test]
fn bombs_are_refused_from_the_header() {
    for (file, (w, h)) in [
        ("edge/bomb-60000x60000.png", (60_000, 60_000)),
        ("edge/bomb-65500x65500.jpg", (65_500, 65_500)),
    ] {
        let started = Instant::now();
        let e = render_error(file);
        // A generous bound: decoding would take minutes and gigabytes; the check takes
        // microseconds. Memory is checked in tests/render_limits.rs.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{file} took {:?}",
            started.elapsed()
        );
        match e {
            Error::TooLarge {
                width,
                height,
                limit,
                ..
            } => {
                assert_eq!((width, height), (w, h), "{file}");
                assert_eq!(limit, 100_000_000);
            }
            other => panic!("{file}: {other}"),
        }
    }
}

#[test]
fn camera_photos_render_upright() {
    // (file, shown size): the content of each frame has the shown aspect ratio.
    let cases = [
        ("camera/Leica T (Typ 701).jpg", (3264, 4928)),
        ("camera/Apple iPhone 5.jpg", (3264, 2448)),
        ("camera/Samsung SM-J327T1.jpg", (1932, 2576)),
        ("camera/Blackberry Z10.jpg", (1836, 3264)),
        ("camera/Oppo R7 Plus.jpg", (3120, 4160)),
        ("camera/Kodak PIXPRO FZ201.jpg", (4608, 3456)),
        ("camera/HMD_Nokia_8.3_5G.jpg", (4608, 1976)),
        ("camera/Reconyx_HC500_Hyperfire.jpg", (2048, 1536)),
    ];
    for (file, (w, h)) in cases {
        let rendered = render(file);
        assert_eq!(
            rendered.source_size,
            Size {
                width: w,
                height: h
            },
            "{file}"
        );
        assert!(
            rendered.warnings.is_empty(),
            "{file}: {:?}",
            rendered.warnings
        );
        if file.contains("Kodak") {
            continue; // the moon on black: no content box to measure
        }
        let place = placement(rendered.source_size, HD);
        let frame = decode(&rendered.frame.jpeg);
        // JPEG ringing spills into the bars up to the edge of a 16-pixel MCU; a photo shown
        // turned would be off by hundreds of pixels.
        let (x, _, cw, _) = frame.content_box(8).expect("a photo");
        assert!(
            x.abs_diff(place.x) <= 16 && cw.abs_diff(place.size.width) <= 32,
            "{file}: content {x}+{cw}, expected {}+{}",
            place.x,
            place.size.width
        );
    }
}

#[test]
fn output_settings_are_honoured() {
    let spec = Spec {
        size: Size {
            width: 640,
            height: 480,
        },
        quality: 60,
        background: Rgb([255, 255, 255]),
    };
    let renderer = Renderer::new(spec, Default::default());
    let rendered = renderer
        .render_file(&fixture("exif-orientation/Portrait_6.jpg"))
        .expect("renders");
    assert_frame(&rendered.frame.jpeg, spec.size);
    let frame = decode(&rendered.frame.jpeg);
    // A portrait in a 4:3 frame: white bars left and right.
    assert!(
        frame.pixel(5, 240).iter().all(|&v| v > 245),
        "{:?}",
        frame.pixel(5, 240)
    );
    assert!(frame.pixel(634, 240).iter().all(|&v| v > 245));
    let q85 = Renderer::new(
        Spec {
            quality: 85,
            ..spec
        },
        Default::default(),
    )
    .render_file(&fixture("exif-orientation/Portrait_6.jpg"))
    .expect("renders");
    assert!(
        rendered.frame.jpeg.len() < q85.frame.jpeg.len(),
        "lower quality, smaller file"
    );
}

/// A Display P3 photo (as phones write them) comes out in sRGB. The fixture is made here:
/// Little CMS (an engine independent of the one framecast uses) converts a known sRGB colour
/// into P3, and the JPEG carries a P3 profile built by Little CMS too.
#[test]
fn display_p3_photo_comes_out_in_srgb() {
    use lcms2::{CIExyY, CIExyYTRIPLE, Intent, PixelFormat, Profile, ToneCurve, Transform};
    let xy = |x, y| CIExyY { x, y, Y: 1.0 };
    let srgb_curve =
        ToneCurve::new_parametric(4, &[2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045])
            .expect("curve");
    let p3 = Profile::new_rgb(
        &xy(0.3127, 0.3290),
        &CIExyYTRIPLE {
            Red: xy(0.680, 0.320),
            Green: xy(0.265, 0.690),
            Blue: xy(0.150, 0.060),
        },
        &[&srgb_curve, &srgb_curve, &srgb_curve],
    )
    .expect("P3 profile");
    let to_p3 = Transform::new(
        &Profile::new_srgb(),
        PixelFormat::RGB_8,
        &p3,
        PixelFormat::RGB_8,
        Intent::RelativeColorimetric,
    )
    .expect("transform");
    let srgb: [u8; 3] = [200, 60, 40];
    let mut in_p3 = [[0u8; 3]];
    to_p3.transform_pixels(&[srgb], &mut in_p3);
    let in_p3 = in_p3[0];
    assert!(
        (0..3).any(|c| srgb[c].abs_diff(in_p3[c]) > 12),
        "the P3 numbers {in_p3:?} must differ from the sRGB ones for the test to mean anything"
    );

    let (w, h) = (64u16, 48u16);
    let pixels: Vec<u8> = in_p3.repeat(w as usize * h as usize);
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 100);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    encoder
        .add_icc_profile(&p3.icc().expect("icc bytes"))
        .expect("profile fits");
    encoder
        .encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .expect("encode");

    let rendered = renderer().render(&jpeg).expect("renders");
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let frame = decode(&rendered.frame.jpeg);
    let centre = frame.mean(900, 500, 120, 80);
    for c in 0..3 {
        assert!(
            (centre[c] - srgb[c] as f64).abs() < 5.0,
            "got {centre:?}, expected about {srgb:?} (P3 numbers {in_p3:?})"
        );
    }
}

/// Every file of the fixture set, found the way a library is walked, gets its documented
/// outcome: a clean frame of exactly the output size, or the documented typed error.
#[test]
fn every_fixture_has_its_documented_outcome() {
    let found = framecast::library::scan(&[fixture("")], &[]).expect("walks");
    let expected_failures = [
        ("edge/truncated.jpg", "truncated"),
        ("edge/empty.jpg", "not an image"),
        ("edge/not-an-image.jpg", "not an image"),
        ("edge/bomb-60000x60000.png", "too large"),
        ("edge/bomb-65500x65500.jpg", "too large"),
        ("edge/iphone-IMG_5195.HEIC", "unsupported format"),
    ];
    let renderer = renderer();
    let mut rendered = 0;
    for photo in &found.photos {
        let name = photo.relative.to_string_lossy();
        let expected = expected_failures.iter().find(|(f, _)| *f == name);
        match (renderer.render_file(photo.path()), expected) {
            (Ok(r), None) => {
                assert_frame(&r.frame.jpeg, HD);
                rendered += 1;
            }
            (Err(e), Some((_, reason))) => {
                assert!(e.to_string().contains(reason), "{name}: {e}");
            }
            (Ok(_), Some(_)) => panic!("{name} rendered, but should fail"),
            (Err(e), None) => panic!("{name}: {e}"),
        }
    }
    assert_eq!(
        found.photos.len(),
        8 + 18 + 27,
        "every fixture but the hidden ones"
    );
    assert_eq!(rendered, found.photos.len() - expected_failures.len());
}
