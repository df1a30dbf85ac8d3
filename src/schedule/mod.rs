//! The playback schedule: one shared timeline, like a TV channel.
//!
//! Every client sees the same photo at the same time. The schedule plays the library's newest
//! snapshot in the chosen order ([`order`]), one photo every `--interval`, gets each frame
//! from the cache (rendering the next few ahead, so a photo change never waits for a decode)
//! and publishes it on a `watch` channel. A client that connects reads the current frame at
//! once; a slow client only ever sees the newest one.
//!
//! The library changes under it: a new photo takes its place in the order, a deleted one is
//! never shown again (and if it is on screen, the next one comes at once), and an edited one
//! on screen is rendered again (its identity changed). The place in the order is written
//! next to the index after every photo, so a restart goes on where it stopped.
//!
//! A photo that fails to render is logged once with its reason, listed in the status, and
//! skipped for good. With nothing to show (an empty folder, or every file bad) a generated
//! frame says so, so streams keep running at the right size. While nobody watches the timeline
//! holds still: the current frame and the next are ready, and no other work is done.

pub mod order;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::escape::Escaped;
use crate::library::{Library, Photo, PhotoId, Snapshot};
use crate::render::Frame;
pub use order::{Order, Playlist, Resume, Step};

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

#[derive(Default)]
struct Book {
    failed: HashMap<PhotoId, Failed>,
    rendered: HashSet<PhotoId>,
    /// Photos in play, as of the last look at the library.
    playing: usize,
}

/// The shared timeline.
pub struct Schedule {
    library: Arc<Library>,
    cache: Arc<Cache>,
    timing: Timing,
    playback: Playback,
    tx: watch::Sender<Option<Showing>>,
    /// Woken when a client subscribes, so a paused timeline resumes.
    viewer_arrived: Notify,
    book: Mutex<Book>,
    /// The play order and the place in it. Only the timeline task uses it (a pool job while
    /// a view is re-sorted), so the lock is never contended.
    playlist: Arc<Mutex<Playlist>>,
    /// When the current picture's interval ends, for the status.
    next_change: Mutex<Option<Instant>>,
}

/// What the "nothing to show" frame says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Nothing(Vec<String>);

impl Schedule {
    /// A timeline over the photos of `library`, played as `playback` says, resumed from
    /// `resume` (read from `playback.resume` by the caller, off the async runtime).
    pub fn new(
        library: Arc<Library>,
        cache: Arc<Cache>,
        timing: Timing,
        playback: Playback,
        resume: Option<Resume>,
    ) -> Arc<Self> {
        let (tx, _) = watch::channel(None);
        let entropy = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        let playlist = Playlist::new(playback.order, playback.albums.clone(), resume, entropy);
        Arc::new(Schedule {
            library,
            cache,
            timing,
            playback,
            tx,
            viewer_arrived: Notify::new(),
            book: Mutex::new(Book::default()),
            playlist: Arc::new(Mutex::new(playlist)),
            next_change: Mutex::new(None),
        })
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn playlist(&self) -> MutexGuard<'_, Playlist> {
        lock(&self.playlist)
    }

    /// The library played.
    pub fn library(&self) -> &Arc<Library> {
        &self.library
    }

    /// What is played, in which order.
    pub fn playback(&self) -> &Playback {
        &self.playback
    }

