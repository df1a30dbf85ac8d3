//! The documented TLS reverse proxy, run for real: Debian's nginx as a plain process on
//! loopback with `contrib/nginx/framecast.conf` (only its ports and certificate paths
//! changed), a self-signed certificate made by openssl for the test, and `openssl s_client`
//! as the TLS client. The stream must arrive through it part by part, each part whole and of
//! the exact frame size, the first one at once; credentials pass through both ways.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{MjpegReader, TestServer, basic, read_head, status_code, wait_until};
use common::{assert_frame, fixture};
use framecast::render::Size;

const SIZE: Size = Size {
    width: 320,
    height: 180,
};

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: run `make deps-test` (scripts/deps.sh test) first");
}

/// A free loopback port (bound, then released for nginx to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// nginx in front of `upstream`, serving HTTPS on `port` and the redirect on `http_port`.
struct Nginx {
    child: Child,
    port: u16,
    http_port: u16,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstream: u16) -> Nginx {
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let made = Command::new(tool("openssl"))
            .args(["req", "-x509", "-nodes", "-newkey", "ec"])
            .args(["-pkeyopt", "ec_paramgen_curve:prime256v1"])
            .args(["-days", "1", "-subj", "/CN=photos.example.lan", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdin(Stdio::null())
            .output()
            .expect("openssl runs");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let (port, http_port) = (free_port(), free_port());
        let site = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/nginx/framecast.conf"),
        )
        .expect("contrib/nginx/framecast.conf");
        let mut replaced = 0;
        let site: String = site
            .lines()
            .filter(|l| !l.contains("listen [::]:"))
            .map(|line| {
                let t = line.trim();
                let new = match t {
                    "server 127.0.0.1:8080;" => format!("server 127.0.0.1:{upstream};"),
                    "listen 443 ssl;" => format!("listen 127.0.0.1:{port} ssl;"),
                    "listen 80;" => format!("listen 127.0.0.1:{http_port};"),
                    _ if t.starts_with("ssl_certificate ") => {
                        format!("ssl_certificate {};", cert.display())
                    }
                    _ if t.starts_with("ssl_certificate_key ") => {
                        format!("ssl_certificate_key {};", key.display())
                    }
                    _ => return format!("{line}\n"),
                };
                replaced += 1;
                format!("{new}\n")
            })
            .collect();
        assert_eq!(
            replaced, 5,
            "the config no longer has the lines the test adapts"
        );
        std::fs::write(dir.path().join("framecast.conf"), site).expect("site");
        // A main configuration around it, as /etc/nginx/nginx.conf would be: one process in
        // the foreground, everything under the temp dir.
        let main = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/framecast.conf;\n}}\n",
            d = dir.path().display()
        );
        std::fs::write(dir.path().join("nginx.conf"), main).expect("nginx.conf");
        let child = Command::new(tool("nginx"))
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let nginx = Nginx {
            child,
            port,
            http_port,
            dir,
        };
        wait_until("nginx to listen", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        nginx
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TLS connection to nginx through `openssl s_client`; dropping it ends the client.
struct Tls {
    child: Child,
}

impl Tls {
    /// Connects, sends `request`, and returns the response to read.
    fn request(port: u16, request: &str) -> (Tls, BufReader<ChildStdout>) {
        let mut child = Command::new(tool("openssl"))
            .args(["s_client", "-quiet", "-connect"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-servername", "photos.example.lan"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_client runs");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(request.as_bytes()).expect("request");
        drop(stdin);
        let reader = BufReader::new(child.stdout.take().expect("stdout"));
        (Tls { child }, reader)
    }
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: photos.example.lan\r\n{extra}Connection: close\r\n\r\n")
}

#[test]
fn the_stream_passes_through_nginx_part_by_part() {
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.spec.size = SIZE;
        s.http.mjpeg.refresh = Duration::from_millis(500);
        s.http.access.basic = Some("tv:pass word".parse().expect("credentials"));
    });
    let nginx = Nginx::start(server.addr.port());
    let (name, value) = basic("tv:pass word");
    let direct_auth = [(name, value.as_str())];
    let auth = format!("{name}: {value}\r\n");

    // The frame as framecast serves it directly, to compare with what the proxy delivers.
    let direct = server.get_with("GET", "/snapshot.jpg", &direct_auth);
    assert_eq!(direct.status, 200);

    let asked = Instant::now();
    let (_tls, response) = Tls::request(nginx.port, &get("/stream.mjpg", &auth));
    let mut stream = MjpegReader::open(response);
    assert!(
        stream.status_line.contains(" 200 "),
        "{}",
        stream.status_line
    );
    assert!(
        stream.headers["content-type"].starts_with("multipart/x-mixed-replace;boundary="),
        "{:?}",
        stream.headers
    );
    assert!(
        !stream.headers.contains_key("transfer-encoding"),
        "{:?}",
        stream.headers
    );
    assert!(
        !stream.headers.contains_key("content-encoding"),
        "{:?}",
        stream.headers
    );
    let first = stream.next_jpeg();
    let first_after = asked.elapsed();
    assert_eq!(first, direct.body, "the part is the frame, byte for byte");
    assert_frame(&first, SIZE);
    // The current picture is re-sent every 500 ms: each part arrives on its own, on time.
    let mut gaps = Vec::new();
    let mut last = Instant::now();
    for _ in 0..4 {
        let jpeg = stream.next_jpeg();
        gaps.push(last.elapsed());
        last = Instant::now();
        assert_eq!(jpeg.len(), direct.body.len());
    }
    eprintln!("through nginx: first part after {first_after:?}, then gaps {gaps:?}");
    assert!(
        first_after < Duration::from_secs(3),
        "first part after {first_after:?}"
    );
    assert!(
        gaps.iter().all(|g| *g < Duration::from_secs(2)),
        "gaps {gaps:?}"
    );
    // framecast saw one stream client, through the proxy.
    let status = server.get_with("GET", "/api/status", &direct_auth);
    let status: serde_json::Value = serde_json::from_slice(&status.body).expect("JSON");
    assert_eq!(
        status["clients"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
    drop(stream);
    assert!(
        !nginx.error_log().contains("[emerg]"),
        "{}",
        nginx.error_log()
    );
}

#[test]
fn credentials_and_the_challenge_pass_through_nginx() {
    let token = "frame-token-1234";
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.spec.size = SIZE;
        s.http.access.basic = Some("tv:pass".parse().expect("credentials"));
        s.http.access.token = Some(token.parse().expect("token"));
    });
    let nginx = Nginx::start(server.addr.port());
    let response = |request: String| {
        let (_tls, mut reader) = Tls::request(nginx.port, &request);
        let (status, headers) = read_head(&mut reader);
        let mut body = Vec::new();
        let _ = reader.read_to_end(&mut body);
        (
            status_code(&status),
            headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    };
    let (code, headers, body) = response(get("/api/status", ""));
    assert_eq!(code, 401);
    assert_eq!(headers["www-authenticate"], "Basic realm=\"framecast\"");
    assert!(body.contains("user name and password"), "{body}");
    let auth = basic("tv:pass");
    let (code, _, body) = response(get("/api/status", &format!("{}: {}\r\n", auth.0, auth.1)));
    assert_eq!(code, 200, "{body}");
    let (code, _, body) = response(get(&format!("/?token={token}"), ""));
    assert_eq!(code, 200);
    assert!(
        body.contains(&format!("src=\"stream.mjpg?token={token}\"")),
        "{body}"
    );
    let (code, _, _) = response(get("/healthz", ""));
    assert_eq!(code, 200);
    // Plain HTTP is sent to HTTPS.
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", nginx.http_port)).expect("connect");
    plain
        .write_all(get("/stream.mjpg", "").as_bytes())
        .expect("request");
    let mut reader = BufReader::new(plain);
    let (status, headers) = read_head(&mut reader);
    assert_eq!(status_code(&status), 301, "{status}");
    assert_eq!(
        headers["location"],
        "https://photos.example.lan/stream.mjpg"
    );
    let _ = reader.fill_buf();
}
