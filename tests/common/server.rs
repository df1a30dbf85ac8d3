//! The real server, in process, on a random loopback port; and a plain-TCP MJPEG reader.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use framecast::server::{self, Settings};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

/// A running server; dropping it shuts it down.
pub struct TestServer {
    pub addr: SocketAddr,
    cancel: CancellationToken,
    done: Option<tokio::task::JoinHandle<()>>,
    runtime: Option<Runtime>,
}

impl TestServer {
    /// Serves `dirs` with the defaults changed by `tweak`.
    pub fn start(dirs: Vec<PathBuf>, tweak: impl FnOnce(&mut Settings)) -> TestServer {
        TestServer::start_on("127.0.0.1:0".parse().expect("addr"), dirs, tweak)
    }

    /// Like [`TestServer::start`], on a given address (a fixed port, to restart on it).
    pub fn start_on(
        listen: SocketAddr,
        dirs: Vec<PathBuf>,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestServer {
        let mut settings = Settings {
            threads: 2,
            ..Settings::default()
        };
        settings.library.roots = dirs;
        tweak(&mut settings);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let cancel = CancellationToken::new();
        let running = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .expect("bind loopback");
            server::start(listener, settings, cancel.clone())
                .await
                .expect("server starts")
        });
        TestServer {
            addr: running.addr,
            cancel,
            done: Some(running.done),
            runtime: Some(runtime),
        }
    }

    /// Cancels and waits for the server to finish; `false` if it did not within `limit`.
    pub fn shutdown(&mut self, limit: Duration) -> bool {
        self.cancel.cancel();
        let (Some(runtime), Some(done)) = (self.runtime.as_ref(), self.done.take()) else {
            return true;
        };
        runtime.block_on(async { tokio::time::timeout(limit, done).await.is_ok() })
    }

    /// `query` gets 400 with a body that says `says` on the stream, the snapshot and the page,
    /// in every URL form they have.
    pub fn assert_refused_on_every_url(&self, query: &str, says: &str) {
        for path in [
            "/stream.mjpg",
            "/snapshot.jpg",
            "/",
            "/?action=stream",
            "/?action=snapshot",
        ] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let r = self.get("GET", &format!("{path}{sep}{query}"));
            let body = String::from_utf8_lossy(&r.body);
            assert_eq!(r.status, 400, "{path} {query}: {body}");
            assert!(body.contains(says), "{path} {query}: {body}");
        }
    }

    /// A connected TCP client.
    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    /// A whole request/response with `Connection: close`: (status, headers, body).
    pub fn get(&self, method: &str, path: &str) -> Response {
        self.get_with(method, path, &[])
    }

    /// Like [`get`], with extra request headers.
    pub fn get_with(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut reader = self.request(method, path, headers);
        let (status_line, headers) = read_head(&mut reader);
        let mut body = Vec::new();
        reader.read_to_end(&mut body).expect("body");
        Response {
            status: status_code(&status_line),
            status_line,
            headers,
            body,
        }
    }

    /// Only the status line and headers of a response (for streams, which do not end).
    pub fn head_of(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut reader = self.request(method, path, headers);
        let (status_line, headers) = read_head(&mut reader);
        Response {
            status: status_code(&status_line),
            status_line,
            headers,
            body: Vec::new(),
        }
    }

    /// Sends a request with `Connection: close` and returns the connection to read from.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> BufReader<TcpStream> {
        let mut s = self.connect();
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        s.write_all(request.as_bytes()).expect("send");
        BufReader::new(s)
    }

    /// `/api/status` as JSON.
    pub fn status(&self) -> serde_json::Value {
        let r = self.get("GET", "/api/status");
        assert_eq!(r.status, 200);
        serde_json::from_slice(&r.body).expect("status JSON")
    }

    /// Opens a stream with a raw request line, reads the head and the opening delimiter.
    pub fn stream(&self, request_line: &str) -> MjpegReader {
        self.stream_on(self.connect(), request_line)
    }

    /// Like [`stream`], from a client with a small receive buffer, like a low-memory device.
    pub fn small_buffer_stream(&self, request_line: &str) -> MjpegReader {
        self.stream_on(self.connect_with_recv_buffer(64 * 1024), request_line)
    }

    /// A connection whose receive buffer is asked to be `bytes` (the kernel doubles it and
    /// keeps a minimum), so a client that stops reading fills it at once.
    pub fn connect_with_recv_buffer(&self, bytes: usize) -> TcpStream {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        socket.connect(&self.addr.into()).expect("connect");
        let s: TcpStream = socket.into();
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    /// Opens a stream on a connection made by the caller.
    pub fn stream_via(&self, s: TcpStream, request_line: &str) -> MjpegReader {
        self.stream_on(s, request_line)
    }

    fn stream_on(&self, mut s: TcpStream, request_line: &str) -> MjpegReader {
        write!(s, "{request_line}\r\nHost: test\r\n\r\n").expect("send");
        MjpegReader::open(BufReader::new(s))
    }
}

/// The code in a status line, 0 if there is none.
pub fn status_code(status_line: &str) -> u16 {
    status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// `Authorization: Basic …` for `user:password`.
pub fn basic(pair: &str) -> (&'static str, String) {
    use base64::Engine as _;
    (
        "Authorization",
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ),
    )
}

/// Polls `check` every 20 ms until it holds; fails the test after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !check() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(10));
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

pub struct Response {
    pub status: u16,
    pub status_line: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// Reads a status line and headers (names lower-cased).
pub fn read_head(reader: &mut impl BufRead) -> (String, HashMap<String, String>) {
    let mut status = String::new();
    reader.read_line(&mut status).expect("status line");
    (status.trim_end().to_string(), read_headers(reader))
}

/// Reads header lines up to the blank line (names lower-cased).
pub fn read_headers(reader: &mut impl BufRead) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return headers;
        }
        let (name, value) = line.split_once(':').expect("name: value");
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
}

/// Reads an MJPEG response part by part, checking the framing of every part.
pub struct MjpegReader<R: BufRead = BufReader<TcpStream>> {
    pub reader: R,
    pub status_line: String,
    pub headers: HashMap<String, String>,
    pub boundary: String,
}

impl<R: BufRead> MjpegReader<R> {
    /// Reads the head and the opening delimiter of a stream response from `reader`.
    pub fn open(mut reader: R) -> MjpegReader<R> {
        let (status_line, headers) = read_head(&mut reader);
        let content_type = headers.get("content-type").cloned().unwrap_or_default();
        let boundary = content_type
            .split_once("boundary=")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        let mut first = String::new();
        reader.read_line(&mut first).expect("opening delimiter");
        assert_eq!(
            first,
            format!("--{boundary}\r\n"),
            "opening delimiter first"
        );
        MjpegReader {
            reader,
            status_line,
            headers,
            boundary,
        }
    }

    /// The next part's JPEG; asserts its headers, its length and the delimiter after it.
    pub fn next_jpeg(&mut self) -> Vec<u8> {
        let headers = read_headers(&mut self.reader);
        assert_eq!(
            headers.get("content-type").map(String::as_str),
            Some("image/jpeg")
        );
        let len: usize = headers
            .get("content-length")
            .expect("Content-Length on every part")
            .parse()
            .expect("plain decimal Content-Length");
        let mut jpeg = vec![0u8; len];
        self.reader.read_exact(&mut jpeg).expect("the whole JPEG");
        let mut tail = vec![0u8; self.boundary.len() + 6];
        self.reader
            .read_exact(&mut tail)
            .expect("closing delimiter");
        assert_eq!(tail, format!("\r\n--{}\r\n", self.boundary).as_bytes());
        jpeg
    }
}
