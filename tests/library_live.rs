//! The library follows the disk while the real server runs: photos copied in, deleted,
//! edited, written slowly, folders that appear late, polling without notifications, orders,
//! albums and the place in the slideshow across a restart.
//!
//! Photos are small solid-colour JPEGs made here, so each frame tells which photo it shows
//! (its centre colour), and the EXIF dates are the test's own. Every wait polls against a
//! deadline.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::server::{MjpegReader, TestServer};
use common::{centre_colour, fixture, solid_jpeg};
use framecast::render::Size;
use framecast::schedule::Order;
use framecast::server::Settings;

/// What "within 3 s" allows: the promise is 3 s; the check polls until then.
const PROMISE: Duration = Duration::from_secs(3);

const COLOURS: [[u8; 3]; 6] = [
    [220, 30, 30],
    [30, 200, 30],
    [30, 30, 220],
    [220, 220, 30],
    [30, 220, 220],
    [220, 30, 220],
];

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, bytes).expect("write");
    path
}

/// Small frames and a fast timeline: the tests are about which photo, not about pixels.
fn quick(s: &mut Settings) {
    s.spec.size = Size {
        width: 160,
        height: 120,
    };
    s.timing.interval = Duration::from_millis(150);
    s.http.mjpeg.refresh = Duration::from_millis(100);
}

/// Polls `check` until it holds or `limit` passes; the elapsed time when it held.
fn within(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if check() {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn index_photos(server: &TestServer) -> u64 {
    server.status()["index"]["photos"].as_u64().unwrap_or(0)
}

fn current(server: &TestServer) -> Option<String> {
    server.status()["current"]["path"]
        .as_str()
        .map(String::from)
}

/// Which of `COLOURS` a frame shows.
fn which(jpeg: &[u8]) -> Option<usize> {
    let c = centre_colour(jpeg);
    COLOURS
        .iter()
        .position(|k| (0..3).all(|i| (c[i] - k[i] as f64).abs() < 20.0))
}

/// A stream client on its own thread that records each new picture it sees (by colour), so
/// the timeline runs (it has a viewer) and the test can read what was shown, in order.
struct Watcher {
    seen: Arc<Mutex<Vec<Option<usize>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn new(server: &TestServer) -> Watcher {
        let mut reader: MjpegReader = server.stream("GET /stream.mjpg HTTP/1.1");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&seen), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut last: Option<Vec<u8>> = None;
            while !st.load(Ordering::Relaxed) {
                // The server going away ends the stream: that ends the watcher too.
                let Some(jpeg) = next_part(&mut reader) else {
                    break;
                };
                // Pictures are re-sent; a new one has other bytes.
                if last.as_ref() != Some(&jpeg) {
                    s.lock().expect("lock").push(which(&jpeg));
                    last = Some(jpeg);
                }
            }
        });
        Watcher {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// The photos shown so far, consecutive repeats (a re-render of the same photo) merged.
    fn shown(&self) -> Vec<Option<usize>> {
        let mut v = self.seen.lock().expect("lock").clone();
        v.dedup();
        v
    }
}

/// The next part's JPEG, `None` once the stream ends.
fn next_part(reader: &mut MjpegReader) -> Option<Vec<u8>> {
    use std::io::{BufRead, Read};
    let mut len = None;
    loop {
        let mut line = String::new();
        if reader.reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            len = value.trim().parse::<usize>().ok();
        }
    }
    let mut jpeg = vec![0u8; len?];
    reader.reader.read_exact(&mut jpeg).ok()?;
    let mut tail = vec![0u8; reader.boundary.len() + 6];
    reader.reader.read_exact(&mut tail).ok()?;
    Some(jpeg)
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The thread ends at its next part (the server keeps sending) or when the server goes.
        if let Some(t) = self.thread.take() {
            drop(t);
        }
    }
}

