//! The viewer page in headless Chromium chooses for the screen: frames of the screen's own
//! size, snapped to the ladder of shared sizes, unless the URL names one; and a list of the
//! albums, driven with the keys a TV remote sends (arrows, OK, back), whose choice goes into
//! the page URL with the page's other parameters kept, and whose photos the page then shows.

mod common;

use std::path::Path;
use std::time::Duration;

use common::browser::{Browser, Kind, poll};
use common::server::TestServer;
use common::solid_jpeg;
use framecast::render::Size;
use serde_json::Value;

const RED: [u8; 3] = [220, 30, 30];
const BLUE: [u8; 3] = [30, 40, 220];

/// A library with two albums, `blue` and `red`, one photo each.
fn albums(root: &Path) {
    for (album, rgb) in [("blue", BLUE), ("red", RED)] {
        std::fs::create_dir(root.join(album)).expect("album folder");
        std::fs::write(root.join(album).join("photo.jpg"), solid_jpeg(rgb, None))
            .expect("write photo");
    }
}

fn serve(root: &Path) -> TestServer {
    TestServer::start(vec![root.to_path_buf()], |s| {
        s.spec.size = Size {
            width: 480,
            height: 270,
        };
        s.http.mjpeg.refresh = Duration::from_millis(200);
        // The default timeline holds on its first photo (blue): red on a page is the album's.
        s.timing.interval = Duration::from_secs(3600);
    })
}

/// A browser's first page on a loaded machine takes a while; this bounds it.
const PICTURE_WITHIN: Duration = Duration::from_secs(45);

/// The ladder the page snaps to, worked out here on its own: the smallest standard height
/// that covers the screen's short side, in the nearest of three aspect ratios to the window's,
/// the window's way up.
fn snapped(screen: (f64, f64), window: (f64, f64)) -> (u64, u64) {
    let short = screen.0.min(screen.1);
    let shape = window.0.max(window.1) / window.0.min(window.1);
    let aspect = [16.0 / 9.0, 16.0 / 10.0, 4.0 / 3.0]
        .into_iter()
        .min_by(|a, b| {
            let off = |r: f64| (r / shape).ln().abs();
            off(*a).total_cmp(&off(*b))
        })
        .expect("three aspects");
    let side = [360.0, 480.0, 720.0, 1080.0, 1440.0, 2160.0]
        .into_iter()
        .find(|&s| s >= short)
        .unwrap_or(2160.0);
    let across = 2.0 * (side * aspect / 2.0).round();
    if window.1 > window.0 {
        (side as u64, across as u64)
    } else {
        (across as u64, side as u64)
    }
}

fn press(page: &mut Browser, key: &str, code: u32) {
    page.eval(&format!(
        "document.dispatchEvent(new KeyboardEvent('keydown', \
         {{key: '{key}', keyCode: {code}, bubbles: true}})), true"
    ));
}

fn menu(page: &mut Browser) -> Value {
    page.eval(
        "(function () { var m = document.getElementById('menu'); var items = []; \
         for (var i = 0; i < m.childNodes.length; i++) { var li = m.childNodes[i]; \
         items.push({label: li.textContent, chosen: li.className.indexOf('chosen') >= 0}); } \
         return {shown: m.className !== 'off', items: items}; })()",
    )
}

#[test]
fn the_page_asks_for_its_screens_size_snapped_to_shared_sizes() {
    let dir = tempfile::tempdir().expect("temp dir");
    albums(dir.path());
    let server = serve(dir.path());
    let mut page = Browser::open(Kind::Chromium, &format!("http://{}/", server.addr), true);
    let shown = page.picture_size(PICTURE_WITHIN);
    let screen = page.eval(
        "[screen.width, screen.height, window.devicePixelRatio || 1, innerWidth, innerHeight]",
    );
    let dim = |i: usize| screen[i].as_f64().expect("a number");
    let expected = snapped((dim(0) * dim(2), dim(1) * dim(2)), (dim(3), dim(4)));
    assert_eq!(shown, expected, "screen {screen}");
    assert_ne!(shown, (480, 270), "not the server's own size");
    let size = format!("{}x{}", expected.0, expected.1);
    let rendition = server.status()["renditions"]
        .as_array()
        .expect("renditions")
        .iter()
        .find(|r| r["size"] == size.as_str())
        .cloned()
        .expect("the page's size is a rendition of the server");
    assert_eq!(rendition["clients"], 1, "{rendition}");

    // A size in the page URL wins over the screen's.
    let mut sized = Browser::open(
        Kind::Chromium,
        &format!("http://{}/?size=320x240", server.addr),
        true,
    );
    assert_eq!(sized.picture_size(PICTURE_WITHIN), (320, 240));
}

