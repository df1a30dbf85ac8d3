//! Real clients against the real server: ffmpeg reading the stream, VLC playing it headless,
//! and headless Chromium showing the viewer page. `make test` installs them (scripts/deps.sh);
//! a missing one fails the test with that advice rather than skipping it silently.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::browser::{ffmpeg_raw_frames, tool};
use common::fixture;
use common::server::TestServer;
use framecast::render::Size;

/// One test card (red top-left, green top-right corners) as the whole gallery.
fn card_server(size: Size) -> TestServer {
    TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.spec.size = size;
        s.http.mjpeg.refresh = Duration::from_millis(200);
    })
}

fn is_red(p: [u8; 3]) -> bool {
    p[0] > 170 && p[1] < 90 && p[2] < 90
}

fn is_green(p: [u8; 3]) -> bool {
    p[1] > 140 && p[0] < 100 && p[2] < 120
}

fn rgb(img: &image::RgbImage, x: u32, y: u32) -> [u8; 3] {
    img.get_pixel(x, y).0
}

#[test]
fn ffmpeg_decodes_frames_of_the_right_size() {
    let size = Size {
        width: 320,
        height: 240,
    };
    let server = card_server(size);
    let url = format!("http://{}/stream.mjpg", server.addr);
    let output = ffmpeg_raw_frames(&url, 4);
    assert!(
        output.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let frame_bytes = (size.width * size.height * 3) as usize;
    assert_eq!(
        output.stdout.len(),
        4 * frame_bytes,
        "four decoded frames of 320x240"
    );
    let first = image::RgbImage::from_raw(
        size.width,
        size.height,
        output.stdout[..frame_bytes].to_vec(),
    )
    .expect("a frame");
    // The card (3:2) in a 4:3 frame: bars top and bottom, red top-left corner of the card.
    assert!(is_red(rgb(&first, 8, 38)), "{:?}", rgb(&first, 8, 38));
    assert!(is_green(rgb(&first, 311, 38)), "{:?}", rgb(&first, 311, 38));
}

#[test]
fn vlc_plays_the_stream_headless() {
    let size = Size {
        width: 640,
        height: 360,
    };
    let server = card_server(size);
    let url = format!("http://{}/stream.mjpg", server.addr);
    let dir = tempfile::tempdir().expect("temp dir");
    // VLC refuses to run as root; it runs as `nobody`, which must be able to write here.
    let shots = dir.path().join("shots");
    std::fs::create_dir(&shots).expect("mkdir");
    for d in [dir.path(), shots.as_path()] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
    }
    let mut command = if unsafe_is_root() {
        let mut c = Command::new(tool("setpriv"));
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
        c.arg(tool("cvlc"));
        c
    } else {
        Command::new(tool("cvlc"))
    };
    let log = dir.path().join("vlc.log");
    let mut vlc = command
        .args([
            "-vv",
            "--intf",
            "dummy",
            "--vout",
            "dummy",
            "--aout",
            "dummy",
            "--no-audio",
        ])
        .args([
            "--video-filter",
            "scene",
            "--scene-format",
            "png",
            "--scene-ratio",
            "1",
        ])
        .args(["--scene-prefix", "f", "--scene-path"])
        .arg(&shots)
        .arg(&url)
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("cvlc starts");
    std::thread::sleep(Duration::from_secs(5));
    let _ = vlc.kill();
    let _ = vlc.wait();
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        log.contains(&format!("vsz {}x{}", size.width, size.height)),
        "VLC did not report a {size} picture:\n{}",
        log.lines().rev().take(30).collect::<Vec<_>>().join("\n")
    );
    let mut frames: Vec<PathBuf> = std::fs::read_dir(&shots)
        .expect("shots")
        .map(|e| e.expect("entry").path())
        .collect();
    frames.sort();
    assert!(
        frames.len() >= 3,
        "VLC decoded only {} frames",
        frames.len()
    );
    let shot = image::open(&frames[frames.len() / 2])
        .expect("png")
        .to_rgb8();
    // The snapshot is the decoder's plane, padded below the picture (to 32 rows here); the
    // visible size is what VLC reported above.
    assert_eq!(shot.width(), size.width);
    assert!(
        (size.height..size.height + 32).contains(&shot.height()),
        "{}x{}",
        shot.width(),
        shot.height()
    );
    assert!(is_red(rgb(&shot, 60, 12)), "{:?}", rgb(&shot, 60, 12));
}

