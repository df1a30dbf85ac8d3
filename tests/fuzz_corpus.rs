//! The fuzz corpus, run once through the same entry points as the fuzz targets in `fuzz/`
//! (`framecast::render::fuzz`), on stable Rust: the committed seeds (`fuzz/seeds/TARGET/`),
//! every input a fuzzer ever crashed on (`fuzz/regressions/TARGET/`), and the small test
//! photos. `make fuzz` explores further with cargo-fuzz on nightly.
//!
//! The seeds are generated from the test photos and the hostile-file generators by the
//! ignored test `write_seeds` (`cargo test --test fuzz_corpus -- --ignored`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::alloc::{Counting, SERIAL, peak_of};
use common::{fixture, hostile, segments};
use framecast::render::fuzz;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TARGETS: [&str; 4] = ["render", "exif", "icc", "containers"];

/// Test photos small enough to be worth a fuzzer's time (and `make fuzz` seeds with them).
const SMALL_PHOTO: u64 = 64 * 1024;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(files_in(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn run(target: &str, data: &[u8]) {
    match target {
        "render" => fuzz::render(data, &|f: &mut dyn FnMut()| peak_of(f).1),
        "exif" => fuzz::exif(data),
        "icc" => fuzz::icc(data),
        "containers" => fuzz::containers(data),
        other => panic!("unknown target {other}"),
    }
}

#[test]
fn the_corpus_runs_clean() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let photos: Vec<PathBuf> = files_in(&fixture(""))
        .into_iter()
        .filter(|p| fs::metadata(p).is_ok_and(|m| m.len() <= SMALL_PHOTO))
        .collect();
    for target in TARGETS {
        let mut inputs = files_in(&fuzz_dir().join("seeds").join(target));
        assert!(!inputs.is_empty(), "no seeds for {target}");
        inputs.extend(files_in(&fuzz_dir().join("regressions").join(target)));
        if matches!(target, "render" | "containers") {
            inputs.extend(photos.iter().cloned());
        }
        for input in &inputs {
            let data = fs::read(input).expect("read");
            let outcome = std::panic::catch_unwind(|| run(target, &data));
            assert!(outcome.is_ok(), "{target} fails on {}", input.display());
        }
        eprintln!("{target}: {} inputs", inputs.len());
    }
}

/// Writes the seed corpus: metadata cut out of the test photos, and small generated files,
/// hostile ones included. Run by hand when the generators change.
#[test]
#[ignore]
fn write_seeds() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let seeds = fuzz_dir().join("seeds");
    let write = |target: &str, name: &str, data: &[u8]| {
        let dir = seeds.join(target);
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join(name), data).expect("write");
    };
    // EXIF blocks and ICC profiles of the JPEG test photos (small ones only).
    for path in files_in(&fixture("")) {
        let Ok(jpeg) = fs::read(&path) else { continue };
        if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) || jpeg.len() < 4 {
            continue;
        }
        let stem = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if stem.starts_with('.') {
            continue; // the same pictures as visible ones
        }
        let name: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let segments = std::panic::catch_unwind(|| segments(&jpeg)).unwrap_or_default();
        let mut icc = Vec::new();
        for (marker, body) in &segments {
            match marker {
                0xE1 if body.starts_with(b"Exif\0\0") && body.len() <= 8192 => {
                    write("exif", &name, &body[6..]);
                }
                0xE2 if body.starts_with(b"ICC_PROFILE\0") => icc.extend_from_slice(&body[14..]),
                _ => {}
            }
        }
        if !icc.is_empty() && icc.len() <= 64 * 1024 {
            write("icc", &name, &icc);
        }
        // The headers are what the marker scan reads.
        write(
            "containers",
            &format!("{name}-head"),
            &jpeg[..jpeg.len().min(2048)],
        );
    }
    let exif = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    write("exif", "orientation-6", exif);
    let generated: Vec<(&str, Vec<u8>)> = vec![
        ("png-16x16-8", hostile::black_png(16, 16, 8, &[])),
        ("png-16x16-16", hostile::black_png(16, 16, 16, &[])),
        (
            "png-exif",
            hostile::black_png(8, 8, 8, &[hostile::png_chunk(b"eXIf", exif)]),
        ),
        (
            "png-small-iccp",
            hostile::black_png(8, 8, 8, &[hostile::iccp_bomb(4096)]),
        ),
        (
            "png-small-ztxt",
            hostile::black_png(8, 8, 8, &[hostile::ztxt_bomb(4096)]),
        ),
        (
            "png-lying-exif",
            hostile::png_with_lying_chunk(b"eXIf", 0x7FFF_FFF0),
        ),
        ("webp-1x1", hostile::webp_with(&[], None)),
        (
            "webp-exif",
            hostile::webp_with(&[(b"EXIF", &[b"Exif\0\0".as_slice(), exif].concat())], None),
        ),
        (
            "webp-lying-iccp",
            hostile::webp_with(&[], Some((b"ICCP", 0xFFFF_FFF0))),
        ),
        ("tiff-1x1", hostile::tiff_with(&[])),
        (
            "tiff-lying-icc",
            hostile::tiff_with(&[(34675, 7, 0xFFFF_FFF0, 8)]),
        ),
        ("gif-1x1", hostile::gif_with_frame((1, 1), (1, 1))),
        ("gif-big-frame", hostile::gif_with_frame((1, 1), (300, 300))),
    ];
    for (name, data) in &generated {
        write("render", name, data);
        write("containers", name, data);
    }
    let adobe = fs::read(fixture("edge/icc-adobergb.jpg")).expect("fixture");
    let bad_icc = hostile::jpeg_with_bad_icc_chunk(&adobe).expect("ICC");
    write("containers", "jpeg-bad-icc-head", &bad_icc[..4096]);
    let one = fs::read(fixture("edge/1x1.jpg")).expect("fixture");
    write(
        "render",
        "jpeg-extraneous",
        &hostile::jpeg_with_extraneous_bytes(&one),
    );
}
