//! Photo discovery: the first stage of the flow, from folders on disk to an ordered list of photos.
//!
//! A real photo library is messy: upper-case extensions, files without one, macOS `._*`
//! companions, NAS thumbnail folders such as `@eaDir`, symlinked folders (sometimes in a loop)
//! and folders that cannot be read. Discovery turns all of that into a list that is
//!
//! - **complete**: every file with a usual image extension (in any case) is listed, and so is
//!   any other file whose first bytes are an image signature; the render stage decides by
//!   content, so a PNG named `.jpg` or a text file named `.jpg` each get their right outcome;
//! - **clean**: hidden files and folders (a leading `.`) and NAS metadata folders are skipped,
//!   and a symlink loop is walked once, never forever;
//! - **stable**: the order is a natural sort of the relative paths (`IMG_2` before `IMG_10`),
//!   and each [`Photo`] carries a [`PhotoId`] (path, size, modification time) that changes
//!   exactly when the file does, so later stages can key caches on it.
//!
//! Problems that do not stop the walk (an unreadable folder, a broken symlink, a FIFO or a
//! device node among the photos) are returned as [`Warning`]s next to the photos; only a root
//! that cannot be used at all is an [`Error`].
//!
//! Every later stage opens photos through [`open_regular`], which never waits on a FIFO and
//! refuses anything that is not a regular file, whenever it appears.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::escape::Escaped;
use crate::format::Format;

/// File extensions (compared case-insensitively) that are always listed as photo candidates.
pub const EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif",
    "avif",
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

/// Why a root given to [`discover`] could not be used.
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

/// How to walk the photo folders.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Folders (or single files) to collect photos from, in the order given.
    pub roots: Vec<PathBuf>,
    /// Folders never to enter, such as an output folder that lies inside an input folder.
    pub exclude: Vec<PathBuf>,
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

/// One photo found by [`discover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    /// Stable identity; `id.path` is where to read the file.
    pub id: PhotoId,
    /// Index of the root (in [`Options::roots`]) the photo was found under.
    pub root: usize,
    /// Path relative to that root (for a root that is a file: its file name).
    pub relative: PathBuf,
}

impl Photo {
    /// The path to read the photo from.
    pub fn path(&self) -> &Path {
        &self.id.path
    }
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Found {
    /// The photos, in a stable natural order: by root, then by relative path.
    pub photos: Vec<Photo>,
    /// Parts of the tree that were skipped because of an error.
    pub warnings: Vec<Warning>,
}

/// Walks every root and lists the photos in it.
///
/// Fails only when a root itself cannot be read; everything below a root that goes wrong is
/// reported in [`Found::warnings`].
pub fn discover(options: &Options) -> Result<Found, Error> {
    let exclude: HashSet<PathBuf> = options
        .exclude
        .iter()
        .filter_map(|p| fs::canonicalize(p).ok())
        .collect();
    let mut found = Found::default();
    for (index, root) in options.roots.iter().enumerate() {
        let canonical = fs::canonicalize(root).map_err(|source| Error::Root {
            path: root.clone(),
            source,
        })?;
        let meta = fs::metadata(&canonical).map_err(|source| Error::Root {
            path: root.clone(),
            source,
        })?;
        let mut walk = Walk {
            root: &canonical,
            index,
            exclude: &exclude,
            visited: HashSet::new(),
            found: &mut found,
        };
        if meta.is_dir() {
            // Read the root now so an unreadable root is an error, not a warning.
            fs::read_dir(&canonical).map_err(|source| Error::Root {
                path: root.clone(),
                source,
            })?;
            walk.dir(&canonical);
        } else {
            let name = canonical.file_name().map(PathBuf::from).unwrap_or_default();
            walk.file(&canonical, name, &meta, true);
        }
    }
    // Roots keep the order given; inside a root the natural order of relative paths.
    found.photos.sort_by(|a, b| {
        a.root
            .cmp(&b.root)
            .then_with(|| natural_cmp_paths(&a.relative, &b.relative))
    });
    Ok(found)
}

/// The state of a walk under one root.
struct Walk<'a> {
    root: &'a Path,
    index: usize,
    exclude: &'a HashSet<PathBuf>,
    /// Canonical folders already entered: a symlink that leads back into one is not followed
    /// again, which is what stops loops.
    visited: HashSet<PathBuf>,
    found: &'a mut Found,
}

