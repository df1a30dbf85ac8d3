//! The frame cache on disk, so a restart does not render every photo again.
//!
//! Rendering a library of large photos takes minutes of CPU on a small machine, and the memory
//! cache is gone at each restart (an upgrade, a power cut, a reboot of the NAS). This store
//! keeps a copy of each rendered frame in a folder (`--cache-dir`), bounded in bytes
//! (`--disk-cache-size`), dropping the least recently used frames past the bound.
//!
//! A frame is one file named after a stable hash of its key: the photo's identity (path,
//! size, modification time) and the whole render [`Spec`]. The file holds the key itself too,
//! so a hash collision or a frame of an edited photo is a miss, never the wrong picture. Each
//! file is written to a temporary name in the same folder and renamed into place, so a reader
//! sees a whole file or none; and each is checked when read (magic, format version, lengths,
//! a CRC-32 of everything): a truncated, corrupt or foreign file is deleted and the frame
//! rendered again. Deleting the whole folder at any time is safe: it is made again at the
//! next write.
//!
//! Which frames were used last is kept in memory (the folder is scanned once at start, in
//! order of the files' modification times) and on disk as each file's modification time,
//! set again at every read, so the order survives a restart without a separate index file.
//!
//! Everything here blocks on the file system: the caller runs it on a blocking thread, never
//! on an async worker. Failures (a full disk, a read-only folder) cost only the copy on disk:
//! each kind is logged once with its cause, counted, and the server goes on from memory.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use lru::LruCache;

use crate::library::PhotoId;
use crate::render::{Fit, Frame, Spec};

/// The default byte bound.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// The first bytes of every frame file.
const MAGIC: &[u8; 8] = b"FCFRAME\n";
/// The layout below; a file of another version is discarded.
const VERSION: u32 = 1;
/// Magic, version, key length (u32), JPEG length (u64).
const HEADER: usize = 8 + 4 + 4 + 8;
/// The CRC-32 after the JPEG.
const TRAILER: usize = 4;
/// Ending of the frame files; anything else in the folder is left alone.
const EXTENSION: &str = "frame";
/// Ending of files being written.
const TEMPORARY: &str = "tmp";
/// A temporary file older than this was left by a process that stopped while writing.
const STALE_TEMPORARY: Duration = Duration::from_secs(600);

/// Where the frames are kept and how much they may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The folder (made at the first write if missing).
    pub dir: PathBuf,
    /// Total size of the frame files, in bytes.
    pub max_bytes: u64,
}

/// What went wrong with the folder or one of its files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The folder could not be listed at start.
    #[error("cannot list the frame cache folder {}: {source}", dir.display())]
    Scan {
        /// The folder.
        dir: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A frame file could not be read.
    #[error("cannot read the cached frame {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A frame file could not be written (a full disk, a read-only folder).
    #[error("cannot write the cached frame {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A frame file could not be removed.
    #[error("cannot remove the cached frame {}: {source}", path.display())]
    Remove {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A frame file is not a whole frame of this version; it is deleted.
    #[error("discarded the cached frame {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: Invalid,
    },
}

/// Why a frame file cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// It does not start like a frame file.
    #[error("not a frame file")]
    Magic,
    /// It was written in another layout.
    #[error("format version {0}, not {VERSION}")]
    Version(u32),
    /// Its length is not the one its header gives (cut short, or something appended).
    #[error("{actual} bytes where the header says {expected}")]
    Length {
        /// What the header says.
        expected: u64,
        /// What the file has.
        actual: u64,
    },
    /// Its content does not match its checksum.
    #[error("checksum mismatch")]
    Checksum,
}

/// Counters for `/api/status` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// The folder.
    pub dir: PathBuf,
    /// Frame files known.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// The byte bound.
    pub max_bytes: u64,
    /// Frames served from disk.
    pub hits: u64,
    /// Frames looked for and not found (then rendered).
    pub misses: u64,
    /// Frames written.
    pub writes: u64,
    /// Files removed to stay under the bound.
    pub evictions: u64,
    /// Files deleted because they were truncated, corrupt or foreign.
    pub discarded: u64,
    /// Reads, writes and removals that failed.
    pub errors: u64,
}

