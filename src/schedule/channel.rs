//! Channels: timelines of their own, for screens that want other photos.
//!
//! The kitchen frame shows the pets, the living-room TV the trips, both from one server. A
//! channel is what decides which photo shows when: its albums, its order and its interval
//! (its [`Key`]). Each channel plays its own playlist over the library's snapshot, with its
//! own place in it and its own clock, and is seen through its own [`Renditions`]: screens on
//! one channel show the same photo at the same moment, each in frames of its own.
//!
//! The timeline steps in its lead rendition (the command line's frames for the default
//! channel, the frames of the request that created it for another): each photo is rendered
//! in it (which is how a photo that cannot be shown is found and skipped for good) and
//! published there, then announced as a [`Moment`] that the other renditions with clients
//! render in their own frames. Every channel draws from the one frame cache and the one
//! worker pool, and records failures in one book, so a broken photo is skipped everywhere.
//!
//! While nobody watches a channel it holds still: the current frame and the next are ready,
//! and no other work is done. The default channel (the command line's) is always there and
//! writes its place in the order next to the index; the others are created on first use,
//! start from the beginning, and are dropped once nobody has used them for a while (see
//! [`super::Schedule`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::rendition::{Rendition, Renditions, Subscribed};
use super::{
    Book, Common, Failed, Failure, Moment, Order, Playlist, Resume, Showing, Source, Step,
};
use crate::escape::Escaped;
use crate::library::{Photo, Snapshot};
use crate::render::{Fit, Frame, Spec};

/// The intervals a channel asked for in a URL may have: long enough that a screen shows a
/// photo, short enough that it changes within a day.
pub const INTERVALS: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(86_400);

/// What makes a channel: which photos, in which order, how long each.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    albums: Vec<String>,
    order: Order,
    interval: Duration,
}

impl Key {
    /// The channel of `albums` (all photos when empty; the order they are given in and
    /// repeats do not matter), played in `order`, each photo shown for `interval`.
    pub fn new(mut albums: Vec<String>, order: Order, interval: Duration) -> Key {
        albums.sort();
        albums.dedup();
        Key {
            albums,
            order,
            interval,
        }
    }

    /// Its albums, sorted; empty for every photo.
    pub fn albums(&self) -> &[String] {
        &self.albums
    }

    /// Its order.
    pub fn order(&self) -> Order {
        self.order
    }

    /// How long each photo is shown.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Whether `photo` is played on this channel.
    pub fn plays(&self, photo: &Photo) -> bool {
        self.albums.is_empty() || self.albums.iter().any(|a| **a == *photo.album)
    }
}

/// Reads a duration written as numbers each with a unit: `5s`, `500ms`, `1m30s`, `1.5h`, in
/// any case (`ms`, `s`, `m`, `h`; also `sec`, `min`), in seconds. A bare number is refused
/// with a hint, since `5` could as well mean milliseconds as seconds. The one syntax of the
/// command line's durations and of `?interval=`; each caller bounds the result.
pub fn duration_seconds(s: &str) -> Result<f64, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("a duration is needed, like 5s or 500ms".to_string());
    }
    if text.parse::<f64>().is_ok() {
        return Err(format!("'{s}' has no unit: did you mean {text}s?"));
    }
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    let mut secs = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("'{s}' is not a duration like 5s, 1m30s or 500ms"))?;
        let after = rest[digits..].trim_start();
        let letters = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let scale = match &after[..letters] {
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "" => {
                return Err(format!(
                    "'{s}' ends in a number without a unit: did you mean {text}s?"
                ));
            }
            other => {
                return Err(format!(
                    "unknown unit '{other}' in '{s}' (use ms, s, m or h, as in 1m30s)"
                ));
            }
        };
        secs += value * scale;
        rest = after[letters..].trim_start();
    }
    if !secs.is_finite() {
        return Err(format!("'{s}' is not a duration like 5s, 1m30s or 500ms"));
    }
    Ok(secs)
}

