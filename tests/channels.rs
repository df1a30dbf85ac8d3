//! Channels on the real server: screens asking for other photos with `?album=` (repeatable),
//! `?order=` and `?interval=` each follow a timeline of their own, at the same time, from one
//! server; bad values are refused with their reason; channels count towards the bound on
//! streams; an unused one is dropped.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::server::{MjpegReader, TestServer, wait_until};
use common::{assert_frame, centre_colour, solid_jpeg};
use framecast::render::Size;

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 200, 40];
const BLUE: [u8; 3] = [30, 40, 220];
const YELLOW: [u8; 3] = [230, 210, 30];
const COLOURS: [[u8; 3]; 4] = [RED, GREEN, BLUE, YELLOW];

const SMALL: Size = Size {
    width: 160,
    height: 120,
};

/// Two albums whose frames tell them apart by colour: `pets` is red and green, `trips` blue
/// and yellow.
fn albums(dir: &Path) {
    for (album, photos) in [("pets", [RED, GREEN]), ("trips", [BLUE, YELLOW])] {
        std::fs::create_dir(dir.join(album)).expect("album folder");
        for (i, rgb) in photos.into_iter().enumerate() {
            let path = dir.join(album).join(format!("{i}.jpg"));
            std::fs::write(path, solid_jpeg(rgb, None)).expect("write");
        }
    }
}

/// Which of the test photos a frame shows; fails on anything else (a placeholder).
fn which(jpeg: &[u8]) -> [u8; 3] {
    let c = centre_colour(jpeg);
    let d = |p: &[u8; 3]| (0..3).map(|i| (p[i] as f64 - c[i]).abs()).sum::<f64>();
    let nearest = *COLOURS
        .iter()
        .min_by(|a, b| d(a).total_cmp(&d(b)))
        .expect("colours");
    assert!(d(&nearest) < 60.0, "not a test photo: centre {c:?}");
    nearest
}

/// Starts a server on the two albums and waits until the library knows both.
fn server(tweak: impl FnOnce(&mut framecast::server::Settings)) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    albums(dir.path());
    let server = TestServer::start(vec![dir.path().to_path_buf()], |s| {
        s.spec.size = Size {
            width: 320,
            height: 180,
        };
        s.http.mjpeg.refresh = Duration::from_millis(200);
        tweak(s);
    });
    wait_until("both albums found", Duration::from_secs(20), || {
        let r = server.get("GET", "/api/albums");
        let list: serde_json::Value = serde_json::from_slice(&r.body).expect("albums JSON");
        list.as_array()
            .is_some_and(|a| a.iter().filter(|a| a["photos"] == 2).count() == 2)
    });
    wait_until("a photo on screen", Duration::from_secs(20), || {
        server.status()["current"]["path"].is_string()
    });
    (dir, server)
}

fn channels(server: &TestServer) -> Vec<serde_json::Value> {
    server.status()["channels"]
        .as_array()
        .expect("channels listed")
        .clone()
}

/// The channel playing exactly `albums`, if it is in use.
fn channel(server: &TestServer, albums: &[&str]) -> Option<serde_json::Value> {
    channels(server)
        .into_iter()
        .find(|c| c["albums"] == serde_json::json!(albums) && c["default"] == false)
}

