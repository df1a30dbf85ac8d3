//! `framecast serve`, the real binary: it says where to connect, streams, and shuts down
//! cleanly on SIGTERM and SIGINT with a client connected.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fixture;

struct Served {
    child: Child,
    port: u16,
    log: BufReader<std::process::ChildStderr>,
    /// What it logged up to the URL.
    head: String,
    _state: tempfile::TempDir,
}

fn serve(extra: &[&str]) -> Served {
    let mut args = vec!["--refresh", "200ms"];
    args.extend_from_slice(extra);
    spawn(&fixture("exif-orientation"), &args, &[("RUST_LOG", "info")])
}

/// Starts the binary on a random loopback port and reads the port from the URL it logs.
fn spawn(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_framecast"));
    command.arg("serve").arg(dir);
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    command.args(args).envs(envs.iter().copied());
    start(command)
}

/// Starts `command` (framecast serve, possibly behind a wrapper such as prlimit) and reads the
/// port from the URL it logs.
fn start(mut command: Command) -> Served {
    // The index and the position go to a folder of the test's own, not the home folder.
    let state = tempfile::tempdir().expect("state dir");
    command
        .env("FRAMECAST_STATE_DIR", state.path())
        .env("FRAMECAST_CACHE_DIR", state.path().join("cache"));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("framecast serve starts");
    let mut log = BufReader::new(child.stderr.take().expect("stderr"));
    let mut head = String::new();
    let port = loop {
        let mut line = String::new();
        assert!(
            log.read_line(&mut line).expect("log") > 0,
            "exited before serving:\n{head}"
        );
        head.push_str(&line);
        // "open http://127.0.0.1:PORT/ in a browser, …" or "serving 18 photos at http://…"
        if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            break digits.parse().expect("port");
        }
    };
    Served {
        child,
        port,
        log,
        head,
        _state: state,
    }
}

