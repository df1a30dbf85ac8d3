//! Opening photo files without ever hanging on one.
//!
//! A photo folder can hold anything a file system can: a FIFO left by a script, a socket, a
//! device node, or a photo replaced by one of these while the server runs. Reading a FIFO
//! waits for a writer, maybe forever, and opening some devices has effects. So every stage
//! that reads a photo (the walk sniffing a file with no extension, the library reading a
//! header, the render pipeline reading the whole file) opens it through [`open_regular`],
//! which refuses anything but a regular file, at the moment it is opened.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::Path;

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
