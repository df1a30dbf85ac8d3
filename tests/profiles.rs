//! Named profiles on the real server: `?profile=NAME` and the path form `/p/NAME/` give the
//! profile's frames on the stream, the snapshot and the page; the URL's own parameters win
//! over the profile's, and the profile's over the server's defaults (the flags); an unknown
//! profile is refused with the ones there are; `/api/profiles` lists them; access control
//! covers the new paths. Then the page under `/p/NAME/` in Chromium, fetching its stream and
//! polls under the prefix.

mod common;

use std::time::Duration;

use common::browser::{Browser, Kind};
use common::server::{TestServer, basic, wait_until};
use common::{assert_frame, fixture};
use framecast::http::{Access, Profiles};
use framecast::render::{Fit, Size, Spec};

fn size(width: u32, height: u32) -> Size {
    Size { width, height }
}

/// The server's own size, as `--size` would set it.
const SERVER: Size = Size {
    width: 480,
    height: 270,
};

fn profiles(spec: &Spec) -> Profiles {
    Profiles::new(
        [
            (
                "kitchen".to_string(),
                vec![("size", "320x240"), ("fit", "blur")],
            ),
            ("hall".to_string(), vec![("quality", "40")]),
        ],
        spec,
    )
    .expect("valid profiles")
}

/// A server of one photo at [`SERVER`] size, with the profiles above.
fn server(tweak: impl FnOnce(&mut framecast::server::Settings)) -> TestServer {
    TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.spec.size = SERVER;
        s.http.mjpeg.refresh = Duration::from_millis(200);
        s.http.profiles = profiles(&s.spec);
        tweak(s);
    })
}

fn snapshot_size(server: &TestServer, path: &str) -> Size {
    let r = server.get("GET", path);
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    let d = common::decode(&r.body);
    size(d.width, d.height)
}

fn stream_frame(server: &TestServer, path: &str) -> Vec<u8> {
    let mut stream = server.stream(&format!("GET {path} HTTP/1.1"));
    assert!(
        stream.status_line.contains(" 200 "),
        "{path}: {}",
        stream.status_line
    );
    stream.next_jpeg()
}

#[test]
fn a_profile_by_query_or_path_gives_its_frames() {
    let server = server(|_| {});
    for path in [
        "/stream.mjpg?profile=kitchen",
        "/p/kitchen/stream.mjpg",
        "/p/kitchen/?action=stream",
    ] {
        assert_frame(&stream_frame(&server, path), size(320, 240));
    }
    for path in ["/snapshot.jpg?profile=kitchen", "/p/kitchen/snapshot.jpg"] {
        assert_eq!(snapshot_size(&server, path), size(320, 240), "{path}");
    }
    // The profile's fit too: both streams are one rendition, listed once.
    let renditions = server.status()["renditions"]
        .as_array()
        .expect("renditions")
        .clone();
    let kitchen: Vec<_> = renditions
        .iter()
        .filter(|r| r["size"] == "320x240")
        .collect();
    assert_eq!(kitchen.len(), 1, "{renditions:?}");
    assert_eq!(kitchen[0]["fit"], Fit::Blur.name());
}

#[test]
fn the_url_wins_over_the_profile_and_the_profile_over_the_flags() {
    let server = server(|_| {});
    // No profile: the server's own size (the flags).
    assert_eq!(snapshot_size(&server, "/snapshot.jpg"), SERVER);
    // The profile over the flags.
    assert_eq!(
        snapshot_size(&server, "/snapshot.jpg?profile=kitchen"),
        size(320, 240)
    );
    // The URL over the profile, in either form.
    assert_frame(
        &stream_frame(&server, "/stream.mjpg?profile=kitchen&size=160x120"),
        size(160, 120),
    );
    assert_eq!(
        snapshot_size(&server, "/p/kitchen/snapshot.jpg?size=160x120"),
        size(160, 120)
    );
    // A profile that leaves the size alone keeps the server's.
    assert_eq!(snapshot_size(&server, "/p/hall/snapshot.jpg"), SERVER);
    // An explicit ?profile= is more specific than the path's.
    assert_eq!(
        snapshot_size(&server, "/p/hall/snapshot.jpg?profile=kitchen"),
        size(320, 240)
    );
    // The hall's quality: a smaller frame of the same picture than the server's quality.
    let hall = server.get("GET", "/p/hall/snapshot.jpg");
    let plain = server.get("GET", "/snapshot.jpg");
    assert!(
        hall.body.len() < plain.body.len(),
        "quality 40: {} bytes, 85: {}",
        hall.body.len(),
        plain.body.len()
    );
}

