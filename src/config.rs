//! The command line: clap parses it (every option also from a `FRAMECAST_*` environment
//! variable), and this module turns it into one validated [`Config`] per command, built from
//! the library modules' own option types. Nothing in the library reads the command line or the
//! environment; everything it needs is passed down from here.

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use framecast::render::{Limits, Rgb, Size, Spec};
use framecast::server::Settings;
use framecast::{cache, discover, http, schedule};

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
    /// What is printed while running.
    pub const LOGGING: &str = "Logging";
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
    /// each frame exactly SIZE and upright. At start it prints the photos found and the
    /// page and stream URLs of every local address (unless -q), wherever logs go: a terminal
    /// or the journal.
    Serve(ServeArgs),
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
    /// Photo folders (walked recursively) or single photo files, ':'-separated in
    /// FRAMECAST_DIRS [default: the current folder].
    #[arg(value_name = "DIR", env = "FRAMECAST_DIRS", value_delimiter = ':',
          help_heading = heading::INPUT)]
    pub dirs: Vec<PathBuf>,

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

    /// A client whose connection takes no data for this long is dropped.
    #[arg(long, env = "FRAMECAST_WRITE_TIMEOUT", default_value = "30s",
          value_parser = parse_duration, help_heading = heading::LIMITS)]
    pub write_timeout: Duration,
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

impl ServeArgs {
    /// The validated configuration.
    pub fn into_config(self) -> ServeConfig {
        let roots = if self.dirs.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.dirs
        };
        ServeConfig {
            listen: self.listen,
            settings: Settings {
                discover: discover::Options {
                    roots,
                    exclude: Vec::new(),
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
    pub listen: Listen,
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
            discover: discover::Options {
                roots: self.inputs,
                // Rendering into a folder inside an input must not pick up its own frames.
                exclude: vec![self.out.clone()],
            },
            spec: self.frame.spec(),
            limits: self.frame.limits(),
            threads: self.frame.threads(),
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

/// Parses a duration: one or more numbers each with its unit, `5s`, `500ms`, `1m30s`, `1.5h`,
/// units in any case (`ms`, `s`, `m`, `h`; also `sec`, `min`). A bare number is refused with
/// a hint, since `5` could as well mean milliseconds as seconds. It must be between 10 ms
/// (shorter would only burn CPU) and a year.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("a duration is needed, like 5s or 500ms".to_string());
    }
    if text.parse::<f64>().is_ok() {
        return Err(format!("'{s}' has no unit: did you mean {text}s?"));
    }
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    let mut secs = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("'{s}' is not a duration like 5s, 1m30s or 500ms"))?;
        let after = rest[digits..].trim_start();
        let letters = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let scale = match &after[..letters] {
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "" => {
                return Err(format!(
                    "'{s}' ends in a number without a unit: did you mean {text}s?"
                ));
            }
            other => {
                return Err(format!(
                    "unknown unit '{other}' in '{s}' (use ms, s, m or h, as in 1m30s)"
                ));
            }
        };
        secs += value * scale;
        rest = after[letters..].trim_start();
    }
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
        let config = args.into_config();
        assert_eq!(config.listen, Listen::Any(8080));
        assert_eq!(config.settings.discover.roots, [PathBuf::from(".")]);
        assert_eq!(config.settings.timing.interval, Duration::from_secs(5));
        assert_eq!(config.settings.http.mjpeg.refresh, Duration::from_secs(1));
        assert_eq!(config.settings.cache.max_bytes, 256 * 1024 * 1024);
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
    }
}