/// A channel, for the status page.
#[derive(Debug, Clone)]
pub struct Info {
    /// What it plays.
    pub key: Key,
    /// Whether it is the command line's.
    pub default: bool,
    /// The photo on screen.
    pub current: Option<Arc<Photo>>,
    /// Clients following it now, in any of its renditions.
    pub clients: usize,
    /// When the picture changes next; `None` while nobody watches.
    pub next_change: Option<Instant>,
    /// How long none of its renditions has had a client or a request.
    pub idle: Duration,
    /// Its renditions, the lead first.
    pub renditions: Vec<super::rendition::Info>,
}

/// One timeline: a playlist over the library, its place, its clock and its renditions.
pub struct Channel {
    key: Key,
    default: bool,
    common: Arc<Common>,
    renditions: Renditions,
    /// Each step of the timeline, for the renditions other than the lead to follow.
    moments: watch::Sender<Option<Moment>>,
    /// Woken when a client subscribes, so a paused timeline resumes.
    viewer_arrived: Notify,
    /// The play order and the place in it. Only the timeline task uses it (a pool job while
    /// a view is re-sorted), so the lock is never contended.
    playlist: Arc<Mutex<Playlist>>,
    /// When the current picture's interval ends, for the status.
    next_change: Mutex<Option<Instant>>,
    /// Where the place in the order is kept; `None` keeps it in memory only.
    resume: Option<PathBuf>,
    /// Fired when the channel is dropped (or the server stops): its work stops.
    stop: CancellationToken,
}

/// What a `pair` rendition shows at a photo's step.
enum PairStep {
    /// The photo is already on screen, the second of a pair: the picture stays.
    Keep,
    /// A new picture: the photo beside its neighbour, or alone.
    Show(Frame),
    /// The photo could not be rendered in this rendition.
    Failed,
}

/// What the "nothing to show" frame says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Nothing(Vec<String>);

impl Channel {
    /// A channel playing `key`, stepping in frames of `lead`, from `resume` if given (its
    /// place written back to `file`), stopped by `stop`.
    pub(super) fn new(
        key: Key,
        default: bool,
        common: Arc<Common>,
        lead: Spec,
        resume: (Option<Resume>, Option<PathBuf>),
        stop: CancellationToken,
    ) -> Arc<Channel> {
        let entropy = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        let playlist = Playlist::new(key.order, key.albums.clone(), resume.0, entropy);
        let renditions = Renditions::new(lead, common.idle);
        Arc::new(Channel {
            key,
            default,
            common,
            renditions,
            moments: watch::channel(None).0,
            viewer_arrived: Notify::new(),
            playlist: Arc::new(Mutex::new(playlist)),
            next_change: Mutex::new(None),
            resume: resume.1,
            stop,
        })
    }

    /// What it plays.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Whether it is the command line's channel.
    pub fn is_default(&self) -> bool {
        self.default
    }

    /// Its renditions.
    pub fn renditions(&self) -> &Renditions {
        &self.renditions
    }

    /// Clients following it now, in any rendition.
    pub fn viewers(&self) -> usize {
        self.renditions.clients()
    }

    /// The picture on screen now in its lead rendition, if one is ready.
    pub fn current(&self) -> Option<Showing> {
        self.renditions.lead().current()
    }

    /// When the picture changes next; `None` while nobody watches.
    pub fn next_change(&self) -> Option<Instant> {
        *self
            .next_change
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// For the status page.
    pub fn info(&self) -> Info {
        Info {
            key: self.key.clone(),
            default: self.default,
            current: self.current().and_then(|s| s.photo),
            clients: self.viewers(),
            next_change: self.next_change(),
            idle: self.renditions.idle_for(),
            renditions: self.renditions.info(),
        }
    }

    fn playlist(&self) -> MutexGuard<'_, Playlist> {
        lock(&self.playlist)
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.common.book()
    }