#[test]
fn an_unknown_profile_is_refused_with_the_known_ones() {
    let server = server(|_| {});
    for path in [
        "/stream.mjpg?profile=garage",
        "/snapshot.jpg?profile=garage",
        "/?profile=garage",
        "/?action=stream&profile=garage",
        "/p/garage/stream.mjpg",
        "/p/garage/snapshot.jpg",
        "/p/garage/",
    ] {
        let r = server.get("GET", path);
        let body = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, 404, "{path}: {body}");
        assert!(
            body.contains("no profile named \"garage\" (profiles: hall, kitchen)"),
            "{path}: {body}"
        );
    }
    // A profile's values are checked like the URL's: a bad one still gets 400.
    let r = server.get("GET", "/p/kitchen/snapshot.jpg?size=1x1");
    assert_eq!(r.status, 400);
    // Nothing was created for them.
    let renditions = server.status()["renditions"]
        .as_array()
        .expect("renditions")
        .len();
    assert_eq!(renditions, 1);
}

#[test]
fn the_page_and_the_api_work_under_the_profile_path() {
    let server = server(|_| {});
    let page = server.get("GET", "/p/kitchen/");
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("src=\"stream.mjpg\""), "relative stream URL");
    // Its relative polls land here.
    let r = server.get("GET", "/p/kitchen/api/instance?client=x");
    assert_eq!(r.status, 200);
    // Without its slash the page's relative URLs would miss the profile: redirected.
    let r = server.get("GET", "/p/kitchen?token=abcdefgh");
    assert_eq!(r.status, 308);
    assert_eq!(
        r.headers.get("location").map(String::as_str),
        Some("kitchen/?token=abcdefgh")
    );

    let r = server.get("GET", "/api/profiles");
    assert_eq!(r.status, 200);
    let list: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(
        list,
        serde_json::json!([
            {"name": "hall", "parameters": {"quality": "40"}},
            {"name": "kitchen", "parameters": {"size": "320x240", "fit": "blur"}},
        ])
    );
    assert_eq!(
        server.status()["settings"]["profiles"],
        serde_json::json!(["hall", "kitchen"])
    );
}

#[test]
fn access_control_covers_the_profile_paths() {
    let server = server(|s| {
        s.http.access = Access {
            basic: Some("tv:secret".parse().expect("credentials")),
            token: Some("abcdefgh12".parse().expect("token")),
        };
    });
    for path in [
        "/p/kitchen/stream.mjpg",
        "/p/kitchen/snapshot.jpg",
        "/p/kitchen/",
        "/p/kitchen",
        "/p/kitchen/api/instance",
        "/api/profiles",
        "/stream.mjpg?profile=kitchen",
    ] {
        assert_eq!(server.get("GET", path).status, 401, "{path}");
    }
    let sep = |p: &str| if p.contains('?') { '&' } else { '?' };
    for path in ["/p/kitchen/snapshot.jpg", "/api/profiles", "/p/kitchen/"] {
        let r = server.get("GET", &format!("{path}{}token=abcdefgh12", sep(path)));
        assert_eq!(r.status, 200, "{path}");
        let (name, value) = basic("tv:secret");
        let r = server.get_with("GET", path, &[(name, value.as_str())]);
        assert_eq!(r.status, 200, "{path}");
    }
}

#[test]
fn chromium_shows_the_profile_page_at_the_profile_size() {
    let server = server(|_| {});
    let mut page = Browser::open(
        Kind::Chromium,
        &format!("http://{}/p/kitchen/", server.addr),
        true,
    );
    let shown = page.picture_size(Duration::from_secs(30));
    assert_eq!(shown, (320, 240), "the page's picture");
    let src = page.eval("document.getElementById('frame').src");
    let src = src.as_str().expect("a URL");
    assert!(
        src.starts_with(&format!("http://{}/p/kitchen/stream.mjpg?", server.addr)),
        "{src}"
    );
    // The page's poll finds its stream (the client it tagged is connected) under the prefix.
    let client = src
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("client="))
        .expect("a client tag")
        .to_string();
    wait_until(
        "the page's stream seen by its poll",
        Duration::from_secs(30),
        || {
            let r = server.get("GET", &format!("/p/kitchen/api/instance?client={client}"));
            let info: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            info["client"]["connected"] == true
        },
    );
}
