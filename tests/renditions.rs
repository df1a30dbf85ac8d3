//! Renditions on the real server: screens asking for their own frame size, fit, quality or
//! background with `?size=` and friends each get frames of exactly that, of the same photo at
//! the same moment; bad values are refused with their reason; the number of renditions is
//! bounded; an unused one is dropped. Then real clients: ffmpeg and Chromium on one server,
//! each at its own size.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::{self, Browser, Kind};
use common::server::{MjpegReader, TestServer, wait_until};
use common::{assert_frame, centre_colour, decode, fixture, solid_jpeg};
use framecast::render::{Fit, Size};

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 200, 40];
const BLUE: [u8; 3] = [30, 40, 220];

fn size(width: u32, height: u32) -> Size {
    Size { width, height }
}

/// Three solid photos (4:3) whose frames tell them apart by colour.
fn gallery(dir: &Path) {
    for (name, rgb) in [("a-red", RED), ("b-green", GREEN), ("c-blue", BLUE)] {
        std::fs::write(dir.join(format!("{name}.jpg")), solid_jpeg(rgb, None)).expect("write");
    }
}

/// Which of the gallery's photos a frame shows.
fn which(jpeg: &[u8]) -> [u8; 3] {
    let c = centre_colour(jpeg);
    *[RED, GREEN, BLUE]
        .iter()
        .min_by(|a, b| {
            let d = |p: &[u8; 3]| (0..3).map(|i| (p[i] as f64 - c[i]).abs()).sum::<f64>();
            d(a).total_cmp(&d(b))
        })
        .expect("three colours")
}

fn renditions(server: &TestServer) -> Vec<serde_json::Value> {
    server.status()["renditions"]
        .as_array()
        .expect("renditions listed")
        .clone()
}

fn listed(server: &TestServer, size: &str) -> Option<serde_json::Value> {
    renditions(server)
        .into_iter()
        .find(|r| r["size"] == size && r["default"] == false)
}

/// Follows two screens of one channel (`channel`: its query parameters, or none for the
/// default) at two sizes through four changes of photo: each gets frames of its own size,
/// both of the same photo. Returns the server's status afterwards.
fn two_sizes_of_one_channel(channel: impl Fn(&Path) -> String) -> serde_json::Value {
    let (server, dir) = slideshow(gallery, Fit::Letterbox);
    let interval = INTERVAL;
    let channel = channel(dir.path());
    let mut small = server.stream(&format!(
        "GET /stream.mjpg?size=160x120&t=1{channel} HTTP/1.1"
    ));
    let mut square = server.stream(&format!(
        "GET /?action=stream&size=200x200&client=tv{channel} HTTP/1.1"
    ));
    assert!(small.status_line.contains("200"), "{}", small.status_line);
    assert!(square.status_line.contains("200"), "{}", square.status_line);

    // Follow the small one through four changes of photo; each time the square one must
    // come to the same photo well within one interval, and every frame has its own size.
    let read = |reader: &mut MjpegReader, want: Size| {
        let jpeg = reader.next_jpeg();
        assert_frame(&jpeg, want);
        which(&jpeg)
    };
    let mut seen = Vec::new();
    let mut last = None;
    while seen.len() < 4 {
        let photo = read(&mut small, size(160, 120));
        if last == Some(photo) {
            continue;
        }
        last = Some(photo);
        let changed = Instant::now();
        loop {
            let other = read(&mut square, size(200, 200));
            if other == photo {
                break;
            }
            assert!(
                changed.elapsed() < interval,
                "the 200x200 rendition still shows {other:?} while 160x120 shows {photo:?}"
            );
        }
        seen.push(photo);
    }
    // The timeline moved on: the two renditions went through the same distinct photos.
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "{seen:?}");
    // The default is what it always was: no parameter, the server's own size.
    let snapshot = server.get("GET", "/snapshot.jpg?t=5");
    assert_eq!(snapshot.status, 200);
    assert_frame(&snapshot.body, size(320, 180));
    server.status()
}

/// How long each photo shows in a [`slideshow`].
const INTERVAL: Duration = Duration::from_millis(1500);

