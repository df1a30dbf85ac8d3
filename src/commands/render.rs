//! `framecast render`: the whole library rendered once, into a folder of frames.
//!
//! Useful on its own (pre-rendering a library for a device that only plays files, checking how
//! a library will look) and the simplest complete user of the pipeline. Photos are rendered on
//! a rayon pool of `--threads` workers, each job reading, rendering and writing one photo, so
//! no more photos are in memory at once than there are threads. One bad file is listed with
//! its reason and the rest go on.

use std::collections::HashMap;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use framecast::library::{self, File as Photo};
use framecast::render::{Renderer, Warning};

use crate::config::RenderConfig;

/// What happened to one photo.
enum Outcome {
    Rendered(Vec<Warning>),
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
    let found = library::scan(&config.roots, &config.exclude)?;
    for warning in &found.warnings {
        tracing::warn!(path = %warning.path.display(), "skipped during the walk: {}", warning.reason);
    }
    fs::create_dir_all(&config.out)
        .with_context(|| format!("cannot create the output folder {}", config.out.display()))?;
    let jobs = plan(&config.roots, &config.out, found.photos);

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .thread_name(|i| format!("render-{i}"))
        .build()
        .context("cannot start the worker threads")?;
    let renderer = Renderer::new(config.spec, config.limits);
    let progress = progress_bar(jobs.len() as u64);
    let outcomes: Vec<Outcome> = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                let outcome = render_one(&renderer, job);
                progress.inc(1);
                outcome
            })
            .collect()
    });
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

fn render_one(renderer: &Renderer, job: &Job) -> Outcome {
    let rendered = match renderer.render_file(job.photo.path()) {
        Ok(rendered) => rendered,
        Err(e) => {
            tracing::debug!(path = %job.shown.display(), "skipped: {}", e.source);
            return Outcome::Skipped(e.source.to_string());
        }
    };
    match write_atomically(&job.dest, &rendered.frame.jpeg) {
        Ok(()) => Outcome::Rendered(rendered.warnings),
        Err(e) => Outcome::Skipped(format!("cannot write {}: {e}", job.dest.display())),
    }
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
            self.out.display(),
            secs,
            rate
        )?;
        if !self.skipped.is_empty() {
            writeln!(out, "skipped {}:", self.skipped.len())?;
            for (path, reason) in &self.skipped {
                writeln!(out, "  {}: {reason}", path.display())?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(out, "warnings {}:", self.warnings.len())?;
            for (path, warning) in &self.warnings {
                writeln!(out, "  {}: {warning}", path.display())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use framecast::library::PhotoId;

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
