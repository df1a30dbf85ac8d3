//! The connected stream clients, for the log and `/api/status`, and their cap.
//!
//! Each stream holds a [`ClientGuard`]; dropping it (the client left, the write timed out or
//! the server is shutting down) removes the client and logs how long it stayed, so a client
//! that leaves frees everything it held at once. A stream asked for while the cap is reached
//! is refused ([`Full`]) rather than let every client's share of the uplink shrink.

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

/// The registry of connected clients.
#[derive(Default)]
pub struct Clients {
    next_id: AtomicU64,
    entries: Mutex<BTreeMap<u64, Entry>>,
    refused: AtomicU64,
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

    /// Totals over the clients connected now: (sent, skipped).
    pub fn totals(&self) -> (u64, u64) {
        self.lock().values().fold((0, 0), |(s, k), e| {
            (
                s + e.counters.sent.load(Ordering::Relaxed),
                k + e.counters.skipped.load(Ordering::Relaxed),
            )
        })
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