impl Walk<'_> {
    fn warn(&mut self, path: &Path, reason: impl ToString) {
        self.found.warnings.push(Warning {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        });
    }

    fn dir(&mut self, dir: &Path) {
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
            } else if meta.is_file() {
                let relative = path.strip_prefix(self.root).unwrap_or(&path).to_path_buf();
                self.file(&path, relative, &meta, false);
            } else {
                // Reading a FIFO waits for a writer, reading a device may never end: neither
                // is a photo, whatever its name.
                let kind = FileKind::of(&meta);
                self.warn(&path, format!("not a regular file but {kind}"));
            }
        }
    }

    /// Lists `path` when it looks like a photo. A file named on the command line is always
    /// listed, so asking for a file explicitly never silently does nothing.
    fn file(&mut self, path: &Path, relative: PathBuf, meta: &fs::Metadata, explicit: bool) {
        if !(explicit || has_image_extension(path) || has_image_signature(path)) {
            return;
        }
        self.found.photos.push(Photo {
            id: PhotoId {
                path: path.to_path_buf(),
                size: meta.len(),
                modified: meta.modified().ok(),
            },
            root: self.index,
            relative,
        });
    }
}

/// Hidden entries (dotfiles such as `.thumbnails` and macOS `._IMG_0001.JPG` companions) and
/// NAS metadata folders are not part of a gallery.
fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|known| known.eq_ignore_ascii_case(e)))
}

/// Reads the first bytes of a file without a usual extension and tells whether they are the
/// signature of an image format (a camera upload named `IMG_0001` with no extension).
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

/// What kind of file system object a path is, for messages about the ones that are not
/// regular files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A folder.
    Directory,
    /// A named pipe: reading it waits for a writer, maybe forever.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A character device (`/dev/zero`, a terminal): reading may never end or have effects.
    CharDevice,
    /// A block device (a disk).
    BlockDevice,
    /// Anything else the platform has.
    Other,
}

impl FileKind {
    /// The kind of the object `meta` describes.
    pub fn of(meta: &fs::Metadata) -> FileKind {
        let kind = meta.file_type();
        if kind.is_file() {
            return FileKind::Regular;
        }
        if kind.is_dir() {
            return FileKind::Directory;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if kind.is_fifo() {
                return FileKind::Fifo;
            }
            if kind.is_socket() {
                return FileKind::Socket;
            }
            if kind.is_char_device() {
                return FileKind::CharDevice;
            }
            if kind.is_block_device() {
                return FileKind::BlockDevice;
            }
        }
        FileKind::Other
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Regular => "a regular file",
            FileKind::Directory => "a folder",
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Other => "a special file",
        })
    }
}

/// Why [`open_regular`] refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The path names something other than a regular file.
    #[error("not a regular file but {0}")]
    NotRegular(FileKind),
    /// Opening or inspecting the file failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Opens `path` for reading if, and only if, it is a regular file, and returns it with its
/// metadata.
///
/// The type is checked twice: on the path before opening, so a device node is never opened at
/// all (opening some devices has effects), and on the open descriptor (`fstat`), so a file
/// swapped for a FIFO in between is still refused. The open itself is non-blocking, so even
/// then it returns at once instead of waiting for a FIFO's writer.
pub fn open_regular(path: &Path) -> Result<(File, fs::Metadata), OpenError> {
    let kind = FileKind::of(&fs::metadata(path)?);
    if kind != FileKind::Regular {
        return Err(OpenError::NotRegular(kind));
    }
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK has no effect on reads of a regular file; O_NOCTTY keeps a terminal
        // from becoming the process's controlling terminal.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    match FileKind::of(&meta) {
        FileKind::Regular => Ok((file, meta)),
        kind => Err(OpenError::NotRegular(kind)),
    }
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
    fn hidden_entries() {
        assert!(is_hidden(".thumbnails"));
        assert!(is_hidden("._IMG_0001.JPG"));
        assert!(is_hidden("@eaDir"));
        assert!(!is_hidden("IMG_0001.JPG"));
    }

    #[test]
    fn extensions_in_any_case() {
        assert!(has_image_extension(Path::new("a/B.JPG")));
        assert!(has_image_extension(Path::new("b.Jpeg")));
        assert!(has_image_extension(Path::new("c.HEIC")));
        assert!(!has_image_extension(Path::new("notes.txt")));
        assert!(!has_image_extension(Path::new("noext")));
    }
}
