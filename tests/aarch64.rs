//! The aarch64 build renders what the x86-64 build renders: `make test-aarch64` cross-builds the
//! binary, and this test runs it under `qemu-aarch64` on the sample gallery in `assets/`, then
//! compares every frame with the one the host build makes (PSNR, from an independent decoder).
//! The SIMD paths differ (NEON instead of AVX2 in libjpeg-turbo and the resizer, scalar colour
//! conversion in the encoder), so frames are close, not identical.
//!
//! Ignored in `make test`: it needs the cross-built binary and qemu-user. Run it with
//! `make test-aarch64` (which sets `FRAMECAST_AARCH64_BIN`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::decode;

const MIN_PSNR_DB: f64 = 45.0;

/// Every `.jpg` under `dir`, relative, sorted.
fn frames(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .expect("frames folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .map(|p| p.strip_prefix(dir).expect("under dir").to_path_buf())
        .collect();
    out.sort();
    out
}

/// PSNR over the RGB samples of two frames of the same size; infinite when identical.
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum();
    let mse = sum / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

fn render(program: &str, args: &[&str], out: &Path) -> f64 {
    let started = Instant::now();
    let run = Command::new(program)
        .args(args)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"))
        .arg("--out")
        .arg(out)
        .args(["--threads", "2"])
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    print!("{}", String::from_utf8_lossy(&run.stdout));
    secs
}

#[test]
#[ignore = "needs the aarch64 build and qemu-user: make test-aarch64"]
fn aarch64_frames_match_the_host_ones() {
    let arm_bin = std::env::var("FRAMECAST_AARCH64_BIN").unwrap_or_else(|_| {
        format!(
            "{}/target/aarch64-unknown-linux-gnu/release/framecast",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let arm_bin = fs::canonicalize(&arm_bin)
        .unwrap_or_else(|e| panic!("{arm_bin}: {e} (build it with `make aarch64`)"));
    let arm_bin = arm_bin.to_str().expect("utf-8 path");
    let qemu = ["-L", "/usr/aarch64-linux-gnu", arm_bin];

    let version = Command::new("qemu-aarch64")
        .args(qemu)
        .arg("--version")
        .output()
        .expect("qemu-aarch64 runs (package qemu-user)");
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.starts_with(&format!("framecast {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let (x86_out, arm_out) = (dir.path().join("x86_64"), dir.path().join("aarch64"));
    let host_secs = render(env!("CARGO_BIN_EXE_framecast"), &["render"], &x86_out);
    let mut arm_args = qemu.to_vec();
    arm_args.push("render");
    let arm_secs = render("qemu-aarch64", &arm_args, &arm_out);
    println!("render of assets/: host {host_secs:.1} s, aarch64 under qemu {arm_secs:.1} s");

    let names = frames(&x86_out);
    assert!(!names.is_empty());
    assert_eq!(frames(&arm_out), names);
    let mut worst = f64::INFINITY;
    for name in &names {
        let x86 = decode(&fs::read(x86_out.join(name)).expect("x86 frame"));
        let arm = decode(&fs::read(arm_out.join(name)).expect("aarch64 frame"));
        assert_eq!((arm.width, arm.height), (x86.width, x86.height), "{name:?}");
        let db = psnr(&x86.rgb, &arm.rgb);
        println!("{:>8.2} dB  {}", db, name.display());
        worst = worst.min(db);
        assert!(db >= MIN_PSNR_DB, "{name:?}: {db:.2} dB");
    }
    println!("{} frames, lowest PSNR {worst:.2} dB", names.len());
}
