//! Soak benchmark: a thousand screens for five minutes while the library changes and some
//! clients misbehave, then proof that nothing was left behind.
//!
//! Starts the release `framecast serve` on a copy of the sample gallery with the defaults a
//! user gets (1 s refresh, 5 s interval, 30 s write timeout), connects `SOAK_CLIENTS` stream
//! clients (default 1,000) for `SOAK_SECONDS` (default 300) and meanwhile adds a photo or
//! removes one every few seconds. One client in twenty stalls (stops reading for longer than
//! the write timeout, then checks that the server dropped it, and comes back), one in twenty
//! resets (reads a few frames, closes with a TCP reset, reconnects at once); the rest watch.
//!
//! Reported: the server's peak RSS and CPU, frames delivered, the healthy clients' worst gap
//! between two frames (goal: at most twice the refresh), and open files, TCP connections and
//! kernel socket memory (`ss -tm` on the server's port, and the machine's TCP memory and
//! orphans from `/proc/net/sockstat`) before, during and after. After the clients leave the
//! figures must come back to where they started: nothing leaks.
//!
//! `SOAK_ROUNDS` (default 1) repeats the clients' part on the same server: the resident set
//! after each round shows whether what the server keeps once they leave grows.
//!
//! `make soak` (`cargo bench --bench soak`); not part of `make bench` or `make test`.

mod common;
#[path = "../tests/common/sockets.rs"]
mod sockets;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Parts, ProcFigures, env_or, mib, status};

const REFRESH: Duration = Duration::from_secs(1);
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stalling client stops reading: past the write timeout, with room to spare for
/// its small receive buffer and the server's send buffer to fill.
const STALL: Duration = Duration::from_secs(45);
/// The receive buffer of a stalling client, so that the stall shows within seconds.
const STALL_RECV_BUFFER: u32 = 64 * 1024;
/// How often the library changes.
const CHANGE_EVERY: Duration = Duration::from_secs(5);
/// How often the figures are sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Healthy,
    Stall,
    Reset,
}

fn role(i: u64) -> Role {
    match i % 20 {
        0 => Role::Stall,
        10 => Role::Reset,
        _ => Role::Healthy,
    }
}

/// Everything the clients count, shared.
#[derive(Default)]
struct Tally {
    frames: AtomicU64,
    bytes: AtomicU64,
    /// Healthy clients whose stream broke (each reconnects).
    healthy_broken: AtomicU64,
    /// Connections refused (503 or a connect error).
    refused: AtomicU64,
    /// Stalls after which the server had dropped the client, and after which it had not.
    stalls_dropped: AtomicU64,
    stalls_kept: AtomicU64,
    resets: AtomicU64,
    /// Each healthy client's worst gap between two frames.
    gaps: Mutex<Vec<Duration>>,
    /// The healthy clients' slowest first frame, in µs.
    slowest_first_us: AtomicU64,
    /// Healthy clients' fewest frames.
    fewest_frames: AtomicU64,
}

