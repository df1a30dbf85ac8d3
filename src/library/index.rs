//! The persisted index: what the library knows of every photo, kept in SQLite between runs.
//!
//! A restart with 100,000 photos must not read 100,000 headers again: the index keeps, per
//! file, the identity the header was read for (size and modification time) and what it said.
//! A walk that finds the same size and time trusts the row; anything else is read again.
//!
//! The index is a cache and nothing but: every row can be rebuilt from the disk, so a missing,
//! corrupt or foreign file (another program's database, an older schema) is moved aside with a
//! warning and rebuilt, never a reason not to start. SQLite (bundled, so every machine runs
//! the same tested version) gives crash-safe writes with a journal, and loading 100,000 rows
//! takes a fraction of a second.
//!
//! One table, one row per file, keyed by the path's bytes (paths need not be UTF-8):
//!
//! | column | why |
//! | --- | --- |
//! | `path` | the key; also what a root's rows are selected by (a byte range) |
//! | `size`, `mtime_ns` | the identity the row was read for; a mismatch means "read again" |
//! | `format`, `width`, `height`, `orientation` | the header, for status and future layout |
//! | `taken`, `taken_exif` | date order without reading EXIF again, and where it came from |
//! | `latitude`, `longitude` | the GPS position when the photo has one |
//! | `album` | the top-level folder, for `/api/albums` and `--album` |
//!
//! The schema version is SQLite's `user_version` and the file is marked as framecast's with
//! `application_id`, so a file that is not ours is never read as if it were.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::escape::Escaped;
use crate::format::Format;

/// `FCIX` in ASCII: marks an SQLite file as framecast's index.
const APPLICATION_ID: i64 = 0x4643_4958;
/// Bump when the table changes: an index of another version is rebuilt.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE photo (
    path        BLOB PRIMARY KEY NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER,
    format      TEXT,
    width       INTEGER,
    height      INTEGER,
    orientation INTEGER,
    taken       INTEGER NOT NULL,
    taken_exif  INTEGER NOT NULL,
    latitude    REAL,
    longitude   REAL,
    album       TEXT NOT NULL
) WITHOUT ROWID;
";

/// Every format, for reading the `format` column back.
const FORMATS: &[Format] = &[
    Format::Jpeg,
    Format::Png,
    Format::Gif,
    Format::WebP,
    Format::Bmp,
    Format::Tiff,
    Format::Heic,
    Format::Avif,
];

/// One photo as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Absolute path.
    pub path: PathBuf,
    /// Size in bytes when the header was read.
    pub size: u64,
    /// Modification time when the header was read.
    pub modified: Option<SystemTime>,
    /// Format from the content; `None` when the header could not be read (rendering then
    /// says why).
    pub format: Option<Format>,
    /// Stored pixel size, when known.
    pub dimensions: Option<(u32, u32)>,
    /// Raw EXIF orientation.
    pub orientation: Option<u16>,
    /// Date taken, seconds since 1970.
    pub taken: i64,
    /// Whether `taken` came from EXIF (else from the file time).
    pub taken_exif: bool,
    /// Latitude and longitude.
    pub gps: Option<(f64, f64)>,
    /// Album name.
    pub album: String,
}

/// Why the index could not be used; the library then runs without one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite refused an operation.
    #[error("index database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The state folder could not be created or the old file moved aside.
    #[error("index file: {0}")]
    Io(#[from] std::io::Error),
}

