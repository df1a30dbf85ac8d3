//! The playback schedule: one shared timeline, like a TV channel.
//!
//! Every client sees the same photo at the same time. The schedule walks the photos in order,
//! one every `--interval`, gets each frame from the cache (rendering the next few ahead, so a
//! photo change never waits for a decode) and publishes it on a `watch` channel. A client that
//! connects reads the current frame at once; a slow client only ever sees the newest one.
//!
//! A photo that fails to render is logged once with its reason, listed in the status, and
//! skipped for good. With nothing to show (an empty folder, or every file bad) a generated
//! frame says so, so streams keep running at the right size. While nobody watches the timeline
//! holds still: the current frame and the next are ready, and no other work is done.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::discover::{Photo, PhotoId};
use crate::escape::Escaped;
use crate::render::Frame;

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

/// What is on screen now.
#[derive(Debug, Clone)]
pub struct Showing {
    /// The frame, shared by every client.
    pub frame: Frame,
    /// Counts up by one for each new picture; a client that sees it jump has skipped frames.
    pub seq: u64,
    /// The photo shown, or `None` for a generated "nothing to show" frame.
    pub photo: Option<PathBuf>,
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
    /// Photos in the gallery.
    pub photos: usize,
    /// Distinct photos rendered successfully so far.
    pub rendered: usize,
    /// Photos that failed, with their reasons.
    pub failed: Vec<Failure>,
    /// The photo on screen.
    pub current: Option<PathBuf>,
    /// Pictures published since start.
    pub published: u64,
}

#[derive(Default)]
struct Book {
    failed: HashMap<PhotoId, Failure>,
    rendered: HashSet<PhotoId>,
}

/// The shared timeline.
pub struct Schedule {
    photos: Vec<Photo>,
    /// Shown in the "nothing to show" frame, so the user sees which folders were searched.
    roots: Vec<PathBuf>,
    cache: Arc<Cache>,
    timing: Timing,
    tx: watch::Sender<Option<Showing>>,
    /// Woken when a client subscribes, so a paused timeline resumes.
    viewer_arrived: Notify,
    book: Mutex<Book>,
}

impl Schedule {
    /// A timeline over `photos` (in order), found under `roots`.
    pub fn new(
        photos: Vec<Photo>,
        roots: Vec<PathBuf>,
        cache: Arc<Cache>,
        timing: Timing,
    ) -> Arc<Self> {
        let (tx, _) = watch::channel(None);
        Arc::new(Schedule {
            photos,
            roots,
            cache,
            timing,
            tx,
            viewer_arrived: Notify::new(),
            book: Mutex::new(Book::default()),
        })
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        let mut failed: Vec<Failure> = book.failed.values().cloned().collect();
        failed.sort_by(|a, b| a.path.cmp(&b.path));
        Status {
            photos: self.photos.len(),
            rendered: book.rendered.len(),
            failed,
            current: showing.as_ref().and_then(|s| s.photo.clone()),
            published: showing.as_ref().map_or(0, |s| s.seq),
        }
    }

    fn publish(&self, frame: Frame, photo: Option<PathBuf>) {
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
        match self.cache.frame(photo).await {
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
                        Failure {
                            path: photo.id.path.clone(),
                            reason: reason.clone(),
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

    /// Starts rendering the photos after `index` so they are ready when their turn comes; with
    /// nobody watching, only the next one.
    fn render_ahead(self: &Arc<Self>, index: usize) {
        let n = self.photos.len();
        let ahead = if self.viewers() == 0 {
            1
        } else {
            self.timing.ahead
        };
        for step in 1..=ahead.min(n.saturating_sub(1)) {
            let photo = &self.photos[(index + step) % n];
            if self.is_failed(photo) || self.cache.contains(photo) {
                continue;
            }
            let schedule = Arc::clone(self);
            let photo = photo.clone();
            tokio::spawn(async move {
                schedule.frame(&photo).await;
            });
        }
    }

    /// Runs the timeline until `cancel` fires.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let mut next = 0usize;
        let mut showing_placeholder = false;
        loop {
            // The next photo that renders, starting at `next`.
            let mut shown = None;
            for step in 0..self.photos.len() {
                let index = (next + step) % self.photos.len();
                let photo = &self.photos[index];
                if self.is_failed(photo) {
                    continue;
                }
                let frame = tokio::select! {
                    frame = self.frame(photo) => frame,
                    () = cancel.cancelled() => return,
                };
                if let Some(frame) = frame {
                    self.publish(frame, Some(photo.id.path.clone()));
                    shown = Some(index);
                    break;
                }
            }
            match shown {
                Some(index) => {
                    showing_placeholder = false;
                    next = index + 1;
                    self.render_ahead(index);
                }
                None if !showing_placeholder => {
                    if let Some(frame) = self.nothing_to_show().await {
                        self.publish(frame, None);
                    }
                    showing_placeholder = true;
                }
                None => {}
            }
            // Show this picture for a whole interval of someone watching it: with nobody
            // watching, hold the timeline, and give the first viewer a full interval.
            loop {
                tokio::select! {
                    () = tokio::time::sleep(self.timing.interval) => {}
                    () = cancel.cancelled() => return,
                }
                if self.viewers() > 0 {
                    break;
                }
                while self.viewers() == 0 {
                    tokio::select! {
                        () = self.viewer_arrived.notified() => {}
                        () = cancel.cancelled() => return,
                    }
                }
            }
        }
    }

    async fn nothing_to_show(&self) -> Option<Frame> {
        let roots: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
        let mut lines = vec!["No photos to show".to_string()];
        if self.photos.is_empty() {
            lines.push(format!("None found in {}", roots.join(", ")));
        } else {
            lines.push(format!(
                "None of the {} files could be shown",
                self.photos.len()
            ));
        }
        match self.cache.pool().placeholder(lines).await {
            Ok(frame) => Some(frame),
            Err(e) => {
                tracing::error!("cannot render the placeholder frame: {e}");
                None
            }
        }
    }
}
