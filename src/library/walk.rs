//! The full scan: from folders on disk to the photo files in them.
//!
//! A real photo library is messy: upper-case extensions, files without one, macOS `._*`
//! companions, NAS thumbnail folders such as `@eaDir`, camera RAW files and editing sidecars
//! next to the JPEGs, symlinked folders (sometimes in a loop) and folders that cannot be read.
//! The walk turns all of that into photo files that are
//!
//! - **complete**: every file with a usual image extension (in any case) is listed, and so is
//!   a file with no extension at all whose first bytes are an image signature (a camera
//!   upload named `IMG_0001`); the render stage decides by content, so a PNG named `.jpg` or a
//!   text file named `.jpg` each get their right outcome;
//! - **clean**: hidden files and folders (a leading `.`), NAS metadata folders, RAW files and
//!   sidecars (`.nef`, `.dng`, `.xmp`, `.aae`, …) are left out, so a RAW+JPEG library shows each
//!   photo once; other extensions are never sniffed; a symlink loop is walked once;
//! - **stable**: [`scan`] sorts the relative paths naturally (`IMG_2` before `IMG_10`), and each
//!   [`File`] carries a [`PhotoId`] (path, size, modification time) that changes exactly when
//!   the file does, so later stages can key caches on it.
//!
//! The live library walks with [`Walker`] file by file (the first photo is shown long before
//! a large walk ends); `framecast render` takes the whole list at once with [`scan`].
//! Problems that do not stop the walk (an unreadable folder, a broken symlink, a FIFO or a
//! device node among the photos) are [`Warning`]s; only a root that cannot be used at all is
//! an [`Error`]. Files are opened through [`open_regular`], which never waits on a FIFO.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::SystemTime;

use crate::escape::Escaped;
use crate::file::{FileKind, open_regular};
use crate::format::Format;

/// File extensions (compared case-insensitively) that are always listed as photo candidates.
pub const EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif",
    "avif",
];

/// Camera RAW formats and the sidecars editors and phones write next to photos. Most RAW
/// formats start with a TIFF signature, so without this list they would be sniffed as TIFFs
/// and a RAW+JPEG library would show every photo twice. They are refused before any other
/// rule, so a RAW format never becomes a photo by being added to [`EXTENSIONS`].
pub const NOT_PHOTOS: &[&str] = &[
    "nef", "nrw", "cr2", "cr3", "crw", "arw", "srf", "sr2", "dng", "raf", "orf", "rw2", "pef",
    "srw", "x3f", "3fr", "iiq", "erf", "kdc", "mos", "mrw", "raw", "rwl", "xmp", "aae", "thm",
    "pp3", "dop", "on1",
];

/// Folder names that NAS systems and desktop tools fill with thumbnails or deleted files.
/// Names starting with a dot are skipped anyway.
const SKIPPED_DIRS: &[&str] = &[
    "@eaDir",
    "#recycle",
    "#snapshot",
    "$RECYCLE.BIN",
    "lost+found",
];

/// Why a root could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The root does not exist or cannot be read.
    #[error("cannot read {}: {source}", Escaped::path(path))]
    Root {
        /// The root as given.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
}

/// A problem met during the walk that skipped part of it but did not stop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file or folder concerned.
    pub path: PathBuf,
    /// What went wrong, for a log line.
    pub reason: String,
}

/// The identity of one photo's content as far as the file system can tell without reading it.
///
/// Two ids are equal exactly when the path, the size and the modification time are, so a file
/// that is edited or replaced gets a new id and any cached frame of the old content is missed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhotoId {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, where the file system has one.
    pub modified: Option<SystemTime>,
}

/// One photo file found by a walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Stable identity; `id.path` is where to read the file.
    pub id: PhotoId,
    /// Index of the root (in the roots given) the file was found under.
    pub root: usize,
    /// Path relative to that root (for a root that is a file: its file name).
    pub relative: PathBuf,
}

impl File {
    /// The path to read the photo from.
    pub fn path(&self) -> &Path {
        &self.id.path
    }
}

/// What a whole scan found.
#[derive(Debug, Default)]
pub struct Found {
    /// The photo files, in a stable natural order: by root, then by relative path.
    pub photos: Vec<File>,
    /// Parts of the tree that were skipped because of an error.
    pub warnings: Vec<Warning>,
}

