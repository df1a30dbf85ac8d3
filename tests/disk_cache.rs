//! The frame cache on disk, with the real server: a restart serves the frames from disk
//! without rendering them again, a damaged file is rendered again instead of served, and the
//! folder can be deleted under a running server. Every wait polls against a deadline.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::server::{TestServer, wait_until};
use common::{assert_frame, fixture};
use framecast::cache::{self, disk};
use framecast::render::Size;

const SIZE: Size = Size {
    width: 320,
    height: 240,
};
const PATIENCE: Duration = Duration::from_secs(60);

/// A photo folder of `n` fixtures, dated an hour ago so that the library takes them at once
/// (it waits for files copied just now to settle).
fn photos(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..n {
        let photo = dir.path().join(format!("photo-{i}.jpg"));
        fs::copy(
            fixture(&format!("exif-orientation/Landscape_{}.jpg", i + 1)),
            &photo,
        )
        .expect("copy");
        fs::File::options()
            .write(true)
            .open(&photo)
            .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(3600)))
            .expect("date the photo");
    }
    dir
}

/// The server on `photos` with its frames cached in `cache`, the timeline moving every
/// `interval`, and `memory` bytes of frames kept in memory.
fn serve(photos: &Path, cache: &Path, interval: Duration, memory: u64) -> TestServer {
    TestServer::start(vec![photos.to_path_buf()], |s| {
        s.spec.size = SIZE;
        s.timing.interval = interval;
        s.http.mjpeg.refresh = Duration::from_millis(100);
        s.cache = cache::Limits { max_bytes: memory };
        s.disk_cache = Some(disk::Options {
            dir: cache.to_path_buf(),
            max_bytes: 64 << 20,
        });
    })
}

/// A stream client reading in the background (a timeline with nobody watching holds still),
/// keeping every distinct frame it gets.
struct Viewer {
    frames: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Viewer {
    /// Watches once every photo is found and one is on screen, so every frame is a photo's
    /// (`/healthz` alone would also take the placeholder that says it is looking for them).
    fn watch(server: &TestServer, photos: u64) -> Viewer {
        wait_until("every photo found, one on screen", PATIENCE, || {
            let status = server.status();
            stat(&status, "photos.found") == photos && status["current"].is_object()
        });
        let mut stream = server.stream("GET /stream.mjpg HTTP/1.1");
        let frames = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (frames, stop) = (Arc::clone(&frames), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let jpeg = stream.next_jpeg();
                    let mut frames = frames.lock().expect("lock");
                    if !frames.contains(&jpeg) {
                        frames.push(jpeg);
                    }
                }
            })
        };
        Viewer {
            frames,
            stop,
            thread: Some(thread),
        }
    }

    fn distinct(&self) -> Vec<Vec<u8>> {
        self.frames.lock().expect("lock").clone()
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

/// A number from `/api/status` at `path` (`cache.disk.hits`).
fn stat(status: &serde_json::Value, path: &str) -> u64 {
    let value = path.split('.').fold(status, |v, key| &v[key]);
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{path} in {status}"))
}

/// `framecast_renders_total` from `/metrics`.
fn renders(server: &TestServer) -> u64 {
    let body = String::from_utf8(server.get("GET", "/metrics").body).expect("text");
    body.lines()
        .find_map(|l| l.strip_prefix("framecast_renders_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no renders_total in\n{body}"))
}

/// The frame files in `dir`.
fn frame_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.expect("entry").path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "frame"));
    files.sort();
    files
}

/// Serves `photos` over the disk cache in `cache`, a photo every 200 ms, and a client watching
/// once the library has found all `count` of them.
fn watched(photos: &Path, cache: &Path, count: u64) -> (TestServer, Viewer) {
    let server = serve(photos, cache, Duration::from_millis(200), 64 << 20);
    let viewer = Viewer::watch(&server, count);
    (server, viewer)
}

/// Serves `photos` until every one of them was shown and written to `cache`; returns the
/// distinct frames a client saw (one a photo).
fn fill(photos: &Path, cache: &Path, count: usize) -> Vec<Vec<u8>> {
    let (mut server, viewer) = watched(photos, cache, count as u64);
    wait_until("every photo shown and on disk", PATIENCE, || {
        let status = server.status();
        viewer.distinct().len() >= count && stat(&status, "cache.disk.writes") >= count as u64
    });
    let seen = viewer.distinct();
    drop(viewer);
    assert!(server.shutdown(Duration::from_secs(10)), "stops");
    assert_eq!(seen.len(), count, "one frame a photo");
    assert_eq!(frame_files(cache).len(), count);
    seen
}

