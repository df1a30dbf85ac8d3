//! The real binary against a hostile library: FIFOs named on the command line or sitting in a
//! folder, file names made to forge lines or drive the terminal, a photo over the time
//! budget, and large photos on many threads under a small decode memory budget (peak RSS
//! measured by the kernel). Every run has a deadline: a hang fails the test instead of
//! stalling it.

mod common;

use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, hostile};

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).expect("no NUL");
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

/// How a run of the binary ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident memory of the process, from the kernel (`ru_maxrss`), in bytes.
    max_rss: u64,
}

/// Runs `framecast` with `args` and `envs` and waits at most `limit` for it, killing it and
/// failing the test past that.
fn framecast(args: &[&OsStr], envs: &[(&str, &str)], limit: Duration) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let child = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("FRAMECAST_STATE_DIR", dir.path().join("state"))
        .env("FRAMECAST_CACHE_DIR", dir.path().join("cache"))
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("stdout file"))
        .stderr(File::create(&err).expect("stderr file"))
        .spawn()
        .expect("the binary starts");
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: plain syscall with valid out-pointers; `rusage` is plain data.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if rc == pid {
            break (status, usage);
        }
        if started.elapsed() > limit {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!(
                "framecast {args:?} still running after {limit:?}: {}",
                fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Reaped by wait4 above; the Child must not wait for it again.
    drop(child);
    Run {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: String::from_utf8_lossy(&fs::read(&out).expect("stdout")).into_owned(),
        stderr: String::from_utf8_lossy(&fs::read(&err).expect("stderr")).into_owned(),
        max_rss: usage.ru_maxrss as u64 * 1024,
    }
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[test]
fn a_fifo_named_to_render_is_skipped_at_once_with_its_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("photo.jpg");
    mkfifo(&fifo);
    let out = dir.path().join("out");
    let run = framecast(
        &[os("render"), fifo.as_os_str(), os("--out"), out.as_os_str()],
        &[],
        Duration::from_secs(30),
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("photo.jpg"))
        .unwrap_or_else(|| panic!("not in the summary: {}", run.stdout));
    assert!(
        line.contains("not a regular file but a FIFO"),
        "{}",
        run.stdout
    );
}

#[test]
fn fifos_devices_and_sockets_in_a_folder_are_walk_warnings_and_the_photos_render() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photos = dir.path().join("photos");
    fs::create_dir(&photos).expect("mkdir");
    fs::copy(fixture("edge/1x1.png"), photos.join("good.png")).expect("copy");
    mkfifo(&photos.join("pipe.jpg"));
    std::os::unix::fs::symlink("/dev/zero", photos.join("zero.jpg")).expect("symlink");
    let _socket = std::os::unix::net::UnixListener::bind(photos.join("socket.jpg")).expect("bind");
    let out = dir.path().join("out");
    let run = framecast(
        &[
            os("render"),
            photos.as_os_str(),
            os("--out"),
            out.as_os_str(),
        ],
        &[],
        Duration::from_secs(30),
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("rendered 1 of 1 photos"),
        "{}",
        run.stdout
    );
    for (name, kind) in [
        ("pipe.jpg", "a FIFO"),
        ("zero.jpg", "a character device"),
        ("socket.jpg", "a socket"),
    ] {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not logged: {}", run.stderr));
        assert!(
            line.contains(&format!("not a regular file but {kind}")),
            "{line}"
        );
    }
}

