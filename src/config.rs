//! The command line: clap parses it (every option also from a `FRAMECAST_*` environment
//! variable, and `serve`'s also from a config file, see [`file`]), and this module turns it
//! into one validated [`Config`] per command, built from the library modules' own option types.
//! Nothing in the library reads the command line, the environment or the file; everything it
//! needs is passed down from here.

pub mod file;

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use framecast::http::access::{Credentials, Token};
use framecast::render::{Fit, Limits, Rgb, Size, Spec};
use framecast::schedule::Order;
use framecast::server::Settings;
use framecast::{cache, http, library, pool, schedule};

/// The `--help` headings, so each command's options are grouped by what they are about. New
/// options take one of these.
pub mod heading {
    /// What photos to take.
    pub const INPUT: &str = "Input";
    /// What the frames look like and where they go.
    pub const OUTPUT: &str = "Output";
    /// How the stream is served and paced.
    pub const STREAM: &str = "Stream";
    /// Bounds on memory, CPU, input files and clients.
    pub const LIMITS: &str = "Limits";
    /// Who may watch.
    pub const ACCESS: &str = "Access";
    /// What is printed while running.
    pub const LOGGING: &str = "Logging";
    /// Where other settings come from.
    pub const CONFIG: &str = "Config file";
}

/// The version `--version` prints: Cargo.toml's, followed by the commit when the build was
/// given one in `FRAMECAST_COMMIT` (the Makefile's release builds do), so a bug report names
/// the exact source. Without it the build stays the same from any checkout.
fn version() -> String {
    match option_env!("FRAMECAST_COMMIT") {
        Some(commit) if !commit.is_empty() => {
            format!("{} ({commit})", env!("CARGO_PKG_VERSION"))
        }
        _ => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Turn a folder of photos into one uniform MJPEG stream that any screen can show.
#[derive(Debug, Parser)]
#[command(name = "framecast", version = version(), about, propagate_version = true)]
pub struct Cli {
    /// More log output (-v: info, -vv: debug, -vvv: trace). RUST_LOG, when set, wins.
    #[arg(short, long, action = clap::ArgAction::Count, global = true,
          help_heading = heading::LOGGING)]
    pub verbose: u8,

    /// Only errors: no start-up summary, and no log lines below error level.
    #[arg(short, long, global = true, conflicts_with = "verbose",
          help_heading = heading::LOGGING)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
// Parsed once per run and matched at once: boxing the larger one would save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every photo under INPUT into a folder of uniform JPEG frames.
    ///
    /// Each photo is decoded, turned upright (EXIF orientation), converted to sRGB, fitted to
    /// SIZE as --fit says (by default scaled with its aspect ratio kept and centred on
    /// BACKGROUND) and written as DIR/<relative path>.jpg; with --fit pair, neighbouring
    /// portraits share one frame, named after the first. Files that cannot be rendered are
    /// skipped and listed with the reason. Exit status: 0 when every photo rendered, 1 when some were skipped, 2 on a usage
    /// error.
    Render(RenderArgs),
    /// Serve the photos under DIR as one MJPEG stream that any screen on the network can show.
    ///
    /// Open http://HOST:PORT/ in a browser, or give http://HOST:PORT/stream.mjpg to VLC,
    /// ffmpeg, mpv or an IP-camera viewer. Every client sees the same photo at the same time,
    /// each frame exactly SIZE and upright. At start it prints the photos found and the
    /// page and stream URLs of every local address (unless -q), wherever logs go: a terminal
    /// or the journal.
    Serve(ServeArgs),
    /// Print the settings `serve` would run with, and where each comes from.
    ///
    /// Takes the same arguments as `serve` and reads the same environment and config file;
    /// prints each option with its value and its source (flag, env, file or default), the
    /// config file used and its profiles, in the config file's own format. Secrets (--auth,
    /// --token) are shown as set or unset only. Nothing is served.
    Config(ServeArgs),
    /// Write the man pages and shell completions (`make install` and `make deb` use it).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// Options shared by every command that renders frames.
