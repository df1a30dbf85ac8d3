//! The order of the slideshow, and the place in it that survives a restart.
//!
//! A [`Playlist`] is a view of the library's snapshot: the photos of the chosen albums,
//! sorted for the chosen [`Order`], and a cursor (the photo on screen). The cursor is a
//! position in that order, not an index, so photos that come and go around it never make
//! the slideshow jump or repeat: the next photo is always the first one after the cursor.
//!
//! Shuffle is a deck: each round is a fresh random order of every photo, shown once; a photo
//! added during a round gets a place in what is left of it; the first photo of a round is
//! never the last one of the round before. The order of a round is a keyed hash of each path,
//! so the whole deck is described by a seed, the cursor and the few photos placed by hand,
//! which is what [`Resume`] writes to disk.
//!
//! Pure code: sorting a view of 100,000 photos takes milliseconds of CPU, so callers run
//! [`Playlist::refresh`] and [`Playlist::new_round`] on the worker pool.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::library::{Photo, Snapshot};

/// The orders the slideshow can play in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Natural name order (`IMG_2` before `IMG_10`), root by root.
    #[default]
    Name,
    /// Date taken, oldest first.
    Date,
    /// A shuffled deck: every photo once per round, in a new order each round.
    Shuffle,
    /// Date taken, newest first.
    Recent,
}

impl Order {
    /// The name used on the command line and in the resume file.
    pub fn name(self) -> &'static str {
        match self {
            Order::Name => "name",
            Order::Date => "date",
            Order::Shuffle => "shuffle",
            Order::Recent => "recent",
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Order {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Order::Name, Order::Date, Order::Shuffle, Order::Recent]
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("'{s}' is not an order: use name, date, shuffle or recent"))
    }
}

/// Where the slideshow is: the photo on screen, as a position in the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The photo's path.
    pub path: PathBuf,
    /// Its root's index.
    pub root: usize,
    /// Its path relative to the root (the name order).
    pub relative: PathBuf,
    /// Its sort key in the order (see [`Playlist`]).
    pub key: u64,
}

/// The state that survives a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// Format version of this file.
    pub version: u32,
    /// The order it was written for; another order starts from the beginning.
    pub order: String,
    /// The photo on screen.
    pub cursor: Option<Cursor>,
    /// Shuffle: the seed of the current round.
    pub seed: u64,
    /// Shuffle: rounds played.
    pub round: u64,
    /// Shuffle: photos added during the round, with the place they were given.
    pub placed: Vec<(PathBuf, u64)>,
    /// The photo shown last, never the first of the next round.
    pub last: Option<PathBuf>,
}

const RESUME_VERSION: u32 = 1;
/// At most this many photos are placed by hand in a round; more wait for the next round (the
/// resume file stays small).
const MAX_PLACED: usize = 10_000;

impl Resume {
    /// Reads a resume file; anything unreadable is `None` (start from the beginning).
    pub fn load(path: &Path) -> Option<Resume> {
        let text = std::fs::read(path).ok()?;
        serde_json::from_slice::<Resume>(&text)
            .ok()
            .filter(|r| r.version == RESUME_VERSION)
    }

    /// Writes the file atomically: to a temporary name next to it, synced, then renamed over
    /// it, so a crash leaves the old position or the new one, never half of one.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let result = (|| {
            let mut file = std::fs::File::create(&partial)?;
            file.write_all(&json)?;
            file.sync_data()?;
            std::fs::rename(&partial, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    }
}

/// One photo of the view with its sort key.
#[derive(Debug, Clone)]
struct Entry {
    key: u64,
    photo: Arc<Photo>,
}

/// What [`Playlist::advance`] found.
#[derive(Debug, Clone)]
pub enum Step {
    /// The next photo; the cursor is on it now.
    Photo(Arc<Photo>),
    /// Shuffle: the round is over; call [`Playlist::new_round`] and advance again.
    EndOfRound,
    /// Nothing to play.
    Empty,
}

