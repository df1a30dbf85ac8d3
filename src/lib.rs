//! framecast turns a folder of photos into one MJPEG stream of uniform frames that any screen
//! on a home network can show.
//!
//! ```text
//! escape ─▶ format ─▶ file ─▶ render ─▶ library ─▶ pool ─▶ cache ─▶ schedule ─▶ http ─▶ server
//!                             (pixels)  (folders)  (CPU)   (frames) (timeline)  (clients)
//! ```
//!
//! The data flows one way and the modules are declared in that order; a module only uses the
//! ones declared before it (`tests/layering.rs` checks).
//!
//! - [`escape`] shows file names safely in logs and reports: control characters, terminal
//!   escapes and invalid UTF-8 in a name become visible escapes, so no name can forge a line.
//! - [`format`](mod@format) names the image formats and recognises them by their first bytes; discovery and
//!   decoding share it, so a file is judged by its content, never by its name.
//! - [`file`] opens photo files for every later stage, refusing FIFOs, sockets and devices at
//!   the moment they are opened, so no stage ever hangs on one.
//! - [`render`] is the pure, synchronous image pipeline: it turns the bytes of one photo into
//!   one JPEG [`render::Frame`] of exactly the configured size, upright, in sRGB, filled as its
//!   [`render::Fit`] says (letterboxed, over a blurred copy, cropped to cover, or two portraits
//!   side by side), with no metadata. It knows nothing of threads or HTTP,
//!   so it is tested on its own. Its header reader ([`render::header`]) says what a photo is
//!   without decoding it.
//! - [`library`] knows which photos exist and keeps knowing while the disk changes: it walks
//!   and watches the folders, reads each new photo's header once (so it comes after `render`),
//!   keeps an index on disk, and publishes snapshots of [`library::Photo`]s, each with a stable
//!   identity (path, size, modification time) that caches key on.
//! - [`pool`] is the rayon pool where all CPU work runs, and the only bridge from it to async
//!   code.
//! - [`cache`] keeps rendered frames in an LRU bounded by bytes, so each frame is encoded once
//!   and shared by every client, and ([`cache::disk`]) a copy of them in a folder bounded by
//!   bytes, so a restart serves them from disk instead of rendering them again.
//! - [`schedule`] is the shared timeline: the library's photos in the chosen order, one after
//!   another, rendered ahead, published to every client at once.
//! - [`http`] serves the MJPEG stream, snapshots, the viewer page and status; it only reads what
//!   the schedule and the cache hold.
//! - [`server`] wires them together for the `serve` command and the tests.
//!
//! The command-line front end (`framecast render`, `framecast serve`) lives in the binary.
#![deny(missing_docs)]

pub mod escape;
pub mod format;
pub mod file;
pub mod render;
pub mod library;
pub mod pool;
pub mod cache;
pub mod schedule;
pub mod http;
pub mod server;
