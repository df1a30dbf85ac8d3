//! The viewer page in real browsers, headless Chromium and Firefox ESR: it heals itself after
//! the server restarts (stopped in process, or the real binary killed with SIGKILL, then
//! started again on the same port), its status line goes away with the first picture, and
//! without JavaScript it shows the stream with no text over it.
//!
//! Each server generation shows a photo of its own colour, so a screenshot tells a resumed
//! page from one still showing the last picture of the old stream; the server side confirms
//! that a new stream client appeared and was sent parts.
//!
//! A network drop is played by a relay between browser and server that the test cuts: every
//! connection open at the cut stays silent for good (as when a screen's Wi-Fi comes back and
//! its old connections are dead on the far side), and new ones go nowhere until the network
//! is back.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::browser::{Browser, HEIGHT, Kind, WIDTH, poll};
use common::server::TestServer;
use framecast::render::Size;
use serde_json::Value;

/// What the page must do after a restart, by the measure.
const RESUME_WITHIN: Duration = Duration::from_secs(10);
/// A browser's first page on a loaded machine takes a while; this bounds it.
const BROWSER_START: Duration = Duration::from_secs(45);

const RED: [u8; 3] = [200, 40, 40];
const BLUE: [u8; 3] = [40, 60, 210];
const GREEN: [u8; 3] = [40, 180, 60];