/// Walks every root and lists the photo files in it, sorted.
///
/// Fails only when a root itself cannot be read; everything below a root that goes wrong is
/// reported in [`Found::warnings`].
pub fn scan(roots: &[PathBuf], exclude: &[PathBuf]) -> Result<Found, Error> {
    let walker = Walker::new(exclude);
    let mut found = Found::default();
    let never = AtomicBool::new(false);
    for (index, root) in roots.iter().enumerate() {
        let canonical = fs::canonicalize(root).map_err(|source| Error::Root {
            path: root.clone(),
            source,
        })?;
        walker
            .root(index, &canonical, &never, &mut |event| match event {
                Visit::File(file) => found.photos.push(file),
                Visit::Warning(w) => found.warnings.push(w),
            })
            .map_err(|source| Error::Root {
                path: root.clone(),
                source,
            })?;
    }
    // Roots keep the order given; inside a root the natural order of relative paths.
    found.photos.sort_by(|a, b| {
        a.root
            .cmp(&b.root)
            .then_with(|| natural_cmp_paths(&a.relative, &b.relative))
    });
    Ok(found)
}

/// What a walk reports, one item at a time.
#[derive(Debug)]
pub enum Visit {
    /// A photo file.
    File(File),
    /// A part of the tree that was skipped.
    Warning(Warning),
}

/// The walk rules, applied to whole roots or to one folder that appeared inside a root.
#[derive(Debug, Default)]
pub struct Walker {
    exclude: HashSet<PathBuf>,
}

impl Walker {
    /// A walker that never enters the folders in `exclude` (such as an output folder that
    /// lies inside an input folder).
    pub fn new(exclude: &[PathBuf]) -> Walker {
        Walker {
            exclude: exclude
                .iter()
                .filter_map(|p| fs::canonicalize(p).ok())
                .collect(),
        }
    }

    /// Walks the root at `canonical` (a folder or a single file), number `index`, reporting
    /// each photo file as it is found. `stop` ends the walk early. Only a root that cannot be
    /// read is an error.
    pub fn root(
        &self,
        index: usize,
        canonical: &Path,
        stop: &AtomicBool,
        visit: &mut dyn FnMut(Visit),
    ) -> io::Result<()> {
        let meta = fs::metadata(canonical)?;
        if meta.is_dir() {
            // Read the root now so an unreadable root is an error, not a warning.
            fs::read_dir(canonical)?;
            self.folder(index, canonical, canonical, stop, visit);
        } else {
            let name = canonical.file_name().map(PathBuf::from).unwrap_or_default();
            // A file named on the command line is always listed, so asking for a file
            // explicitly never silently does nothing.
            visit(Visit::File(file(canonical, index, name, &meta)));
        }
        Ok(())
    }

    /// Walks `dir`, a folder inside the root `root` (number `index`).
    pub fn folder(
        &self,
        index: usize,
        root: &Path,
        dir: &Path,
        stop: &AtomicBool,
        visit: &mut dyn FnMut(Visit),
    ) {
        let mut walk = Walk {
            root,
            index,
            exclude: &self.exclude,
            visited: HashSet::new(),
            stop,
            visit,
        };
        walk.dir(dir);
    }

    /// Whether `path`, inside `root`, is in a hidden, skipped or excluded place.
    pub fn is_skipped(&self, root: &Path, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(root) else {
            return true;
        };
        relative
            .components()
            .any(|c| is_hidden(&c.as_os_str().to_string_lossy()))
            || path
                .ancestors()
                .take_while(|a| a.starts_with(root))
                .any(|a| self.exclude.contains(a))
    }
}

fn file(path: &Path, root: usize, relative: PathBuf, meta: &fs::Metadata) -> File {
    File {
        id: PhotoId {
            path: path.to_path_buf(),
            size: meta.len(),
            modified: meta.modified().ok(),
        },
        root,
        relative,
    }
}

/// The state of a walk under one root.
struct Walk<'a> {
    root: &'a Path,
    index: usize,
    exclude: &'a HashSet<PathBuf>,
    /// Canonical folders already entered: a symlink that leads back into one is not followed
    /// again, which is what stops loops.
    visited: HashSet<PathBuf>,
    stop: &'a AtomicBool,
    visit: &'a mut dyn FnMut(Visit),
}

