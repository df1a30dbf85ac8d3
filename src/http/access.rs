//! Access control: an optional user name and password (HTTP Basic) and an optional token.
//!
//! A home network has curious devices on it, so the stream, the snapshot and the status can be
//! closed to anyone without the secret. Two ways in, because screens differ:
//!
//! - HTTP Basic, which VLC, ffmpeg, mpv, Home Assistant and browsers all send when the URL
//!   carries it (`http://user:pass@host:8080/stream.mjpg`);
//! - a token in the query (`?token=…`), for picture frames and TV apps that can only open a
//!   plain URL. The token is also accepted as the Basic password with any user name, so the
//!   `WWW-Authenticate` challenge a 401 must carry is true in every configuration.
//!
//! The check runs in front of every route (see [`super::listen`]) so that a route added later
//! is covered without anyone remembering to; only `/healthz` stays open, for monitors.
//! Secrets are compared in constant time and never appear in `Debug` output, logs or status.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use warp::http::{HeaderMap, HeaderValue, Response, StatusCode, header};

/// The one path that needs no credentials: health checks carry none.
pub const OPEN_PATH: &str = "/healthz";

/// What a 401 asks for: Basic, which every client sends from a `user:pass@` URL.
const CHALLENGE: &str = "Basic realm=\"framecast\"";

/// A secret string: compared in constant time, shown as `***`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    fn matches(&self, given: &[u8]) -> bool {
        constant_time_eq(given, self.0.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `user:password` for HTTP Basic.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The user name (not secret, but not logged either).
    user: String,
    /// `user:password`, as a Basic header decodes to.
    pair: Secret,
}

/// Why `--auth` or `--token` was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--auth` is not `user:password`.
    #[error("expected USER:PASSWORD with a non-empty user (no ':' in it) and password")]
    Credentials,
    /// `--token` is empty, too long, or needs escaping in a URL.
    #[error(
        "a token is 8 to 256 characters from A-Z a-z 0-9 - . _ ~ (so it needs no escaping in \
         a URL), e.g. the output of `openssl rand -hex 16`"
    )]
    Token,
}

impl FromStr for Credentials {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let (user, password) = s.split_once(':').ok_or(Error::Credentials)?;
        if user.is_empty() || password.is_empty() || user.chars().any(char::is_control) {
            return Err(Error::Credentials);
        }
        Ok(Credentials {
            user: user.to_string(),
            pair: Secret(s.to_string()),
        })
    }
}

impl Credentials {
    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }
}

/// A token for `?token=`.
#[derive(Clone, Debug)]
pub struct Token(Secret);

impl FromStr for Token {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if (8..=256).contains(&s.len()) && s.bytes().all(is_unreserved) {
            Ok(Token(Secret(s.to_string())))
        } else {
            Err(Error::Token)
        }
    }
}

/// Characters that stand for themselves in a URL (RFC 3986 "unreserved"): a token made of
/// them can be put in a URL or a page as is.
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Who may use the server: nobody needs anything when both are `None`.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// HTTP Basic credentials.
    pub basic: Option<Credentials>,
    /// The `?token=` secret.
    pub token: Option<Token>,
}

impl Access {
    /// True when no credentials are configured: everyone may connect.
    pub fn is_open(&self) -> bool {
        self.basic.is_none() && self.token.is_none()
    }

    /// Whether a request to `path` with `query` and `headers` may go on.
    pub fn allows(&self, path: &str, query: Option<&str>, headers: &HeaderMap) -> bool {
        if self.is_open() || path == OPEN_PATH {
            return true;
        }
        // Every configured way in is tried, so timing says nothing about which one failed.
        let mut ok = false;
        if let Some(pair) = basic_pair(headers) {
            if let Some(basic) = &self.basic {
                ok |= basic.pair.matches(&pair);
            }
            if let Some(Token(token)) = &self.token {
                let password = pair
                    .iter()
                    .position(|&b| b == b':')
                    .map_or(&[][..], |i| &pair[i + 1..]);
                ok |= token.matches(password);
            }
        }
        if let (Some(Token(token)), Some(query)) = (&self.token, query) {
            for (key, value) in form_urlencoded::parse(query.as_bytes()) {
                if key == "token" {
                    ok |= token.matches(value.as_bytes());
                }
            }
        }
        ok
    }