async fn healthy(port: u16, until: Instant, tally: Arc<Tally>) {
    let (mut frames, mut worst_gap) = (0u64, Duration::ZERO);
    while Instant::now() < until {
        let connected = Instant::now();
        let mut parts = match Parts::open(port, "/stream.mjpg").await {
            Ok(p) => p,
            Err(_) => {
                tally.refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut last: Option<Instant> = None;
        while Instant::now() < until {
            match parts.next().await {
                Ok(jpeg) => {
                    let now = Instant::now();
                    match last {
                        Some(last) => worst_gap = worst_gap.max(now - last),
                        None => {
                            let first = (now - connected).as_micros() as u64;
                            tally.slowest_first_us.fetch_max(first, Ordering::Relaxed);
                        }
                    }
                    last = Some(now);
                    frames += 1;
                    tally.frames.fetch_add(1, Ordering::Relaxed);
                    tally.bytes.fetch_add(jpeg.len() as u64, Ordering::Relaxed);
                }
                Err(_) => {
                    tally.healthy_broken.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
    tally.fewest_frames.fetch_min(frames, Ordering::Relaxed);
    tally.gaps.lock().expect("gaps").push(worst_gap);
}

async fn stalling(port: u16, until: Instant, tally: Arc<Tally>) {
    while until.saturating_duration_since(Instant::now()) > STALL {
        let Ok(mut parts) = Parts::open_small(port, "/stream.mjpg", STALL_RECV_BUFFER).await else {
            tally.refused.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        for _ in 0..3 {
            if parts.next().await.is_err() {
                break;
            }
        }
        tokio::time::sleep(STALL).await;
        // What the kernel had buffered still arrives; then the stream must end. A server
        // that kept the client would go on sending for as long as it is read.
        let draining = Instant::now();
        let dropped = loop {
            if draining.elapsed() > Duration::from_secs(15) {
                break false;
            }
            match tokio::time::timeout(Duration::from_secs(5), parts.next()).await {
                Ok(Ok(_)) => continue,
                Ok(Err(_)) => break true,
                Err(_) => break false,
            }
        };
        let counter = if dropped {
            &tally.stalls_dropped
        } else {
            &tally.stalls_kept
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

async fn resetting(port: u16, until: Instant, seed: u64, tally: Arc<Tally>) {
    let mut round = seed;
    while Instant::now() < until {
        let Ok(mut parts) = Parts::open(port, "/stream.mjpg").await else {
            tally.refused.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        round += 1;
        for _ in 0..(2 + round % 9) {
            if parts.next().await.is_err() {
                break;
            }
        }
        // A linger of zero turns the close into a reset, as a player that is killed or a
        // phone that loses its network would leave it.
        let _ = socket2::SockRef::from(parts.socket()).set_linger(Some(Duration::ZERO));
        drop(parts);
        tally.resets.fetch_add(1, Ordering::Relaxed);
    }
}

/// The kernel's view at one moment.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    proc: ProcFigures,
    /// Server-side TCP connections on the port (not the listener), and those in TIME-WAIT.
    connections: usize,
    time_wait: usize,
    /// Receive + send queue memory of those sockets (`skmem` r + w), in bytes.
    socket_bytes: u64,
    /// The machine's TCP memory (pages × 4 KiB) and orphaned sockets (`/proc/net/sockstat`).
    tcp_mem_bytes: u64,
    orphans: u64,
    load: f64,
}

fn sample(pid: u32, port: u16) -> Sample {
    let sockets = sockets::on_port(port);
    let time_wait = sockets.iter().filter(|s| s.state == "TIME-WAIT").count();
    let socket_bytes = sockets.iter().map(|s| s.mem("r") + s.mem("w")).sum();
    let sockstat = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    let tcp: Vec<&str> = sockstat
        .lines()
        .find(|l| l.starts_with("TCP:"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let field = |name: &str| {
        tcp.iter()
            .position(|f| *f == name)
            .and_then(|i| tcp.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    Sample {
        proc: ProcFigures::of(pid),
        connections: sockets.len() - time_wait,
        time_wait,
        socket_bytes,
        tcp_mem_bytes: field("mem") * 4096,
        orphans: field("orphan"),
        load,
    }
}

/// The sample gallery's photos (not its notes), copied into `to`; their paths.
fn copy_gallery(to: &Path) -> Vec<PathBuf> {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut photos = Vec::new();
    for entry in std::fs::read_dir(&assets).expect("assets/ is readable") {
        let path = entry.expect("assets/ lists").path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ["jpg", "jpeg", "png", "gif", "webp", "tiff"].contains(&ext.as_str()) {
            let name = path.file_name().expect("a file name");
            std::fs::copy(&path, to.join(name)).expect("a photo copies");
            photos.push(to.join(name));
        }
    }
    photos.sort();
    photos
}

/// Adds a photo, or removes one added before, every [`CHANGE_EVERY`] until `stop`.
fn change_library(photos: &Path, pool: &[PathBuf], stop: &AtomicBool) -> (u64, u64) {
    let (mut added, mut removed) = (Vec::new(), 0u64);
    let mut step = 0u64;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(CHANGE_EVERY);
        step += 1;
        if step % 2 == 1 || added.len() < 2 {
            let source = &pool[step as usize % pool.len()];
            let ext = source.extension().and_then(|e| e.to_str()).unwrap_or("jpg");
            let path = photos.join(format!("added-{step:04}.{ext}"));
            if std::fs::copy(source, &path).is_ok() {
                added.push(path);
            }
        } else if std::fs::remove_file(added.remove(0)).is_ok() {
            removed += 1;
        }
    }
    (step.div_ceil(2), removed)
}

/// Once the clients have left: the figures when the server holds no connection any more (or
/// after 90 s), and how long that took.
fn settled(pid: u32, port: u16) -> (Sample, Duration) {
    let settle = Instant::now();
    loop {
        let s = sample(pid, port);
        if s.connections == 0 || settle.elapsed() > Duration::from_secs(90) {
            return (s, settle.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn in_mib(bytes: u64) -> String {
    format!("{:.2} MiB", mib(bytes))
}

fn with_time_wait(s: &Sample) -> String {
    format!("{} (+{} TIME-WAIT)", s.connections, s.time_wait)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("soak bench: skipped outside `cargo bench`");
        return;
    }
    let clients = env_or("SOAK_CLIENTS", 1000);
    let seconds = env_or("SOAK_SECONDS", 300);
    // More rounds show whether what the server keeps after one (allocator caches) grows.
    let rounds = env_or("SOAK_ROUNDS", 1).max(1);
    // A thousand sockets here and as many in the server: lift this process's open-file limit
    // as the server lifts its own.
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );

    let dir = tempfile::tempdir().expect("a temporary folder");
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).expect("the photo folder");
    let pool = copy_gallery(&photos);
    let base_photos = pool.len();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let log_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("soak-server.log");
    let log = std::fs::File::create(&log_path).expect("the server log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .arg("serve")
        .arg(&photos)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--max-clients", &(clients + 100).to_string()])
        .args(["--max-connections", &(clients + 300).to_string()])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env("FRAMECAST_CACHE_DIR", dir.path().join("cache"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("framecast serve starts");
    let pid = server.id();

    let deadline = Instant::now() + Duration::from_secs(120);
    while !status(port).is_some_and(|s| s["current"]["path"].is_string()) {
        assert!(Instant::now() < deadline, "no photo on screen after 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = sample(pid, port);
    eprintln!(
        "soak: {clients} clients for {seconds} s on port {port}, {base_photos} photos; server log in {}",
        log_path.display()
    );

    let tally = Arc::new(Tally {
        fewest_frames: AtomicU64::new(u64::MAX),
        ..Tally::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let sampler = {
        let (stop, samples) = (Arc::clone(&stop), Arc::clone(&samples));
        std::thread::spawn(move || {
            let started = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(SAMPLE_EVERY);
                let s = sample(pid, port);
                if started.elapsed().as_secs() % 30 < SAMPLE_EVERY.as_secs() {
                    eprintln!(
                        "  {:>4.0} s: {} connections, RSS {:.1} MiB, {} fds, socket memory {:.1} MiB, load {:.1}",
                        started.elapsed().as_secs_f64(),
                        s.connections,
                        mib(s.proc.rss),
                        s.proc.fds,
                        mib(s.socket_bytes),
                        s.load
                    );
                }
                samples.lock().expect("samples").push(s);
            }
        })
    };
    let changer = {
        let (stop, photos, pool) = (Arc::clone(&stop), photos.clone(), pool.clone());
        std::thread::spawn(move || change_library(&photos, &pool, &stop))
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    let mut after_rounds = Vec::new();
    for _ in 0..rounds {
        let until = Instant::now() + Duration::from_secs(seconds);
        runtime.block_on(async {
            let tasks: Vec<_> = (0..clients)
                .map(|i| {
                    let tally = Arc::clone(&tally);
                    match role(i) {
                        Role::Healthy => tokio::spawn(healthy(port, until, tally)),
                        Role::Stall => tokio::spawn(stalling(port, until, tally)),
                        Role::Reset => tokio::spawn(resetting(port, until, i, tally)),
                    }
                })
                .collect();
            for task in tasks {
                let _ = task.await;
            }
        });
        // Every client has closed: the server must let go of every connection and its memory.
        after_rounds.push(settled(pid, port));
    }
    let elapsed = started.elapsed();
    let during_cpu = ProcFigures::of(pid).cpu_seconds - before.proc.cpu_seconds;
    stop.store(true, Ordering::Relaxed);
    let (added, removed) = changer.join().expect("the library changer");
    let _ = sampler.join();
    let (after, settled_in) = after_rounds.last().copied().expect("one round at least");
    let files_now = std::fs::read_dir(&photos).map_or(0, |d| d.count());
    let library = Instant::now();
    let mut cache = (0, 0);
    let indexed = loop {
        let now = status(port);
        if let Some(s) = &now {
            cache = (
                s["cache"]["frames"].as_u64().unwrap_or(0),
                s["cache"]["bytes"].as_u64().unwrap_or(0),
            );
        }
        let n = now.and_then(|s| s["index"]["photos"].as_u64());
        if n == Some(files_now as u64) || library.elapsed() > Duration::from_secs(30) {
            break n;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = server.wait();
    let exited = Instant::now();
    let gone = loop {
        let s = sample(pid, port);
        if (s.connections == 0 && s.orphans <= before.orphans) || exited.elapsed().as_secs() > 30 {
            break s;
        }
        std::thread::sleep(Duration::from_millis(200));
    };

    let samples = samples.lock().expect("samples");
    let peak = |f: fn(&Sample) -> u64| samples.iter().map(f).max().unwrap_or(0);
    let t = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let frames = t(&tally.frames);
    let secs = elapsed.as_secs_f64();
    let us = |c: &AtomicU64| Duration::from_micros(t(c));
    let mut gaps = tally.gaps.lock().expect("gaps").clone();
    gaps.sort();
    let worst_gap = gaps.last().copied().unwrap_or_default();
    let p99_gap = gaps
        .get(gaps.len().saturating_sub(1 + gaps.len() / 100))
        .copied()
        .unwrap_or_default();
    let over_goal = gaps.iter().filter(|&&g| g > REFRESH * 2).count();
    println!(
        "soak: {clients} clients ({} watching, {} stalling, {} resetting) for {secs:.0} s, \
         refresh {REFRESH:?}, write timeout {WRITE_TIMEOUT:?}",
        (0..clients).filter(|&i| role(i) == Role::Healthy).count(),
        (0..clients).filter(|&i| role(i) == Role::Stall).count(),
        (0..clients).filter(|&i| role(i) == Role::Reset).count(),
    );
    println!(
        "  library:                {base_photos} photos, {added} added and {removed} removed while serving; \
         {files_now} on disk at the end, {} in the index",
        indexed.map_or_else(|| "?".into(), |n| n.to_string())
    );
    println!(
        "  frames delivered:       {frames} ({:.0}/s, {:.1} MiB/s); fewest by a watching client {}",
        frames as f64 / secs,
        mib(t(&tally.bytes)) / secs,
        t(&tally.fewest_frames)
    );
    println!(
        "  watching clients:       worst gap {worst_gap:.2?} (goal <= {:?}: {}; {over_goal} of {} clients over it, \
         99th percentile {p99_gap:.2?}), slowest first frame {:.2?}, {} streams broken, {} connections refused",
        REFRESH * 2,
        if worst_gap <= REFRESH * 2 {
            "met"
        } else {
            "MISSED"
        },
        gaps.len(),
        us(&tally.slowest_first_us),
        t(&tally.healthy_broken),
        t(&tally.refused)
    );
    println!(
        "  misbehaving clients:    {} stalls dropped by the server, {} not dropped; {} resets",
        t(&tally.stalls_dropped),
        t(&tally.stalls_kept),
        t(&tally.resets)
    );
    println!(
        "  server CPU:             {during_cpu:.1} s in {secs:.0} s ({:.0}% of one core); machine load peak {:.1}",
        100.0 * during_cpu / secs,
        samples.iter().map(|s| s.load).fold(0.0, f64::max)
    );
    println!(
        "  server RSS:             {:.1} MiB before, {:.1} MiB peak, {:.1} MiB after \
         (the frame cache then held {} frames, {:.1} MiB)",
        mib(before.proc.rss),
        mib(after.proc.peak_rss),
        mib(after.proc.rss),
        cache.0,
        mib(cache.1)
    );
    if rounds > 1 {
        let each: Vec<String> = after_rounds
            .iter()
            .map(|(s, _)| format!("{:.1}", mib(s.proc.rss)))
            .collect();
        println!(
            "  RSS after each round:   {} MiB ({rounds} rounds of {seconds} s)",
            each.join(", ")
        );
    }
    println!(
        "                          before    peak during   after (settled in {settled_in:.1?})   after exit"
    );
    println!(
        "  open files (server):    {:<9} {:<13} {:<30} -",
        before.proc.fds,
        peak(|s| s.proc.fds as u64),
        after.proc.fds
    );
    println!(
        "  TCP connections:        {:<9} {:<13} {:<30} {}",
        before.connections,
        peak(|s| s.connections as u64),
        with_time_wait(&after),
        gone.connections
    );
    println!(
        "  socket memory (ss r+w): {:<9} {:<13} {:<30} {}",
        in_mib(before.socket_bytes),
        in_mib(peak(|s| s.socket_bytes)),
        in_mib(after.socket_bytes),
        in_mib(gone.socket_bytes)
    );
    println!(
        "  machine TCP memory:     {:<9} {:<13} {:<30} {}",
        in_mib(before.tcp_mem_bytes),
        in_mib(peak(|s| s.tcp_mem_bytes)),
        in_mib(after.tcp_mem_bytes),
        in_mib(gone.tcp_mem_bytes)
    );
    println!(
        "  orphaned sockets:       {:<9} {:<13} {:<30} {}",
        before.orphans,
        peak(|s| s.orphans),
        after.orphans,
        gone.orphans
    );
    let leaks = [
        (after.connections > before.connections, "connections"),
        (after.proc.fds > before.proc.fds + 4, "open files"),
        (
            after.socket_bytes > before.socket_bytes + 64 * 1024,
            "socket memory",
        ),
        (gone.orphans > before.orphans, "orphaned sockets"),
    ];
    let leaked: Vec<&str> = leaks.iter().filter(|(l, _)| *l).map(|(_, n)| *n).collect();
    if leaked.is_empty() {
        println!("  nothing leaked");
    } else {
        println!("  LEAKED: {}", leaked.join(", "));
    }
}
