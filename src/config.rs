//! The command line: clap parses it (every option also from a `FRAMECAST_*` environment
//! variable), and this module turns it into one validated [`Config`] per command, built from
//! the library modules' own option types. Nothing in the library reads the command line or the
//! environment; everything it needs is passed down from here.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use framecast::render::{Limits, Rgb, Size, Spec};
use framecast::schedule::Order;
use framecast::server::Settings;
use framecast::{cache, http, library, schedule};

/// Turn a folder of photos into one uniform MJPEG stream that any screen can show.
#[derive(Debug, Parser)]
#[command(name = "framecast", version, about, propagate_version = true)]
pub struct Cli {
    /// More log output (-v: info, -vv: debug, -vvv: trace). RUST_LOG, when set, wins.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors in the log.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every photo under INPUT into a folder of uniform JPEG frames.
    ///
    /// Each photo is decoded, turned upright (EXIF orientation), converted to sRGB, scaled to
    /// fit SIZE with its aspect ratio kept, centred on BACKGROUND and written as
    /// DIR/<relative path>.jpg. Files that cannot be rendered are skipped and listed with the
    /// reason. Exit status: 0 when every photo rendered, 1 when some were skipped, 2 on a usage
    /// error.
    Render(RenderArgs),
    /// Serve the photos under DIR as one MJPEG stream that any screen on the network can show.
    ///
    /// Open http://HOST:PORT/ in a browser, or give http://HOST:PORT/stream.mjpg to VLC,
    /// ffmpeg, mpv or an IP-camera viewer. Every client sees the same photo at the same time,
    /// each frame exactly SIZE and upright. The URLs to open are logged at start.
    Serve(ServeArgs),
}

/// Options shared by every command that renders frames.
#[derive(Debug, Args)]
pub struct FrameArgs {
    /// Size of every output frame, WIDTHxHEIGHT.
    #[arg(
        long,
        env = "FRAMECAST_SIZE",
        default_value = "1920x1080",
        value_name = "WxH"
    )]
    pub size: Size,

    /// JPEG quality of the frames, 1 to 100.
    #[arg(long, env = "FRAMECAST_QUALITY", default_value_t = 85,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,

    /// Letterbox colour, also what transparent areas become: #rrggbb, #rgb, black, white or grey.
    #[arg(
        long,
        env = "FRAMECAST_BACKGROUND",
        default_value = "black",
        value_name = "COLOR"
    )]
    pub background: Rgb,

    /// Worker threads for decoding and encoding [default: all cores].
    #[arg(long, env = "FRAMECAST_THREADS", value_name = "N")]
    pub threads: Option<NonZeroUsize>,

    /// Largest photo accepted, in pixels (checked from the header before decoding).
    #[arg(
        long,
        env = "FRAMECAST_MAX_PIXELS",
        default_value = "100000000",
        value_name = "N"
    )]
    pub max_pixels: u64,

    /// Largest photo file accepted: bytes, or with a unit (200MiB, 1.5GB, 500k).
    #[arg(long, env = "FRAMECAST_MAX_FILE_SIZE", default_value = "200MiB", value_name = "SIZE",
          value_parser = parse_bytes)]
    pub max_file_size: u64,
}

/// `framecast render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Photo folders (walked recursively) or single photo files.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Folder to write the frames to (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,

    #[command(flatten)]
    pub frame: FrameArgs,
}

