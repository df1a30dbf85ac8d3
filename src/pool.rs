//! The worker pool: the one place CPU work runs, and the only bridge between it and async code.
//!
//! Decoding and encoding a photo takes tens of milliseconds of CPU. Run on a tokio worker it
//! would stall every connection that worker serves, so each job runs on a rayon pool of
//! `--threads` workers and its result comes back through a oneshot channel that async code
//! awaits. Nothing else in the server spawns CPU work.
//!
//! Two budgets keep one photo from taking the machine down with it:
//!
//! - **Memory.** A render first reads the photo and works out its peak memory from the
//!   headers ([`render::Prepared::memory`], the file's bytes included), then waits in line for
//!   that much of the shared [`Budget`] before decoding. Four threads on four 100 MP photos
//!   then hold one budget, not four photos' worth (plus the files of the ones waiting); a
//!   photo that needs more than the whole budget is refused with
//!   [`render::Error::OverBudget`]. The waiting happens on the rayon worker, never on a tokio
//!   thread.
//! - **Time.** The async side of [`Pool::render`] watches how long the job has been working
//!   (reading and rendering; time spent waiting for a worker or for memory is not the photo's
//!   fault and is not counted). Past [`Limits::timeout`] it returns
//!   [`render::Error::TimedOut`] at once and tells the job to stop, which it does at its next
//!   step, or within one read while the `image` crate decodes. A caller that stops waiting
//!   stops the job the same way.
//!
//! The pool also counts what it rendered and how long each render worked ([`RenderStats`]),
//! for `/metrics`: the working time, the same clock the time budget runs on.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::render::{self, FileError, Frame, Renderer, Spec};

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

/// The memory and time budgets of the renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes the renders under way may hold together (their estimated peaks).
    pub memory: u64,
    /// How long one render may work before it is abandoned.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 1 << 30,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A shared memory budget: bytes are taken before a render decodes and given back when it
/// ends. Waiters are served in arrival order, so a large photo is not passed over for ever by
/// smaller ones.
#[derive(Debug)]
pub struct Budget {
    total: u64,
    queue: Mutex<Queue>,
    changed: Condvar,
}

#[derive(Debug)]
struct Queue {
    available: u64,
    waiting: VecDeque<u64>,
    next_ticket: u64,
}

/// Bytes taken from a [`Budget`]; given back when dropped.
#[derive(Debug)]
pub struct Grant<'a> {
    budget: &'a Budget,
    bytes: u64,
}

/// Why [`Budget::take`] gave no bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// More than the whole budget was asked for.
    OverBudget,
    /// The caller gave up while waiting.
    Abandoned,
}

/// How often a waiter checks whether its caller gave up.
const POLL: Duration = Duration::from_millis(50);

