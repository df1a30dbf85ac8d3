//! HEIC and AVIF photos come out upright, in sRGB, at the exact frame size.
//!
//! Besides the real iPhone photo of the fixture set (a grid image with a Display P3 profile),
//! the files are made here with `heif-enc` (Debian's `libheif-examples`, installed by
//! `scripts/deps.sh test`) from the EXIF orientation fixtures. Debian 12's `heif-enc` copies
//! the stored pixels and the EXIF block (orientation tag included) and writes no `irot`/`imir`,
//! so each of the eight orientations gives two cases whose expected picture is known:
//!
//! - the file as `heif-enc` wrote it: HEIF's geometry is its `irot`/`imir` properties alone
//!   (MIAF: the EXIF tag is informational), so it is shown as stored, and a decoder that
//!   applied the EXIF tag would turn it;
//! - the same file with the orientation added as `irot`/`imir`, the way libheif's own encoder
//!   maps EXIF orientations (and what phones write: both the properties and a matching EXIF
//!   tag): libheif turns it upright, and applying the EXIF tag as well would turn it twice.
//!
//! The expected pictures (the stored JPEG, or the upright `*_1.jpg`) are decoded by an
//! independent decoder and compared on a coarse grid like `tests/render_orientation.rs` does.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Decoded, assert_frame, decode, fixture, grid_distance, renderer};
use framecast::format::Format;
use framecast::render::fit::placement;
use framecast::render::{Error, Limits, Rendered, Renderer, Size, Spec};

const HD: Size = Size {
    width: 1920,
    height: 1080,
};
const COLS: u32 = 24;
const ROWS: u32 = 16;
/// Mean colour difference allowed per grid cell (0..255): HEVC at the quality used here costs
/// about one level; a turned or mirrored picture is tens of levels away.
const TOLERANCE: f64 = 3.0;

