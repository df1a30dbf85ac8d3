//! Renditions: how a channel looks on each kind of screen.
//!
//! A TV wants 1920×1080, an old tablet 800×480, a phone a portrait frame cropped to cover.
//! They all follow their channel's timeline (the same photo at the same moment), each in
//! frames of its own [`Spec`]. A rendition is created when a client first asks for its spec,
//! publishes its own pictures on its own `watch` channel (each frame encoded once, shared by
//! all its clients), works only while it has clients, and is dropped once nobody has used it
//! for [`Limits::idle`]. A channel's lead rendition (the one its timeline steps in: the
//! command line's spec on the default channel) lives as long as the channel.
//!
//! Their number is bounded over every channel ([`Limits::max`], the default channel's lead
//! included; the schedule counts): every rendition in use costs a render of each photo shown,
//! so a client that asks for one too many is refused rather than slowing every screen down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::Showing;
use crate::library::PhotoId;
use crate::render::Spec;

/// How many streams may exist and how long an unused one is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Streams at once: renditions over every channel, each channel's lead included, the
    /// default channel's among them (at least 1).
    pub max: usize,
    /// A rendition (and a channel) with no client and no request for this long is dropped.
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max: 8,
            idle: Duration::from_secs(60),
        }
    }
}

/// One rendition: a spec and the pictures published in it.
pub struct Rendition {
    spec: Spec,
    lead: bool,
    tx: watch::Sender<Option<Showing>>,
    /// Woken when a client subscribes, so the rendition renders what is on screen.
    pub(super) arrived: Notify,
    last_used: Mutex<Instant>,
    /// In a `pair` rendition, the second photo of the pair on screen: its step of the
    /// timeline keeps the picture.
    second: Mutex<Option<PhotoId>>,
    /// The last step of the timeline this rendition has caught up with (0: none yet).
    followed: watch::Sender<u64>,
    /// Fired when the rendition is dropped: its work stops.
    pub(super) stop: CancellationToken,
}

impl Rendition {
    fn new(spec: Spec, lead: bool) -> Arc<Rendition> {
        Arc::new(Rendition {
            spec,
            lead,
            tx: watch::channel(None).0,
            arrived: Notify::new(),
            last_used: Mutex::new(Instant::now()),
            second: Mutex::new(None),
            followed: watch::channel(0).0,
            stop: CancellationToken::new(),
        })
    }

    /// What its frames look like.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Whether it is its channel's lead rendition (the one the timeline steps in).
    pub fn is_lead(&self) -> bool {
        self.lead
    }

    /// Clients following it now.
    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }

    /// The picture on screen in this rendition, if one is ready.
    pub fn current(&self) -> Option<Showing> {
        self.tx.borrow().clone()
    }

    fn last_used(&self) -> MutexGuard<'_, Instant> {
        self.last_used.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn touch(&self) {
        *self.last_used() = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        if self.clients() > 0 {
            Duration::ZERO
        } else {
            self.last_used().elapsed()
        }
    }

    /// Notes that the rendition shows the timeline's step `seq` now (or keeps its picture for
    /// it).
    pub(super) fn caught_up_with(&self, seq: u64) {
        self.followed.send_replace(seq);
    }

    /// Waits until the rendition has caught up with the timeline's step `seq`.
    pub(super) async fn catch_up(&self, seq: u64) {
        let mut followed = self.followed.subscribe();
        // The sender lives as long as `self`: an error cannot happen while it is borrowed.
        let _ = followed.wait_for(|&s| s >= seq).await;
    }

    /// Notes `second` as the second photo of the pair now on screen (`None`: no pair).
    pub(super) fn set_second(&self, second: Option<PhotoId>) {
        *self.second.lock().unwrap_or_else(|p| p.into_inner()) = second;
    }

    /// Whether `photo` is the second photo of the pair on screen; either way, the next
    /// step starts a new picture.
    pub(super) fn take_second(&self, photo: &PhotoId) -> bool {
        self.second
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .is_some_and(|second| second == *photo)
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<Option<Showing>> {
        self.touch();
        let rx = self.tx.subscribe();
        self.arrived.notify_one();
        rx
    }

    /// Publishes `showing` (its `seq` is replaced by this rendition's own count).
    pub(super) fn publish(&self, mut showing: Showing) {
        self.tx.send_modify(|current| {
            showing.seq = current.as_ref().map_or(0, |s| s.seq) + 1;
            *current = Some(showing);
        });
    }
}

/// A rendition, for the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Its spec.
    pub spec: Spec,
    /// Whether it is its channel's lead (the server's default on the default channel).
    pub lead: bool,
    /// Clients following it now.
    pub clients: usize,
    /// How long it has had no client and no request.
    pub idle: Duration,
}

/// Every rendition of a channel, by spec.
pub struct Renditions {
    lead: Arc<Rendition>,
    others: Mutex<HashMap<Spec, Arc<Rendition>>>,
    idle: Duration,
}

/// What [`Renditions::subscribe`] gives: the rendition, its receiver, and whether it is new
/// (and so needs someone to follow the timeline for it).
pub(super) struct Subscribed {
    pub rendition: Arc<Rendition>,
    pub rx: watch::Receiver<Option<Showing>>,
    pub created: bool,
}

