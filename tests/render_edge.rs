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
    assert_card_colours(&rendered, relative);
    rendered
}

fn assert_card_colours(rendered: &Rendered, relative: &str) {
    let [tl, tr, bl, br] = corners(rendered);
    assert!(is_red(tl), "{relative}: top-left {tl:?} is not red");
    assert!(is_green(tr), "{relative}: top-right {tr:?} is not green");
    assert!(is_blue(bl), "{relative}: bottom-left {bl:?} is not blue");
    assert!(
        is_yellow(br),
        "{relative}: bottom-right {br:?} is not yellow"
    );
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

/// libjpeg recovers from these and says so with a warning; the photo is shown and the
/// warning reported, as any viewer would.
#[test]
fn recoverable_jpeg_damage_is_a_warning() {
    let adobe = std::fs::read(fixture("edge/icc-adobergb.jpg")).expect("fixture");
    let bad_icc = common::hostile::jpeg_with_bad_icc_chunk(&adobe).expect("has an ICC chunk");
    let rendered = renderer().render(&bad_icc).expect("renders");
    assert_frame(&rendered.frame.jpeg, HD);
    assert!(
        matches!(&rendered.warnings[..], [Warning::BadIccProfile(why)] if why.contains("malformed ICC")),
        "{:?}",
        rendered.warnings
    );

    let card = std::fs::read(fixture("edge/grayscale.jpg")).expect("fixture");
    let padded = common::hostile::jpeg_with_extraneous_bytes(&card);
    let rendered = renderer().render(&padded).expect("renders");
    assert_frame(&rendered.frame.jpeg, HD);
    assert!(
        matches!(&rendered.warnings[..], [Warning::CorruptData(why)] if why.contains("extraneous bytes")),
        "{:?}",
        rendered.warnings
    );
    // The picture is whole: the same frame as from the undamaged file.
    let clean = renderer().render(&card).expect("renders");
    assert_eq!(rendered.frame.jpeg, clean.frame.jpeg);
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

/// The iPhone photo is a portrait grid image; `tests/render_heif.rs` compares it with an
/// independent decode and covers every orientation.
#[test]
fn iphone_heic_renders_as_a_portrait() {
    let rendered = render("edge/iphone-IMG_5195.HEIC");
    assert_eq!(rendered.format, Format::Heic);
    assert_eq!(
        rendered.source_size,
        Size {
            width: 2566,
            height: 3313
        }
    );
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let place = placement(rendered.source_size, HD);
    let frame = decode(&rendered.frame.jpeg);
    let (x, _, w, _) = frame.content_box(8).expect("a photo");
    assert!(
        x.abs_diff(place.x) <= 16 && w.abs_diff(place.size.width) <= 32,
        "content {x}+{w}, expected {}+{}",
        place.x,
        place.size.width
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
        ..Spec::default()
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

/// The ink values of the CMYK test card as `cmyk.jpg` stores them, read by `jpeg-decoder`
/// (which returns them as amounts of ink, 0 = none): `(width, height, CMYK samples)`.
fn cmyk_card() -> (u32, u32, Vec<u8>) {
    let bytes = std::fs::read(fixture("edge/cmyk.jpg")).expect("read");
    let mut decoder = jpeg_decoder::Decoder::new(&bytes[..]);
    let cmyk = decoder.decode().expect("decodes");
    let info = decoder.info().expect("header");
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::CMYK32);
    (info.width as u32, info.height as u32, cmyk)
}

/// A TIFF file of one picture, with an ICC profile if given.
fn tiff_file<C: tiff::encoder::colortype::ColorType<Inner = u8>>(
    width: u32,
    height: u32,
    samples: &[u8],
    icc: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut encoder = tiff::encoder::TiffEncoder::new(&mut out).expect("encoder");
    let mut image = encoder.new_image::<C>(width, height).expect("image");
    if let Some(icc) = icc {
        image
            .encoder()
            .write_tag(tiff::tags::Tag::IccProfile, icc)
            .expect("profile tag");
    }
    image.write_data(samples).expect("write");
    out.into_inner()
}

/// The picture of a frame, without the letterbox bars, as a 24×16 grid of mean colours.
fn picture_grid(rendered: &Rendered) -> Vec<[f64; 3]> {
    let frame = decode(&rendered.frame.jpeg);
    let place = placement(rendered.source_size, HD);
    frame.grid(
        place.x,
        place.y,
        place.size.width,
        place.size.height,
        24,
        16,
    )
}

fn whole_grid(width: u32, height: u32, rgb: Vec<u8>) -> Vec<[f64; 3]> {
    Decoded { width, height, rgb }.grid(0, 0, width, height, 24, 16)
}

/// A CMYK TIFF without a profile gets the same conversion as the CMYK JPEG card.
#[test]
fn cmyk_tiff_matches_the_cmyk_jpeg() {
    let (w, h, cmyk) = cmyk_card();
    let tiff = tiff_file::<tiff::encoder::colortype::CMYK8>(w, h, &cmyk, None);
    let rendered = renderer().render(&tiff).expect("renders");
    assert_frame(&rendered.frame.jpeg, HD);
    assert_eq!(rendered.format, Format::Tiff);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_card_colours(&rendered, "CMYK TIFF");
    let distance = grid_distance(
        &picture_grid(&rendered),
        &picture_grid(&render("edge/cmyk.jpg")),
    );
    assert!(distance < 1.5, "{distance:.2} from the CMYK JPEG's frame");
}

/// Ghostscript's CMYK press profile (Debian's `libgs-common`, installed by
/// `scripts/deps.sh test`): a real lookup-table profile, under a free license.
const PRESS_PROFILE: &str = "/usr/share/color/icc/ghostscript/default_cmyk.icc";

/// A CMYK TIFF carrying a press profile is converted through it: the frame matches Little
/// CMS's conversion of the same ink values with the same profile, which differs visibly from
/// the profile-less formula.
#[test]
fn cmyk_tiff_profile_is_applied() {
    use lcms2::{Intent, PixelFormat, Profile, Transform};
    let icc = std::fs::read(PRESS_PROFILE)
        .unwrap_or_else(|e| panic!("{PRESS_PROFILE} ({e}): scripts/deps.sh test installs it"));
    let (w, h, cmyk) = cmyk_card();
    let tiff = tiff_file::<tiff::encoder::colortype::CMYK8>(w, h, &cmyk, Some(&icc));
    let rendered = renderer().render(&tiff).expect("renders");
    assert_frame(&rendered.frame.jpeg, HD);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    // No card-colour check here: on press the card's blue corner (full cyan and magenta ink)
    // really is the dull violet-blue the profile says, not the naive formula's pure blue.

    // Little CMS takes ink percentages for CMYK_8: 0 = no ink, as TIFF stores them.
    let to_srgb: Transform<[u8; 4], [u8; 3]> = Transform::new(
        &Profile::new_icc(&icc).expect("profile"),
        PixelFormat::CMYK_8,
        &Profile::new_srgb(),
        PixelFormat::RGB_8,
        Intent::Perceptual,
    )
    .expect("transform");
    let (inks, _) = cmyk.as_chunks::<4>();
    let mut expected = vec![[0u8; 3]; inks.len()];
    to_srgb.transform_pixels(inks, &mut expected);
    let expected = whole_grid(w, h, expected.concat());
    let ours = picture_grid(&rendered);
    let distance = grid_distance(&ours, &expected);
    let naive = grid_distance(&picture_grid(&render("edge/cmyk.jpg")), &expected);
    eprintln!("press profile: {distance:.2} from Little CMS; the naive formula {naive:.2}");
    assert!(distance < 3.0, "{distance:.2} from Little CMS's conversion");
    assert!(
        naive > 3.0 * distance.max(1.0),
        "naive formula only {naive:.2} away"
    );
}

/// A linear-light grey profile (gamma 1.0), made by Little CMS: its mid grey is far lighter
/// in sRGB than the same number read as sRGB, so honouring the profile is visible.
fn linear_gray_profile() -> lcms2::Profile {
    let d50 = lcms2::CIExyY {
        x: 0.3457,
        y: 0.3585,
        Y: 1.0,
    };
    lcms2::Profile::new_gray(&d50, &lcms2::ToneCurve::new(1.0)).expect("grey profile")
}

/// A grey ramp (left to right) with the sRGB values Little CMS gives it through `profile`.
fn gray_ramp(profile: &lcms2::Profile) -> (u32, u32, Vec<u8>, Vec<u8>) {
    use lcms2::{Intent, PixelFormat, Profile, Transform};
    let (w, h) = (512u32, 256u32);
    let gray: Vec<u8> = (0..w * h).map(|i| ((i % w) / 2) as u8).collect();
    let to_srgb: Transform<u8, [u8; 3]> = Transform::new(
        profile,
        PixelFormat::GRAY_8,
        &Profile::new_srgb(),
        PixelFormat::RGB_8,
        Intent::Perceptual,
    )
    .expect("transform");
    let mut rgb = vec![[0u8; 3]; gray.len()];
    to_srgb.transform_pixels(&gray, &mut rgb);
    (w, h, gray, rgb.concat())
}

#[test]
fn gray_icc_profiles_are_honoured_in_png_and_tiff() {
    use image::ImageEncoder;
    let profile = linear_gray_profile();
    let icc = profile.icc().expect("icc bytes");
    let (w, h, gray, expected_rgb) = gray_ramp(&profile);
    let expected = whole_grid(w, h, expected_rgb);
    let as_srgb = whole_grid(w, h, gray.iter().flat_map(|&g| [g, g, g]).collect());
    let apart = grid_distance(&expected, &as_srgb);
    assert!(apart > 20.0, "the profile must matter: only {apart:.2}");

    let mut png = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut png);
    encoder
        .set_icc_profile(icc.clone())
        .expect("PNG takes a profile");
    encoder
        .write_image(&gray, w, h, image::ExtendedColorType::L8)
        .expect("png");
    let tiff = tiff_file::<tiff::encoder::colortype::Gray8>(w, h, &gray, Some(&icc));

    for (name, bytes, format) in [("PNG", png, Format::Png), ("TIFF", tiff, Format::Tiff)] {
        let rendered = renderer().render(&bytes).expect("renders");
        assert_eq!(rendered.format, format);
        assert!(
            rendered.warnings.is_empty(),
            "{name}: {:?}",
            rendered.warnings
        );
        let distance = grid_distance(&picture_grid(&rendered), &expected);
        eprintln!("grey {name}: {distance:.2} from Little CMS ({apart:.2} if read as sRGB)");
        assert!(
            distance < 2.0,
            "{name}: {distance:.2} from Little CMS's conversion"
        );
        let frame = decode(&rendered.frame.jpeg);
        let [r, g, b] = frame.pixel(960, 540);
        assert!(
            r.abs_diff(g) <= 3 && g.abs_diff(b) <= 3,
            "{name}: grey stays grey"
        );
    }
}