/// A server of 320×180 frames in `fit`, changing photo every [`INTERVAL`], playing the photos
/// `fill` writes to its folder; returned once one is on screen (until the folder is walked
/// its album is not known).
fn slideshow(fill: fn(&Path), fit: Fit) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    fill(dir.path());
    let server = TestServer::start(vec![dir.path().to_path_buf()], |s| {
        s.spec.size = size(320, 180);
        s.spec.fit = fit;
        s.timing.interval = INTERVAL;
        s.http.mjpeg.refresh = Duration::from_millis(200);
    });
    wait_until("the photo on screen", Duration::from_secs(20), || {
        server.status()["current"]["path"].is_string()
    });
    (server, dir)
}

/// A rendition as the status lists it: (size, clients, default, lead).
fn listing(renditions: &serde_json::Value) -> Vec<(String, u64, bool, bool)> {
    renditions
        .as_array()
        .expect("renditions listed")
        .iter()
        .map(|r| {
            (
                r["size"].as_str().unwrap_or("").to_string(),
                r["clients"].as_u64().unwrap_or(99),
                r["default"].as_bool().unwrap_or(false),
                r["lead"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn two_sizes_at_once_each_get_their_own_frames_of_the_same_photo() {
    let status = two_sizes_of_one_channel(|_| String::new());
    assert_eq!(
        listing(&status["renditions"]),
        [
            ("320x180".to_string(), 0, true, true),
            ("160x120".to_string(), 1, false, false),
            ("200x200".to_string(), 1, false, false),
        ]
    );
    assert_eq!(status["channels"].as_array().map(Vec::len), Some(1));
}

#[test]
fn two_sizes_of_another_channel_show_the_same_photo_too() {
    // The gallery's photos lie directly in the folder: their album is named after it. Asked
    // for by name, in another order, it is a channel of its own.
    let status = two_sizes_of_one_channel(|dir| {
        let album = dir.file_name().and_then(|n| n.to_str()).expect("a name");
        format!("&album={album}&order=recent")
    });
    let channels = status["channels"].as_array().expect("channels listed");
    assert_eq!(channels.len(), 2, "{channels:?}");
    let channel = &channels[1];
    assert_eq!(channel["order"], "recent", "{channel}");
    assert_eq!(channel["clients"], 2, "{channel}");
    // It steps in the frames it was first asked for; the default channel is left alone.
    assert_eq!(
        listing(&channel["renditions"]),
        [
            ("160x120".to_string(), 1, false, true),
            ("200x200".to_string(), 1, false, false),
        ]
    );
    assert_eq!(
        listing(&status["renditions"]),
        [("320x180".to_string(), 0, true, true)]
    );
}

#[test]
fn a_rendition_nobody_watches_shows_the_photo_of_the_moment_to_the_next_snapshot_or_stream() {
    let (server, _dir) = slideshow(gallery, Fit::Letterbox);
    let mut watching = server.stream("GET /stream.mjpg HTTP/1.1");
    let mut last = None;
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let photo = which(&watching.next_jpeg());
        if last == Some(photo) {
            continue;
        }
        last = Some(photo);
        // The 160x90 rendition has no client between these requests, so it holds still; each
        // snapshot, and the first picture of each new stream, must still be of the photo the
        // channel shows now, not of the last one that rendition rendered. Either comes first
        // in turn (the first one wakes the rendition).
        let snapshot = || {
            let shot = server.get("GET", "/snapshot.jpg?size=160x90");
            assert_eq!(shot.status, 200);
            assert_frame(&shot.body, size(160, 90));
            assert_eq!(which(&shot.body), photo, "snapshot at step {}", seen.len());
        };
        let stream = || {
            let first = server
                .stream("GET /stream.mjpg?size=160x90 HTTP/1.1")
                .next_jpeg();
            assert_eq!(which(&first), photo, "stream at step {}", seen.len());
        };
        if seen.len() % 2 == 0 {
            stream();
            snapshot();
        } else {
            snapshot();
            stream();
        }
        seen.push(photo);
    }
}

#[test]
fn blur_fills_the_bars_that_letterbox_leaves_plain() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("red.jpg"), solid_jpeg(RED, None)).expect("write");
    let server = TestServer::start(vec![dir.path().to_path_buf()], |_| {});
    // Until the folder is walked the timeline shows a "looking for photos" frame.
    wait_until("the photo on screen", Duration::from_secs(20), || {
        server.status()["current"]["path"].is_string()
    });
    let shot = |query: &str| {
        let r = server.get("GET", &format!("/snapshot.jpg?{query}"));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_frame(&r.body, size(320, 120));
        decode(&r.body)
    };
    // A 4:3 photo in a wide frame: bars left and right.
    let letterbox = shot("size=320x120");
    let blur = shot("size=320x120&fit=blur");
    let grey = shot("size=320x120&background=grey");
    for frame in [&letterbox, &blur, &grey] {
        let centre = frame.mean(150, 50, 20, 20);
        assert!(centre[0] > 180.0 && centre[1] < 70.0, "photo {centre:?}");
    }
    let bar = |f: &common::Decoded| f.mean(4, 20, 30, 80);
    assert!(
        bar(&letterbox).iter().all(|&c| c < 12.0),
        "{:?}",
        bar(&letterbox)
    );
    assert!(
        bar(&grey).iter().all(|&c| (c - 128.0).abs() < 12.0),
        "{:?}",
        bar(&grey)
    );
    // The blurred, darkened copy of a red photo: reddish, not the plain background.
    let b = bar(&blur);
    assert!(b[0] > 40.0 && b[0] > b[1] * 2.0, "{b:?}");
    // Quality is part of the rendition too: the same picture, fewer bytes.
    let high = server.get("GET", "/snapshot.jpg?size=320x120&fit=blur&quality=95");
    let low = server.get("GET", "/snapshot.jpg?size=320x120&fit=blur&quality=5");
    assert!(
        low.body.len() < high.body.len(),
        "{} vs {}",
        low.body.len(),
        high.body.len()
    );
}

const YELLOW: [u8; 3] = [230, 210, 40];

/// A solid `width`×`height` JPEG.
fn solid(rgb: [u8; 3], width: u16, height: u16) -> Vec<u8> {
    let pixels: Vec<u8> = (0..usize::from(width) * usize::from(height))
        .flat_map(|_| rgb)
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("encodes");
    out
}

/// Four photos in name order: red, green and yellow portraits, and a blue landscape between
/// green and yellow.
fn portraits(dir: &Path) {
    for (name, rgb, (w, h)) in [
        ("a-red", RED, (48, 64)),
        ("b-green", GREEN, (48, 64)),
        ("c-blue", BLUE, (64, 48)),
        ("d-yellow", YELLOW, (48, 64)),
    ] {
        std::fs::write(dir.join(format!("{name}.jpg")), solid(rgb, w, h)).expect("write");
    }
}

/// Which of the portraits' colours `c` is, if any.
fn nearest(c: [f64; 3]) -> Option<[u8; 3]> {
    [RED, GREEN, BLUE, YELLOW]
        .into_iter()
        .find(|p| (0..3).map(|i| (p[i] as f64 - c[i]).abs()).sum::<f64>() < 60.0)
}

/// What a 320×180 frame of the portraits shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shows {
    /// Two photos side by side on the plain background, left and right.
    Pair([u8; 3], [u8; 3]),
    /// One photo; `filled` when the sides hold more than the plain background (blur).
    Alone([u8; 3], bool),
}

impl Shows {
    fn of(jpeg: &[u8]) -> Shows {
        assert_frame(jpeg, size(320, 180));
        let frame = decode(jpeg);
        let edge = frame.mean(0, 60, 12, 60);
        let plain = edge.iter().all(|&c| c < 12.0);
        // A pair of 48×64 portraits: 135 pixels wide each, 2 apart, centred (24..159, 161..296).
        let (left, right) = (frame.mean(80, 80, 20, 20), frame.mean(218, 80, 20, 20));
        if plain && let (Some(l), Some(r)) = (nearest(left), nearest(right)) {
            return Shows::Pair(l, r);
        }
        let centre = nearest(frame.mean(150, 80, 20, 20)).expect("a photo in the middle");
        Shows::Alone(centre, !plain)
    }

    fn includes(self, photo: [u8; 3]) -> bool {
        match self {
            Shows::Pair(l, r) => l == photo || r == photo,
            Shows::Alone(c, _) => c == photo,
        }
    }
}

/// Follows `pair` (a 320×180 `fit=pair` stream) through five steps of the channel that
/// `reference` (another rendition of the same channel) shows one photo at a time: at every
/// step the pair stream shows that photo within the interval, two portraits side by side are
/// neighbours in the channel's order (name order, wrapping round), a lone photo is on its
/// blurred copy, and the landscape is never paired. Returns the pairs seen.
fn follow_pairs(
    pair: &mut MjpegReader,
    reference: &mut MjpegReader,
    interval: Duration,
) -> Vec<([u8; 3], [u8; 3])> {
    let order = [RED, GREEN, BLUE, YELLOW];
    let next = |c: [u8; 3]| order[(order.iter().position(|&o| o == c).expect("known") + 1) % 4];
    let mut pairs = Vec::new();
    let mut last = None;
    let mut steps = 0;
    while steps < 5 {
        let photo = nearest(centre_colour(&reference.next_jpeg())).expect("one of the photos");
        if last == Some(photo) {
            continue;
        }
        last = Some(photo);
        steps += 1;
        let changed = Instant::now();
        let shows = loop {
            let shows = Shows::of(&pair.next_jpeg());
            if shows.includes(photo) {
                break shows;
            }
            assert!(
                changed.elapsed() < interval,
                "the pair stream shows {shows:?} while the channel shows {photo:?}"
            );
        };
        match shows {
            Shows::Pair(l, r) => {
                assert_eq!(r, next(l), "a pair of neighbours: {shows:?}");
                assert!(l != BLUE && r != BLUE, "the landscape is never paired");
                pairs.push((l, r));
            }
            Shows::Alone(_, filled) => assert!(filled, "a lone photo is on its blurred copy"),
        }
    }
    pairs
}

#[test]
fn pair_puts_neighbouring_portraits_side_by_side_in_step_with_the_channel() {
    let (server, _dir) = slideshow(portraits, Fit::Letterbox);
    let mut one = server.stream("GET /stream.mjpg HTTP/1.1");
    let mut two = server.stream("GET /stream.mjpg?fit=pair HTTP/1.1");
    assert!(two.status_line.contains("200"), "{}", two.status_line);
    let pairs = follow_pairs(&mut two, &mut one, INTERVAL);
    // Three portraits in four photos: every four steps hold a pair, whatever the start.
    assert!(!pairs.is_empty(), "no pair in five steps");
    let listed: Vec<String> = renditions(&server)
        .iter()
        .map(|r| r["fit"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(listed, ["letterbox", "pair"]);
}

#[test]
fn a_server_started_with_fit_pair_pairs_in_its_own_stream() {
    let (server, _dir) = slideshow(portraits, Fit::Pair);
    let mut pair = server.stream("GET /stream.mjpg HTTP/1.1");
    let mut one = server.stream("GET /stream.mjpg?fit=letterbox HTTP/1.1");
    let pairs = follow_pairs(&mut pair, &mut one, INTERVAL);
    assert!(!pairs.is_empty(), "no pair in five steps");
    let snapshot = server.get("GET", "/snapshot.jpg");
    assert_eq!(snapshot.status, 200);
    Shows::of(&snapshot.body);
}

#[test]
fn bad_values_get_400_with_the_reason() {
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |_| {});
    for (query, says) in [
        (
            "size=0x0",
            "size must be WIDTHxHEIGHT with sides from 16 to 7680",
        ),
        ("size=10x10", "not '10x10'"),
        ("size=9000x100", "not '9000x100'"),
        (
            "fit=stretch",
            "fit must be letterbox, blur, cover or pair, not 'stretch'",
        ),
        (
            "quality=0",
            "quality must be a whole number from 1 to 100, not '0'",
        ),
        ("background=%23zz", "background must be a colour"),
    ] {
        server.assert_refused_on_every_url(query, says);
    }
    // Nothing was created for them.
    assert_eq!(renditions(&server).len(), 1);
    // Unknown parameters are not ours, as before.
    assert_eq!(server.get("GET", "/?t=1&token=x&foo=bar").status, 200);
}

#[test]
fn one_rendition_too_many_is_refused_with_retry_after() {
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.renditions.max = 2;
        s.http.mjpeg.refresh = Duration::from_millis(200);
    });
    let mut first = server.stream("GET /stream.mjpg?size=160x90 HTTP/1.1");
    assert_frame(&first.next_jpeg(), size(160, 90));

    let refused = server.get("GET", "/stream.mjpg?size=320x180");
    let body = String::from_utf8_lossy(&refused.body);
    assert_eq!(refused.status, 503, "{body}");
    assert_eq!(
        refused.headers.get("retry-after").map(String::as_str),
        Some("10")
    );
    assert!(
        body.contains("already plays 2 streams (a channel in a frame format each, --max-streams)"),
        "{body}"
    );
    assert_eq!(server.get("GET", "/snapshot.jpg?size=320x180").status, 503);

    // Those in use still serve: the default and the one already there.
    let mut default = server.stream("GET /stream.mjpg HTTP/1.1");
    assert_frame(
        &default.next_jpeg(),
        framecast::render::Spec::default().size,
    );
    let again = server.get("GET", "/snapshot.jpg?size=160x90");
    assert_eq!(again.status, 200);
    assert_frame(&again.body, size(160, 90));
}

