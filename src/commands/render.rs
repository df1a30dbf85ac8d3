//! `framecast render`: the whole library rendered once, into a folder of frames.
//!
//! Useful on its own (pre-rendering a library for a device that only plays files, checking how
//! a library will look) and the simplest complete user of the pipeline. Photos are rendered
//! through the same worker pool as `serve`, with the same budgets: `--threads` workers, the
//! decode memory budget (a photo waits until its memory is free, so peak memory does not grow
//! with the thread count) and the per-photo time budget. A few more photos than threads are
//! in flight, so workers never wait for the next job. One bad file is listed with its reason
//! and the rest go on.
//!
//! With `--fit pair`, neighbouring portraits (in the walk's order, skipping files that cannot
//! be rendered) share one frame, written under the first one's name; the second gets no frame
//! of its own and the summary lists each pair. Whether a photo is a portrait is known once it
//! is decoded, so in that mode photos are decoded a batch at a time (two per thread, in
//! parallel), paired in order, then composed and written in parallel; a portrait left at the
//! end of a batch waits for the first photo of the next. This mode runs on its own rayon pool
//! of `--threads` workers: the batch, not the memory budget, bounds what it holds.

use std::collections::HashMap;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use framecast::discover::{self, Photo};
use framecast::escape::Escaped;
use framecast::pool::{Pool, RenderFailure};
use framecast::render::{Fit, Picture, Renderer, Warning, fit};

use crate::config::RenderConfig;

/// What happened to one photo.
enum Outcome {
    Rendered(Vec<Warning>),
    /// Shown on the frame of the photo of this job, as the second of a pair.
    Paired(usize, Vec<Warning>),
    Skipped(String),
}

/// One unit of work: a photo, where its frame goes, and how to name it in messages.
struct Job {
    photo: Photo,
    dest: PathBuf,
    shown: PathBuf,
}

/// Runs the command; an `Err` is a usage or set-up problem (exit status 2).
pub fn run(config: RenderConfig) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let found = discover::discover(&config.discover)?;
    for warning in &found.warnings {
        tracing::warn!(path = %Escaped::path(&warning.path), "skipped during the walk: {}", warning.reason);
    }
    fs::create_dir_all(&config.out).with_context(|| {
        format!(
            "cannot create the output folder {}",
            Escaped::path(&config.out)
        )
    })?;
    let jobs = plan(&config.discover.roots, &config.out, found.photos);

    let renderer = Renderer::new(config.spec, config.limits);
    let progress = progress_bar(jobs.len() as u64);
    let outcomes = if config.spec.fit == Fit::Pair {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .thread_name(|i| format!("render-{i}"))
            .build()
            .context("cannot start the worker threads")?;
        pool.install(|| render_pairs(&renderer, &jobs, config.threads * 2, &progress))
    } else {
        let pool = Pool::with_limits(config.threads, renderer, config.pool)
            .context("cannot start the worker threads")?;
        // The pool's async side (waiting for results, the time budget) needs a runtime; one
        // thread is plenty, since all the work happens on the pool.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(render_all(&pool, &jobs, config.threads, &progress))
    };
    progress.finish_and_clear();

    let summary = Summary::new(&jobs, &outcomes, started.elapsed(), &config.out);
    let mut stdout = io::stdout().lock();
    summary
        .print(&mut stdout)
        .context("cannot write the summary")?;
    Ok(if summary.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Renders every job, a few more at a time than there are threads; outcomes in job order.
async fn render_all(
    pool: &Pool,
    jobs: &[Job],
    threads: usize,
    progress: &ProgressBar,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = jobs.iter().map(|_| None).collect();
    let mut done = stream::iter(jobs.iter().enumerate())
        .map(|(index, job)| async move { (index, render_one(pool, job).await) })
        .buffer_unordered(threads.saturating_mul(2).max(2));
    while let Some((index, outcome)) = done.next().await {
        progress.inc(1);
        outcomes[index] = Some(outcome);
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Skipped("never rendered".into())))
        .collect()
}