#[test]
fn two_albums_at_once_each_get_only_their_own_photos() {
    let (_dir, server) = server(|s| s.timing.interval = Duration::from_secs(1));
    let mut pets = server.stream("GET /stream.mjpg?album=pets&size=160x120 HTTP/1.1");
    let mut trips = server.stream("GET /?action=stream&album=trips&size=160x120 HTTP/1.1");
    assert!(pets.status_line.contains("200"), "{}", pets.status_line);
    assert!(trips.status_line.contains("200"), "{}", trips.status_line);

    // Both channels run at once, each through both photos of its album and nothing else.
    let mut seen_pets = Vec::new();
    let mut seen_trips = Vec::new();
    let started = Instant::now();
    while seen_pets.len() < 2 || seen_trips.len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "pets showed {seen_pets:?}, trips {seen_trips:?}"
        );
        for (reader, album, seen) in [
            (&mut pets, [RED, GREEN], &mut seen_pets),
            (&mut trips, [BLUE, YELLOW], &mut seen_trips),
        ] {
            let jpeg = reader.next_jpeg();
            assert_frame(&jpeg, SMALL);
            let photo = which(&jpeg);
            assert!(album.contains(&photo), "{photo:?} is not of {album:?}");
            if !seen.contains(&photo) {
                seen.push(photo);
            }
        }
    }

    // The status lists them next to the default, each with its one client and its photo.
    let listed = channels(&server);
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0]["default"], true);
    assert_eq!(listed[0]["albums"], serde_json::json!([]));
    for album in ["pets", "trips"] {
        let c = channel(&server, &[album]).expect("listed");
        assert_eq!(c["clients"], 1, "{c}");
        assert_eq!(c["order"], "name", "{c}");
        assert_eq!(c["interval_ms"], 1000, "{c}");
        let path = c["current"]["path"].as_str().expect("a photo on screen");
        assert!(path.starts_with(&format!("{album}/")), "{path}");
        assert_eq!(c["renditions"][0]["size"], "160x120", "{c}");
        assert_eq!(c["renditions"][0]["lead"], true, "{c}");
    }
    // A snapshot of several albums is a channel of them all, in any order of the parameters.
    let both = server.get("GET", "/snapshot.jpg?album=trips&album=pets&size=160x120");
    assert_eq!(both.status, 200);
    assert!(COLOURS.contains(&which(&both.body)));
    let again = server.get("GET", "/snapshot.jpg?album=pets&album=trips&size=160x120");
    assert_eq!(again.status, 200);
    assert!(channel(&server, &["pets", "trips"]).is_some());
    assert_eq!(channels(&server).len(), 4, "one channel for both orders");
}

#[test]
fn a_one_second_interval_moves_on_while_the_default_holds() {
    let (_dir, server) = server(|s| s.timing.interval = Duration::from_secs(60));
    let mut default = server.stream("GET /stream.mjpg?size=160x120 HTTP/1.1");
    let mut fast = server.stream("GET /stream.mjpg?interval=1s&size=160x120 HTTP/1.1");
    let first = which(&default.next_jpeg());

    // Three changes of photo on the fast channel; the default's photo came on screen when the
    // albums were found and stays a minute, longer than this loop may take.
    let mut changes = 0;
    let mut last = which(&fast.next_jpeg());
    let started = Instant::now();
    while changes < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "the 1s channel changed photo {changes} times in 25 s"
        );
        let now = which(&fast.next_jpeg());
        if now != last {
            changes += 1;
            last = now;
        }
        assert_eq!(which(&default.next_jpeg()), first, "the default moved on");
    }
    let listed = channels(&server);
    assert_eq!(listed[0]["interval_ms"], 60_000);
    let fast = listed
        .iter()
        .find(|c| c["interval_ms"] == 1000)
        .expect("the fast channel");
    assert_eq!(fast["albums"], serde_json::json!([]));
    assert_eq!(fast["clients"], 1);
}

#[test]
fn bad_channels_get_400_with_the_reason() {
    let (_dir, server) = server(|_| {});
    for (query, says) in [
        (
            "album=cats",
            "album 'cats' is not an album of the library (albums: 'pets', 'trips'",
        ),
        ("album=pets&album=dogs", "album 'dogs' is not an album"),
        (
            "order=random",
            "order must be name, date, shuffle or recent, not 'random'",
        ),
        ("order=name&order=date", "order is given more than once"),
        ("interval=0s", "interval must be from 1s to 24h, not '0s'"),
        ("interval=25h", "interval must be from 1s to 24h, not '25h'"),
        ("interval=2d", "unknown unit 'd' in '2d'"),
        ("interval=5", "'5' has no unit: did you mean 5s?"),
    ] {
        server.assert_refused_on_every_url(query, says);
    }
    // Nothing was created for them.
    assert_eq!(channels(&server).len(), 1);
    // Asking for what the command line plays is the default channel, not another.
    let r = server.get("GET", "/snapshot.jpg?order=name&interval=5s");
    assert_eq!(r.status, 200);
    assert_eq!(channels(&server).len(), 1);
}

