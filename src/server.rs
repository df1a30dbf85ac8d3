//! The server, wired: discovery → worker pool → frame cache → schedule → HTTP.
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
use crate::discover;
use crate::escape::Escaped;
use crate::http;
use crate::pool::{self, Pool};
use crate::render::{Limits, Renderer, Spec};
use crate::schedule::{Schedule, Timing};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A photo folder could not be read.
    #[error(transparent)]
    Discover(#[from] discover::Error),
    /// The worker pool could not start.
    #[error(transparent)]
    Pool(#[from] pool::Error),
    /// The listener has no address.
    #[error("cannot read the listening address: {0}")]
    Listener(std::io::Error),
    /// The folder walk did not finish.
    #[error("the folder walk stopped unexpectedly")]
    Walk,
}

/// Everything the server needs, composed from each stage's own options.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// What to walk.
    pub discover: discover::Options,
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
    /// Timeline pacing.
    pub timing: Timing,
    /// HTTP options.
    pub http: http::Options,
}

/// A started server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Photos found.
    pub photos: usize,
    /// Files and folders the walk had to skip (each logged as a warning).
    pub skipped: usize,
    /// The timeline, for what has been shown and what failed so far.
    pub schedule: Arc<Schedule>,
    /// Finishes when the server has shut down after cancellation.
    pub done: JoinHandle<()>,
}

/// Walks the folders, starts every stage and serves on `listener` until `cancel` fires.
pub async fn start(
    listener: TcpListener,
    settings: Settings,
    cancel: CancellationToken,
) -> Result<Running, Error> {
    let addr = listener.local_addr().map_err(Error::Listener)?;
    // Walking folders is blocking file-system work: keep it off the async workers.
    let options = settings.discover.clone();
    let found = tokio::task::spawn_blocking(move || discover::discover(&options))
        .await
        .map_err(|_| Error::Walk)??;
    for warning in &found.warnings {
        tracing::warn!(path = %Escaped::path(&warning.path), "skipped during the walk: {}", warning.reason);
    }
    let photos = found.photos.len();
    let skipped = found.warnings.len();
    tracing::info!(photos, "photos found");

    let threads = settings.threads.max(1);
    let renderer = Renderer::new(settings.spec, settings.limits);
    let pool = Pool::with_limits(threads, renderer, settings.pool)?;
    let cache = Arc::new(Cache::new(pool, settings.cache));
    let schedule = Schedule::new(
        found.photos,
        settings.discover.roots.clone(),
        Arc::clone(&cache),
        settings.timing,
    );
    let state = http::State::new(Arc::clone(&schedule), cache, settings.http, cancel.clone());
    let timeline = tokio::spawn(Arc::clone(&schedule).run(cancel.clone()));
    let routes = http::routes(Arc::clone(&state));
    let done = tokio::spawn(async move {
        http::serve(listener, state, routes).await;
        let _ = timeline.await;
    });
    Ok(Running {
        addr,
        photos,
        skipped,
        schedule,
        done,
    })
}