#[test]
fn an_unused_rendition_is_dropped_and_a_watched_one_kept() {
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.renditions.idle = Duration::from_millis(400);
        s.http.mjpeg.refresh = Duration::from_millis(200);
    });
    let shot = server.get("GET", "/snapshot.jpg?size=160x90");
    assert_eq!(shot.status, 200);
    assert_frame(&shot.body, size(160, 90));
    let mut watched = server.stream("GET /stream.mjpg?size=96x96 HTTP/1.1");
    assert_frame(&watched.next_jpeg(), size(96, 96));

    // The snapshot's rendition goes once nobody has asked for it for a while.
    wait_until(
        "the unused rendition dropped",
        Duration::from_secs(10),
        || listed(&server, "160x90").is_none(),
    );
    // The watched one stays for as long as it is watched, well past the idle time.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        assert_frame(&watched.next_jpeg(), size(96, 96));
    }
    let kept = listed(&server, "96x96").expect("the watched rendition is kept");
    assert_eq!(kept["clients"], 1);
    drop(watched);
    wait_until(
        "the rendition left by its client dropped",
        Duration::from_secs(10),
        || listed(&server, "96x96").is_none(),
    );
    // The default never goes.
    let all = renditions(&server);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["default"], true);
    // A dropped rendition comes back on demand.
    let back = server.get("GET", "/snapshot.jpg?size=96x96");
    assert_eq!(back.status, 200);
    assert_frame(&back.body, size(96, 96));
}

