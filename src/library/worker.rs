//! The library's thread: every walk, event, header read and index write happens here, never
//! on the async runtime.
//!
//! A file found by a walk or named by an event becomes a *candidate*. It is taken into the
//! library (its header read, a row written) only once complete:
//!
//! - no event was reported for it during [`Options::settle`], and if the watcher saw it being
//!   written, it was closed since (a writer that keeps a file open and pauses is still
//!   writing; after ten quiet settle periods it is taken anyway, for writers that never close);
//! - its size and modification time have not changed for `settle`: either two looks at least
//!   `settle` apart agree, or the modification time itself is at least `settle` old (which is
//!   what lets a first walk of old photos take each one at once).
//!
//! Until then it is *pending*, looked at again every [`TICK`]. A file whose identity (size,
//! time) matches the photo already held is nothing new and costs a `stat` only.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime};

use notify_debouncer_full::DebouncedEvent;
use notify_debouncer_full::notify::EventKind;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode, ModifyKind};
use tokio::sync::watch as channel;

use super::index::{Row, Store};
use super::walk::{self, Visit, Walker};
use super::watch::{self, Watcher};
use super::{
    Album, Error, Info, Message, Mode, Options, Photo, PhotoId, RootStatus, Shared, Snapshot,
};
use crate::escape::Escaped;
use crate::format::Format;
use crate::render::header;

/// How often pending files, missing roots and due rescans are looked at.
const TICK: Duration = Duration::from_millis(200);
/// How often a missing root is looked for.
const MISSING_CHECK: Duration = Duration::from_millis(500);
/// The least time between two snapshots while photos stream in (the first is published at
/// once): readers re-sort on every snapshot.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// Rows written to the index in one transaction at most.
const BATCH: usize = 2000;
/// Pending paths listed in the status.
const PENDING_LISTED: usize = 20;

/// The key of the photo map: natural name order, as snapshots list photos.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NameKey {
    root: usize,
    relative: PathBuf,
}

impl Ord for NameKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.root
            .cmp(&other.root)
            .then_with(|| walk::natural_cmp_paths(&self.relative, &other.relative))
    }
}

impl PartialOrd for NameKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

struct Root {
    given: PathBuf,
    /// Where it resolves to, once it exists.
    canonical: Option<PathBuf>,
    mode: Mode,
    /// The album of photos directly in the root.
    album: Arc<str>,
    /// When a polled root is walked next, or a missing root looked for.
    due: Instant,
}

/// A file seen but not yet complete.
struct Pending {
    root: usize,
    relative: PathBuf,
    size: u64,
    modified: Option<SystemTime>,
    /// When this size and time were first seen.
    since: Instant,
    /// The last event reported for the file; `None` when only walks saw it.
    last_event: Option<Instant>,
    /// The watcher saw a write and no close since.
    writing: bool,
}

pub(super) struct Worker {
    options: Options,
    walker: Arc<Walker>,
    roots: Vec<Root>,
    photos: BTreeMap<NameKey, Arc<Photo>>,
    pending: HashMap<PathBuf, Pending>,
    store: Option<Store>,
    puts: Vec<Row>,
    removes: Vec<PathBuf>,
    albums: HashMap<String, Arc<str>>,
    generation: u64,
    dirty: bool,
    last_publish: Instant,
    complete: bool,
    last_scan: Option<SystemTime>,
    tx: channel::Sender<Arc<Snapshot>>,
    shared: Arc<Shared>,
    inbox: mpsc::Receiver<Message>,
    control: mpsc::Sender<Message>,
    /// The watchers: the one set up at start, and one more if a root appeared before it was
    /// ready.
    watchers: Vec<Watcher>,
    /// The watcher could not be started: said once, then every root is polled.
    watcher_failed: bool,
    headers_read: u64,
}

