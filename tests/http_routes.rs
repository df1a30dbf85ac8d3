//! The rest of the HTTP surface: the page, status, health, metrics and errors.

mod common;

use std::path::Path;
use std::time::Duration;

use common::fixture;
use common::server::{TestServer, wait_until};
use framecast::http::Profiles;
use framecast::render::{Fit, Size};
use framecast::schedule::Order;

fn server() -> TestServer {
    TestServer::start(vec![fixture("edge")], |s| {
        s.spec.size = Size {
            width: 320,
            height: 180,
        };
        s.timing.interval = Duration::from_millis(100);
    })
}

#[test]
fn the_page_shows_the_stream_without_external_assets() {
    let server = server();
    let r = server.get("GET", "/");
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"].starts_with("text/html"));
    let html = String::from_utf8(r.body).expect("utf-8");
    assert!(html.contains("<noscript><img class=\"frame\" src=\"stream.mjpg\""));
    assert!(html.contains("onerror"), "reconnects after an error");
    assert!(html.contains("api/instance"), "watches its stream");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    assert!(html.contains("background: #000"));
}

#[test]
fn status_reports_photos_cache_and_failures() {
    let server = server();
    // The timeline only moves while someone watches: keep a client reading.
    let mut viewer = server.stream("GET /stream.mjpg HTTP/1.1");
    let watching = std::thread::spawn(move || {
        for _ in 0..200 {
            viewer.next_jpeg();
        }
    });
    // Give the timeline time to meet the bad files (one photo every 100 ms).
    let mut status = server.status();
    for _ in 0..100 {
        if status["photos"]["failed"].as_array().map_or(0, Vec::len) >= 5
            && status["photos"]["found"] == 27
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        status = server.status();
    }
    assert_eq!(status["photos"]["found"], 27);
    let failed = status["photos"]["failed"].as_array().expect("failed list");
    let reasons: Vec<String> = failed
        .iter()
        .map(|f| format!("{} {}", f["path"], f["reason"]))
        .collect();
    for (file, reason) in [
        ("truncated.jpg", "truncated"),
        ("empty.jpg", "not an image"),
        ("bomb-60000x60000.png", "too large"),
        ("not-an-image.jpg", "not an image"),
        ("bomb-65500x65500.jpg", "too large"),
    ] {
        assert!(
            reasons
                .iter()
                .any(|r| r.contains(file) && r.contains(reason)),
            "{file}: {reasons:?}"
        );
    }
    assert!(status["photos"]["rendered"].as_u64().unwrap_or(0) >= 1);
    assert!(status["cache"]["bytes"].as_u64().unwrap_or(0) > 0);
    assert!(status["cache"]["misses"].as_u64().unwrap_or(0) >= 1);
    assert_eq!(status["clients"].as_array().map(Vec::len), Some(1));
    drop(server);
    let _ = watching.join();
}

