//! The library: which photos exist, kept true while the disk changes.
//!
//! It sits after [`render`](crate::render) in the flow because knowing a photo means reading
//! its header, and the header probe ([`crate::render::header`]) shares its EXIF reader with the
//! renderer (and, for HEIF, its decoder library). Everything downstream reads the library's
//! [`Snapshot`]s and never walks the disk itself.
//!
//! - [`walk`]: the rules of a walk (hidden files, NAS folders, RAW files and sidecars, loops).
//! - [`index`]: the persisted index (SQLite), so a restart reads no header again.
//! - `watch`: file-system notifications, and when they cannot be trusted, periodic rescans.
//! - `worker`: the library's own thread, where all of its file-system work runs: the first
//!   walk (streamed, so the first photo is shown long before a large walk ends), events,
//!   rescans, and the completion check that keeps half-copied files out.
//!
//! A photo enters only once it is complete: its size and modification time have stayed the
//! same for [`Options::settle`], no write was reported for that long, and a file the watcher
//! saw being written has been closed. Each change publishes a new [`Snapshot`] (an `Arc` of
//! the photos in natural name order, with a generation number) on a `watch` channel, so
//! readers take the newest one without locks or copies.

pub mod index;
pub mod walk;
mod watch;
mod worker;

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use tokio::sync::watch as channel;

use crate::escape::Escaped;
use crate::format::Format;
use crate::render::Limits;
pub use walk::{File, Found, PhotoId, Warning, natural_cmp, natural_cmp_paths, scan};

/// How the library finds and follows the photos.
#[derive(Debug, Clone)]
pub struct Options {
    /// Folders (or single files) to collect photos from, in the order given.
    pub roots: Vec<PathBuf>,
    /// Folders never to enter, such as an output folder that lies inside an input folder.
    pub exclude: Vec<PathBuf>,
    /// Follow changes through file-system notifications; without, only rescans find them.
    pub watch: bool,
    /// How often a folder that is not watched is walked again.
    pub rescan: Duration,
    /// How long a file must stay unchanged before it is taken as complete.
    pub settle: Duration,
    /// The index file; `None` keeps the index in memory only (nothing is written).
    pub index: Option<PathBuf>,
    /// What reading a header may take (a HEIF header is read through libheif, within the
    /// same file and picture sizes as rendering).
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            roots: Vec::new(),
            exclude: Vec::new(),
            watch: true,
            rescan: Duration::from_secs(60),
            settle: Duration::from_secs(1),
            index: None,
            limits: Limits::default(),
        }
    }
}

/// Why the library could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// None of the roots exists: there is nothing to follow.
    #[error("none of the photo folders can be read: {}", list(.0))]
    NoRoot(Vec<(PathBuf, String)>),
    /// The library's thread could not be started.
    #[error("cannot start the library thread: {0}")]
    Thread(std::io::Error),
}

fn list(roots: &[(PathBuf, String)]) -> String {
    let names: Vec<String> = roots
        .iter()
        .map(|(p, why)| format!("{} ({why})", Escaped::path(p)))
        .collect();
    names.join(", ")
}

/// What the header said about a photo (see [`crate::render::header::Header`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Info {
    /// The format, `None` when the header could not be read (rendering will say why).
    pub format: Option<Format>,
    /// Stored pixel size, when known.
    pub dimensions: Option<(u32, u32)>,
    /// Raw EXIF orientation.
    pub orientation: Option<u16>,
    /// Date taken in seconds since 1970: EXIF DateTimeOriginal, or the file's modification
    /// time when the photo has none.
    pub taken: i64,
    /// Whether `taken` came from EXIF.
    pub taken_exif: bool,
    /// Latitude and longitude, when the photo has them.
    pub gps: Option<(f64, f64)>,
}

/// One photo of the library.
#[derive(Debug, Clone)]
pub struct Photo {
    /// Stable identity; `id.path` is where to read the file.
    pub id: PhotoId,
    /// Index of the root (in [`Options::roots`]) the photo was found under.
    pub root: usize,
    /// Path relative to that root (for a root that is a file: its file name).
    pub relative: PathBuf,
    /// What its header says.
    pub info: Info,
    /// The album: the top-level folder of its root it is in, or the root's own name for
    /// photos directly in the root.
    pub album: Arc<str>,
    /// The snapshot generation that first held this photo (0: it was in the index at start),
    /// so a reader can tell which photos are new since it last looked.
    pub added: u64,
}

impl Photo {
    /// The path to read the photo from.
    pub fn path(&self) -> &Path {
        &self.id.path
    }

    /// Natural name order: by root, then by relative path.
    pub fn cmp_name(&self, root: usize, relative: &Path) -> Ordering {
        self.root
            .cmp(&root)
            .then_with(|| natural_cmp_paths(&self.relative, relative))
    }
}