/// The photos in play order, and the place in them.
///
/// Sort keys: `name` sorts by name alone (key 0); `date` by the date taken, `recent` by its
/// reverse, `shuffle` by a keyed hash of the path; ties always fall back to the name order.
#[derive(Debug)]
pub struct Playlist {
    order: Order,
    albums: Vec<String>,
    view: Vec<Entry>,
    /// The snapshot generation the view was built from.
    generation: Option<u64>,
    cursor: Option<Cursor>,
    seed: u64,
    round: u64,
    placed: HashMap<PathBuf, u64>,
    last: Option<PathBuf>,
    /// The state of the random numbers for seeds and placements.
    rng: u64,
}

impl Playlist {
    /// A playlist in `order` over the photos of `albums` (all when empty), resumed from
    /// `resume` when it was written for the same order. `entropy` seeds the shuffles.
    pub fn new(order: Order, albums: Vec<String>, resume: Option<Resume>, entropy: u64) -> Self {
        let mut playlist = Playlist {
            order,
            albums,
            view: Vec::new(),
            generation: None,
            cursor: None,
            seed: 0,
            round: 0,
            placed: HashMap::new(),
            last: None,
            rng: entropy,
        };
        playlist.seed = playlist.random();
        if let Some(r) = resume.filter(|r| r.order == order.name()) {
            playlist.cursor = r.cursor;
            playlist.seed = r.seed;
            playlist.round = r.round;
            playlist.placed = r.placed.into_iter().collect();
            playlist.last = r.last;
        }
        playlist
    }

    /// The order played.
    pub fn order(&self) -> Order {
        self.order
    }

    /// Photos in play.
    pub fn len(&self) -> usize {
        self.view.len()
    }

    /// Whether nothing is in play.
    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    /// Rounds completed (shuffle).
    pub fn round(&self) -> u64 {
        self.round
    }

    /// Whether `snapshot` is newer than the view.
    pub fn is_stale(&self, snapshot: &Snapshot) -> bool {
        self.generation != Some(snapshot.generation)
    }

    /// Rebuilds the view from `snapshot`. In a shuffle, photos new since the last view that
    /// would sort before the cursor get a place after it, so they join the current round.
    pub fn refresh(&mut self, snapshot: &Snapshot) {
        let previous = self.generation;
        self.generation = Some(snapshot.generation);
        let wanted =
            |p: &Photo| self.albums.is_empty() || self.albums.iter().any(|a| **a == *p.album);
        let photos: Vec<Arc<Photo>> = snapshot
            .photos
            .iter()
            .filter(|p| wanted(p))
            .cloned()
            .collect();
        if self.order == Order::Shuffle
            && let (Some(previous), Some(cursor)) = (previous, self.cursor.clone())
        {
            for p in &photos {
                if p.added > previous
                    && self.placed.len() < MAX_PLACED
                    && !self.placed.contains_key(p.path())
                    && self.compare(self.key(p), p, &cursor) == Ordering::Less
                {
                    let span = (1u64 << 63) - cursor.key;
                    let place = cursor.key + 1 + self.random() % span.max(1);
                    self.placed
                        .insert(p.path().to_path_buf(), place.min((1 << 63) - 1));
                }
            }
        }
        if !self.placed.is_empty() {
            let present: std::collections::HashSet<&Path> =
                photos.iter().map(|p| p.path()).collect();
            self.placed
                .retain(|path, _| present.contains(path.as_path()));
        }
        self.view = photos
            .into_iter()
            .map(|photo| Entry {
                key: self.key(&photo),
                photo,
            })
            .collect();
        self.sort();
    }

    /// Starts a new shuffle round: a new seed, nothing placed, and a first photo that is not
    /// the last one shown.
    pub fn new_round(&mut self) {
        self.round += 1;
        self.seed = self.random();
        self.placed.clear();
        self.cursor = None;
        for i in 0..self.view.len() {
            self.view[i].key = self.key(&self.view[i].photo);
        }
        self.sort();
        if self.view.len() >= 2 && self.last.as_deref() == Some(self.view[0].photo.path()) {
            let key = self.view[1].key + 1;
            self.placed
                .insert(self.view[0].photo.path().to_path_buf(), key);
            self.view[0].key = key;
            self.sort();
        }
    }