#[test]
fn ffmpeg_and_chromium_on_one_server_each_get_their_own_size() {
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.spec.size = size(480, 270);
        s.http.mjpeg.refresh = Duration::from_millis(200);
    });
    // Chromium shows the page asking for 640x360; the page passes the size to its stream.
    let mut page = Browser::open(
        Kind::Chromium,
        &format!("http://{}/?size=640x360", server.addr),
        true,
    );
    let shown = page.picture_size(Duration::from_secs(30));
    assert_eq!(shown, (640, 360), "the page's picture");

    // ffmpeg reads 320x240 from the same server while the page keeps its stream.
    let url = format!("http://{}/stream.mjpg?size=320x240", server.addr);
    let output = browser::ffmpeg_raw_frames(&url, 3);
    assert!(
        output.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.stdout.len(),
        3 * 320 * 240 * 3,
        "three frames of 320x240"
    );
    let frame = image::RgbImage::from_raw(320, 240, output.stdout[..320 * 240 * 3].to_vec())
        .expect("a frame");
    // The card (3:2) in a 4:3 frame: bars top and bottom, its red corner top-left.
    let p = frame.get_pixel(8, 38).0;
    assert!(p[0] > 170 && p[1] < 90 && p[2] < 90, "{p:?}");

    let page_stream = listed(&server, "640x360").expect("the page's rendition");
    assert_eq!(page_stream["clients"], 1, "{page_stream}");
    assert!(listed(&server, "320x240").is_some());
    let again = page.eval("document.getElementById('frame').naturalWidth");
    assert_eq!(again.as_u64(), Some(640));
}