#[derive(Debug, Args)]
pub struct FrameArgs {
    /// Size of every output frame, WIDTHxHEIGHT.
    #[arg(
        long,
        env = "FRAMECAST_SIZE",
        default_value = "1920x1080",
        value_name = "WxH",
        help_heading = heading::OUTPUT
    )]
    pub size: Size,

    /// JPEG quality of the frames, 1 to 100.
    #[arg(long, env = "FRAMECAST_QUALITY", default_value_t = 85,
          value_parser = clap::value_parser!(u8).range(1..=100), help_heading = heading::OUTPUT)]
    pub quality: u8,

    /// Letterbox colour, also what transparent areas become: #rrggbb, #rgb, black, white or grey.
    #[arg(
        long,
        env = "FRAMECAST_BACKGROUND",
        default_value = "black",
        value_name = "COLOR",
        help_heading = heading::OUTPUT
    )]
    pub background: Rgb,

    /// How a photo fills a frame of another shape: letterbox (whole photo, bars of the
    /// background colour), blur (whole photo over a blurred, darkened copy of itself), cover
    /// (fills the frame, cropped around the centre) or pair (two portraits side by side on a
    /// landscape frame: neighbours in the folder's or the slideshow's order; anything else
    /// as blur).
    #[arg(
        long,
        env = "FRAMECAST_FIT",
        default_value = "letterbox",
        value_name = "MODE",
        help_heading = heading::OUTPUT
    )]
    pub fit: Fit,

    /// Worker threads for decoding and encoding [default: all cores].
    #[arg(long, env = "FRAMECAST_THREADS", value_name = "N", help_heading = heading::LIMITS)]
    pub threads: Option<NonZeroUsize>,

    /// Largest photo accepted, in pixels (checked from the header before decoding).
    #[arg(
        long,
        env = "FRAMECAST_MAX_PIXELS",
        default_value = "100000000",
        value_name = "N",
        help_heading = heading::LIMITS
    )]
    pub max_pixels: u64,

    /// Largest photo file accepted: bytes, or with a unit (200MiB, 1.5GB, 500k).
    #[arg(long, env = "FRAMECAST_MAX_FILE_SIZE", default_value = "200MiB", value_name = "SIZE",
          value_parser = parse_bytes, help_heading = heading::LIMITS)]
    pub max_file_size: u64,

    /// Memory the photos being decoded may take together (1GiB, 500MB). Each photo's need is
    /// worked out from its header; a photo waits until enough is free, and one that needs
    /// more than all of it is skipped [default: half of the machine's memory].
    #[arg(long, env = "FRAMECAST_DECODE_MEMORY", value_name = "SIZE", value_parser = parse_bytes,
          help_heading = heading::LIMITS)]
    pub decode_memory: Option<u64>,

    /// A photo whose render works longer than this is abandoned and skipped: 60s, 2m.
    #[arg(long, env = "FRAMECAST_RENDER_TIMEOUT", default_value = "60s", value_name = "DURATION",
          value_parser = parse_duration, help_heading = heading::LIMITS)]
    pub render_timeout: Duration,
}

/// `framecast render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Photo folders (walked recursively) or single photo files.
    #[arg(required = true, value_name = "INPUT", help_heading = heading::INPUT)]
    pub inputs: Vec<PathBuf>,

    /// Folder to write the frames to (created if missing).
    #[arg(short, long, value_name = "DIR", help_heading = heading::OUTPUT)]
    pub out: PathBuf,

    #[command(flatten)]
    pub frame: FrameArgs,
}

