//! The command line as a person meets it, on the real binary: the address and duration forms
//! people type, errors that name the problem once, `--version`, grouped `--help`, and the
//! start-up lines that say what was found and where to connect, whatever the log level.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use common::fixture;

fn framecast(args: &[&str]) -> Output {
    // The index and the position go to a folder of the run's own, not the home folder.
    let state = tempfile::tempdir().expect("state dir");
    Command::new(env!("CARGO_BIN_EXE_framecast"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("FRAMECAST_STATE_DIR", state.path())
        .env("FRAMECAST_CACHE_DIR", state.path().join("cache"))
        .output()
        .expect("framecast runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `framecast serve` running, its stderr read line by line on a thread.
struct Serving {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    _state: tempfile::TempDir,
}

impl Serving {
    fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Serving {
        let state = tempfile::tempdir().expect("state dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_framecast"))
            .arg("serve")
            .arg(dir)
            .args(args)
            .env_remove("RUST_LOG")
            .env("FRAMECAST_STATE_DIR", state.path())
            .env("FRAMECAST_CACHE_DIR", state.path().join("cache"))
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("framecast serve starts");
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Serving {
            child,
            lines,
            seen: Vec::new(),
            _state: state,
        }
    }

    /// Reads lines until one satisfies `wanted`, for at most 60 s (a loaded machine).
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {what}; stderr so far:\n{}", self.log()),
            }
        }
    }

    /// The port in the loopback page URL of the start-up lines.
    fn port(&mut self) -> u16 {
        let line = self.wait_for("the loopback page URL", |l| {
            l.contains("page") && (l.contains("http://127.0.0.1:") || l.contains("http://[::1]:"))
        });
        let after = line.rsplit(':').next().expect("port");
        after.trim_end_matches('/').parse().expect("a port")
    }

    fn log(&self) -> String {
        self.seen.join("\n")
    }

    /// Stops with SIGTERM and returns everything it printed.
    fn stop(mut self) -> String {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "still running after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        self.log()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The whole response to one request (any status: the server may still be rendering its first
/// frame, and only the connection is tested).
fn get(host: &str, port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect((host, port)).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

fn folder_with(photos: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, photo) in photos.iter().enumerate() {
        let name = Path::new(photo).file_name().expect("name");
        std::fs::copy(
            fixture(photo),
            dir.path().join(format!("{i}-{}", name.to_string_lossy())),
        )
        .expect("copy");
    }
    dir
}

#[test]
fn listen_takes_a_port_a_host_name_and_bracketed_ipv6() {
    let dir = folder_with(&["edge/1x1.png"]);
    for listen in ["127.0.0.1:0", "localhost:0", ":0", "0", "[::]:0"] {
        let mut served = Serving::start(dir.path(), &["--listen", listen, "--size", "64x64"], &[]);
        let port = served.port();
        let host = if served.log().contains("http://127.0.0.1:") {
            "127.0.0.1"
        } else {
            "::1"
        };
        let response = get(host, port, "/healthz");
        assert!(
            response.starts_with("HTTP/1."),
            "{listen} {host} {port}: {response}\n{}",
            served.log()
        );
        // A port alone and [::] take IPv4 and IPv6 on one socket, where the machine has IPv6.
        let ipv6 = std::net::TcpListener::bind("[::1]:0").is_ok();
        if ipv6 && ["0", ":0", "[::]:0"].contains(&listen) {
            assert!(get("127.0.0.1", port, "/healthz").starts_with("HTTP/1."));
            assert!(get("::1", port, "/healthz").starts_with("HTTP/1."));
            // Both loopback URLs are printed, IPv6 last.
            served.wait_for("the IPv6 loopback URL", |l| l.contains("http://[::1]:"));
            assert!(served.log().contains("http://127.0.0.1:"), "{listen}");
        }
        served.stop();
    }
}

#[test]
fn a_bad_listen_address_shows_what_to_write() {
    let run = framecast(&["serve", "--listen", "localhost"]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = text(&run.stderr);
    for example in ["8080", "localhost:8080", "[::]:8080"] {
        assert!(stderr.contains(example), "{stderr}");
    }
}

#[test]
fn durations_take_units_in_any_case_and_refuse_a_bare_number() {
    let run = framecast(&["serve", "--interval", "5"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("did you mean 5s?"),
        "{}",
        text(&run.stderr)
    );
    let run = framecast(&["serve", "--refresh", "2 fortnights"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("unknown unit 'fortnights'"));

    let dir = folder_with(&["edge/1x1.png"]);
    let mut served = Serving::start(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--size",
            "64x64",
            "--interval",
            "5S",
        ],
        &[
            ("FRAMECAST_REFRESH", "1m30s"),
            ("FRAMECAST_WRITE_TIMEOUT", "500ms"),
        ],
    );
    served.port();
    served.stop();
}

#[test]
fn a_missing_folder_is_named_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let missing = dir.path().join("no-such-folder");
    let missing = missing.to_str().expect("utf-8");
    for args in [
        vec!["serve", missing, "--listen", "127.0.0.1:0"],
        vec!["render", missing, "--out", out.to_str().expect("utf-8")],
    ] {
        let run = framecast(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        let stderr = text(&run.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(missing), "{args:?}: {stderr}");
        assert_eq!(
            stderr.matches("No such file or directory").count(),
            1,
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_port_in_use_is_named_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen = taken.local_addr().expect("addr").to_string();
    let run = framecast(&["serve", "--listen", &listen]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = text(&run.stderr);
    assert_eq!(
        stderr.matches("Address already in use").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("cannot listen on {listen}")),
        "{stderr}"
    );
}

#[test]
fn version_is_the_crate_version() {
    let run = framecast(&["--version"]);
    assert_eq!(run.status.code(), Some(0));
    let stdout = text(&run.stdout);
    assert!(
        stdout.starts_with(&format!("framecast {}", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    // Every command answers with the same version.
    assert_eq!(
        text(&framecast(&["serve", "--version"]).stdout),
        stdout.replacen("framecast", "framecast-serve", 1)
    );
}

#[test]
fn serve_help_groups_its_options() {
    let run = framecast(&["serve", "--help"]);
    assert_eq!(run.status.code(), Some(0));
    let help = text(&run.stdout);
    // The heading each line of the help is under.
    let mut under = Vec::new();
    let mut heading = "";
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            heading = line.trim_end_matches(':');
        }
        under.push((heading, line));
    }
    let mut order: Vec<&str> = under.iter().map(|(h, _)| *h).collect();
    order.dedup();
    assert_eq!(
        order,
        [
            "",
            "Options",
            "Input",
            "Stream",
            "Output",
            "Limits",
            "Access",
            "Config file",
            "Logging"
        ],
        "{help}"
    );
    for (heading, options) in [
        (
            "Input",
            &["[DIR]...", "--album", "--no-watch", "--rescan"][..],
        ),
        ("Output", &["--size", "--quality", "--background"][..]),
        ("Stream", &["--listen", "--interval", "--refresh"][..]),
        (
            "Limits",
            &[
                "--cache-size",
                "--threads",
                "--write-timeout",
                "--max-pixels",
                "--max-file-size",
            ][..],
        ),
        ("Config file", &["--config"][..]),
        ("Logging", &["-v, --verbose", "-q, --quiet"][..]),
    ] {
        for option in options {
            let (found, _) = under
                .iter()
                .find(|(_, line)| line.trim_start().starts_with(option))
                .unwrap_or_else(|| panic!("no {option}:\n{help}"));
            assert_eq!(found, &heading, "{option}:\n{help}");
        }
    }
    assert!(help.contains("FRAMECAST_DIRS"), "{help}");
    assert!(!help.contains("generate"), "{help}");
}

#[test]
fn start_up_lines_show_photos_and_urls_whatever_the_log_level() {
    for (photos, expected) in [
        (&["edge/1x1.png"][..], "1 photo found"),
        (&["edge/1x1.png", "edge/photo.webp"][..], "2 photos found"),
    ] {
        let dir = folder_with(photos);
        let mut served = Serving::start(
            dir.path(),
            &["--listen", "127.0.0.1:0", "--size", "64x64"],
            &[("RUST_LOG", "error")],
        );
        let port = served.port();
        // Copied just now, the photos are counted once they have settled.
        served.wait_for(expected, |l| l.contains(expected));
        let log = served.stop();
        assert!(log.contains(expected), "{log}");
        assert!(
            log.contains(&format!("page    http://127.0.0.1:{port}/\n")),
            "{log}"
        );
        assert!(
            log.contains(&format!("stream  http://127.0.0.1:{port}/stream.mjpg")),
            "{log}"
        );
    }
}

#[test]
fn how_many_could_not_be_shown_once_every_photo_was_tried() {
    let dir = folder_with(&["edge/truncated.jpg", "edge/photo.webp", "edge/1x1.png"]);
    let mut served = Serving::start(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--size", "64x64"],
        &[
            ("FRAMECAST_INTERVAL", "50ms"),
            ("FRAMECAST_REFRESH", "50ms"),
        ],
    );
    let port = served.port();
    // The timeline only moves while someone watches.
    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    client
        .write_all(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
        .expect("request");
    std::thread::spawn(move || {
        let mut sink = vec![0u8; 1 << 16];
        while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
    });
    let line = served.wait_for("the first-pass line", |l| l.contains("every photo tried"));
    assert!(
        line.contains("2 photos shown, 1 could not be shown"),
        "{line}"
    );
    served.stop();
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let dir = folder_with(&["edge/1x1.png"]);
    let listen = format!("127.0.0.1:{port}");
    let served = Serving::start(
        dir.path(),
        &["-q", "--listen", &listen, "--size", "64x64"],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "never listened on {listen}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(get("127.0.0.1", port, "/healthz").starts_with("HTTP/1."));
    let log = served.stop();
    assert!(log.is_empty(), "{log}");
}
