//! The playback schedule: shared timelines, like TV channels.
//!
//! Every client of a channel sees the same photo at the same time. A channel ([`channel`])
//! plays the library's newest snapshot (its albums of it) in its order ([`order`]), one photo
//! every interval, gets each frame from the cache (rendering the next few ahead, so a photo
//! change never waits for a decode) and publishes it on a `watch` channel. A client that
//! connects reads the current frame at once; a slow client only ever sees the newest one.
//!
//! The library changes under it: a new photo takes its place in the order, a deleted one is
//! never shown again (and if it is on screen, the next one comes at once), and an edited one
//! on screen is rendered again (its identity changed). The default channel's place in the
//! order is written next to the index after every photo, so a restart goes on where it
//! stopped.
//!
//! A photo that fails to render is logged once with its reason, listed in the status, and
//! skipped for good by every channel. With nothing to show (an empty folder, or every file
//! bad) a generated frame says so, so streams keep running at the right size. While nobody
//! watches a channel it holds still: the current frame and the next are ready, and no other
//! work is done.
//!
//! Each kind of screen can follow a channel in frames of its own ([`rendition`]): every step
//! of the timeline is published as a [`Moment`], which each rendition with clients renders in
//! its own spec (and the next photo ahead), publishing it to its own clients.
//!
//! The [`Schedule`] holds the channels: the command line's, always there, and those asked for
//! (`?album=`, `?order=`, `?interval=`), created on first use and dropped once unused for a
//! while, like renditions. A channel in a rendition is a stream; their number over every
//! channel is bounded (`--max-streams`), since each costs a render of every photo it shows.

pub mod channel;
pub mod order;
pub mod rendition;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::library::{Library, Photo, PhotoId};
use crate::render::{Frame, Spec};
pub use channel::{Channel, Key};
pub use order::{Order, Playlist, Resume, Step};
pub use rendition::{Rendition, Renditions};

/// How the timeline moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long each photo is shown.
    pub interval: Duration,
    /// How many photos after the current one are rendered ahead.
    pub ahead: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            interval: Duration::from_secs(5),
            ahead: 2,
        }
    }
}

/// What is played, in which order, and where the place in it is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Playback {
    /// The order.
    pub order: Order,
    /// Only photos of these albums (all when empty).
    pub albums: Vec<String>,
    /// The resume file; `None` keeps the place in memory only.
    pub resume: Option<PathBuf>,
}

/// What is on screen now.
#[derive(Debug, Clone)]
pub struct Showing {
    /// The frame, shared by every client.
    pub frame: Frame,
    /// Counts up by one for each new picture; a client that sees it jump has skipped frames.
    pub seq: u64,
    /// The photo shown, or `None` for a generated "nothing to show" frame.
    pub photo: Option<Arc<Photo>>,
    /// The picture in a client layer's wire form (the stream's multipart part): made by the
    /// first client that sends it, shared by the rest, gone with the picture.
    pub wire: Arc<OnceLock<Bytes>>,
}

impl Showing {
    fn new(frame: Frame, photo: Option<Arc<Photo>>) -> Showing {
        Showing {
            frame,
            seq: 0,
            photo,
            wire: Arc::default(),
        }
    }
}

/// What a step of the timeline shows, whatever the frame size.
#[derive(Debug, Clone)]
pub enum Source {
    /// A photo.
    Photo(Arc<Photo>),
    /// The generated frame that says why there is nothing to show.
    Nothing(Arc<[String]>),
}

impl Source {
    fn photo(&self) -> Option<Arc<Photo>> {
        match self {
            Source::Photo(photo) => Some(Arc::clone(photo)),
            Source::Nothing(_) => None,
        }
    }
}

/// One step of the timeline, which every rendition shows in its own frames.
#[derive(Debug, Clone)]
pub struct Moment {
    /// Counts up by one for each step.
    pub seq: u64,
    /// What is shown.
    pub source: Source,
}

/// A photo that could not be shown, for `/api/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The photo.
    pub path: PathBuf,
    /// Why it failed.
    pub reason: String,
}

/// Counters for `/api/status` and `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Photos in play (the library's, less the albums not chosen).
    pub photos: usize,
    /// Distinct photos rendered successfully so far.
    pub rendered: usize,
    /// Photos that failed, with their reasons.
    pub failed: Vec<Failure>,
    /// The photo on screen.
    pub current: Option<Arc<Photo>>,
    /// Pictures published since start.
    pub published: u64,
    /// When the picture changes next; `None` while nobody watches (the timeline holds still
    /// until someone does).
    pub next_change: Option<Instant>,
}

/// A failed photo and where it is in the library (to forget it when it leaves).
struct Failed {
    failure: Failure,
    root: usize,
    relative: PathBuf,
}

/// What every channel records about photos: which rendered, which failed and why.
#[derive(Default)]
struct Book {
    failed: HashMap<PhotoId, Failed>,
    rendered: HashSet<PhotoId>,
}

