//! The render pipeline: the bytes of one photo in, one uniform JPEG frame out.
//!
//! Every photo of a real library, whatever its format, colour profile, orientation tag or
//! shape, comes out as the same kind of frame: exactly `W×H` pixels, upright, in sRGB, filled as
//! the [`Fit`] says (letterboxed on the background colour, over a blurred copy of itself,
//! cropped to cover, or paired with a second portrait), encoded as a baseline 4:2:0
//! JPEG with standard Huffman tables and no metadata. Screens that ignore EXIF (most TV
//! browsers) and screens that honour it see the same picture, and no GPS position leaks.
//!
//! The pipeline is pure and synchronous, four steps in a row, each in its own module:
//!
//! 1. [`decode`]: recognise the format by content, check the header against the [`Limits`]
//!    before any large allocation, decode (JPEG at a reduced DCT scale when the frame, in its
//!    fill mode, needs much less than the photo; HEIC and AVIF through libheif, which also
//!    turns them upright) and convert embedded colour profiles to sRGB ([`color`]);
//! 2. [`orient`]: apply the EXIF orientation (all eight values) to the pixels;
//! 3. [`fit`]: composite alpha onto the background, scale and fill the frame as the [`Fit`]
//!    says ([`blur`] makes the soft backdrop);
//! 4. [`encode`]: encode the frame.
//!
//! [`Renderer::render`] runs the four for one photo. A pair frame is made from two photos:
//! [`Renderer::render_pair`], or [`Renderer::picture`] (steps 1 and 2) for each and
//! [`Renderer::pair_frame`] to compose them, for a caller that wants to see their shapes first.
//!
//! Before decoding, [`Renderer::prepare`] reads the headers and says how much memory the
//! render will take ([`Prepared::memory`]), so a caller can wait until that much is free; a
//! render can be told to give up between steps (and while the `image` crate decodes) through
//! a `stop` function, so abandoned work ends soon.
//!
//! Nothing here knows about threads, files on disk beyond [`Renderer::render_file`], or HTTP:
//! callers decide where the work runs.
//!
//! Beside the pipeline, [`header`] reads what a photo is (format, size, orientation, date
//! taken, position) from its header alone, for the library's index; it and [`orient`] share
//! the one EXIF reader, [`exif`]. [`probe`] checks a container's structure and declared sizes
//! before any decoder runs, so no photo allocates past the limits.

pub mod blur;
mod cmyk_tiff;
pub mod color;
pub mod decode;
pub mod encode;
pub mod fit;
mod heif;
#[doc(hidden)]
pub mod fuzz;
mod jpeg;
pub mod orient;
mod pixels;
mod placeholder;
pub mod exif;
pub mod header;
pub mod probe;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;

use crate::escape::Escaped;
use crate::file::{self, FileKind};
use crate::format::Format;
pub use fit::Fit;
pub use pixels::{Layout, Pixels};
pub use placeholder::placeholder;
pub use probe::MAX_METADATA_BYTES;

/// The largest frame side accepted; baseline JPEG allows 65535, but no screen needs more than
/// this and a typo such as `19200x1080` should be an error, not a 60 MB frame.
pub const MAX_SIDE: u32 = 16384;