/// `framecast serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Photo folders (walked recursively and followed while they change) or single photo
    /// files [default: the current folder]. FRAMECAST_DIRS may list several, separated by `:`.
    #[arg(value_name = "DIR", help_heading = heading::INPUT)]
    pub dirs: Vec<PathBuf>,

    /// FRAMECAST_DIRS: only the environment splits on `:`, so a folder name with a `:` works
    /// on the command line.
    #[arg(long = "dirs-from-env", env = "FRAMECAST_DIRS", hide = true)]
    pub dirs_env: Option<OsString>,

    /// Play order: name (natural), date (taken, oldest first), shuffle (each photo once per
    /// round) or recent (newest first). The place in it survives a restart.
    #[arg(long, env = "FRAMECAST_ORDER", default_value = "name", value_name = "ORDER",
          value_parser = parse_order, help_heading = heading::STREAM)]
    pub order: Order,

    /// Play only this album (a top-level folder of a photo folder; photos directly in a photo
    /// folder form an album named after it). Repeat for several. FRAMECAST_ALBUMS lists
    /// several, separated by `,`.
    #[arg(long = "album", value_name = "NAME", help_heading = heading::INPUT)]
    pub albums: Vec<String>,

    /// FRAMECAST_ALBUMS, split on `,`.
    #[arg(long = "albums-from-env", env = "FRAMECAST_ALBUMS", hide = true)]
    pub albums_env: Option<String>,

    /// Do not watch the folders for changes; find them by rescanning only.
    #[arg(long, env = "FRAMECAST_NO_WATCH", help_heading = heading::INPUT)]
    pub no_watch: bool,

    /// How often folders that are not watched (network shares, --no-watch, past the inotify
    /// limit) are walked again.
    #[arg(long, env = "FRAMECAST_RESCAN", default_value = "60s", value_parser = parse_duration,
          help_heading = heading::INPUT)]
    pub rescan: Duration,

    /// Where the photo index and the slideshow position are kept (created if missing)
    /// [default: $XDG_STATE_HOME/framecast or ~/.local/state/framecast].
    #[arg(long, env = "FRAMECAST_STATE_DIR", value_name = "DIR", help_heading = heading::INPUT)]
    pub state_dir: Option<PathBuf>,

    /// Where to listen: a port (8080: every address, IPv4 and IPv6), HOST:PORT
    /// (192.168.1.10:8080, localhost:8080) or [IPv6]:PORT ([::]:8080).
    #[arg(
        long,
        env = "FRAMECAST_LISTEN",
        default_value = "8080",
        value_name = "ADDR",
        help_heading = heading::STREAM
    )]
    pub listen: Listen,

    /// How long each photo is shown: 5s, 1m30s, 500ms.
    #[arg(long, env = "FRAMECAST_INTERVAL", default_value = "5s", value_parser = parse_duration,
          help_heading = heading::STREAM)]
    pub interval: Duration,

    /// How often the current picture is sent again to each client (keeps players and
    /// browsers showing it).
    #[arg(long, env = "FRAMECAST_REFRESH", default_value = "1s", value_parser = parse_duration,
          help_heading = heading::STREAM)]
    pub refresh: Duration,

    // Here, so the headings read Input, Stream, Output, Limits.
    #[command(flatten)]
    pub frame: FrameArgs,

    /// Bytes of rendered frames kept in memory: 256MiB, 1GB.
    #[arg(long, env = "FRAMECAST_CACHE_SIZE", default_value = "256MiB", value_name = "SIZE",
          value_parser = parse_bytes, help_heading = heading::LIMITS)]
    pub cache_size: u64,

    /// Where rendered frames are kept so that a restart does not render them again (created
    /// if missing; deleting it is always safe)
    /// [default: $XDG_CACHE_HOME/framecast or ~/.cache/framecast].
    #[arg(long, env = "FRAMECAST_CACHE_DIR", value_name = "DIR", help_heading = heading::OUTPUT)]
    pub cache_dir: Option<PathBuf>,

    /// Keep rendered frames in memory only, never on disk.
    #[arg(long, env = "FRAMECAST_NO_DISK_CACHE", help_heading = heading::OUTPUT)]
    pub no_disk_cache: bool,

    /// Bytes of rendered frames kept on disk (the least recently shown are removed past it):
    /// 1GiB, 500MB.
    #[arg(long, env = "FRAMECAST_DISK_CACHE_SIZE", default_value = "1GiB", value_name = "SIZE",
          value_parser = parse_bytes, help_heading = heading::LIMITS)]
    pub disk_cache_size: u64,

    /// A client whose connection takes no data for this long is dropped.
    #[arg(long, env = "FRAMECAST_WRITE_TIMEOUT", default_value = "30s",
          value_parser = parse_duration, help_heading = heading::LIMITS)]
    pub write_timeout: Duration,

    /// Stream clients served at once; past it a new stream gets 503 with Retry-After
    /// (snapshots and status are not stream clients).
    #[arg(long, env = "FRAMECAST_MAX_CLIENTS", default_value_t = 64, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), help_heading = heading::LIMITS)]
    pub max_clients: u32,

    /// Streams rendered at once: each channel (photos asked for with ?album=, ?order=,
    /// ?interval=) in each frame format (?size=, ?fit=, ?quality=, ?background=), the default
    /// one included; past it a request for a new one gets 503 with Retry-After. One unused for
    /// a minute is dropped.
    #[arg(long, env = "FRAMECAST_MAX_STREAMS", default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=64), help_heading = heading::LIMITS)]
    pub max_streams: u32,

    /// Connections of any kind served at once [default: half the open-file limit left after
    /// a reserve, at most 4096]. Past it /healthz still answers and the rest get 503.
    #[arg(long, env = "FRAMECAST_MAX_CONNECTIONS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), help_heading = heading::LIMITS)]
    pub max_connections: Option<u32>,

    /// A connection that sends no complete request for this long is closed (new ones that
    /// say nothing, and idle keep-alive ones).
    #[arg(long, env = "FRAMECAST_IDLE_TIMEOUT", default_value = "10s", value_parser = parse_duration,
          help_heading = heading::LIMITS)]
    pub idle_timeout: Duration,

    /// Require this user name and password (HTTP Basic: open http://USER:PASSWORD@host:port/).
    #[arg(
        long,
        env = "FRAMECAST_AUTH",
        value_name = "USER:PASSWORD",
        hide_env_values = true,
        help_heading = heading::ACCESS
    )]
    pub auth: Option<Credentials>,

    /// Require this token, as ?token=TOKEN in the URL (for screens that can only open a plain
    /// URL) or as the password of any user: 8 to 256 of A-Z a-z 0-9 - . _ ~
    #[arg(
        long,
        env = "FRAMECAST_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        help_heading = heading::ACCESS
    )]
    pub token: Option<Token>,

    /// Read defaults for these options and named profiles ([profiles.NAME]) from this TOML
    /// file; flags and environment variables override it [default:
    /// $XDG_CONFIG_HOME/framecast/framecast.toml or ~/.config/framecast/framecast.toml, when it
    /// exists].
    #[arg(long, env = "FRAMECAST_CONFIG", value_name = "FILE", help_heading = heading::CONFIG)]
    pub config: Option<PathBuf>,

    /// The config file read, if any: its profiles, and where the settings came from.
    #[arg(skip)]
    pub file: Option<file::ConfigFile>,
}