/// One request with `Connection: close`; the whole response as text.
fn fetch(port: u16, request: &str) -> String {
    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    client.write_all(request.as_bytes()).expect("request");
    let mut response = Vec::new();
    let _ = client.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

fn stop(served: &mut Served, signal: &str) -> (Option<i32>, String) {
    let started = Instant::now();
    Command::new("kill")
        .args([&format!("-{signal}"), &served.child.id().to_string()])
        .status()
        .expect("kill");
    let status = loop {
        if let Some(status) = served.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    let _ = served.log.read_to_string(&mut rest);
    (status.code(), rest)
}

#[test]
fn logs_the_url_streams_and_stops_cleanly_on_sigterm() {
    let mut served = serve(&[]);
    let mut client = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    client
        .write_all(b"GET /stream.mjpg HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    let mut head = [0u8; 12];
    client.read_exact(&mut head).expect("response");
    assert_eq!(&head, b"HTTP/1.0 200");
    let (code, log) = stop(&mut served, "TERM");
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("client left"), "{log}");
    // The client's stream ends instead of hanging.
    let mut rest = Vec::new();
    client
        .read_to_end(&mut rest)
        .expect("the stream ends cleanly");
}

#[test]
fn stops_on_sigint_too() {
    let mut served = serve(&["--interval", "1s"]);
    let (code, log) = stop(&mut served, "INT");
    assert_eq!(code, Some(0), "{log}");
}

#[test]
fn a_bad_photo_is_logged_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        fixture("edge/truncated.jpg"),
        dir.path().join("a-broken.jpg"),
    )
    .expect("copy");
    std::fs::copy(fixture("edge/photo.webp"), dir.path().join("b-good.webp")).expect("copy");
    let mut served = spawn(
        dir.path(),
        &["--size", "320x240"],
        &[
            ("FRAMECAST_INTERVAL", "50ms"),
            ("FRAMECAST_REFRESH", "50ms"),
            ("RUST_LOG", "warn"),
        ],
    );
    // Watch long enough for the timeline to pass the broken photo many times.
    let mut client = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
    client
        .write_all(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
        .expect("request");
    let mut sink = vec![0u8; 1 << 16];
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        let _ = client.read(&mut sink);
    }
    let (code, rest) = stop(&mut served, "TERM");
    assert_eq!(code, Some(0));
    let mentions = rest.lines().filter(|l| l.contains("a-broken.jpg")).count();
    assert_eq!(mentions, 1, "{rest}");
    assert!(rest.contains("truncated"), "{rest}");
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let output = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .arg("serve")
        .arg(fixture("exif-orientation"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env(
            "FRAMECAST_STATE_DIR",
            std::env::temp_dir().join("framecast-port-test"),
        )
        .env("FRAMECAST_NO_DISK_CACHE", "true")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn raises_the_open_file_limit_to_the_hard_limit() {
    let mut command = Command::new("prlimit");
    command
        .arg("--nofile=256:4096")
        .arg(env!("CARGO_BIN_EXE_framecast"))
        .arg("serve")
        .arg(fixture("exif-orientation"))
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "debug");
    let mut served = start(command);
    assert!(
        served
            .head
            .contains("open files: limit raised from 256 to 4096"),
        "{}",
        served.head
    );
    let limits =
        std::fs::read_to_string(format!("/proc/{}/limits", served.child.id())).expect("limits");
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    assert_eq!(
        open_files.split_whitespace().collect::<Vec<_>>()[3..5],
        ["4096", "4096"],
        "{open_files}"
    );
    // The connection cap follows from the raised limit, well below it.
    let status = fetch(
        served.port,
        "GET /api/status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(status.contains("\"max_connections\":2008"), "{status}");
    let (code, _) = stop(&mut served, "TERM");
    assert_eq!(code, Some(0));
}

#[test]
fn a_folder_name_with_a_colon_works_on_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let odd = dir.path().join("12:30 lunch");
    std::fs::create_dir_all(&odd).expect("mkdir");
    std::fs::copy(fixture("edge/photo.webp"), odd.join("a.webp")).expect("copy");
    let mut served = spawn(&odd, &["--size", "320x240"], &[("RUST_LOG", "warn")]);
    let started = Instant::now();
    let photos = loop {
        let mut client = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
        client
            .write_all(b"GET /api/status HTTP/1.0\r\n\r\n")
            .expect("request");
        let mut response = String::new();
        client.read_to_string(&mut response).expect("response");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        let status: serde_json::Value = serde_json::from_str(body).expect("JSON");
        if status["index"]["photos"] == 1 || started.elapsed() > Duration::from_secs(10) {
            break status["index"]["photos"].clone();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(photos, 1, "the folder was taken whole, not split at ':'");
    let (code, _) = stop(&mut served, "TERM");
    assert_eq!(code, Some(0));
}

#[test]
fn warns_when_anyone_on_the_network_can_watch() {
    let warning = "anyone who can reach";
    let mut open = spawn(
        &fixture("exif-orientation"),
        &["--listen", "0.0.0.0:0"],
        &[("RUST_LOG", "info")],
    );
    assert!(open.head.contains(warning), "{}", open.head);
    stop(&mut open, "TERM");
    let mut closed = spawn(
        &fixture("exif-orientation"),
        &["--listen", "0.0.0.0:0"],
        &[("RUST_LOG", "info"), ("FRAMECAST_TOKEN", "tv-token-123")],
    );
    let (_, rest) = stop(&mut closed, "TERM");
    assert!(!closed.head.contains(warning), "{}", closed.head);
    assert!(!rest.contains(warning), "{rest}");
    // On loopback only this machine can watch: no warning either.
    let mut local = serve(&[]);
    let (_, rest) = stop(&mut local, "TERM");
    assert!(!local.head.contains(warning) && !rest.contains(warning));
}

#[test]
fn secrets_stay_out_of_the_logs_and_the_help() {
    use base64::Engine as _;
    let (password, token) = ("hunter2-pass", "tok-5ecret-42");
    let pair = format!("tv:{password}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(&pair);
    let envs = [
        ("RUST_LOG", "trace"),
        ("FRAMECAST_AUTH", pair.as_str()),
        ("FRAMECAST_TOKEN", token),
    ];
    let mut served = spawn(&fixture("exif-orientation"), &[], &envs);
    let port = served.port;
    let wrong = base64::engine::general_purpose::STANDARD.encode("tv:guess");
    let answers = [
        fetch(
            port,
            &format!(
                "GET /api/status?token={token} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            ),
        ),
        fetch(
            port,
            &format!(
                "GET /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: Basic {encoded}\r\nConnection: close\r\n\r\n"
            ),
        ),
        fetch(
            port,
            &format!(
                "GET /api/status HTTP/1.1\r\nHost: t\r\nAuthorization: Basic {wrong}\r\nConnection: close\r\n\r\n"
            ),
        ),
        fetch(
            port,
            "GET /?token=wrong-token-1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        ),
    ];
    let codes: Vec<&str> = answers.iter().map(|a| &a[9..12]).collect();
    assert_eq!(codes, ["200", "200", "401", "401"]);
    let (code, rest) = stop(&mut served, "TERM");
    assert_eq!(code, Some(0));
    let log = format!("{}{rest}", served.head);
    assert!(log.contains("refused: no valid credentials"), "{log}");
    for secret in [password, token, encoded.as_str()] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        for answer in &answers {
            assert!(!answer.contains(secret), "{secret} in {answer}");
        }
    }
    let help = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .args(["serve", "--help"])
        .envs(envs)
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--auth") && help.contains("FRAMECAST_TOKEN"),
        "{help}"
    );
    assert!(!help.contains(password) && !help.contains(token), "{help}");
}

#[test]
fn no_existing_photo_folder_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .args(["serve", "/nonexistent/photos", "--listen", "127.0.0.1:0"])
        .env(
            "FRAMECAST_STATE_DIR",
            std::env::temp_dir().join("framecast-none-test"),
        )
        .env("FRAMECAST_NO_DISK_CACHE", "true")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("none of the photo folders can be read: /nonexistent/photos (No such file"),
        "{stderr}"
    );
}

/// `/api/status` of the server on `port`, as JSON.
fn status(port: u16) -> serde_json::Value {
    let response = fetch(
        port,
        "GET /api/status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let (_, body) = response.split_once("\r\n\r\n").expect("a body");
    serde_json::from_str(body).expect("status JSON")
}

/// Rendered frames go to the cache folder (`FRAMECAST_CACHE_DIR`, which `start` points into
/// the test's own folder), and nowhere with `--no-disk-cache`.
#[test]
fn frames_are_kept_in_the_cache_folder_unless_told_not_to() {
    for kept in [true, false] {
        let mut args = vec!["--size", "320x240", "--interval", "100ms"];
        if !kept {
            args.push("--no-disk-cache");
        }
        let mut served = spawn(&fixture("exif-orientation"), &args, &[]);
        let cache = served._state.path().join("cache");
        // A timeline with nobody watching holds still: read a stream meanwhile.
        let mut client = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
        client
            .write_all(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
            .expect("request");
        let reader = std::thread::spawn(move || {
            let mut sink = vec![0u8; 1 << 16];
            while client.read(&mut sink).is_ok_and(|n| n > 0) {}
        });
        let started = Instant::now();
        let status = loop {
            let status = status(served.port);
            let published = status["photos"]["pictures_published"].as_u64().unwrap_or(0);
            let written = status["cache"]["disk"]["writes"].as_u64().unwrap_or(0);
            if published >= 4 && (!kept || written >= 4) {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{status}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let files = std::fs::read_dir(&cache).map_or(0, |entries| entries.count());
        let (code, log) = stop(&mut served, "TERM");
        assert_eq!(code, Some(0), "{log}");
        reader.join().expect("reader");
        if kept {
            assert_eq!(
                status["cache"]["disk"]["dir"].as_str(),
                cache.to_str(),
                "{status}"
            );
            assert!(files >= 4, "{files} files for {status}");
        } else {
            assert!(status["cache"]["disk"].is_null(), "{status}");
            assert!(!cache.exists(), "a cache folder with --no-disk-cache");
        }
    }
}