/// Why a photo could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is an image, but in a format framecast cannot decode.
    #[error("unsupported format: {0}")]
    Unsupported(String),
    /// The file is not an image at all (empty, text, an AppleDouble companion, …).
    #[error("not an image: {0}")]
    NotAnImage(String),
    /// The image data ends early, as after an interrupted copy.
    #[error("truncated: {0}")]
    Truncated(String),
    /// The image data is damaged beyond what the decoder can recover.
    #[error("corrupt {format} data: {detail}")]
    Corrupt {
        /// Format of the damaged file.
        format: Format,
        /// What the decoder said.
        detail: String,
    },
    /// A chunk, tag or segment declares more bytes than the file holds: a damaged or hostile
    /// file, refused before anything is allocated for it.
    #[error(
        "corrupt {format} data: {what} declares {declared} bytes, but the file has only \
         {available} left"
    )]
    Overrun {
        /// Format of the file.
        format: Format,
        /// Which part of the file, such as "its ICCP chunk".
        what: String,
        /// The size it declares.
        declared: u64,
        /// The bytes actually left in the file from where it starts.
        available: u64,
    },
    /// The header announces more pixels than allowed.
    #[error("too large: {width}x{height} is {pixels} pixels, over the limit of {limit}")]
    TooLarge {
        /// Width announced by the header.
        width: u64,
        /// Height announced by the header.
        height: u64,
        /// `width × height`.
        pixels: u64,
        /// [`Limits::max_pixels`].
        limit: u64,
    },
    /// The file is larger than allowed.
    #[error("file too large: {size} bytes, over the limit of {limit}")]
    FileTooLarge {
        /// Size of the file.
        size: u64,
        /// [`Limits::max_file_bytes`].
        limit: u64,
    },
    /// The path is a FIFO, a device, a socket or a folder: reading it could wait forever, so
    /// it is never read.
    #[error("not a regular file but {0}")]
    NotAFile(FileKind),
    /// Reading the file failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// Rendering the photo would take more memory than the whole decode memory budget, so it
    /// could never start.
    #[error(
        "needs about {} MiB to render, more than the whole decode memory budget of {} MiB; \
         raise it with --decode-memory (FRAMECAST_DECODE_MEMORY)",
        need.div_ceil(1 << 20),
        budget >> 20
    )]
    OverBudget {
        /// Bytes the render would hold at its peak ([`Prepared::memory`]).
        need: u64,
        /// The budget, in bytes.
        budget: u64,
    },
    /// The render took longer than its time budget and was abandoned.
    #[error(
        "took longer than {} to render and was abandoned; raise --render-timeout \
         (FRAMECAST_RENDER_TIMEOUT) if the machine is just slow",
        seconds(*limit)
    )]
    TimedOut {
        /// The time budget.
        limit: Duration,
    },
    /// The caller gave up on this render (it took too long, or nobody waits for it any more).
    #[error("render abandoned")]
    Stopped,
    /// A step of the pipeline failed in a way no input should cause: a bug, reported rather
    /// than panicking so the other photos still render.
    #[error("internal error: {0}")]
    Internal(String),
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

/// A render error together with the file it happened to, so every report names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", Escaped::path(path))]
pub struct FileError {
    /// The photo that failed.
    pub path: PathBuf,
    /// Why it failed.
    #[source]
    pub source: Error,
}

/// Something odd about a photo that did not stop it from rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The EXIF block could not be read; the photo is shown as stored.
    BadExif(String),
    /// The EXIF orientation tag holds a value outside 1..=8; the photo is shown as stored.
    InvalidOrientation(u16),
    /// The embedded colour profile could not be used; the pixels are taken as sRGB.
    BadIccProfile(String),
    /// The decoder recovered from damaged data; parts of the picture may be wrong.
    CorruptData(String),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::BadExif(why) => write!(f, "unreadable EXIF block ({why}); shown as stored"),
            Warning::InvalidOrientation(v) => {
                write!(f, "invalid EXIF orientation {v}; shown as stored")
            }
            Warning::BadIccProfile(why) => {
                write!(f, "unusable colour profile ({why}); taken as sRGB")
            }
            Warning::CorruptData(why) => write!(f, "recovered from corrupt data: {why}"),
        }
    }
}

/// An output size, `W×H` pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl FromStr for Size {
    type Err = String;

    /// Parses `1920x1080` (also `1920X1080` and `1920×1080`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (w, h) = s
            .split_once(['x', 'X', '×'])
            .ok_or_else(|| format!("'{s}' is not a size like 1920x1080"))?;
        let side = |v: &str| -> Result<u32, String> {
            let n: u32 = v
                .trim()
                .parse()
                .map_err(|_| format!("'{s}' is not a size like 1920x1080"))?;
            if (1..=MAX_SIDE).contains(&n) {
                Ok(n)
            } else {
                Err(format!(
                    "each side of '{s}' must be between 1 and {MAX_SIDE}"
                ))
            }
        };
        Ok(Size {
            width: side(w)?,
            height: side(h)?,
        })
    }
}

/// An sRGB colour, such as the letterbox background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rgb(pub [u8; 3]);

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

impl FromStr for Rgb {
    type Err = String;

    /// Parses `#rrggbb`, `#rgb` (the `#` is optional) or one of `black`, `white`, `gray`/`grey`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a colour like #000000, #222 or black");
        match s.to_ascii_lowercase().as_str() {
            "black" => return Ok(Rgb([0, 0, 0])),
            "white" => return Ok(Rgb([255, 255, 255])),
            "gray" | "grey" => return Ok(Rgb([128, 128, 128])),
            _ => {}
        }
        let hex = s.strip_prefix('#').unwrap_or(s);
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let digit = |i: usize| u8::from_str_radix(&hex[i..i + 1], 16).map_err(|_| bad());
        match hex.len() {
            3 => Ok(Rgb([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17])),
            6 => {
                let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
                Ok(Rgb([byte(0)?, byte(2)?, byte(4)?]))
            }
            _ => Err(bad()),
        }
    }
}

