//! Load benchmark: many MJPEG clients on loopback against the real `framecast serve` process.
//!
//! Starts the release binary on the sample gallery with `--refresh 100ms`, connects
//! `BENCH_CLIENTS` clients (default 500) that read and parse the stream for `BENCH_SECONDS`
//! (default 30), and reports the server's CPU time and peak RSS (from /proc), the frames
//! delivered per second, and the worst gap any client saw between two frames. Targets: RSS
//! under the cache size + 64 MiB, no client starved, and per-client cost a copy (the render
//! count stays at the photos shown, whatever the number of clients).
//!
//! `cargo bench --bench stream` (part of `make bench`).

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use common::{Parts, ProcFigures, env_or, mib};

const CACHE: &str = "64MiB";
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

struct ClientResult {
    frames: u64,
    worst_gap: Duration,
}

async fn client(port: u16, until: Instant, bytes: Arc<AtomicU64>) -> std::io::Result<ClientResult> {
    let mut parts = Parts::open(port, "/stream.mjpg").await?;
    let mut frames = 0;
    let mut last = Instant::now();
    let mut worst_gap = Duration::ZERO;
    while Instant::now() < until {
        let length = parts.next().await?.len();
        bytes.fetch_add(length as u64, Ordering::Relaxed);
        frames += 1;
        worst_gap = worst_gap.max(last.elapsed());
        last = Instant::now();
    }
    Ok(ClientResult { frames, worst_gap })
}

fn main() {
    // `cargo test --all-targets` builds and runs benches once in test mode; the load run is
    // for `cargo bench` only.
    if !std::env::args().any(|a| a == "--bench") {
        println!("stream load bench: skipped outside `cargo bench`");
        return;
    }
    let clients = env_or("BENCH_CLIENTS", 500);
    let seconds = env_or("BENCH_SECONDS", 30);
    let port = 18_000 + (std::process::id() % 1000) as u16;
    let assets = concat!(env!("CARGO_MANIFEST_DIR"), "/assets");
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
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("framecast serve starts");
    let pid = server.id();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime.block_on(async move {
        // Wait for the server to answer.
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let cpu_before = ProcFigures::of(pid).cpu_seconds;
        let started = Instant::now();
        let until = started + Duration::from_secs(seconds);
        let bytes = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..clients)
            .map(|_| tokio::spawn(client(port, until, Arc::clone(&bytes))))
            .collect();
        let mut results = Vec::new();
        let mut failed = 0;
        for task in tasks {
            match task.await {
                Ok(Ok(r)) => results.push(r),
                _ => failed += 1,
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let after = ProcFigures::of(pid);
        let (cpu_after, hwm) = (after.cpu_seconds, after.peak_rss);
        let status = tokio::task::spawn_blocking(move || cache_counters(port))
            .await
            .unwrap_or_else(|_| "unavailable".into());
        (
            results,
            failed,
            elapsed,
            cpu_after - cpu_before,
            hwm,
            bytes.load(Ordering::Relaxed),
            status,
        )
    });
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = server.wait();

    let (results, failed, elapsed, cpu, hwm, bytes, status) = report;
    let frames: u64 = results.iter().map(|r| r.frames).sum();
    let fewest = results.iter().map(|r| r.frames).min().unwrap_or(0);
    let worst_gap = results
        .iter()
        .map(|r| r.worst_gap)
        .max()
        .unwrap_or_default();
    println!("stream load: {clients} clients for {seconds} s, --refresh 100ms, 2 render threads");
    println!("  clients failed:        {failed}");
    println!(
        "  frames delivered:      {frames} ({:.0}/s, {:.1} MiB/s)",
        frames as f64 / elapsed,
        mib(bytes) / elapsed
    );
    println!(
        "  fewest frames/client:  {fewest} ({:.1}/s)",
        fewest as f64 / elapsed
    );
    println!("  worst frame gap:       {worst_gap:?}");
    println!(
        "  server CPU:            {cpu:.1} s in {elapsed:.1} s ({:.0}% of one core)",
        100.0 * cpu / elapsed
    );
    println!(
        "  server peak RSS:       {:.1} MiB (target < cache {CACHE} + 64 MiB = {:.0} MiB)",
        mib(hwm),
        mib(CACHE_BYTES) + 64.0
    );
    println!("  renders (cache misses): {status}");
}

/// The cache counters from `/api/status`.
fn cache_counters(port: u16) -> String {
    match common::status(port) {
        Some(v) => format!(
            "{} misses, {} hits, {} pictures published",
            v["cache"]["misses"], v["cache"]["hits"], v["photos"]["pictures_published"]
        ),
        None => "unavailable".into(),
    }
}
