//! The command line: clap parses it (every option also from a `FRAMECAST_*` environment
//! variable), and this module turns it into one validated [`Config`] per command, built from
//! the library modules' own option types. Nothing in the library reads the command line or the
//! environment; everything it needs is passed down from here.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use framecast::http::access::{Credentials, Token};
use framecast::render::{Fit, Limits, Rgb, Size, Spec};
use framecast::server::Settings;
use framecast::{cache, discover, http, pool, schedule};

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

    /// How a photo fills a frame of another shape: letterbox (whole photo, bars of the
    /// background colour), blur (whole photo over a blurred, darkened copy of itself), cover
    /// (fills the frame, cropped around the centre) or pair (two portraits side by side on a
    /// landscape frame, anything else as blur; `render` pairs neighbouring portraits, `serve`
    /// does not offer it yet).
    #[arg(
        long,
        env = "FRAMECAST_FIT",
        default_value = "letterbox",
        value_name = "MODE"
    )]
    pub fit: Fit,

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

    /// Memory the photos being decoded may take together (1GiB, 500MB). Each photo's need is
    /// worked out from its header; a photo waits until enough is free, and one that needs
    /// more than all of it is skipped [default: half of the machine's memory].
    #[arg(long, env = "FRAMECAST_DECODE_MEMORY", value_name = "SIZE", value_parser = parse_bytes)]
    pub decode_memory: Option<u64>,

    /// A photo whose render works longer than this is abandoned and skipped: 60s, 2m.
    #[arg(long, env = "FRAMECAST_RENDER_TIMEOUT", default_value = "60s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub render_timeout: Duration,
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
    /// Photo folders (walked recursively) or single photo files [default: the current folder].
    #[arg(value_name = "DIR", env = "FRAMECAST_DIRS", value_delimiter = ':')]
    pub dirs: Vec<PathBuf>,

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

    /// Stream clients served at once; past it a new stream gets 503 with Retry-After
    /// (snapshots and status are not stream clients).
    #[arg(long, env = "FRAMECAST_MAX_CLIENTS", default_value_t = 64, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_clients: u32,

    /// Connections of any kind served at once [default: half the open-file limit left after
    /// a reserve, at most 4096]. Past it /healthz still answers and the rest get 503.
    #[arg(long, env = "FRAMECAST_MAX_CONNECTIONS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,

    /// A connection that sends no complete request for this long is closed (new ones that
    /// say nothing, and idle keep-alive ones).
    #[arg(long, env = "FRAMECAST_IDLE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// Require this user name and password (HTTP Basic: open http://USER:PASSWORD@host:port/).
    #[arg(
        long,
        env = "FRAMECAST_AUTH",
        value_name = "USER:PASSWORD",
        hide_env_values = true
    )]
    pub auth: Option<Credentials>,

    /// Require this token, as ?token=TOKEN in the URL (for screens that can only open a plain
    /// URL) or as the password of any user: 8 to 256 of A-Z a-z 0-9 - . _ ~
    #[arg(
        long,
        env = "FRAMECAST_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<Token>,

    #[command(flatten)]
    pub frame: FrameArgs,
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
    /// The validated configuration for a process allowed `open_files` file descriptors.
    /// `--fit pair` is refused: a stream shows one photo at a
    /// time, and its timeline cannot yet put two on one frame.
    pub fn into_config(self, open_files: u64) -> anyhow::Result<ServeConfig> {
        if self.frame.fit == Fit::Pair {
            anyhow::bail!(
                "--fit pair is not available for `serve` yet: the stream shows one photo at a \
                 time. Use --fit blur (portraits over a blurred copy of themselves), or \
                 `framecast render --fit pair` for a folder of paired frames"
            );
        }
        let roots = if self.dirs.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.dirs
        };
        Ok(ServeConfig {
            listen: self.listen,
            settings: Settings {
                discover: discover::Options {
                    roots,
                    exclude: Vec::new(),
                },
                spec: self.frame.spec(),
                limits: self.frame.limits(),
                threads: self.frame.threads(),
                pool: self.frame.pool(),
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
                    max_clients: self.max_clients as usize,
                    max_connections: self
                        .max_connections
                        .map_or_else(|| default_max_connections(open_files), |n| n as usize),
                    idle_timeout: self.idle_timeout,
                    access: http::Access {
                        basic: self.auth,
                        token: self.token,
                    },
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
    pub listen: SocketAddr,
    /// The server's settings.
    pub settings: Settings,
}

/// Everything `framecast render` needs, validated.
#[derive(Debug, Clone)]
pub struct RenderConfig {
    /// What to walk.
    pub discover: discover::Options,
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
            discover: discover::Options {
                roots: self.inputs,
                // Rendering into a folder inside an input must not pick up its own frames.
                exclude: vec![self.out.clone()],
            },
            spec: self.frame.spec(),
            limits: self.frame.limits(),
            threads: self.frame.threads(),
            pool: self.frame.pool(),
            out: self.out,
        }
    }
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
        let config = args.into_config(1024).expect("valid");
        assert_eq!(config.listen, "0.0.0.0:8080".parse().expect("addr"));
        assert_eq!(config.settings.discover.roots, [PathBuf::from(".")]);
        assert_eq!(config.settings.timing.interval, Duration::from_secs(5));
        assert_eq!(config.settings.http.mjpeg.refresh, Duration::from_secs(1));
        assert_eq!(config.settings.cache.max_bytes, 256 * 1024 * 1024);
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
        let pair = serve("pair").expect_err("refused");
        assert!(pair.contains("not available for `serve`"), "{pair}");
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
        assert_eq!(config.discover.exclude, [PathBuf::from("frames")]);
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
