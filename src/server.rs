//! The server, wired: library → worker pool → frame cache → schedule → HTTP.
//!
//! The one place that knows every stage, so the command line and the tests start exactly the
//! same server: the command binds the configured address and turns signals into cancellation,
//! the tests bind a random loopback port and cancel when they are done.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cache::{self, Cache};
use crate::http;
use crate::library::{self, Library};
use crate::pool::{self, Pool};
use crate::render::{Limits, Renderer, Spec};
use crate::schedule::{Playback, Resume, Schedule, Timing, rendition};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The library could not start (no photo folder exists).
    #[error(transparent)]
    Library(#[from] library::Error),
    /// The worker pool could not start.
    #[error(transparent)]
    Pool(#[from] pool::Error),
    /// The listener has no address.
    #[error("cannot read the listening address: {0}")]
    Listener(std::io::Error),
    /// Opening the library stopped unexpectedly.
    #[error("the library stopped unexpectedly while opening")]
    Open,
}

/// Everything the server needs, composed from each stage's own options.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Where the photos are and how they are followed.
    pub library: library::Options,
    /// What is played, in which order.
    pub playback: Playback,
    /// What the frames look like.
    pub spec: Spec,
    /// Bounds on input files.
    pub limits: Limits,
    /// Worker threads for rendering.
    pub threads: usize,
    /// Memory and time budgets of the renders.
    pub pool: pool::Limits,
    /// Frame cache bound.
    pub cache: cache::Limits,
    /// Where rendered frames are kept across restarts, and how much of them; `None` keeps
    /// them in memory only.
    pub disk_cache: Option<cache::disk::Options>,
    /// Timeline pacing.
    pub timing: Timing,
    /// How many streams (a channel in a frame format) at once, and for how long an unused
    /// one (rendition or channel) is kept.
    pub renditions: rendition::Limits,
    /// HTTP options.
    pub http: http::Options,
}

/// A started server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Photos known at start (from the index; more arrive as the folders are walked).
    pub photos: usize,
    /// The library, for the photos found so far.
    pub library: Arc<Library>,
    /// The timeline, for what has been shown and what failed so far.
    pub schedule: Arc<Schedule>,
    /// Finishes when the server has shut down after cancellation.
    pub done: JoinHandle<()>,
}

/// Opens the library, starts every stage and serves on `listener` until `cancel` fires.
pub async fn start(
    listener: TcpListener,
    settings: Settings,
    cancel: CancellationToken,
) -> Result<Running, Error> {
    let addr = listener.local_addr().map_err(Error::Listener)?;
    // Opening reads the index (file-system work): keep it off the async workers. The library
    // then follows the disk on its own thread; nothing here waits for a walk.
    let options = settings.library.clone();
    let library = tokio::task::spawn_blocking(move || Library::open(options))
        .await
        .map_err(|_| Error::Open)??;
    let library = Arc::new(library);
    let photos = library.snapshot().photos.len();
    tracing::info!(photos, "photos known from the index");
    let resume = match settings.playback.resume.clone() {
        Some(path) => tokio::task::spawn_blocking(move || Resume::load(&path))
            .await
            .ok()
            .flatten(),
        None => None,
    };

    let threads = settings.threads.max(1);
    let renderer = Renderer::new(settings.spec, settings.limits);
    let pool = Pool::with_limits(threads, renderer, settings.pool)?;
    // Scanning the cache folder is file-system work too.
    let disk = match settings.disk_cache {
        Some(options) => tokio::task::spawn_blocking(move || cache::disk::Store::open(options))
            .await
            .ok(),
        None => None,
    };
    let cache = Arc::new(Cache::with_disk(pool, settings.cache, disk));
    let schedule = Schedule::new(
        Arc::clone(&library),
        Arc::clone(&cache),
        settings.timing,
        settings.playback,
        resume,
        settings.renditions,
    );
    let state = http::State::new(Arc::clone(&schedule), cache, settings.http, cancel.clone());
    let timeline = tokio::spawn(Arc::clone(&schedule).run(cancel.clone()));
    let routes = http::routes(Arc::clone(&state));
    let shown = Arc::clone(&library);
    let done = tokio::spawn(async move {
        http::serve(listener, state, routes).await;
        let _ = timeline.await;
        // The library's last index writes finish before the server counts as stopped.
        let _ = tokio::task::spawn_blocking(move || library.shutdown()).await;
    });
    Ok(Running {
        addr,
        photos,
        library: shown,
        schedule,
        done,
    })
}