/// A folder with one photo of one colour.
fn gallery(color: [u8; 3]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    image::RgbImage::from_pixel(320, 180, image::Rgb(color))
        .save(dir.path().join("photo.png"))
        .expect("write photo");
    dir
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// One server generation: the library in process, or the real binary.
enum Server {
    InProcess(TestServer),
    Binary(Binary),
}

/// The real binary, killed if a failing test leaves it running.
struct Binary(Child);

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    fn in_process(addr: SocketAddr, dir: &tempfile::TempDir) -> Server {
        Server::InProcess(TestServer::start_on(
            addr,
            vec![dir.path().to_path_buf()],
            |s| {
                s.spec.size = Size {
                    width: 640,
                    height: 360,
                };
                s.http.mjpeg.refresh = Duration::from_millis(200);
            },
        ))
    }

    fn binary(addr: SocketAddr, dir: &tempfile::TempDir) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_framecast"))
            .arg("serve")
            .arg(dir.path())
            .args(["--listen", &addr.to_string()])
            .args(["--size", "640x360", "--refresh", "200ms", "--threads", "2"])
            // Hidden, so not part of the gallery, and gone with the folder.
            .env("FRAMECAST_STATE_DIR", dir.path().join(".state"))
            .env("FRAMECAST_CACHE_DIR", dir.path().join(".cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("framecast serve starts");
        Server::Binary(Binary(child))
    }

    /// In process: cancelled, every stream ends cleanly. The binary: SIGKILL.
    fn stop(self) {
        match self {
            Server::InProcess(mut server) => {
                assert!(server.shutdown(Duration::from_secs(15)), "shutdown");
            }
            Server::Binary(mut binary) => {
                binary.0.kill().expect("SIGKILL");
                binary.0.wait().expect("reaped");
            }
        }
    }
}

/// A GET on loopback: status and body, or `None` while nothing listens.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

fn get_json(addr: SocketAddr, path: &str) -> Option<Value> {
    match get(addr, path)? {
        (200, body) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// The stream clients the server lists: (id, parts sent).
fn stream_clients(addr: SocketAddr) -> Option<Vec<(u64, u64)>> {
    let status = get_json(addr, "/api/status")?;
    Some(
        status["clients"]
            .as_array()?
            .iter()
            .map(|c| {
                (
                    c["id"].as_u64().unwrap_or(0),
                    c["frames_sent"].as_u64().unwrap_or(0),
                )
            })
            .collect(),
    )
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 40)
}

fn centre(shot: &image::RgbImage) -> [u8; 3] {
    shot.get_pixel(shot.width() / 2, shot.height() / 2).0
}

/// Whether the bottom strip, where the status line would be, is the photo and nothing else.
fn no_status_line(shot: &image::RgbImage, photo: [u8; 3]) -> bool {
    (shot.height() - 34..shot.height() - 2).all(|y| {
        (2..shot.width() / 2)
            .step_by(3)
            .all(|x| near(shot.get_pixel(x, y).0, photo))
    })
}

fn status_class(browser: &mut Browser) -> String {
    browser
        .eval("document.getElementById('status').className")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits until the page shows `photo`; returns how long that took.
fn shows(browser: &mut Browser, photo: [u8; 3], limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let shot = browser.screenshot();
        assert_eq!((shot.width(), shot.height()), (WIDTH, HEIGHT));
        let last = centre(&shot);
        if near(last, photo) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{:?}: the page shows {last:?}, not {photo:?}, after {limit:?}",
            browser.kind
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// After a restart at `since`: how long until the server had sent a new stream client two
/// parts, and until the page showed `photo`; both within [`RESUME_WITHIN`].
fn resumes(
    browser: &mut Browser,
    addr: SocketAddr,
    photo: [u8; 3],
    since: Instant,
) -> (Duration, Duration) {
    let (mut streamed, mut shown) = (None, None);
    while streamed.is_none() || shown.is_none() {
        if streamed.is_none()
            && stream_clients(addr).is_some_and(|c| c.iter().any(|&(_, sent)| sent >= 2))
        {
            streamed = Some(since.elapsed());
        }
        if shown.is_none() && near(centre(&browser.screenshot()), photo) {
            shown = Some(since.elapsed());
        }
        assert!(
            since.elapsed() < RESUME_WITHIN,
            "{:?}: not resumed {RESUME_WITHIN:?} after the restart (stream: {streamed:?}, \
             picture: {shown:?}, clients: {:?})",
            browser.kind,
            stream_clients(addr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (streamed.unwrap_or_default(), shown.unwrap_or_default())
}

/// Once resumed the page holds one stream, and keeps it: no reconnection churn.
fn settles_on_one_stream(addr: SocketAddr) {
    let one = |clients: Vec<(u64, u64)>| match clients[..] {
        [(id, _)] => Some(id),
        _ => None,
    };
    let id = poll(Duration::from_secs(10), "single stream client", || {
        stream_clients(addr).and_then(one)
    });
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let clients = stream_clients(addr).expect("status");
        assert_eq!(
            one(clients.clone()),
            Some(id),
            "stream clients: {clients:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn heals_after_restarts(kind: Kind) {
    let (red, blue, green) = (gallery(RED), gallery(BLUE), gallery(GREEN));
    let addr = free_port();
    let server = Server::in_process(addr, &red);
    let mut browser = Browser::open(kind, &format!("http://{addr}/?token=t0k&lang=en"), true);
    shows(&mut browser, RED, BROWSER_START);

    // Every URL the page fetches keeps the page's own parameters.
    let src = browser.eval("document.getElementById('frame').src");
    let src = src.as_str().unwrap_or_default();
    assert!(
        src.contains("stream.mjpg?token=t0k&lang=en&") && src.contains("&client="),
        "{src}"
    );
    let polled = poll(Duration::from_secs(10), "a poll of api/instance", || {
        let names = browser
            .eval("performance.getEntriesByType('resource').map(function (e) { return e.name; })");
        let names: Vec<String> = names
            .as_array()?
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .filter(|n| n.contains("/api/instance"))
            .collect();
        (!names.is_empty()).then_some(names)
    });
    assert!(
        polled
            .iter()
            .all(|n| n.contains("?token=t0k&lang=en&client=")),
        "{polled:?}"
    );

    // Stopped in process: the stream ends cleanly, as at SIGTERM.
    server.stop();
    std::thread::sleep(Duration::from_secs(3));
    let server = Server::binary(addr, &blue);
    let started = Instant::now();
    poll(Duration::from_secs(30), "framecast answering", || {
        get(addr, "/healthz").filter(|(code, _)| *code == 200)
    });
    let ready = Instant::now();
    let (streamed, shown) = resumes(&mut browser, addr, BLUE, ready);
    eprintln!(
        "{kind:?} after a clean stop: ready {:?} after start, stream sent parts {streamed:?} \
         and picture shown {shown:?} after ready",
        ready - started
    );
    settles_on_one_stream(addr);

    // Killed: no goodbye at all.
    server.stop();
    std::thread::sleep(Duration::from_secs(3));
    let server = Server::binary(addr, &green);
    let started = Instant::now();
    poll(Duration::from_secs(30), "framecast answering", || {
        get(addr, "/healthz").filter(|(code, _)| *code == 200)
    });
    let ready = Instant::now();
    let (streamed, shown) = resumes(&mut browser, addr, GREEN, ready);
    eprintln!(
        "{kind:?} after SIGKILL: ready {:?} after start, stream sent parts {streamed:?} and \
         picture shown {shown:?} after ready",
        ready - started
    );
    settles_on_one_stream(addr);
    poll(
        Duration::from_secs(5),
        "the status line hidden again",
        || (status_class(&mut browser) == "hidden").then_some(()),
    );
    server.stop();
}

#[test]
fn chromium_page_heals_after_restarts() {
    heals_after_restarts(Kind::Chromium);
}

#[test]
fn firefox_page_heals_after_restarts() {
    heals_after_restarts(Kind::Firefox);
}

fn status_line_goes_with_the_first_picture(kind: Kind) {
    let red = gallery(RED);
    let addr = free_port();
    let server = Server::in_process(addr, &red);
    let mut browser = Browser::open(kind, &format!("http://{addr}/"), true);
    shows(&mut browser, RED, BROWSER_START);
    let hidden_after = poll(Duration::from_secs(5), "the status line hidden", || {
        (status_class(&mut browser) == "hidden").then(Instant::now)
    });
    // It stays hidden while parts keep coming (every 200 ms here): Firefox fires `load` for
    // each one.
    while hidden_after.elapsed() < Duration::from_secs(3) {
        assert_eq!(status_class(&mut browser), "hidden");
        std::thread::sleep(Duration::from_millis(200));
    }
    let shot = browser.screenshot();
    assert!(
        no_status_line(&shot, RED),
        "{kind:?}: text over the picture"
    );
    server.stop();
}

#[test]
fn chromium_status_line_goes_with_the_first_picture() {
    status_line_goes_with_the_first_picture(Kind::Chromium);
}

#[test]
fn firefox_status_line_goes_with_the_first_picture() {
    status_line_goes_with_the_first_picture(Kind::Firefox);
}

fn without_javascript_shows_the_stream_and_no_text(kind: Kind) {
    let red = gallery(RED);
    let addr = free_port();
    let server = Server::in_process(addr, &red);
    // The page's query reaches the stream: the server knows it by the client id in it.
    let mut browser = Browser::open(
        kind,
        &format!("http://{addr}/?token=t0k&client=noscript-1"),
        false,
    );
    shows(&mut browser, RED, BROWSER_START);
    let seen = poll(Duration::from_secs(10), "the no-script stream", || {
        let info = get_json(addr, "/api/instance?client=noscript-1")?;
        (info["client"]["connected"] == true && info["client"]["parts"].as_u64()? >= 2)
            .then_some(info)
    });
    assert!(seen["instance"].is_string());
    // Several parts later, still nothing over the picture.
    std::thread::sleep(Duration::from_secs(2));
    let shot = browser.screenshot();
    assert!(near(centre(&shot), RED));
    assert!(
        no_status_line(&shot, RED),
        "{kind:?}: text over the picture without JavaScript"
    );
    server.stop();
}

#[test]
fn chromium_without_javascript_shows_the_stream_and_no_text() {
    without_javascript_shows_the_stream_and_no_text(Kind::Chromium);
}

#[test]
fn firefox_without_javascript_shows_the_stream_and_no_text() {
    without_javascript_shows_the_stream_and_no_text(Kind::Firefox);
}

/// The home network between the screens and the server: a TCP relay the test can cut.
struct Network {
    addr: SocketAddr,
    shared: Arc<Links>,
}

struct Links {
    /// Connections made before the last cut are dead for good.
    epoch: AtomicU64,
    down: AtomicBool,
    closing: AtomicBool,
}

/// A connection made while the network was down never carries anything.
const DEAD: u64 = u64::MAX;

impl Network {
    fn to(server: SocketAddr) -> Network {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("relay address");
        let shared = Arc::new(Links {
            epoch: AtomicU64::new(0),
            down: AtomicBool::new(false),
            closing: AtomicBool::new(false),
        });
        let links = Arc::clone(&shared);
        std::thread::spawn(move || {
            while !links.closing.load(Ordering::SeqCst) {
                let Ok((screen, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = screen.set_nonblocking(false);
                let epoch = if links.down.load(Ordering::SeqCst) {
                    DEAD
                } else {
                    links.epoch.load(Ordering::SeqCst)
                };
                let links = Arc::clone(&links);
                std::thread::spawn(move || relay(screen, server, epoch, links));
            }
        });
        Network { addr, shared }
    }

    fn cut(&self) {
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        self.shared.down.store(true, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
    }
}

/// Carries one connection both ways while its epoch is current; afterwards it holds both
/// ends open and silent, reading nothing, until the test ends.
fn relay(screen: TcpStream, server: SocketAddr, epoch: u64, links: Arc<Links>) {
    let live = move |links: &Links| {
        epoch == links.epoch.load(Ordering::SeqCst) && !links.down.load(Ordering::SeqCst)
    };
    if epoch == DEAD {
        while !links.closing.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        return;
    }
    // A small receive buffer, so the server's sending backs up soon after a cut, as it
    // would with nobody acknowledging on the other side.
    let upstream =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    upstream.set_recv_buffer_size(64 * 1024).expect("SO_RCVBUF");
    if upstream.connect(&server.into()).is_err() {
        return;
    }
    let upstream: TcpStream = upstream.into();
    let pump = move |mut from: TcpStream, mut to: TcpStream, links: Arc<Links>| {
        from.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let mut buf = vec![0u8; 16 * 1024];
        while !links.closing.load(Ordering::SeqCst) {
            if !live(&links) {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    };
    let (screen2, upstream2) = (
        screen.try_clone().expect("clone"),
        upstream.try_clone().expect("clone"),
    );
    let back = Arc::clone(&links);
    let down = std::thread::spawn(move || pump(upstream2, screen2, back));
    pump(screen, upstream, links);
    let _ = down.join();
}

/// A photo of noise around `color`: large frames, so a stalled connection backs up fast.
fn noisy_gallery(colors: &[[u8; 3]]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for (i, color) in colors.iter().enumerate() {
        let photo = image::RgbImage::from_fn(1280, 720, |_, _| {
            let mut px = [0u8; 3];
            for (c, v) in px.iter_mut().enumerate() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *v = (color[c] as i32 + (seed % 61) as i32 - 30).clamp(0, 255) as u8;
            }
            image::Rgb(px)
        });
        photo
            .save(dir.path().join(format!("photo{i}.png")))
            .expect("write photo");
    }
    dir
}

/// Mean colour of the middle of the page.
fn middle(shot: &image::RgbImage) -> [u8; 3] {
    let (cx, cy) = (shot.width() / 2, shot.height() / 2);
    let mut sum = [0u64; 3];
    for y in cy - 32..cy + 32 {
        for x in cx - 32..cx + 32 {
            for (s, v) in sum.iter_mut().zip(shot.get_pixel(x, y).0) {
                *s += v as u64;
            }
        }
    }
    sum.map(|s| (s / (64 * 64)) as u8)
}

fn heals_after_a_network_drop(kind: Kind) {
    // Two photos taking turns every second: a live page keeps changing colour.
    let photos = noisy_gallery(&[RED, BLUE]);
    let server = TestServer::start(vec![photos.path().to_path_buf()], |s| {
        s.spec.size = Size {
            width: 1280,
            height: 720,
        };
        s.timing.interval = Duration::from_secs(1);
    });
    let network = Network::to(server.addr);
    let mut browser = Browser::open(kind, &format!("http://{}/", network.addr), true);
    let colour = |browser: &mut Browser| {
        let m = middle(&browser.screenshot());
        if near(m, RED) {
            Some(RED)
        } else if near(m, BLUE) {
            Some(BLUE)
        } else {
            None
        }
    };
    poll(BROWSER_START, "a picture", || colour(&mut browser));
    let before: Vec<u64> = stream_clients(server.addr)
        .expect("status")
        .iter()
        .map(|&(id, _)| id)
        .collect();

    network.cut();
    // The page freezes on whatever it had.
    std::thread::sleep(Duration::from_secs(2));
    let frozen = colour(&mut browser);
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        assert_eq!(
            colour(&mut browser),
            frozen,
            "{kind:?}: pictures came through a cut network"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    network.restore();
    let restored = Instant::now();
    let (mut streamed, mut changed) = (None, None);
    while streamed.is_none() || changed.is_none() {
        if streamed.is_none()
            && stream_clients(server.addr).is_some_and(|c| {
                c.iter()
                    .any(|&(id, sent)| !before.contains(&id) && sent >= 2)
            })
        {
            streamed = Some(restored.elapsed());
        }
        if changed.is_none() && colour(&mut browser).is_some_and(|c| Some(c) != frozen) {
            changed = Some(restored.elapsed());
        }
        assert!(
            restored.elapsed() < RESUME_WITHIN,
            "{kind:?}: not resumed {RESUME_WITHIN:?} after the network came back (stream: \
             {streamed:?}, new picture: {changed:?}, clients: {:?})",
            stream_clients(server.addr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "{kind:?} after a network drop: new stream sent parts {:?} and a new picture shown {:?} \
         after the network came back",
        streamed.unwrap_or_default(),
        changed.unwrap_or_default()
    );
}

#[test]
fn chromium_page_heals_after_a_network_drop() {
    heals_after_a_network_drop(Kind::Chromium);
}

#[test]
fn firefox_page_heals_after_a_network_drop() {
    heals_after_a_network_drop(Kind::Firefox);
}