/// An album and how many photos it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Album {
    /// Its name.
    pub name: Arc<str>,
    /// Photos in it.
    pub photos: usize,
}

/// The library at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every photo, in natural name order.
    pub photos: Vec<Arc<Photo>>,
    /// Counts up with every change.
    pub generation: u64,
    /// Albums by name, with their photo counts.
    pub albums: Vec<Album>,
    /// Whether the first walk of every root present has finished (until then, photos are
    /// still arriving).
    pub complete: bool,
}

impl Snapshot {
    /// The photo at `relative` under root `root`, if the library holds it.
    pub fn find(&self, root: usize, relative: &Path) -> Option<&Arc<Photo>> {
        self.photos
            .binary_search_by(|p| p.cmp_name(root, relative))
            .ok()
            .map(|i| &self.photos[i])
    }
}

/// How a root is followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Changes are reported by the file system.
    Watched,
    /// Changes are found by walking it again every [`Options::rescan`]; why.
    Polled(String),
    /// The folder does not exist (yet); it is looked for twice a second.
    Missing,
}

/// One root's state, for `/api/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootStatus {
    /// The root as given.
    pub path: PathBuf,
    /// How it is followed.
    pub mode: Mode,
}

/// What the library is doing, for `/api/status`.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Photos in the library.
    pub photos: usize,
    /// Photos by format (`None`: unreadable header), most common first.
    pub formats: Vec<(Option<Format>, usize)>,
    /// Each root and how it is followed.
    pub roots: Vec<RootStatus>,
    /// When the last full walk of a root finished.
    pub last_scan: Option<SystemTime>,
    /// Whether the first walk is still under way.
    pub scanning: bool,
    /// Files seen but not yet complete (being copied), up to 20 of them.
    pub pending: Vec<PathBuf>,
    /// How many files are pending in all.
    pub pending_count: usize,
    /// Headers read since start: one per new or changed file, none for a file the index
    /// already knows.
    pub headers_read: u64,
    /// The index file, `None` when the index is kept in memory.
    pub index: Option<PathBuf>,
    /// The rescan period of folders that are not watched.
    pub rescan: Duration,
}

/// Messages to the library thread.
enum Message {
    /// What the watcher reported.
    Events(notify_debouncer_full::DebounceEventResult),
    /// The watcher set up at start (on a thread of its own, so the first walk need not wait
    /// for it), or why there is none; and how each root fared.
    Watching(
        Result<watch::Watcher, String>,
        Vec<(usize, Result<(), String>)>,
    ),
    /// Finish and return.
    Stop,
}

/// State shared by the handle and the thread.
struct Shared {
    status: Mutex<Status>,
    /// Ends a walk under way at shutdown.
    stop: AtomicBool,
}

impl Shared {
    fn status(&self) -> MutexGuard<'_, Status> {
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running library: a thread that follows the disk, and the snapshots it publishes.
pub struct Library {
    snapshots: channel::Receiver<Arc<Snapshot>>,
    shared: Arc<Shared>,
    control: mpsc::Sender<Message>,
    thread: Mutex<Option<JoinHandle<()>>>,
    roots: Vec<PathBuf>,
}

impl Library {
    /// Loads the index, publishes what it holds and starts following the disk on a thread of
    /// its own. Blocking (it reads the index): call it off the async runtime.
    ///
    /// Roots that do not exist are warned about and looked for again twice a second; it is an
    /// error only when none exists.
    pub fn open(options: Options) -> Result<Library, Error> {
        let (control, inbox) = mpsc::channel();
        let shared = Arc::new(Shared {
            status: Mutex::new(Status::default()),
            stop: AtomicBool::new(false),
        });
        let roots = options.roots.clone();
        let (worker, snapshots) =
            worker::Worker::open(options, Arc::clone(&shared), control.clone(), inbox)?;
        let thread = std::thread::Builder::new()
            .name("library".into())
            .spawn(move || worker.run())
            .map_err(Error::Thread)?;
        Ok(Library {
            snapshots,
            shared,
            control,
            thread: Mutex::new(Some(thread)),
            roots,
        })
    }

    /// The newest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshots.borrow())
    }

    /// Follows the snapshots: the receiver is told of each new one.
    pub fn subscribe(&self) -> channel::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// The roots as given.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// What the library is doing.
    pub fn status(&self) -> Status {
        self.shared.status().clone()
    }

    /// Stops the thread and waits for it (its last index writes included). Blocking.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, AtomicOrdering::Relaxed);
        let _ = self.control.send(Message::Stop);
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        // Without waiting: the thread notices at its next step and finishes by itself.
        self.shared.stop.store(true, AtomicOrdering::Relaxed);
        let _ = self.control.send(Message::Stop);
    }
}
