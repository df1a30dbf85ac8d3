//! Library benchmark: a large library, first from nothing, then from the persisted index.
//!
//! Makes `BENCH_FILES` photos (default 100,000: ten tiny generated JPEGs, hard-linked into 100
//! folders), starts the release `framecast serve` on them with an empty state folder, and
//! reports the time from process start to the first photo on screen, the time until the index
//! is complete (first walk done, every photo in it), and the peak RSS. Then it stops the server
//! and starts it again on the same state folder, and reports the same figures, plus the time
//! until the persisted index is loaded. Targets: first frame < 1 s, restart index load < 2 s,
//! RSS < 150 MiB.
//!
//! `cargo bench --bench library` (part of `make bench`).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ProcFigures, env_or, mib, status};

fn tiny_jpeg(i: u8) -> Vec<u8> {
    let (w, h) = (32u16, 24u16);
    let pixels: Vec<u8> = (0..w as usize * h as usize)
        .flat_map(|p| [i.wrapping_mul(25), (p % 256) as u8, 128])
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 80)
        .encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .expect("encodes");
    out
}

fn make_library(root: &Path, files: u64) {
    let sources = root.join("sources");
    std::fs::create_dir_all(&sources).expect("mkdir");
    for i in 0..10u8 {
        std::fs::write(sources.join(format!("{i}.jpg")), tiny_jpeg(i)).expect("write");
    }
    let photos = root.join("photos");
    let per_folder = 1000;
    for n in 0..files {
        let folder = photos.join(format!("album-{:03}", n / per_folder));
        if n % per_folder == 0 {
            std::fs::create_dir_all(&folder).expect("mkdir");
        }
        std::fs::hard_link(
            sources.join(format!("{}.jpg", n % 10)),
            folder.join(format!("IMG_{n:06}.jpg")),
        )
        .expect("link");
    }
}

struct Run {
    headers_read: u64,
    first_frame: Duration,
    index_loaded: Option<Duration>,
    complete: Duration,
    rss: u64,
    photos: u64,
}

fn serve(root: &Path, port: u16, files: u64) -> Run {
    let started = Instant::now();
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .arg("serve")
        .arg(root.join("photos"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--size", "640x360", "--interval", "5s"])
        .arg("--state-dir")
        .arg(root.join("state"))
        // Every run renders its first frame, as the first start on a new library does.
        .arg("--no-disk-cache")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("framecast serve starts");
    let pid = child.id();
    let mut first_frame = None;
    let mut index_loaded = None;
    let deadline = started + Duration::from_secs(600);
    let (complete, photos, headers_read) = loop {
        assert!(Instant::now() < deadline, "the index never completed");
        let Some(s) = status(port) else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let now = started.elapsed();
        if first_frame.is_none() && s["current"]["path"].is_string() {
            first_frame = Some(now);
        }
        let indexed = s["index"]["photos"].as_u64().unwrap_or(0);
        if index_loaded.is_none() && indexed == files {
            index_loaded = Some(now);
        }
        if first_frame.is_some() && indexed == files && s["index"]["scanning"] == false {
            break (
                now,
                indexed,
                s["index"]["headers_read"].as_u64().unwrap_or(0),
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let rss = ProcFigures::of(pid).peak_rss;
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    Run {
        headers_read,
        first_frame: first_frame.unwrap_or(complete),
        index_loaded,
        complete,
        rss,
        photos,
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("library bench: skipped outside `cargo bench`");
        return;
    }
    let files = env_or("BENCH_FILES", 100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let made = Instant::now();
    make_library(dir.path(), files);
    println!(
        "library bench: {files} photos in 100 folders made in {:.1} s",
        made.elapsed().as_secs_f64()
    );
    let port = 19_000 + (std::process::id() % 1000) as u16;
    let cold = serve(dir.path(), port, files);
    let warm = serve(dir.path(), port, files);
    println!("| run | first frame | index loaded | index complete | peak RSS | headers read |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, run) in [
        ("first start (no index)", &cold),
        ("restart (persisted index)", &warm),
    ] {
        println!(
            "| {name} | {:.2} s | {} | {:.2} s | {:.0} MiB | {} |",
            run.first_frame.as_secs_f64(),
            run.index_loaded
                .map_or("-".into(), |d| format!("{:.2} s", d.as_secs_f64())),
            run.complete.as_secs_f64(),
            mib(run.rss),
            run.headers_read
        );
        assert_eq!(run.photos, files);
    }
    let ok = |b: bool| if b { "met" } else { "MISSED" };
    println!(
        "targets: first frame < 1 s {} / {}; restart index load < 2 s {}; RSS < 150 MiB {} / {}",
        ok(cold.first_frame < Duration::from_secs(1)),
        ok(warm.first_frame < Duration::from_secs(1)),
        ok(warm
            .index_loaded
            .is_some_and(|d| d < Duration::from_secs(2))),
        ok(mib(cold.rss) < 150.0),
        ok(mib(warm.rss) < 150.0),
    );
}
