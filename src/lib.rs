//! framecast turns a folder of photos into frames of one fixed size that any screen can show.
//!
//! ```text
//! format ─▶ discover ──▶ render (decode → colour → orient → fit → encode) ──▶ Frame
//! ```
//!
//! The data flows one way and the modules are declared in that order; a module only uses the
//! ones declared before it.
//!
//! - [`format`] names the image formats and recognises them by their first bytes; discovery and
//!   decoding share it, so a file is judged by its content, never by its name.
//! - [`discover`] walks the photo folders and yields an ordered list of [`discover::Photo`]s, each
//!   with a stable identity (path, size, modification time) that caches can key on.
//! - [`render`] is the pure, synchronous image pipeline: it turns the bytes of one photo into
//!   one JPEG [`render::Frame`] of exactly the configured size, upright, in sRGB, letterboxed,
//!   with no metadata. It knows nothing of threads, HTTP or the command line, so it is tested on
//!   its own.
//!
//! The command-line front end (`framecast render`) lives in the binary; it runs the pipeline on
//! a rayon pool.
#![deny(missing_docs)]

pub mod format;
pub mod discover;
pub mod render;
pub mod pool;
pub mod cache;
pub mod schedule;
pub mod http;
pub mod server;