    fn set_next_change(&self, at: Option<Instant>) {
        *self
            .next_change
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
    }

    /// Subscribes to its rendition of `spec` (see [`Renditions::subscribe`]), starting the
    /// work of a new one, and wakes the timeline if it was waiting for a viewer.
    pub(super) fn subscribe(self: &Arc<Self>, spec: &Spec, may_create: bool) -> Option<Subscribed> {
        let subscribed = self.renditions.subscribe(spec, may_create)?;
        if subscribed.created {
            tokio::spawn(Arc::clone(self).follow(Arc::clone(&subscribed.rendition)));
        }
        self.viewer_arrived.notify_one();
        Some(subscribed)
    }

    /// Stops its work and that of its renditions.
    pub(super) fn stop(&self) {
        self.stop.cancel();
        self.renditions.stop_all();
    }

    /// Runs the timeline until the channel is stopped.
    pub(super) async fn run(self: Arc<Self>) {
        let stop = self.stop.clone();
        tokio::select! {
            () = Arc::clone(&self).timeline() => {}
            () = stop.cancelled() => {}
        }
        self.renditions.stop_all();
    }

    /// Shows `source` (as `frame` in the lead rendition) and tells the other renditions.
    fn publish(&self, frame: Frame, source: Source) {
        let lead = self.renditions.lead();
        if matches!(source, Source::Nothing(_)) {
            lead.set_second(None);
        }
        lead.publish(Showing::new(frame, source.photo()));
        self.announce(source);
    }

    /// Shows `photo`, whose own frame in the lead rendition is `frame`: in a `pair` lead, beside
    /// its neighbour when both are portraits (or not at all when it is already on screen as
    /// the second of a pair).
    async fn show(self: &Arc<Self>, photo: Arc<Photo>, frame: Frame) {
        let lead = self.renditions.lead();
        if lead.spec().fit == Fit::Pair {
            match self.pair_step(lead, &photo).await {
                PairStep::Keep => return self.announce(Source::Photo(photo)),
                PairStep::Show(paired) => return self.publish(paired, Source::Photo(photo)),
                // Its frame alone, which the lead has.
                PairStep::Failed => {}
            }
        }
        self.publish(frame, Source::Photo(photo));
    }

    /// The timeline's current step (0 before the first).
    pub(super) fn step(&self) -> u64 {
        self.moments.borrow().as_ref().map_or(0, |m| m.seq)
    }

    /// Tells the renditions other than the lead that the timeline shows `source` now.
    fn announce(&self, source: Source) {
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
                        frame = self.frame_in(&rendition, &moment.source) => frame,
                        () = rendition.stop.cancelled() => return,
                    };
                    if let Some(frame) = frame {
                        rendition.publish(Showing::new(frame, moment.source.photo()));
                    }
                    rendition.caught_up_with(moment.seq);
                    shown = Some(moment.seq);
                    if spec.fit != Fit::Pair {
                        self.render_ahead_as(spec);
                    }
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

    /// The frame of `source` in `rendition`'s frames; `None` keeps the picture on screen. A
    /// photo that fails here but not in the lead rendition keeps the previous picture (its
    /// failure is the timeline's to record, which skips the photo for good if it fails there
    /// too).
    async fn frame_in(self: &Arc<Self>, rendition: &Rendition, source: &Source) -> Option<Frame> {
        let spec = *rendition.spec();
        let cache = &self.common.cache;
        let frame = match source {
            Source::Photo(photo) if spec.fit == Fit::Pair => {
                return match self.pair_step(rendition, photo).await {
                    PairStep::Show(frame) => Some(frame),
                    PairStep::Keep | PairStep::Failed => None,
                };
            }
            Source::Photo(photo) => cache.frame_as(&photo.id, spec).await,
            Source::Nothing(lines) => {
                rendition.set_second(None);
                cache.pool().placeholder_as(lines.to_vec(), spec).await
            }
        };
        match frame {
            Ok(frame) => Some(frame),
            Err(e) => {
                tracing::debug!(size = %spec.size, "cannot render in another rendition: {e}");
                None
            }
        }
    }