async fn render_one(pool: &Pool, job: &Job) -> Outcome {
    let rendered = match pool.render(job.photo.path().to_path_buf()).await {
        Ok(rendered) => rendered,
        Err(RenderFailure::Render(e)) => {
            tracing::debug!(path = %Escaped::path(&job.shown), "skipped: {}", e.source);
            return Outcome::Skipped(e.source.to_string());
        }
        Err(other) => return Outcome::Skipped(other.to_string()),
    };
    // Writing is blocking I/O: it goes to the pool too.
    let (dest, jpeg) = (job.dest.clone(), rendered.frame.jpeg.clone());
    match pool.run(move || write_atomically(&dest, &jpeg)).await {
        Ok(Ok(())) => Outcome::Rendered(rendered.warnings),
        Ok(Err(e)) => Outcome::Skipped(format!("cannot write {}: {e}", Escaped::path(&job.dest))),
        Err(e) => Outcome::Skipped(e.to_string()),
    }
}

/// What one frame of `--fit pair` shows: a photo alone, or two side by side (job indices).
enum Unit {
    Alone(usize, Picture),
    Pair(usize, Picture, usize, Picture),
}

/// `--fit pair`: see the module documentation. Returns one outcome per job, in order.
fn render_pairs(
    renderer: &Renderer,
    jobs: &[Job],
    batch: usize,
    progress: &ProgressBar,
) -> Vec<Outcome> {
    let frame = renderer.spec().size;
    let mut outcomes: Vec<Option<Outcome>> = jobs.iter().map(|_| None).collect();
    let mut waiting: Option<(usize, Picture)> = None;
    let mut start = 0;
    while start < jobs.len() {
        let end = (start + batch.max(2)).min(jobs.len());
        let decoded: Vec<_> = (start..end)
            .into_par_iter()
            .map(|i| (i, renderer.picture_file(jobs[i].photo.path())))
            .collect();
        let mut units = Vec::new();
        for (i, picture) in decoded {
            let picture = match picture {
                Ok(picture) => picture,
                Err(e) => {
                    tracing::debug!(path = %Escaped::path(&jobs[i].shown), "skipped: {}", e.source);
                    outcomes[i] = Some(Outcome::Skipped(e.source.to_string()));
                    progress.inc(1);
                    continue;
                }
            };
            if let Some((j, first)) = waiting.take() {
                if renderer.pairs(&first, &picture) {
                    units.push(Unit::Pair(j, first, i, picture));
                    continue;
                }
                units.push(Unit::Alone(j, first));
            }
            if fit::pairable(frame, picture.source.size) {
                waiting = Some((i, picture));
            } else {
                units.push(Unit::Alone(i, picture));
            }
        }
        let done: Vec<(usize, Outcome)> = units
            .into_par_iter()
            .flat_map_iter(|unit| {
                let done = compose_one(renderer, jobs, unit);
                progress.inc(done.len() as u64);
                done
            })
            .collect();
        for (i, outcome) in done {
            outcomes[i] = Some(outcome);
        }
        start = end;
    }
    if let Some((i, last)) = waiting {
        for (i, outcome) in compose_one(renderer, jobs, Unit::Alone(i, last)) {
            outcomes[i] = Some(outcome);
        }
        progress.inc(1);
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Skipped("not rendered (a bug)".into())))
        .collect()
}

