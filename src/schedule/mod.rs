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
//!
//! Each kind of screen can follow the timeline in frames of its own ([`rendition`]): every
//! step of the timeline is published as a [`Moment`], which each rendition with clients
//! renders in its own spec (and the next photo ahead), publishing it to its own clients.

pub mod order;
pub mod rendition;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::escape::Escaped;
use crate::library::{Library, Photo, PhotoId, Snapshot};
use crate::render::{Frame, Spec};
pub use order::{Order, Playlist, Resume, Step};
pub use rendition::{Refused, Rendition, Renditions};

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
    /// The default rendition (published by the timeline itself) and the others.
    renditions: Renditions,
    /// Each step of the timeline, for the other renditions to follow.
    moments: watch::Sender<Option<Moment>>,
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
    /// `resume` (read from `playback.resume` by the caller, off the async runtime), in the
    /// cache's frames and in at most `renditions.max` renditions in all.
    pub fn new(
        library: Arc<Library>,
        cache: Arc<Cache>,
        timing: Timing,
        playback: Playback,
        resume: Option<Resume>,
        renditions: rendition::Limits,
    ) -> Arc<Self> {
        let renditions = Renditions::new(*cache.pool().spec(), renditions);
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
            renditions,
            moments: watch::channel(None).0,
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

    /// Follows the timeline in the default rendition: the receiver holds the current picture
    /// (once the first one is ready) and is told of each new one.
    pub fn subscribe(&self) -> watch::Receiver<Option<Showing>> {
        let rx = self.renditions.default_rendition().subscribe();
        self.viewer_arrived.notify_one();
        rx
    }

    /// Follows the timeline in frames of `spec`, creating that rendition if there is room for
    /// it (refused when every one allowed is in use).
    pub fn subscribe_as(
        self: &Arc<Self>,
        spec: &Spec,
    ) -> Result<(Arc<Rendition>, watch::Receiver<Option<Showing>>), Refused> {
        let subscribed = self.renditions.subscribe(spec)?;
        if subscribed.created {
            tokio::spawn(Arc::clone(self).follow(Arc::clone(&subscribed.rendition)));
        }
        self.viewer_arrived.notify_one();
        Ok((subscribed.rendition, subscribed.rx))
    }

    /// The renditions.
    pub fn renditions(&self) -> &Renditions {
        &self.renditions
    }

    /// The picture on screen now in the default rendition, if one is ready.
    pub fn current(&self) -> Option<Showing> {
        self.renditions.default_rendition().current()
    }

    /// Clients following the timeline now, in any rendition.
    pub fn viewers(&self) -> usize {
        self.renditions.clients()
    }

    /// Counters for the status page.
    pub fn status(&self) -> Status {
        let book = self.book();
        let showing = self.current();
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

    /// Shows `source` (as `frame` in the default rendition) and tells the other renditions.
    fn publish(&self, frame: Frame, source: Source) {
        self.renditions
            .default_rendition()
            .publish(Showing::new(frame, source.photo()));
        self.moments.send_modify(|current| {
            let seq = current.as_ref().map_or(0, |m| m.seq) + 1;
            *current = Some(Moment { seq, source });
        });
    }

    /// Follows the timeline for `rendition` until it is dropped: while it has clients, each
    /// step is rendered in its spec (and the next photo ahead); without clients, nothing.
    async fn follow(self: Arc<Self>, rendition: Arc<Rendition>) {
        let spec = *rendition.spec();
        let mut moments = self.moments.subscribe();
        let mut shown: Option<u64> = None;
        loop {
            if rendition.clients() > 0 {
                let moment = moments.borrow_and_update().clone();
                if let Some(moment) = moment
                    && shown != Some(moment.seq)
                {
                    let frame = tokio::select! {
                        frame = self.frame_in(&moment.source, spec) => frame,
                        () = rendition.stop.cancelled() => return,
                    };
                    if let Some(frame) = frame {
                        rendition.publish(Showing::new(frame, moment.source.photo()));
                    }
                    shown = Some(moment.seq);
                    self.render_ahead_as(spec);
                    // A newer step may have come while this one rendered.
                    continue;
                }
            }
            tokio::select! {
                changed = moments.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = rendition.arrived.notified() => {}
                () = rendition.stop.cancelled() => return,
            }
        }
    }

    /// The frame of `source` in frames of `spec`. A photo that fails here but not in the
    /// default rendition keeps the previous picture on screen (its failure is the timeline's
    /// to record, which skips the photo for good if it fails there too).
    async fn frame_in(&self, source: &Source, spec: Spec) -> Option<Frame> {
        let frame = match source {
            Source::Photo(photo) => self.cache.frame_as(&photo.id, spec).await,
            Source::Nothing(lines) => self.cache.pool().placeholder_as(lines.to_vec(), spec).await,
        };
        match frame {
            Ok(frame) => Some(frame),
            Err(e) => {
                tracing::debug!(size = %spec.size, "cannot render in another rendition: {e}");
                None
            }
        }
    }

    /// Starts rendering the next photo in frames of `spec`, so it is ready when its turn comes.
    fn render_ahead_as(self: &Arc<Self>, spec: Spec) {
        for photo in self.playlist().upcoming(1) {
            if self.is_failed(&photo) || self.cache.contains_as(&photo.id, spec) {
                continue;
            }
            let cache = Arc::clone(&self.cache);
            tokio::spawn(async move {
                let _ = cache.frame_as(&photo.id, spec).await;
            });
        }
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

    /// Runs the timeline until `cancel` fires, dropping the renditions no longer used.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let idle = self.renditions.limits().idle;
        // Checked a few times per idle period, so a rendition goes soon after its time.
        let period = (idle / 4).clamp(Duration::from_millis(20), Duration::from_secs(5));
        let sweeper = Arc::clone(&self);
        let sweeping = cancel.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(period) => sweeper.renditions.sweep(),
                    () = sweeping.cancelled() => return,
                }
            }
        });
        Arc::clone(&self).timeline(cancel).await;
        self.renditions.stop_all();
    }

    async fn timeline(self: Arc<Self>, cancel: CancellationToken) {
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
                    self.publish(frame, Source::Photo(Arc::clone(&photo)));
                    nothing = None;
                    self.render_ahead();
                    self.save_place().await;
                    Some(photo)
                }
                None => {
                    let says = self.nothing_says(&snapshot);
                    if nothing.as_ref() != Some(&says) {
                        if let Some(frame) = self.nothing_to_show(&says).await {
                            self.publish(frame, Source::Nothing(says.0.clone().into()));
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
                                self.publish(frame, Source::Photo(Arc::clone(&now)));
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