#[test]
fn one_stream_too_many_is_refused_with_retry_after() {
    let (_dir, server) = server(|s| s.renditions.max = 2);
    let mut pets = server.stream("GET /stream.mjpg?album=pets HTTP/1.1");
    assert!(pets.status_line.contains("200"), "{}", pets.status_line);
    which(&pets.next_jpeg());
    assert_eq!(server.status()["limits"]["streams"], 2);
    let metrics = String::from_utf8(server.get("GET", "/metrics").body).expect("text");
    for line in ["framecast_channels 2", "framecast_streams 2"] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }

    // A new channel, or a new rendition of one in use: one stream too many either way.
    for query in ["album=trips", "album=pets&size=160x120", "size=160x120"] {
        let refused = server.get("GET", &format!("/stream.mjpg?{query}"));
        let body = String::from_utf8_lossy(&refused.body);
        assert_eq!(refused.status, 503, "{query}: {body}");
        assert_eq!(
            refused.headers.get("retry-after").map(String::as_str),
            Some("10")
        );
        assert!(
            body.contains(
                "already plays 2 streams (a channel in a frame format each, --max-streams)"
            ),
            "{body}"
        );
        assert_eq!(
            server.get("GET", &format!("/snapshot.jpg?{query}")).status,
            503
        );
    }
    // Those in use still serve: the default channel and the one already there.
    let mut default = server.stream("GET /stream.mjpg HTTP/1.1");
    which(&default.next_jpeg());
    let again = server.get("GET", "/snapshot.jpg?album=pets");
    assert_eq!(again.status, 200);
    assert!([RED, GREEN].contains(&which(&again.body)));
}

#[test]
fn an_unused_channel_is_dropped_and_a_watched_one_kept() {
    let (_dir, server) = server(|s| s.renditions.idle = Duration::from_millis(400));
    let shot = server.get("GET", "/snapshot.jpg?album=pets");
    assert_eq!(shot.status, 200);
    assert!([RED, GREEN].contains(&which(&shot.body)));
    let mut watched = server.stream("GET /stream.mjpg?album=trips&size=160x120 HTTP/1.1");
    let read = |reader: &mut MjpegReader| {
        let jpeg = reader.next_jpeg();
        assert_frame(&jpeg, SMALL);
        assert!([BLUE, YELLOW].contains(&which(&jpeg)));
    };
    read(&mut watched);

    // The snapshot's channel goes once nobody has asked for it for a while.
    wait_until(
        "the unused channel dropped",
        Duration::from_secs(10),
        || channel(&server, &["pets"]).is_none(),
    );
    // The watched one stays for as long as it is watched, well past the idle time.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        read(&mut watched);
    }
    let kept = channel(&server, &["trips"]).expect("the watched channel is kept");
    assert_eq!(kept["clients"], 1);
    drop(watched);
    wait_until(
        "the channel left by its client dropped",
        Duration::from_secs(10),
        || channel(&server, &["trips"]).is_none(),
    );
    // The default never goes, and counts as the one stream left.
    let all = channels(&server);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["default"], true);
    assert_eq!(server.status()["limits"]["streams"], 1);
    // A dropped channel comes back on demand.
    let back = server.get("GET", "/snapshot.jpg?album=trips");
    assert_eq!(back.status, 200);
    assert!([BLUE, YELLOW].contains(&which(&back.body)));
}