/// What every output frame looks like. Part of a frame's cache key: two frames of one photo
/// are the same exactly when their specs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spec {
    /// Output size; every frame is exactly this size.
    pub size: Size,
    /// JPEG quality, 1..=100.
    pub quality: u8,
    /// Letterbox colour, also what transparent pixels become and the gap between a pair.
    pub background: Rgb,
    /// How the photo fills the frame.
    pub fit: Fit,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            size: Size {
                width: 1920,
                height: 1080,
            },
            quality: 85,
            background: Rgb([0, 0, 0]),
            fit: Fit::Letterbox,
        }
    }
}

/// Bounds that protect the process from hostile or absurd files. They are checked against the
/// file size and the image header before any pixel buffer is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `width × height` accepted.
    pub max_pixels: u64,
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: 100_000_000,
            max_file_bytes: 200 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// The most any decoder may allocate for one photo: 16-bit RGBA, the widest layout any of
    /// them decodes to, at the largest size allowed, and room for tables.
    pub fn max_alloc(&self) -> u64 {
        self.max_pixels.saturating_mul(8).saturating_add(1 << 20)
    }

    /// Refuses an image whose header announces more than [`Limits::max_pixels`].
    pub fn check_pixels(&self, width: u64, height: u64) -> Result<(), Error> {
        let pixels = width.saturating_mul(height);
        if pixels > self.max_pixels {
            return Err(Error::TooLarge {
                width,
                height,
                pixels,
                limit: self.max_pixels,
            });
        }
        Ok(())
    }
}

/// One rendered frame: the encoded JPEG, shared cheaply by everything that sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The JPEG file, ready to send or write.
    pub jpeg: Bytes,
    /// Size of the picture in the JPEG (always the [`Spec`]'s size).
    pub size: Size,
}

/// The result of rendering one photo.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The frame.
    pub frame: Frame,
    /// The photo's format, as recognised from its content.
    pub format: Format,
    /// The photo's size as it is shown (after orientation), before fitting.
    pub source_size: Size,
    /// Oddities met on the way; the frame is still good.
    pub warnings: Vec<Warning>,
}

/// What a frame was made from: one photo, as recognised and shown.
#[derive(Debug, Clone)]
pub struct Source {
    /// The photo's format, as recognised from its content.
    pub format: Format,
    /// The photo's size as it is shown (after orientation), before fitting.
    pub size: Size,
    /// Oddities met on the way; the frame is still good.
    pub warnings: Vec<Warning>,
}

/// A photo decoded and turned upright, at the resolution its frame needs, not yet fitted: what
/// frames are composed from. It lets a caller see a photo's shape (to choose a partner for a
/// pair) before any frame is made.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The upright pixels, in sRGB; possibly smaller than the photo ([`decode`]).
    pub pixels: Pixels,
    /// The photo.
    pub source: Source,
}

/// What [`Renderer::render_pair`] made.
#[derive(Debug, Clone)]
pub struct Paired {
    /// The frame: both photos side by side, or the first alone.
    pub frame: Frame,
    /// The first photo.
    pub first: Source,
    /// The second photo when it is on the frame; `None` when the first is shown alone and the
    /// second is left for the next frame.
    pub second: Option<Source>,
}

/// Renders photos to frames of one [`Spec`], within one set of [`Limits`].
#[derive(Debug, Clone, Default)]
pub struct Renderer {
    spec: Spec,
    limits: Limits,
}

impl Renderer {
    /// A renderer for frames of `spec`, refusing files beyond `limits`.
    pub fn new(spec: Spec, limits: Limits) -> Self {
        Renderer { spec, limits }
    }

    /// What the frames look like.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The limits applied to input files.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Renders the photo held in `bytes`. In [`Fit::Pair`] a photo rendered on its own has no
    /// partner and is shown as in [`Fit::Blur`].
    pub fn render(&self, bytes: &[u8]) -> Result<Rendered, Error> {
        self.prepare(bytes)?.render(&|| false)
    }