    /// What the `pair` rendition `rendition` shows at the step of `photo`: nothing new when
    /// `photo` is on screen already as the second of a pair; else `photo` beside the next
    /// photo in the order when both are portraits (the next step then keeps the picture), or
    /// `photo` alone over its blurred copy. The frame after it is rendered ahead.
    async fn pair_step(self: &Arc<Self>, rendition: &Rendition, photo: &Arc<Photo>) -> PairStep {
        if rendition.take_second(&photo.id) {
            return PairStep::Keep;
        }
        let spec = *rendition.spec();
        let cache = &self.common.cache;
        let partner = self.upcoming(2).into_iter().find(|p| p.id != photo.id);
        let shown = cache
            .pair_as(&photo.id, partner.as_ref().map(|p| &p.id), spec)
            .await;
        match shown {
            Ok(shown) => {
                rendition.set_second(partner.filter(|_| shown.paired).map(|p| p.id.clone()));
                self.render_pair_ahead(spec, shown.paired);
                PairStep::Show(shown.frame)
            }
            Err(e) => {
                tracing::debug!(size = %spec.size, "cannot render the pair: {e}");
                PairStep::Failed
            }
        }
    }

    /// The next `n` photos in the order that have not failed.
    fn upcoming(&self, n: usize) -> Vec<Arc<Photo>> {
        let upcoming = self.playlist().upcoming(n);
        upcoming
            .into_iter()
            .filter(|p| !self.is_failed(p))
            .collect()
    }

    /// Starts rendering the next picture of a `pair` rendition in frames of `spec`, so it is
    /// ready when its turn comes: it starts after the photo on screen, or after its partner
    /// when `paired`.
    fn render_pair_ahead(self: &Arc<Self>, spec: Spec, paired: bool) {
        let mut next = self.upcoming(4).into_iter().skip(usize::from(paired));
        let Some(first) = next.next() else { return };
        let cache = Arc::clone(&self.common.cache);
        match next.next() {
            Some(second) if !cache.contains_pair(&first.id, &second.id, spec) => {
                tokio::spawn(async move {
                    let _ = cache.pair_as(&first.id, Some(&second.id), spec).await;
                });
            }
            None if !cache.contains_as(&first.id, spec) => {
                tokio::spawn(async move {
                    let _ = cache.frame_as(&first.id, spec).await;
                });
            }
            _ => {}
        }
    }

    /// Starts rendering the next photo in frames of `spec`, so it is ready when its turn comes.
    fn render_ahead_as(self: &Arc<Self>, spec: Spec) {
        for photo in self.playlist().upcoming(1) {
            if self.is_failed(&photo) || self.common.cache.contains_as(&photo.id, spec) {
                continue;
            }
            let cache = Arc::clone(&self.common.cache);
            tokio::spawn(async move {
                let _ = cache.frame_as(&photo.id, spec).await;
            });
        }
    }

    fn is_failed(&self, photo: &Photo) -> bool {
        self.book().failed.contains_key(&photo.id)
    }

