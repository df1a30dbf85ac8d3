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

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const CACHE: &str = "64MiB";
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (utime + stime in seconds, VmHWM in bytes) of a process.
fn proc_usage(pid: u32) -> (f64, u64) {
    let ticks = 100.0; // USER_HZ on Linux
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let cpu = fields
        .get(11)
        .zip(fields.get(12))
        .and_then(|(u, s)| Some(u.parse::<f64>().ok()? + s.parse::<f64>().ok()?))
        .unwrap_or(0.0)
        / ticks;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024;
    (cpu, hwm)
}

struct ClientResult {
    frames: u64,
    worst_gap: Duration,
}

async fn client(port: u16, until: Instant, bytes: Arc<AtomicU64>) -> std::io::Result<ClientResult> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.write_all(b"GET /stream.mjpg HTTP/1.1\r\nHost: bench\r\n\r\n")
        .await?;
    let mut reader = BufReader::with_capacity(64 * 1024, tcp);
    let mut line = String::new();
    // Response head, then the opening delimiter.
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        if line == "\r\n" {
            break;
        }
    }
    line.clear();
    reader.read_line(&mut line).await?;
    let mut frames = 0;
    let mut last = Instant::now();
    let mut worst_gap = Duration::ZERO;
    let mut body = vec![0u8; 1 << 20];
    while Instant::now() < until {
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        if body.len() < length {
            body.resize(length, 0);
        }
        reader.read_exact(&mut body[..length]).await?;
        line.clear();
        reader.read_line(&mut line).await?; // "\r\n" after the JPEG
        line.clear();
        reader.read_line(&mut line).await?; // the delimiter
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
            // Each run renders what it serves, whatever earlier runs left on disk.
            "--no-disk-cache",
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
        let (cpu_before, _) = proc_usage(pid);
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
        let (cpu_after, hwm) = proc_usage(pid);
        let status = reqwest_like_status(port).await;
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
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
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

/// The cache counters from `/api/status`, read with a plain request.
async fn reqwest_like_status(port: u16) -> String {
    let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", port)).await else {
        return "unavailable".into();
    };
    let _ = tcp
        .write_all(b"GET /api/status HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .await;
    let mut response = String::new();
    let _ = tcp.read_to_string(&mut response).await;
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => format!(
            "{} misses, {} hits, {} pictures published",
            v["cache"]["misses"], v["cache"]["hits"], v["photos"]["pictures_published"]
        ),
        Err(_) => "unavailable".into(),
    }
}
