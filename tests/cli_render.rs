//! `framecast render`, the real binary, on folders of good and bad files.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{assert_frame, fixture};
use framecast::render::Size;

fn framecast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_framecast"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn copy(from: &str, to: &Path) {
    fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    fs::copy(fixture(from), to).expect("copy");
}

#[test]
fn good_and_bad_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photos = dir.path().join("photos");
    copy(
        "exif-orientation/Landscape_6.jpg",
        &photos.join("IMG_10.jpg"),
    );
    copy("exif-orientation/Portrait_3.jpg", &photos.join("IMG_2.JPG"));
    copy("edge/alpha.png", &photos.join("party/balloons.png"));
    copy("edge/photo.webp", &photos.join("party/cake.webp"));
    copy("edge/truncated.jpg", &photos.join("party/interrupted.jpg"));
    copy("edge/not-an-image.jpg", &photos.join("notes.jpg"));
    copy("edge/empty.jpg", &photos.join("empty.jpg"));
    copy("edge/bomb-60000x60000.png", &photos.join("bomb.png"));
    copy("edge/.hidden.jpg", &photos.join(".hidden.jpg"));
    let out = dir.path().join("frames");

    let run = framecast(&[
        "render",
        photos.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--size",
        "320x240",
        "--threads",
        "2",
    ]);
    let stdout = text(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "some skipped: {stdout}\n{}",
        text(&run.stderr)
    );
    assert!(stdout.contains("rendered 4 of 8 photos"), "{stdout}");
    assert!(stdout.contains("photos/s"), "{stdout}");
    assert!(stdout.contains("skipped 4:"), "{stdout}");
    for (file, reason) in [
        ("party/interrupted.jpg", "truncated"),
        ("notes.jpg", "not an image"),
        ("empty.jpg", "not an image: the file is empty"),
        ("bomb.png", "too large: 60000x60000"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} is not in the summary: {stdout}"));
        assert!(line.contains(reason), "{line}");
    }
    // Not a terminal: no progress bar, and nothing else worth a log line.
    assert!(run.stderr.is_empty(), "stderr: {}", text(&run.stderr));

    for frame in [
        "IMG_10.jpg",
        "IMG_2.jpg",
        "party/balloons.jpg",
        "party/cake.jpg",
    ] {
        let bytes = fs::read(out.join(frame)).unwrap_or_else(|e| panic!("{frame}: {e}"));
        assert_frame(
            &bytes,
            Size {
                width: 320,
                height: 240,
            },
        );
    }
    let mut written: Vec<_> = walk(&out);
    written.sort();
    assert_eq!(
        written,
        [
            "IMG_10.jpg",
            "IMG_2.jpg",
            "party/balloons.jpg",
            "party/cake.jpg"
        ],
        "nothing for bad or hidden files, no partial files left"
    );
}

fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            let sub = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            files.extend(walk(&path).into_iter().map(|f| format!("{sub}/{f}")));
        } else {
            files.push(
                path.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    files
}

#[test]
fn all_good_exits_zero_and_reports_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photos = dir.path().join("in");
    copy("edge/bad-exif.jpg", &photos.join("a.jpg"));
    copy("edge/cmyk.jpg", &photos.join("b.jpg"));
    let out = dir.path().join("out");
    let run = framecast(&[
        "render",
        photos.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    let stdout = text(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}{}", text(&run.stderr));
    assert!(stdout.contains("rendered 2 of 2 photos"), "{stdout}");
    assert!(
        stdout.contains("warnings 1:") && stdout.contains("unreadable EXIF"),
        "{stdout}"
    );
    assert_frame(
        &fs::read(out.join("a.jpg")).expect("frame"),
        Size {
            width: 1920,
            height: 1080,
        },
    );
}

#[test]
fn usage_errors_exit_two_with_a_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let out = out.to_str().expect("utf-8");
    let photos = fixture("edge/nested");
    let photos = photos.to_str().expect("utf-8");
    for (args, message) in [
        (
            vec!["render", photos, "--out", out, "--size", "big"],
            "not a size like 1920x1080",
        ),
        (
            vec!["render", photos, "--out", out, "--quality", "0"],
            "quality",
        ),
        (
            vec!["render", photos, "--out", out, "--background", "#zzz"],
            "not a colour",
        ),
        (
            vec!["render", photos, "--out", out, "--fit", "stretch"],
            "'stretch' is not a fill mode: use letterbox, blur, cover or pair",
        ),
        (
            vec![
                "render",
                photos,
                "--out",
                out,
                "--max-file-size",
                "5 parsecs",
            ],
            "unknown unit",
        ),
        (
            vec!["render", "/nonexistent/photos", "--out", out],
            "/nonexistent/photos",
        ),
        (vec!["render", photos], "--out"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let run = framecast(&args);
        let stderr = text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn help_explains_every_option_with_its_default() {
    let run = framecast(&["render", "--help"]);
    assert_eq!(run.status.code(), Some(0));
    let help = text(&run.stdout);
    for expected in [
        "--size",
        "[default: 1920x1080]",
        "--quality",
        "[default: 85]",
        "--background",
        "[default: black]",
        "--fit",
        "[default: letterbox]",
        "FRAMECAST_FIT",
        "--threads",
        "all cores",
        "--max-pixels",
        "--max-file-size",
        "[default: 200MiB]",
        "FRAMECAST_SIZE",
        "Exit status",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
}

#[test]
fn environment_variables_set_options() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .args([
            "render",
            fixture("edge/1x1.png").to_str().expect("utf-8"),
            "--out",
        ])
        .arg(&out)
        .env("FRAMECAST_SIZE", "200x100")
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_frame(
        &fs::read(out.join("1x1.jpg")).expect("frame"),
        Size {
            width: 200,
            height: 100,
        },
    );
}

/// `--fit pair`: neighbouring portraits share a frame named after the first; a file that fails
/// does not separate its neighbours; a landscape, and a portrait without a partner, get a
/// frame of their own with a blurred fill. A pair across two decode batches (two per thread)
/// is still made.
#[test]
fn pair_puts_neighbouring_portraits_on_one_frame() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photos = dir.path().join("in");
    for (name, from) in [
        ("a.jpg", "exif-orientation/Portrait_1.jpg"),
        ("b.jpg", "edge/progressive.jpg"),
        ("c.jpg", "exif-orientation/Landscape_1.jpg"),
        ("d.jpg", "exif-orientation/Portrait_6.jpg"),
        ("e.jpg", "edge/truncated.jpg"),
        ("f.jpg", "exif-orientation/Portrait_3.jpg"),
        ("g.jpg", "exif-orientation/Portrait_8.jpg"),
    ] {
        copy(from, &photos.join(name));
    }
    let out = dir.path().join("out");
    let run = framecast(&[
        "render",
        photos.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--size",
        "640x360",
        "--fit",
        "pair",
        "--threads",
        "2",
    ]);
    let stdout = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "e.jpg is skipped: {stdout}");
    assert!(stdout.contains("rendered 6 of 7 photos"), "{stdout}");
    assert!(
        stdout.contains("paired 2 (two portraits on one frame):"),
        "{stdout}"
    );
    for (first, second) in [("a.jpg", "b.jpg"), ("d.jpg", "f.jpg")] {
        assert!(
            stdout.lines().any(|l| l.contains(&format!("{first} + "))
                && l.contains(&format!("{second} -> {first}"))),
            "{first} + {second}: {stdout}"
        );
    }
    let mut written = walk(&out);
    written.sort();
    assert_eq!(written, ["a.jpg", "c.jpg", "d.jpg", "g.jpg"]);

    let size = Size {
        width: 640,
        height: 360,
    };
    let frame = |name: &str| {
        let bytes = fs::read(out.join(name)).expect("frame");
        assert_frame(&bytes, size);
        common::decode(&bytes)
    };
    let brightness =
        |d: &common::Decoded, x: u32, w: u32| d.mean(x, 0, w, 360).iter().sum::<f64>() / 3.0;
    // Pairs: a dark gap in the middle (the pair is centred as a whole; a.jpg and b.jpg differ
    // in width, so the gap sits a little off centre), photos on both sides of it.
    for name in ["a.jpg", "d.jpg"] {
        let d = frame(name);
        let darkest =
            (200..440).min_by(|&a, &b| brightness(&d, a, 2).total_cmp(&brightness(&d, b, 2)));
        let gap = darkest.expect("columns");
        assert!(brightness(&d, gap, 2) < 8.0, "{name}: no gap");
        assert!(brightness(&d, gap - 60, 40) > 40.0, "{name}: left photo");
        assert!(brightness(&d, gap + 20, 40) > 40.0, "{name}: right photo");
    }
    // Alone: the bars of the landscape and of the last portrait are a blurred fill, not black.
    for (name, bar) in [("c.jpg", 30), ("g.jpg", 100)] {
        let d = frame(name);
        assert!(brightness(&d, 0, bar) > 20.0, "{name}: left bar is black");
        assert!(
            brightness(&d, 640 - bar, bar) > 20.0,
            "{name}: right bar is black"
        );
    }
}