    /// Moves to the next photo after the cursor.
    pub fn advance(&mut self) -> Step {
        if self.view.is_empty() {
            return Step::Empty;
        }
        let mut i = self.next_index();
        if i == self.view.len() {
            if self.order == Order::Shuffle {
                return Step::EndOfRound;
            }
            i = 0;
        }
        let entry = &self.view[i];
        self.cursor = Some(Cursor {
            path: entry.photo.path().to_path_buf(),
            root: entry.photo.root,
            relative: entry.photo.relative.clone(),
            key: entry.key,
        });
        self.last = Some(entry.photo.path().to_path_buf());
        Step::Photo(Arc::clone(&entry.photo))
    }

    /// The next `n` photos after the cursor (to render ahead); a shuffle does not look past
    /// the end of its round.
    pub fn upcoming(&self, n: usize) -> Vec<Arc<Photo>> {
        let len = self.view.len();
        let start = self.next_index();
        (0..n.min(len.saturating_sub(1)))
            .map(|k| start + k)
            .take_while(|&i| self.order != Order::Shuffle || i < len)
            .map(|i| Arc::clone(&self.view[i % len].photo))
            .collect()
    }

    /// The place in the slideshow, to write to disk.
    pub fn resume(&self) -> Resume {
        let mut placed: Vec<(PathBuf, u64)> =
            self.placed.iter().map(|(p, k)| (p.clone(), *k)).collect();
        placed.sort();
        Resume {
            version: RESUME_VERSION,
            order: self.order.name().to_string(),
            cursor: self.cursor.clone(),
            seed: self.seed,
            round: self.round,
            placed,
            last: self.last.clone(),
        }
    }

    /// Index of the first entry after the cursor (`len` when none is).
    fn next_index(&self) -> usize {
        match &self.cursor {
            None => 0,
            Some(c) => self
                .view
                .partition_point(|e| self.compare(e.key, &e.photo, c) != Ordering::Greater),
        }
    }

    fn compare(&self, key: u64, photo: &Photo, cursor: &Cursor) -> Ordering {
        key.cmp(&cursor.key)
            .then_with(|| photo.cmp_name(cursor.root, &cursor.relative))
    }

    fn sort(&mut self) {
        // The snapshot is in name order and the sort is stable: equal keys stay in it.
        if self.order != Order::Name {
            self.view.sort_by_key(|e| e.key);
        }
    }

    fn key(&self, photo: &Photo) -> u64 {
        // Dates map to u64 keeping their order (flip the sign bit).
        let date = (photo.info.taken as u64) ^ (1 << 63);
        match self.order {
            Order::Name => 0,
            Order::Date => date,
            Order::Recent => !date,
            Order::Shuffle => self
                .placed
                .get(photo.path())
                .copied()
                .unwrap_or_else(|| deck_key(self.seed, photo.path())),
        }
    }

    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.rng)
    }
}

/// A photo's place in the round of `seed`: a hash of its path, below 2^63 so that a place
/// after any key always exists.
fn deck_key(seed: u64, path: &Path) -> u64 {
    // FNV-1a over the path, then mixed with the seed: stable across runs and platforms.
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in path.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01B3);
    }
    mix(h ^ seed) >> 1
}

