//! What the load benchmarks share: their knobs, the server process's figures from `/proc`, its
//! `/api/status`, and a client that reads MJPEG parts the way a player does.
//!
//! Each benchmark measures the real binary from outside, as a monitor would, so the figures
//! are the ones a user sees (RSS, CPU time, open files) and not what the code believes.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A number from the environment, `default` when unset or not a number.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What a process costs at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcFigures {
    /// User + system CPU time so far, in seconds.
    pub cpu_seconds: f64,
    /// Resident set now (VmRSS), in bytes.
    pub rss: u64,
    /// The kernel's high-water mark of the resident set (VmHWM), in bytes.
    pub peak_rss: u64,
    /// Open file descriptors.
    pub fds: usize,
}

impl ProcFigures {
    /// The figures of process `pid`; zeros for what cannot be read (it has exited).
    pub fn of(pid: u32) -> ProcFigures {
        let ticks = 100.0; // USER_HZ on Linux
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let cpu_seconds = fields
            .get(11)
            .zip(fields.get(12))
            .and_then(|(u, s)| Some(u.parse::<f64>().ok()? + s.parse::<f64>().ok()?))
            .unwrap_or(0.0)
            / ticks;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
        };
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
        ProcFigures {
            cpu_seconds,
            rss: kib("VmRSS:"),
            peak_rss: kib("VmHWM:"),
            fds,
        }
    }
}

/// Bytes as MiB, for reports.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `/api/status` as JSON, `None` while the server does not answer.
pub fn status(port: u16) -> Option<serde_json::Value> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET /api/status HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).ok()?;
    let body = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    serde_json::from_slice(&response[body..]).ok()
}

/// A stream client: sends the request, then hands out one JPEG part at a time.
pub struct Parts<R> {
    reader: BufReader<R>,
    line: String,
    body: Vec<u8>,
}

impl Parts<TcpStream> {
    /// Connects to `path` on the loopback server and reads up to the first part's delimiter.
    pub async fn open(port: u16, path: &str) -> std::io::Result<Parts<TcpStream>> {
        Parts::request(TcpStream::connect(("127.0.0.1", port)).await?, path).await
    }

    /// Like [`Parts::open`] with a receive buffer of about `bytes`, as on a small device: a
    /// client that stops reading fills it, and the server sees it, within seconds.
    pub async fn open_small(
        port: u16,
        path: &str,
        bytes: u32,
    ) -> std::io::Result<Parts<TcpStream>> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(bytes)?;
        let tcp = socket.connect(([127, 0, 0, 1], port).into()).await?;
        Parts::request(tcp, path).await
    }

    async fn request(mut tcp: TcpStream, path: &str) -> std::io::Result<Parts<TcpStream>> {
        tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").as_bytes())
            .await?;
        Parts::after_request(tcp).await
    }

    /// The socket, to close it the way a test wants (an abortive close, say).
    pub fn socket(&self) -> &TcpStream {
        self.reader.get_ref()
    }
}

impl<R: AsyncRead + Unpin> Parts<R> {
    /// Reads the response head (it must be `200`) and the opening delimiter.
    pub async fn after_request(stream: R) -> std::io::Result<Parts<R>> {
        let mut parts = Parts {
            reader: BufReader::with_capacity(64 * 1024, stream),
            line: String::new(),
            body: vec![0; 1 << 20],
        };
        parts.read_line().await?;
        if parts.line.split_whitespace().nth(1) != Some("200") {
            return Err(std::io::Error::other(format!(
                "the stream answered {}",
                parts.line.trim_end()
            )));
        }
        while parts.line != "\r\n" {
            parts.read_line().await?;
        }
        parts.read_line().await?;
        Ok(parts)
    }

    /// The next JPEG, whole; an error when the stream breaks or ends.
    pub async fn next(&mut self) -> std::io::Result<&[u8]> {
        let mut length = None;
        loop {
            self.read_line().await?;
            if self.line == "\r\n" {
                break;
            }
            if let Some(v) = self.line.strip_prefix("Content-Length:") {
                length = v.trim().parse::<usize>().ok();
            }
        }
        let length =
            length.ok_or_else(|| std::io::Error::other("a part without a Content-Length"))?;
        if self.body.len() < length {
            self.body.resize(length, 0);
        }
        self.reader.read_exact(&mut self.body[..length]).await?;
        self.read_line().await?; // "\r\n" after the JPEG
        self.read_line().await?; // the delimiter
        Ok(&self.body[..length])
    }

    async fn read_line(&mut self) -> std::io::Result<()> {
        self.line.clear();
        if self.reader.read_line(&mut self.line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}