/// Runs `heif-enc` on `input`, writing `output`; extra arguments before the input.
fn heif_enc(args: &[&str], input: &Path, output: &Path) {
    let out = Command::new("heif-enc")
        .args(args)
        .arg(input)
        .arg("-o")
        .arg(output)
        .output()
        .expect("heif-enc runs (scripts/deps.sh test installs libheif-examples)");
    assert!(
        out.status.success(),
        "heif-enc {args:?} {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Encodes `input` as HEIC, quickly and well enough for a coarse comparison.
fn heic(input: &Path, output: &Path) {
    heif_enc(&["-q", "70", "-p", "preset=ultrafast"], input, output);
}

/// Grid cells outside the central box, where each fixture shows its own digit.
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

/// The picture of a frame, without its letterbox bars, as a grid.
fn frame_grid(rendered: &Rendered) -> Vec<[f64; 3]> {
    let frame = decode(&rendered.frame.jpeg);
    let place = placement(rendered.source_size, rendered.frame.size);
    frame.grid(
        place.x,
        place.y,
        place.size.width,
        place.size.height,
        COLS,
        ROWS,
    )
}

fn whole_grid(d: &Decoded) -> Vec<[f64; 3]> {
    d.grid(0, 0, d.width, d.height, COLS, ROWS)
}

/// The picture a case must show, decoded by `jpeg-decoder` (which ignores EXIF orientation):
/// `kind_n.jpg` as stored, or for `n = 1` the upright photo.
fn reference(kind: &str, n: u16) -> Decoded {
    let bytes = std::fs::read(fixture(&format!("exif-orientation/{kind}_{n}.jpg"))).expect("read");
    decode(&bytes)
}

/// Renders a generated HEIF file and checks it against `expected`.
fn assert_shows(file: &Path, expected: &Decoded, format: Format, what: &str) {
    let rendered = renderer()
        .render_file(file)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_frame(&rendered.frame.jpeg, HD);
    assert_eq!(rendered.format, format, "{what}");
    assert_eq!(
        rendered.source_size,
        Size {
            width: expected.width,
            height: expected.height
        },
        "{what}: shown size"
    );
    assert!(
        rendered.warnings.is_empty(),
        "{what}: {:?}",
        rendered.warnings
    );
    let distance = grid_distance(
        &outside_centre(frame_grid(&rendered)),
        &outside_centre(whole_grid(expected)),
    );
    eprintln!("{what}: {distance:.2}");
    assert!(
        distance < TOLERANCE,
        "{what}: distance {distance:.2} from the expected picture"
    );
    let frame = decode(&rendered.frame.jpeg);
    let place = placement(rendered.source_size, HD);
    if place.x > 0 {
        assert_eq!(frame.pixel(0, 540), [0, 0, 0], "{what}: letterbox bar");
        assert_eq!(frame.pixel(1919, 540), [0, 0, 0], "{what}: letterbox bar");
    }
}

/// The HEIF transform properties for an EXIF orientation, in the order MIAF requires
/// (rotation, then mirror), as libheif's encoder writes them: `irot` turns anticlockwise by
/// quarter turns; libheif's `imir` axis 1 mirrors left–right and 0 top–bottom.
fn transforms(exif_orientation: u16) -> Vec<[u8; 9]> {
    let irot = |quarters: u8| [0, 0, 0, 9, b'i', b'r', b'o', b't', quarters];
    let imir = |axis: u8| [0, 0, 0, 9, b'i', b'm', b'i', b'r', axis];
    match exif_orientation {
        1 => vec![],
        2 => vec![imir(1)],
        3 => vec![irot(2)],
        4 => vec![imir(0)],
        5 => vec![irot(3), imir(1)],
        6 => vec![irot(3)],
        7 => vec![irot(3), imir(0)],
        8 => vec![irot(1)],
        other => panic!("no orientation {other}"),
    }
}

/// A minimal ISO-BMFF editor: enough to add properties to the primary item of a file written
/// by `heif-enc` (`ftyp`, `meta`, `mdat`, in that order).
mod bmff {
    /// `(start, header length, size, type)` of each box in `data[from..to]`.
    pub fn boxes(data: &[u8], from: usize, to: usize) -> Vec<(usize, usize, usize, [u8; 4])> {
        let mut out = Vec::new();
        let mut at = from;
        while at + 8 <= to {
            let size32 = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = data[at + 4..at + 8].try_into().unwrap();
            let (header, size) = match size32 {
                0 => (8, to - at),
                1 => (
                    16,
                    u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap()) as usize,
                ),
                n => (8, n),
            };
            out.push((at, header, size, kind));
            at += size;
        }
        out
    }

    fn find(list: &[(usize, usize, usize, [u8; 4])], kind: &[u8; 4]) -> (usize, usize, usize) {
        let &(start, header, size, _) = list
            .iter()
            .find(|b| &b.3 == kind)
            .unwrap_or_else(|| panic!("no {} box", String::from_utf8_lossy(kind)));
        (start, header, size)
    }

    fn boxed(kind: &[u8; 4], full_header: Option<&[u8]>, body: &[u8]) -> Vec<u8> {
        let extra = full_header.map_or(0, <[u8]>::len);
        let mut out = ((8 + extra + body.len()) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        if let Some(h) = full_header {
            out.extend_from_slice(h);
        }
        out.extend_from_slice(body);
        out
    }

    fn read(data: &[u8], at: &mut usize, n: usize) -> u64 {
        let v = data[*at..*at + n]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64);
        *at += n;
        v
    }

    fn write(out: &mut Vec<u8>, v: u64, n: usize) {
        out.extend_from_slice(&v.to_be_bytes()[8 - n..]);
    }

    /// The file with `props` appended to `ipco` and associated (as essential) with the
    /// primary item, every file offset in `iloc` moved to match.
    pub fn add_properties(file: &[u8], props: &[Vec<u8>]) -> Vec<u8> {
        if props.is_empty() {
            return file.to_vec();
        }
        let top = boxes(file, 0, file.len());
        let (meta_at, meta_header, meta_size) = find(&top, b"meta");
        let meta_body = meta_at + meta_header + 4; // a full box
        let meta_end = meta_at + meta_size;
        let children = boxes(file, meta_body, meta_end);

        let (pitm_at, pitm_header, _) = find(&children, b"pitm");
        let pitm_version = file[pitm_at + pitm_header];
        let mut at = pitm_at + pitm_header + 4;
        let primary = read(file, &mut at, if pitm_version == 0 { 2 } else { 4 });

        let (iprp_at, iprp_header, iprp_size) = find(&children, b"iprp");
        let iprp_children = boxes(file, iprp_at + iprp_header, iprp_at + iprp_size);
        let (ipco_at, ipco_header, ipco_size) = find(&iprp_children, b"ipco");
        let existing = boxes(file, ipco_at + ipco_header, ipco_at + ipco_size).len();
        let mut ipco_body = file[ipco_at + ipco_header..ipco_at + ipco_size].to_vec();
        for p in props {
            ipco_body.extend_from_slice(p);
        }
        let ipco = boxed(b"ipco", None, &ipco_body);

        // ipma: entries of (item, [associations]); ours go last on the primary item.
        let (ipma_at, ipma_header, _) = find(&iprp_children, b"ipma");
        let head = &file[ipma_at + ipma_header..ipma_at + ipma_header + 4];
        let (version, wide) = (head[0], head[3] & 1 == 1);
        let mut at = ipma_at + ipma_header + 4;
        let count = read(file, &mut at, 4);
        let mut body = Vec::new();
        write(&mut body, count, 4);
        for _ in 0..count {
            let item = read(file, &mut at, if version < 1 { 2 } else { 4 });
            let n = read(file, &mut at, 1) as usize;
            let assoc_len = if wide { 2 } else { 1 };
            let associations = &file[at..at + n * assoc_len];
            at += n * assoc_len;
            let added = if item == primary { props.len() } else { 0 };
            write(&mut body, item, if version < 1 { 2 } else { 4 });
            write(&mut body, (n + added) as u64, 1);
            body.extend_from_slice(associations);
            for i in 0..added {
                let index = (existing + 1 + i) as u64;
                if wide {
                    write(&mut body, 0x8000 | index, 2);
                } else {
                    write(&mut body, 0x80 | index, 1);
                }
            }
        }
        let ipma = boxed(b"ipma", Some(head), &body);

        let mut iprp_body = Vec::new();
        for &(start, _, size, kind) in &iprp_children {
            match &kind {
                b"ipco" => iprp_body.extend_from_slice(&ipco),
                b"ipma" => iprp_body.extend_from_slice(&ipma),
                _ => iprp_body.extend_from_slice(&file[start..start + size]),
            }
        }
        let iprp = boxed(b"iprp", None, &iprp_body);
        let delta = iprp.len() - iprp_size;

        // iloc: file offsets of data after the meta box move by `delta`.
        let (iloc_at, iloc_header, iloc_size) = find(&children, b"iloc");
        let mut iloc = file[iloc_at..iloc_at + iloc_size].to_vec();
        let version = file[iloc_at + iloc_header];
        let mut at = iloc_at + iloc_header + 4;
        let sizes = read(file, &mut at, 2);
        let (offset_size, length_size) = ((sizes >> 12) as usize, (sizes >> 8 & 15) as usize);
        let (base_size, index_size) = ((sizes >> 4 & 15) as usize, (sizes & 15) as usize);
        let items = read(file, &mut at, if version < 2 { 2 } else { 4 });
        let shift = |iloc: &mut Vec<u8>, pos: usize, n: usize| {
            let local = pos - iloc_at;
            let mut p = pos;
            let v = read(file, &mut p, n);
            if v as usize >= meta_end {
                let mut bytes = Vec::new();
                write(&mut bytes, v + delta as u64, n);
                iloc[local..local + n].copy_from_slice(&bytes);
            }
        };
        for _ in 0..items {
            at += if version < 2 { 2 } else { 4 };
            let method = if version >= 1 {
                read(file, &mut at, 2) & 15
            } else {
                0
            };
            at += 2; // data reference index
            let base_at = at;
            let base = read(file, &mut at, base_size);
            if method == 0 && base_size > 0 && base > 0 {
                shift(&mut iloc, base_at, base_size);
            }
            let extents = read(file, &mut at, 2);
            for _ in 0..extents {
                if version >= 1 && index_size > 0 {
                    at += index_size;
                }
                let offset_at = at;
                at += offset_size + length_size;
                if method == 0 && base == 0 && offset_size > 0 {
                    shift(&mut iloc, offset_at, offset_size);
                }
            }
        }

        let mut meta_body_bytes = Vec::new();
        for &(start, _, size, kind) in &children {
            match &kind {
                b"iprp" => meta_body_bytes.extend_from_slice(&iprp),
                b"iloc" => meta_body_bytes.extend_from_slice(&iloc),
                _ => meta_body_bytes.extend_from_slice(&file[start..start + size]),
            }
        }
        let meta = boxed(
            b"meta",
            Some(&file[meta_at + meta_header..meta_body]),
            &meta_body_bytes,
        );
        assert_eq!(meta.len(), meta_size + delta);
        let mut out = file[..meta_at].to_vec();
        out.extend_from_slice(&meta);
        out.extend_from_slice(&file[meta_end..]);
        out
    }
}

/// Both cases of orientation `n` show their expected picture.
fn check_orientation(kind: &str, n: u16) {
    let dir = tempfile::tempdir().expect("temp dir");
    let written = dir.path().join("heif-enc.heic");
    heic(
        &fixture(&format!("exif-orientation/{kind}_{n}.jpg")),
        &written,
    );
    assert_shows(
        &written,
        &reference(kind, n),
        Format::Heic,
        &format!("{kind}_{n} (EXIF tag only: as stored)"),
    );

    let props: Vec<Vec<u8>> = transforms(n).iter().map(|p| p.to_vec()).collect();
    let heif = bmff::add_properties(&std::fs::read(&written).expect("read"), &props);
    let turned = dir.path().join("irot-imir.heic");
    std::fs::write(&turned, heif).expect("write");
    assert_shows(
        &turned,
        &reference(kind, 1),
        Format::Heic,
        &format!("{kind}_{n} (irot/imir and EXIF tag: upright)"),
    );
}

macro_rules! orientation_trials {
    ($($name:ident: $kind:literal, $n:literal;)*) => {
        $(
            #[test]
            fn $name() {
                check_orientation($kind, $n);
            }
        )*
    };
}

orientation_trials! {
    landscape_1: "Landscape", 1;
    landscape_2: "Landscape", 2;
    landscape_3: "Landscape", 3;
    landscape_4: "Landscape", 4;
    landscape_5: "Landscape", 5;
    landscape_6: "Landscape", 6;
    landscape_7: "Landscape", 7;
    landscape_8: "Landscape", 8;
    portrait_1: "Portrait", 1;
    portrait_2: "Portrait", 2;
    portrait_3: "Portrait", 3;
    portrait_4: "Portrait", 4;
    portrait_5: "Portrait", 5;
    portrait_6: "Portrait", 6;
    portrait_7: "Portrait", 7;
    portrait_8: "Portrait", 8;
}

fn iphone() -> PathBuf {
    fixture("edge/iphone-IMG_5195.HEIC")
}

/// The iPhone photo (a grid of HEVC tiles with a Display P3 profile) matches the same photo
/// decoded by Debian's own libheif (`heif-convert`) and converted to sRGB by Little CMS: both
/// the geometry and the colour come from independent code.
#[test]
fn iphone_photo_matches_an_independent_decode() {
    use image::ImageDecoder;
    use lcms2::{Intent, PixelFormat, Profile, Transform};

    let rendered = renderer().render_file(&iphone()).expect("renders");
    assert_frame(&rendered.frame.jpeg, HD);
    assert_eq!(rendered.format, Format::Heic);
    assert_eq!(
        rendered.source_size,
        Size {
            width: 2566,
            height: 3313
        }
    );
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);

    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("reference.png");
    let out = Command::new("heif-convert")
        .arg(iphone())
        .arg(&png)
        .output()
        .expect("heif-convert runs (scripts/deps.sh test installs libheif-examples)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::io::BufReader::new(std::fs::File::open(&png).expect("open"));
    let mut decoder = image::codecs::png::PngDecoder::new(file).expect("png");
    let icc = decoder
        .icc_profile()
        .expect("read")
        .expect("the P3 profile");
    let reference = image::DynamicImage::from_decoder(decoder)
        .expect("decodes")
        .into_rgb8();
    let to_srgb: Transform<[u8; 3], [u8; 3]> = Transform::new(
        &Profile::new_icc(&icc).expect("profile"),
        PixelFormat::RGB_8,
        &Profile::new_srgb(),
        PixelFormat::RGB_8,
        Intent::RelativeColorimetric,
    )
    .expect("transform");
    let (pixels, rest) = reference.as_raw().as_chunks::<3>();
    assert!(rest.is_empty());
    let mut srgb = vec![[0u8; 3]; pixels.len()];
    to_srgb.transform_pixels(pixels, &mut srgb);
    let reference = Decoded {
        width: reference.width(),
        height: reference.height(),
        rgb: srgb.concat(),
    };
    assert_eq!((reference.width, reference.height), (2566, 3313));

    let ours = frame_grid(&rendered);
    let distance = grid_distance(&ours, &whole_grid(&reference));
    eprintln!("iPhone photo: {distance:.2}");
    assert!(distance < TOLERANCE, "distance {distance:.2}");
    // The comparison can fail: the reference upside down is far away.
    let turned = Decoded {
        width: reference.width,
        height: reference.height,
        rgb: reference.rgb.chunks(3).rev().flatten().copied().collect(),
    };
    let wrong = grid_distance(&ours, &whole_grid(&turned));
    assert!(wrong > 3.0 * TOLERANCE, "upside down only {wrong:.2} away");
}

#[test]
fn pixel_limit_is_checked_from_the_header() {
    let limits = Limits {
        max_pixels: 8_000_000,
        ..Limits::default()
    };
    let started = std::time::Instant::now();
    match Renderer::new(Spec::default(), limits).render_file(&iphone()) {
        Err(e) => match e.source {
            Error::TooLarge {
                width,
                height,
                limit,
                ..
            } => assert_eq!((width, height, limit), (2566, 3313, 8_000_000)),
            other => panic!("{other}"),
        },
        Ok(_) => panic!("8.5 MP rendered over an 8 MP limit"),
    }
    // Decoding takes far longer than reading the header; a generous bound for a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn truncated_heic_is_an_error() {
    let bytes = std::fs::read(iphone()).expect("read");
    for cut in [bytes.len() / 2, bytes.len() - 1000, 200] {
        match renderer().render(&bytes[..cut]) {
            Err(Error::Truncated(_) | Error::Corrupt { .. }) => {}
            Err(other) => panic!("cut at {cut}: {other}"),
            Ok(_) => panic!("cut at {cut}: rendered a damaged photo"),
        }
    }
}

/// AVIF goes through the same path, with dav1d as the decoder, turned by `irot` like HEIC.
#[test]
fn avif_is_decoded_upright() {
    let dir = tempfile::tempdir().expect("temp dir");
    let upright = reference("Landscape", 1);
    for n in [1, 6] {
        let avif = dir.path().join(format!("{n}.avif"));
        let jpeg = fixture(&format!("exif-orientation/Landscape_{n}.jpg"));
        heif_enc(&["-A", "-q", "70", "-p", "speed=9"], &jpeg, &avif);
        let props: Vec<Vec<u8>> = transforms(n).iter().map(|p| p.to_vec()).collect();
        let turned = bmff::add_properties(&std::fs::read(&avif).expect("read"), &props);
        std::fs::write(&avif, turned).expect("write");
        assert_shows(
            &avif,
            &upright,
            Format::Avif,
            &format!("AVIF Landscape_{n}"),
        );
    }
}

/// The embedded ICC profile of a HEIC file is applied: the Adobe RGB test card keeps its
/// documented sRGB red (224, 32, 32; read as sRGB it would be about 191, 37, 37).
#[test]
fn icc_profile_of_a_heic_is_applied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("adobe.heic");
    heic(&fixture("edge/icc-adobergb.jpg"), &file);
    let rendered = renderer().render_file(&file).expect("renders");
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let frame = decode(&rendered.frame.jpeg);
    let place = placement(rendered.source_size, HD);
    // The red square is the top-left eighth of the short side: 100 px of the 1200x800 card.
    let scale = place.size.width as f64 / 1200.0;
    let side = (50.0 * scale) as u32;
    let top_left = frame.mean(place.x + side / 2, place.y + side / 2, side, side);
    for (c, want) in [224.0, 32.0, 32.0].into_iter().enumerate() {
        assert!(
            (top_left[c] - want).abs() < 10.0,
            "top-left {top_left:?}, expected about (224, 32, 32)"
        );
    }
}