/// What every channel shares: the library, the one frame cache (and its worker pool), the
/// book of failures.
struct Common {
    library: Arc<Library>,
    cache: Arc<Cache>,
    book: Mutex<Book>,
    /// Photos rendered ahead of the current one while someone watches.
    ahead: usize,
    /// A rendition or channel unused for this long is dropped.
    idle: Duration,
}

impl Common {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why a stream could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Every stream slot (a channel in a frame format) is taken by one in use.
    #[error(
        "this server already plays {max} streams (a channel in a frame format each, \
         --max-streams); ask for one in use or try again when one is no longer watched"
    )]
    Full {
        /// The bound.
        max: usize,
    },
}

/// A subscription to a channel in a rendition.
pub struct Subscription {
    /// The channel.
    pub channel: Arc<Channel>,
    /// The rendition.
    pub rendition: Arc<Rendition>,
    /// Its pictures: the current one (once ready), then each new one.
    pub rx: watch::Receiver<Option<Showing>>,
}

impl Subscription {
    /// Waits, up to `limit`, until the rendition shows the channel's current step. A rendition
    /// nobody watched kept the picture it had when its last client left (it does no work
    /// unwatched); subscribing wakes it, and this lets a caller that wants one picture (a
    /// snapshot, a stream's first picture) take the current one rather than that.
    pub fn caught_up(&self, limit: Duration) -> BoxFuture<'static, ()> {
        let (channel, rendition) = (Arc::clone(&self.channel), Arc::clone(&self.rendition));
        Box::pin(async move {
            if rendition.is_lead() {
                return; // the timeline publishes in its lead itself, step by step
            }
            let step = channel.step();
            let _ = tokio::time::timeout(limit, rendition.catch_up(step)).await;
        })
    }
}

/// Every channel: the command line's, always there, and those asked for, bounded with their
/// renditions by [`rendition::Limits`].
pub struct Schedule {
    common: Arc<Common>,
    playback: Playback,
    timing: Timing,
    limits: rendition::Limits,
    default: Arc<Channel>,
    /// The other channels. Its lock is held while a rendition or channel is created or
    /// dropped, so the count of streams is exact and nothing is dropped while being joined.
    others: Mutex<HashMap<Key, Arc<Channel>>>,
    /// Fired at shutdown: stops every channel, and any created after.
    stop: CancellationToken,
}

impl Schedule {
    /// A timeline over the photos of `library`, played as `playback` says, resumed from
    /// `resume` (read from `playback.resume` by the caller, off the async runtime), in the
    /// cache's frames, and other channels and renditions on demand, `limits` bounding them.
    pub fn new(
        library: Arc<Library>,
        cache: Arc<Cache>,
        timing: Timing,
        playback: Playback,
        resume: Option<Resume>,
        limits: rendition::Limits,
    ) -> Arc<Self> {
        let lead = *cache.pool().spec();
        let common = Arc::new(Common {
            library,
            cache,
            book: Mutex::new(Book::default()),
            ahead: timing.ahead,
            idle: limits.idle,
        });
        let stop = CancellationToken::new();
        let key = Key::new(playback.albums.clone(), playback.order, timing.interval);
        let default = Channel::new(
            key,
            true,
            Arc::clone(&common),
            lead,
            (resume, playback.resume.clone()),
            stop.child_token(),
        );
        Arc::new(Schedule {
            common,
            playback,
            timing,
            limits,
            default,
            others: Mutex::new(HashMap::new()),
            stop,
        })
    }

    fn others(&self) -> MutexGuard<'_, HashMap<Key, Arc<Channel>>> {
        self.others
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The library played.
    pub fn library(&self) -> &Arc<Library> {
        &self.common.library
    }

    /// What the default channel plays, in which order.
    pub fn playback(&self) -> &Playback {
        &self.playback
    }

    /// How the default channel moves.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// The bounds on streams.
    pub fn limits(&self) -> &rendition::Limits {
        &self.limits
    }

    /// The command line's channel.
    pub fn default_channel(&self) -> &Arc<Channel> {
        &self.default
    }

    /// Every channel, the default first, then by albums, order and interval.
    pub fn channels(&self) -> Vec<Arc<Channel>> {
        let mut all: Vec<Arc<Channel>> = self.others().values().cloned().collect();
        all.sort_by(|a, b| {
            let key = |c: &Channel| {
                let k = c.key();
                (k.albums().to_vec(), k.order().name(), k.interval())
            };
            key(a).cmp(&key(b))
        });
        all.insert(0, Arc::clone(&self.default));
        all
    }

    /// Streams (a channel in a rendition) in use now, the default channel's lead included.
    pub fn streams(&self) -> usize {
        let others = self.others();
        Self::count(&self.default, &others)
    }

