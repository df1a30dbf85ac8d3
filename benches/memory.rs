//! Peak memory of the real binary (`ru_maxrss`, the kernel's high-water mark) rendering large
//! photos on several threads, with and without a decode memory budget, and on hostile files.
//!
//! The case from the field: four 100 MP 16-bit PNGs rendered with `--threads 4`. Without a
//! budget every thread decodes at once; with one the photos take turns and the peak stays
//! near one photo's need. Then the decompression bombs of `tests/render_limits.rs`, through
//! the binary. Run with `cargo bench --bench memory` (part of `make bench`); the photo size
//! can be changed with `FRAMECAST_BENCH_MP` (megapixels, default 100).

#[path = "../tests/common/hostile.rs"]
mod hostile;

use std::ffi::OsStr;
use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Runs the binary and returns its exit code, peak RSS in MiB and wall time.
fn measure(args: &[&OsStr]) -> (Option<i32>, u64, f64) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create("/dev/null").expect("null"))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: waits for our own child; `rusage` is plain data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4");
    drop(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (
        code,
        usage.ru_maxrss as u64 / 1024,
        started.elapsed().as_secs_f64(),
    )
}

fn render(dir: &Path, out: &Path, extra: &[&str]) -> (Option<i32>, u64, f64) {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("render"),
        dir.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    measure(&args)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and this bench
    // takes gigabytes and a minute: it runs only as a bench.
    if !std::env::args().any(|a| a == "--bench") {
        println!("memory bench: skipped outside `cargo bench`");
        return;
    }
    let mp: u32 = std::env::var("FRAMECAST_BENCH_MP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let side = ((mp as f64 * 1e6).sqrt()) as u32;
    let dir = tempfile::tempdir().expect("temp dir");
    let photos = dir.path().join("photos");
    fs::create_dir(&photos).expect("mkdir");
    let png = hostile::black_png(side, side, 16, &[]);
    for i in 1..=4 {
        fs::write(photos.join(format!("big-{i}.png")), &png).expect("write");
    }
    let need = framecast::render::Renderer::default()
        .prepare(&png)
        .expect("prepares")
        .memory();
    println!(
        "four {side}x{side} 16-bit PNGs ({:.0} MP, {} KB each on disk), {} MiB estimated per render",
        side as f64 * side as f64 / 1e6,
        png.len() / 1000,
        need >> 20
    );
    let budget = format!("{}MiB", (need >> 20) + 64);
    for (label, extra) in [
        (
            "--threads 4, no budget (64 GiB)",
            vec!["--threads", "4", "--decode-memory", "64GiB"],
        ),
        (
            "--threads 4, --decode-memory one photo + 64 MiB",
            vec!["--threads", "4", "--decode-memory", &budget],
        ),
        (
            "--threads 1",
            vec!["--threads", "1", "--decode-memory", "64GiB"],
        ),
    ] {
        let out = dir.path().join("out");
        let (code, rss, secs) = render(&photos, &out, &extra);
        let _ = fs::remove_dir_all(&out);
        println!("  {label}: peak RSS {rss} MiB, {secs:.1} s, exit {code:?}");
    }

    println!("hostile files, one at a time (`framecast render FILE`):");
    let gib = 1u64 << 30;
    let bombs: Vec<(&str, Vec<u8>)> = vec![
        (
            "PNG, iCCP inflating to 2 GiB",
            hostile::black_png(64, 48, 8, &[hostile::iccp_bomb(2 * gib)]),
        ),
        (
            "PNG, zTXt inflating to 2 GiB",
            hostile::black_png(64, 48, 8, &[hostile::ztxt_bomb(2 * gib)]),
        ),
        (
            "WebP, ICCP declaring 4 GiB",
            hostile::webp_with(&[], Some((b"ICCP", 0xFFFF_FFF0))),
        ),
        (
            "WebP, EXIF declaring 4 GiB",
            hostile::webp_with(&[], Some((b"EXIF", 0xFFFF_FFF0))),
        ),
        (
            "TIFF, StripOffsets declaring 5 million values",
            hostile::tiff_with(&[(273, 4, 5_000_000, 8)]),
        ),
        ("1x1 PNG (baseline)", hostile::black_png(1, 1, 8, &[])),
    ];
    for (label, bytes) in bombs {
        let file = dir.path().join("hostile");
        fs::write(&file, &bytes).expect("write");
        let out = dir.path().join("out");
        let (code, rss, secs) = render(&file, &out, &["--size", "320x240"]);
        let _ = fs::remove_dir_all(&out);
        println!(
            "  {label} ({} bytes): peak RSS {rss} MiB, {secs:.2} s, exit {code:?}",
            bytes.len()
        );
    }
}