#[test]
fn a_fifo_named_to_serve_is_skipped_and_the_server_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("photo.jpg");
    mkfifo(&fifo);
    let mut child = Command::new(env!("CARGO_BIN_EXE_framecast"))
        .arg("serve")
        .arg(&fifo)
        .args(["--listen", "127.0.0.1:0", "--interval", "100ms"])
        .env("FRAMECAST_STATE_DIR", dir.path().join("state"))
        .env("FRAMECAST_CACHE_DIR", dir.path().join("cache"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("framecast serve starts");
    let pid = child.id();
    // Read the log on a thread, so a silent server cannot block the test.
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut log = Vec::new();
    let (mut port, mut skipped) = (None, false);
    while port.is_none() || !skipped {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no URL or no skip logged: {log:#?}"
        );
        let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
            port = rest
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u16>()
                .ok();
        }
        skipped |= line.contains("photo.jpg") && line.contains("not a regular file but a FIFO");
        log.push(line);
    }
    // A viewer starts the timeline: it shows the "nothing to show" frame.
    let port = port.expect("port");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    std::io::Write::write_all(&mut stream, b"GET /stream.mjpg HTTP/1.0\r\n\r\n").expect("send");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("a response");
    assert_eq!(&head, b"HTTP/1.0 200");
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

/// File names chosen to forge summary and log lines, drive a terminal, read backwards or be
/// invalid UTF-8: each stays on one line, visibly escaped, in the summary and in the logs.
#[test]
fn hostile_file_names_are_escaped_in_the_summary_and_the_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photos = dir.path().join("photos");
    fs::create_dir(&photos).expect("mkdir");
    let names: Vec<(OsString, &str, bool)> = vec![
        (
            "ok.jpg\nrendered 99 of 99 photos into out in 0.0 s.jpg".into(),
            "ok.jpg\\nrendered 99 of 99 photos",
            false,
        ),
        (
            "\u{1b}[31mred\u{1b}[0m.jpg".into(),
            "\\x1b[31mred\\x1b[0m.jpg",
            false,
        ),
        ("clear\u{1b}c.png".into(), "clear\\x1bc.png", true),
        (
            "photo\u{202e}gpj.exe.jpg".into(),
            "photo\\u{202e}gpj.exe.jpg",
            false,
        ),
        (
            OsString::from_vec(b"latin1-\xe9t\xe9.jpg".to_vec()),
            "latin1-\\xe9t\\xe9.jpg",
            true,
        ),
        ("bell\u{7}\r.jpg".into(), "bell\\x07\\r.jpg", false),
    ];
    // Broken files appear in the summary's skipped list (and in a debug log line); good ones
    // with a bad EXIF block in its warnings list.
    for (name, _, good) in &names {
        let source = if *good {
            "edge/bad-exif.jpg"
        } else {
            "edge/not-an-image.jpg"
        };
        fs::copy(fixture(source), photos.join(name)).expect("copy");
    }
    mkfifo(&photos.join("pipe\n\u{1b}[2J.jpg"));
    let out = dir.path().join("out");
    let run = framecast(
        &[
            os("render"),
            photos.as_os_str(),
            os("--out"),
            out.as_os_str(),
        ],
        &[("RUST_LOG", "debug")],
        Duration::from_secs(60),
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "raw control characters on {stream}: {text:?}"
        );
        assert!(!text.contains('\u{202e}'), "a raw override on {stream}");
    }
    // One summary line, not a forged second one.
    let headers = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("rendered "))
        .count();
    assert_eq!(headers, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("rendered 2 of 6 photos"),
        "{}",
        run.stdout
    );
    for (_, shown, good) in &names {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(shown))
            .unwrap_or_else(|| panic!("{shown} not in the summary: {}", run.stdout));
        let reason = if *good {
            "unreadable EXIF"
        } else {
            "not an image"
        };
        assert!(line.contains(reason), "{line}");
        if !good {
            assert!(
                run.stderr
                    .lines()
                    .any(|l| l.contains(shown) && l.contains("skipped")),
                "{shown} not in the debug log: {}",
                run.stderr
            );
        }
    }
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("pipe\\n\\x1b[2J.jpg") && l.contains("not a regular file")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_photo_over_the_time_budget_is_skipped_by_render() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photos = dir.path().join("photos");
    fs::create_dir(&photos).expect("mkdir");
    fs::write(photos.join("a.png"), hostile::black_png(32, 24, 8, &[])).expect("write");
    // About 0.7 s of work on this machine when idle, against a budget of 150 ms.
    fs::write(
        photos.join("slow.png"),
        hostile::black_png(4000, 3000, 16, &[]),
    )
    .expect("write");
    let out = dir.path().join("out");
    let run = framecast(
        &[
            os("render"),
            photos.as_os_str(),
            os("--out"),
            out.as_os_str(),
        ],
        &[
            ("FRAMECAST_RENDER_TIMEOUT", "150ms"),
            ("FRAMECAST_SIZE", "160x120"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("rendered 1 of 2 photos"),
        "{}",
        run.stdout
    );
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("slow.png"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(line.contains("took longer than 0.150 s"), "{line}");
    assert!(out.join("a.jpg").exists());
}

/// Four photos that each need about 110 MiB to render, on four threads, with a decode
/// memory budget that fits one: the peak RSS stays near one photo's need instead of four.
/// (`make bench` measures the same with and without the budget.)
#[test]
fn the_decode_memory_budget_bounds_peak_memory_across_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photos = dir.path().join("photos");
    fs::create_dir(&photos).expect("mkdir");
    let png = hostile::black_png(4000, 3000, 16, &[]);
    let need = framecast::render::Renderer::default()
        .prepare(&png)
        .expect("prepares")
        .memory();
    let paths: Vec<PathBuf> = (1..=4)
        .map(|i| photos.join(format!("big-{i}.png")))
        .collect();
    for path in &paths {
        fs::write(path, &png).expect("write");
    }
    // Too much for a budget of 150 MiB on its own: refused, saying how to raise it.
    fs::write(
        photos.join("huge.png"),
        hostile::black_png(8000, 6000, 16, &[]),
    )
    .expect("write");
    let out = dir.path().join("out");
    let run = framecast(
        &[
            os("render"),
            photos.as_os_str(),
            os("--out"),
            out.as_os_str(),
            os("--threads"),
            os("4"),
            os("--decode-memory"),
            os("150MiB"),
        ],
        &[],
        Duration::from_secs(120),
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("rendered 4 of 5 photos"),
        "{}",
        run.stdout
    );
    let refused = run
        .stdout
        .lines()
        .find(|l| l.contains("huge.png"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        refused.contains("more than the whole decode memory budget of 150 MiB")
            && refused.contains("--decode-memory"),
        "{refused}"
    );
    eprintln!(
        "4 photos of {} MiB each on 4 threads within 150 MiB: peak RSS {} MiB",
        need >> 20,
        run.max_rss >> 20
    );
    // Four at once would be over 4 × need; the process itself adds some tens of MiB.
    assert!(
        run.max_rss < 2 * need,
        "peak RSS {} MiB for photos of {} MiB",
        run.max_rss >> 20,
        need >> 20
    );
}
