//! The aarch64 build renders what the x86-64 build renders: `make test-aarch64` cross-builds the
//! binary, and this test runs it under `qemu-aarch64` on the sample gallery in `assets/` and on
//! a HEIC and an AVIF photo, then compares every frame with the one the host build makes (PSNR,
//! from an independent decoder). The SIMD paths differ (NEON instead of AVX2 in libjpeg-turbo
//! and the resizer, scalar colour conversion in the encoder), so frames are close, not
//! identical.
//!
//! The binary is dynamically linked against glibc, libstdc++ and Debian's arm64 builds of
//! libde265 and dav1d. `scripts/deps.sh aarch64` installs those libraries from the archive's
//! arm64 architecture (multiarch), and with them the arm64 glibc and libstdc++ they depend on,
//! at the paths a Debian arm64 system has them (`/lib/ld-linux-aarch64.so.1`,
//! `/usr/lib/aarch64-linux-gnu`). So plain `qemu-aarch64` runs the binary as a Raspberry Pi
//! would, with no `-L` prefix and no `LD_LIBRARY_PATH`. The usual `-L /usr/aarch64-linux-gnu`
//! would be wrong here: it swaps in the cross toolchain's loader (libc6-arm64-cross), whose
//! search path then finds the multiarch `libc.so.6`, another build of glibc; a loader and a
//! C library must come from the same build.
//!
//! Ignored in `make test`: it needs the cross-built binary and qemu-user. Run it with
//! `make test-aarch64` (which sets `FRAMECAST_AARCH64_BIN`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{decode, fixture};

const MIN_PSNR_DB: f64 = 45.0;

/// The cross-built binary, run through qemu-user.
struct Arm {
    bin: PathBuf,
}

impl Arm {
    fn new() -> Arm {
        let bin = std::env::var("FRAMECAST_AARCH64_BIN").unwrap_or_else(|_| {
            format!(
                "{}/target/aarch64-unknown-linux-gnu/release/framecast",
                env!("CARGO_MANIFEST_DIR")
            )
        });
        let bin = fs::canonicalize(&bin)
            .unwrap_or_else(|e| panic!("{bin}: {e} (build it with `make aarch64`)"));
        let arm = Arm { bin };
        let version = arm
            .command()
            .arg("--version")
            .output()
            .expect("qemu-aarch64 runs (package qemu-user)");
        let stdout = String::from_utf8_lossy(&version.stdout);
        assert!(
            stdout.starts_with(&format!("framecast {}", env!("CARGO_PKG_VERSION"))),
            "{stdout}{}",
            String::from_utf8_lossy(&version.stderr)
        );
        arm
    }

    fn command(&self) -> Command {
        let mut command = Command::new("qemu-aarch64");
        // The libraries must be found as this file's doc says, not through variables a
        // developer's shell happens to set (qemu reads the first, the guest's loader the second).
        command
            .env_remove("QEMU_LD_PREFIX")
            .env_remove("LD_LIBRARY_PATH")
            .arg(&self.bin);
        command
    }
}

fn host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_framecast"))
}

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

/// `framecast render input --out out`, timed; it must succeed.
fn render(mut command: Command, input: &Path, out: &Path) -> f64 {
    let started = Instant::now();
    let run = command
        .arg("render")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--threads", "2"])
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    print!("{}", String::from_utf8_lossy(&run.stdout));
    secs
}

/// Renders `input` with both builds and checks that each frame of one is in the other, of the
/// same size and at least `MIN_PSNR_DB` from it. Returns how many frames were compared.
fn compare(arm: &Arm, input: &Path) -> usize {
    let dir = tempfile::tempdir().expect("temp dir");
    let (x86_out, arm_out) = (dir.path().join("x86_64"), dir.path().join("aarch64"));
    let host_secs = render(host(), input, &x86_out);
    let arm_secs = render(arm.command(), input, &arm_out);
    println!(
        "render of {}: host {host_secs:.1} s, aarch64 under qemu {arm_secs:.1} s",
        input.display()
    );

    let names = frames(&x86_out);
    assert!(!names.is_empty());
    assert_eq!(frames(&arm_out), names);
    let (mut worst, mut sum, mut finite, mut identical) = (f64::INFINITY, 0.0, 0, 0);
    for name in &names {
        let x86 = decode(&fs::read(x86_out.join(name)).expect("x86 frame"));
        let arm = decode(&fs::read(arm_out.join(name)).expect("aarch64 frame"));
        assert_eq!((arm.width, arm.height), (x86.width, x86.height), "{name:?}");
        let db = psnr(&x86.rgb, &arm.rgb);
        println!("{db:>8.2} dB  {}", name.display());
        assert!(db >= MIN_PSNR_DB, "{name:?}: {db:.2} dB");
        worst = worst.min(db);
        if db.is_finite() {
            sum += db;
            finite += 1;
        } else {
            identical += 1;
        }
    }
    let mean = if finite > 0 {
        format!("{:.2} dB", sum / finite as f64)
    } else {
        "none".to_owned()
    };
    println!(
        "{} frames: lowest PSNR {worst:.2} dB, mean {mean} over the {finite} that differ, \
         {identical} identical",
        names.len()
    );
    names.len()
}

#[test]
#[ignore = "needs the aarch64 build and qemu-user: make test-aarch64"]
fn aarch64_frames_of_the_sample_gallery_match_the_host_ones() {
    let arm = Arm::new();
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    compare(&arm, &assets);
}

/// HEIC and AVIF are decoded by libheif with Debian's arm64 libde265 and dav1d: the ARM build
/// must have found both when it was built (libheif leaves out a codec it does not find) and at
/// run time.
#[test]
#[ignore = "needs the aarch64 build and qemu-user: make test-aarch64"]
fn aarch64_decodes_heic_and_avif_like_the_host() {
    let arm = Arm::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("photos");
    fs::create_dir(&input).expect("photos folder");
    fs::copy(
        fixture("edge/iphone-IMG_5195.HEIC"),
        input.join("iphone.heic"),
    )
    .expect("copy the HEIC fixture");
    let made = Command::new("heif-enc")
        .args(["-A", "-q", "70", "-p", "speed=9"])
        .arg(fixture("exif-orientation/Landscape_1.jpg"))
        .arg("-o")
        .arg(input.join("landscape.avif"))
        .output()
        .expect("heif-enc runs (scripts/deps.sh aarch64 installs libheif-examples)");
    assert!(
        made.status.success(),
        "heif-enc: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert_eq!(compare(&arm, &input), 2);
}
