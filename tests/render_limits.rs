//! Hostile files are refused, or rendered without their hostile part, with little memory: a
//! counting allocator records the peak of live heap bytes while each one is rendered. The
//! files are generated here: decompression bombs in PNG metadata, chunks and tags that declare
//! gigabytes in files of a few hundred bytes, frames larger than their screen. Then the memory
//! estimate each render starts with is checked against what rendering really takes.
//!
//! The tests take turns (`SERIAL`), so no other test's allocations are counted.

mod common;

use common::alloc::{Counting, SERIAL, peak_of};
use common::hostile::{self, png_chunk};
use common::{fixture, renderer};
use framecast::format::Format;
use framecast::render::{Error, Rendered, Renderer, Size, Spec, Warning};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1 << 20;
const GIB: u64 = 1 << 30;

#[test]
fn bombs_are_refused_with_little_memory() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let renderer = renderer();
    for file in ["edge/bomb-60000x60000.png", "edge/bomb-65500x65500.jpg"] {
        let path = fixture(file);
        let (result, peak) = peak_of(|| renderer.render_file(&path));
        assert!(
            matches!(result, Err(ref e) if matches!(e.source, Error::TooLarge { .. })),
            "{file}: {result:?}"
        );
        // Decoding would need 10.8 GB and 12.9 GB; refusing needs the file and a header.
        assert!(peak < MIB, "{file}: {peak} bytes at peak");
        eprintln!("{file}: refused with {peak} bytes at peak");
    }
}

/// What a hostile file must come to.
enum Expect {
    /// Refused with an error this predicate accepts.
    Refused(fn(&Error) -> bool),
    /// Rendered, with a warning this predicate accepts.
    Warned(fn(&Warning) -> bool),
    /// Rendered (its hostile part is never read).
    Rendered,
}

fn overrun(e: &Error) -> bool {
    matches!(e, Error::Overrun { declared, .. } if *declared > 1 << 28)
}

#[test]
fn hostile_metadata_is_bounded() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let renderer = Renderer::new(
        Spec {
            size: Size {
                width: 320,
                height: 240,
            },
            ..Spec::default()
        },
        Default::default(),
    );
    let big_icc = vec![0u8; framecast::render::MAX_METADATA_BYTES + 1];
    let cases: Vec<(&str, Vec<u8>, Expect, usize)> = vec![
        (
            // The 2 MB PNG whose profile inflates to 2 GiB.
            "PNG, iCCP inflating to 2 GiB",
            hostile::black_png(64, 48, 8, &[hostile::iccp_bomb(2 * GIB)]),
            Expect::Warned(|w| matches!(w, Warning::BadIccProfile(why) if why.contains("MiB"))),
            // The profile may inflate to the 16 MiB metadata bound (in a growing buffer) before
            // it is dropped, next to the 2 MB compressed chunk.
            40 * MIB,
        ),
        (
            "PNG, zTXt inflating to 2 GiB",
            hostile::black_png(64, 48, 8, &[hostile::ztxt_bomb(2 * GIB)]),
            Expect::Rendered,
            // Compressed text is kept as it is in the file (2 MB, in a growing buffer), never
            // inflated.
            8 * MIB,
        ),
        (
            "PNG, compressed XMP iTXt inflating to 2 GiB",
            hostile::black_png(64, 48, 8, &[hostile::itxt_bomb(2 * GIB)]),
            Expect::Rendered,
            8 * MIB,
        ),
        (
            "PNG, eXIf declaring 2 GiB",
            hostile::png_with_lying_chunk(b"eXIf", 0x7FFF_FFF0),
            Expect::Refused(overrun),
            MIB,
        ),
        (
            "PNG, iCCP declaring 2 GiB",
            hostile::png_with_lying_chunk(b"iCCP", 0x7FFF_FFF0),
            Expect::Refused(overrun),
            MIB,
        ),
        (
            "PNG, tEXt declaring 2 GiB",
            hostile::png_with_lying_chunk(b"tEXt", 0x7FFF_FFF0),
            Expect::Refused(overrun),
            MIB,
        ),
        (
            // The issue's ~126-byte WebPs.
            "WebP, ICCP declaring 4 GiB",
            hostile::webp_with(&[], Some((b"ICCP", 0xFFFF_FFF0))),
            Expect::Refused(overrun),
            MIB,
        ),
        (
            "WebP, EXIF declaring 4 GiB",
            hostile::webp_with(&[], Some((b"EXIF", 0xFFFF_FFF0))),
            Expect::Refused(overrun),
            MIB,
        ),
        (
            "WebP, XMP declaring 4 GiB",
            hostile::webp_with(&[], Some((b"XMP ", 0xFFFF_FFF0))),
            Expect::Refused(overrun),
            MIB,
        ),
        (
            "WebP, a real 16 MiB + 1 byte ICCP chunk",
            hostile::webp_with(&[(b"ICCP", &big_icc)], None),
            Expect::Warned(|w| matches!(w, Warning::BadIccProfile(why) if why.contains("ignored"))),
            // The file itself is in memory before counting starts; nothing more is copied.
            MIB,
        ),
        (
            "TIFF, StripOffsets declaring 5 million values",
            hostile::tiff_with(&[(273, 4, 5_000_000, 8)]),
            Expect::Refused(
                |e| matches!(e, Error::Corrupt { detail, .. } if detail.contains("5000000")),
            ),
            MIB,
        ),
        (
            "TIFF, StripByteCounts declaring a million values past the end",
            hostile::tiff_with(&[(279, 4, 1_000_000, 8)]),
            Expect::Refused(|e| {
                matches!(
                    e,
                    Error::Overrun {
                        declared: 4_000_000,
                        ..
                    }
                )
            }),
            MIB,
        ),
        (
            "TIFF, ICC profile tag declaring 4 GiB",
            hostile::tiff_with(&[(34675, 7, 0xFFFF_FFF0, 8)]),
            Expect::Refused(overrun),
            MIB,
        ),
        (
            "GIF, 1x1 screen with a 65535x65535 frame",
            hostile::gif_with_frame((1, 1), (65535, 65535)),
            Expect::Refused(|e| matches!(e, Error::TooLarge { width: 65535, .. })),
            MIB,
        ),
        (
            "GIF, 65535x65535 screen",
            hostile::gif_with_frame((65535, 65535), (1, 1)),
            Expect::Refused(|e| matches!(e, Error::TooLarge { .. })),
            MIB,
        ),
    ];
    for (name, bytes, expect, bound) in cases {
        let (result, peak) = peak_of(|| renderer.render(&bytes));
        eprintln!(
            "{name}: {} bytes on disk, {:.2} MiB heap at peak: {}",
            bytes.len(),
            peak as f64 / MIB as f64,
            match &result {
                Ok(r) => format!("rendered, warnings {:?}", r.warnings),
                Err(e) => format!("refused: {e}"),
            }
        );
        match (&expect, &result) {
            (Expect::Refused(ok), Err(e)) => assert!(ok(e), "{name}: wrong error: {e}"),
            (Expect::Warned(ok), Ok(r)) => {
                assert!(r.warnings.iter().any(ok), "{name}: {:?}", r.warnings)
            }
            (Expect::Rendered, Ok(_)) => {}
            _ => panic!(
                "{name}: unexpected outcome {:?}",
                result.map(|r| r.warnings)
            ),
        }
        assert!(peak < bound, "{name}: {peak} bytes at peak, bound {bound}");
    }
}