#[test]
fn a_photo_copied_in_appears_and_a_deleted_one_leaves_within_3_s() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a.jpg", &solid_jpeg(COLOURS[0], None));
    write(dir.path(), "b.jpg", &solid_jpeg(COLOURS[1], None));
    let server = TestServer::start(vec![dir.path().to_path_buf()], quick);
    let watcher = Watcher::new(&server);
    within(Duration::from_secs(10), "two photos indexed", || {
        index_photos(&server) == 2
    });

    // Copied in: a real copy (create, write, close), as a file manager does.
    let source = tempfile::tempdir().expect("temp dir");
    let c = write(source.path(), "c.jpg", &solid_jpeg(COLOURS[2], None));
    fs::copy(&c, dir.path().join("c.jpg")).expect("copy");
    let copied = Instant::now();
    within(PROMISE, "the copied photo on screen", || {
        watcher.shown().contains(&Some(2))
    });
    eprintln!("copied photo shown after {:?}", copied.elapsed());
    assert_eq!(index_photos(&server), 3);

    fs::remove_file(dir.path().join("a.jpg")).expect("delete");
    let deleted = Instant::now();
    within(PROMISE, "the deleted photo out of the index", || {
        index_photos(&server) == 2
    });
    // From then on it is never shown again: two more full cycles without it.
    let from = watcher.shown().len();
    within(Duration::from_secs(10), "two cycles", || {
        watcher.shown().len() >= from + 5
    });
    let after = watcher.shown()[from..].to_vec();
    assert!(!after.contains(&Some(0)), "{after:?}");
    eprintln!("deleted photo gone after {:?}", deleted.elapsed());
}

#[test]
fn a_file_written_slowly_in_pieces_is_not_shown_until_complete() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a.jpg", &solid_jpeg(COLOURS[0], None));
    let server = TestServer::start(vec![dir.path().to_path_buf()], quick);
    let watcher = Watcher::new(&server);
    within(Duration::from_secs(10), "one photo", || {
        index_photos(&server) == 1
    });

    // A slow copy: the file stays open and grows piece by piece for about 4 s, with pauses
    // longer than the settle time.
    let whole = fs::read(fixture("exif-orientation/Landscape_1.jpg")).expect("fixture");
    let target = dir.path().join("slow.jpg");
    let mut file = fs::File::create(&target).expect("create");
    let pieces = 8;
    let mut saw_pending = false;
    for chunk in whole.chunks(whole.len().div_ceil(pieces)) {
        file.write_all(chunk).expect("write");
        file.flush().expect("flush");
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            let status = server.status();
            assert_eq!(status["index"]["photos"], 1, "taken half-written: {status}");
            saw_pending |= status["index"]["pending"].as_u64() == Some(1);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(file);
    assert!(saw_pending, "the growing file was listed as pending");
    within(PROMISE, "the finished photo in the index", || {
        index_photos(&server) == 2
    });
    within(
        Duration::from_secs(10),
        "the finished photo on screen",
        || current(&server).is_some_and(|c| c.ends_with("slow.jpg")),
    );
    let status = server.status();
    assert_eq!(
        status["photos"]["failed"],
        serde_json::json!([]),
        "{status}"
    );
    drop(watcher);
}

#[test]
fn an_edited_photo_is_rendered_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let only = write(dir.path(), "only.jpg", &solid_jpeg(COLOURS[0], None));
    let server = TestServer::start(vec![dir.path().to_path_buf()], quick);
    let watcher = Watcher::new(&server);
    within(Duration::from_secs(10), "the photo on screen", || {
        watcher.shown().contains(&Some(0))
    });
    let misses = server.status()["cache"]["misses"].as_u64().unwrap_or(0);
    // Edited in place: same name, new content (as an editor saves).
    fs::write(&only, solid_jpeg(COLOURS[3], None)).expect("edit");
    within(PROMISE, "the edited photo on screen", || {
        watcher.shown().last() == Some(&Some(3))
    });
    assert!(server.status()["cache"]["misses"].as_u64().unwrap_or(0) > misses);
}

#[test]
fn a_folder_missing_at_start_is_picked_up_when_it_appears() {
    let dir = tempfile::tempdir().expect("temp dir");
    let present = dir.path().join("here");
    let late = dir.path().join("nas/photos");
    write(&present, "a.jpg", &solid_jpeg(COLOURS[0], None));
    let server = TestServer::start(vec![present, late.clone()], quick);
    let status = server.status();
    assert_eq!(status["index"]["roots"][1]["mode"], "missing", "{status}");
    // The share is mounted: the folder appears with photos in it.
    write(
        &dir.path().join("staging"),
        "b.jpg",
        &solid_jpeg(COLOURS[1], None),
    );
    fs::create_dir_all(late.parent().expect("parent")).expect("mkdir");
    fs::rename(dir.path().join("staging"), &late).expect("mount");
    within(PROMISE, "the late folder's photo indexed", || {
        index_photos(&server) == 2
    });
    let status = server.status();
    assert_eq!(status["index"]["roots"][1]["mode"], "watched", "{status}");
}

