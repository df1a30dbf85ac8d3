//! Criterion benchmarks of the render pipeline on a real 16 MP camera photo (Leica T, 4928×3264,
//! EXIF orientation 8) rendered for a 1920×1080 frame: each step on its own, the whole
//! pipeline in each fill mode, and the candidates the design chose between (JPEG decoders,
//! colour engines); and an iPhone HEIC photo, decoded and rendered.
//!
//! `make bench` runs it; `cargo bench --bench render -- decode` runs one group,
//! `cargo bench --bench render -- fill_modes` the fill modes.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use framecast::render::decode::{decode, jpeg_scale};
use framecast::render::orient::{self, Orientation};
use framecast::render::{Fit, Limits, Renderer, Size, Spec, encode, fit};

const HD: Size = Size {
    width: 1920,
    height: 1080,
};

fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(fixture(relative)).expect("fixture present")
}

const PHOTO: &str = "camera/Leica T (Typ 701).jpg";

/// The JPEG decoders considered, each at the best it offers for a 1080p frame: libjpeg-turbo
/// and jpeg-decoder can scale in the DCT domain, zune-jpeg (the `image` crate's JPEG decoder)
/// always decodes at full size.
fn decoders(c: &mut Criterion) {
    report_decoder_correctness();
    let bytes = read(PHOTO);
    let stored = Size {
        width: 4928,
        height: 3264,
    };
    let eighths = jpeg_scale(stored, Orientation::Rotate270, HD, Fit::Letterbox);
    let mut group = c.benchmark_group("decode_16mp");
    group.sample_size(20);
    group.bench_function("libjpeg-turbo full", |b| {
        let limits = Limits::default();
        let big = Size {
            width: 65535,
            height: 65535,
        };
        b.iter(|| {
            decode(
                black_box(&bytes),
                big,
                Fit::Letterbox,
                &limits,
                &mut Vec::new(),
                &|| false,
            )
            .expect("decodes")
        })
    });
    group.bench_function(format!("libjpeg-turbo {eighths}/8 (framecast)"), |b| {
        let limits = Limits::default();
        b.iter(|| {
            decode(
                black_box(&bytes),
                HD,
                Fit::Letterbox,
                &limits,
                &mut Vec::new(),
                &|| false,
            )
            .expect("decodes")
        })
    });
    group.bench_function("jpeg-decoder full", |b| {
        b.iter(|| {
            jpeg_decoder::Decoder::new(black_box(&bytes[..]))
                .decode()
                .expect("decodes")
        })
    });
    group.bench_function("jpeg-decoder scaled", |b| {
        b.iter(|| {
            let mut d = jpeg_decoder::Decoder::new(black_box(&bytes[..]));
            d.read_info().expect("header");
            d.scale(1232, 816).expect("scale");
            d.decode().expect("decodes")
        })
    });
    group.bench_function("zune-jpeg full", |b| {
        b.iter(|| {
            zune_jpeg::JpegDecoder::new(std::io::Cursor::new(black_box(&bytes[..])))
                .decode()
                .expect("decodes")
        })
    });
    group.finish();
}

/// Prints which valid JPEG fixtures each candidate decoder fails on (speed alone does not
/// choose a decoder). framecast's own results are checked by the test suite.
fn report_decoder_correctness() {
    let mut files = Vec::new();
    for dir in ["camera", "edge", "exif-orientation"] {
        for entry in std::fs::read_dir(fixture(dir)).expect("fixtures").flatten() {
            let name = entry.file_name().to_string_lossy().to_lowercase();
            let broken = ["truncated", "empty", "not-an-image", "bomb", "actually-png"];
            if (name.ends_with(".jpg") || name.ends_with(".jpeg"))
                && !name.starts_with('.')
                && !broken.iter().any(|b| name.contains(b))
            {
                files.push(entry.path());
            }
        }
    }
    let mut failures = [(); 3].map(|_| Vec::new());
    for path in &files {
        let bytes = std::fs::read(path).expect("read");
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        if decode(
            &bytes,
            HD,
            Fit::Letterbox,
            &Limits::default(),
            &mut Vec::new(),
            &|| false,
        )
        .is_err()
        {
            failures[0].push(name.clone());
        }
        let mut jd = jpeg_decoder::Decoder::new(&bytes[..]);
        match jd.decode() {
            // jpeg-decoder returns CMYK samples without converting them.
            Ok(_)
                if jd.info().map(|i| i.pixel_format) == Some(jpeg_decoder::PixelFormat::CMYK32) =>
            {
                failures[1].push(format!("{name} (CMYK left unconverted)"))
            }
            Ok(_) => {}
            Err(e) => failures[1].push(format!("{name} ({e})")),
        }
        if let Err(e) = zune_jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes[..])).decode() {
            failures[2].push(format!("{name} ({e:?})"));
        }
    }
    eprintln!(
        "decoder correctness on {} valid JPEG fixtures:",
        files.len()
    );
    for (decoder, failed) in ["libjpeg-turbo", "jpeg-decoder", "zune-jpeg"]
        .iter()
        .zip(&failures)
    {
        eprintln!(
            "  {decoder}: {} failed or incomplete {:?}",
            failed.len(),
            failed
        );
    }
    eprintln!("  (ICC profiles are applied by framecast after decoding, for every decoder alike)");
}

