//! The worker pool: the one place CPU work runs, and the only bridge between it and async code.
//!
//! Decoding and encoding a photo takes tens of milliseconds of CPU. Run on a tokio worker it
//! would stall every connection that worker serves, so each job runs on a rayon pool of
//! `--threads` workers and its result comes back through a oneshot channel that async code
//! awaits. Nothing else in the server spawns CPU work.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::render::{self, Frame, Renderer, Spec};

/// Why the pool could not run a job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The worker threads could not be started.
    #[error("cannot start {threads} worker threads: {source}")]
    Start {
        /// Threads asked for.
        threads: usize,
        /// What rayon said.
        source: rayon::ThreadPoolBuildError,
    },
    /// A job panicked (a bug); the pool itself keeps running.
    #[error("a render job stopped unexpectedly")]
    JobLost,
}

/// A handle to the worker pool; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    threads: Arc<rayon::ThreadPool>,
    renderer: Arc<Renderer>,
}

impl Pool {
    /// Starts `threads` workers that render with `renderer`.
    pub fn new(threads: usize, renderer: Renderer) -> Result<Pool, Error> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("render-{i}"))
            // Without a handler rayon aborts the process when a job panics; with it the job's
            // channel is dropped and its caller gets `JobLost`, and the server goes on.
            .panic_handler(|_| tracing::error!("a render job panicked"))
            .build()
            .map_err(|source| Error::Start { threads, source })?;
        Ok(Pool {
            threads: Arc::new(pool),
            renderer: Arc::new(renderer),
        })
    }

    /// What the frames look like.
    pub fn spec(&self) -> &Spec {
        self.renderer.spec()
    }

    /// Runs `job` on a worker and waits for its result without blocking the async runtime.
    pub async fn run<T, F>(&self, job: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.threads.spawn(move || {
            // The receiver may be gone (the client left); the work is simply dropped then.
            let _ = tx.send(job());
        });
        rx.await.map_err(|_| Error::JobLost)
    }

    /// Reads and renders the photo at `path` on a worker.
    pub async fn render(&self, path: PathBuf) -> Result<render::Rendered, RenderFailure> {
        let renderer = Arc::clone(&self.renderer);
        match self.run(move || renderer.render_file(&path)).await {
            Ok(Ok(rendered)) => Ok(rendered),
            Ok(Err(e)) => Err(RenderFailure::Render(Arc::new(e))),
            Err(e) => Err(RenderFailure::Pool(Arc::new(e))),
        }
    }

    /// Renders a placeholder frame that shows `lines` of text, on a worker.
    pub async fn placeholder(&self, lines: Vec<String>) -> Result<Frame, RenderFailure> {
        let renderer = Arc::clone(&self.renderer);
        match self
            .run(move || render::placeholder(renderer.spec(), &lines))
            .await
        {
            Ok(Ok(frame)) => Ok(frame),
            Ok(Err(e)) => Err(RenderFailure::Placeholder(Arc::new(e))),
            Err(e) => Err(RenderFailure::Pool(Arc::new(e))),
        }
    }
}

/// Why a frame could not be made; cheap to clone, so one failure can be handed to every
/// caller that waited for the same frame.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RenderFailure {
    /// The photo could not be rendered (names the file).
    #[error(transparent)]
    Render(Arc<render::FileError>),
    /// The placeholder could not be rendered.
    #[error("placeholder frame: {0}")]
    Placeholder(Arc<render::Error>),
    /// The job never finished.
    #[error(transparent)]
    Pool(Arc<Error>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_off_the_async_runtime() {
        let pool = Pool::new(2, Renderer::default()).expect("pool");
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .expect("runs");
        assert!(name.is_some_and(|n| n.starts_with("render-")));
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_hang() {
        let pool = Pool::new(1, Renderer::default()).expect("pool");
        let result: Result<(), _> = pool.run(|| panic!("boom")).await;
        assert!(matches!(result, Err(Error::JobLost)));
        // The pool still works afterwards.
        assert_eq!(pool.run(|| 2 + 2).await.expect("runs"), 4);
    }
}