#[test]
fn the_snapping_ladder_shares_sizes_between_screens_alike() {
    let full = |w: f64, h: f64| snapped((w, h), (w, h));
    assert_eq!(full(1920.0, 1080.0), (1920, 1080));
    assert_eq!(full(1366.0, 768.0), (1920, 1080));
    assert_eq!(full(1024.0, 600.0), (1280, 720));
    assert_eq!(full(800.0, 480.0), (768, 480));
    assert_eq!(full(1080.0, 2340.0), (1080, 1920));
    assert_eq!(full(2048.0, 1536.0), (2880, 2160));
    assert_eq!(full(7680.0, 4320.0), (3840, 2160));
    // A tablet held sideways whose screen object stays portrait; a window on a big screen.
    assert_eq!(snapped((1536.0, 2048.0), (1024.0, 768.0)), (2880, 2160));
    assert_eq!(snapped((2560.0, 1440.0), (900.0, 900.0)), (1920, 1440));
}

#[test]
fn arrow_keys_and_ok_pick_an_album_into_the_page_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    albums(dir.path());
    let server = serve(dir.path());
    let mut page = Browser::open(
        Kind::Chromium,
        &format!("http://{}/?lang=en", server.addr),
        true,
    );
    page.picture_size(PICTURE_WITHIN);
    assert_eq!(menu(&mut page)["shown"], false, "no list until asked");
    // A photo on screen does not mean every album is in the library yet (new files settle).
    poll(
        Duration::from_secs(20),
        "both albums in the library",
        || {
            let albums: Value =
                serde_json::from_slice(&server.get("GET", "/api/albums").body).ok()?;
            (albums.as_array()?.len() == 2).then_some(())
        },
    );

    // Any arrow opens the list: every photo first, then the albums with their counts.
    press(&mut page, "ArrowDown", 40);
    let list = poll(Duration::from_secs(10), "the list of albums", || {
        let m = menu(&mut page);
        (m["shown"] == true && m["items"].as_array()?.len() == 3).then_some(m)
    });
    let labels: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["label"].as_str().expect("a label"))
        .collect();
    assert_eq!(labels, ["All photos", "blue (1)", "red (1)"], "{list}");
    assert_eq!(list["items"][0]["chosen"], true, "{list}");

    // Back closes it; the picture stays.
    press(&mut page, "Escape", 27);
    assert_eq!(menu(&mut page)["shown"], false);

    // OK opens it too; up wraps to the last album, down comes back, up again, then OK.
    press(&mut page, "Enter", 13);
    poll(Duration::from_secs(10), "the list again", || {
        (menu(&mut page)["shown"] == true).then_some(())
    });
    press(&mut page, "ArrowUp", 38);
    assert_eq!(
        menu(&mut page)["items"][2]["chosen"],
        true,
        "up wraps to the last"
    );
    press(&mut page, "ArrowDown", 40);
    assert_eq!(
        menu(&mut page)["items"][0]["chosen"],
        true,
        "down wraps to the first"
    );
    press(&mut page, "ArrowUp", 38);
    press(&mut page, "Enter", 13);
    let search = poll(Duration::from_secs(10), "the choice in the URL", || {
        let s = page.eval("window.location.search");
        (s.as_str()? != "?lang=en").then(|| s.as_str().map(str::to_string))?
    });
    assert_eq!(search, "?lang=en&album=red");

    // The page that loads shows the album, and remembers it: the list marks it as showing.
    page.picture_size(PICTURE_WITHIN);
    poll(Duration::from_secs(20), "the red album on the page", || {
        let shot = page.screenshot();
        let p = shot.get_pixel(shot.width() / 2, shot.height() / 2).0;
        (0..3)
            .all(|i| (p[i] as i32 - RED[i] as i32).abs() < 40)
            .then_some(())
    });
    press(&mut page, "ArrowDown", 40);
    let again = poll(Duration::from_secs(10), "the list on the new page", || {
        let m = menu(&mut page);
        (m["shown"] == true && m["items"].as_array()?.len() == 3).then_some(m)
    });
    assert_eq!(again["items"][2]["chosen"], true, "{again}");
    let current = page
        .eval("document.getElementById('menu').childNodes[2].className.indexOf('current') >= 0");
    assert_eq!(current, true);
}