/// The subcommands a config file gives defaults to: `serve`, and `config`, which shows them.
const FILE_SUBCOMMANDS: [&str; 2] = ["serve", "config"];

/// The command line as parsed, with the config file it named or found.
#[derive(Debug)]
pub struct Invocation {
    /// The parsed command line.
    pub cli: Cli,
    /// What clap matched, for where each value came from.
    pub matches: ArgMatches,
}

/// Why the command line cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// clap's own: usage errors, and `--help` and `--version`.
    #[error(transparent)]
    Usage(#[from] clap::Error),
    /// The config file.
    #[error(transparent)]
    File(#[from] file::Error),
}

impl Invocation {
    /// Parses `args` (the program name first), with the config file's settings as defaults.
    ///
    /// Parsed twice: once as is, to learn which file to read (`--config` or
    /// `FRAMECAST_CONFIG` as clap reads them, else the default path if that file exists),
    /// then with the file's settings as the defaults of their arguments. Anything wrong with
    /// the command line itself is thus reported as it always was.
    pub fn parse<I, T>(args: I) -> Result<Invocation, Failure>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let first = Cli::command().try_get_matches_from(&args)?;
        // Only for the commands it is for: a broken file must not stop `render`.
        let path = first
            .subcommand()
            .filter(|(name, _)| FILE_SUBCOMMANDS.contains(name))
            .and_then(|(_, sub)| {
                let named = sub
                    .get_one::<PathBuf>("config")
                    .filter(|path| !path.as_os_str().is_empty())
                    .cloned();
                named.or_else(|| {
                    file::default_path(
                        std::env::var_os("XDG_CONFIG_HOME"),
                        std::env::var_os("HOME"),
                    )
                    .filter(|default| default.exists())
                })
            });
        let Some(path) = path else {
            let cli = Cli::from_arg_matches(&first)?;
            return Ok(Invocation {
                cli,
                matches: first,
            });
        };
        let config_file = file::ConfigFile::load(&path)?;
        let command = config_file.apply(Cli::command(), &FILE_SUBCOMMANDS)?;
        let matches = command.try_get_matches_from(&args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        if let (Command::Serve(serve) | Command::Config(serve), Some((_, sub))) =
            (&mut cli.command, matches.subcommand())
        {
            serve.yield_to_environment(sub);
            serve.file = Some(config_file);
        }
        Ok(Invocation { cli, matches })
    }
}

/// `framecast generate` (hidden): what packaging installs next to the binary, made from the
/// same clap definitions as the command line itself so they never disagree with `--help`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write `man/*.1` and `completions/{framecast.bash,_framecast,framecast.fish}`
    /// into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Where `serve` listens, as written on the command line. Host names are resolved when the
/// server binds, not while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// Every address of the machine, IPv4 and IPv6 where the system allows: `8080`, `:8080`,
    /// `*:8080`.
    Any(u16),
    /// One address: `192.168.1.10:8080`, `0.0.0.0:8080` (IPv4 only), `[::]:8080` (IPv6, and
    /// IPv4 too where the system allows).
    Addr(SocketAddr),
    /// A host name and a port: `localhost:8080`.
    Host(String, u16),
}