/// Composes, encodes and writes the frame of one unit; the outcome of each photo on it.
fn compose_one(renderer: &Renderer, jobs: &[Job], unit: Unit) -> Vec<(usize, Outcome)> {
    let (first, warnings, frame, second) = match unit {
        Unit::Alone(i, picture) => {
            let frame = renderer.frame(&picture);
            (i, picture.source.warnings, frame, None)
        }
        Unit::Pair(i, a, j, b) => {
            let frame = match renderer.pair_frame(&a, &b) {
                Ok(Some(frame)) => Ok(frame),
                // `pairs` said yes when the unit was made, so this is not expected; each is
                // then shown alone rather than lost.
                Ok(None) => {
                    let mut done = compose_one(renderer, jobs, Unit::Alone(i, a));
                    done.extend(compose_one(renderer, jobs, Unit::Alone(j, b)));
                    return done;
                }
                Err(e) => Err(e),
            };
            (i, a.source.warnings, frame, Some((j, b.source.warnings)))
        }
    };
    let dest = &jobs[first].dest;
    let written = frame.map_err(|e| e.to_string()).and_then(|frame| {
        write_atomically(dest, &frame.jpeg)
            .map_err(|e| format!("cannot write {}: {e}", Escaped::path(dest)))
    });
    let outcome = |warnings| match &written {
        Ok(()) => Outcome::Rendered(warnings),
        Err(reason) => Outcome::Skipped(reason.clone()),
    };
    let mut done = vec![(first, outcome(warnings))];
    if let Some((j, warnings)) = second {
        let paired = match outcome(warnings) {
            Outcome::Rendered(warnings) => Outcome::Paired(first, warnings),
            other => other,
        };
        done.push((j, paired));
    }
    done
}

/// Writes next to the destination and renames, so an interrupted run never leaves a
/// half-written frame under the final name.
fn write_atomically(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut partial = dest.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let result = fs::write(&partial, bytes).and_then(|()| fs::rename(&partial, dest));
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

/// Chooses each frame's file name: the photo's relative path with a `.jpg` extension, under a
/// folder named after its root when there are several roots. Two photos that would share a
/// name (`a.png` and `a.jpg`) keep their own extension in it (`a.png.jpg`, `a.jpg.jpg`).
fn plan(roots: &[PathBuf], out: &Path, photos: Vec<Photo>) -> Vec<Job> {
    let prefixes = root_prefixes(roots);
    let target = |photo: &Photo, keep_extension: bool| {
        let relative = if keep_extension {
            let mut name = photo.relative.as_os_str().to_owned();
            name.push(".jpg");
            PathBuf::from(name)
        } else {
            photo.relative.with_extension("jpg")
        };
        out.join(&prefixes[photo.root]).join(relative)
    };
    let mut uses: HashMap<PathBuf, usize> = HashMap::new();
    for photo in &photos {
        *uses.entry(target(photo, false)).or_default() += 1;
    }
    photos
        .into_iter()
        .map(|photo| {
            let plain = target(&photo, false);
            let dest = if uses[&plain] > 1 {
                target(&photo, true)
            } else {
                plain
            };
            let root = &roots[photo.root];
            let shown = if root.is_file() {
                root.clone()
            } else {
                root.join(&photo.relative)
            };
            Job { photo, dest, shown }
        })
        .collect()
}

/// With one root, frames go straight into the output folder; with several, each root gets a
/// folder named after it (`photos`, `photos-2`, … when names repeat).
fn root_prefixes(roots: &[PathBuf]) -> Vec<PathBuf> {
    if roots.len() == 1 {
        return vec![PathBuf::new()];
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    roots
        .iter()
        .map(|root| {
            let name = fs::canonicalize(root)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "root".to_string());
            let name = if root.is_file() {
                Path::new(&name)
                    .file_stem()
                    .map_or(name.clone(), |s| s.to_string_lossy().into_owned())
            } else {
                name
            };
            let n = seen.entry(name.clone()).or_default();
            *n += 1;
            PathBuf::from(if *n == 1 { name } else { format!("{name}-{n}") })
        })
        .collect()
}

fn progress_bar(len: u64) -> ProgressBar {
    // A bar is for people watching a terminal; logs and pipes get only the summary.
    let target = if io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} photos, {per_sec}, {eta} left")
    {
        bar.set_style(style);
    }
    bar
}

/// The end-of-run report.
struct Summary<'a> {
    rendered: usize,
    total: usize,
    skipped: Vec<(&'a Path, &'a str)>,
    warnings: Vec<(&'a Path, &'a Warning)>,
    /// `(first, second, frame)` of each pair.
    pairs: Vec<(&'a Path, &'a Path, &'a Path)>,
    elapsed: Duration,
    out: &'a Path,
}

