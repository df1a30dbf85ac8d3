//! `GET /`: the viewer page, for any screen with a browser.
//!
//! One `<img>` showing the stream over a black page with no margins, which is all an old TV
//! browser needs; a few lines of ES5 reconnect after an error (with back-off) and show a short
//! status line that fades. Everything is inline: no external assets to fetch or to fail.
//!
//! A page opened with `?token=…` (a screen that can only open a plain URL) keeps the token in
//! every URL it loads: the server writes it into the `<img>`'s stream URL, which works without
//! script, and the script adds it to any URL it builds (`withToken`). The token is one the
//! access check accepted, made only of characters that need no escaping in a URL or in HTML.

use warp::Reply;
use warp::http::{HeaderValue, header};

use super::access::is_unreserved;

const PAGE: &str = include_str!("page.html");

/// The stream URL in the page, written once, as the server fills it in.
const STREAM_SRC: &str = "src=\"stream.mjpg\"";

/// The page; `token` is the `?token=` it was opened with.
pub fn page(token: Option<&str>) -> warp::reply::Response {
    let mut response = warp::reply::html(html(token)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn html(token: Option<&str>) -> String {
    match token.filter(|t| !t.is_empty() && t.bytes().all(is_unreserved)) {
        Some(token) => PAGE.replacen(STREAM_SRC, &format!("src=\"stream.mjpg?token={token}\""), 1),
        None => PAGE.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_url_is_in_the_page_once() {
        assert_eq!(PAGE.matches(STREAM_SRC).count(), 1);
    }

    #[test]
    fn a_token_is_kept_and_anything_else_dropped() {
        assert!(html(Some("abc-123_x.y~z")).contains("src=\"stream.mjpg?token=abc-123_x.y~z\""));
        for hostile in ["\"><script>", "a b", "a&b", ""] {
            let page = html(Some(hostile));
            assert!(page.contains(STREAM_SRC), "{hostile}");
            assert!(!page.contains("token=\""), "{hostile}");
        }
    }
}