impl FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let text = s.trim();
        let bad = || {
            format!(
                "'{s}' is not an address to listen on: use a port (8080), HOST:PORT \
                 (192.168.1.10:8080, localhost:8080) or [IPv6]:PORT ([::]:8080)"
            )
        };
        let port = |p: &str| -> Result<u16, String> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse()
                .map_err(|_| format!("port {p} in '{s}' is out of range: use 0 to 65535"))
        };
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return port(text).map(Listen::Any);
        }
        if let Some(p) = text.strip_prefix(':').or_else(|| text.strip_prefix("*:")) {
            return port(p).map(Listen::Any);
        }
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Listen::Addr(addr));
        }
        let (host, p) = text.rsplit_once(':').ok_or_else(bad)?;
        // An IPv6 address needs brackets, or its last group would read as the port.
        let is_name = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !is_name {
            return Err(bad());
        }
        Ok(Listen::Host(host.to_string(), port(p)?))
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Any(port) => write!(f, "port {port}"),
            Listen::Addr(addr) => write!(f, "{addr}"),
            Listen::Host(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

/// File descriptors kept aside for everything but client connections: photos being read by
/// the workers, the runtime, logs, the listener.
const RESERVED_FILES: u64 = 64;

/// The default connection cap for a process allowed `open_files` descriptors: half of what is
/// left after the reserve and the overflow slots, so the cap stays well below the limit, and
/// at most 4096, which is more than a home network has screens and costs little memory.
pub fn default_max_connections(open_files: u64) -> usize {
    let spare = open_files.saturating_sub(RESERVED_FILES + http::listen::OVERFLOW_SLOTS as u64);
    usize::try_from(spare / 2)
        .unwrap_or(usize::MAX)
        .clamp(8, 4096)
}

impl ServeArgs {
    /// Folders and albums also come from lists in the environment, read by hidden arguments of
    /// their own (`FRAMECAST_DIRS`, `FRAMECAST_ALBUMS`): a list from the config file is only
    /// the default of the visible argument, so it gives way to the environment's here.
    fn yield_to_environment(&mut self, matches: &ArgMatches) {
        let from_file =
            |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::DefaultValue);
        if from_file("dirs") && self.dirs_env.as_ref().is_some_and(|e| !e.is_empty()) {
            self.dirs.clear();
        }
        if from_file("albums") && self.albums_env.as_ref().is_some_and(|e| !e.is_empty()) {
            self.albums.clear();
        }
    }

    /// The validated configuration for a process allowed `open_files` file descriptors.
    /// Every profile of the config file is checked against the default frame spec.
    pub fn into_config(self, open_files: u64) -> anyhow::Result<ServeConfig> {
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
        let disk_cache = if self.no_disk_cache {
            None
        } else {
            self.cache_dir
                .or_else(|| {
                    default_cache_dir(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
                })
                .map(|dir| cache::disk::Options {
                    dir,
                    max_bytes: self.disk_cache_size,
                })
        };
        let spec = self.frame.spec();
        let profiles = match &self.file {
            Some(file) => http::Profiles::new(file.profile_pairs(), &spec)
                .map_err(|e| file.profile_error(e))?,
            None => http::Profiles::default(),
        };
        Ok(ServeConfig {
            listen: self.listen,
            settings: Settings {
                library: library::Options {
                    roots,
                    exclude: Vec::new(),
                    watch: !self.no_watch,
                    rescan: self.rescan,
                    index: state.as_ref().map(|d| d.join("index.sqlite")),
                    limits: self.frame.limits(),
                    ..Default::default()
                },
                playback: schedule::Playback {
                    order: self.order,
                    albums,
                    resume: state.as_ref().map(|d| d.join("position.json")),
                },
                spec,
                limits: self.frame.limits(),
                threads: self.frame.threads(),
                pool: self.frame.pool(),
                cache: cache::Limits {
                    max_bytes: self.cache_size,
                },
                disk_cache,
                timing: schedule::Timing {
                    interval: self.interval,
                    ..Default::default()
                },
                renditions: schedule::rendition::Limits {
                    max: self.max_streams as usize,
                    ..Default::default()
                },
                http: http::Options {
                    mjpeg: http::mjpeg::Options {
                        refresh: self.refresh,
                        ..Default::default()
                    },
                    write_timeout: self.write_timeout,
                    max_clients: self.max_clients as usize,
                    max_connections: self
                        .max_connections
                        .map_or_else(|| default_max_connections(open_files), |n| n as usize),
                    idle_timeout: self.idle_timeout,
                    access: http::Access {
                        basic: self.auth,
                        token: self.token,
                    },
                    profiles,
                    config_file: self.file.map(|f| f.path),
                    ..Default::default()
                },
            },
        })
    }
}

/// Everything `framecast serve` needs, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: Listen,
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
    /// Memory and time budgets of the renders.
    pub pool: pool::Limits,
    /// Where the frames go.
    pub out: PathBuf,
}