/// The controls: the same generators without the hostile part give files that render, so the
/// refusals above are about the lies, not about malformed test files.
#[test]
fn generated_files_are_valid_without_their_lies() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let renderer = renderer();
    let small_bomb = hostile::black_png(64, 48, 8, &[hostile::iccp_bomb(100_000)]);
    let rendered = renderer.render(&small_bomb).expect("renders");
    // The 100 kB profile inflated (the stream is valid DEFLATE) but is no ICC profile.
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::BadIccProfile(why) if !why.contains("MiB"))),
        "{:?}",
        rendered.warnings
    );
    let exif = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    for (name, bytes, format) in [
        (
            "PNG 16-bit",
            hostile::black_png(300, 200, 16, &[]),
            Format::Png,
        ),
        (
            "PNG with eXIf",
            hostile::black_png(300, 200, 8, &[png_chunk(b"eXIf", &exif[6..])]),
            Format::Png,
        ),
        ("WebP", hostile::webp_with(&[], None), Format::WebP),
        (
            "WebP with EXIF",
            hostile::webp_with(&[(b"EXIF", exif)], None),
            Format::WebP,
        ),
        ("TIFF", hostile::tiff_with(&[]), Format::Tiff),
        ("GIF", hostile::gif_with_frame((1, 1), (1, 1)), Format::Gif),
    ] {
        let rendered: Rendered = renderer
            .render(&bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rendered.format, format, "{name}");
        assert!(
            rendered.warnings.is_empty(),
            "{name}: {:?}",
            rendered.warnings
        );
        if name.contains("EXIF") || name.contains("eXIf") {
            // Orientation 6 (a quarter turn): a 300x200 or 1x1 picture is shown turned.
            let shown = rendered.source_size;
            assert!(shown.height >= shown.width, "{name}: {shown:?}");
        }
    }
}

/// The estimate a render starts with (and waits for memory by) is at least what the render
/// really holds at its peak, and not wildly more: checked on every fixture that renders, on a
/// 16-bit PNG and on an oriented photo with a colour profile. libjpeg's own buffers are C
/// allocations this allocator does not see, so for JPEG the check is one-sided.
#[test]
fn estimates_cover_the_real_peak() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let renderer = renderer();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for dir in ["edge", "camera", "exif-orientation"] {
        let mut paths: Vec<_> = std::fs::read_dir(fixture(dir))
            .expect("fixtures")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            files.push((name, std::fs::read(&path).expect("read")));
        }
    }
    files.push((
        "black 16-bit 4000x3000 PNG".into(),
        hostile::black_png(4000, 3000, 16, &[]),
    ));
    for (name, bytes) in &files {
        let Ok(prepared) = renderer.prepare(bytes) else {
            continue;
        };
        let estimate = prepared.memory();
        let (result, peak) = peak_of(|| prepared.render(&|| false));
        let Ok(rendered) = result else { continue };
        // The file's bytes were allocated before counting began; the estimate includes them.
        let peak = peak as u64 + bytes.len() as u64;
        eprintln!(
            "{name}: estimate {:.1} MiB, peak {:.1} MiB",
            estimate as f64 / MIB as f64,
            peak as f64 / MIB as f64
        );
        assert!(
            peak <= estimate,
            "{name}: peak {peak} over estimate {estimate}"
        );
        if rendered.format != Format::Jpeg {
            assert!(
                estimate <= 3 * peak + 8 * MIB as u64,
                "{name}: estimate {estimate} is far above the peak {peak}"
            );
        }
    }
}
