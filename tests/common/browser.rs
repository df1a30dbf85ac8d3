//! Real browsers, headless, driven over their own remote protocols: Chromium over the DevTools
//! protocol, Firefox ESR over WebDriver BiDi. Both speak JSON over a WebSocket; a few dozen
//! lines of client below are all the tests need (evaluate an expression, take a screenshot).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The viewport every test page gets.
pub const WIDTH: u32 = 960;
/// The viewport every test page gets.
pub const HEIGHT: u32 = 540;

/// ffmpeg reading the MJPEG stream at `url` (credentials may be in it) and writing its first
/// `frames` pictures as raw RGB to stdout: what a recording or a re-stream decodes.
pub fn ffmpeg_raw_frames(url: &str, frames: usize) -> Output {
    Command::new(tool("ffmpeg"))
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "mpjpeg",
            "-i",
            url,
        ])
        .args(["-frames:v", &frames.to_string()])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg runs")
}

/// Path of a system tool, or a failure that says how to install it.
pub fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: run `make deps-test` (scripts/deps.sh test) first");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chromium,
    Firefox,
}

/// A headless browser showing one page; killed when dropped.
pub struct Browser {
    pub kind: Kind,
    _process: Process,
    socket: WebSocket,
    /// The BiDi browsing context (Firefox).
    context: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Opens `url` in `kind`, with or without JavaScript.
    pub fn open(kind: Kind, url: &str, javascript: bool) -> Browser {
        match kind {
            Kind::Chromium => Browser::chromium(url, javascript),
            Kind::Firefox => Browser::firefox(url, javascript),
        }
    }

    fn chromium(url: &str, javascript: bool) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut command = Command::new(tool("chromium"));
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--window-size={WIDTH},{HEIGHT}"))
            .arg(format!("--user-data-dir={}", profile.path().display()));
        if !javascript {
            command.arg("--blink-settings=scriptEnabled=false");
        }
        let process = Process(
            command
                .arg(url)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromium starts"),
        );
        // Chromium writes the port it chose into the profile once it listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let port: u16 = poll(Duration::from_secs(30), "Chromium's DevTools port", || {
            std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()))
        });
        // The page's own target, from the HTTP side of the protocol.
        let ws_path = poll(Duration::from_secs(30), "the page target", || {
            let targets = http_get(port, "/json/list")?;
            let targets: Value = serde_json::from_str(&targets).ok()?;
            targets.as_array()?.iter().find_map(|t| {
                (t["type"] == "page")
                    .then(|| t["webSocketDebuggerUrl"].as_str())
                    .flatten()
                    .and_then(|u| {
                        u.split_once(&format!(":{port}"))
                            .map(|(_, p)| p.to_string())
                    })
            })
        });
        let socket = WebSocket::connect(port, &ws_path);
        let mut browser = Browser {
            kind: Kind::Chromium,
            _process: process,
            socket,
            context: String::new(),
            next_id: 0,
            _profile: profile,
        };
        // The window size includes the browser's frame; the page gets exactly this.
        browser.command(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": false }),
        );
        browser
    }

    fn firefox(url: &str, javascript: bool) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        // A fresh profile that does not phone home or ask anything on first run.
        let mut prefs = String::from(
            r#"user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("app.update.enabled", false);
user_pref("extensions.update.enabled", false);
"#,
        );
        if !javascript {
            prefs.push_str("user_pref(\"javascript.enabled\", false);\n");
        }
        std::fs::write(profile.path().join("user.js"), prefs).expect("user.js");
        let mut child = Command::new(tool("firefox-esr"))
            .args(["--headless", "--no-remote", "--remote-debugging-port", "0"])
            .arg("--profile")
            .arg(profile.path())
            .arg("about:blank")
            .env("HOME", profile.path())
            .env("MOZ_HEADLESS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("firefox-esr starts");
        // "WebDriver BiDi listening on ws://127.0.0.1:PORT"
        let stderr = child.stderr.take().expect("stderr");
        let process = Process(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(rest) = line.split("listening on ws://127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    sent = tx.send(port).is_ok();
                }
            }
        });
        let port: u16 = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("Firefox announces its BiDi port")
            .parse()
            .expect("port");
        let socket = WebSocket::connect(port, "/session");
        let mut browser = Browser {
            kind: Kind::Firefox,
            _process: process,
            socket,
            context: String::new(),
            next_id: 0,
            _profile: profile,
        };
        browser.command("session.new", json!({ "capabilities": {} }));
        let tree = browser.command("browsingContext.getTree", json!({}));
        browser.context = tree["contexts"][0]["context"]
            .as_str()
            .expect("a browsing context")
            .to_string();
        let context = browser.context.clone();
        browser.command(
            "browsingContext.setViewport",
            json!({ "context": context, "viewport": { "width": WIDTH, "height": HEIGHT } }),
        );
        browser.command(
            "browsingContext.navigate",
            json!({ "context": context, "url": url, "wait": "none" }),
        );
        browser
    }

    /// Sends one command and waits for its answer, skipping events.
    fn command(&mut self, method: &str, params: Value) -> Value {
        self.try_command(method, params)
            .unwrap_or_else(|message| panic!("{method} failed: {message}"))
    }

    /// Sends one command and waits for its answer or its error message.
    fn try_command(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.socket
            .send(&json!({ "id": id, "method": method, "params": params }).to_string());
        loop {
            let message: Value =
                serde_json::from_str(&self.socket.receive()).expect("JSON from the browser");
            if message["id"] != id {
                continue;
            }
            if message.get("error").is_some_and(|e| !e.is_null()) {
                return Err(message);
            }
            return Ok(message["result"].clone());
        }
    }

    /// The value of a JavaScript expression in the page, through JSON. `Null` while the page
    /// is being replaced (the page navigates itself when a viewer picks an album), so callers
    /// that poll simply ask again.
    pub fn eval(&mut self, expression: &str) -> Value {
        let wrapped = format!("JSON.stringify(({expression}))");
        let text = match self.kind {
            Kind::Chromium => {
                let r = match self.try_command(
                    "Runtime.evaluate",
                    json!({ "expression": wrapped, "returnByValue": true }),
                ) {
                    Ok(r) => r,
                    Err(e) if navigating(&e) => return Value::Null,
                    Err(e) => panic!("Runtime.evaluate failed: {e}"),
                };
                r["result"]["value"].as_str().map(str::to_string)
            }
            Kind::Firefox => {
                let context = self.context.clone();
                let r = self.command(
                    "script.evaluate",
                    json!({
                        "expression": wrapped,
                        "target": { "context": context },
                        "awaitPromise": false,
                    }),
                );
                r["result"]["value"].as_str().map(str::to_string)
            }
        };
        text.and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    }

    /// The natural size of the page's `#frame` picture once it has one (the frame size the
    /// stream sends), waiting up to `limit`.
    pub fn picture_size(&mut self, limit: Duration) -> (u64, u64) {
        poll(limit, "a picture on the page", || {
            let w = self
                .eval("document.getElementById('frame').naturalWidth")
                .as_u64()?;
            let h = self
                .eval("document.getElementById('frame').naturalHeight")
                .as_u64()?;
            (w > 0).then_some((w, h))
        })
    }

    /// What the page looks like now.
    pub fn screenshot(&mut self) -> image::RgbImage {
        let result = match self.kind {
            Kind::Chromium => self.command("Page.captureScreenshot", json!({ "format": "png" })),
            Kind::Firefox => {
                let context = self.context.clone();
                self.command(
                    "browsingContext.captureScreenshot",
                    json!({ "context": context }),
                )
            }
        };
        let png = base64_decode(result["data"].as_str().expect("screenshot data"));
        image::load_from_memory(&png).expect("a PNG").to_rgb8()
    }
}

