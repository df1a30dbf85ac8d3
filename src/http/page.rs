//! `GET /`: the viewer page, for any screen with a browser.
//!
//! One `<img>` showing the stream over a black page with no margins, which is all an old TV
//! browser needs. Everything is inline: no external assets to fetch or to fail.
//!
//! Browsers keep the last picture of an ended stream on screen and say nothing, so a few lines
//! of ES5 watch the stream: the page tags it with a random client id and polls
//! `/api/instance` (see [`super::viewers`]); when the server restarted, the stream is gone or
//! it stopped moving, the page reconnects, with a capped, jittered back-off. A status line
//! says what is happening and goes away with the first picture. Without JavaScript a plain
//! `<img>` in `<noscript>` shows the stream and no status line appears.
//!
//! Every URL the page fetches carries the page's own query parameters, so a `?token=` in the
//! page URL reaches the stream and the poll; the no-script `<img>` gets them from here.
//!
//! Screens differ, so the page asks for frames of its screen's resolution (`window.screen` ×
//! `devicePixelRatio`) in the shape of its window, unless its URL names a size or a profile.
//! The size is snapped to a short ladder (heights 360 to 2160 in 16:9, 16:10 or 4:3, either
//! way up) so that screens alike share one rendition and `--max-streams` is not used up by odd sizes; when the server has no
//! room for one more, the page falls back to the server's own size. A TV has a remote, not a
//! mouse: arrow keys or OK open a list of the albums and profiles, and the choice goes into the
//! page URL, where a bookmark keeps it.

use warp::Reply;
use warp::http::{HeaderValue, header};

const PAGE: &str = include_str!("page.html");

/// Where the page's query goes in the no-script stream URL.
const QUERY_SLOT: &str = "{query}";

/// The page, for a request whose query string was `raw_query` (without the `?`).
pub fn page(raw_query: &str) -> warp::reply::Response {
    let mut response = warp::reply::html(html(raw_query)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // The page is fetched once; an idle connection left behind could go stale with the
    // network and catch the page's first poll afterwards.
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn html(raw_query: &str) -> String {
    let query = if raw_query.is_empty() {
        String::new()
    } else {
        format!("?{}", escape_attribute(raw_query))
    };
    PAGE.replace(QUERY_SLOT, &query)
}

/// `text` made safe inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_no_script_stream_keeps_the_page_query() {
        assert!(html("").contains(r#"src="stream.mjpg""#));
        assert!(html("token=s3cret&x=1").contains(r#"src="stream.mjpg?token=s3cret&amp;x=1""#));
        let hostile = html(r#"token="><script>alert(1)</script>"#);
        assert!(!hostile.contains("<script>alert"), "{hostile}");
        assert!(hostile.contains("token=&quot;&gt;&lt;script&gt;"));
    }
}
