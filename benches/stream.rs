//! Load benchmark: many MJPEG clients on loopback against the real `framecast serve` process.
//!
//! Starts the release binary on the sample gallery with `--refresh 100ms` and runs two
//! scenarios of `BENCH_SECONDS` (default 30) each, on a fresh server each: `BENCH_CLIENTS`
//! clients (default 500) on the default stream, then three renditions (1920x1080, 1280x720
//! and 800x480 through `?size=`) with `BENCH_RENDITION_CLIENTS` clients each (default 300).
//! Every client reads and parses the stream and checks each frame's size in its JPEG header.
//! Reported: the server's CPU time and peak RSS (from /proc), frames delivered per second per
//! rendition, the worst gap any client saw between two frames, and the renders (cache misses)
//! per picture shown and rendition. Targets: RSS under the cache size + 64 MiB, no client
//! starved or sent a frame of another size, and per-client cost a copy: about one render per
//! picture and rendition, whatever the number of clients.
//!
//! `cargo bench --bench stream` (part of `make bench`).

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Parts, ProcFigures, env_or, mib};

const CACHE: &str = "64MiB";
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// One kind of screen: the query it adds to the stream URL and the frame size it must get.
struct Rendition {
    query: &'static str,
    size: (u16, u16),
}

const RENDITIONS: [Rendition; 3] = [
    Rendition {
        query: "",
        size: (1920, 1080),
    },
    Rendition {
        query: "?size=1280x720",
        size: (1280, 720),
    },
    Rendition {
        query: "?size=800x480",
        size: (800, 480),
    },
];

#[derive(Default)]
struct ClientResult {
    frames: u64,
    worst_gap: Duration,
    wrong_size: u64,
}

/// Width and height from a JPEG's start-of-frame segment.
fn jpeg_size(jpeg: &[u8]) -> Option<(u16, u16)> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*jpeg.get(at)?, *jpeg.get(at + 1)?]));
    let mut at = 2;
    loop {
        if *jpeg.get(at)? != 0xFF {
            return None;
        }
        let marker = *jpeg.get(at + 1)?;
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            return Some((be16(at + 7)?, be16(at + 5)?));
        }
        at += 2 + usize::from(be16(at + 2)?);
    }
}

async fn client(
    port: u16,
    rendition: &'static Rendition,
    until: Instant,
    bytes: Arc<AtomicU64>,
) -> std::io::Result<ClientResult> {
    let mut parts = Parts::open(port, &format!("/stream.mjpg{}", rendition.query)).await?;
    let mut result = ClientResult::default();
    let mut last = Instant::now();
    while Instant::now() < until {
        let jpeg = parts.next().await?;
        bytes.fetch_add(jpeg.len() as u64, Ordering::Relaxed);
        if jpeg_size(jpeg) != Some(rendition.size) {
            result.wrong_size += 1;
        }
        result.frames += 1;
        result.worst_gap = result.worst_gap.max(last.elapsed());
        last = Instant::now();
    }
    Ok(result)
}

fn main() {
    // `cargo test --all-targets` builds and runs benches once in test mode; the load run is
    // for `cargo bench` only.
    if !std::env::args().any(|a| a == "--bench") {
        println!("stream load bench: skipped outside `cargo bench`");
        return;
    }
    let seconds = env_or("BENCH_SECONDS", 30);
    run(&RENDITIONS[..1], env_or("BENCH_CLIENTS", 500), seconds);
    run(&RENDITIONS, env_or("BENCH_RENDITION_CLIENTS", 300), seconds);
}

