//! `GET /api/instance`: what the viewer page polls to notice that its stream died.
//!
//! When an MJPEG stream ends, browsers keep its last picture on screen and fire no event, and
//! a stream that stalls looks the same: after a server restart or a network drop a TV would
//! show a stale photo until someone reloads the page. So the page tags its stream URL with a
//! random `client` id and polls this endpoint, which answers with the id of this server
//! process (a restart changes it) and whether that client's stream is connected and how many
//! parts it was sent. The page reconnects when the instance changed, when its stream is gone,
//! or when the count stops moving.
//!
//! The registry holds only weak references to the streams' counters, so a stream that ends
//! leaves nothing behind, and dead entries are pruned whenever a stream joins: the registry
//! never holds more entries than there are open streams.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use warp::Reply;

use super::State;
use super::clients::Counters;

/// Longest client id kept; longer or odd ones are not tracked (the stream is still served).
const MAX_ID_LEN: usize = 64;

/// Streams kept per id: a browser may open a second connection for one `<img>`.
const MAX_STREAMS_PER_ID: usize = 4;

/// This server's instance id and the streams that viewer pages tagged.
pub struct Viewers {
    instance: String,
    tagged: Mutex<HashMap<String, Vec<Weak<Counters>>>>,
}

impl Default for Viewers {
    fn default() -> Self {
        Viewers {
            instance: instance_id(),
            tagged: Mutex::new(HashMap::new()),
        }
    }
}

/// A fresh id for this process: the hasher's random keys over the start time and the pid, so
/// a restart (even within the same nanosecond elsewhere) gets a different one.
fn instance_id() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// Whether `id` is a client id worth tracking: short, letters, digits, `-`, `_` and `.`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// What the page learns about its own stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Seen {
    /// A stream with this id is open.
    pub connected: bool,
    /// Parts sent on it (the most of its open streams).
    pub parts: u64,
}

impl Viewers {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<Weak<Counters>>>> {
        self.tagged.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This process's id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Tracks the stream counted by `counters` under `id`, if the id is valid.
    pub fn track(&self, id: &str, counters: &Arc<Counters>) {
        if !valid_id(id) {
            return;
        }
        let mut tagged = self.lock();
        tagged.retain(|_, streams| {
            streams.retain(|s| s.strong_count() > 0);
            !streams.is_empty()
        });
        let streams = tagged.entry(id.to_string()).or_default();
        if streams.len() >= MAX_STREAMS_PER_ID {
            streams.remove(0);
        }
        streams.push(Arc::downgrade(counters));
    }

    /// What the streams tagged `id` are doing now.
    pub fn seen(&self, id: &str) -> Seen {
        let tagged = self.lock();
        let live = tagged
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(Weak::upgrade);
        live.fold(Seen::default(), |seen, counters| Seen {
            connected: true,
            parts: seen.parts.max(counters.sent.load(Ordering::Relaxed)),
        })
    }
}

#[derive(Serialize)]
struct Instance {
    /// Changes when the server restarts.
    instance: String,
    /// How often each stream gets a part at the least, so the page can tell a stall.
    refresh_ms: u64,
    /// A picture exists (a stream with no parts yet is waiting for it, not stalled).
    ready: bool,
    /// The asking page's own stream, when it said which one.
    client: Option<Seen>,
}

/// `GET /api/instance[?client=ID]`.
pub fn instance(state: &State, client: Option<&str>) -> warp::reply::Response {
    let body = Instance {
        instance: state.viewers.instance().to_string(),
        refresh_ms: u64::try_from(state.options.mjpeg.refresh.as_millis()).unwrap_or(u64::MAX),
        ready: state.schedule.current().is_some(),
        client: client.map(|id| state.viewers.seen(id)),
    };
    let mut response = warp::reply::json(&body).into_response();
    super::mjpeg::no_cache(&mut response);
    // A fresh connection for every poll: one kept alive across a network drop may be dead
    // without anyone knowing, and a poll sent on it would only time out.
    response.headers_mut().insert(
        warp::http::header::CONNECTION,
        warp::http::HeaderValue::from_static("close"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_seen_while_it_lives() {
        let viewers = Viewers::default();
        let counters = Arc::new(Counters::default());
        viewers.track("page-1", &counters);
        counters.sent.store(3, Ordering::Relaxed);
        assert_eq!(
            viewers.seen("page-1"),
            Seen {
                connected: true,
                parts: 3
            }
        );
        assert_eq!(viewers.seen("page-2"), Seen::default());
        drop(counters);
        assert_eq!(viewers.seen("page-1"), Seen::default());
    }

    #[test]
    fn ended_streams_are_pruned_and_ids_are_bounded() {
        let viewers = Viewers::default();
        for i in 0..100 {
            let gone = Arc::new(Counters::default());
            viewers.track(&format!("gone-{i}"), &gone);
        }
        let live = Arc::new(Counters::default());
        viewers.track("live", &live);
        assert_eq!(viewers.lock().len(), 1, "only the open stream is kept");
        for id in ["", "a b", "<script>", &"x".repeat(MAX_ID_LEN + 1)] {
            viewers.track(id, &live);
        }
        assert_eq!(viewers.lock().len(), 1, "odd ids are not tracked");
        for _ in 0..10 {
            viewers.track("live", &live);
        }
        assert_eq!(viewers.lock()["live"].len(), MAX_STREAMS_PER_ID);
    }

    #[test]
    fn each_process_start_gets_a_new_instance() {
        assert_ne!(Viewers::default().instance(), Viewers::default().instance());
    }
}