    /// The 401 answer: the challenge, and a body that says what to send.
    pub fn challenge(&self) -> warp::reply::Response {
        let mut ways = Vec::new();
        if self.basic.is_some() {
            ways.push("a user name and password (HTTP Basic: http://USER:PASSWORD@host/...)");
        }
        if self.token.is_some() {
            ways.push("the access token (add ?token=TOKEN to the URL)");
        }
        let body = format!("framecast needs {}.\n", ways.join(" or "));
        let mut response = Response::new(body.into());
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        let h = response.headers_mut();
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(CHALLENGE),
        );
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The decoded `user:password` of an `Authorization: Basic …` header.
fn basic_pair(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = value.split_at(value.iter().position(|&b| b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let encoded = rest.trim_ascii();
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}

/// Compares in a time that depends only on the length of `expected` (the secret's length is
/// the one thing a caller can learn).
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, &e) in expected.iter().enumerate() {
        diff |= given.get(i).copied().unwrap_or(0) ^ e;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).expect("header"),
        );
        h
    }

    fn basic(pair: &str) -> HeaderMap {
        headers(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }

    fn access(auth: Option<&str>, token: Option<&str>) -> Access {
        Access {
            basic: auth.map(|a| a.parse().expect("credentials")),
            token: token.map(|t| t.parse().expect("token")),
        }
    }

    #[test]
    fn equal_only_when_every_byte_and_the_length_match() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret!", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn basic_credentials() {
        let a = access(Some("tv:p:a ss"), None);
        let none = HeaderMap::new();
        assert!(!a.allows("/", None, &none));
        assert!(a.allows("/", None, &basic("tv:p:a ss")));
        assert!(a.allows(
            "/",
            None,
            &headers(&format!(
                "bAsIc   {}",
                base64::engine::general_purpose::STANDARD.encode("tv:p:a ss")
            ))
        ));
        assert!(!a.allows("/", None, &basic("tv:p:a s")));
        assert!(!a.allows("/", None, &basic("TV:p:a ss")));
        assert!(!a.allows("/", None, &headers("Basic !!!")));
        assert!(!a.allows("/", None, &headers("Bearer tv:p:a ss")));
        assert!(a.allows(OPEN_PATH, None, &none));
        // A token in the query does not open a server that has none.
        assert!(!a.allows("/", Some("token=tv%3Ap%3Aa+ss"), &none));
    }

    #[test]
    fn tokens_in_the_query_or_as_the_basic_password() {
        let a = access(None, Some("0123456789abcdef"));
        let none = HeaderMap::new();
        assert!(a.allows("/stream.mjpg", Some("token=0123456789abcdef"), &none));
        assert!(a.allows("/", Some("action=stream&token=0123456789abcdef&t=1"), &none));
        assert!(!a.allows("/", Some("token=0123456789abcde"), &none));
        assert!(!a.allows("/", Some("tok=0123456789abcdef"), &none));
        assert!(!a.allows("/", None, &none));
        assert!(a.allows("/", None, &basic("anyone:0123456789abcdef")));
        assert!(!a.allows("/", None, &basic("0123456789abcdef:")));
    }

    #[test]
    fn open_when_nothing_is_configured() {
        assert!(Access::default().allows("/api/status", None, &HeaderMap::new()));
    }

    #[test]
    fn bad_settings_are_refused_and_secrets_never_shown() {
        assert!("nopassword".parse::<Credentials>().is_err());
        assert!(":pw".parse::<Credentials>().is_err());
        assert!("user:".parse::<Credentials>().is_err());
        assert!("short".parse::<Token>().is_err());
        assert!("has space in it".parse::<Token>().is_err());
        assert!("needs%escaping".parse::<Token>().is_err());
        let a = access(Some("tv:hunter22"), Some("0123456789abcdef"));
        let shown = format!("{a:?}");
        assert!(
            !shown.contains("hunter22") && !shown.contains("0123456789"),
            "{shown}"
        );
    }

    #[test]
    fn the_challenge_names_what_is_needed() {
        let r = access(Some("tv:pw"), Some("0123456789abcdef")).challenge();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Basic realm=\"framecast\""
        );
    }
}