/// One scenario on a fresh server: `each` clients on each of `renditions`.
fn run(renditions: &'static [Rendition], each: u64, seconds: u64) {
    let clients = each * renditions.len() as u64;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let assets = concat!(env!("CARGO_MANIFEST_DIR"), "/assets");
    let state = tempfile::tempdir().expect("a state folder");
    let mut server = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .args(["serve", assets, "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--refresh",
            "100ms",
            "--interval",
            "5s",
            "--threads",
            "2",
            "--cache-size",
            CACHE,
            "--max-clients",
            &clients.to_string(),
            // Each run renders what it serves, whatever earlier runs left on disk.
            "--no-disk-cache",
        ])
        .arg("--state-dir")
        .arg(state.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("framecast serve starts");
    let pid = server.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !common::status(port).is_some_and(|s| s["current"]["path"].is_string()) {
        assert!(Instant::now() < deadline, "no photo on screen after 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cpu_before = ProcFigures::of(pid).cpu_seconds;
    let misses_before = cache_misses(port);
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let bytes = Arc::new(AtomicU64::new(0));
    let results: Vec<(usize, Option<ClientResult>)> = runtime.block_on(async {
        let tasks: Vec<_> = (0..clients as usize)
            .map(|i| {
                let r = i % renditions.len();
                let task = tokio::spawn(client(port, &renditions[r], until, Arc::clone(&bytes)));
                (r, task)
            })
            .collect();
        let mut results = Vec::new();
        for (r, task) in tasks {
            results.push((r, task.await.ok().and_then(Result::ok)));
        }
        results
    });
    let elapsed = started.elapsed().as_secs_f64();
    let after = ProcFigures::of(pid);
    let status = common::status(port);
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = server.wait();

    let cpu = after.cpu_seconds - cpu_before;
    let failed = results.iter().filter(|(_, r)| r.is_none()).count();
    let frames: u64 = results.iter().flat_map(|(_, r)| r).map(|r| r.frames).sum();
    println!(
        "stream load: {each} clients on each of {} rendition(s) for {seconds} s, --refresh 100ms, 2 render threads",
        renditions.len()
    );
    println!("  clients failed:        {failed}");
    println!(
        "  frames delivered:      {frames} ({:.0}/s, {:.1} MiB/s)",
        frames as f64 / elapsed,
        mib(bytes.load(Ordering::Relaxed)) / elapsed
    );
    for (r, rendition) in renditions.iter().enumerate() {
        let mine: Vec<&ClientResult> = results
            .iter()
            .filter(|(of, _)| *of == r)
            .flat_map(|(_, c)| c)
            .collect();
        let fewest = mine.iter().map(|c| c.frames).min().unwrap_or(0);
        let worst_gap = mine.iter().map(|c| c.worst_gap).max().unwrap_or_default();
        let wrong: u64 = mine.iter().map(|c| c.wrong_size).sum();
        println!(
            "  {}x{}: {} clients, fewest frames/client {fewest} ({:.1}/s), worst gap {worst_gap:.0?}, \
             {wrong} frames of another size",
            rendition.size.0,
            rendition.size.1,
            mine.len(),
            fewest as f64 / elapsed
        );
    }
    println!(
        "  server CPU:            {cpu:.1} s in {elapsed:.1} s ({:.0}% of one core)",
        100.0 * cpu / elapsed
    );
    println!(
        "  server peak RSS:       {:.1} MiB (target < cache {CACHE} + 64 MiB = {:.0} MiB)",
        mib(after.peak_rss),
        mib(CACHE_BYTES) + 64.0
    );
    match status {
        Some(s) => {
            let misses = s["cache"]["misses"].as_u64().unwrap_or(0);
            let published = s["photos"]["pictures_published"].as_u64().unwrap_or(0);
            let during = misses.saturating_sub(misses_before);
            println!(
                "  renders:               {misses} in all ({during} during the run) for {published} pictures \
                 shown in {} rendition(s): {:.2} per picture and rendition",
                renditions.len(),
                misses as f64 / (published.max(1) * renditions.len() as u64) as f64
            );
        }
        None => println!("  renders:               status unavailable"),
    }
}

/// Renders so far (cache misses), from `/api/status`.
fn cache_misses(port: u16) -> u64 {
    common::status(port)
        .and_then(|s| s["cache"]["misses"].as_u64())
        .unwrap_or(0)
}