#[test]
fn without_watching_a_rescan_finds_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a.jpg", &solid_jpeg(COLOURS[0], None));
    let server = TestServer::start(vec![dir.path().to_path_buf()], |s| {
        quick(s);
        s.library.watch = false;
        s.library.rescan = Duration::from_millis(500);
    });
    within(Duration::from_secs(10), "one photo", || {
        index_photos(&server) == 1
    });
    let status = server.status();
    assert_eq!(status["index"]["following"], "polled", "{status}");
    write(dir.path(), "b.jpg", &solid_jpeg(COLOURS[1], None));
    within(PROMISE, "the new photo found by a rescan", || {
        index_photos(&server) == 2
    });
    fs::remove_file(dir.path().join("a.jpg")).expect("delete");
    within(PROMISE, "the deleted photo gone after a rescan", || {
        index_photos(&server) == 1
    });
}

/// The order of the first `n` photos shown by a server over `dir` in `order`.
fn shown_in_order(dir: &Path, order: Order, n: usize) -> Vec<Option<usize>> {
    let server = TestServer::start(vec![dir.to_path_buf()], |s| {
        quick(s);
        s.playback.order = order;
    });
    let count = fs::read_dir(dir).expect("dir").count() as u64;
    within(Duration::from_secs(10), "all photos indexed", || {
        server.status()["index"]["scanning"] == false && index_photos(&server) == count
    });
    let watcher = Watcher::new(&server);
    within(Duration::from_secs(20), "enough photos shown", || {
        watcher.shown().len() > n
    });
    // The first picture may come from before every photo was indexed; count from the second.
    watcher.shown()[1..=n].to_vec()
}

#[test]
fn shuffle_shows_every_photo_once_per_round() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, colour) in COLOURS.iter().enumerate().take(5) {
        write(dir.path(), &format!("p{i}.jpg"), &solid_jpeg(*colour, None));
    }
    let shown = shown_in_order(dir.path(), Order::Shuffle, 16);
    // Rounds are aligned to the start; the second picture shown is the start's successor, so
    // find a round boundary: the shown list holds whole rounds from some offset.
    let all: Vec<Option<usize>> = (0..5).map(Some).collect();
    let offset = (0..5).find(|&offset| {
        shown[offset..].chunks_exact(5).all(|round| {
            let mut r = round.to_vec();
            r.sort();
            r == all
        })
    });
    let offset = offset.unwrap_or_else(|| panic!("every photo once per round: {shown:?}"));
    assert!(shown.windows(2).all(|w| w[0] != w[1]), "{shown:?}");
    let rounds: Vec<&[Option<usize>]> = shown[offset..].chunks_exact(5).collect();
    assert!(
        rounds.windows(2).any(|w| w[0] != w[1]),
        "rounds are shuffled anew: {shown:?}"
    );
}

#[test]
fn date_order_follows_exif_dates() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Name order a, b, c, d; date order c, a, d, b.
    let dated = [
        ("a.jpg", 0, "2015:06:01 10:00:00"),
        ("b.jpg", 1, "2023:01:01 09:00:00"),
        ("c.jpg", 2, "2001:12:24 18:30:00"),
        ("d.jpg", 3, "2019:03:15 12:00:00"),
    ];
    for (name, colour, date) in dated {
        write(dir.path(), name, &solid_jpeg(COLOURS[colour], Some(date)));
    }
    let shown = shown_in_order(dir.path(), Order::Date, 8);
    let cycle = [Some(2), Some(0), Some(3), Some(1)];
    let start = cycle
        .iter()
        .position(|c| *c == shown[0])
        .expect("a known photo");
    let expected: Vec<Option<usize>> = (0..8).map(|i| cycle[(start + i) % 4]).collect();
    assert_eq!(shown, expected);
    let recent = shown_in_order(dir.path(), Order::Recent, 4);
    let start = cycle.iter().position(|c| *c == recent[0]).expect("known");
    let expected: Vec<Option<usize>> = (0..4).map(|i| cycle[(start + 4 - i) % 4]).collect();
    assert_eq!(recent, expected, "recent is newest first");
}

