//! Access control and the reach of a request, over raw HTTP: every route but `/healthz` needs
//! the configured credentials (Basic or the token), a 401 says what is needed, the viewer page
//! keeps its token in the stream URL, secrets never show up in what the server says, and no
//! path, however disguised, reaches a file on disk.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use common::fixture;
use common::server::{TestServer, basic, wait_until};
use framecast::http::Access;
use framecast::render::Size;

const USER_PASS: &str = "tv:correct horse";
const TOKEN: &str = "k3y-0f_the.frame~2024";

/// Every route, with the status it answers when access is granted.
const ROUTES: &[(&str, u16)] = &[
    ("/", 200),
    ("/stream.mjpg", 200),
    ("/stream", 200),
    ("/video_feed", 200),
    ("/?action=stream", 200),
    ("/?action=snapshot", 200),
    ("/snapshot.jpg", 200),
    ("/api/status", 200),
    ("/metrics", 200),
    ("/api/profiles", 200),
    ("/p/nowhere/stream.mjpg", 404),
    ("/no-such-page", 404),
];

fn server(auth: Option<&str>, token: Option<&str>) -> TestServer {
    let access = Access {
        basic: auth.map(|a| a.parse().expect("credentials")),
        token: token.map(|t| t.parse().expect("token")),
    };
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], move |s| {
        s.spec.size = Size {
            width: 320,
            height: 180,
        };
        s.http.access = access;
    });
    wait_until("the first picture", Duration::from_secs(10), || {
        server.get("GET", "/healthz").status == 200
    });
    server
}

fn with_token(path: &str, token: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}token={token}")
}

#[test]
fn every_route_but_healthz_needs_credentials() {
    let server = server(Some(USER_PASS), Some(TOKEN));
    let right = basic(USER_PASS);
    let right = [(right.0, right.1.as_str())];
    let wrong = basic("tv:correct horse ");
    let wrong = [(wrong.0, wrong.1.as_str())];
    let token_as_password = basic(&format!("anyone:{TOKEN}"));
    let token_as_password = [(token_as_password.0, token_as_password.1.as_str())];
    for &(path, granted) in ROUTES {
        for method in ["GET", "HEAD"] {
            let refused = server.head_of(method, path, &[]);
            assert_eq!(refused.status, 401, "{method} {path} without credentials");
            assert_eq!(
                refused.headers["www-authenticate"], "Basic realm=\"framecast\"",
                "{path}"
            );
        }
        let body = server.get("GET", path).body;
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("user name and password") && body.contains("?token="),
            "{path}: {body}"
        );
        assert_eq!(server.head_of("GET", path, &wrong).status, 401, "{path}");
        let wrong_token = with_token(path, "k3y-0f_the.frame~2025");
        assert_eq!(
            server.head_of("GET", &wrong_token, &[]).status,
            401,
            "{path}"
        );
        assert_eq!(
            server.head_of("GET", path, &right).status,
            granted,
            "{path}"
        );
        let with = with_token(path, TOKEN);
        assert_eq!(server.head_of("GET", &with, &[]).status, granted, "{with}");
        assert_eq!(
            server.head_of("GET", path, &token_as_password).status,
            granted,
            "{path}"
        );
    }
    assert_eq!(server.get("GET", "/healthz").status, 200);
    // The password is no token.
    assert_eq!(
        server
            .head_of("GET", "/?token=tv:correct+horse", &[])
            .status,
        401
    );
}

#[test]
fn basic_only_and_token_only() {
    let basic_only = server(Some(USER_PASS), None);
    let refused = basic_only.get("GET", &with_token("/api/status", TOKEN));
    assert_eq!(refused.status, 401);
    let body = String::from_utf8_lossy(&refused.body);
    assert!(!body.contains("token"), "{body}");
    let right = basic(USER_PASS);
    assert_eq!(
        basic_only
            .get_with("GET", "/api/status", &[(right.0, &right.1)])
            .status,
        200
    );

    let token_only = server(None, Some(TOKEN));
    let refused = token_only.get("GET", "/api/status");
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.headers["www-authenticate"],
        "Basic realm=\"framecast\""
    );
    let body = String::from_utf8_lossy(&refused.body);
    assert!(
        body.contains("?token=") && !body.contains("user name"),
        "{body}"
    );
    assert_eq!(
        token_only
            .get("GET", &with_token("/api/status", TOKEN))
            .status,
        200
    );
    assert_eq!(
        token_only
            .get_with("GET", "/api/status", &[(right.0, &right.1)])
            .status,
        401
    );
}