/// Which frame files exist, least recently used first, with their sizes.
struct Index {
    files: LruCache<u64, u64>,
    bytes: u64,
}

impl Index {
    fn insert(&mut self, name: u64, size: u64) {
        if let Some(old) = self.files.put(name, size) {
            self.bytes -= old;
        }
        self.bytes += size;
    }

    fn remove(&mut self, name: u64) {
        if let Some(size) = self.files.pop(&name) {
            self.bytes -= size;
        }
    }

    /// Takes the least recently used files out until the rest fits in `max_bytes`; returns
    /// them, to be deleted once the lock is given back.
    fn trim(&mut self, max_bytes: u64) -> Vec<u64> {
        let mut victims = Vec::new();
        while self.bytes > max_bytes {
            let Some((name, size)) = self.files.pop_lru() else {
                break;
            };
            self.bytes -= size;
            victims.push(name);
        }
        victims
    }
}

/// The kinds of failure logged once each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Scan,
    Read,
    Write,
    Remove,
    Invalid,
}

/// Frame files in one folder, bounded in bytes; blocking, for a blocking thread.
pub struct Store {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
    evictions: AtomicU64,
    discarded: AtomicU64,
    errors: AtomicU64,
    logged: Mutex<HashSet<Kind>>,
    /// Tells the temporary files of concurrent writes apart.
    next_temporary: AtomicU64,
}

/// A frame's key, in the bytes stored in its file and hashed for its name.
struct Key(Vec<u8>);

impl Key {
    fn new(photo: &PhotoId, spec: &Spec) -> Key {
        let mut key = Vec::with_capacity(64 + photo.path.as_os_str().len());
        let path = photo.path.as_os_str().as_bytes();
        key.extend_from_slice(&(path.len() as u64).to_le_bytes());
        key.extend_from_slice(path);
        key.extend_from_slice(&photo.size.to_le_bytes());
        match photo.modified.map(|t| t.duration_since(UNIX_EPOCH)) {
            None => key.push(0),
            Some(Ok(after)) => {
                key.push(1);
                key.extend_from_slice(&after.as_secs().to_le_bytes());
                key.extend_from_slice(&after.subsec_nanos().to_le_bytes());
            }
            Some(Err(before)) => {
                key.push(2);
                let before = before.duration();
                key.extend_from_slice(&before.as_secs().to_le_bytes());
                key.extend_from_slice(&before.subsec_nanos().to_le_bytes());
            }
        }
        // Every field by name: a new one does not compile until it is part of the key.
        let Spec {
            size,
            quality,
            background,
            fit,
        } = *spec;
        key.extend_from_slice(&size.width.to_le_bytes());
        key.extend_from_slice(&size.height.to_le_bytes());
        key.push(quality);
        key.extend_from_slice(&background.0);
        key.push(match fit {
            Fit::Letterbox => 0,
            Fit::Blur => 1,
            Fit::Cover => 2,
            Fit::Pair => 3,
        });
        Key(key)
    }

    /// The file name's number: 64-bit FNV-1a, fixed by its definition (unlike the standard
    /// library's hasher, which may change between Rust releases).
    fn hash(&self) -> u64 {
        self.0.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }
}

/// The name of the file of the key hashed to `name`.
fn file_name(name: u64) -> String {
    format!("{name:016x}.{EXTENSION}")
}

/// The hash in a frame file's name, if it is one.
fn parse_file_name(file: &str) -> Option<u64> {
    let hex = file.strip_suffix(EXTENSION)?.strip_suffix('.')?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// The bytes of a frame file.
fn encode(key: &Key, jpeg: &[u8]) -> Vec<u8> {
    let mut file = Vec::with_capacity(HEADER + key.0.len() + jpeg.len() + TRAILER);
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&VERSION.to_le_bytes());
    file.extend_from_slice(&(key.0.len() as u32).to_le_bytes());
    file.extend_from_slice(&(jpeg.len() as u64).to_le_bytes());
    file.extend_from_slice(&key.0);
    file.extend_from_slice(jpeg);
    let crc = crc32fast::hash(&file);
    file.extend_from_slice(&crc.to_le_bytes());
    file
}