/// The open index.
pub struct Store {
    conn: Connection,
    /// Where it lives.
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the index at `path`. A file that cannot be used is moved aside and
    /// rebuilt; the warnings say what happened. Fails only when no file can be made there.
    pub fn open(path: &Path, warnings: &mut Vec<String>) -> Result<Store, Error> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        match Self::open_checked(path) {
            Ok(store) => Ok(store),
            Err(why) => {
                warnings.push(format!(
                    "the index {} cannot be used ({why}); rebuilding it",
                    Escaped::path(path)
                ));
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut file = path.as_os_str().to_owned();
                    file.push(suffix);
                    match fs::remove_file(PathBuf::from(file)) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Self::open_checked(path).map_err(|why| match why {
                    Opened::Sql(e) => Error::Sql(e),
                    Opened::Foreign(_) => Error::Io(std::io::Error::other(
                        "a fresh index file was not recognised",
                    )),
                })
            }
        }
    }

    fn open_checked(path: &Path) -> Result<Store, Opened> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Two servers sharing a state folder wait for each other's writes instead of failing.
        conn.busy_timeout(Duration::from_secs(5))?;
        let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if app == 0 && version == 0 && tables == 0 {
            conn.execute_batch(SCHEMA)?;
            conn.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
            ))?;
        } else if app != APPLICATION_ID {
            return Err(Opened::Foreign("not a framecast index".into()));
        } else if version != SCHEMA_VERSION {
            return Err(Opened::Foreign(format!(
                "index version {version}, this framecast writes version {SCHEMA_VERSION}"
            )));
        }
        // A light integrity check: the table must be readable end to end in its key order.
        conn.query_row("SELECT count(*) FROM photo", [], |r| r.get::<_, i64>(0))?;
        // WAL: readers never wait for the writer, and a crash loses at most the last batch.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Where the index lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every row of the root at `root` (the file itself, or everything under the folder).
    pub fn load(&self, root: &Path) -> Result<Vec<Row>, Error> {
        let exact = path_bytes(root);
        let mut lower = exact.clone();
        if lower.last() != Some(&b'/') {
            lower.push(b'/');
        }
        // Every path under the folder starts with "root/": the byte range up to "root0"
        // ('0' follows '/') holds exactly them.
        let mut upper = lower.clone();
        if let Some(last) = upper.last_mut() {
            *last += 1;
        }
        let mut stmt = self.conn.prepare(
            "SELECT path, size, mtime_ns, format, width, height, orientation, taken, taken_exif,
                    latitude, longitude, album
             FROM photo WHERE path = ?1 OR (path >= ?2 AND path < ?3)",
        )?;
        let mut rows = stmt.query(params![exact, lower, upper])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            // A format this build does not know: leave the row out and read the file again.
            let format = match r
                .get_ref(3)?
                .as_str_or_null()
                .map_err(rusqlite::Error::from)?
            {
                None => None,
                Some(name) => match FORMATS.iter().find(|f| f.name() == name) {
                    Some(f) => Some(*f),
                    None => continue,
                },
            };
            let width: Option<u32> = r.get(4)?;
            let height: Option<u32> = r.get(5)?;
            let dimensions = width.zip(height);
            // HEIF rows written before HEIF headers were read have no size: read them again
            // (a HEIF file whose header fails is kept with no format, so this is once).
            if matches!(format, Some(Format::Heic | Format::Avif)) && dimensions.is_none() {
                continue;
            }
            let latitude: Option<f64> = r.get(9)?;
            let longitude: Option<f64> = r.get(10)?;
            out.push(Row {
                path: path_from_bytes(
                    r.get_ref(0)?
                        .as_blob()
                        .map_err(rusqlite::Error::from)?
                        .to_vec(),
                ),
                size: r.get::<_, i64>(1)? as u64,
                modified: r.get::<_, Option<i64>>(2)?.map(time_from_ns),
                format,
                dimensions,
                orientation: r.get(6)?,
                taken: r.get(7)?,
                taken_exif: r.get(8)?,
                gps: latitude.zip(longitude),
                album: r.get(11)?,
            });
        }
        Ok(out)
    }

    /// Writes rows and removes paths in one transaction.
    pub fn write(&mut self, put: &[Row], remove: &[PathBuf]) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO photo (path, size, mtime_ns, format, width, height,
                    orientation, taken, taken_exif, latitude, longitude, album)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for row in put {
                insert.execute(params![
                    path_bytes(&row.path),
                    row.size as i64,
                    row.modified.map(time_to_ns),
                    row.format.map(Format::name),
                    row.dimensions.map(|d| d.0),
                    row.dimensions.map(|d| d.1),
                    row.orientation,
                    row.taken,
                    row.taken_exif,
                    row.gps.map(|g| g.0),
                    row.gps.map(|g| g.1),
                    row.album,
                ])?;
            }
            let mut delete = tx.prepare("DELETE FROM photo WHERE path = ?1")?;
            for path in remove {
                delete.execute(params![path_bytes(path)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Rows in the index (all roots).
    pub fn count(&self) -> Result<u64, Error> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM photo", [], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0) as u64)
    }
}

/// Why an existing file was not used as the index.
enum Opened {
    Sql(rusqlite::Error),
    Foreign(String),
}

impl From<rusqlite::Error> for Opened {
    fn from(e: rusqlite::Error) -> Self {
        Opened::Sql(e)
    }
}

impl std::fmt::Display for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Opened::Sql(e) => write!(f, "{e}"),
            Opened::Foreign(why) => f.write_str(why),
        }
    }
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// Nanoseconds since 1970 (negative before): exact for every time a file system stores.
pub fn time_to_ns(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// The inverse of [`time_to_ns`].
pub fn time_from_ns(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str) -> Row {
        Row {
            path: PathBuf::from(path),
            size: 1234,
            modified: Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)),
            format: Some(Format::Png),
            dimensions: Some((640, 480)),
            orientation: Some(6),
            taken: 1_600_000_000,
            taken_exif: true,
            gps: Some((48.5, -2.25)),
            album: "2023".into(),
        }
    }

    #[test]
    fn rows_round_trip_and_roots_select_their_own() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("state/index.sqlite");
        let mut warnings = Vec::new();
        let mut store = Store::open(&file, &mut warnings).expect("opens");
        assert!(warnings.is_empty());
        let rows = [
            row("/p/a.jpg"),
            row("/p/sub/b.jpg"),
            row("/p0/c.jpg"),
            row("/q.jpg"),
        ];
        store.write(&rows, &[]).expect("writes");
        drop(store);
        let mut store = Store::open(&file, &mut warnings).expect("reopens");
        assert!(warnings.is_empty(), "{warnings:?}");
        let under_p = store.load(Path::new("/p")).expect("loads");
        assert_eq!(under_p, rows[..2]);
        assert_eq!(store.load(Path::new("/q.jpg")).expect("loads"), rows[3..]);
        store
            .write(&[], &[PathBuf::from("/p/a.jpg")])
            .expect("removes");
        assert_eq!(store.count().expect("counts"), 3);
    }

    #[test]
    fn heif_rows_without_a_size_are_read_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store =
            Store::open(&dir.path().join("index.sqlite"), &mut Vec::new()).expect("opens");
        let mut sized = row("/p/a.heic");
        sized.format = Some(Format::Heic);
        let mut sizeless = row("/p/b.heic");
        sizeless.format = Some(Format::Avif);
        sizeless.dimensions = None;
        let mut unreadable = row("/p/c.heic");
        unreadable.format = None;
        unreadable.dimensions = None;
        store
            .write(&[sized.clone(), sizeless, unreadable.clone()], &[])
            .expect("writes");
        assert_eq!(
            store.load(Path::new("/p")).expect("loads"),
            [sized, unreadable]
        );
    }

    #[test]
    fn foreign_and_corrupt_files_are_rebuilt_with_a_warning() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("index.sqlite");
        fs::write(
            &file,
            b"this is not a database, just some text of some length",
        )
        .expect("write");
        let mut warnings = Vec::new();
        let store = Store::open(&file, &mut warnings).expect("rebuilt");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(store.count().expect("counts"), 0);
        drop(store);

        let other = Connection::open(&file).expect("sqlite");
        other
            .execute_batch("PRAGMA application_id = 0; CREATE TABLE t (x);")
            .expect("foreign schema");
        drop(other);
        let mut warnings = Vec::new();
        Store::open(&file, &mut warnings).expect("rebuilt");
        assert!(
            warnings[0].contains("not a framecast index"),
            "{warnings:?}"
        );
    }

    #[test]
    fn times_round_trip_exactly() {
        for t in [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_700_000_000, 1),
            UNIX_EPOCH - Duration::new(86_400, 5),
        ] {
            assert_eq!(time_from_ns(time_to_ns(t)), t);
        }
    }
}