/// Whether a DevTools error only says the page was being replaced while it was asked.
fn navigating(error: &Value) -> bool {
    let message = error["error"]["message"].as_str().unwrap_or_default();
    [
        "navigated or closed",
        "Execution context was destroyed",
        "Cannot find context",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// A browser process, killed when the test is done with it, passed or failed.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Calls `f` until it returns something, or fails after `limit` naming `what`.
pub fn poll<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "no {what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A plain HTTP GET on loopback; `None` unless the answer is a 200.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    // The DevTools server keeps the connection open: read what Content-Length says.
    let mut reader = BufReader::new(s);
    let mut status = String::new();
    reader.read_line(&mut status).ok()?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    status
        .starts_with("HTTP/1.1 200")
        .then(|| String::from_utf8_lossy(&body).into_owned())
}

/// The client side of a WebSocket (RFC 6455), text messages only.
struct WebSocket {
    stream: BufReader<TcpStream>,
}

impl WebSocket {
    fn connect(port: u16, path: &str) -> WebSocket {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the browser");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: ZnJhbWVjYXN0LXRlc3RzLQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("handshake");
        let mut stream = BufReader::new(stream);
        let mut status = String::new();
        stream.read_line(&mut status).expect("handshake answer");
        assert!(status.contains(" 101 "), "no WebSocket upgrade: {status}");
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).expect("handshake header");
            if line.trim().is_empty() {
                break;
            }
        }
        WebSocket { stream }
    }

    fn send(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        // Clients must mask; the key need not be secret for a test.
        let key = [0x5a, 0x13, 0xc7, 0x2e];
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.stream.get_mut().write_all(&frame).expect("send");
    }

    /// The next whole text message.
    fn receive(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 2];
            self.stream.read_exact(&mut head).expect("frame head");
            let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0F);
            let len = match head[1] & 0x7F {
                126 => {
                    let mut b = [0u8; 2];
                    self.stream.read_exact(&mut b).expect("length");
                    u16::from_be_bytes(b) as usize
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.stream.read_exact(&mut b).expect("length");
                    u64::from_be_bytes(b) as usize
                }
                n => n as usize,
            };
            let mut payload = vec![0u8; len];
            self.stream.read_exact(&mut payload).expect("payload");
            match opcode {
                0x0 | 0x1 => message.extend_from_slice(&payload),
                0x8 => panic!("the browser closed the connection"),
                _ => continue, // ping and pong carry nothing the tests need
            }
            if fin {
                return String::from_utf8(message).expect("UTF-8 text");
            }
        }
    }
}

/// Standard base64 (screenshots come as base64 PNG).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=' && c != b'\n').collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &c)| acc | value(c) << (18 - 6 * i));
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}
