//! File-system notifications, and when they cannot be trusted.
//!
//! `notify` reports changes (inotify on Linux); its debouncer coalesces a burst (a copy of
//! 500 photos, an editor saving in several writes) into one event per file and kind, and
//! passes the kernel's "queue overflowed" on as a rescan request. Notifications are absent or
//! silent in places people keep photos: network shares (changes made on the server or another
//! client are never reported), WSL's Windows drives, and any tree past the inotify watch
//! limit. Those roots are polled instead, with a full walk every `--rescan`.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use notify_debouncer_full::notify::{self, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use super::Message;

/// How long the debouncer gathers events of one file before passing them on.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// The watcher of every watched root.
pub struct Watcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
}

impl Watcher {
    /// Starts a watcher that sends what it sees to the library thread.
    pub fn start(control: mpsc::Sender<Message>) -> Result<Watcher, String> {
        let handler = move |result: DebounceEventResult| {
            let _ = control.send(Message::Events(result));
        };
        let debouncer = new_debouncer(DEBOUNCE, None, handler).map_err(|e| describe(&e))?;
        Ok(Watcher { debouncer })
    }

    /// Watches the tree at `root`.
    pub fn watch(&mut self, root: &Path) -> Result<(), String> {
        self.debouncer
            .watch(root, RecursiveMode::Recursive)
            .map_err(|e| describe(&e))
    }

    /// Stops watching `root` (it went away, or is polled from now on).
    pub fn unwatch(&mut self, root: &Path) {
        let _ = self.debouncer.unwatch(root);
    }
}

/// A watch error in words a user can act on.
pub fn describe(e: &notify::Error) -> String {
    match e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the inotify watch limit was reached (raise fs.inotify.max_user_watches)".into()
        }
        _ => format!("file-system notifications failed ({e})"),
    }
}

/// Why notifications cannot be trusted for `path`: the file system it lives on reports only
/// the changes made through this machine's kernel, if any.
pub fn unreliable_file_system(path: &Path) -> Option<String> {
    let fstype = file_system(path)?;
    let network = [
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "drvfs",
        "afs",
        "ceph",
        "glusterfs",
        "davfs",
        "ncpfs",
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.davfs2",
        "fuse.gvfsd-fuse",
        "fuse.s3fs",
    ];
    network.contains(&fstype.as_str()).then(|| {
        format!("{fstype} is a network file system: changes made elsewhere are not reported")
    })
}

/// The type of the file system mounted deepest above `path` (Linux: `/proc/self/mountinfo`).
fn file_system(path: &Path) -> Option<String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String)> = None;
    for line in table.lines() {
        // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let (Some(mount_point), Some(fstype)) = (left.split(' ').nth(4), right.split(' ').next())
        else {
            continue;
        };
        let mount_point = unescape(mount_point);
        if path.starts_with(&mount_point) {
            let depth = Path::new(&mount_point).components().count();
            if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
                best = Some((depth, fstype.to_string()));
            }
        }
    }
    best.map(|(_, fstype)| fstype)
}

/// Mount points escape spaces and a few other bytes as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(oct) = s.get(i + 1..i + 4)
            && let Ok(v) = u8::from_str_radix(oct, 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_folders_are_trusted() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(unreliable_file_system(dir.path()), None);
        assert_eq!(unescape(r"/mnt/My\040Photos"), "/mnt/My Photos");
    }
}