/// The colour engines considered, on the conversion a camera's Adobe RGB photo needs at the
/// size it is decoded to for a 1080p frame (about 2 MP).
fn colour_engines(c: &mut Criterion) {
    let bytes = read("edge/icc-adobergb.jpg");
    let icc = icc_profile(&bytes);
    let pixels: Vec<u8> = (0..1632u32 * 1232)
        .flat_map(|i| [(i % 251) as u8, (i % 241) as u8, (i % 239) as u8])
        .collect();
    let mut group = c.benchmark_group("icc_adobe_rgb_2mp");
    group.sample_size(20);
    group.bench_function("moxcms (framecast)", |b| {
        let t = moxcms_to_srgb(&icc);
        let mut out = vec![0u8; pixels.len()];
        b.iter(|| t.transform(black_box(&pixels), &mut out).expect("runs"))
    });
    group.bench_function("moxcms incl. profile parse", |b| {
        let mut out = vec![0u8; pixels.len()];
        b.iter(|| {
            moxcms_to_srgb(black_box(&icc))
                .transform(&pixels, &mut out)
                .expect("runs")
        })
    });
    group.bench_function("lcms2", |b| {
        use lcms2::{Intent, PixelFormat, Profile, Transform};
        let src = Profile::new_icc(&icc).expect("profile");
        let t: Transform<[u8; 3], [u8; 3]> = Transform::new(
            &src,
            PixelFormat::RGB_8,
            &Profile::new_srgb(),
            PixelFormat::RGB_8,
            Intent::Perceptual,
        )
        .expect("transform");
        let src_px: &[[u8; 3]] = bytemuck_rgb(&pixels);
        let mut out = vec![[0u8; 3]; src_px.len()];
        b.iter(|| t.transform_pixels(black_box(src_px), &mut out))
    });
    group.finish();
}

/// Parses `icc` and builds its RGB → sRGB transform, as framecast does for each photo.
fn moxcms_to_srgb(icc: &[u8]) -> std::sync::Arc<moxcms::Transform8BitExecutor> {
    use moxcms::{ColorProfile, Layout, TransformOptions};
    ColorProfile::new_from_slice(icc)
        .expect("profile")
        .create_transform_8bit(
            Layout::Rgb,
            &ColorProfile::new_srgb(),
            Layout::Rgb,
            TransformOptions::default(),
        )
        .expect("transform")
}

fn bytemuck_rgb(bytes: &[u8]) -> &[[u8; 3]] {
    let (chunks, rest) = bytes.as_chunks::<3>();
    assert!(rest.is_empty());
    chunks
}

fn icc_profile(jpeg: &[u8]) -> Vec<u8> {
    // The profile of the fixture fits in one APP2 segment.
    let at = jpeg
        .windows(12)
        .position(|w| w == b"ICC_PROFILE\0")
        .expect("has a profile");
    let len = u16::from_be_bytes([jpeg[at - 2], jpeg[at - 1]]) as usize;
    jpeg[at + 14..at - 2 + len].to_vec()
}

/// Each step of the pipeline on the photo, and the whole of it.
fn steps(c: &mut Criterion) {
    let bytes = read(PHOTO);
    let spec = Spec::default();
    let limits = Limits::default();
    let decoded = decode(
        &bytes,
        HD,
        Fit::Letterbox,
        &limits,
        &mut Vec::new(),
        &|| false,
    )
    .expect("decodes");
    let orientation = decoded.orientation;
    let upright = orient::apply(decoded.pixels.clone(), orientation);
    let canvas = fit::fit(&upright, &spec).expect("fits");

    let mut group = c.benchmark_group("pipeline_16mp_to_1080p");
    group.sample_size(20);
    group.bench_function("decode", |b| {
        b.iter(|| {
            decode(
                black_box(&bytes),
                HD,
                Fit::Letterbox,
                &limits,
                &mut Vec::new(),
                &|| false,
            )
            .expect("decodes")
        })
    });
    group.bench_function("orient", |b| {
        b.iter(|| orient::apply(black_box(decoded.pixels.clone()), orientation))
    });
    group.bench_function("fit", |b| {
        b.iter(|| fit::fit(black_box(&upright), &spec).expect("fits"))
    });
    group.bench_function("encode", |b| {
        b.iter(|| encode::encode(black_box(&canvas), spec.quality).expect("encodes"))
    });
    let renderer = Renderer::new(spec, limits);
    group.bench_function("whole", |b| {
        b.iter(|| renderer.render(black_box(&bytes)).expect("renders"))
    });
    group.finish();
}

