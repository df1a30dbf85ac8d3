//! The stream's bytes, read with a plain TCP client: the response head, the framing of every
//! part, and the same for HTTP/1.0 and HTTP/1.1 requests.

mod common;

use std::time::{Duration, Instant};

use common::server::{TestServer, wait_until};
use common::{assert_frame, fixture};
use framecast::render::Size;

const SMALL: Size = Size {
    width: 320,
    height: 240,
};

fn server() -> TestServer {
    TestServer::start(vec![fixture("exif-orientation")], |s| {
        s.spec.size = SMALL;
        s.timing.interval = Duration::from_millis(300);
        s.http.mjpeg.refresh = Duration::from_millis(200);
    })
}

fn check_stream_head(status_line: &str, headers: &std::collections::HashMap<String, String>) {
    assert_eq!(status_line, "HTTP/1.0 200 OK");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("multipart/x-mixed-replace;boundary=framecastframe")
    );
    assert!(
        !headers.contains_key("transfer-encoding"),
        "no chunked framing: {headers:?}"
    );
    assert!(!headers.contains_key("content-length"));
    assert_eq!(headers.get("connection").map(String::as_str), Some("close"));
    assert_eq!(
        headers.get("x-accel-buffering").map(String::as_str),
        Some("no")
    );
    let cache = headers.get("cache-control").cloned().unwrap_or_default();
    assert!(
        cache.contains("no-store") && cache.contains("no-cache"),
        "{cache}"
    );
    assert_eq!(headers.get("pragma").map(String::as_str), Some("no-cache"));
    assert!(headers.contains_key("expires"));
}

#[test]
fn http_1_1_gets_a_close_delimited_multipart_stream() {
    let server = server();
    let mut stream = server.stream("GET /stream.mjpg HTTP/1.1");
    check_stream_head(&stream.status_line, &stream.headers);
    for _ in 0..4 {
        assert_frame(&stream.next_jpeg(), SMALL);
    }
}

#[test]
fn http_1_0_gets_the_same() {
    let server = server();
    let mut stream = server.stream("GET /stream.mjpg HTTP/1.0");
    check_stream_head(&stream.status_line, &stream.headers);
    for _ in 0..3 {
        assert_frame(&stream.next_jpeg(), SMALL);
    }
}

#[test]
fn every_stream_url_streams() {
    let server = server();
    for path in [
        "/stream",
        "/video_feed",
        "/?action=stream",
        "/stream.mjpg?t=12345",
    ] {
        let mut stream = server.stream(&format!("GET {path} HTTP/1.1"));
        check_stream_head(&stream.status_line, &stream.headers);
        assert_frame(&stream.next_jpeg(), SMALL);
    }
}

#[test]
fn head_of_the_stream_has_the_headers_and_no_body() {
    let server = server();
    let r = server.get("HEAD", "/stream.mjpg");
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"].starts_with("multipart/x-mixed-replace"));
    assert!(r.body.is_empty());
    assert_eq!(server.status()["clients"].as_array().map(Vec::len), Some(0));
}

#[test]
fn snapshot_is_the_current_frame() {
    let server = server();
    for path in ["/snapshot.jpg", "/?action=snapshot"] {
        let r = server.get("GET", path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.headers["content-type"], "image/jpeg");
        assert_eq!(r.headers["content-length"], r.body.len().to_string());
        assert_frame(&r.body, SMALL);
        let head = server.get("HEAD", path);
        assert_eq!(head.status, 200);
        assert_eq!(head.headers["content-length"], r.body.len().to_string());
        assert!(head.body.is_empty());
    }
}

#[test]
fn a_new_client_gets_the_current_frame_at_once() {
    let server = server();
    // Let the first photo be rendered and the timeline run.
    server.stream("GET /stream.mjpg HTTP/1.1").next_jpeg();
    let started = Instant::now();
    let mut stream = server.stream("GET /stream.mjpg HTTP/1.1");
    stream.next_jpeg();
    let latency = started.elapsed();
    eprintln!("first frame after {latency:?}");
    // The frame is in memory; anything near the interval would mean waiting for the next photo.
    assert!(
        latency < Duration::from_millis(250),
        "first frame after {latency:?}"
    );
}

#[test]
fn a_new_picture_is_sent_twice_and_the_current_one_repeated() {
    let server = TestServer::start(vec![fixture("exif-orientation")], |s| {
        s.spec.size = SMALL;
        s.timing.interval = Duration::from_secs(3);
        s.http.mjpeg.refresh = Duration::from_millis(500);
    });
    // Start on a photo, not on the frame that says the library is still looking.
    wait_until("a photo on screen", Duration::from_secs(20), || {
        server.status()["current"]["path"].is_string()
    });
    let mut stream = server.stream("GET /stream.mjpg HTTP/1.1");
    let first = stream.next_jpeg();
    let started = Instant::now();
    let again = stream.next_jpeg();
    let repeat_after = started.elapsed();
    assert_eq!(first, again, "the same picture again");
    assert!(
        repeat_after < Duration::from_millis(450),
        "repeat after {repeat_after:?}"
    );
    let refreshed = stream.next_jpeg();
    assert_eq!(first, refreshed);
    let refresh_after = started.elapsed();
    assert!(
        refresh_after >= Duration::from_millis(600) && refresh_after < Duration::from_millis(1500),
        "refresh after {refresh_after:?}"
    );
}