impl<'a> Summary<'a> {
    fn new(jobs: &'a [Job], outcomes: &'a [Outcome], elapsed: Duration, out: &'a Path) -> Self {
        let mut summary = Summary {
            rendered: 0,
            total: jobs.len(),
            skipped: Vec::new(),
            warnings: Vec::new(),
            pairs: Vec::new(),
            elapsed,
            out,
        };
        for (job, outcome) in jobs.iter().zip(outcomes) {
            match outcome {
                Outcome::Rendered(warnings) => {
                    summary.rendered += 1;
                    summary
                        .warnings
                        .extend(warnings.iter().map(|w| (job.shown.as_path(), w)));
                }
                Outcome::Paired(first, warnings) => {
                    summary.rendered += 1;
                    summary
                        .warnings
                        .extend(warnings.iter().map(|w| (job.shown.as_path(), w)));
                    let first = &jobs[*first];
                    summary
                        .pairs
                        .push((&first.shown, &job.shown, first.dest.as_path()));
                }
                Outcome::Skipped(reason) => summary.skipped.push((&job.shown, reason)),
            }
        }
        summary
    }

    fn print(&self, out: &mut impl Write) -> io::Result<()> {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.rendered as f64 / secs
        } else {
            0.0
        };
        if self.total == 0 {
            writeln!(out, "no photos found")?;
        }
        writeln!(
            out,
            "rendered {} of {} photos into {} in {:.1} s ({:.1} photos/s)",
            self.rendered,
            self.total,
            Escaped::path(self.out),
            secs,
            rate
        )?;
        if !self.pairs.is_empty() {
            writeln!(
                out,
                "paired {} (two portraits on one frame):",
                self.pairs.len()
            )?;
            for (first, second, frame) in &self.pairs {
                let frame = frame.strip_prefix(self.out).unwrap_or(frame);
                writeln!(
                    out,
                    "  {} + {} -> {}",
                    Escaped::path(first),
                    Escaped::path(second),
                    Escaped::path(frame)
                )?;
            }
        }
        // One line per file, whatever its name holds.
        if !self.skipped.is_empty() {
            writeln!(out, "skipped {}:", self.skipped.len())?;
            for (path, reason) in &self.skipped {
                writeln!(out, "  {}: {}", Escaped::path(path), Escaped::text(reason))?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(out, "warnings {}:", self.warnings.len())?;
            for (path, warning) in &self.warnings {
                let warning = warning.to_string();
                writeln!(
                    out,
                    "  {}: {}",
                    Escaped::path(path),
                    Escaped::text(&warning)
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use framecast::discover::PhotoId;

    fn photo(root: usize, relative: &str) -> Photo {
        Photo {
            id: PhotoId {
                path: PathBuf::from("/x").join(relative),
                size: 1,
                modified: None,
            },
            root,
            relative: PathBuf::from(relative),
        }
    }

    #[test]
    fn names_mirror_relative_paths_and_never_collide() {
        let roots = [PathBuf::from("/nonexistent/photos")];
        let jobs = plan(
            &roots,
            Path::new("out"),
            vec![
                photo(0, "a/IMG_1.JPG"),
                photo(0, "b.png"),
                photo(0, "b.jpg"),
            ],
        );
        let dests: Vec<_> = jobs.iter().map(|j| j.dest.clone()).collect();
        assert_eq!(
            dests,
            [
                PathBuf::from("out/a/IMG_1.jpg"),
                PathBuf::from("out/b.png.jpg"),
                PathBuf::from("out/b.jpg.jpg")
            ]
        );
    }

    #[test]
    fn several_roots_get_their_own_folders() {
        let roots = [
            PathBuf::from("/nonexistent/a/photos"),
            PathBuf::from("/nonexistent/b/photos"),
        ];
        assert_eq!(
            root_prefixes(&roots),
            [PathBuf::from("root"), PathBuf::from("root-2")]
        );
    }
}