#[test]
fn the_place_in_the_slideshow_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = tempfile::tempdir().expect("state dir");
    for (i, colour) in COLOURS.iter().enumerate().take(5) {
        write(dir.path(), &format!("p{i}.jpg"), &solid_jpeg(*colour, None));
    }
    let persisted = |s: &mut Settings| {
        quick(s);
        s.library.index = Some(state.path().join("index.sqlite"));
        s.playback.resume = Some(state.path().join("position.json"));
    };
    let mut server = TestServer::start(vec![dir.path().to_path_buf()], persisted);
    let watcher = Watcher::new(&server);
    within(Duration::from_secs(10), "a few photos shown", || {
        watcher.shown().len() >= 3
    });
    assert!(server.shutdown(Duration::from_secs(10)), "stops");
    drop(watcher);
    let position: serde_json::Value = serde_json::from_slice(
        &fs::read(state.path().join("position.json")).expect("position written"),
    )
    .expect("position JSON");
    let last = position["cursor"]["path"]
        .as_str()
        .expect("a cursor")
        .to_string();
    let last: usize = last
        .trim_end_matches(".jpg")
        .rsplit('p')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("p<N>.jpg");
    drop(server);

    let server = TestServer::start(vec![dir.path().to_path_buf()], persisted);
    // The index came back with every photo before any walk, and the walk reads no header.
    assert_eq!(index_photos(&server), 5);
    within(Duration::from_secs(10), "the walk done", || {
        server.status()["index"]["scanning"] == false
    });
    assert_eq!(server.status()["index"]["headers_read"], 0);
    let watcher = Watcher::new(&server);
    within(Duration::from_secs(10), "a photo shown", || {
        !watcher.shown().is_empty()
    });
    assert_eq!(
        watcher.shown()[0],
        Some((last + 1) % 5),
        "goes on after photo {last}"
    );
}

#[test]
fn raw_files_are_not_listed_and_albums_are_top_level_folders() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("Pictures");
    write(&root, "loose.jpg", &solid_jpeg(COLOURS[0], None));
    write(&root, "2023/DSC_1.JPG", &solid_jpeg(COLOURS[1], None));
    write(&root, "2023/DSC_1.NEF", b"II*\0\x08\0\0\0raw");
    write(&root, "2023/DSC_1.xmp", b"<x:xmpmeta/>");
    write(
        &root,
        "2023/deeper/DSC_2.jpg",
        &solid_jpeg(COLOURS[2], None),
    );
    write(&root, "Trips/IMG_1.DNG", b"II*\0\x08\0\0\0raw");
    write(&root, "Trips/IMG_1.jpg", &solid_jpeg(COLOURS[3], None));
    let server = TestServer::start(vec![root.clone()], |s| {
        quick(s);
        s.playback.albums = vec!["Trips".into()];
    });
    within(Duration::from_secs(10), "the four photos indexed", || {
        let status = server.status();
        status["index"]["scanning"] == false && status["index"]["photos"] == 4
    });
    let status = server.status();
    assert_eq!(status["index"]["photos"], 4, "{status}");
    assert_eq!(status["index"]["formats"]["JPEG"], 4, "{status}");
    let albums: serde_json::Value =
        serde_json::from_slice(&server.get("GET", "/api/albums").body).expect("JSON");
    assert_eq!(
        albums,
        serde_json::json!([
            {"name": "2023", "photos": 2, "playing": false},
            {"name": "Pictures", "photos": 1, "playing": false},
            {"name": "Trips", "photos": 1, "playing": true},
        ])
    );
    // --album Trips: only that album plays.
    within(Duration::from_secs(10), "the Trips photo on screen", || {
        current(&server).is_some_and(|c| c.ends_with("Trips/IMG_1.jpg"))
    });
    assert_eq!(server.status()["photos"]["found"], 1);
    let watcher = Watcher::new(&server);
    let published = server.status()["photos"]["pictures_published"]
        .as_u64()
        .unwrap_or(0);
    within(Duration::from_secs(10), "three more pictures", || {
        server.status()["photos"]["pictures_published"].as_u64() >= Some(published + 3)
    });
    assert_eq!(watcher.shown(), [Some(3)]);
}