/// The key and the JPEG of a frame file, checked.
fn decode(file: &[u8]) -> Result<(&[u8], &[u8]), Invalid> {
    fn field<const N: usize>(file: &[u8], at: usize) -> Option<[u8; N]> {
        file.get(at..at + N)?.try_into().ok()
    }
    if file.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err(Invalid::Magic);
    }
    let short = Invalid::Length {
        expected: HEADER as u64,
        actual: file.len() as u64,
    };
    let version = u32::from_le_bytes(field(file, 8).ok_or(short)?);
    if version != VERSION {
        return Err(Invalid::Version(version));
    }
    let key_len = u32::from_le_bytes(field(file, 12).ok_or(short)?);
    let jpeg_len = u64::from_le_bytes(field(file, 16).ok_or(short)?);
    let expected = (HEADER as u64 + TRAILER as u64)
        .saturating_add(u64::from(key_len))
        .saturating_add(jpeg_len);
    if expected != file.len() as u64 {
        return Err(Invalid::Length {
            expected,
            actual: file.len() as u64,
        });
    }
    let (body, crc) = file.split_at(file.len() - TRAILER);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(Invalid::Checksum);
    }
    Ok(body[HEADER..].split_at(key_len as usize))
}

impl Store {
    /// The store of `options.dir`, with the frame files already there (a missing folder is
    /// an empty store). Past the bound (a smaller `max_bytes` than last time), the least
    /// recently used files are removed. Temporary files left by a process that stopped while
    /// writing are removed too.
    pub fn open(options: Options) -> Store {
        let store = Store {
            dir: options.dir,
            max_bytes: options.max_bytes,
            index: Mutex::new(Index {
                files: LruCache::unbounded(),
                bytes: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            logged: Mutex::new(HashSet::new()),
            next_temporary: AtomicU64::new(0),
        };
        match store.scan() {
            Ok(mut found) => {
                // Least recently used first, so the last one put in is the most recent.
                found.sort_by_key(|&(_, _, used)| used);
                let mut index = store.lock();
                for (name, size, _) in found {
                    index.insert(name, size);
                }
                let victims = index.trim(store.max_bytes);
                let (files, bytes) = (index.files.len(), index.bytes);
                drop(index);
                store.evict(victims);
                tracing::info!(dir = %store.dir.display(), files, bytes, "frame cache on disk");
            }
            Err(source) if source.kind() == io::ErrorKind::NotFound => {
                tracing::info!(dir = %store.dir.display(), "frame cache on disk: made at the first frame");
            }
            Err(source) => {
                let dir = store.dir.clone();
                store.failed(Kind::Scan, &Error::Scan { dir, source });
            }
        }
        store
    }

    /// The frame files in the folder: name, size and when each was last used.
    fn scan(&self) -> io::Result<Vec<(u64, u64, SystemTime)>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let used = meta.modified().unwrap_or(UNIX_EPOCH);
            if let Some(name) = parse_file_name(file) {
                found.push((name, meta.len(), used));
            } else if file.starts_with('.')
                && file.ends_with(TEMPORARY)
                && used.elapsed().is_ok_and(|age| age > STALE_TEMPORARY)
            {
                self.remove(&entry.path());
            }
        }
        Ok(found)
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a failure, and logs it if it is the first of its kind: a full disk would
    /// otherwise log every frame.
    fn failed(&self, kind: Kind, error: &Error) {
        if kind != Kind::Invalid {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let first = self
            .logged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kind);
        if first {
            tracing::warn!("frame cache: {error}; frames are rendered and kept in memory as usual");
        } else {
            tracing::debug!("frame cache: {error}");
        }
    }

    fn path_of(&self, name: u64) -> PathBuf {
        self.dir.join(file_name(name))
    }

    /// The frame of `photo` in frames of `spec`, if a whole, checked copy is on disk.
    pub fn get(&self, photo: &PhotoId, spec: &Spec) -> Option<Frame> {
        let key = Key::new(photo, spec);
        let name = key.hash();
        let known = self.lock().files.contains(&name);
        let frame = if known {
            self.read(name, &key, spec)
        } else {
            None
        };
        let counter = if frame.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        frame
    }

    fn read(&self, name: u64, key: &Key, spec: &Spec) -> Option<Frame> {
        let path = self.path_of(name);
        let bytes = match self.read_file(&path) {
            Ok(bytes) => bytes,
            Err(source) => {
                self.lock().remove(name);
                // The folder or the file was deleted: simply not there any more.
                if source.kind() != io::ErrorKind::NotFound {
                    self.failed(Kind::Read, &Error::Read { path, source });
                }
                return None;
            }
        };
        match decode(&bytes) {
            Ok((stored, jpeg)) if stored == key.0.as_slice() => {
                let frame = Frame {
                    jpeg: Bytes::copy_from_slice(jpeg),
                    size: spec.size,
                };
                self.lock().files.promote(&name);
                Some(frame)
            }
            // Another key with the same hash: a miss, and the render's write replaces it.
            Ok(_) => None,
            Err(reason) => {
                self.lock().remove(name);
                self.discarded.fetch_add(1, Ordering::Relaxed);
                self.remove(&path);
                self.failed(Kind::Invalid, &Error::Invalid { path, reason });
                None
            }
        }
    }

    /// Reads a frame file whole (no larger than the bound: nothing larger is ever written),
    /// and marks it used now.
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut bytes = Vec::new();
        let limit = len.min(self.max_bytes).saturating_add(1);
        (&mut file).take(limit).read_to_end(&mut bytes)?;
        // The order of use survives a restart as the file's time; failing to set it only
        // loses that order.
        if let Err(e) = file.set_modified(SystemTime::now()) {
            tracing::debug!("frame cache: cannot mark {} used: {e}", path.display());
        }
        Ok(bytes)
    }

