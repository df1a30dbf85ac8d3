//! The connected stream clients, for the log and `/api/status`, and their cap.
//!
//! Each stream holds a [`ClientGuard`]; dropping it (the client left, the write timed out or
//! the server is shutting down) removes the client and logs how long it stayed, so a client
//! that leaves frees everything it held at once. A stream asked for while the cap is reached
//! is refused ([`Full`]) rather than let every client's share of the uplink shrink.
//!
//! Besides each client's own counters the registry keeps running totals over every client
//! there ever was ([`Totals`]), so `/metrics` counters never go down when a client leaves.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Per-client counters, shared between its stream and the registry.
#[derive(Debug, Default)]
pub struct Counters {
    /// Parts written (new pictures and re-sends).
    pub sent: AtomicU64,
    /// Pictures the client never got because it was too slow.
    pub skipped: AtomicU64,
}

/// One client as listed in the status.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClientInfo {
    /// Server-assigned number.
    pub id: u64,
    /// Remote address.
    pub peer: String,
    /// What it asked for.
    pub path: String,
    /// Seconds connected.
    pub connected_secs: f64,
    /// Parts written.
    pub frames_sent: u64,
    /// Pictures skipped because the client was slow.
    pub frames_skipped: u64,
}

struct Entry {
    peer: Option<SocketAddr>,
    path: String,
    since: Instant,
    counters: Arc<Counters>,
}

/// What every stream client since start was sent, together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Clients served (streams opened).
    pub served: u64,
    /// Parts written (new pictures and re-sends).
    pub frames: u64,
    /// Bytes of the stream bodies handed to the connections.
    pub bytes: u64,
    /// Pictures skipped because a client was too slow.
    pub skipped: u64,
}

/// The registry of connected clients.
#[derive(Default)]
pub struct Clients {
    next_id: AtomicU64,
    entries: Mutex<BTreeMap<u64, Entry>>,
    refused: AtomicU64,
    frames: AtomicU64,
    bytes: AtomicU64,
    skipped: AtomicU64,
}

/// A stream refused because the client limit was reached.
#[derive(Debug, thiserror::Error)]
#[error("framecast is showing the stream to its limit of {max} clients; try again later")]
pub struct Full {
    /// The limit.
    pub max: usize,
}

impl Clients {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a client unless `max` are connected already; it stays listed until the
    /// guard is dropped.
    pub fn try_join(
        self: &Arc<Self>,
        peer: Option<SocketAddr>,
        path: &str,
        max: usize,
    ) -> Result<ClientGuard, Full> {
        let mut entries = self.lock();
        if entries.len() >= max {
            drop(entries);
            self.refused.fetch_add(1, Ordering::Relaxed);
            tracing::info!(peer = %display_peer(peer), path, max, "stream refused: client limit reached");
            return Err(Full { max });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let counters = Arc::new(Counters::default());
        entries.insert(
            id,
            Entry {
                peer,
                path: path.to_string(),
                since: Instant::now(),
                counters: Arc::clone(&counters),
            },
        );
        drop(entries);
        tracing::info!(client = id, peer = %display_peer(peer), path, "client connected");
        Ok(ClientGuard {
            id,
            clients: Arc::clone(self),
            counters,
        })
    }

    /// Streams refused since start because `max` clients were connected.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The clients connected now.
    pub fn list(&self) -> Vec<ClientInfo> {
        self.lock()
            .iter()
            .map(|(&id, e)| ClientInfo {
                id,
                peer: display_peer(e.peer),
                path: e.path.clone(),
                connected_secs: e.since.elapsed().as_secs_f64(),
                frames_sent: e.counters.sent.load(Ordering::Relaxed),
                frames_skipped: e.counters.skipped.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// How many are connected.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Totals over every client since start, connected or gone.
    pub fn totals(&self) -> Totals {
        Totals {
            served: self.next_id.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}

fn display_peer(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "unknown".to_string(), |p| p.to_string())
}

/// Keeps a client listed; dropping it unlists the client.
pub struct ClientGuard {
    id: u64,
    clients: Arc<Clients>,
    /// The stream's counters.
    pub counters: Arc<Counters>,
}

impl ClientGuard {
    /// Counts `bytes` handed to the connection; `part` when they are a picture's part.
    pub fn wrote(&self, bytes: usize, part: bool) {
        let bytes = bytes as u64;
        self.clients.bytes.fetch_add(bytes, Ordering::Relaxed);
        if part {
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
            self.clients.frames.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts `pictures` the client never got because it was too slow.
    pub fn skipped(&self, pictures: u64) {
        self.counters.skipped.fetch_add(pictures, Ordering::Relaxed);
        self.clients.skipped.fetch_add(pictures, Ordering::Relaxed);
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        if let Some(entry) = self.clients.lock().remove(&self.id) {
            let stayed: Duration = entry.since.elapsed();
            tracing::info!(
                client = self.id,
                peer = %display_peer(entry.peer),
                seconds = stayed.as_secs(),
                frames = entry.counters.sent.load(Ordering::Relaxed),
                skipped = entry.counters.skipped.load(Ordering::Relaxed),
                "client left"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_keep_what_clients_that_left_were_sent() {
        let clients = Arc::new(Clients::default());
        let first = clients.try_join(None, "/stream.mjpg", 1).expect("room");
        first.wrote(20, false);
        first.wrote(1000, true);
        first.skipped(2);
        assert!(clients.try_join(None, "/stream.mjpg", 1).is_err(), "full");
        drop(first);
        assert_eq!(clients.count(), 0);
        let second = clients.try_join(None, "/stream", 1).expect("room again");
        second.wrote(500, true);
        assert_eq!(
            clients.totals(),
            Totals {
                served: 2,
                frames: 2,
                bytes: 1520,
                skipped: 2
            }
        );
        assert_eq!(clients.refused(), 1);
    }
}