    /// How the timeline moves.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    fn set_next_change(&self, at: Option<Instant>) {
        *self
            .next_change
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
    }

    /// Follows the timeline: the receiver holds the current picture (once the first one is
    /// ready) and is told of each new one.
    pub fn subscribe(&self) -> watch::Receiver<Option<Showing>> {
        let rx = self.tx.subscribe();
        self.viewer_arrived.notify_one();
        rx
    }

    /// The picture on screen now, if one is ready.
    pub fn current(&self) -> Option<Showing> {
        self.tx.borrow().clone()
    }

    /// Clients following the timeline now.
    pub fn viewers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Counters for the status page.
    pub fn status(&self) -> Status {
        let book = self.book();
        let showing = self.tx.borrow();
        let mut failed: Vec<Failure> = book.failed.values().map(|f| f.failure.clone()).collect();
        failed.sort_by(|a, b| a.path.cmp(&b.path));
        // From the library's newest snapshot, not the timeline's last look at it: the
        // timeline holds still while nobody watches, the count must not.
        let albums = &self.playback.albums;
        let photos = self
            .library
            .snapshot()
            .photos
            .iter()
            .filter(|p| albums.is_empty() || albums.iter().any(|a| **a == *p.album))
            .count();
        Status {
            photos,
            rendered: book.rendered.len(),
            failed,
            current: showing.as_ref().and_then(|s| s.photo.clone()),
            published: showing.as_ref().map_or(0, |s| s.seq),
            next_change: *self
                .next_change
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    fn publish(&self, frame: Frame, photo: Option<Arc<Photo>>) {
        self.tx.send_modify(|current| {
            let seq = current.as_ref().map_or(0, |s| s.seq) + 1;
            *current = Some(Showing { frame, seq, photo });
        });
    }

    fn is_failed(&self, photo: &Photo) -> bool {
        self.book().failed.contains_key(&photo.id)
    }

    /// Renders (or fetches) one photo's frame, recording the outcome. A failure is logged the
    /// first time only.
    async fn frame(&self, photo: &Photo) -> Option<Frame> {
        match self.cache.frame(&photo.id).await {
            Ok(frame) => {
                self.book().rendered.insert(photo.id.clone());
                Some(frame)
            }
            Err(e) => {
                let reason = match &e {
                    crate::cache::RenderFailure::Render(file) => file.source.to_string(),
                    other => other.to_string(),
                };
                let first = self
                    .book()
                    .failed
                    .insert(
                        photo.id.clone(),
                        Failed {
                            failure: Failure {
                                path: photo.id.path.clone(),
                                reason: reason.clone(),
                            },
                            root: photo.root,
                            relative: photo.relative.clone(),
                        },
                    )
                    .is_none();
                if first {
                    tracing::warn!(path = %Escaped::path(&photo.id.path), "skipping photo: {reason}");
                }
                None
            }
        }
    }

    /// Starts rendering the photos after the current one so they are ready when their turn
    /// comes; with nobody watching, only the next one.
    fn render_ahead(self: &Arc<Self>) {
        let ahead = if self.viewers() == 0 {
            1
        } else {
            self.timing.ahead
        };
        let upcoming = self.playlist().upcoming(ahead);
        for photo in upcoming {
            if self.is_failed(&photo) || self.cache.contains(&photo.id) {
                continue;
            }
            let schedule = Arc::clone(self);
            tokio::spawn(async move {
                schedule.frame(&photo).await;
            });
        }
    }

    /// Brings the play order up to date with `snapshot`, sorting on the worker pool.
    async fn refresh(&self, snapshot: &Arc<Snapshot>) {
        if !self.playlist().is_stale(snapshot) {
            return;
        }
        let playlist = Arc::clone(&self.playlist);
        let job = Arc::clone(snapshot);
        if let Err(e) = self
            .cache
            .pool()
            .run(move || lock(&playlist).refresh(&job))
            .await
        {
            tracing::error!("cannot order the photos: {e}");
        }
        let playing = self.playlist().len();
        let mut book = self.book();
        book.playing = playing;
        // Failures of photos that left the library are forgotten with them.
        book.failed.retain(|id, f| {
            snapshot
                .find(f.root, &f.relative)
                .is_some_and(|p| p.id == *id)
        });
    }

    /// The next photo in the order that renders, with its frame.
    async fn next(&self) -> Option<(Arc<Photo>, Frame)> {
        let mut tries = self.playlist().len() + 1;
        while tries > 0 {
            let step = self.playlist().advance();
            match step {
                Step::Photo(photo) => {
                    tries -= 1;
                    if self.is_failed(&photo) {
                        continue;
                    }
                    if let Some(frame) = self.frame(&photo).await {
                        return Some((photo, frame));
                    }
                }
                Step::EndOfRound => {
                    let playlist = Arc::clone(&self.playlist);
                    if self
                        .cache
                        .pool()
                        .run(move || lock(&playlist).new_round())
                        .await
                        .is_err()
                    {
                        return None;
                    }
                }
                Step::Empty => return None,
            }
        }
        None
    }

    /// Writes the place in the slideshow next to the index.
    async fn save_place(&self) {
        let Some(path) = self.playback.resume.clone() else {
            return;
        };
        let resume = self.playlist().resume();
        let written = tokio::task::spawn_blocking(move || resume.save(&path)).await;
        if let Ok(Err(e)) = written {
            tracing::debug!("cannot write the slideshow position: {e}");
        }
    }

    /// Runs the timeline until `cancel` fires.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let mut snapshots = self.library.subscribe();
        let mut nothing: Option<Nothing> = None;
        loop {
            let snapshot = Arc::clone(&snapshots.borrow_and_update());
            tokio::select! {
                () = self.refresh(&snapshot) => {}
                () = cancel.cancelled() => return,
            }
            let next = tokio::select! {
                next = self.next() => next,
                () = cancel.cancelled() => return,
            };
            let mut current = match next {
                Some((photo, frame)) => {
                    self.publish(frame, Some(Arc::clone(&photo)));
                    nothing = None;
                    self.render_ahead();
                    self.save_place().await;
                    Some(photo)
                }
                None => {
                    let says = self.nothing_says(&snapshot);
                    if nothing.as_ref() != Some(&says) {
                        if let Some(frame) = self.nothing_to_show(&says).await {
                            self.publish(frame, None);
                        }
                        nothing = Some(says);
                    }
                    None
                }
            };
            if !self.hold(&mut snapshots, &mut current, &cancel).await {
                return;
            }
        }
    }

    /// Shows the current picture for a whole interval of someone watching it (with nobody
    /// watching, the timeline holds still, and the first viewer gets a full interval). A
    /// library change ends the wait early when the photo on screen left (or nothing is on
    /// screen); a photo on screen that was edited is rendered again in place. `false` when
    /// cancelled.
    async fn hold(
        self: &Arc<Self>,
        snapshots: &mut watch::Receiver<Arc<Snapshot>>,
        current: &mut Option<Arc<Photo>>,
        cancel: &CancellationToken,
    ) -> bool {
        // `None` while waiting for a viewer.
        let mut deadline = Some(Instant::now() + self.timing.interval);
        let far = Instant::now() + Duration::from_secs(86_400 * 365);
        loop {
            self.set_next_change(deadline);
            tokio::select! {
                () = tokio::time::sleep_until(deadline.unwrap_or(far).into()), if deadline.is_some() => {
                    if self.viewers() > 0 {
                        return true;
                    }
                    deadline = None;
                }
                () = self.viewer_arrived.notified(), if deadline.is_none() => {
                    if self.viewers() > 0 {
                        deadline = Some(Instant::now() + self.timing.interval);
                    }
                }
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        // The library is gone: only shutdown comes next.
                        cancel.cancelled().await;
                        return false;
                    }
                    let Some(shown) = current.clone() else {
                        return true;
                    };
                    let snapshot = Arc::clone(&snapshots.borrow_and_update());
                    match snapshot.find(shown.root, &shown.relative) {
                        None => return true,
                        Some(now) if now.id != shown.id => {
                            let now = Arc::clone(now);
                            if let Some(frame) = self.frame(&now).await {
                                self.publish(frame, Some(Arc::clone(&now)));
                            }
                            *current = Some(now);
                        }
                        Some(_) => {}
                    }
                }
                () = cancel.cancelled() => return false,
            }
        }
    }

    fn nothing_says(&self, snapshot: &Snapshot) -> Nothing {
        let roots: Vec<String> = self
            .library
            .roots()
            .iter()
            .map(|r| r.display().to_string())
            .collect();
        let mut lines = vec!["No photos to show".to_string()];
        let playing = self.playlist().len();
        if !snapshot.complete && playing == 0 {
            lines[0] = "Looking for photos".to_string();
            lines.push(format!("in {}", roots.join(", ")));
        } else if playing == 0 && !snapshot.photos.is_empty() {
            lines.push(format!(
                "None of the {} photos is in the albums {}",
                snapshot.photos.len(),
                self.playback.albums.join(", ")
            ));
        } else if playing == 0 {
            lines.push(format!("None found in {}", roots.join(", ")));
        } else {
            lines.push(format!("None of the {playing} files could be shown"));
        }
        Nothing(lines)
    }

    async fn nothing_to_show(&self, says: &Nothing) -> Option<Frame> {
        match self.cache.pool().placeholder(says.0.clone()).await {
            Ok(frame) => Some(frame),
            Err(e) => {
                tracing::error!("cannot render the placeholder frame: {e}");
                None
            }
        }
    }
}

fn lock(playlist: &Mutex<Playlist>) -> MutexGuard<'_, Playlist> {
    playlist
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
