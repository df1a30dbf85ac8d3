//! The real server while photos misbehave under it: a photo replaced by a FIFO mid-stream,
//! and a photo that takes longer than the render time budget. In both the timeline keeps
//! moving and the photo is reported with its reason. Every wait polls against a deadline.

mod common;

use std::collections::HashSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::hostile;
use common::server::TestServer;
use framecast::render::Size;

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).expect("no NUL");
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

/// Keeps a stream client reading in the background (a timeline with nobody watching holds
/// still), counting the frames it gets.
struct Viewer {
    frames: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Viewer {
    fn watch(server: &TestServer) -> Viewer {
        let mut stream = server.stream("GET /stream.mjpg HTTP/1.1");
        let frames = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (frames, stop) = (Arc::clone(&frames), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    stream.next_jpeg();
                    frames.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        Viewer {
            frames,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What `/api/status` says: the photo on screen, pictures published, failures by file name.
fn snapshot(server: &TestServer) -> (Option<String>, u64, Vec<(String, String)>) {
    let status = server.status();
    let photos = &status["photos"];
    let name = |p: &serde_json::Value| {
        p.as_str()
            .and_then(|p| Path::new(p).file_name())
            .map(|n| n.to_string_lossy().into_owned())
    };
    let failed = photos["failed"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|f| Some((name(&f["path"])?, f["reason"].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    (
        name(&status["current"]["path"]),
        photos["pictures_published"].as_u64().unwrap_or(0),
        failed,
    )
}

/// Polls the status until `bad` is reported failed for a reason containing `reason`, then
/// until both `good` photos have been on screen again after that; returns the reason. Fails
/// after 20 s.
fn timeline_moves_past(server: &TestServer, bad: &str, reason: &str, good: [&str; 2]) -> String {
    let started = Instant::now();
    let mut failure: Option<String> = None;
    let mut seen_after: HashSet<String> = HashSet::new();
    let mut published_at_failure = 0;
    let mut published = 0;
    loop {
        let (current, now_published, failed) = snapshot(server);
        published = published.max(now_published);
        if failure.is_none()
            && let Some((_, why)) = failed.iter().find(|(name, _)| name == bad)
        {
            failure = Some(why.clone());
            published_at_failure = published;
        }
        if failure.is_some()
            && let Some(current) = current
        {
            seen_after.insert(current);
        }
        if failure.is_some() && good.iter().all(|g| seen_after.contains(*g)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "after {:?}: failure of {bad}: {failure:?}; shown since: {seen_after:?}; \
             {published} pictures published",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let why = failure.unwrap_or_default();
    assert!(why.contains(reason), "{bad}: {why}");
    assert!(
        !seen_after.contains(bad),
        "the failed photo was shown: {seen_after:?}"
    );
    assert!(published > published_at_failure, "the timeline moved on");
    why
}

fn small(s: &mut framecast::server::Settings) {
    s.spec.size = Size {
        width: 160,
        height: 120,
    };
    s.timing.interval = Duration::from_millis(100);
    s.http.mjpeg.refresh = Duration::from_millis(100);
}

#[test]
fn a_photo_replaced_by_a_fifo_while_streaming_is_skipped_and_the_timeline_moves_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["p1.png", "p2.png", "p3.png"] {
        std::fs::write(dir.path().join(name), hostile::black_png(32, 24, 8, &[])).expect("write");
    }
    let server = TestServer::start(vec![dir.path().to_path_buf()], |s| {
        small(s);
        // Keep no frame, so every turn reads the file again, as after an edit.
        s.cache.max_bytes = 1;
    });
    let viewer = Viewer::watch(&server);
    let started = Instant::now();
    while viewer.frames.load(Ordering::Relaxed) < 3 {
        assert!(started.elapsed() < Duration::from_secs(10), "no frames");
        std::thread::sleep(Duration::from_millis(10));
    }
    let p2 = dir.path().join("p2.png");
    std::fs::remove_file(&p2).expect("rm");
    mkfifo(&p2);
    // The library sees the FIFO (a warning names it) and drops the photo; the timeline goes
    // on with the other two and never opens the FIFO. Before the library noticed, a render of
    // p2.png may already have met the FIFO: the worker refuses it at once, never blocking.
    let started = Instant::now();
    let mut seen_after: HashSet<String> = HashSet::new();
    let mut dropped_at = None;
    loop {
        let status = server.status();
        if dropped_at.is_none() && status["index"]["photos"] == 2 {
            dropped_at = Some(status["photos"]["pictures_published"].as_u64().unwrap_or(0));
        }
        if dropped_at.is_some() {
            let (current, _, _) = snapshot(&server);
            seen_after.extend(current);
        }
        if seen_after.contains("p1.png") && seen_after.contains("p3.png") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "after {:?}: {status}; shown since: {seen_after:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!seen_after.contains("p2.png"), "{seen_after:?}");
    let (_, _, failed) = snapshot(&server);
    for (name, why) in &failed {
        assert!(
            name == "p2.png" && why.contains("not a regular file but a FIFO"),
            "{name}: {why}"
        );
    }
    let frames = viewer.frames.load(Ordering::Relaxed);
    drop(viewer);
    eprintln!("FIFO skipped; {frames} frames streamed");
}

#[test]
fn a_photo_over_the_time_budget_is_abandoned_and_the_timeline_moves_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a.png"), hostile::black_png(32, 24, 8, &[])).expect("write");
    // About 0.7 s of work on this machine when idle (16-bit, 12 MP), against a budget of
    // 150 ms; the small photos take about a millisecond.
    std::fs::write(
        dir.path().join("b-slow.png"),
        hostile::black_png(4000, 3000, 16, &[]),
    )
    .expect("write");
    std::fs::write(dir.path().join("c.png"), hostile::black_png(32, 24, 8, &[])).expect("write");
    let server = TestServer::start(vec![dir.path().to_path_buf()], |s| {
        small(s);
        s.pool.timeout = Duration::from_millis(150);
    });
    let viewer = Viewer::watch(&server);
    let why = timeline_moves_past(
        &server,
        "b-slow.png",
        "took longer than 0.150 s",
        ["a.png", "c.png"],
    );
    drop(viewer);
    eprintln!("slow photo skipped: {why}");
}