impl FrameArgs {
    fn spec(&self) -> Spec {
        Spec {
            size: self.size,
            quality: self.quality,
            background: self.background,
            fit: self.fit,
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

    fn pool(&self) -> pool::Limits {
        pool::Limits {
            memory: self.decode_memory.unwrap_or_else(default_decode_memory),
            timeout: self.render_timeout,
        }
    }
}

/// Half of the memory this process may use: the machine's (`MemTotal`), or its cgroup's
/// limit when that is lower (a container, a systemd `MemoryMax=`). The other half is left to
/// the frame cache, the rest of the process and the system. 1 GiB when neither can be read.
fn default_decode_memory() -> u64 {
    let machine = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| meminfo_total(&text));
    let cgroup = cgroup_memory_max();
    match (machine, cgroup) {
        (Some(m), Some(c)) => m.min(c) / 2,
        (Some(m), None) => m / 2,
        (None, Some(c)) => c / 2,
        (None, None) => 1 << 30,
    }
}

/// `MemTotal` from the text of `/proc/meminfo`, in bytes.
fn meminfo_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The cgroup v2 memory limit of this process, if it has one.
fn cgroup_memory_max() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let max = std::fs::read_to_string(format!("/sys/fs/cgroup{}/memory.max", path.trim())).ok()?;
    max.trim().parse().ok() // "max" means no limit
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
            pool: self.frame.pool(),
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

/// The frame cache folder's default, from `XDG_CACHE_HOME` and `HOME`:
/// `$XDG_CACHE_HOME/framecast`, else `~/.cache/framecast`; `None` (frames kept in memory only)
/// when neither is set.
fn default_cache_dir(xdg_cache_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let xdg = xdg_cache_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    xdg.or_else(|| {
        home.filter(|h| !h.is_empty())
            .map(|home| PathBuf::from(home).join(".cache"))
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

/// Parses a duration in the syntax of `framecast::schedule::channel::duration_seconds`
/// (`5s`, `500ms`, `1m30s`, `1.5h`; a bare number is refused with a hint). It must be between
/// 10 ms (shorter would only burn CPU) and a year.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let secs = framecast::schedule::channel::duration_seconds(s)?;
    if !(0.01..=86_400.0 * 365.0).contains(&secs) {
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
        let ok = |s: &str| parse_duration(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(ok("5s"), Duration::from_secs(5));
        assert_eq!(ok("5S"), Duration::from_secs(5));
        assert_eq!(ok(" 5 s "), Duration::from_secs(5));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("500MS"), Duration::from_millis(500));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1h 2m 3s"), Duration::from_secs(3723));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("2min"), Duration::from_secs(120));
        assert_eq!(ok("10ms"), Duration::from_millis(10));
    }

    #[test]
    fn bad_durations_say_what_to_write() {
        let err = |s: &str| parse_duration(s).expect_err(s);
        assert_eq!(err("5"), "'5' has no unit: did you mean 5s?");
        assert_eq!(err("1.5"), "'1.5' has no unit: did you mean 1.5s?");
        assert!(err("1m30").contains("did you mean 1m30s?"));
        assert!(err("5 fortnights").contains("unknown unit 'fortnights'"));
        assert!(err("soon").contains("like 5s"));
        assert!(err("").contains("like 5s"));
        assert!(err("-5s").contains("like 5s"));
        assert!(err("0s").contains("between 10ms and a year"));
        assert!(err("5ms").contains("between 10ms and a year"));
        assert!(err("400d").contains("unknown unit 'd'"));
    }

    #[test]
    fn listen_addresses() {
        let ok = |s: &str| s.parse::<Listen>().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(ok("8080"), Listen::Any(8080));
        assert_eq!(ok(":8080"), Listen::Any(8080));
        assert_eq!(ok("*:8080"), Listen::Any(8080));
        assert_eq!(ok("0"), Listen::Any(0));
        assert_eq!(
            ok("192.168.1.10:8080"),
            Listen::Addr("192.168.1.10:8080".parse().expect("addr"))
        );
        assert_eq!(
            ok("[::]:8080"),
            Listen::Addr("[::]:8080".parse().expect("addr"))
        );
        assert_eq!(
            ok("[::1]:80"),
            Listen::Addr("[::1]:80".parse().expect("addr"))
        );
        assert_eq!(ok("localhost:8080"), Listen::Host("localhost".into(), 8080));
        assert_eq!(
            ok("frame.home.arpa:81"),
            Listen::Host("frame.home.arpa".into(), 81)
        );
    }

    #[test]
    fn bad_listen_addresses_show_examples() {
        for bad in [
            "",
            "localhost",
            "::1:8080",
            "host:",
            "host:port",
            "a b:80",
            ":x",
        ] {
            let e = bad.parse::<Listen>().expect_err(bad);
            assert!(
                e.contains("[::]:8080") && e.contains("localhost:8080"),
                "{bad}: {e}"
            );
        }
        let e = "70000".parse::<Listen>().expect_err("too large");
        assert!(e.contains("out of range"), "{e}");
        let e = "localhost:99999".parse::<Listen>().expect_err("too large");
        assert!(e.contains("out of range"), "{e}");
    }

    #[test]
    fn serve_defaults() {
        let cli = Cli::try_parse_from(["framecast", "serve"]).expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let config = args.into_config(1024).expect("valid");
        assert_eq!(config.listen, Listen::Any(8080));
        assert_eq!(config.settings.library.roots, [PathBuf::from(".")]);
        assert_eq!(config.settings.library.rescan, Duration::from_secs(60));
        assert!(config.settings.library.watch);
        assert_eq!(config.settings.playback.order, Order::Name);
        assert_eq!(config.settings.timing.interval, Duration::from_secs(5));
        assert_eq!(config.settings.http.mjpeg.refresh, Duration::from_secs(1));
        assert_eq!(config.settings.cache.max_bytes, 256 * 1024 * 1024);
        if let Some(disk) = &config.settings.disk_cache {
            assert_eq!(disk.max_bytes, 1 << 30);
        }
        assert_eq!(config.settings.spec.fit, Fit::Letterbox);
    }

    #[test]
    fn fit_modes() {
        let serve = |fit: &str| {
            let cli = Cli::try_parse_from(["framecast", "serve", "--fit", fit])
                .map_err(|e| e.to_string())?;
            let Command::Serve(args) = cli.command else {
                panic!("not serve")
            };
            args.into_config(1024)
                .map(|c| c.settings.spec.fit)
                .map_err(|e| e.to_string())
        };
        assert_eq!(serve("blur"), Ok(Fit::Blur));
        assert_eq!(serve("cover"), Ok(Fit::Cover));
        assert_eq!(serve("pair"), Ok(Fit::Pair));
        let bad = serve("stretch").expect_err("not a mode");
        assert!(bad.contains("letterbox, blur, cover or pair"), "{bad}");
        let cli = Cli::try_parse_from(["framecast", "render", "p", "-o", "f", "--fit", "pair"])
            .expect("parses");
        let Command::Render(args) = cli.command else {
            panic!("not render")
        };
        assert_eq!(args.into_config().spec.fit, Fit::Pair);
    }

    #[test]
    fn the_connection_cap_stays_well_below_the_open_file_limit() {
        for files in [256, 1024, 4096, 20_000, 1 << 20] {
            let cap = default_max_connections(files) as u64;
            assert!(
                cap + RESERVED_FILES + http::listen::OVERFLOW_SLOTS as u64 <= files * 3 / 4,
                "{files}: {cap}"
            );
        }
        assert_eq!(default_max_connections(1 << 20), 4096);
    }

    #[test]
    fn access_settings() {
        let cli = Cli::try_parse_from([
            "framecast",
            "serve",
            "--auth",
            "tv:pass:word",
            "--token",
            "0123456789abcdef",
        ])
        .expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let access = args.into_config(1024).expect("valid").settings.http.access;
        assert_eq!(access.basic.as_ref().map(|b| b.user()), Some("tv"));
        assert!(access.token.is_some());
        for bad in [["--auth", "nopassword"], ["--token", "short"]] {
            let parsed = Cli::try_parse_from(["framecast", "serve", bad[0], bad[1]]);
            assert!(parsed.is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_colon_splits_folders_only_in_the_environment() {
        let cli = Cli::try_parse_from(["framecast", "serve", "/photos/12:30 lunch", "b"])
            .expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let config = args.into_config(1024).expect("valid");
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
        let s = args.into_config(1024).expect("valid").settings;
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
    fn disk_cache_settings() {
        let disk = |args: &[&str]| {
            let cli =
                Cli::try_parse_from(["framecast", "serve"].iter().chain(args)).expect("parses");
            let Command::Serve(args) = cli.command else {
                panic!("not serve")
            };
            args.into_config(1024).expect("valid").settings.disk_cache
        };
        assert_eq!(
            disk(&["--cache-dir", "/tmp/fc", "--disk-cache-size", "200MiB"]),
            Some(cache::disk::Options {
                dir: PathBuf::from("/tmp/fc"),
                max_bytes: 200 << 20,
            })
        );
        assert_eq!(disk(&["--cache-dir", "/tmp/fc", "--no-disk-cache"]), None);
        assert!(Cli::try_parse_from(["framecast", "serve", "--disk-cache-size", "lots"]).is_err());
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            default_cache_dir(os("/var/cache"), os("/home/a")),
            Some(PathBuf::from("/var/cache/framecast"))
        );
        // XDG wants an absolute path; a relative one is ignored.
        assert_eq!(
            default_cache_dir(os("cache"), os("/home/a")),
            Some(PathBuf::from("/home/a/.cache/framecast"))
        );
        assert_eq!(
            default_cache_dir(None, os("/home/a")),
            Some(PathBuf::from("/home/a/.cache/framecast"))
        );
        assert_eq!(default_cache_dir(None, os("")), None);
        assert_eq!(default_cache_dir(None, None), None);
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
        assert_eq!(config.pool.timeout, Duration::from_secs(60));
        // Half of this machine's memory, or of the test's cgroup: at least something, and
        // never more than the machine has.
        let total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| meminfo_total(&t))
            .expect("MemTotal");
        assert!(config.pool.memory > 0 && config.pool.memory <= total / 2);
    }

    #[test]
    fn budgets_from_flags() {
        let cli = Cli::try_parse_from([
            "framecast",
            "serve",
            "--decode-memory",
            "300MiB",
            "--render-timeout",
            "500ms",
        ])
        .expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let pool = args.into_config(1024).expect("valid").settings.pool;
        assert_eq!(pool.memory, 300 << 20);
        assert_eq!(pool.timeout, Duration::from_millis(500));
    }

    #[test]
    fn meminfo() {
        let text = "MemTotal:       24605832 kB\nMemFree:         1234 kB\n";
        assert_eq!(meminfo_total(text), Some(24_605_832 * 1024));
        assert_eq!(meminfo_total("nonsense"), None);
    }
}