impl Walk<'_> {
    fn warn(&mut self, path: &Path, reason: impl ToString) {
        (self.visit)(Visit::Warning(Warning {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }));
    }

    fn dir(&mut self, dir: &Path) {
        if self.stop.load(AtomicOrdering::Relaxed) {
            return;
        }
        let canonical = match fs::canonicalize(dir) {
            Ok(c) => c,
            Err(e) => return self.warn(dir, e),
        };
        if self.exclude.contains(&canonical) || !self.visited.insert(canonical) {
            return;
        }
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return self.warn(dir, e),
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.warn(dir, e);
                    continue;
                }
            };
            let path = entry.path();
            let name = entry.file_name();
            if is_hidden(&name.to_string_lossy()) {
                continue;
            }
            // Follow symlinks: libraries often link folders in from elsewhere.
            let meta = match fs::metadata(&path) {
                Ok(meta) => meta,
                Err(e) => {
                    self.warn(&path, format!("broken link or unreadable entry: {e}"));
                    continue;
                }
            };
            if meta.is_dir() {
                self.dir(&path);
            } else if meta.is_file() && is_photo_file(&path) {
                let relative = path.strip_prefix(self.root).unwrap_or(&path).to_path_buf();
                (self.visit)(Visit::File(file(&path, self.index, relative, &meta)));
            } else if !meta.is_file() {
                // Reading a FIFO waits for a writer, reading a device may never end: neither
                // is a photo, whatever its name.
                let kind = FileKind::of(&meta);
                self.warn(&path, format!("not a regular file but {kind}"));
            }
        }
    }
}

/// Hidden entries (dotfiles such as `.thumbnails` and macOS `._IMG_0001.JPG` companions) and
/// NAS metadata folders are not part of a gallery.
fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

fn has_extension_in(path: &Path, list: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| list.iter().any(|known| known.eq_ignore_ascii_case(e)))
}

/// Whether a file (not hidden, inside a root) is a photo candidate: a usual image extension,
/// or no extension and an image signature. RAW files, sidecars and every other extension are
/// not, whatever their first bytes.
pub fn is_photo_file(path: &Path) -> bool {
    if has_extension_in(path, NOT_PHOTOS) {
        return false;
    }
    if has_extension_in(path, EXTENSIONS) {
        return true;
    }
    path.extension().is_none() && has_image_signature(path)
}