impl Worker {
    /// Opens the index and loads the roots that exist, so the first snapshot holds every
    /// photo known from the last run before any walk.
    pub(super) fn open(
        options: Options,
        shared: Arc<Shared>,
        control: mpsc::Sender<Message>,
        inbox: mpsc::Receiver<Message>,
    ) -> Result<(Worker, channel::Receiver<Arc<Snapshot>>), Error> {
        let now = Instant::now();
        let mut roots = Vec::new();
        for given in &options.roots {
            let canonical = std::fs::canonicalize(given).ok();
            let album = canonical
                .as_deref()
                .unwrap_or(given)
                .iter()
                .next_back()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| given.display().to_string());
            if canonical.is_none() {
                tracing::warn!(
                    root = %Escaped::path(given),
                    "photo folder not found; it is picked up when it appears"
                );
            }
            roots.push(Root {
                given: given.clone(),
                mode: if canonical.is_some() {
                    Mode::Watched
                } else {
                    Mode::Missing
                },
                canonical,
                album: Arc::from(album),
                due: now,
            });
        }
        if !roots.iter().any(|r| r.canonical.is_some()) {
            return Err(Error::NoRoot(options.roots.clone()));
        }
        let store = options.index.as_deref().and_then(|path| {
            let mut warnings = Vec::new();
            let store = Store::open(path, &mut warnings);
            for w in warnings {
                tracing::warn!("{w}");
            }
            store
                .map_err(|e| {
                    tracing::warn!(
                        "cannot keep the index at {} ({e}); it is kept in memory",
                        path.display()
                    );
                })
                .ok()
        });
        let (tx, rx) = channel::channel(Arc::new(Snapshot::default()));
        let walker = Arc::new(Walker::new(&options.exclude));
        let mut worker = Worker {
            options,
            walker,
            roots,
            photos: BTreeMap::new(),
            pending: HashMap::new(),
            store,
            puts: Vec::new(),
            removes: Vec::new(),
            albums: HashMap::new(),
            generation: 0,
            dirty: false,
            last_publish: now,
            complete: false,
            last_scan: None,
            tx,
            shared,
            inbox,
            control,
            watchers: Vec::new(),
            watcher_failed: false,
            headers_read: 0,
        };
        for i in 0..worker.roots.len() {
            worker.load(i);
        }
        worker.publish(true);
        Ok((worker, rx))
    }

    /// Follows the disk until told to stop.
    pub(super) fn run(mut self) {
        self.start_watching();
        for i in 0..self.roots.len() {
            if self.roots[i].canonical.is_some() {
                self.full_scan(i);
            }
        }
        self.complete = true;
        self.flush();
        self.publish(true);
        loop {
            if self.stopping() {
                break;
            }
            let wait = if self.pending.is_empty() && !self.dirty {
                self.next_due()
                    .saturating_duration_since(Instant::now())
                    .min(MISSING_CHECK)
            } else {
                TICK
            };
            match self.inbox.recv_timeout(wait) {
                Ok(Message::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(Message::Events(Ok(events))) => {
                    for event in events {
                        self.on_event(event);
                    }
                }
                Ok(Message::Events(Err(errors))) => {
                    for e in errors {
                        self.on_watch_error(&e);
                    }
                }
                Ok(Message::Watching(watcher, roots)) => self.watching(watcher, roots),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if self.stopping() {
                break;
            }
            self.check_pending();
            self.check_roots();
            self.flush();
            self.publish(false);
            self.refresh_status();
        }
        self.flush();
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(AtomicOrdering::Relaxed)
    }

    fn next_due(&self) -> Instant {
        self.roots
            .iter()
            .filter(|r| !matches!(r.mode, Mode::Watched))
            .map(|r| r.due)
            .min()
            .unwrap_or_else(|| Instant::now() + MISSING_CHECK)
    }

    /// Puts the index's rows of root `i` into the library.
    fn load(&mut self, i: usize) {
        let (Some(store), Some(canonical)) = (&self.store, self.roots[i].canonical.clone()) else {
            return;
        };
        let rows = match store.load(&canonical) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("cannot read the index ({e}); it is rebuilt from the disk");
                return;
            }
        };
        for row in rows {
            let relative = match row.path.strip_prefix(&canonical) {
                Ok(r) if !r.as_os_str().is_empty() => r.to_path_buf(),
                _ => row.path.file_name().map(PathBuf::from).unwrap_or_default(),
            };
            let album = self.album(i, &relative);
            let photo = Photo {
                id: PhotoId {
                    path: row.path,
                    size: row.size,
                    modified: row.modified,
                },
                root: i,
                relative: relative.clone(),
                info: Info {
                    format: row.format,
                    dimensions: row.dimensions,
                    orientation: row.orientation,
                    taken: row.taken,
                    taken_exif: row.taken_exif,
                    gps: row.gps,
                },
                album,
                added: 0,
            };
            self.photos
                .insert(NameKey { root: i, relative }, Arc::new(photo));
        }
        self.dirty = true;
    }

    /// Starts following the roots present at start. Setting up notifications walks every
    /// folder (one watch each), so it runs on a thread of its own while the first walk
    /// goes on; notifications are live from the moment each watch is added, and their events
    /// wait in the inbox.
    fn start_watching(&mut self) {
        let mut watched = Vec::new();
        for i in 0..self.roots.len() {
            let Some(canonical) = self.roots[i].canonical.clone() else {
                continue;
            };
            let why = if !self.options.watch {
                Some("watching is turned off".to_string())
            } else {
                watch::unreliable_file_system(&canonical)
            };
            match why {
                Some(why) => self.poll(i, why),
                None => watched.push((i, canonical)),
            }
        }
        if watched.is_empty() {
            return;
        }
        let control = self.control.clone();
        let spawned = std::thread::Builder::new()
            .name("library-watch".into())
            .spawn(move || {
                let mut results = Vec::new();
                let watcher = Watcher::start(control.clone()).map(|mut watcher| {
                    for (i, root) in &watched {
                        results.push((*i, watcher.watch(root)));
                    }
                    watcher
                });
                if watcher.is_err() {
                    results = watched.iter().map(|(i, _)| (*i, Ok(()))).collect();
                }
                let _ = control.send(Message::Watching(watcher, results));
            });
        if let Err(e) = spawned {
            self.watching(Err(e.to_string()), Vec::new());
        }
    }

    /// The watcher set up at start is ready (or failed).
    fn watching(
        &mut self,
        watcher: Result<Watcher, String>,
        roots: Vec<(usize, Result<(), String>)>,
    ) {
        match watcher {
            Ok(mut w) => {
                for (i, result) in roots {
                    if let Err(why) = result {
                        if let Some(c) = &self.roots[i].canonical {
                            w.unwatch(c);
                        }
                        // Changes during the first walk may have been missed: walk again now.
                        self.poll(i, why);
                        self.roots[i].due = Instant::now();
                    }
                }
                self.watchers.push(w);
            }
            Err(why) => {
                self.watcher_failed = true;
                tracing::warn!("cannot watch for changes ({why})");
                for i in 0..self.roots.len() {
                    if self.roots[i].mode == Mode::Watched {
                        self.poll(i, "file-system notifications are not available".into());
                        self.roots[i].due = Instant::now();
                    }
                }
            }
        }
    }

    /// Root `i` is polled from now on; says why, once.
    fn poll(&mut self, i: usize, why: String) {
        let rescan = self.options.rescan;
        if self.options.watch {
            tracing::warn!(root = %Escaped::path(&self.roots[i].given), "{why}; rescanning every {rescan:?}");
        } else {
            tracing::info!(root = %Escaped::path(&self.roots[i].given), "{why}; rescanning every {rescan:?}");
        }
        self.roots[i].mode = Mode::Polled(why);
        self.roots[i].due = Instant::now() + rescan;
    }

    /// Starts following root `i` (one that appeared after start): watched when possible,
    /// polled otherwise (said once).
    fn follow(&mut self, i: usize) {
        let Some(canonical) = self.roots[i].canonical.clone() else {
            return;
        };
        let polled = |why: String| Mode::Polled(why);
        let mode = if !self.options.watch {
            polled("watching is turned off".into())
        } else if let Some(why) = watch::unreliable_file_system(&canonical) {
            polled(why)
        } else {
            if self.watchers.is_empty() && !self.watcher_failed {
                match Watcher::start(self.control.clone()) {
                    Ok(w) => self.watchers.push(w),
                    Err(why) => {
                        self.watcher_failed = true;
                        tracing::warn!("cannot watch for changes ({why})");
                    }
                }
            }
            match self.watchers.last_mut() {
                Some(watcher) => match watcher.watch(&canonical) {
                    Ok(()) => Mode::Watched,
                    Err(why) => {
                        watcher.unwatch(&canonical);
                        polled(why)
                    }
                },
                None => polled("file-system notifications are not available".into()),
            }
        };
        if let Mode::Polled(why) = mode {
            self.poll(i, why);
            return;
        }
        self.roots[i].mode = mode;
        self.roots[i].due = Instant::now() + self.options.rescan;
    }

    /// Walks root `i` and brings the library in line with what is there.
    fn full_scan(&mut self, i: usize) {
        let Some(canonical) = self.roots[i].canonical.clone() else {
            return;
        };
        let walker = Arc::clone(&self.walker);
        let shared = Arc::clone(&self.shared);
        let mut seen: HashSet<PathBuf> = HashSet::new();
        let result = walker.root(i, &canonical, &shared.stop, &mut |visit| match visit {
            Visit::File(file) => {
                seen.insert(file.id.path.clone());
                let path = file.id.path.clone();
                self.candidate(file, None);
                self.try_take(&path);
                if self.puts.len() >= BATCH {
                    self.flush();
                }
                self.publish(false);
            }
            Visit::Warning(w) => {
                tracing::warn!(path = %Escaped::path(&w.path), "skipped during the walk: {}", w.reason);
            }
        });
        if self.stopping() {
            return;
        }
        if let Err(e) = result {
            self.lost_root(i, &e);
            return;
        }
        let gone: Vec<NameKey> = self
            .photos
            .iter()
            .filter(|(k, p)| k.root == i && !seen.contains(&p.id.path))
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            self.remove(&key, true);
        }
        self.pending
            .retain(|path, p| p.root != i || seen.contains(path));
        self.last_scan = Some(SystemTime::now());
        self.roots[i].due = Instant::now() + self.options.rescan;
        self.dirty = true;
    }

    /// Root `i` went away (a share unmounted): its photos leave the library but stay in the
    /// index, so its return costs no header reads.
    fn lost_root(&mut self, i: usize, why: &io::Error) {
        tracing::warn!(
            root = %Escaped::path(&self.roots[i].given),
            "photo folder is gone ({why}); it is picked up when it appears again"
        );
        if let Some(c) = &self.roots[i].canonical {
            for w in &mut self.watchers {
                w.unwatch(c);
            }
        }
        self.roots[i].canonical = None;
        self.roots[i].mode = Mode::Missing;
        self.roots[i].due = Instant::now() + MISSING_CHECK;
        let keys: Vec<NameKey> = self
            .photos
            .keys()
            .filter(|k| k.root == i)
            .cloned()
            .collect();
        for key in keys {
            self.remove(&key, false);
        }
        self.pending.retain(|_, p| p.root != i);
        self.dirty = true;
    }

    /// Missing roots that appeared, and polled roots due for a walk.
    fn check_roots(&mut self) {
        let now = Instant::now();
        for i in 0..self.roots.len() {
            if self.roots[i].due > now {
                continue;
            }
            match self.roots[i].mode {
                Mode::Watched => {}
                Mode::Missing => match std::fs::canonicalize(&self.roots[i].given) {
                    Ok(canonical) => {
                        tracing::info!(root = %Escaped::path(&self.roots[i].given), "photo folder appeared");
                        self.roots[i].canonical = Some(canonical);
                        self.load(i);
                        self.follow(i);
                        self.full_scan(i);
                    }
                    Err(_) => self.roots[i].due = now + MISSING_CHECK,
                },
                Mode::Polled(_) => self.full_scan(i),
            }
        }
    }

    /// The watcher reported an event.
    fn on_event(&mut self, event: DebouncedEvent) {
        if event.need_rescan() {
            tracing::info!("the file-system event queue overflowed; rescanning");
            for i in 0..self.roots.len() {
                if self.roots[i].mode == Mode::Watched {
                    self.full_scan(i);
                }
            }
            return;
        }
        let writing = match event.kind {
            EventKind::Modify(ModifyKind::Data(_)) => Some(true),
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(false),
            // Reads (ours included) change nothing.
            EventKind::Access(_) => return,
            _ => None,
        };
        for path in &event.paths {
            self.reconcile(path, writing);
        }
    }

    fn on_watch_error(&mut self, e: &notify_debouncer_full::notify::Error) {
        let why = watch::describe(e);
        if matches!(
            e.kind,
            notify_debouncer_full::notify::ErrorKind::MaxFilesWatch
        ) {
            // Some folders are no longer watched: only walks can be trusted now.
            for i in 0..self.roots.len() {
                if self.roots[i].mode == Mode::Watched {
                    tracing::warn!(
                        root = %Escaped::path(&self.roots[i].given),
                        "{why}; rescanning every {:?}", self.options.rescan
                    );
                    self.roots[i].mode = Mode::Polled(why.clone());
                    self.roots[i].due = Instant::now();
                }
            }
        } else {
            tracing::debug!("watch error: {why}");
        }
    }

    /// Brings what the library holds at `path` in line with the disk.
    fn reconcile(&mut self, path: &Path, writing: Option<bool>) {
        for i in 0..self.roots.len() {
            let Some(root) = self.roots[i].canonical.clone() else {
                continue;
            };
            if path == root {
                if !path.exists() {
                    self.lost_root(i, &io::Error::from(io::ErrorKind::NotFound));
                }
                continue;
            }
            if !path.starts_with(&root) || self.walker.is_skipped(&root, path) {
                continue;
            }
            match std::fs::metadata(path) {
                Err(_) => self.remove_under(i, path),
                Ok(meta) if meta.is_dir() => {
                    // A folder moved or copied in: walk it; what left it is removed.
                    let walker = Arc::clone(&self.walker);
                    let shared = Arc::clone(&self.shared);
                    let mut seen = HashSet::new();
                    walker.folder(i, &root, path, &shared.stop, &mut |visit| {
                        if let Visit::File(file) = visit {
                            seen.insert(file.id.path.clone());
                            self.candidate(file, writing.map(|_| false));
                        }
                    });
                    let gone: Vec<NameKey> = self
                        .photos
                        .iter()
                        .filter(|(k, p)| {
                            k.root == i && p.id.path.starts_with(path) && !seen.contains(&p.id.path)
                        })
                        .map(|(k, _)| k.clone())
                        .collect();
                    for key in gone {
                        self.remove(&key, true);
                    }
                }
                Ok(meta) if meta.is_file() && walk::is_photo_file(path) => {
                    let relative = path.strip_prefix(&root).unwrap_or(path).to_path_buf();
                    let file = walk::File {
                        id: PhotoId {
                            path: path.to_path_buf(),
                            size: meta.len(),
                            modified: meta.modified().ok(),
                        },
                        root: i,
                        relative,
                    };
                    self.candidate(file, writing);
                }
                Ok(_) => {}
            }
        }
    }

    /// Notes a file that may be new or changed. `writing`: what an event said (`None` for a
    /// walk, which says nothing about writers).
    fn candidate(&mut self, file: walk::File, writing: Option<bool>) {
        let key = NameKey {
            root: file.root,
            relative: file.relative,
        };
        if self.photos.get(&key).is_some_and(|p| p.id == file.id) && writing != Some(true) {
            self.pending.remove(&file.id.path);
            return;
        }
        let now = Instant::now();
        let entry = self.pending.entry(file.id.path).or_insert_with(|| Pending {
            root: key.root,
            relative: key.relative,
            size: file.id.size,
            modified: file.id.modified,
            since: now,
            last_event: None,
            writing: false,
        });
        if (entry.size, entry.modified) != (file.id.size, file.id.modified) {
            entry.size = file.id.size;
            entry.modified = file.id.modified;
            entry.since = now;
        }
        if let Some(w) = writing {
            entry.writing = w;
            entry.last_event = Some(now);
        }
    }

    /// Looks at every pending file again and takes the complete ones.
    fn check_pending(&mut self) {
        let paths: Vec<PathBuf> = self.pending.keys().cloned().collect();
        for path in paths {
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => {
                    let now = Instant::now();
                    if let Some(p) = self.pending.get_mut(&path) {
                        let id = (meta.len(), meta.modified().ok());
                        if (p.size, p.modified) != id {
                            (p.size, p.modified) = id;
                            p.since = now;
                        }
                    }
                    self.try_take(&path);
                }
                _ => {
                    if let Some(p) = self.pending.remove(&path) {
                        self.remove_under(p.root, &path);
                    }
                }
            }
        }
    }

    /// Takes the pending file at `path` into the library if it is complete.
    fn try_take(&mut self, path: &Path) {
        let settle = self.options.settle;
        let Some(p) = self.pending.get(path) else {
            return;
        };
        let now = Instant::now();
        let quiet_for = p.last_event.map_or(Duration::MAX, |t| now - t);
        let hold = if p.writing { settle * 10 } else { settle };
        let unchanged = now - p.since >= settle
            || p.modified
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age >= settle);
        if quiet_for < hold || !unchanged {
            return;
        }
        let Some(p) = self.pending.remove(path) else {
            return;
        };
        // The header is read now, once, for this identity; a file that is no image is
        // still listed, and rendering says why it cannot be shown.
        let header = header::probe_file(path).ok();
        self.headers_read += 1;
        let file_time = p
            .modified
            .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        let info = Info {
            format: header.map(|h| h.format),
            dimensions: header.and_then(|h| h.size).map(|s| (s.width, s.height)),
            orientation: header.and_then(|h| h.orientation),
            taken: header.and_then(|h| h.taken).unwrap_or(file_time),
            taken_exif: header.is_some_and(|h| h.taken.is_some()),
            gps: header.and_then(|h| h.gps),
        };
        let album = self.album(p.root, &p.relative);
        let photo = Photo {
            id: PhotoId {
                path: path.to_path_buf(),
                size: p.size,
                modified: p.modified,
            },
            root: p.root,
            relative: p.relative.clone(),
            info,
            album: Arc::clone(&album),
            added: self.generation + 1,
        };
        if self.store.is_some() {
            self.puts.push(Row {
                path: path.to_path_buf(),
                size: p.size,
                modified: p.modified,
                format: info.format,
                dimensions: info.dimensions,
                orientation: info.orientation,
                taken: info.taken,
                taken_exif: info.taken_exif,
                gps: info.gps,
                album: album.to_string(),
            });
        }
        let key = NameKey {
            root: p.root,
            relative: p.relative,
        };
        if let Some(old) = self.photos.insert(key, Arc::new(photo)) {
            tracing::debug!(path = %Escaped::path(old.path()), "photo changed");
        }
        self.dirty = true;
    }

    /// Removes the photo at `path` (a file) or every photo under it (a folder) in root `i`.
    fn remove_under(&mut self, i: usize, path: &Path) {
        let keys: Vec<NameKey> = self
            .photos
            .iter()
            .filter(|(k, p)| k.root == i && p.id.path.starts_with(path))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.remove(&key, true);
        }
        self.pending
            .retain(|p, pending| pending.root != i || !p.starts_with(path));
    }

    fn remove(&mut self, key: &NameKey, from_index: bool) {
        if let Some(photo) = self.photos.remove(key) {
            if from_index && self.store.is_some() {
                self.removes.push(photo.id.path.clone());
            }
            self.dirty = true;
        }
    }

    /// The album of a photo at `relative` in root `i`: its top-level folder, or the root's
    /// name for photos directly in the root.
    fn album(&mut self, i: usize, relative: &Path) -> Arc<str> {
        let mut parts = relative.components();
        let first = parts.next();
        let name = match (first, parts.next()) {
            (Some(folder), Some(_)) => folder.as_os_str().to_string_lossy().into_owned(),
            _ => return Arc::clone(&self.roots[i].album),
        };
        Arc::clone(
            self.albums
                .entry(name)
                .or_insert_with_key(|name| Arc::from(name.as_str())),
        )
    }

    /// Writes what changed to the index. A failing index is dropped (said once); the library
    /// goes on in memory.
    fn flush(&mut self) {
        if self.puts.is_empty() && self.removes.is_empty() {
            return;
        }
        let (puts, removes) = (
            std::mem::take(&mut self.puts),
            std::mem::take(&mut self.removes),
        );
        if let Some(store) = self.store.as_mut()
            && let Err(e) = store.write(&puts, &removes)
        {
            tracing::warn!(
                "cannot write the index {} ({e}); going on without it",
                store.path().display()
            );
            self.store = None;
        }
    }

    /// Publishes a snapshot when something changed: at once when the library was empty (the
    /// first photo), otherwise at most every [`PUBLISH_EVERY`].
    fn publish(&mut self, force: bool) {
        let first = self.tx.borrow().photos.is_empty() && !self.photos.is_empty();
        if !force && !(self.dirty && (first || self.last_publish.elapsed() >= PUBLISH_EVERY)) {
            return;
        }
        self.dirty = false;
        self.last_publish = Instant::now();
        self.generation += 1;
        let photos: Vec<Arc<Photo>> = self.photos.values().cloned().collect();
        let mut albums: BTreeMap<Arc<str>, usize> = BTreeMap::new();
        let mut formats: HashMap<Option<Format>, usize> = HashMap::new();
        for p in &photos {
            *albums.entry(Arc::clone(&p.album)).or_default() += 1;
            *formats.entry(p.info.format).or_default() += 1;
        }
        let mut albums: Vec<Album> = albums
            .into_iter()
            .map(|(name, photos)| Album { name, photos })
            .collect();
        albums.sort_by(|a, b| walk::natural_cmp(&a.name, &b.name));
        let mut formats: Vec<(Option<Format>, usize)> = formats.into_iter().collect();
        formats.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.map(Format::name).cmp(&b.0.map(Format::name)))
        });
        {
            let mut status = self.shared.status();
            status.photos = photos.len();
            status.formats = formats;
        }
        self.refresh_status();
        self.tx.send_replace(Arc::new(Snapshot {
            photos,
            generation: self.generation,
            albums,
            complete: self.complete,
        }));
    }

    /// The parts of the status that change without a new snapshot.
    fn refresh_status(&self) {
        let mut pending: Vec<PathBuf> = self.pending.keys().cloned().collect();
        pending.sort();
        pending.truncate(PENDING_LISTED);
        let mut status = self.shared.status();
        status.roots = self
            .roots
            .iter()
            .map(|r| RootStatus {
                path: r.given.clone(),
                mode: r.mode.clone(),
            })
            .collect();
        status.last_scan = self.last_scan;
        status.scanning = !self.complete;
        status.pending_count = self.pending.len();
        status.pending = pending;
        status.headers_read = self.headers_read;
        status.index = self.store.as_ref().map(|s| s.path().to_path_buf());
        status.rescan = self.options.rescan;
    }
}
