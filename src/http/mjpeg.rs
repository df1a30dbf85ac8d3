//! The MJPEG wire format and the per-client stream.
//!
//! MJPEG over HTTP has no specification beyond multipart MIME; what works is what real clients
//! accept (browsers, VLC, ffmpeg, IP-camera viewers, simple embedded players). So:
//!
//! - the response is `HTTP/1.0` with a close-delimited body and `Connection: close`: no chunked
//!   framing, which several simple clients cannot parse. hyper frames an HTTP/1.1 response of
//!   unknown length as chunked whatever the headers say, and a response marked HTTP/1.0 as
//!   close-delimited; an HTTP/1.0 answer is valid for a 1.1 request;
//! - the boundary is a bare token, and the opening delimiter is the first thing in the body;
//! - each part carries `Content-Type` and an exact `Content-Length`, and the delimiter that
//!   closes it follows the JPEG in the same chunk, so a browser paints it as soon as it arrives;
//! - a new picture is sent twice, [`Options::repeat_after`] apart (Chromium and WebKit show a
//!   part only once the next one starts), and the current picture is re-sent every
//!   [`Options::refresh`] (players with read timeouts stay alive, dead peers surface as write
//!   errors);
//! - the stream yields only when hyper asks for more, and then always the newest picture: a
//!   slow client skips pictures (counted) and never builds a queue.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use warp::Reply;
use warp::http::{HeaderValue, Version, header};

use super::clients::ClientGuard;
use crate::schedule::Showing;

/// The multipart boundary: a bare token, no dashes or quotes.
pub const BOUNDARY: &str = "framecastframe";

/// How often pictures go out to each client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The current picture is re-sent this often.
    pub refresh: Duration,
    /// A new picture is sent a second time this much later.
    pub repeat_after: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            refresh: Duration::from_secs(1),
            repeat_after: Duration::from_millis(200),
        }
    }
}

/// The multipart part of `showing`, built by the first client that sends it and shared by
/// every client of its rendition.
pub fn part_of(showing: &Showing) -> Bytes {
    showing
        .wire
        .get_or_init(|| part(&showing.frame.jpeg))
        .clone()
}

/// One part: headers, the JPEG, and the delimiter that ends it, in one buffer.
pub fn part(jpeg: &[u8]) -> Bytes {
    let head = format!(
        "Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    );
    let tail = format!("\r\n--{BOUNDARY}\r\n");
    let mut buf = BytesMut::with_capacity(head.len() + jpeg.len() + tail.len());
    buf.put_slice(head.as_bytes());
    buf.put_slice(jpeg);
    buf.put_slice(tail.as_bytes());
    buf.freeze()
}

/// The headers every stream response carries.
pub fn stream_headers(response: &mut warp::reply::Response) {
    let h = response.headers_mut();
    let content_type = format!("multipart/x-mixed-replace;boundary={BOUNDARY}");
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    no_cache(response);
    let h = response.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    // nginx in front of framecast must pass parts through as they come.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    *response.version_mut() = Version::HTTP_10;
}

/// Headers that stop browsers and proxies from caching live pictures.
pub fn no_cache(response: &mut warp::reply::Response) {
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::EXPIRES,
        HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
    );
}

/// The endless response for one client of the pictures on `rx`, the first once `ready` is done.
pub fn response(
    (rx, ready): (watch::Receiver<Option<Showing>>, BoxFuture<'static, ()>),
    options: Options,
    cancel: CancellationToken,
    guard: ClientGuard,
) -> warp::reply::Response {
    let state = ClientState {
        rx,
        ready: Some(ready),
        options,
        cancel,
        guard,
        opened: false,
        last_seq: None,
        repeat_at: None,
        refresh_at: Instant::now(),
    };
    let parts = futures_util::stream::unfold(state, next_part).boxed();
    let mut response = warp::reply::stream(SyncStream(Mutex::new(parts))).into_response();
    stream_headers(&mut response);
    response
}

struct ClientState {
    rx: watch::Receiver<Option<Showing>>,
    /// Done once the pictures on `rx` are the timeline's current ones; awaited before the
    /// first picture, so a screen joining a rendition nobody watched does not flash the
    /// picture it held.
    ready: Option<BoxFuture<'static, ()>>,
    options: Options,
    cancel: CancellationToken,
    /// Held for the life of the stream: dropping it unlists the client.
    guard: ClientGuard,
    opened: bool,
    last_seq: Option<u64>,
    repeat_at: Option<Instant>,
    refresh_at: Instant,
}

type Item = Result<Bytes, Infallible>;

async fn next_part(mut st: ClientState) -> Option<(Item, ClientState)> {
    if !st.opened {
        st.opened = true;
        let open = Bytes::from(format!("--{BOUNDARY}\r\n"));
        st.guard.wrote(open.len(), false);
        return Some((Ok(open), st));
    }
    if let Some(ready) = st.ready.take() {
        tokio::select! {
            () = ready => {}
            () = st.cancel.cancelled() => return None,
        }
    }
    loop {
        if st.last_seq.is_none() {
            // The first picture: the current one at once, or the first one published.
            let current = st.rx.borrow_and_update().clone();
            if let Some(showing) = current {
                return Some(st.emit(&showing, true));
            }
            tokio::select! {
                changed = st.rx.changed() => changed.ok()?,
                () = st.cancel.cancelled() => return None,
            }
            continue;
        }
        let repeat_at = st.repeat_at;
        tokio::select! {
            biased;
            () = st.cancel.cancelled() => return None,
            changed = st.rx.changed() => {
                changed.ok()?;
                let showing = st.rx.borrow_and_update().clone();
                if let Some(showing) = showing {
                    return Some(st.emit(&showing, true));
                }
            }
            () = sleep_until(repeat_at.unwrap_or_else(Instant::now)), if repeat_at.is_some() => {
                st.repeat_at = None;
                return st.resend();
            }
            () = sleep_until(st.refresh_at) => return st.resend(),
        }
    }
}

impl ClientState {
    fn resend(self) -> Option<(Item, ClientState)> {
        let showing = self.rx.borrow().clone()?;
        Some(self.emit(&showing, false))
    }

    fn emit(mut self, showing: &Showing, new: bool) -> (Item, ClientState) {
        let now = Instant::now();
        if new {
            if let Some(last) = self.last_seq
                && showing.seq > last + 1
            {
                self.guard.skipped(showing.seq - last - 1);
            }
            self.last_seq = Some(showing.seq);
            self.repeat_at = Some(now + self.options.repeat_after);
        }
        self.refresh_at = now + self.options.refresh;
        let part = part_of(showing);
        self.guard.wrote(part.len(), true);
        (Ok(part), self)
    }
}

/// `warp::reply::stream` wants a `Sync` stream; a `Mutex` makes any `Send` stream `Sync`, and
/// polling through `&mut` never locks it.
struct SyncStream(Mutex<BoxStream<'static, Item>>);

impl Stream for SyncStream {
    type Item = Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let inner = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(|p| p.into_inner());
        inner.poll_next_unpin(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_headers_jpeg_and_the_closing_delimiter() {
        let p = part(b"\xFF\xD8jpeg\xFF\xD9");
        assert_eq!(
            &p[..],
            b"Content-Type: image/jpeg\r\nContent-Length: 8\r\n\r\n\xFF\xD8jpeg\xFF\xD9\r\n--framecastframe\r\n"
        );
    }

    #[test]
    fn the_boundary_is_a_bare_token() {
        assert!(BOUNDARY.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