fn unsafe_is_root() -> bool {
    // The effective uid, from the process status (no libc call needed).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Headless Chromium taking a screenshot of `url` after 4 s.
fn chromium(url: &str, dir: &Path) -> Command {
    let mut command = Command::new(tool("chromium"));
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=960,540",
            "--timeout=4000",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", dir.join("page.png").display()))
        .arg(url)
        .stdin(Stdio::null());
    command
}

/// The screenshot shows the card: black bars left and right, its red and green corners at
/// the top. A broken or blank image would show none of that.
fn assert_shows_the_card(dir: &Path, stderr: &[u8]) {
    let shot = dir.join("page.png");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(stderr)
    );
    let page = image::open(&shot).expect("png").to_rgb8();
    assert_eq!((page.width(), page.height()), (960, 540));
    assert_eq!(rgb(&page, 20, 270), [0, 0, 0]);
    assert!(
        is_red(rgb(&page, 100, 30)),
        "top-left {:?}",
        rgb(&page, 100, 30)
    );
    assert!(
        is_green(rgb(&page, 860, 30)),
        "top-right {:?}",
        rgb(&page, 860, 30)
    );
}

#[test]
fn chromium_shows_the_photo_on_the_page() {
    let server = card_server(Size {
        width: 1920,
        height: 1080,
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let output = chromium(&format!("http://{}/", server.addr), dir.path())
        .output()
        .expect("chromium runs");
    assert_shows_the_card(dir.path(), &output.stderr);
}

#[test]
fn chromium_opens_the_page_with_a_token_and_its_stream_connects() {
    let token = "living-room-tv-0042";
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.http.mjpeg.refresh = Duration::from_millis(200);
        s.http.access.token = Some(token.parse().expect("token"));
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut browser = chromium(
        &format!("http://{}/?token={token}", server.addr),
        dir.path(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("chromium runs");
    // While the browser shows the page, the server sees its stream client.
    let mut streams_seen = Vec::new();
    let started = std::time::Instant::now();
    while browser.try_wait().expect("wait").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "chromium hangs"
        );
        let status = server.get("GET", &format!("/api/status?token={token}"));
        assert_eq!(status.status, 200);
        let status: serde_json::Value = serde_json::from_slice(&status.body).expect("JSON");
        for client in status["clients"].as_array().into_iter().flatten() {
            let path = client["path"].as_str().unwrap_or("").to_string();
            if !streams_seen.contains(&path) {
                streams_seen.push(path);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut stderr = Vec::new();
    if let Some(mut e) = browser.stderr.take() {
        let _ = std::io::Read::read_to_end(&mut e, &mut stderr);
    }
    assert_eq!(streams_seen, ["/stream.mjpg"], "stream clients seen");
    assert_shows_the_card(dir.path(), &stderr);
    // Without the token the page itself is refused.
    assert_eq!(server.get("GET", "/").status, 401);
}

#[test]
fn ffmpeg_reads_the_stream_with_credentials_in_the_url() {
    let size = Size {
        width: 320,
        height: 240,
    };
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.spec.size = size;
        s.http.mjpeg.refresh = Duration::from_millis(200);
        s.http.access.basic = Some("tv:s3cret pass".parse().expect("credentials"));
    });
    let read = |url: &str| ffmpeg_raw_frames(url, 2);
    let port = server.addr.port();
    let output = read(&format!(
        "http://tv:s3cret%20pass@127.0.0.1:{port}/stream.mjpg"
    ));
    assert!(
        output.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.stdout.len(),
        2 * (size.width * size.height * 3) as usize,
        "two decoded frames of 320x240"
    );
    let refused = read(&format!("http://127.0.0.1:{port}/stream.mjpg"));
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("401"), "{stderr}");
}
