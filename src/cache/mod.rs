//! The frame cache: each frame is rendered once and shared by every client.
//!
//! Rendering is the expensive part of serving (tens of milliseconds of CPU a photo); sending is
//! a copy. Frames are kept in an LRU bounded by their encoded size (`--cache-size`), keyed by
//! the photo's identity (path, size, modification time) and the output [`Spec`], so an edited
//! photo or a different frame size never gets a stale frame, and the renditions of one
//! timeline (a frame size, fit, quality and background each) share one cache and one bound. Two requests for a frame that is
//! being rendered share that one render instead of starting a second.
//!
//! With a [`disk::Store`], a frame missed in memory is looked for on disk before it is
//! rendered, and a rendered frame is written there in the background (the clients get it at
//! once), so a restart serves from disk what it would otherwise render again. The disk is
//! read and written on the runtime's blocking threads: not on the async workers, and not on
//! the render pool, where a frame already on disk would wait behind renders.
//!
//! The lock is a `std::sync::Mutex` held only for O(1) map work, never across an await and
//! never while rendering.

pub mod disk;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use lru::LruCache;

use crate::library::PhotoId;
use crate::pool::Pool;
pub use crate::pool::RenderFailure;
use crate::render::{Frame, Size, Spec, fit};

/// How much the cache may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total size of the cached JPEG frames, in bytes.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A frame's identity: which photo (and which second photo, for a pair), rendered how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    photo: PhotoId,
    partner: Option<PhotoId>,
    spec: Spec,
}

impl Key {
    fn single(photo: &PhotoId, spec: Spec) -> Key {
        Key {
            photo: photo.clone(),
            partner: None,
            spec,
        }
    }
}

/// A frame asked for as a pair ([`Cache::pair_as`]): both photos side by side, or the first
/// alone when they do not pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairFrame {
    /// The frame.
    pub frame: Frame,
    /// Whether the second photo is on it.
    pub paired: bool,
}

/// What the cache holds for a key: the frame, and what its render showed of the first photo.
#[derive(Debug, Clone)]
struct Entry {
    shown: PairFrame,
    /// The first photo can never be half of a pair in this spec (it is not a portrait once
    /// upright, or the frame is not landscape); `false` when not known (a frame from disk).
    never_pairs: bool,
}

type InFlight = Shared<BoxFuture<'static, Result<Entry, RenderFailure>>>;

/// Counters for `/api/status` and `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames in the cache.
    pub frames: usize,
    /// Their total size in bytes.
    pub bytes: u64,
    /// The byte bound.
    pub max_bytes: u64,
    /// Requests served from the cache (or from a render already under way).
    pub hits: u64,
    /// Requests that started a render (neither in memory nor on disk).
    pub misses: u64,
    /// Frames dropped to stay under the bound.
    pub evictions: u64,
}

struct Inner {
    frames: LruCache<Key, Entry>,
    bytes: u64,
    in_flight: HashMap<Key, InFlight>,
}