impl Budget {
    /// A budget of `total` bytes.
    pub fn new(total: u64) -> Budget {
        Budget {
            total,
            queue: Mutex::new(Queue {
                available: total,
                waiting: VecDeque::new(),
                next_ticket: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// The whole budget.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes taken now.
    pub fn in_use(&self) -> u64 {
        self.total - self.lock().available
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes `bytes`, waiting (blocking this thread) until it is first in line and they are
    /// free. Gives up when `abandoned` says so, which is asked at least every 50 ms.
    pub fn take(&self, bytes: u64, abandoned: &dyn Fn() -> bool) -> Result<Grant<'_>, Refused> {
        if bytes > self.total {
            return Err(Refused::OverBudget);
        }
        let mut queue = self.lock();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.push_back(ticket);
        loop {
            if queue.waiting.front() == Some(&ticket) && queue.available >= bytes {
                queue.waiting.pop_front();
                queue.available -= bytes;
                // The next in line may fit in what is left.
                self.changed.notify_all();
                return Ok(Grant {
                    budget: self,
                    bytes,
                });
            }
            if abandoned() {
                queue.waiting.retain(|&t| t != ticket);
                self.changed.notify_all();
                return Err(Refused::Abandoned);
            }
            queue = self
                .changed
                .wait_timeout(queue, POLL)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for Grant<'_> {
    fn drop(&mut self) {
        self.budget.lock().available += self.bytes;
        self.budget.changed.notify_all();
    }
}

/// The work of one render making a `T`, given a `stop` function to ask and a `working`
/// callback.
type RenderJob<T> =
    Box<dyn FnOnce(&dyn Fn() -> bool, &dyn Fn(bool)) -> Result<T, render::Error> + Send>;

/// Where a render job is, as its async side sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a worker, or for memory: not counted against the time budget.
    Waiting,
    /// Reading or rendering since then.
    Working(Instant),
}

/// Tells a job its caller has gone when the awaiting future is dropped.
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Upper bounds (seconds) of the render-time buckets: from a small photo on a fast core to
/// the default time budget.
pub const RENDER_SECONDS_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// Counts of the photo renders the pool finished for a caller, and how long they worked:
/// plain atomics, updated once per render, read by `/metrics`. They only go up.
#[derive(Debug, Default)]
pub struct RenderStats {
    /// Renders per bucket of [`RENDER_SECONDS_BUCKETS`] (not cumulative); the last slot holds
    /// those slower than every bound.
    buckets: [AtomicU64; RENDER_SECONDS_BUCKETS.len() + 1],
    /// Working time of all renders, in microseconds.
    micros: AtomicU64,
    failures: AtomicU64,
}

/// What [`RenderStats`] held at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderCounts {
    /// Renders that worked at most each bound of [`RENDER_SECONDS_BUCKETS`], cumulative (as
    /// Prometheus buckets are); the renders of every bucket sum to [`RenderCounts::renders`].
    pub cumulative: [u64; RENDER_SECONDS_BUCKETS.len()],
    /// Renders finished, successful or not.
    pub renders: u64,
    /// Of those, the ones that failed (bad file, over a budget, a lost job).
    pub failures: u64,
    /// Their working time together, in seconds.
    pub seconds: f64,
}

impl RenderCounts {
    /// Each bucket's upper bound in seconds with its cumulative count.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        RENDER_SECONDS_BUCKETS
            .iter()
            .copied()
            .zip(self.cumulative.iter().copied())
    }
}

impl RenderStats {
    fn record(&self, working: Duration, failed: bool) {
        let secs = working.as_secs_f64();
        let bucket = RENDER_SECONDS_BUCKETS
            .iter()
            .position(|&bound| secs <= bound)
            .unwrap_or(RENDER_SECONDS_BUCKETS.len());
        // The failure is counted first: a reader sees at most as many failures as renders.
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        self.micros.fetch_add(
            u64::try_from(working.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now. Read bucket by bucket, so a render finishing meanwhile is either in
    /// every total or in none but its bucket; the totals are made from the buckets read.
    pub fn counts(&self) -> RenderCounts {
        let mut cumulative = [0; RENDER_SECONDS_BUCKETS.len()];
        let mut total = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            total += bucket.load(Ordering::Relaxed);
            if let Some(slot) = cumulative.get_mut(i) {
                *slot = total;
            }
        }
        RenderCounts {
            cumulative,
            renders: total,
            failures: self.failures.load(Ordering::Relaxed).min(total),
            seconds: self.micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// A handle to the worker pool; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    threads: Arc<rayon::ThreadPool>,
    renderer: Arc<Renderer>,
    budget: Arc<Budget>,
    limits: Limits,
    stats: Arc<RenderStats>,
}

impl Pool {
    /// Starts `threads` workers that render with `renderer`, with the default [`Limits`].
    pub fn new(threads: usize, renderer: Renderer) -> Result<Pool, Error> {
        Pool::with_limits(threads, renderer, Limits::default())
    }

    /// Starts `threads` workers that render with `renderer` within `limits`.
    pub fn with_limits(threads: usize, renderer: Renderer, limits: Limits) -> Result<Pool, Error> {
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
            budget: Arc::new(Budget::new(limits.memory)),
            limits,
            stats: Arc::default(),
        })
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads.current_num_threads()
    }

    /// The memory and time budgets.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The bounds on input files.
    pub fn file_limits(&self) -> &render::Limits {
        self.renderer.limits()
    }

    /// Renders finished so far and their times.
    pub fn render_counts(&self) -> RenderCounts {
        self.stats.counts()
    }

    /// What the frames look like.
    pub fn spec(&self) -> &Spec {
        self.renderer.spec()
    }

    /// The shared decode memory budget.
    pub fn budget(&self) -> &Budget {
        &self.budget
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

    /// Reads and renders the photo at `path` on a worker, within the memory and time
    /// budgets.
    pub async fn render(&self, path: PathBuf) -> Result<render::Rendered, RenderFailure> {
        self.render_as(path, *self.spec()).await
    }

    /// Like [`Pool::render`], into frames of `spec` instead of the pool's own (another
    /// rendition of the same timeline), with the same input limits and budgets.
    pub async fn render_as(
        &self,
        path: PathBuf,
        spec: Spec,
    ) -> Result<render::Rendered, RenderFailure> {
        let renderer = self.renderer_for(spec);
        let budget = Arc::clone(&self.budget);
        let job_path = path.clone();
        self.counted(
            path,
            Box::new(move |stop, working| {
                render_within(&renderer, &budget, &job_path, stop, working)
            }),
        )
        .await
    }

    /// Runs the render `job` of the photo at `path` as [`Pool::watched`] does, and counts it.
    async fn counted<T: Send + 'static>(
        &self,
        path: PathBuf,
        job: RenderJob<T>,
    ) -> Result<T, RenderFailure> {
        let (result, working) = self.watched(path, job).await;
        self.stats.record(working, result.is_err());
        result
    }

    /// Runs the render `job` of the photo at `path` on a worker and waits for it within the
    /// time budget. The job is given a `stop` function to ask, and reports with
    /// `working(false)` / `working(true)` when it starts and stops waiting for something
    /// that is not its fault (memory). Returns the outcome and how long the job worked.
    async fn watched<T: Send + 'static>(
        &self,
        path: PathBuf,
        job: RenderJob<T>,
    ) -> (Result<T, RenderFailure>, Duration) {
        let timeout = self.limits.timeout;
        let abandoned = Arc::new(AtomicBool::new(false));
        let _abandon_on_drop = AbandonOnDrop(Arc::clone(&abandoned));
        let (phase_tx, mut phase) = watch::channel(Phase::Waiting);
        let job = {
            let abandoned = Arc::clone(&abandoned);
            let path = path.clone();
            move || {
                let stop = || abandoned.load(Ordering::Relaxed);
                if stop() {
                    // Nobody waits for it any more: not even started.
                    return Err(FileError {
                        path,
                        source: render::Error::Stopped,
                    });
                }
                phase_tx.send_replace(Phase::Working(Instant::now()));
                job(&stop, &|working| {
                    phase_tx.send_replace(if working {
                        Phase::Working(Instant::now())
                    } else {
                        Phase::Waiting
                    });
                })
                .map_err(|source| FileError { path, source })
            }
        };
        let mut result = std::pin::pin!(self.run(job));
        let mut spent = Duration::ZERO;
        loop {
            let now = *phase.borrow_and_update();
            let deadline = match now {
                Phase::Working(since) => Some(since + timeout.saturating_sub(spent)),
                Phase::Waiting => None,
            };
            let working = |spent: Duration| match now {
                Phase::Working(since) => spent + since.elapsed(),
                Phase::Waiting => spent,
            };
            tokio::select! {
                outcome = &mut result => return (outcome_of(outcome), working(spent)),
                changed = phase.changed() => {
                    spent = working(spent);
                    if changed.is_err() {
                        // The job has finished and dropped its end: its result is on the way.
                        return (outcome_of(result.await), spent);
                    }
                }
                () = sleep_until(deadline) => {
                    abandoned.store(true, Ordering::Relaxed);
                    let failure = RenderFailure::Render(Arc::new(FileError {
                        path,
                        source: render::Error::TimedOut { limit: timeout },
                    }));
                    return (Err(failure), working(spent));
                }
            }
        }
    }

    /// Renders the frame of `first` and `second` side by side in frames of `spec` (a
    /// [`Fit::Pair`](render::Fit::Pair) spec), or of `first` alone when the two do not pair
    /// ([`Renderer::render_pair`]): on a worker, both photos within the memory and time
    /// budgets together. An error is about `first`; a `second` that cannot be read or
    /// rendered leaves `first` alone.
    pub async fn render_pair_as(
        &self,
        first: PathBuf,
        second: PathBuf,
        spec: Spec,
    ) -> Result<render::Paired, RenderFailure> {
        let renderer = self.renderer_for(spec);
        let budget = Arc::clone(&self.budget);
        let job_path = first.clone();
        self.counted(
            first,
            Box::new(move |stop, working| {
                pair_within(&renderer, &budget, (&job_path, &second), stop, working)
            }),
        )
        .await
    }

    /// The renderer for frames of `spec`: the pool's own, or one like it of another spec.
    fn renderer_for(&self, spec: Spec) -> Arc<Renderer> {
        if spec == *self.spec() {
            Arc::clone(&self.renderer)
        } else {
            Arc::new(Renderer::new(spec, *self.renderer.limits()))
        }
    }

    /// Renders a placeholder frame that shows `lines` of text, on a worker.
    pub async fn placeholder(&self, lines: Vec<String>) -> Result<Frame, RenderFailure> {
        self.placeholder_as(lines, *self.spec()).await
    }

    /// Like [`Pool::placeholder`], in frames of `spec`.
    pub async fn placeholder_as(
        &self,
        lines: Vec<String>,
        spec: Spec,
    ) -> Result<Frame, RenderFailure> {
        let renderer = self.renderer_for(spec);
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

/// Waits until `deadline`, or for ever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn outcome_of<T>(outcome: Result<Result<T, FileError>, Error>) -> Result<T, RenderFailure> {
    match outcome {
        Ok(Ok(rendered)) => Ok(rendered),
        Ok(Err(e)) => Err(RenderFailure::Render(Arc::new(e))),
        Err(e) => Err(RenderFailure::Pool(Arc::new(e))),
    }
}

/// Reads the photo at `path`, takes the memory its render needs from `budget` (waiting for
/// it), and renders it; blocking, for a worker thread. `working(false)` is called when it
/// starts waiting for memory and `working(true)` when it goes on.
fn render_within(
    renderer: &Renderer,
    budget: &Budget,
    path: &std::path::Path,
    stop: &dyn Fn() -> bool,
    working: &dyn Fn(bool),
) -> Result<render::Rendered, render::Error> {
    let bytes = renderer.read(path)?;
    let prepared = renderer.prepare(&bytes)?;
    let need = prepared.memory();
    working(false);
    let grant = take(budget, need, stop)?;
    working(true);
    let rendered = prepared.render(stop);
    drop(grant);
    rendered
}

/// Takes `need` bytes of `budget` for a render, as the render's error when it cannot.
fn take<'a>(
    budget: &'a Budget,
    need: u64,
    stop: &dyn Fn() -> bool,
) -> Result<Grant<'a>, render::Error> {
    budget.take(need, stop).map_err(|refused| match refused {
        Refused::OverBudget => render::Error::OverBudget {
            need,
            budget: budget.total(),
        },
        Refused::Abandoned => render::Error::Stopped,
    })
}

/// [`render_within`] for a pair: both photos are read and checked first, and the memory of both
/// renders is taken at once (taking one grant while holding another could deadlock two
/// pairs). A second photo that cannot be read, or whose memory would not fit in the budget
/// next to the first's, is left out: the first is shown alone, as it would be anyway.
fn pair_within(
    renderer: &Renderer,
    budget: &Budget,
    (first, second): (&std::path::Path, &std::path::Path),
    stop: &dyn Fn() -> bool,
    working: &dyn Fn(bool),
) -> Result<render::Paired, render::Error> {
    let first_bytes = renderer.read(first)?;
    let prepared = renderer.prepare(&first_bytes)?;
    // A second photo left out is not kept in memory either (its bytes are counted only with it).
    let fits = |bytes: &Vec<u8>| {
        renderer
            .prepare(bytes)
            .is_ok_and(|p| p.memory().saturating_add(prepared.memory()) <= budget.total())
    };
    let second_bytes = renderer.read(second).ok().filter(fits);
    let partner = second_bytes
        .as_deref()
        .and_then(|bytes| renderer.prepare(bytes).ok());
    let need = prepared.memory() + partner.as_ref().map_or(0, |p| p.memory());
    working(false);
    let grant = take(budget, need, stop)?;
    working(true);
    let paired = prepared.render_pair(partner, stop);
    drop(grant);
    paired
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

    #[test]
    fn the_budget_serves_in_arrival_order_and_refuses_the_impossible() {
        let budget = Arc::new(Budget::new(100));
        let never = || false;
        assert_eq!(
            budget.take(101, &never).map(|_| ()),
            Err(Refused::OverBudget)
        );
        let first = budget.take(70, &never).expect("fits");
        assert_eq!(budget.in_use(), 70);
        // A large request waits; a small one that arrives after it waits behind it.
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |bytes: u64, name: &'static str| {
            let (budget, order) = (Arc::clone(&budget), Arc::clone(&order));
            std::thread::spawn(move || {
                let grant = budget.take(bytes, &|| false).expect("granted");
                order.lock().expect("lock").push(name);
                std::thread::sleep(Duration::from_millis(20));
                drop(grant);
            })
        };
        let large = spawn(80, "large");
        wait_for(|| budget.lock().waiting.len() == 1);
        let small = spawn(10, "small");
        wait_for(|| budget.lock().waiting.len() == 2);
        assert!(order.lock().expect("lock").is_empty(), "both wait");
        drop(first);
        large.join().expect("large");
        small.join().expect("small");
        assert_eq!(*order.lock().expect("lock"), ["large", "small"]);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_waiter_that_gives_up_leaves_the_line() {
        let budget = Budget::new(10);
        let held = budget.take(10, &|| false).expect("fits");
        let started = Instant::now();
        let gave_up = budget.take(5, &|| started.elapsed() > Duration::from_millis(100));
        assert_eq!(gave_up.map(|_| ()), Err(Refused::Abandoned));
        assert!(budget.lock().waiting.is_empty());
        drop(held);
        assert!(budget.take(10, &|| false).is_ok());
    }

    fn pool_with_timeout(timeout: Duration) -> Pool {
        let limits = Limits {
            timeout,
            ..Limits::default()
        };
        Pool::with_limits(2, Renderer::default(), limits).expect("pool")
    }

    /// A job that works until it is told to stop (or until 30 s pass, so a broken test
    /// cannot hang), and says whether it was told.
    fn stubborn(stopped: Arc<AtomicBool>) -> RenderJob<render::Rendered> {
        Box::new(move |stop, _working| {
            let started = Instant::now();
            while !stop() && started.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(2));
            }
            stopped.store(stop(), Ordering::Relaxed);
            Err(render::Error::Stopped)
        })
    }

    #[tokio::test]
    async fn a_render_that_takes_too_long_is_abandoned_and_told_to_stop() {
        let pool = pool_with_timeout(Duration::from_millis(200));
        let stopped = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let (result, working) = pool
            .watched(PathBuf::from("slow.jpg"), stubborn(Arc::clone(&stopped)))
            .await;
        let waited = started.elapsed();
        assert!(working >= Duration::from_millis(200), "{working:?}");
        match result {
            Err(RenderFailure::Render(e)) => {
                assert!(matches!(e.source, render::Error::TimedOut { .. }), "{e}");
                assert!(
                    e.to_string().contains("slow.jpg: took longer than 0.200 s"),
                    "{e}"
                );
            }
            other => panic!("{:?}", other.map(|r| r.format)),
        }
        // Never before the budget; on a loaded machine the timer may fire a little late.
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        wait_for(|| stopped.load(Ordering::Relaxed));
        // The worker is free again.
        assert_eq!(pool.run(|| 6 * 7).await.expect("runs"), 42);
    }

    #[tokio::test]
    async fn waiting_for_memory_is_not_counted_against_the_time_budget() {
        let pool = pool_with_timeout(Duration::from_millis(300));
        let (result, working) = pool
            .watched(
                PathBuf::from("patient.jpg"),
                Box::new(|stop, working| {
                    working(false);
                    std::thread::sleep(Duration::from_millis(900));
                    working(true);
                    assert!(!stop(), "stopped while waiting");
                    Err(render::Error::Internal("done".into()))
                }),
            )
            .await;
        match result {
            Err(RenderFailure::Render(e)) => {
                assert!(matches!(e.source, render::Error::Internal(_)), "{e}")
            }
            other => panic!("{:?}", other.map(|r: render::Rendered| r.format)),
        }
        // The 900 ms spent waiting for memory are not the render's time.
        assert!(working < Duration::from_millis(900), "{working:?}");
    }

    #[tokio::test]
    async fn a_caller_that_leaves_stops_its_job() {
        let pool = pool_with_timeout(Duration::from_secs(60));
        let stopped = Arc::new(AtomicBool::new(false));
        let waiting = pool.watched(PathBuf::from("left.jpg"), stubborn(Arc::clone(&stopped)));
        // Give up on it after a moment, as a client that disconnects does.
        let gave_up = tokio::time::timeout(Duration::from_millis(100), waiting).await;
        assert!(gave_up.is_err());
        wait_for(|| stopped.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn a_photo_larger_than_the_whole_budget_is_refused_saying_how_to_raise_it() {
        let limits = Limits {
            memory: 1 << 20,
            ..Limits::default()
        };
        let pool = Pool::with_limits(1, Renderer::default(), limits).expect("pool");
        let photo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/exif-orientation/Landscape_1.jpg");
        match pool.render(photo).await {
            Err(RenderFailure::Render(e)) => {
                assert!(matches!(e.source, render::Error::OverBudget { .. }), "{e}");
                assert!(e.to_string().contains("--decode-memory"), "{e}");
            }
            other => panic!("{:?}", other.map(|r| r.format)),
        }
        assert_eq!(pool.budget().in_use(), 0);
        let counts = pool.render_counts();
        assert_eq!((counts.renders, counts.failures), (1, 1), "{counts:?}");
    }

    #[tokio::test]
    async fn renders_are_counted_with_their_working_time() {
        let pool = Pool::new(1, Renderer::default()).expect("pool");
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let started = Instant::now();
        for name in ["Landscape_1.jpg", "Landscape_6.jpg"] {
            pool.render(fixtures.join("exif-orientation").join(name))
                .await
                .expect("renders");
        }
        let elapsed = started.elapsed().as_secs_f64();
        pool.render(fixtures.join("edge/empty.jpg"))
            .await
            .expect_err("an empty file fails");
        let counts = pool.render_counts();
        assert_eq!((counts.renders, counts.failures), (3, 1), "{counts:?}");
        assert!(
            counts.seconds > 0.0 && counts.seconds <= elapsed + 1.0,
            "{counts:?}"
        );
        assert!(
            counts.cumulative.windows(2).all(|w| w[0] <= w[1]),
            "{counts:?}"
        );
        assert_eq!(
            counts.cumulative.last(),
            Some(&3),
            "all within 60 s: {counts:?}"
        );
    }

    #[test]
    fn a_render_falls_in_the_first_bucket_that_holds_it() {
        let stats = RenderStats::default();
        stats.record(Duration::from_millis(5), false);
        stats.record(Duration::from_millis(7), true);
        stats.record(Duration::from_secs(120), true);
        let counts = stats.counts();
        assert_eq!(&counts.cumulative[..3], &[1, 2, 2]);
        assert_eq!(counts.cumulative[RENDER_SECONDS_BUCKETS.len() - 1], 2);
        assert_eq!((counts.renders, counts.failures), (3, 2));
        assert!((counts.seconds - 120.012).abs() < 1e-6, "{counts:?}");
    }

    /// Polls `done` until it holds, for at most 10 s.
    fn wait_for(done: impl Fn() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < Duration::from_secs(10), "timed out");
            std::thread::sleep(Duration::from_millis(5));
        }
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