#[test]
fn health_and_metrics() {
    let server = server();
    // The library counts every photo once its walk is done, whether anyone watches or not.
    wait_until("the walk", Duration::from_secs(20), || {
        let metrics = String::from_utf8(server.get("GET", "/metrics").body).expect("utf-8");
        metrics.contains("\nframecast_library_photos 27\n")
    });
    // Healthy once the first picture is ready: the timeline meets the broken fixtures first.
    wait_until("healthz to say ok", Duration::from_secs(30), || {
        server.get("GET", "/healthz").status == 200
    });
    let metrics = server.get("GET", "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics.headers["content-type"].starts_with("text/plain"));
    let text = String::from_utf8(metrics.body).expect("utf-8");
    for name in [
        "framecast_library_photos 27",
        "# TYPE framecast_cache_bytes gauge",
        "framecast_cache_hits_total",
        "framecast_clients 0",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}

#[test]
fn unknown_paths_are_404_and_bad_queries_400() {
    let server = server();
    assert_eq!(server.get("GET", "/nope").status, 404);
    assert_eq!(server.get("GET", "/stream.mjpg/extra").status, 404);
    let bad = server.get("GET", "/?action=dance");
    assert_eq!(bad.status, 400);
    let reason = String::from_utf8(bad.body).expect("utf-8");
    assert!(
        reason.contains("action must be stream or snapshot"),
        "{reason}"
    );
    assert_eq!(server.get("POST", "/snapshot.jpg").status, 405);
}

#[test]
fn the_page_passes_its_query_to_the_stream() {
    let server = server();
    let r = server.get("GET", "/?token=abc&lang=en");
    assert_eq!(r.status, 200);
    let html = String::from_utf8(r.body).expect("utf-8");
    assert!(
        html.contains("src=\"stream.mjpg?token=abc&amp;lang=en\""),
        "the no-script stream keeps the page's query"
    );
}

#[test]
fn the_instance_endpoint_follows_a_tagged_stream() {
    let server = server();
    let instance = |query: &str| {
        let r = server.get("GET", &format!("/api/instance{query}"));
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers["connection"], "close",
            "a fresh connection per poll"
        );
        assert!(r.headers["cache-control"].contains("no-store"));
        serde_json::from_slice::<serde_json::Value>(&r.body).expect("JSON")
    };
    let bare = instance("");
    let id = bare["instance"]
        .as_str()
        .expect("an instance id")
        .to_string();
    assert!(bare["client"].is_null());
    assert_eq!(bare["refresh_ms"], 1000);
    assert_eq!(instance("?client=tv-1")["client"]["connected"], false);

    // Tagged on either stream URL, with other parameters around it.
    for request in [
        "GET /stream.mjpg?token=x&client=tv-1 HTTP/1.1",
        "GET /?action=stream&client=tv-1 HTTP/1.1",
    ] {
        let mut stream = server.stream(request);
        for _ in 0..3 {
            stream.next_jpeg();
        }
        let seen = instance("?client=tv-1");
        assert_eq!(seen["instance"], id.as_str(), "same process, same id");
        assert_eq!(seen["ready"], true);
        assert_eq!(seen["client"]["connected"], true);
        assert!(seen["client"]["parts"].as_u64().expect("parts") >= 3);
        assert_eq!(instance("?client=tv-2")["client"]["connected"], false);
        drop(stream);
        let left = std::time::Instant::now();
        while instance("?client=tv-1")["client"]["connected"] == true {
            assert!(left.elapsed() < Duration::from_secs(10), "still listed");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // Another server, as after a restart, is another instance.
    let other = self::server();
    let r = other.get("GET", "/api/instance");
    let theirs: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_ne!(theirs["instance"], id.as_str());
}

#[test]
fn status_counts_every_failure_and_lists_the_first_hundred() {
    // 300 small broken files: JPEG headers cut short, PNG signatures with nothing after.
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..300 {
        let (name, bytes): (String, &[u8]) = if i % 2 == 0 {
            (
                format!("broken-{i:03}.jpg"),
                b"\xFF\xD8\xFF\xE0\x00\x10JFIF",
            )
        } else {
            (format!("broken-{i:03}.png"), b"\x89PNG\r\n\x1a\n")
        };
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    let server = TestServer::start(vec![dir.path().to_path_buf()], |s| {
        s.spec.size = Size {
            width: 160,
            height: 90,
        };
    });
    // The timeline tries every photo before it settles on the placeholder.
    let started = std::time::Instant::now();
    let mut status = server.status();
    while status["photos"]["failed_count"] != 300 {
        assert!(started.elapsed() < Duration::from_secs(30), "{status}");
        std::thread::sleep(Duration::from_millis(50));
        status = server.status();
    }
    let short = server.get("GET", "/api/status");
    let all = server.get("GET", "/api/status?failures=all");
    eprintln!(
        "300 failures: /api/status {} B, ?failures=all {} B",
        short.body.len(),
        all.body.len()
    );
    let short_json: serde_json::Value = serde_json::from_slice(&short.body).expect("JSON");
    let all_json: serde_json::Value = serde_json::from_slice(&all.body).expect("JSON");
    let listed = |v: &serde_json::Value| v["photos"]["failed"].as_array().map_or(0, Vec::len);
    assert_eq!(short_json["photos"]["failed_count"], 300);
    assert_eq!(listed(&short_json), 100);
    assert_eq!(
        short_json["photos"]["failed"][0]["path"]
            .as_str()
            .map(|p| p.ends_with("broken-000.jpg")),
        Some(true)
    );
    assert_eq!(listed(&all_json), 300);
    // The default answer stays small: about 100 lines of path and reason.
    assert!(short.body.len() < 100 * 200, "{} B", short.body.len());
    assert!(all.body.len() > 2 * short.body.len());
    let metrics = String::from_utf8(server.get("GET", "/metrics").body).expect("utf-8");
    assert!(metrics.contains("framecast_photos_failed 300"), "{metrics}");
    assert_eq!(server.get("GET", "/api/status?failures=some").status, 400);
}

#[test]
fn status_names_the_version_uptime_and_the_settings_in_effect_without_secrets() {
    const PASSWORD: &str = "tv:hunter2-secret";
    const TOKEN: &str = "t0ken-never-shown";
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.spec.size = Size {
            width: 320,
            height: 180,
        };
        s.spec.quality = 70;
        s.spec.fit = Fit::Cover;
        s.timing.interval = Duration::from_millis(1500);
        s.http.mjpeg.refresh = Duration::from_millis(700);
        s.playback.order = Order::Date;
        s.playback.albums = vec!["edge".to_string()];
        s.cache.max_bytes = 3 << 20;
        s.threads = 2;
        s.http.max_clients = 5;
        s.http.max_connections = 40;
        s.limits.max_pixels = 50_000_000;
        s.limits.max_file_bytes = 10 << 20;
        s.pool.memory = 512 << 20;
        s.pool.timeout = Duration::from_secs(20);
        s.http.access.basic = Some(PASSWORD.parse().expect("credentials"));
        s.http.access.token = Some(TOKEN.parse().expect("token"));
        s.http.config_file = Some("/etc/framecast/framecast.toml".into());
        s.http.profiles =
            Profiles::new([("kitchen".to_string(), [("size", "64x48")])], &s.spec).expect("valid");
    });
    let get = || {
        let r = server.get("GET", &format!("/api/status?token={TOKEN}"));
        assert_eq!(r.status, 200);
        let text = String::from_utf8(r.body).expect("utf-8");
        for secret in ["hunter2", TOKEN] {
            assert!(!text.contains(secret), "{secret} in the status: {text}");
        }
        serde_json::from_str::<serde_json::Value>(&text).expect("JSON")
    };
    let status = get();
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    let uptime = status["uptime_seconds"].as_f64().expect("uptime");
    assert!(uptime > 0.0 && uptime < 60.0, "{uptime}");
    wait_until("uptime to go on", Duration::from_secs(10), || {
        get()["uptime_seconds"].as_f64().expect("uptime") > uptime
    });
    assert_eq!(
        status["settings"],
        serde_json::json!({
            "size": "320x180",
            "fit": "cover",
            "quality": 70,
            "interval_ms": 1500,
            "refresh_ms": 700,
            "order": "date",
            "albums": ["edge"],
            "cache_max_bytes": 3 << 20,
            "threads": 2,
            "max_clients": 5,
            "max_connections": 40,
            "limits": {
                "max_pixels": 50_000_000,
                "max_file_bytes": 10 << 20,
                "decode_memory_bytes": 512 << 20,
                "render_timeout_ms": 20_000,
            },
            "auth": true,
            "token": true,
            "config_file": "/etc/framecast/framecast.toml",
            "profiles": ["kitchen"],
        })
    );
    // An open server says so.
    let open = self::server();
    let settings = &open.status()["settings"];
    assert_eq!(settings["auth"], false);
    assert_eq!(settings["token"], false);
}

#[test]
fn status_says_what_is_on_screen_relative_to_its_folder_and_when_it_changes() {
    let roots = vec![fixture("edge/nested"), fixture("exif-orientation")];
    let server = TestServer::start(roots.clone(), |s| {
        s.spec.size = Size {
            width: 320,
            height: 180,
        };
        s.timing.interval = Duration::from_secs(2);
    });
    let mut viewer = server.stream("GET /stream.mjpg HTTP/1.1");
    viewer.next_jpeg();
    // Poll until both folders have been on screen.
    let mut seen = std::collections::BTreeSet::new();
    let mut timed = 0;
    wait_until("a photo of each folder", Duration::from_secs(60), || {
        let status = server.status();
        let current = &status["current"];
        // Before the walk finds a photo, a generated frame says so: nothing is current.
        let Some(root) = current["root"].as_u64() else {
            return false;
        };
        let root = root as usize;
        let path = current["path"].as_str().expect("path");
        assert!(!Path::new(path).is_absolute(), "{path}");
        assert!(roots[root].join(path).is_file(), "{root} {path}");
        assert_eq!(
            status["index"]["roots"][root]["path"],
            roots[root].display().to_string()
        );
        // While someone watches, the next picture comes within the interval (`null` only
        // for the moment the timeline takes to see a viewer arrive).
        if let Some(next) = status["next_change_in_ms"].as_u64() {
            assert!(next <= 2000, "{next}");
            timed += 1;
        }
        seen.insert(root);
        seen.len() == 2
    });
    assert!(timed > 0, "no time to the next change while watched");
    assert!(seen.contains(&0) && seen.contains(&1));
    drop(viewer);
    // Nobody watches: once the interval is over the timeline holds still, no change due.
    wait_until(
        "the timeline to hold still",
        Duration::from_secs(30),
        || server.status()["next_change_in_ms"].is_null(),
    );
    assert!(server.status()["current"]["path"].is_string());
}
