//! `GET /`: the viewer page, for any screen with a browser.
//!
//! One `<img>` showing the stream over a black page with no margins, which is all an old TV
//! browser needs; a few lines of ES5 reconnect after an error (with back-off) and show a short
//! status line that fades. Everything is inline: no external assets to fetch or to fail.

use warp::Reply;
use warp::http::{HeaderValue, header};

const PAGE: &str = include_str!("page.html");

/// The page.
pub fn page() -> warp::reply::Response {
    let mut response = warp::reply::html(PAGE).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