impl Renditions {
    /// The renditions of a channel whose timeline steps in frames of `lead`; one unused for
    /// `idle` is dropped.
    pub(super) fn new(lead: Spec, idle: Duration) -> Renditions {
        Renditions {
            lead: Rendition::new(lead, true),
            others: Mutex::new(HashMap::new()),
            idle,
        }
    }

    fn others(&self) -> MutexGuard<'_, HashMap<Spec, Arc<Rendition>>> {
        self.others.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The lead rendition, which the timeline steps in.
    pub fn lead(&self) -> &Arc<Rendition> {
        &self.lead
    }

    /// How many there are, the lead included.
    pub fn len(&self) -> usize {
        1 + self.others().len()
    }

    /// Never: the lead is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Subscribes to the rendition of `spec`, creating it if `may_create`; `None` when it
    /// would have to be created and may not. The schedule calls this under the lock its
    /// sweep takes, so a rendition is never dropped between being found and subscribed to.
    pub(super) fn subscribe(&self, spec: &Spec, may_create: bool) -> Option<Subscribed> {
        if *spec == self.lead.spec {
            return Some(Subscribed {
                rendition: Arc::clone(&self.lead),
                rx: self.lead.subscribe(),
                created: false,
            });
        }
        let mut others = self.others();
        if let Some(rendition) = others.get(spec) {
            return Some(Subscribed {
                rendition: Arc::clone(rendition),
                rx: rendition.subscribe(),
                created: false,
            });
        }
        if !may_create {
            return None;
        }
        let rendition = Rendition::new(*spec, false);
        let rx = rendition.subscribe();
        others.insert(*spec, Arc::clone(&rendition));
        Some(Subscribed {
            rendition,
            rx,
            created: true,
        })
    }

    /// Drops the renditions other than the lead unused for longer than the idle time.
    pub(super) fn sweep(&self) {
        let mut others = self.others();
        for rendition in others.values().chain([&self.lead]) {
            if rendition.clients() > 0 {
                // Idle time counts from the last moment it was watched.
                rendition.touch();
            }
        }
        others.retain(|spec, rendition| {
            let keep = rendition.idle_for() < self.idle;
            if !keep {
                tracing::debug!(size = %spec.size, fit = %spec.fit, "rendition no longer used");
                rendition.stop.cancel();
            }
            keep
        });
    }

    /// How long none of them has had a client or a request.
    pub fn idle_for(&self) -> Duration {
        self.others()
            .values()
            .map(|r| r.idle_for())
            .fold(self.lead.idle_for(), Duration::min)
    }

    /// Every rendition, the lead first, then by size.
    pub fn list(&self) -> Vec<Arc<Rendition>> {
        let mut all: Vec<Arc<Rendition>> = self.others().values().cloned().collect();
        all.sort_by_key(|r| {
            (
                r.spec.size.width,
                r.spec.size.height,
                r.spec.fit.name(),
                r.spec.quality,
                r.spec.background.0,
            )
        });
        all.insert(0, Arc::clone(&self.lead));
        all
    }

    /// Every rendition, for the status page.
    pub fn info(&self) -> Vec<Info> {
        self.list()
            .iter()
            .map(|r| Info {
                spec: r.spec,
                lead: r.lead,
                clients: r.clients(),
                idle: r.idle_for(),
            })
            .collect()
    }

    /// Clients following any rendition.
    pub fn clients(&self) -> usize {
        self.lead.clients() + self.others().values().map(|r| r.clients()).sum::<usize>()
    }

    /// Stops every rendition's work (the channel is dropped, or the server stops).
    pub(super) fn stop_all(&self) {
        for rendition in self.others().values() {
            rendition.stop.cancel();
        }
        self.lead.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Size;

    fn spec(width: u32) -> Spec {
        Spec {
            size: Size { width, height: 100 },
            ..Spec::default()
        }
    }

    #[test]
    fn the_lead_spec_is_the_lead_rendition() {
        let all = Renditions::new(spec(100), Duration::from_secs(60));
        let s = all.subscribe(&spec(100), false).expect("lead");
        assert!(s.rendition.is_lead() && !s.created);
        assert_eq!(all.len(), 1);
        assert_eq!(all.clients(), 1);
    }

    #[test]
    fn a_new_one_only_when_allowed_and_the_unused_ones_dropped() {
        let all = Renditions::new(spec(100), Duration::from_millis(50));
        assert!(all.subscribe(&spec(200), false).is_none());
        let a = all.subscribe(&spec(200), true).expect("created");
        assert!(a.created);
        let again = all.subscribe(&spec(200), false).expect("the same one");
        assert!(!again.created);
        let b = all.subscribe(&spec(300), true).expect("another");
        assert_eq!(all.len(), 3);
        assert_eq!(all.idle_for(), Duration::ZERO);
        // Unwatched, but not for long enough yet.
        drop((a, again));
        all.sweep();
        assert_eq!(all.len(), 3);
        std::thread::sleep(Duration::from_millis(80));
        all.sweep();
        let sizes: Vec<u32> = all.list().iter().map(|r| r.spec.size.width).collect();
        assert_eq!(sizes, [100, 300], "the watched one stays, and the lead");
        drop(b);
        std::thread::sleep(Duration::from_millis(80));
        all.sweep();
        assert_eq!(all.len(), 1, "the lead stays");
        assert!(all.idle_for() >= Duration::from_millis(50));
    }
}
