//! Entry points for the fuzz targets in `fuzz/` and for `tests/fuzz_corpus.rs`, which runs
//! their corpus once on stable Rust: bytes in, and either a result or a typed error out.
//! Each asserts what must hold for any input, so a fuzzer that finds a way around it
//! reports a crash. Not part of the API.

use super::color::Profile;
use super::jpeg::Markers;
use super::orient::Orientation;
use super::probe::{MAX_METADATA_BYTES, Probe};
use super::{Layout, Limits, Pixels, Renderer, Size, Spec, decode};
use crate::format::Format;

/// A renderer for small frames within small limits, so the fuzzer spends its time on
/// parsing rather than on large pictures.
pub fn renderer() -> Renderer {
    Renderer::new(
        Spec {
            size: Size {
                width: 64,
                height: 48,
            },
            ..Spec::default()
        },
        Limits {
            max_pixels: 1 << 22,
            max_file_bytes: 1 << 20,
        },
    )
}

/// The whole pipeline. A frame, when there is one, has exactly the frame size, and the heap
/// the render takes stays within the estimate it was admitted with. `peak_of` runs what it
/// is given and returns the most heap bytes it held at once (a counting allocator's view;
/// a caller without one returns 0).
pub fn render(data: &[u8], peak_of: &dyn Fn(&mut dyn FnMut()) -> usize) {
    let renderer = renderer();
    let Ok(prepared) = renderer.prepare(data) else {
        return;
    };
    let memory = prepared.memory();
    let mut prepared = Some(prepared);
    let mut result = None;
    let peak = peak_of(&mut || result = prepared.take().map(|p| p.render(&|| false)));
    if let Some(Ok(rendered)) = &result {
        assert_eq!(rendered.frame.size, renderer.spec().size);
        assert_eq!(&rendered.frame.jpeg[..2], &[0xFF, 0xD8]);
    }
    // The file's bytes are part of the estimate and were allocated before counting began.
    let held = peak as u64 + data.len() as u64;
    assert!(held <= memory, "held {held} bytes, estimated {memory}");
}

/// The EXIF reader: any block gives an orientation, with at most one warning.
pub fn exif(data: &[u8]) {
    let mut warnings = Vec::new();
    let _ = Orientation::from_exif_block(data, &mut warnings);
    assert!(warnings.len() <= 1);
}

/// The ICC reader and the conversions a parsed profile is used for.
pub fn icc(data: &[u8]) {
    let mut warnings = Vec::new();
    let Some(profile) = Profile::parse(data, &mut warnings) else {
        return;
    };
    let samples: Vec<u8> = (0..=255u8).cycle().take(16 * 4).collect();
    let mut rgb = Pixels::new(4, 4, Layout::Rgb, samples[..48].to_vec()).expect("4x4");
    profile.rgb_to_srgb(&mut rgb, &mut warnings);
    assert_eq!(rgb.data.len(), 48);
    if let Some(out) = profile.cmyk_to_srgb(&samples, 4, 4, &mut warnings) {
        assert_eq!(out.data.len(), 48);
    }
    if let Some(out) = profile.gray_to_srgb(&samples[..16], 4, 4, &mut warnings) {
        assert_eq!(out.data.len(), 48);
    }
}

/// The container readers: the JPEG marker scan, the probe of every other format and the
/// memory estimate built on them.
pub fn containers(data: &[u8]) {
    let markers = Markers::scan(data);
    if let Some(icc) = &markers.icc {
        assert!(icc.len() <= MAX_METADATA_BYTES);
    }
    if let Some(frame) = markers.frame {
        let _ = frame.coefficient_bytes();
    }
    for format in [
        Format::Png,
        Format::WebP,
        Format::Gif,
        Format::Tiff,
        Format::Bmp,
    ] {
        if let Ok(probe) = Probe::read(data, format) {
            assert!(probe.width > 0 && probe.height > 0);
            let _ = probe.decoder_bytes();
        }
    }
    let limits = Limits::default();
    let _ = decode::estimate(
        data,
        Size {
            width: 1920,
            height: 1080,
        },
        super::Fit::Letterbox,
        &limits,
    );
}
