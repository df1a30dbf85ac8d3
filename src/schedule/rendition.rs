//! Renditions: how the one timeline looks on each kind of screen.
//!
//! A TV wants 1920×1080, an old tablet 800×480, a phone a portrait frame cropped to cover.
//! They all follow the same timeline (the same photo at the same moment), each in frames of
//! its own [`Spec`]. A rendition is created when a client first asks for its spec, publishes
//! its own pictures on its own `watch` channel (each frame encoded once, shared by all its
//! clients), works only while it has clients, and is dropped once nobody has used it for
//! [`Limits::idle`]. The server's default rendition (the command line's spec) is always there.
//!
//! Their number is bounded ([`Limits::max`], the default included): every rendition in use
//! costs a render of each photo shown, so a client that asks for one too many is refused
//! rather than slowing every screen down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::Showing;
use crate::render::Spec;

/// How many renditions may exist and how long an unused one is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Renditions at once, the default one included (at least 1).
    pub max: usize,
    /// A rendition with no client and no request for this long is dropped.
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

/// Why a rendition could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Every rendition slot is taken by one in use.
    #[error(
        "this server already renders {max} frame formats (--max-streams); ask for one in use \
         or try again when one is no longer watched"
    )]
    Full {
        /// The bound.
        max: usize,
    },
}

/// One rendition: a spec and the pictures published in it.
pub struct Rendition {
    spec: Spec,
    default: bool,
    tx: watch::Sender<Option<Showing>>,
    /// Woken when a client subscribes, so the rendition renders what is on screen.
    pub(super) arrived: Notify,
    last_used: Mutex<Instant>,
    /// Fired when the rendition is dropped: its work stops.
    pub(super) stop: CancellationToken,
}

impl Rendition {
    fn new(spec: Spec, default: bool) -> Arc<Rendition> {
        Arc::new(Rendition {
            spec,
            default,
            tx: watch::channel(None).0,
            arrived: Notify::new(),
            last_used: Mutex::new(Instant::now()),
            stop: CancellationToken::new(),
        })
    }

    /// What its frames look like.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Whether it is the server's default rendition.
    pub fn is_default(&self) -> bool {
        self.default
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
    /// Whether it is the server's default.
    pub default: bool,
    /// Clients following it now.
    pub clients: usize,
    /// How long it has had no client and no request.
    pub idle: Duration,
}

/// Every rendition of a timeline, by spec.
pub struct Renditions {
    default: Arc<Rendition>,
    others: Mutex<HashMap<Spec, Arc<Rendition>>>,
    limits: Limits,
}

/// What [`Renditions::subscribe`] gives: the rendition, its receiver, and whether it is new
/// (and so needs someone to follow the timeline for it).
pub(super) struct Subscribed {
    pub rendition: Arc<Rendition>,
    pub rx: watch::Receiver<Option<Showing>>,
    pub created: bool,
}

impl Renditions {
    pub(super) fn new(default: Spec, limits: Limits) -> Renditions {
        Renditions {
            default: Rendition::new(default, true),
            others: Mutex::new(HashMap::new()),
            limits,
        }
    }

    fn others(&self) -> MutexGuard<'_, HashMap<Spec, Arc<Rendition>>> {
        self.others.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The default rendition.
    pub fn default_rendition(&self) -> &Arc<Rendition> {
        &self.default
    }

    /// The bounds.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Subscribes to the rendition of `spec`, creating it if there is room. Done under the
    /// lock the sweep takes, so a rendition is never dropped between being found and being
    /// subscribed to.
    pub(super) fn subscribe(&self, spec: &Spec) -> Result<Subscribed, Refused> {
        if *spec == self.default.spec {
            return Ok(Subscribed {
                rendition: Arc::clone(&self.default),
                rx: self.default.subscribe(),
                created: false,
            });
        }
        let mut others = self.others();
        if let Some(rendition) = others.get(spec) {
            return Ok(Subscribed {
                rendition: Arc::clone(rendition),
                rx: rendition.subscribe(),
                created: false,
            });
        }
        if others.len() + 1 >= self.limits.max {
            // Room may be held by renditions that are past their time but not swept yet.
            self.drop_idle(&mut others);
            if others.len() + 1 >= self.limits.max {
                return Err(Refused::Full {
                    max: self.limits.max,
                });
            }
        }
        let rendition = Rendition::new(*spec, false);
        let rx = rendition.subscribe();
        others.insert(*spec, Arc::clone(&rendition));
        Ok(Subscribed {
            rendition,
            rx,
            created: true,
        })
    }

    /// Drops the renditions unused for longer than [`Limits::idle`].
    pub(super) fn sweep(&self) {
        let mut others = self.others();
        for rendition in others.values() {
            if rendition.clients() > 0 {
                // Idle time counts from the last moment it was watched.
                rendition.touch();
            }
        }
        self.drop_idle(&mut others);
    }

    fn drop_idle(&self, others: &mut HashMap<Spec, Arc<Rendition>>) {
        others.retain(|spec, rendition| {
            let keep = rendition.idle_for() < self.limits.idle;
            if !keep {
                tracing::debug!(size = %spec.size, fit = %spec.fit, "rendition no longer used");
                rendition.stop.cancel();
            }
            keep
        });
    }

    /// Every rendition, the default first, then by size.
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
        all.insert(0, Arc::clone(&self.default));
        all
    }

    /// Every rendition, for the status page.
    pub fn info(&self) -> Vec<Info> {
        self.list()
            .iter()
            .map(|r| Info {
                spec: r.spec,
                default: r.default,
                clients: r.clients(),
                idle: r.idle_for(),
            })
            .collect()
    }

    /// Clients following any rendition.
    pub fn clients(&self) -> usize {
        self.default.clients() + self.others().values().map(|r| r.clients()).sum::<usize>()
    }

    /// Stops every rendition's work (at shutdown).
    pub(super) fn stop_all(&self) {
        for rendition in self.others().values() {
            rendition.stop.cancel();
        }
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
    fn the_default_spec_is_the_default_rendition() {
        let all = Renditions::new(spec(100), Limits::default());
        let s = all.subscribe(&spec(100)).expect("default");
        assert!(s.rendition.is_default() && !s.created);
        assert_eq!(all.list().len(), 1);
        assert_eq!(all.clients(), 1);
    }

    #[test]
    fn one_too_many_is_refused_until_one_is_unused() {
        let limits = Limits {
            max: 3,
            idle: Duration::from_millis(50),
        };
        let all = Renditions::new(spec(100), limits);
        let a = all.subscribe(&spec(200)).expect("first other");
        assert!(a.created);
        let again = all.subscribe(&spec(200)).expect("same one");
        assert!(!again.created);
        let b = all.subscribe(&spec(300)).expect("second other");
        assert_eq!(
            all.subscribe(&spec(400)).err(),
            Some(Refused::Full { max: 3 })
        );
        // Unwatched, but not for long enough yet.
        drop((a, again));
        assert!(all.subscribe(&spec(400)).is_err());
        std::thread::sleep(Duration::from_millis(80));
        all.sweep();
        let sizes: Vec<u32> = all.list().iter().map(|r| r.spec.size.width).collect();
        assert_eq!(sizes, [100, 300], "the watched one stays");
        assert!(all.subscribe(&spec(400)).is_ok());
        drop(b);
    }
}