/// `framecast serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Photo folders (walked recursively and followed while they change) or single photo
    /// files [default: the current folder]. FRAMECAST_DIRS may list several, separated by `:`.
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,

    /// FRAMECAST_DIRS: only the environment splits on `:`, so a folder name with a `:` works
    /// on the command line.
    #[arg(long = "dirs-from-env", env = "FRAMECAST_DIRS", hide = true)]
    pub dirs_env: Option<OsString>,

    /// Play order: name (natural), date (taken, oldest first), shuffle (each photo once per
    /// round) or recent (newest first). The place in it survives a restart.
    #[arg(long, env = "FRAMECAST_ORDER", default_value = "name", value_name = "ORDER",
          value_parser = parse_order)]
    pub order: Order,

    /// Play only this album (a top-level folder of a photo folder; photos directly in a photo
    /// folder form an album named after it). Repeat for several. FRAMECAST_ALBUMS lists
    /// several, separated by `,`.
    #[arg(long = "album", value_name = "NAME")]
    pub albums: Vec<String>,

    /// FRAMECAST_ALBUMS, split on `,`.
    #[arg(long = "albums-from-env", env = "FRAMECAST_ALBUMS", hide = true)]
    pub albums_env: Option<String>,

    /// Do not watch the folders for changes; find them by rescanning only.
    #[arg(long, env = "FRAMECAST_NO_WATCH")]
    pub no_watch: bool,

    /// How often folders that are not watched (network shares, --no-watch, past the inotify
    /// limit) are walked again.
    #[arg(long, env = "FRAMECAST_RESCAN", default_value = "60s", value_parser = parse_duration)]
    pub rescan: Duration,

    /// Where the photo index and the slideshow position are kept (created if missing)
    /// [default: $XDG_STATE_HOME/framecast or ~/.local/state/framecast].
    #[arg(long, env = "FRAMECAST_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Address and port to listen on; 0.0.0.0 lets every device on the network connect.
    #[arg(
        long,
        env = "FRAMECAST_LISTEN",
        default_value = "0.0.0.0:8080",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,

    /// How long each photo is shown: 5s, 1m, 500ms.
    #[arg(long, env = "FRAMECAST_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,

    /// How often the current picture is sent again to each client (keeps players and
    /// browsers showing it).
    #[arg(long, env = "FRAMECAST_REFRESH", default_value = "1s", value_parser = parse_duration)]
    pub refresh: Duration,

    /// Bytes of rendered frames kept in memory: 256MiB, 1GB.
    #[arg(long, env = "FRAMECAST_CACHE_SIZE", default_value = "256MiB", value_name = "SIZE",
          value_parser = parse_bytes)]
    pub cache_size: u64,

    /// A client whose connection takes no data for this long is dropped.
    #[arg(long, env = "FRAMECAST_WRITE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    #[command(flatten)]
    pub frame: FrameArgs,
}

impl ServeArgs {
    /// The validated configuration.
    pub fn into_config(self) -> ServeConfig {
        let roots = if !self.dirs.is_empty() {
            self.dirs
        } else if let Some(env) = self.dirs_env.filter(|e| !e.is_empty()) {
            split_paths(&env)
        } else {
            vec![PathBuf::from(".")]
        };
        let mut albums = self.albums;
        if albums.is_empty()
            && let Some(env) = &self.albums_env
        {
            albums = env
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(String::from)
                .collect();
        }
        let state = self.state_dir.or_else(default_state_dir);
        ServeConfig {
            listen: self.listen,
            settings: Settings {
                library: library::Options {
                    roots,
                    exclude: Vec::new(),
                    watch: !self.no_watch,
                    rescan: self.rescan,
                    index: state.as_ref().map(|d| d.join("index.sqlite")),
                    ..Default::default()
                },
                playback: schedule::Playback {
                    order: self.order,
                    albums,
                    resume: state.as_ref().map(|d| d.join("position.json")),
                },
                spec: self.frame.spec(),
                limits: self.frame.limits(),
                threads: self.frame.threads(),
                cache: cache::Limits {
                    max_bytes: self.cache_size,
                },
                timing: schedule::Timing {
                    interval: self.interval,
                    ..Default::default()
                },
                http: http::Options {
                    mjpeg: http::mjpeg::Options {
                        refresh: self.refresh,
                        ..Default::default()
                    },
                    write_timeout: self.write_timeout,
                    ..Default::default()
                },
            },
        }
    }
}

/// Everything `framecast serve` needs, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The server's settings.
    pub settings: Settings,
}

/// Everything `framecast render` needs, validated.
#[derive(Debug, Clone)]
pub struct RenderConfig {
    /// Photo folders or files to render.
    pub roots: Vec<PathBuf>,
    /// Folders not to walk (the output folder).
    pub exclude: Vec<PathBuf>,
    /// What the frames look like.
    pub spec: Spec,
    /// Bounds on input files.
    pub limits: Limits,
    /// Size of the worker pool.
    pub threads: usize,
    /// Where the frames go.
    pub out: PathBuf,
}

impl FrameArgs {
    fn spec(&self) -> Spec {
        Spec {
            size: self.size,
            quality: self.quality,
            background: self.background,
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_pixels: self.max_pixels,
            max_file_bytes: self.max_file_size,
        }
    }

    fn threads(&self) -> usize {
        self.threads
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }
}

impl RenderArgs {
    /// The validated configuration.
    pub fn into_config(self) -> RenderConfig {
        RenderConfig {
            roots: self.inputs,
            // Rendering into a folder inside an input must not pick up its own frames.
            exclude: vec![self.out.clone()],
            spec: self.frame.spec(),
            limits: self.frame.limits(),
            threads: self.frame.threads(),
            out: self.out,
        }
    }
}

/// The state folder's default: `$XDG_STATE_HOME/framecast`, else `~/.local/state/framecast`;
/// `None` (the index kept in memory) when neither variable is set.
fn default_state_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    xdg.or_else(|| {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|home| PathBuf::from(home).join(".local/state"))
    })
    .map(|dir| dir.join("framecast"))
}

