//! The library's walk on real folder trees: order, hidden entries, RAW files and sidecars,
//! content sniffing, symlink loops, identities.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::fixture;
use framecast::library::walk::{Error, Found, scan};

const JPEG_HEAD: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0];

fn touch(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    fs::write(path, bytes).expect("write");
}

/// The roots and excluded folders of a walk.
struct Options {
    roots: Vec<PathBuf>,
    exclude: Vec<PathBuf>,
}

fn discover(options: &Options) -> Result<Found, Error> {
    scan(&options.roots, &options.exclude)
}

fn relatives(options: &Options) -> Vec<String> {
    discover(options)
        .expect("walks")
        .photos
        .iter()
        .map(|p| p.relative.to_string_lossy().into_owned())
        .collect()
}

fn options(roots: &[&Path]) -> Options {
    Options {
        roots: roots.iter().map(|p| p.to_path_buf()).collect(),
        exclude: Vec::new(),
    }
}

#[test]
fn a_messy_library() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for name in [
        "IMG_10.jpg",
        "IMG_2.jpg",
        "img_1.JPG",
        "sub/IMG_3.PNG",
        "sub/deeper/a.webp",
    ] {
        touch(root, name, JPEG_HEAD);
    }
    touch(root, "IMG_0004", JPEG_HEAD); // camera upload without an extension
    touch(root, "notes.txt", b"shopping list");
    touch(root, "clip.mp4", b"\0\0\0\x18ftypisom\0\0\0\0");
    touch(root, "broken.jpg", b"not a jpeg, but named like one");
    touch(root, ".hidden.jpg", JPEG_HEAD);
    touch(root, "._IMG_2.jpg", b"\0\x05\x16\x07AppleDouble");
    touch(root, ".thumbnails/t.jpg", JPEG_HEAD);
    touch(root, "@eaDir/IMG_2.jpg/SYNOPHOTO_THUMB_XL.jpg", JPEG_HEAD);
    symlink(root, root.join("sub/loop")).expect("symlink");
    symlink(root.join("gone"), root.join("dangling.jpg")).expect("symlink");

    let found = discover(&options(&[root])).expect("walks");
    let names: Vec<_> = found
        .photos
        .iter()
        .map(|p| p.relative.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "broken.jpg",
            "img_1.JPG",
            "IMG_2.jpg",
            "IMG_0004",
            "IMG_10.jpg",
            "sub/deeper/a.webp",
            "sub/IMG_3.PNG"
        ],
        "natural order, hidden and NAS entries skipped, the loop walked once"
    );
    assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
    assert!(found.warnings[0].path.ends_with("dangling.jpg"));
    assert!(
        found
            .photos
            .iter()
            .all(|p| p.root == 0 && p.path().is_absolute())
    );
}

#[test]
fn identity_changes_with_the_content() {
    let dir = tempfile::tempdir().expect("temp dir");
    touch(dir.path(), "a.jpg", JPEG_HEAD);
    let opts = options(&[dir.path()]);
    let before = discover(&opts).expect("walks").photos[0].id.clone();
    assert_eq!(
        discover(&opts).expect("walks").photos[0].id,
        before,
        "stable"
    );
    std::thread::sleep(Duration::from_millis(20));
    touch(dir.path(), "a.jpg", b"\xFF\xD8\xFF\xE0 longer content");
    let after = discover(&opts).expect("walks").photos[0].id.clone();
    assert_ne!(after, before);
    assert_eq!(after.path, before.path);
}

#[test]
fn several_roots_keep_their_order_and_files_can_be_roots() {
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");
    touch(a.path(), "z.jpg", JPEG_HEAD);
    touch(b.path(), "a.jpg", JPEG_HEAD);
    let single = b.path().join("single.png");
    fs::write(&single, b"anything: named explicitly").expect("write");
    let found = discover(&options(&[a.path(), b.path(), &single])).expect("walks");
    let got: Vec<(usize, PathBuf)> = found
        .photos
        .iter()
        .map(|p| (p.root, p.relative.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (0, PathBuf::from("z.jpg")),
            (1, PathBuf::from("a.jpg")),
            (1, PathBuf::from("single.png")),
            (2, PathBuf::from("single.png")),
        ]
    );
}

#[test]
fn excluded_folders_are_not_entered() {
    let dir = tempfile::tempdir().expect("temp dir");
    touch(dir.path(), "a.jpg", JPEG_HEAD);
    touch(dir.path(), "frames/a.jpg", JPEG_HEAD);
    let mut opts = options(&[dir.path()]);
    opts.exclude.push(dir.path().join("frames"));
    assert_eq!(relatives(&opts), ["a.jpg"]);
}

#[test]
fn a_missing_root_is_an_error_naming_it() {
    let err = discover(&options(&[Path::new("/nonexistent/photos")])).expect_err("fails");
    assert!(matches!(err, Error::Root { .. }));
    assert!(err.to_string().contains("/nonexistent/photos"), "{err}");
}

#[test]
fn the_edge_fixtures() {
    let names = relatives(&options(&[&fixture("edge")]));
    assert!(names.contains(&"nested/deeper/nested.jpg".to_string()));
    assert!(names.contains(&"iphone-IMG_5195.HEIC".to_string()));
    assert!(
        names.contains(&"empty.jpg".to_string()),
        "bad files are listed for render to judge"
    );
    assert!(
        !names.iter().any(|n| n.starts_with('.') || n.contains("/.")),
        "{names:?}"
    );
    // 30 files, less the three hidden ones (.hidden.jpg, ._IMG_0001.JPG, .thumbnails/thumb.jpg).
    assert_eq!(names.len(), 27, "{names:?}");
}

#[test]
fn raw_files_and_sidecars_are_not_photos_and_only_bare_names_are_sniffed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    // What a camera writes for one RAW+JPEG shot, and what editors and phones add next to it.
    let tiff_head: &[u8] = b"II*\0\x08\0\0\0";
    touch(root, "DSC_0001.JPG", JPEG_HEAD);
    for raw in [
        "DSC_0001.NEF",
        "DSC_0001.dng",
        "IMG_2.CR2",
        "IMG_2.arw",
        "P3.RW2",
        "x.orf",
    ] {
        touch(root, raw, tiff_head);
    }
    touch(root, "DSC_0001.xmp", b"<x:xmpmeta/>");
    touch(root, "IMG_0002.AAE", b"<?xml version=\"1.0\"?>");
    touch(root, "IMG_0003.THM", JPEG_HEAD);
    touch(root, "backup.bak", JPEG_HEAD); // an extension, even with a JPEG inside: not sniffed
    touch(root, "IMG_0004", JPEG_HEAD); // no extension: sniffed
    assert_eq!(relatives(&options(&[root])), ["DSC_0001.JPG", "IMG_0004"]);
}