    /// Renders a frame of two photos side by side, the pair of [`Fit::Pair`]. They are paired
    /// exactly when the spec's fit is `pair`, the frame is landscape and both photos are shown
    /// as portraits ([`fit::pairs`]); otherwise the frame is `first` alone, as
    /// [`Renderer::render`] makes it. The second photo is only decoded when the first could
    /// pair. An error is always about `first`: a `second` that cannot be rendered leaves the
    /// first alone, and its own error comes up when it is rendered in its turn.
    pub fn render_pair(&self, first: &[u8], second: &[u8]) -> Result<Paired, Error> {
        self.prepare(first)?
            .render_pair(self.prepare(second).ok(), &|| false)
    }

    /// Reads the photo at `path` and turns it into a [`Picture`] ([`Renderer::picture`]); the
    /// error names the file, and a file over the size limit is refused before it is read.
    pub fn picture_file(&self, path: &Path) -> Result<Picture, FileError> {
        let with_path = |source: Error| FileError {
            path: path.to_path_buf(),
            source,
        };
        let bytes = self.read(path).map_err(with_path)?;
        self.picture(&bytes).map_err(with_path)
    }

    /// Decodes the photo held in `bytes` and turns it upright (the first two steps), at the
    /// resolution this renderer's frames need.
    pub fn picture(&self, bytes: &[u8]) -> Result<Picture, Error> {
        self.prepare(bytes)?.picture(&|| false)
    }

    /// Checks the photo in `bytes` from its headers and works out the memory its render will
    /// take, without decoding anything: a photo the limits refuse is refused here already.
    pub fn prepare<'a>(&'a self, bytes: &'a [u8]) -> Result<Prepared<'a>, Error> {
        if bytes.len() as u64 > self.limits.max_file_bytes {
            return Err(Error::FileTooLarge {
                size: bytes.len() as u64,
                limit: self.limits.max_file_bytes,
            });
        }
        let decoding = decode::estimate(bytes, self.spec.size, self.spec.fit, &self.limits)?;
        Ok(Prepared {
            renderer: self,
            bytes,
            memory: decoding.saturating_add(bytes.len() as u64),
        })
    }

    /// Reads and renders the photo at `path`; the error names the file.
    ///
    /// Only a regular file is read (a FIFO or a device is refused at once), and its size is
    /// checked before reading, so a huge file costs no memory.
    pub fn render_file(&self, path: &Path) -> Result<Rendered, FileError> {
        let with_path = |source: Error| FileError {
            path: path.to_path_buf(),
            source,
        };
        let bytes = self.read(path).map_err(with_path)?;
        self.render(&bytes).map_err(with_path)
    }

    /// Reads the photo at `path` within [`Limits::max_file_bytes`], refusing anything but a
    /// regular file.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, Error> {
        read_limited(path, self.limits.max_file_bytes)
    }
}

/// A photo checked from its headers, ready to render.
#[derive(Debug)]
pub struct Prepared<'a> {
    renderer: &'a Renderer,
    bytes: &'a [u8],
    memory: u64,
}

impl Prepared<'_> {
    /// The most memory the render will hold at once, in bytes, the file's bytes included.
    pub fn memory(&self) -> u64 {
        self.memory
    }

    /// Renders the photo. `stop` is asked between the steps and while the `image` crate
    /// decodes; once it returns `true` the render ends with [`Error::Stopped`].
    pub fn render(self, stop: &dyn Fn() -> bool) -> Result<Rendered, Error> {
        let renderer = self.renderer;
        let Picture { pixels, source } = self.picture(stop)?;
        let canvas = fit::fit(&pixels, &renderer.spec)?;
        drop(pixels);
        if stop() {
            return Err(Error::Stopped);
        }
        Ok(Rendered {
            frame: renderer.encode(&canvas)?,
            format: source.format,
            source_size: source.size,
            warnings: source.warnings,
        })
    }

    /// Renders this photo and `second` side by side, as [`Renderer::render_pair`] (with no
    /// `second`, or one that does not pair, this photo alone), with `stop` asked as in
    /// [`Prepared::render`]. Peak memory is at most both photos' [`Prepared::memory`].
    pub fn render_pair(
        self,
        second: Option<Prepared<'_>>,
        stop: &dyn Fn() -> bool,
    ) -> Result<Paired, Error> {
        let renderer = self.renderer;
        let first = self.picture(stop)?;
        if renderer.spec.fit == Fit::Pair
            && fit::pairable(renderer.spec.size, first.source.size)
            && let Some(second) = second
            && let Ok(second) = second.picture(stop)
            && let Some(frame) = renderer.pair_frame(&first, &second)?
        {
            return Ok(Paired {
                frame,
                first: first.source,
                second: Some(second.source),
            });
        }
        if stop() {
            return Err(Error::Stopped);
        }
        Ok(Paired {
            frame: renderer.frame(&first)?,
            first: first.source,
            second: None,
        })
    }

    /// Decodes the photo and turns it upright, as [`Renderer::picture`], with `stop` asked as
    /// in [`Prepared::render`].
    pub fn picture(self, stop: &dyn Fn() -> bool) -> Result<Picture, Error> {
        let spec = &self.renderer.spec;
        let check = || if stop() { Err(Error::Stopped) } else { Ok(()) };
        let mut warnings = Vec::new();
        let decoded = decode::decode(
            self.bytes,
            spec.size,
            spec.fit,
            &self.renderer.limits,
            &mut warnings,
            stop,
        )?;
        check()?;
        let size = decoded.orientation.shown(decoded.stored_size);
        let pixels = orient::apply(decoded.pixels, decoded.orientation);
        check()?;
        Ok(Picture {
            pixels,
            source: Source {
                format: decoded.format,
                size,
                warnings,
            },
        })
    }
}