/// Splits a `:`-separated list of paths (empty entries are ignored).
fn split_paths(list: &OsString) -> Vec<PathBuf> {
    std::env::split_paths(list)
        .filter(|p| !p.as_os_str().is_empty())
        .collect()
}

fn parse_order(s: &str) -> Result<Order, String> {
    s.parse()
}

/// Splits `1.5 GiB` into its number and its unit (possibly empty).
fn number_and_unit(s: &str) -> Option<(f64, &str)> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    Some((number.parse().ok()?, unit.trim()))
}

/// Parses a duration: `5s`, `100ms`, `1.5s`, `2m`, `1h`; a bare number is seconds. It must be
/// at least 10 ms: shorter intervals would only burn CPU.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (value, unit) =
        number_and_unit(s).ok_or_else(|| format!("'{s}' is not a duration like 5s or 200ms"))?;
    let secs = match unit {
        "" | "s" | "sec" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{s}' (use ms, s, m or h)"
            ));
        }
    };
    if !secs.is_finite() || !(0.01..=86_400.0 * 365.0).contains(&secs) {
        return Err(format!("'{s}' must be between 10ms and a year"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a byte count: `1048576`, `500k`, `200MB`, `200MiB`, `1.5G`. Decimal units (k, M, G,
/// T, with or without B) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) of 1024.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let (value, unit) =
        number_and_unit(s).ok_or_else(|| format!("'{s}' is not a size like 200MiB"))?;
    let factor: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{s}' (use k, M, G, KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = value * factor;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("'{s}' is out of range"));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert_eq!(parse_bytes("500k"), Ok(500_000));
        assert_eq!(parse_bytes("200MiB"), Ok(200 * 1024 * 1024));
        assert_eq!(parse_bytes("1.5GB"), Ok(1_500_000_000));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5 parsecs").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }

    #[test]
    fn serve_defaults() {
        let cli = Cli::try_parse_from(["framecast", "serve"]).expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let config = args.into_config();
        assert_eq!(config.listen, "0.0.0.0:8080".parse().expect("addr"));
        assert_eq!(config.settings.library.roots, [PathBuf::from(".")]);
        assert_eq!(config.settings.library.rescan, Duration::from_secs(60));
        assert!(config.settings.library.watch);
        assert_eq!(config.settings.playback.order, Order::Name);
        assert_eq!(config.settings.timing.interval, Duration::from_secs(5));
        assert_eq!(config.settings.http.mjpeg.refresh, Duration::from_secs(1));
        assert_eq!(config.settings.cache.max_bytes, 256 * 1024 * 1024);
    }

    #[test]
    fn a_colon_splits_folders_only_in_the_environment() {
        let cli = Cli::try_parse_from(["framecast", "serve", "/photos/12:30 lunch", "b"])
            .expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let config = args.into_config();
        assert_eq!(
            config.settings.library.roots,
            [PathBuf::from("/photos/12:30 lunch"), PathBuf::from("b")]
        );
        assert_eq!(
            split_paths(&OsString::from("/a:/b c::/d")),
            [
                PathBuf::from("/a"),
                PathBuf::from("/b c"),
                PathBuf::from("/d")
            ]
        );
    }

    #[test]
    fn order_albums_and_state() {
        let cli = Cli::try_parse_from([
            "framecast",
            "serve",
            "--order",
            "shuffle",
            "--album",
            "2023",
            "--album",
            "Trips, 2024",
            "--state-dir",
            "/tmp/fc",
            "--no-watch",
            "--rescan",
            "5s",
        ])
        .expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let s = args.into_config().settings;
        assert_eq!(s.playback.order, Order::Shuffle);
        assert_eq!(s.playback.albums, ["2023", "Trips, 2024"]);
        assert_eq!(s.library.index, Some(PathBuf::from("/tmp/fc/index.sqlite")));
        assert_eq!(
            s.playback.resume,
            Some(PathBuf::from("/tmp/fc/position.json"))
        );
        assert!(!s.library.watch);
        assert_eq!(s.library.rescan, Duration::from_secs(5));
        assert!(Cli::try_parse_from(["framecast", "serve", "--order", "random"]).is_err());
    }

    #[test]
    fn render_defaults() {
        let cli = Cli::try_parse_from(["framecast", "render", "photos", "--out", "frames"])
            .expect("parses");
        let Command::Render(args) = cli.command else {
            panic!("not render")
        };
        let config = args.into_config();
        assert_eq!(config.spec, Spec::default());
        assert_eq!(config.limits, Limits::default());
        assert!(config.threads >= 1);
        assert_eq!(config.exclude, [PathBuf::from("frames")]);
    }
}