/// An AVIF file that describes its colours with `nclx` code points (Display P3 primaries, the
/// sRGB curve) instead of a profile comes out in sRGB. The P3 numbers are computed by Little
/// CMS from a known sRGB colour.
#[test]
fn nclx_display_p3_comes_out_in_srgb() {
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
    let to_p3: Transform<[u8; 3], [u8; 3]> = Transform::new(
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
    assert!((0..3).any(|c| srgb[c].abs_diff(in_p3[c]) > 12), "{in_p3:?}");

    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("p3.png");
    image::RgbImage::from_pixel(256, 192, image::Rgb(in_p3))
        .save(&png)
        .expect("png");
    let avif = dir.path().join("p3.avif");
    heif_enc(&["-A", "-q", "90", "-p", "speed=9"], &png, &avif);
    // Debian 12's heif-enc writes "unspecified" primaries and curve whatever it is told; the
    // code points go into its nclx box here: Display P3 (12) with the sRGB curve (13).
    let mut bytes = std::fs::read(&avif).expect("read");
    let at = bytes
        .windows(8)
        .position(|w| w == b"colrnclx")
        .expect("an nclx box")
        + 8;
    bytes[at..at + 4].copy_from_slice(&[0, 12, 0, 13]);
    std::fs::write(&avif, bytes).expect("write");
    let rendered = renderer().render_file(&avif).expect("renders");
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let centre = decode(&rendered.frame.jpeg).mean(900, 500, 120, 80);
    for c in 0..3 {
        assert!(
            (centre[c] - srgb[c] as f64).abs() < 5.0,
            "got {centre:?}, expected about {srgb:?} (P3 numbers {in_p3:?})"
        );
    }
}

/// Transparency in an AVIF file (an alpha auxiliary image) becomes the background.
#[test]
fn avif_alpha_becomes_the_background() {
    let dir = tempfile::tempdir().expect("temp dir");
    let avif = dir.path().join("alpha.avif");
    heif_enc(
        &["-A", "-q", "80", "-p", "speed=9"],
        &fixture("edge/alpha.png"),
        &avif,
    );
    let rendered = renderer().render_file(&avif).expect("renders");
    assert_eq!(rendered.format, Format::Avif);
    let frame = decode(&rendered.frame.jpeg);
    let place = placement(rendered.source_size, HD);
    let sum = |c: [f64; 3]| c.iter().sum::<f64>();
    let left = frame.mean(place.x + 2, 400, 10, 280);
    assert!(sum(left) < 15.0, "left edge {left:?}");
    let disc = frame.mean(940, 520, 40, 40);
    assert!(sum(disc) < 15.0, "centre disc {disc:?}");
    let right = frame.mean(place.x + place.size.width - 60, 400, 40, 280);
    assert!(sum(right) > 150.0, "right edge {right:?}");
}