/// Composing frames from pictures.
impl Renderer {
    /// The frame of one picture, filled as the spec says (a lone picture in [`Fit::Pair`] as
    /// in [`Fit::Blur`]).
    pub fn frame(&self, picture: &Picture) -> Result<Frame, Error> {
        self.encode(&fit::fit(&picture.pixels, &self.spec)?)
    }

    /// Whether `first` and `second` go side by side on one frame: the spec's fit is
    /// [`Fit::Pair`] and [`fit::pairs`] says so.
    pub fn pairs(&self, first: &Picture, second: &Picture) -> bool {
        self.spec.fit == Fit::Pair
            && fit::pairs(self.spec.size, first.source.size, second.source.size)
    }

    /// The frame of `first` and `second` side by side ([`fit::pair_layout`]), or `None` when
    /// they do not [pair](Renderer::pairs).
    pub fn pair_frame(&self, first: &Picture, second: &Picture) -> Result<Option<Frame>, Error> {
        if !self.pairs(first, second) {
            return Ok(None);
        }
        fit::fit_pair(&first.pixels, &second.pixels, &self.spec)?
            .map(|canvas| self.encode(&canvas))
            .transpose()
    }

    fn encode(&self, canvas: &Pixels) -> Result<Frame, Error> {
        Ok(Frame {
            jpeg: encode::encode(canvas, self.spec.quality)?,
            size: self.spec.size,
        })
    }
}

/// Reads a whole file, refusing it up front when it is larger than `limit` bytes (and again
/// while reading, in case it grows).
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    let (file, meta) = file::open_regular(path).map_err(|e| match e {
        file::OpenError::NotRegular(kind) => Error::NotAFile(kind),
        file::OpenError::Io(e) => Error::Io(e),
    })?;
    let size = meta.len();
    if size > limit {
        return Err(Error::FileTooLarge { size, limit });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(Error::FileTooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(
            "1920x1080".parse::<Size>(),
            Ok(Size {
                width: 1920,
                height: 1080
            })
        );
        assert_eq!("640X480".parse::<Size>().map(|s| s.height), Ok(480));
        assert!("1920".parse::<Size>().is_err());
        assert!("0x1080".parse::<Size>().is_err());
        assert!("99999x10".parse::<Size>().is_err());
        assert!("axb".parse::<Size>().is_err());
    }

    #[test]
    fn colours_parse() {
        assert_eq!("#000000".parse::<Rgb>(), Ok(Rgb([0, 0, 0])));
        assert_eq!("ff8000".parse::<Rgb>(), Ok(Rgb([255, 128, 0])));
        assert_eq!("#fff".parse::<Rgb>(), Ok(Rgb([255, 255, 255])));
        assert_eq!("Grey".parse::<Rgb>(), Ok(Rgb([128, 128, 128])));
        assert!("#12345".parse::<Rgb>().is_err());
        assert!("#gg0000".parse::<Rgb>().is_err());
        assert!("#ééé".parse::<Rgb>().is_err());
        assert_eq!(Rgb([1, 2, 255]).to_string(), "#0102ff");
    }

    #[test]
    fn pixel_limit() {
        let limits = Limits::default();
        assert!(limits.check_pixels(10_000, 10_000).is_ok());
        assert!(matches!(
            limits.check_pixels(65_500, 65_500),
            Err(Error::TooLarge { .. })
        ));
        assert!(limits.check_pixels(u64::MAX, u64::MAX).is_err());
    }
}