/// SplitMix64's finaliser: every bit of the input affects every bit of the output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::{Info, PhotoId};

    fn photo(name: &str, taken: i64, added: u64) -> Arc<Photo> {
        Arc::new(Photo {
            id: PhotoId {
                path: PathBuf::from("/p").join(name),
                size: 1,
                modified: None,
            },
            root: 0,
            relative: PathBuf::from(name),
            info: Info {
                format: None,
                dimensions: None,
                orientation: None,
                taken,
                taken_exif: true,
                gps: None,
            },
            album: Arc::from("p"),
            added,
        })
    }

    fn snapshot(generation: u64, photos: Vec<Arc<Photo>>) -> Snapshot {
        let mut photos = photos;
        photos.sort_by(|a, b| crate::library::natural_cmp_paths(&a.relative, &b.relative));
        Snapshot {
            photos,
            generation,
            albums: Vec::new(),
            complete: true,
        }
    }

    fn play(p: &mut Playlist, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < n {
            match p.advance() {
                Step::Photo(photo) => out.push(photo.relative.display().to_string()),
                Step::EndOfRound => p.new_round(),
                Step::Empty => break,
            }
        }
        out
    }

    #[test]
    fn name_date_and_recent() {
        let photos = vec![photo("b10", 30, 1), photo("b2", 10, 1), photo("a", 20, 1)];
        let snap = snapshot(1, photos);
        let mut p = Playlist::new(Order::Name, vec![], None, 1);
        p.refresh(&snap);
        assert_eq!(play(&mut p, 4), ["a", "b2", "b10", "a"]);
        let mut p = Playlist::new(Order::Date, vec![], None, 1);
        p.refresh(&snap);
        assert_eq!(play(&mut p, 3), ["b2", "a", "b10"]);
        let mut p = Playlist::new(Order::Recent, vec![], None, 1);
        p.refresh(&snap);
        assert_eq!(play(&mut p, 3), ["b10", "a", "b2"]);
    }

    #[test]
    fn shuffle_rounds_hold_every_photo_once_and_never_repeat_across_rounds() {
        let names: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
        let snap = snapshot(1, names.iter().map(|n| photo(n, 0, 1)).collect());
        let mut p = Playlist::new(Order::Shuffle, vec![], None, 42);
        p.refresh(&snap);
        let played = play(&mut p, 7 * 20);
        for (r, round) in played.chunks(7).enumerate() {
            let mut sorted = round.to_vec();
            sorted.sort();
            assert_eq!(sorted, names, "round {r}: {round:?}");
        }
        assert!(played.windows(2).all(|w| w[0] != w[1]), "{played:?}");
        let first_rounds: Vec<&[String]> = played.chunks(7).take(3).collect();
        assert_ne!(first_rounds[0], first_rounds[1], "rounds differ");
    }

    #[test]
    fn a_photo_added_mid_round_joins_the_round() {
        let mut photos: Vec<Arc<Photo>> = (0..10).map(|i| photo(&format!("p{i}"), 0, 1)).collect();
        let mut p = Playlist::new(Order::Shuffle, vec![], None, 7);
        p.refresh(&snapshot(1, photos.clone()));
        let mut seen = play(&mut p, 5);
        photos.push(photo("new", 0, 2));
        p.refresh(&snapshot(2, photos));
        seen.extend(play(&mut p, 6));
        seen.sort();
        let mut all: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
        all.push("new".into());
        all.sort();
        assert_eq!(seen, all, "eleven photos in the round, each once");
    }

    #[test]
    fn the_place_survives_a_restart_even_when_its_photo_is_gone() {
        let photos: Vec<Arc<Photo>> = (1..=5).map(|i| photo(&format!("p{i}"), 0, 1)).collect();
        let mut p = Playlist::new(Order::Shuffle, vec![], None, 3);
        p.refresh(&snapshot(1, photos.clone()));
        let before = play(&mut p, 2);
        let saved = p.resume();
        let json = serde_json::to_string(&saved).expect("serialises");
        let restored: Resume = serde_json::from_str(&json).expect("parses");
        let mut q = Playlist::new(Order::Shuffle, vec![], Some(restored.clone()), 99);
        let rest: Vec<Arc<Photo>> = photos
            .into_iter()
            .filter(|ph| ph.relative.to_str() != Some(before[1].as_str()))
            .collect();
        q.refresh(&snapshot(1, rest));
        let after = play(&mut q, 3);
        let mut round: Vec<String> = before.iter().chain(&after).cloned().collect();
        round.retain(|n| n != &before[1]);
        round.sort();
        round.dedup();
        assert_eq!(round.len(), 4, "{before:?} then {after:?}");
        // Another order starts from the beginning.
        let mut r = Playlist::new(Order::Name, vec![], Some(restored), 1);
        r.refresh(&snapshot(1, vec![photo("a", 0, 1), photo("b", 0, 1)]));
        assert_eq!(play(&mut r, 1), ["a"]);
    }

    #[test]
    fn orders_parse() {
        assert_eq!("Shuffle".parse::<Order>(), Ok(Order::Shuffle));
        assert!("random".parse::<Order>().is_err());
    }
}