/// The whole pipeline in each fill mode, on the same photo (a portrait once upright, so
/// letterbox leaves bars on a 1080p frame and the other modes have something to do). Blur is
/// meant to cost at most 25% more than letterbox; cover decodes at a larger DCT scale (it needs
/// the photo's width at frame resolution); a pair frame decodes two photos (here the same one
/// twice). The fit step alone shows where blur's extra time goes.
fn fill_modes(c: &mut Criterion) {
    let bytes = read(PHOTO);
    let limits = Limits::default();
    let spec = |fit| Spec {
        fit,
        ..Spec::default()
    };
    report_fill_cpu_time(&bytes);
    let mut group = c.benchmark_group("fill_modes_16mp_to_1080p");
    group.sample_size(20);
    for fit in [Fit::Letterbox, Fit::Blur, Fit::Cover] {
        let renderer = Renderer::new(spec(fit), limits);
        group.bench_function(format!("whole {fit}"), |b| {
            b.iter(|| renderer.render(black_box(&bytes)).expect("renders"))
        });
    }
    let pair = Renderer::new(spec(Fit::Pair), limits);
    assert!(
        pair.render_pair(&bytes, &bytes)
            .expect("renders")
            .second
            .is_some(),
        "the photo is a portrait, so it pairs with itself"
    );
    group.bench_function("whole pair (two photos)", |b| {
        b.iter(|| {
            pair.render_pair(black_box(&bytes), &bytes)
                .expect("renders")
        })
    });
    let upright = pair.picture(&bytes).expect("decodes").pixels;
    for fit in [Fit::Letterbox, Fit::Blur] {
        let spec = spec(fit);
        group.bench_function(format!("fit {fit}"), |b| {
            b.iter(|| fit::fit(black_box(&upright), &spec).expect("fits"))
        });
    }
    group.finish();
}

/// The CPU time of one thread so far, in nanoseconds (Linux). Unlike wall time it barely moves
/// when other processes load the machine, which on a shared 2-core machine is the difference
/// between a comparison and noise.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Prints the median CPU time of a whole render in each fill mode, the modes taking turns so
/// that they all meet the same machine, and blur's overhead over letterbox.
fn report_fill_cpu_time(bytes: &[u8]) {
    const ROUNDS: usize = 21;
    if thread_cpu_ns().is_none() {
        return;
    }
    let modes = [Fit::Letterbox, Fit::Blur, Fit::Cover, Fit::Pair];
    let renderers = modes.map(|fit| {
        let spec = Spec {
            fit,
            ..Spec::default()
        };
        Renderer::new(spec, Limits::default())
    });
    let run = |r: &Renderer| {
        if r.spec().fit == Fit::Pair {
            r.render_pair(bytes, bytes).expect("renders").frame
        } else {
            r.render(bytes).expect("renders").frame
        }
    };
    renderers.iter().for_each(|r| drop(run(r)));
    let mut times = modes.map(|_| Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        for (r, times) in renderers.iter().zip(&mut times) {
            let start = thread_cpu_ns().unwrap_or(0);
            black_box(run(r));
            times.push(thread_cpu_ns().unwrap_or(0).saturating_sub(start) as f64 / 1e6);
        }
    }
    let medians = times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    });
    eprintln!("fill modes, CPU time of a whole render (median of {ROUNDS}, modes taking turns):");
    for (fit, ms) in modes.iter().zip(medians) {
        let what = if *fit == Fit::Pair {
            " (two photos)"
        } else {
            ""
        };
        eprintln!(
            "  {fit}{what}: {ms:.1} ms, {:+.1}% against letterbox",
            (ms / medians[0] - 1.0) * 100.0
        );
    }
}

/// An iPhone HEIC photo (8.5 MP, a grid of HEVC tiles with a Display P3 profile) to a 1080p
/// frame: HEVC has no reduced-size decode, so decoding the whole picture is most of the cost.
fn heic(c: &mut Criterion) {
    let bytes = read("edge/iphone-IMG_5195.HEIC");
    let spec = Spec::default();
    let limits = Limits::default();
    let mut group = c.benchmark_group("heic_8mp_to_1080p");
    group.sample_size(10);
    group.bench_function("decode", |b| {
        b.iter(|| {
            decode(
                black_box(&bytes),
                HD,
                Fit::Letterbox,
                &limits,
                &mut Vec::new(),
                &|| false,
            )
            .expect("decodes")
        })
    });
    let renderer = Renderer::new(spec, limits);
    group.bench_function("whole", |b| {
        b.iter(|| renderer.render(black_box(&bytes)).expect("renders"))
    });
    group.finish();
}

criterion_group!(benches, decoders, colour_engines, steps, fill_modes, heic);
criterion_main!(benches);