#[test]
fn a_restart_serves_the_frames_from_disk_without_rendering() {
    let photos = photos(2);
    let cache = tempfile::tempdir().expect("cache dir");
    let before = fill(photos.path(), cache.path(), 2);

    let (server, viewer) = watched(photos.path(), cache.path(), 2);
    wait_until("both photos shown again", PATIENCE, || {
        viewer.distinct().len() >= 2 && stat(&server.status(), "cache.disk.hits") >= 2
    });
    let status = server.status();
    assert_eq!(renders(&server), 0, "{status}");
    assert_eq!(stat(&status, "cache.misses"), 0, "{status}");
    assert_eq!(stat(&status, "cache.disk.errors"), 0, "{status}");
    assert_eq!(stat(&status, "cache.disk.files"), 2, "{status}");
    // The very frames the first run rendered, whole.
    let after = viewer.distinct();
    for frame in &after {
        assert!(
            before.contains(frame),
            "a frame the first run did not serve"
        );
        assert_frame(frame, SIZE);
    }
}

#[test]
fn a_corrupt_or_truncated_file_is_rendered_again_not_served() {
    let photos = photos(2);
    let cache = tempfile::tempdir().expect("cache dir");
    let before = fill(photos.path(), cache.path(), 2);
    let files = frame_files(cache.path());
    // Bytes flipped in the middle of one, the other cut short.
    let mut bytes = fs::read(&files[0]).expect("read");
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xff;
    }
    fs::write(&files[0], &bytes).expect("write");
    let bytes = fs::read(&files[1]).expect("read");
    fs::write(&files[1], &bytes[..bytes.len() * 2 / 3]).expect("write");

    let (server, viewer) = watched(photos.path(), cache.path(), 2);
    wait_until("both photos rendered again", PATIENCE, || {
        let status = server.status();
        viewer.distinct().len() >= 2 && stat(&status, "cache.disk.writes") >= 2
    });
    let status = server.status();
    assert_eq!(stat(&status, "cache.disk.discarded"), 2, "{status}");
    assert_eq!(stat(&status, "cache.disk.hits"), 0, "{status}");
    assert_eq!(stat(&status, "cache.misses"), 2, "{status}");
    assert_eq!(renders(&server), 2, "{status}");
    for frame in viewer.distinct() {
        assert!(before.contains(&frame), "a damaged frame was served");
        assert_frame(&frame, SIZE);
    }
    // Written whole again.
    for file in &files {
        wait_until("the file written again", PATIENCE, || file.exists());
    }
}

#[test]
fn deleting_the_folder_while_serving_breaks_nothing() {
    let photos = photos(3);
    let parent = tempfile::tempdir().expect("temp dir");
    let cache = parent.path().join("frames");
    // No room in memory: every frame is looked for on disk.
    let server = serve(photos.path(), &cache, Duration::from_millis(100), 1);
    let viewer = Viewer::watch(&server, 3);
    wait_until("frames on disk", PATIENCE, || {
        frame_files(&cache).len() == 3
    });
    let published = stat(&server.status(), "photos.pictures_published");
    fs::remove_dir_all(&cache).expect("delete the folder");
    wait_until(
        "the folder made again, the timeline going on",
        PATIENCE,
        || {
            let status = server.status();
            !frame_files(&cache).is_empty()
                && stat(&status, "photos.pictures_published") >= published + 6
        },
    );
    let status = server.status();
    assert!(stat(&status, "cache.disk.hits") > 0, "{status}");
    assert_eq!(status["photos"]["failed_count"], 0, "{status}");
    assert!(server.get("GET", "/healthz").status == 200);
    let frames = viewer.distinct();
    assert_eq!(frames.len(), 3, "one frame a photo");
    for frame in &frames {
        assert_frame(frame, SIZE);
    }
    // The server's own snapshot is whole too.
    let snapshot = server.get("GET", "/snapshot.jpg");
    assert_eq!(snapshot.status, 200);
    assert_frame(&snapshot.body, SIZE);
}