#[test]
fn the_page_keeps_its_token_in_the_stream_url() {
    let server = server(None, Some(TOKEN));
    let page = server.get("GET", &format!("/?token={TOKEN}"));
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).expect("utf-8");
    // Without script the stream URL carries it; the script keeps the page's parameters in
    // every URL it builds (tests/viewer_page.rs runs it in real browsers).
    let src = format!("src=\"stream.mjpg?token={TOKEN}\"");
    assert!(html.contains(&src), "{html}");
    assert!(html.contains("window.location.search"), "{html}");
    // That URL streams.
    let mut stream = server.stream(&format!("GET /stream.mjpg?token={TOKEN} HTTP/1.1"));
    assert!(
        stream.status_line.contains(" 200 "),
        "{}",
        stream.status_line
    );
    stream.next_jpeg();
    // Without a token the page is refused, with a wrong one too.
    assert_eq!(server.get("GET", "/").status, 401);
    assert_eq!(server.get("GET", "/?token=wrong-token-123").status, 401);
}

#[test]
fn secrets_never_appear_in_status_or_metrics() {
    let server = server(Some(USER_PASS), Some(TOKEN));
    let _viewer = server.stream(&format!("GET /stream.mjpg?token={TOKEN} HTTP/1.1"));
    for path in ["/api/status", "/metrics", "/"] {
        let text =
            String::from_utf8(server.get("GET", &with_token(path, TOKEN)).body).expect("utf-8");
        assert!(!text.contains("correct horse"), "{path}: {text}");
        if path != "/" {
            assert!(!text.contains(TOKEN), "{path}: {text}");
        }
    }
}

/// The raw bytes of a response to `request`, up to the close (or 1 MiB, or 5 s).
fn raw(server: &TestServer, request: &[u8]) -> Vec<u8> {
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // A request the server refuses early may meet a closed socket.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.take(1 << 20).read_to_end(&mut out);
    out
}

#[test]
fn no_path_reaches_a_file() {
    let root = tempfile::tempdir().expect("temp dir");
    let photos = root.path().join("photos");
    std::fs::create_dir(&photos).expect("mkdir");
    std::fs::copy(fixture("edge/cmyk.jpg"), photos.join("card.jpg")).expect("copy");
    let marker = "FRAMECAST-SECRET-7f3c2a";
    let secret = root.path().join("secret.txt");
    std::fs::write(&secret, format!("{marker}\n")).expect("secret");
    std::fs::write(root.path().join("secret.jpg"), format!("{marker}\n")).expect("secret");
    // Links out of the photo folder: to the secret, to a system file, to the parent folder.
    let link = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, photos.join(name)).expect("symlink")
    };
    link(&secret, "leak.jpg");
    link(Path::new("/etc/passwd"), "passwd.jpg");
    link(root.path(), "up");

    let server = TestServer::start(vec![photos.clone()], |s| {
        s.spec.size = Size {
            width: 320,
            height: 180,
        };
        s.timing.interval = Duration::from_millis(50);
    });
    // Let the timeline meet every file, the linked ones included.
    let mut viewer = server.stream("GET /stream.mjpg HTTP/1.1");
    for _ in 0..5 {
        viewer.next_jpeg();
    }
    let secret_path = secret.display().to_string();
    let long = "../".repeat(5000);
    let mut requests: Vec<Vec<u8>> = [
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/stream.mjpg/../../secret.txt",
        "/snapshot.jpg%2f..%2f..%2fsecret.txt",
        "/snapshot.jpg/..%2f..%2fsecret.jpg",
        "//etc/passwd",
        "/etc/passwd",
        "/./././etc/passwd",
        "/photos/../secret.txt",
        "/leak.jpg",
        "/photos/leak.jpg",
        "/up/secret.txt",
        "/passwd.jpg",
        "/card.jpg",
        "/%00",
        "/secret.txt%00.jpg",
        "/..%5csecret.txt",
        "/?action=../../secret.txt",
        "/?action=snapshot&file=../secret.txt",
        "/api/status?failures=../../secret.txt",
        "/api/status/../../../etc/passwd",
        &secret_path,
        &format!("/{long}etc/passwd"),
    ]
    .iter()
    .map(|p| format!("GET {p} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").into_bytes())
    .collect();
    requests.extend([
        b"GET http://t/../secret.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /\0/secret.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET \\..\\secret.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET ../secret.txt HTTP/1.0\r\n\r\n".to_vec(),
    ]);
    for request in &requests {
        let response = raw(&server, request);
        let text = String::from_utf8_lossy(&response);
        let shown = String::from_utf8_lossy(&request[..request.len().min(60)]);
        assert!(!text.contains(marker), "{shown}: the secret leaked");
        assert!(!text.contains("root:x:0:0"), "{shown}: /etc/passwd leaked");
        let status = common::server::status_code(text.lines().next().unwrap_or(""));
        // Refused, or (`?action=snapshot` with a stray parameter) the current picture.
        let picture = status == 200 && text.contains("content-type: image/jpeg");
        assert!(
            response.is_empty() || (400..500).contains(&status) || picture,
            "{shown}: {}",
            text.lines().next().unwrap_or("")
        );
    }
    // The status names the linked files it could not show, never their content.
    let status = server.get("GET", "/api/status?failures=all");
    let text = String::from_utf8_lossy(&status.body);
    assert!(text.contains("leak.jpg"), "{text}");
    assert!(
        !text.contains(marker) && !text.contains("root:x:0:0"),
        "{text}"
    );
}