/// The byte-bounded frame cache in front of the worker pool.
pub struct Cache {
    pool: Pool,
    limits: Limits,
    disk: Option<Arc<disk::Store>>,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl Cache {
    /// An empty cache that renders its misses on `pool`.
    pub fn new(pool: Pool, limits: Limits) -> Cache {
        Cache::with_disk(pool, limits, None)
    }

    /// An empty cache in front of `disk` (if any) that renders its misses on `pool`.
    pub fn with_disk(pool: Pool, limits: Limits, disk: Option<disk::Store>) -> Cache {
        Cache {
            pool,
            limits,
            disk: disk.map(Arc::new),
            inner: Mutex::new(Inner {
                // Bounded by bytes, not by count: created unbounded and trimmed in `finish`.
                frames: LruCache::unbounded(),
                bytes: 0,
                in_flight: HashMap::new(),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// The pool misses are rendered on.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The frame of `photo`: from the cache, from a render under way, or rendered now.
    pub async fn frame(self: &Arc<Self>, photo: &PhotoId) -> Result<Frame, RenderFailure> {
        self.frame_as(photo, *self.pool.spec()).await
    }

    /// The frame of `photo` in frames of `spec` (another rendition of the timeline), cached
    /// and shared like the pool's own.
    pub async fn frame_as(
        self: &Arc<Self>,
        photo: &PhotoId,
        spec: Spec,
    ) -> Result<Frame, RenderFailure> {
        let entry = self.get(Key::single(photo, spec)).await?;
        Ok(entry.shown.frame)
    }

    /// The frame of `first` and `second` side by side in frames of `spec` (a `pair` spec), or
    /// of `first` alone when they do not pair or there is no `second`; cached and shared like
    /// single frames (pairs in memory only: the copy on disk is keyed by one photo). When a
    /// cached frame of either photo alone shows it cannot pair, the first's frame alone is
    /// used without decoding anything again. An error is about `first`.
    pub async fn pair_as(
        self: &Arc<Self>,
        first: &PhotoId,
        second: Option<&PhotoId>,
        spec: Spec,
    ) -> Result<PairFrame, RenderFailure> {
        let never_pairs = |photo: &PhotoId| {
            self.lock()
                .frames
                .peek(&Key::single(photo, spec))
                .is_some_and(|e| e.never_pairs)
        };
        let key = match second {
            Some(second) if !never_pairs(first) && !never_pairs(second) => Key {
                photo: first.clone(),
                partner: Some(second.clone()),
                spec,
            },
            _ => Key::single(first, spec),
        };
        Ok(self.get(key).await?.shown)
    }

    /// Whether the frame of `first` and `second` as a pair in `spec` is cached (does not
    /// count as a hit).
    pub fn contains_pair(&self, first: &PhotoId, second: &PhotoId, spec: Spec) -> bool {
        let key = Key {
            photo: first.clone(),
            partner: Some(second.clone()),
            spec,
        };
        self.lock().frames.contains(&key)
    }

    /// The frame of `key`: from the cache, from a render under way, or rendered now.
    async fn get(self: &Arc<Self>, key: Key) -> Result<Entry, RenderFailure> {
        let pending = {
            let mut inner = self.lock();
            if let Some(frame) = inner.frames.get(&key) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(frame.clone());
            }
            if let Some(pending) = inner.in_flight.get(&key) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                pending.clone()
            } else {
                let cache = Arc::clone(self);
                let job_key = key.clone();
                let pending = async move {
                    let result = cache.load_or_render(&job_key).await;
                    cache.finish(job_key, &result);
                    result
                }
                .boxed()
                .shared();
                inner.in_flight.insert(key, pending.clone());
                pending
            }
        };
        pending.await
    }

    /// The frame of `key` from disk, or else rendered (and then written to disk).
    async fn load_or_render(&self, key: &Key) -> Result<Entry, RenderFailure> {
        let never_pairs = |shown: Size| !fit::pairable(key.spec.size, shown);
        if let Some(second) = &key.partner {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return self
                .pool
                .render_pair_as(key.photo.path.clone(), second.path.clone(), key.spec)
                .await
                .map(|p| Entry {
                    never_pairs: never_pairs(p.first.size),
                    shown: PairFrame {
                        paired: p.second.is_some(),
                        frame: p.frame,
                    },
                });
        }
        let single = |frame, never_pairs| Entry {
            shown: PairFrame {
                frame,
                paired: false,
            },
            never_pairs,
        };
        if let Some(disk) = &self.disk {
            let (disk, photo, spec) = (Arc::clone(disk), key.photo.clone(), key.spec);
            // A failed blocking task is only a miss.
            if let Ok(Some(frame)) =
                tokio::task::spawn_blocking(move || disk.get(&photo, &spec)).await
            {
                return Ok(single(frame, false));
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let result = self
            .pool
            .render_as(key.photo.path.clone(), key.spec)
            .await
            .map(|r| (r.frame, never_pairs(r.source_size)));
        if let (Ok((frame, _)), Some(disk)) = (&result, &self.disk) {
            let (disk, photo, spec) = (Arc::clone(disk), key.photo.clone(), key.spec);
            let frame = frame.clone();
            // Not awaited: the frame goes to its clients now, its copy on disk follows.
            drop(tokio::task::spawn_blocking(move || {
                disk.put(&photo, &spec, &frame)
            }));
        }
        result.map(|(frame, never_pairs)| single(frame, never_pairs))
    }

    /// Moves a finished render from in-flight into the LRU (successes only: a failed photo is
    /// the schedule's business, which skips it).
    fn finish(&self, key: Key, result: &Result<Entry, RenderFailure>) {
        let mut inner = self.lock();
        inner.in_flight.remove(&key);
        let Ok(frame) = result else { return };
        let size = frame.shown.frame.jpeg.len() as u64;
        if size > self.limits.max_bytes {
            return; // larger than the whole cache: serve it, keep nothing
        }
        if let Some(old) = inner.frames.put(key, frame.clone()) {
            inner.bytes -= old.shown.frame.jpeg.len() as u64;
        }
        inner.bytes += size;
        while inner.bytes > self.limits.max_bytes {
            match inner.frames.pop_lru() {
                Some((_, old)) => {
                    inner.bytes -= old.shown.frame.jpeg.len() as u64;
                    self.evictions.fetch_add(1, Ordering::Relaxed);
                }
                None => break,
            }
        }
    }

    /// Whether the frame of `photo` is cached (does not count as a hit).
    pub fn contains(&self, photo: &PhotoId) -> bool {
        self.contains_as(photo, *self.pool.spec())
    }

    /// Whether the frame of `photo` in frames of `spec` is cached (does not count as a hit).
    pub fn contains_as(&self, photo: &PhotoId, spec: Spec) -> bool {
        self.lock().frames.contains(&Key::single(photo, spec))
    }

    /// The counters of the copy on disk, if there is one.
    pub fn disk_stats(&self) -> Option<disk::Stats> {
        self.disk.as_ref().map(|d| d.stats())
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            frames: inner.frames.len(),
            bytes: inner.bytes,
            max_bytes: self.limits.max_bytes,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Renderer, Size};
    use std::path::PathBuf;

    fn photo(relative: &str) -> PhotoId {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(relative);
        let meta = std::fs::metadata(&path).expect("fixture");
        PhotoId {
            path,
            size: meta.len(),
            modified: meta.modified().ok(),
        }
    }

    fn cache(max_bytes: u64) -> Arc<Cache> {
        let spec = Spec {
            size: Size {
                width: 320,
                height: 240,
            },
            ..Spec::default()
        };
        let pool = Pool::new(2, Renderer::new(spec, Default::default())).expect("pool");
        Arc::new(Cache::new(pool, Limits { max_bytes }))
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_render() {
        let cache = cache(1 << 20);
        let a = photo("exif-orientation/Landscape_1.jpg");
        let (x, y) = tokio::join!(cache.frame(&a), cache.frame(&a));
        let (x, y) = (x.expect("renders"), y.expect("renders"));
        // The very same bytes, not an equal copy.
        assert_eq!(x.jpeg.as_ptr(), y.jpeg.as_ptr());
        let stats = cache.stats();
        assert_eq!((stats.misses, stats.hits, stats.frames), (1, 1, 1));
        assert_eq!(stats.bytes, x.jpeg.len() as u64);
        cache.frame(&a).await.expect("cached");
        assert_eq!(cache.stats().hits, 2);
    }

    #[tokio::test]
    async fn the_byte_bound_evicts_the_least_recently_used() {
        let probe = cache(1 << 20);
        let one = probe
            .frame(&photo("exif-orientation/Landscape_1.jpg"))
            .await
            .expect("renders")
            .jpeg
            .len() as u64;
        // Room for about two frames of this size.
        let cache = cache(one * 5 / 2);
        let names = ["Landscape_1", "Landscape_2", "Landscape_3"];
        for name in names {
            cache
                .frame(&photo(&format!("exif-orientation/{name}.jpg")))
                .await
                .expect("renders");
            assert!(cache.stats().bytes <= cache.stats().max_bytes);
        }
        let stats = cache.stats();
        assert_eq!(stats.evictions, 1, "{stats:?}");
        assert!(
            !cache.contains(&photo("exif-orientation/Landscape_1.jpg")),
            "oldest evicted"
        );
        assert!(cache.contains(&photo("exif-orientation/Landscape_3.jpg")));
    }

    #[tokio::test]
    async fn pairs_are_rendered_once_and_a_photo_known_not_to_pair_is_not_decoded_again() {
        let cache = cache(1 << 20);
        let spec = Spec {
            fit: crate::render::Fit::Pair,
            ..*cache.pool().spec()
        };
        let (storm, cloister) = (
            photo("exif-orientation/Portrait_1.jpg"),
            photo("edge/progressive.jpg"),
        );
        let landscape = photo("exif-orientation/Landscape_1.jpg");
        let pair = cache
            .pair_as(&storm, Some(&cloister), spec)
            .await
            .expect("renders");
        assert!(pair.paired);
        assert!(cache.contains_pair(&storm, &cloister, spec));
        let again = cache
            .pair_as(&storm, Some(&cloister), spec)
            .await
            .expect("cached");
        assert_eq!(again.frame.jpeg.as_ptr(), pair.frame.jpeg.as_ptr());
        assert_eq!(cache.stats().misses, 1);

        // The landscape alone, as the timeline renders each photo; asked for as a pair
        // afterwards, with either photo first, nothing is decoded again.
        let alone = cache.frame_as(&landscape, spec).await.expect("renders");
        assert_eq!(cache.stats().misses, 2);
        let first = cache
            .pair_as(&landscape, Some(&storm), spec)
            .await
            .expect("alone");
        assert!(!first.paired);
        assert_eq!(first.frame.jpeg.as_ptr(), alone.jpeg.as_ptr());
        let second = cache
            .pair_as(&cloister, Some(&landscape), spec)
            .await
            .expect("alone");
        assert!(!second.paired);
        let no_partner = cache.pair_as(&cloister, None, spec).await.expect("alone");
        assert_eq!(second.frame, no_partner.frame);
        assert_eq!(cache.stats().misses, 3, "the cloister alone, once");
    }

    #[tokio::test]
    async fn failures_are_not_cached_and_name_the_file() {
        let cache = cache(1 << 20);
        let bad = photo("edge/truncated.jpg");
        let err = cache.frame(&bad).await.expect_err("fails");
        assert!(err.to_string().contains("truncated.jpg"), "{err}");
        assert_eq!(cache.stats().frames, 0);
    }
}