    /// Keeps `frame`, the frame of `photo` in frames of `spec`, removing the least recently
    /// used files past the bound. A frame larger than the whole bound is not kept.
    pub fn put(&self, photo: &PhotoId, spec: &Spec, frame: &Frame) {
        let key = Key::new(photo, spec);
        let name = key.hash();
        let file = encode(&key, &frame.jpeg);
        let size = file.len() as u64;
        if size > self.max_bytes {
            return;
        }
        let path = self.path_of(name);
        if let Err(source) = self.write(&path, &file) {
            self.failed(Kind::Write, &Error::Write { path, source });
            return;
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        let victims = {
            let mut index = self.lock();
            index.insert(name, size);
            index.trim(self.max_bytes)
        };
        self.evict(victims);
    }

    /// Writes `bytes` to a temporary file beside `path` and renames it into place, making the
    /// folder first if it is gone.
    fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        match fs::create_dir(&self.dir) {
            // It was deleted: so were the files the index knows.
            Ok(()) => self.forget_all(),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&self.dir)?;
                self.forget_all();
            }
            Err(e) => return Err(e),
        }
        let temporary = self.dir.join(format!(
            ".{}.{}-{}.{TEMPORARY}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            std::process::id(),
            self.next_temporary.fetch_add(1, Ordering::Relaxed)
        ));
        let written = File::create_new(&temporary)
            .and_then(|mut file| file.write_all(bytes))
            .and_then(|()| fs::rename(&temporary, path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }

    fn forget_all(&self) {
        let mut index = self.lock();
        index.files.clear();
        index.bytes = 0;
    }

    /// Deletes the files of `names`, counted as evictions.
    fn evict(&self, names: Vec<u64>) {
        for name in names {
            self.evictions.fetch_add(1, Ordering::Relaxed);
            self.remove(&self.path_of(name));
        }
    }

    /// Deletes one file; one already gone is no failure.
    fn remove(&self, path: &Path) {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => self.failed(
                Kind::Remove,
                &Error::Remove {
                    path: path.to_path_buf(),
                    source,
                },
            ),
        }
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        let (files, bytes) = {
            let index = self.lock();
            (index.files.len(), index.bytes)
        };
        Stats {
            dir: self.dir.clone(),
            files,
            bytes,
            max_bytes: self.max_bytes,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            discarded: self.discarded.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Size;

    fn photo(name: &str) -> PhotoId {
        PhotoId {
            path: PathBuf::from("/photos").join(name),
            size: 1234,
            modified: Some(UNIX_EPOCH + Duration::new(1_700_000_000, 5)),
        }
    }

    fn spec() -> Spec {
        Spec {
            size: Size {
                width: 320,
                height: 240,
            },
            ..Spec::default()
        }
    }

    /// A frame of `len` bytes that tell frames apart.
    fn frame(seed: u8, len: usize) -> Frame {
        Frame {
            jpeg: Bytes::from(
                (0..len)
                    .map(|i| seed.wrapping_add(i as u8))
                    .collect::<Vec<_>>(),
            ),
            size: spec().size,
        }
    }

    fn open(dir: &Path, max_bytes: u64) -> Store {
        Store::open(Options {
            dir: dir.to_path_buf(),
            max_bytes,
        })
    }

    /// The frame files in `dir`.
    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map(|entries| entries.map(|e| e.expect("entry").path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == EXTENSION));
        files.sort();
        files
    }

    #[test]
    fn a_frame_survives_a_restart_and_only_its_own_key_finds_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = dir.path().join("frames");
        let store = open(&cache, 1 << 20);
        assert!(store.get(&photo("a.jpg"), &spec()).is_none(), "empty");
        store.put(&photo("a.jpg"), &spec(), &frame(1, 5000));
        assert_eq!(
            files(&cache).len(),
            1,
            "the folder is made at the first write"
        );
        drop(store);

        let store = open(&cache, 1 << 20);
        assert_eq!((store.stats().files, store.stats().writes), (1, 0));
        let got = store.get(&photo("a.jpg"), &spec()).expect("on disk");
        assert_eq!(got.jpeg, frame(1, 5000).jpeg);
        assert_eq!(got.size, spec().size);
        // Another photo, the same photo edited, or another rendition: not this frame.
        let mut edited = photo("a.jpg");
        edited.modified = Some(UNIX_EPOCH + Duration::new(1_700_000_000, 6));
        let blur = Spec {
            fit: Fit::Blur,
            ..spec()
        };
        assert!(store.get(&photo("b.jpg"), &spec()).is_none());
        assert!(store.get(&edited, &spec()).is_none());
        assert!(store.get(&photo("a.jpg"), &blur).is_none());
        let stats = store.stats();
        assert_eq!(
            (stats.hits, stats.misses, stats.errors),
            (1, 3, 0),
            "{stats:?}"
        );
        assert_eq!(
            stats.bytes,
            fs::metadata(&files(&cache)[0]).expect("file").len()
        );
    }

    #[test]
    fn the_name_is_a_fixed_hash_of_the_key() {
        // FNV-1a's published test value: a change of hash would orphan every cached file.
        assert_eq!(Key(b"a".to_vec()).hash(), 0xaf63_dc4c_8601_ec8c);
        let key = Key::new(&photo("a.jpg"), &spec());
        assert_eq!(key.hash(), Key::new(&photo("a.jpg"), &spec()).hash());
        assert_ne!(key.hash(), Key::new(&photo("b.jpg"), &spec()).hash());
        assert_eq!(parse_file_name(&file_name(key.hash())), Some(key.hash()));
        assert_eq!(parse_file_name("0123.frame"), None);
        assert_eq!(parse_file_name("notes.txt"), None);
    }

    #[test]
    fn truncated_corrupt_and_foreign_files_are_deleted_not_served() {
        let dir = tempfile::tempdir().expect("temp dir");
        let names = ["a.jpg", "b.jpg", "c.jpg", "d.jpg"];
        let store = open(dir.path(), 1 << 20);
        for (i, name) in names.iter().enumerate() {
            store.put(&photo(name), &spec(), &frame(i as u8, 3000));
        }
        drop(store);
        let path = |name: &str| {
            dir.path()
                .join(file_name(Key::new(&photo(name), &spec()).hash()))
        };
        // A byte of the JPEG flipped.
        let mut bytes = fs::read(path("a.jpg")).expect("read");
        bytes[HEADER + 100] ^= 0x40;
        fs::write(path("a.jpg"), &bytes).expect("write");
        // Cut short.
        let bytes = fs::read(path("b.jpg")).expect("read");
        fs::write(path("b.jpg"), &bytes[..bytes.len() / 2]).expect("write");
        // Not a frame file at all.
        fs::write(path("c.jpg"), b"GIF89a, not a frame").expect("write");

        let store = open(dir.path(), 1 << 20);
        for name in &names[..3] {
            assert!(store.get(&photo(name), &spec()).is_none(), "{name} served");
            assert!(!path(name).exists(), "{name} kept");
        }
        assert!(
            store.get(&photo("d.jpg"), &spec()).is_some(),
            "the whole one"
        );
        let stats = store.stats();
        assert_eq!(
            (stats.discarded, stats.files, stats.hits),
            (3, 1, 1),
            "{stats:?}"
        );
        assert_eq!(stats.errors, 0, "{stats:?}");
        // Rendered again, it is kept again.
        store.put(&photo("a.jpg"), &spec(), &frame(0, 3000));
        assert_eq!(
            store.get(&photo("a.jpg"), &spec()).map(|f| f.jpeg),
            Some(frame(0, 3000).jpeg)
        );
    }

    #[test]
    fn each_check_refuses_its_damage() {
        let key = Key::new(&photo("a.jpg"), &spec());
        let good = encode(&key, &frame(7, 100).jpeg);
        let (stored, jpeg) = decode(&good).expect("whole");
        assert_eq!((stored, jpeg), (key.0.as_slice(), &frame(7, 100).jpeg[..]));
        assert_eq!(decode(b"FCFRAME"), Err(Invalid::Magic));
        assert_eq!(decode(b"\xff\xd8\xff\xe0 a JPEG"), Err(Invalid::Magic));
        let mut other_version = good.clone();
        other_version[8] = 2;
        assert_eq!(decode(&other_version), Err(Invalid::Version(2)));
        assert!(matches!(decode(&good[..20]), Err(Invalid::Length { .. })));
        assert!(matches!(
            decode(&good[..good.len() - 1]),
            Err(Invalid::Length { .. })
        ));
        let mut longer = good.clone();
        longer.push(0);
        assert!(matches!(decode(&longer), Err(Invalid::Length { .. })));
        // A length field that claims the whole address space.
        let mut huge = good.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(decode(&huge), Err(Invalid::Length { .. })));
        let mut flipped = good.clone();
        *flipped.last_mut().expect("crc") ^= 1;
        assert_eq!(decode(&flipped), Err(Invalid::Checksum));
    }

    #[test]
    fn the_byte_bound_evicts_the_least_recently_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let one = encode(&Key::new(&photo("a.jpg"), &spec()), &frame(0, 10_000).jpeg).len() as u64;
        // Room for two frames, not three.
        let store = open(dir.path(), one * 5 / 2);
        store.put(&photo("a.jpg"), &spec(), &frame(1, 10_000));
        store.put(&photo("b.jpg"), &spec(), &frame(2, 10_000));
        // Reading a makes b the least recently used.
        assert!(store.get(&photo("a.jpg"), &spec()).is_some());
        store.put(&photo("c.jpg"), &spec(), &frame(3, 10_000));
        let stats = store.stats();
        assert_eq!((stats.files, stats.evictions), (2, 1), "{stats:?}");
        assert!(stats.bytes <= stats.max_bytes, "{stats:?}");
        assert_eq!(files(dir.path()).len(), 2);
        assert!(store.get(&photo("b.jpg"), &spec()).is_none(), "b evicted");
        assert!(store.get(&photo("a.jpg"), &spec()).is_some());
        assert!(store.get(&photo("c.jpg"), &spec()).is_some());
        // A frame larger than the whole bound is not kept, and evicts nothing.
        store.put(&photo("d.jpg"), &spec(), &frame(4, 100_000));
        assert_eq!(store.stats().files, 2);
    }

    #[test]
    fn the_order_of_use_survives_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), 1 << 20);
        for (i, name) in ["a.jpg", "b.jpg", "c.jpg"].iter().enumerate() {
            store.put(&photo(name), &spec(), &frame(i as u8, 10_000));
        }
        drop(store);
        // Last used: a long ago, c a while ago, b just now (as reads would have set them).
        let used = |name: &str, ago: u64| {
            let path = dir
                .path()
                .join(file_name(Key::new(&photo(name), &spec()).hash()));
            File::options()
                .write(true)
                .open(path)
                .expect("open")
                .set_modified(SystemTime::now() - Duration::from_secs(ago))
                .expect("set time");
        };
        used("a.jpg", 3000);
        used("c.jpg", 2000);
        used("b.jpg", 10);
        // Reopened with room for two: a, the least recently used, goes at once.
        let one = fs::metadata(&files(dir.path())[0]).expect("file").len();
        let store = open(dir.path(), one * 5 / 2);
        assert_eq!((store.stats().files, store.stats().evictions), (2, 1));
        assert!(store.get(&photo("a.jpg"), &spec()).is_none());
        // Then c, when d comes.
        store.put(&photo("d.jpg"), &spec(), &frame(4, 10_000));
        assert!(store.get(&photo("c.jpg"), &spec()).is_none());
        assert!(store.get(&photo("b.jpg"), &spec()).is_some());
        assert!(store.get(&photo("d.jpg"), &spec()).is_some());
    }

    #[test]
    fn a_deleted_folder_is_a_miss_then_made_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = dir.path().join("cache").join("frames");
        let store = open(&cache, 1 << 20);
        store.put(&photo("a.jpg"), &spec(), &frame(1, 1000));
        fs::remove_dir_all(dir.path().join("cache")).expect("delete");
        assert!(store.get(&photo("a.jpg"), &spec()).is_none());
        store.put(&photo("b.jpg"), &spec(), &frame(2, 1000));
        assert!(store.get(&photo("b.jpg"), &spec()).is_some());
        let stats = store.stats();
        assert_eq!((stats.files, stats.errors), (1, 0), "{stats:?}");
        assert_eq!(
            stats.bytes,
            fs::metadata(&files(&cache)[0]).expect("file").len()
        );
    }

    #[test]
    fn an_unwritable_folder_costs_only_the_copy_on_disk() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A file where the folder should be: no write can succeed, whoever runs the test.
        let blocked = dir.path().join("not-a-folder");
        fs::write(&blocked, b"").expect("write");
        let store = open(&blocked, 1 << 20);
        store.put(&photo("a.jpg"), &spec(), &frame(1, 1000));
        store.put(&photo("b.jpg"), &spec(), &frame(2, 1000));
        assert!(store.get(&photo("a.jpg"), &spec()).is_none());
        let stats = store.stats();
        assert_eq!((stats.writes, stats.files), (0, 0), "{stats:?}");
        assert!(stats.errors >= 2, "{stats:?}");
        // Nothing was left behind beside it.
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn other_files_in_the_folder_are_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("notes.txt"), b"mine").expect("write");
        let store = open(dir.path(), 1 << 20);
        store.put(&photo("a.jpg"), &spec(), &frame(1, 1000));
        drop(store);
        // Reopened with no room at all: every frame goes, and only frames.
        let store = open(dir.path(), 0);
        assert_eq!((store.stats().files, store.stats().evictions), (0, 1));
        assert!(files(dir.path()).is_empty());
        assert_eq!(
            fs::read(dir.path().join("notes.txt")).expect("kept"),
            b"mine"
        );
    }
}