    fn count(default: &Channel, others: &HashMap<Key, Arc<Channel>>) -> usize {
        default.renditions().len() + others.values().map(|c| c.renditions().len()).sum::<usize>()
    }

    /// Follows the default channel in its lead rendition: the receiver holds the current
    /// picture (once the first one is ready) and is told of each new one.
    pub fn subscribe(&self) -> watch::Receiver<Option<Showing>> {
        let lead = *self.default.renditions().lead().spec();
        match self.default.subscribe(&lead, false) {
            Some(subscribed) => subscribed.rx,
            // The lead is always there: never reached.
            None => self.default.renditions().lead().subscribe(),
        }
    }

    /// Follows the channel of `key` in frames of `spec`, creating the channel, the rendition
    /// or both if there is room for them (refused when every stream allowed is in use).
    pub fn subscribe_as(self: &Arc<Self>, key: &Key, spec: &Spec) -> Result<Subscription, Refused> {
        let mut others = self.others();
        let existing = if *key == *self.default.key() {
            Some(Arc::clone(&self.default))
        } else {
            others.get(key).cloned()
        };
        let needed = match &existing {
            None => 1,
            Some(channel) => {
                usize::from(!channel.renditions().list().iter().any(|r| r.spec() == spec))
            }
        };
        if needed > 0 && Self::count(&self.default, &others) + needed > self.limits.max {
            // Room may be held by streams that are past their time but not swept yet.
            self.drop_idle(&mut others);
            if Self::count(&self.default, &others) + needed > self.limits.max {
                return Err(Refused::Full {
                    max: self.limits.max,
                });
            }
        }
        let channel = match existing {
            Some(channel) => channel,
            None => {
                // A new channel steps in the frames it was first asked for, and starts from
                // the beginning of its order.
                let channel = Channel::new(
                    key.clone(),
                    false,
                    Arc::clone(&self.common),
                    *spec,
                    (None, None),
                    self.stop.child_token(),
                );
                others.insert(key.clone(), Arc::clone(&channel));
                tokio::spawn(Arc::clone(&channel).run());
                channel
            }
        };
        let subscribed = channel.subscribe(spec, true).ok_or(Refused::Full {
            max: self.limits.max,
        })?;
        Ok(Subscription {
            channel,
            rendition: subscribed.rendition,
            rx: subscribed.rx,
        })
    }

    /// The picture on screen now in the default channel, if one is ready.
    pub fn current(&self) -> Option<Showing> {
        self.default.current()
    }

    /// Clients following any channel now, in any rendition.
    pub fn viewers(&self) -> usize {
        self.default.viewers() + self.others().values().map(|c| c.viewers()).sum::<usize>()
    }

    /// Counters for the status page, of the default channel (the photos rendered and failed
    /// are every channel's).
    pub fn status(&self) -> Status {
        let book = self.common.book();
        let showing = self.current();
        let mut failed: Vec<Failure> = book.failed.values().map(|f| f.failure.clone()).collect();
        failed.sort_by(|a, b| a.path.cmp(&b.path));
        // From the library's newest snapshot, not the timeline's last look at it: the
        // timeline holds still while nobody watches, the count must not.
        let key = self.default.key();
        let photos = self
            .common
            .library
            .snapshot()
            .photos
            .iter()
            .filter(|p| key.plays(p))
            .count();
        Status {
            photos,
            rendered: book.rendered.len(),
            failed,
            current: showing.as_ref().and_then(|s| s.photo.clone()),
            published: showing.as_ref().map_or(0, |s| s.seq),
            next_change: self.default.next_change(),
        }
    }

    /// Drops the renditions and channels no longer used.
    fn sweep(&self) {
        let mut others = self.others();
        self.drop_idle(&mut others);
    }

    fn drop_idle(&self, others: &mut HashMap<Key, Arc<Channel>>) {
        self.default.renditions().sweep();
        others.retain(|key, channel| {
            channel.renditions().sweep();
            let keep = channel.renditions().idle_for() < self.limits.idle;
            if !keep {
                tracing::debug!(
                    albums = ?key.albums(),
                    order = %key.order(),
                    "channel no longer used"
                );
                channel.stop();
            }
            keep
        });
    }

    /// Runs the default channel until `cancel` fires, dropping the channels and renditions
    /// no longer used; then stops every channel.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let idle = self.limits.idle;
        // Checked a few times per idle period, so a stream goes soon after its time.
        let period = (idle / 4).clamp(Duration::from_millis(20), Duration::from_secs(5));
        let sweeper = Arc::clone(&self);
        let stop = self.stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(period) => sweeper.sweep(),
                    () = cancel.cancelled() => break,
                }
            }
            // Every channel's token is a child of this one: their timelines and renditions
            // stop, and a channel asked for from now on never starts.
            stop.cancel();
        });
        Arc::clone(&self.default).run().await;
        for channel in self.others().values() {
            channel.stop();
        }
    }
}
