//! The caps on clients and connections, over raw TCP: a stream past `max_clients` gets 503
//! with `Retry-After`; with every connection slot taken `/healthz` still answers at once and
//! everything else is turned away; connections that say nothing, or stop between requests,
//! are closed after the idle timeout. The caps here are small so a handful of sockets shows
//! the mechanism.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::fixture;
use common::server::{TestServer, read_head, status_code, wait_until};
use framecast::http::listen::OVERFLOW_SLOTS;
use framecast::render::Size;

fn server(tweak: impl FnOnce(&mut framecast::server::Settings)) -> TestServer {
    TestServer::start(vec![fixture("exif-orientation")], |s| {
        s.spec.size = Size {
            width: 320,
            height: 180,
        };
        s.timing.interval = Duration::from_millis(200);
        s.http.mjpeg.refresh = Duration::from_millis(200);
        tweak(s);
    })
}

/// Whether the server has closed `s` (a read returns end of stream or a reset).
fn closed(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

#[test]
fn past_max_clients_a_stream_gets_503_with_retry_after() {
    let server = server(|s| s.http.max_clients = 2);
    let mut a = server.stream("GET /stream.mjpg HTTP/1.1");
    let mut b = server.stream("GET /?action=stream HTTP/1.1");
    a.next_jpeg();
    b.next_jpeg();
    let refused = server.get("GET", "/stream.mjpg");
    assert_eq!(refused.status, 503, "{}", refused.status_line);
    assert_eq!(refused.headers["retry-after"], "10");
    let reason = String::from_utf8_lossy(&refused.body);
    assert!(reason.contains("limit of 2 clients"), "{reason}");
    // Snapshots, the page and the status are not stream clients.
    assert_eq!(server.get("GET", "/snapshot.jpg").status, 200);
    assert_eq!(server.get("GET", "/").status, 200);
    let status = server.status();
    assert_eq!(status["limits"]["max_clients"], 2);
    assert_eq!(status["limits"]["clients_refused"], 1);
    // A client leaves: the next one is let in.
    drop(a);
    wait_until("a free client slot", Duration::from_secs(10), || {
        server.head_of("GET", "/stream.mjpg", &[]).status == 200
    });
    b.next_jpeg();
}

#[test]
fn healthz_answers_when_every_connection_slot_is_taken() {
    let cap = 4;
    let server = server(|s| {
        s.http.max_connections = cap;
        s.http.idle_timeout = Duration::from_secs(3);
    });
    wait_until("the first picture", Duration::from_secs(10), || {
        server.get("GET", "/healthz").status == 200
    });
    // Keep-alive connections that made one request and then fall silent take every slot
    // (a response without `Connection: close` shows one got a slot, not the overflow path);
    // then silent connections flood the overflow slots several times over.
    let mut main: Vec<TcpStream> = Vec::new();
    while main.len() < cap {
        let mut s = server.connect();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("request");
        let mut reader = BufReader::new(s.try_clone().expect("clone"));
        let (status, headers) = read_head(&mut reader);
        assert_eq!(status_code(&status), 200, "{status}");
        if !headers.contains_key("connection") {
            main.push(s);
        }
    }
    let opened = Instant::now();
    let mut flood: Vec<TcpStream> = (0..OVERFLOW_SLOTS * 3).map(|_| server.connect()).collect();
    let started = Instant::now();
    let health = server.get("GET", "/healthz");
    let took = started.elapsed();
    eprintln!(
        "{} silent connections: /healthz answered {} in {took:?}",
        main.len() + flood.len(),
        health.status
    );
    assert_eq!(health.status, 200, "{}", health.status_line);
    assert!(took < Duration::from_secs(2), "{took:?}");
    for path in ["/stream.mjpg", "/snapshot.jpg", "/api/status"] {
        let busy = server.get("GET", path);
        assert_eq!(busy.status, 503, "{path}: {}", busy.status_line);
        assert_eq!(busy.headers["retry-after"], "10", "{path}");
        assert_eq!(busy.headers["connection"], "close", "{path}");
    }
    // The oldest overflow connections made way for the newer ones and were closed at once.
    let evicted = flood
        .iter_mut()
        .take(OVERFLOW_SLOTS)
        .map(|s| closed(s, Duration::from_millis(500)))
        .filter(|&c| c)
        .count();
    assert_eq!(
        evicted, OVERFLOW_SLOTS,
        "the oldest overflow connections are closed"
    );
    // The silent ones in the main slots are closed after the idle timeout, not before.
    for s in &mut main {
        assert!(closed(s, Duration::from_secs(10)), "closed for idling");
    }
    let idled = opened.elapsed();
    eprintln!("silent connections closed after {idled:?}");
    assert!(idled >= Duration::from_millis(2900), "{idled:?}");
    // The slots are free again.
    wait_until("a free slot", Duration::from_secs(10), || {
        server.head_of("GET", "/stream.mjpg", &[]).status == 200
    });
    let status = server.status();
    assert_eq!(status["limits"]["max_connections"], cap);
    assert!(status["limits"]["overflow_connections"].as_u64() >= Some(OVERFLOW_SLOTS as u64));
}

#[test]
fn a_request_head_that_never_completes_is_closed_after_the_idle_timeout() {
    let server = server(|s| s.http.idle_timeout = Duration::from_secs(1));
    let mut silent = server.connect();
    let mut partial = server.connect();
    partial
        .write_all(b"GET /stream.mjpg HTTP/1.1\r\nHost: t\r\n")
        .expect("half a request");
    let started = Instant::now();
    assert!(closed(&mut silent, Duration::from_secs(10)));
    assert!(closed(&mut partial, Duration::from_secs(10)));
    let took = started.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(5)).contains(&took),
        "{took:?}"
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = server(|s| s.http.idle_timeout = Duration::from_secs(1));
    wait_until("the first picture", Duration::from_secs(10), || {
        server.get("GET", "/healthz").status == 200
    });
    let mut s = server.connect();
    let mut reader = BufReader::new(s.try_clone().expect("clone"));
    // Two requests on one connection, then nothing.
    for _ in 0..2 {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("request");
        let (status, headers) = read_head(&mut reader);
        assert_eq!(status_code(&status), 200, "{status}");
        let len: usize = headers["content-length"].parse().expect("length");
        let mut body = vec![0; len];
        reader.read_exact(&mut body).expect("body");
    }
    let started = Instant::now();
    assert!(reader.fill_buf().expect("end of stream").is_empty());
    let took = started.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(5)).contains(&took),
        "{took:?}"
    );
}