/// Reads the first bytes of a file and tells whether they are the signature of an image
/// format (a camera upload named `IMG_0001` with no extension).
fn has_image_signature(path: &Path) -> bool {
    let mut head = [0u8; 32];
    let Ok((mut file, _)) = open_regular(path) else {
        return false;
    };
    let mut len = 0;
    while len < head.len() {
        match file.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    Format::sniff(&head[..len]).is_some()
}

/// Natural order of two paths: component by component, each compared with [`natural_cmp`].
pub fn natural_cmp_paths(a: &Path, b: &Path) -> Ordering {
    let mut a = a.components();
    let mut b = b.components();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = natural_cmp(
                    &x.as_os_str().to_string_lossy(),
                    &y.as_os_str().to_string_lossy(),
                );
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// Natural order of two names: runs of digits compare by value (`IMG_2` < `IMG_10`), the rest
/// case-insensitively; ties are broken by the plain byte order so the order is total.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    while let (Some(&cx), Some(&cy)) = (x.first(), y.first()) {
        if cx.is_ascii_digit() && cy.is_ascii_digit() {
            let (dx, rx) = split_digits(x);
            let (dy, ry) = split_digits(y);
            let (tx, ty) = (trim_zeros(dx), trim_zeros(dy));
            // A longer run of significant digits is a larger number; equal lengths compare
            // digit by digit, so numbers of any length work without overflow.
            let ord = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
            if ord != Ordering::Equal {
                return ord;
            }
            x = rx;
            y = ry;
        } else {
            let ord = cx.to_ascii_lowercase().cmp(&cy.to_ascii_lowercase());
            if ord != Ordering::Equal {
                return ord;
            }
            x = &x[1..];
            y = &y[1..];
        }
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

/// A byte string whose plain byte order is the [`natural_cmp_paths`] order of `path`, so the
/// library keeps and sorts 100,000 paths with `memcmp` instead of parsing both sides of every
/// comparison again.
///
/// Each component becomes its natural form, a 0 byte, its own bytes (the tie-break) and a 0
/// byte; a component ends before any character of a longer one (a 0 byte is below every
/// character) and a path before any longer path. In the natural form a character is its
/// lower-case byte and a run of digits is `0` followed by the length of the number without
/// leading zeros (four bytes) and its digits: a run compares with any other character as a
/// digit would (no other character lies between `0` and `9`), and with another run by
/// length, then digit by digit.
pub fn natural_key(path: &Path) -> Vec<u8> {
    let mut key = Vec::with_capacity(path.as_os_str().len() * 2 + 8);
    for part in path.components() {
        let name = part.as_os_str().to_string_lossy();
        let mut rest = name.as_bytes();
        while let Some(&c) = rest.first() {
            if c.is_ascii_digit() {
                let (digits, after) = split_digits(rest);
                let number = trim_zeros(digits);
                key.push(b'0');
                key.extend_from_slice(
                    &u32::try_from(number.len())
                        .unwrap_or(u32::MAX)
                        .to_be_bytes(),
                );
                key.extend_from_slice(number);
                rest = after;
            } else {
                key.push(c.to_ascii_lowercase());
                rest = &rest[1..];
            }
        }
        key.push(0);
        key.extend_from_slice(name.as_bytes());
        key.push(0);
    }
    key
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort_by(|a, b| natural_cmp(a, b));
        v
    }

    #[test]
    fn numbers_sort_by_value() {
        assert_eq!(
            sorted(&["IMG_10.jpg", "IMG_2.jpg", "IMG_1.jpg", "img_3.jpg"]),
            ["IMG_1.jpg", "IMG_2.jpg", "img_3.jpg", "IMG_10.jpg"]
        );
    }

    #[test]
    fn long_numbers_and_leading_zeros_do_not_overflow_or_tie() {
        assert_eq!(
            sorted(&[
                "a99999999999999999999999",
                "a100000000000000000000000",
                "a007",
                "a7"
            ]),
            [
                "a007",
                "a7",
                "a99999999999999999999999",
                "a100000000000000000000000"
            ]
        );
        assert_ne!(natural_cmp("a007", "a7"), Ordering::Equal);
    }

    #[test]
    fn prefixes_come_first() {
        assert_eq!(sorted(&["ab", "a", "abc"]), ["a", "ab", "abc"]);
    }

    #[test]
    fn paths_sort_component_by_component() {
        let a = Path::new("2023/IMG_2.jpg");
        let b = Path::new("2023/IMG_10.jpg");
        let c = Path::new("2023 trip/IMG_1.jpg");
        assert_eq!(natural_cmp_paths(a, b), Ordering::Less);
        // The folder `2023` sorts before `2023 trip`, whatever the file names inside.
        assert_eq!(natural_cmp_paths(b, c), Ordering::Less);
    }

    #[test]
    fn natural_keys_sort_as_natural_cmp_paths() {
        // Names from a small alphabet that hits every rule: digit runs with and without
        // leading zeros, letters in both cases, characters on both sides of the digits
        // (` `, `.`, `_`, `~`), non-ASCII, and folders.
        const PIECES: &[&str] = &[
            "a", "A", "b", "0", "00", "1", "7", "10", "09", "123", " ", ".", "_", "~", "é", "/",
            "IMG_", "jpg",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut paths: Vec<PathBuf> = (0..600)
            .map(|_| {
                let n = 1 + next() % 6;
                let name: String = (0..n)
                    .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                    .collect();
                PathBuf::from(name)
            })
            .collect();
        paths.extend(
            [
                "IMG_2.jpg",
                "img_10.jpg",
                "a007",
                "a7",
                "2023/x",
                "2023 trip/a",
            ]
            .map(PathBuf::from),
        );
        let keys: Vec<Vec<u8>> = paths.iter().map(|p| natural_key(p)).collect();
        for (a, ka) in paths.iter().zip(&keys) {
            for (b, kb) in paths.iter().zip(&keys) {
                assert_eq!(ka.cmp(kb), natural_cmp_paths(a, b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn hidden_entries() {
        assert!(is_hidden(".thumbnails"));
        assert!(is_hidden("._IMG_0001.JPG"));
        assert!(is_hidden("@eaDir"));
        assert!(!is_hidden("IMG_0001.JPG"));
    }

    #[test]
    fn extensions_in_any_case_and_raw_files_never() {
        assert!(is_photo_file(Path::new("a/B.JPG")));
        assert!(is_photo_file(Path::new("b.Jpeg")));
        assert!(is_photo_file(Path::new("c.HEIC")));
        assert!(!is_photo_file(Path::new("notes.txt")));
        for raw in NOT_PHOTOS {
            assert!(!is_photo_file(Path::new(&format!("IMG_0001.{raw}"))));
            assert!(!EXTENSIONS.contains(raw));
        }
    }
}