    /// Renders (or fetches) one photo's frame in the lead rendition, recording the outcome. A
    /// failure is logged the first time only.
    async fn frame(&self, photo: &Photo) -> Option<Frame> {
        let spec = *self.renditions.lead().spec();
        match self.common.cache.frame_as(&photo.id, spec).await {
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
            self.common.ahead
        };
        let spec = *self.renditions.lead().spec();
        let upcoming = self.playlist().upcoming(ahead);
        for photo in upcoming {
            if self.is_failed(&photo) || self.common.cache.contains_as(&photo.id, spec) {
                continue;
            }
            let channel = Arc::clone(self);
            tokio::spawn(async move {
                channel.frame(&photo).await;
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
            .common
            .cache
            .pool()
            .run(move || lock(&playlist).refresh(&job))
            .await
        {
            tracing::error!("cannot order the photos: {e}");
        }
        // Failures of photos that left the library are forgotten with them.
        self.book().failed.retain(|id, f| {
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
                        .common
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
        let Some(path) = self.resume.clone() else {
            return;
        };
        let resume = self.playlist().resume();
        let written = tokio::task::spawn_blocking(move || resume.save(&path)).await;
        if let Ok(Err(e)) = written {
            tracing::debug!("cannot write the slideshow position: {e}");
        }
    }

    async fn timeline(self: Arc<Self>) {
        let library = Arc::clone(&self.common.library);
        let mut snapshots = library.subscribe();
        let mut nothing: Option<Nothing> = None;
        loop {
            let snapshot = Arc::clone(&snapshots.borrow_and_update());
            self.refresh(&snapshot).await;
            let mut current = match self.next().await {
                Some((photo, frame)) => {
                    self.show(Arc::clone(&photo), frame).await;
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
            if !self.hold(&mut snapshots, &mut current).await {
                return;
            }
        }
    }

    /// Shows the current picture for a whole interval of someone watching it (with nobody
    /// watching, the timeline holds still, and the first viewer gets a full interval). A
    /// library change ends the wait early when the photo on screen left (or nothing is on
    /// screen); a photo on screen that was edited is rendered again in place. `false` when
    /// the library is gone.
    async fn hold(
        self: &Arc<Self>,
        snapshots: &mut watch::Receiver<Arc<Snapshot>>,
        current: &mut Option<Arc<Photo>>,
    ) -> bool {
        let interval = self.key.interval;
        // `None` while waiting for a viewer.
        let mut deadline = Some(Instant::now() + interval);
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
                        deadline = Some(Instant::now() + interval);
                    }
                }
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        // The library is gone: only shutdown comes next.
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
                                self.show(Arc::clone(&now), frame).await;
                            }
                            *current = Some(now);
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }

    fn nothing_says(&self, snapshot: &Snapshot) -> Nothing {
        let roots: Vec<String> = self
            .common
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
                self.key.albums.join(", ")
            ));
        } else if playing == 0 {
            lines.push(format!("None found in {}", roots.join(", ")));
        } else {
            lines.push(format!("None of the {playing} files could be shown"));
        }
        Nothing(lines)
    }

    async fn nothing_to_show(&self, says: &Nothing) -> Option<Frame> {
        let spec = *self.renditions.lead().spec();
        match self
            .common
            .cache
            .pool()
            .placeholder_as(says.0.clone(), spec)
            .await
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn albums_in_any_order_or_repeated_are_one_channel() {
        let second = Duration::from_secs(1);
        let a = Key::new(vec!["trips".into(), "pets".into()], Order::Name, second);
        let b = Key::new(
            vec!["pets".into(), "trips".into(), "pets".into()],
            Order::Name,
            second,
        );
        assert_eq!(a, b);
        assert_eq!(a.albums(), ["pets", "trips"]);
        assert_ne!(a, Key::new(vec!["pets".into()], Order::Name, second));
        assert_ne!(a, Key::new(a.albums().to_vec(), Order::Shuffle, second));
        assert_ne!(a, Key::new(a.albums().to_vec(), Order::Name, second * 2));
    }

    #[test]
    fn durations_in_the_flag_syntax() {
        assert_eq!(duration_seconds("1m30s"), Ok(90.0));
        assert_eq!(duration_seconds("500ms"), Ok(0.5));
        assert_eq!(duration_seconds(" 2 H "), Ok(7200.0));
        assert!(duration_seconds("5").is_err_and(|e| e.contains("did you mean 5s?")));
        assert!(duration_seconds("2d").is_err_and(|e| e.contains("unknown unit 'd'")));
        assert!(duration_seconds(&format!("{}s", "9".repeat(400))).is_err());
    }
}
