//! `/api/status`, `/api/albums`, `/healthz` and `/metrics`: what the server is doing, for
//! people and monitors.
//!
//! The status stays small whatever the library holds: failures are counted, and only the first
//! [`FAILURES_LISTED`] (by path) are listed unless `?failures=all` asks for every one, so a
//! dashboard polling it does not download megabytes because a folder of 100,000 broken files
//! was added. Secrets never appear in it: the settings say whether a password or a token is
//! set, not what it is.
//!
//! `/metrics` follows the Prometheus conventions: every family has `# HELP` and `# TYPE`,
//! names start with `framecast_`, counters end in `_total` and only ever go up (totals over
//! every client, not only those connected now), and quantities are in seconds and bytes. The
//! lower modules keep the counts as plain atomics; this module only formats them.

use std::fmt::Write as _;
use std::time::{Instant, UNIX_EPOCH};

use crate::library::{self, Mode};

use serde::Serialize;
use warp::Reply;

use super::clients::ClientInfo;
use super::query::Query;
use super::{Error, State};
use crate::schedule::rendition;

/// Failures listed by default.
pub const FAILURES_LISTED: usize = 100;

#[derive(Serialize)]
struct Status {
    version: &'static str,
    uptime_seconds: f64,
    /// The photo on screen, `null` while there is none.
    current: Option<Current>,
    /// Milliseconds until the picture changes, `null` while nobody watches (the timeline
    /// holds still then).
    next_change_in_ms: Option<u64>,
    photos: PhotosStatus,
    index: IndexStatus,
    cache: CacheStatus,
    clients: Vec<ClientInfo>,
    /// The default channel's renditions.
    renditions: Vec<RenditionStatus>,
    /// Every channel in use, the default first, each with its renditions.
    channels: Vec<ChannelStatus>,
    limits: LimitsStatus,
    settings: SettingsStatus,
}

/// A photo as a person finds it: which folder (its index in `index.roots`), and where in it.
#[derive(Serialize)]
struct Current {
    root: usize,
    path: String,
}

/// The settings in effect, durations in milliseconds and sizes in bytes; never a secret.
#[derive(Serialize)]
struct SettingsStatus {
    size: String,
    fit: &'static str,
    quality: u8,
    interval_ms: u64,
    refresh_ms: u64,
    order: &'static str,
    albums: Vec<String>,
    cache_max_bytes: u64,
    threads: usize,
    max_clients: usize,
    max_connections: usize,
    limits: FileLimits,
    /// Whether a user name and password are needed (not what they are).
    auth: bool,
    /// Whether an access token is accepted (not what it is).
    token: bool,
    /// The config file read at start, if any.
    config_file: Option<String>,
    /// The named profiles (`/api/profiles` has their parameters).
    profiles: Vec<String>,
}

#[derive(Serialize)]
struct FileLimits {
    max_pixels: u64,
    max_file_bytes: u64,
    decode_memory_bytes: u64,
    render_timeout_ms: u64,
}

/// A rendition of the timeline: what its frames look like and who follows it.
#[derive(Serialize)]
struct RenditionStatus {
    size: String,
    fit: &'static str,
    quality: u8,
    background: String,
    /// Whether it is the server's default rendition (the default channel's lead).
    default: bool,
    /// Whether its channel's timeline steps in it (kept as long as the channel).
    lead: bool,
    clients: usize,
    /// Seconds without a client or a request (dropped past `idle_limit_secs`, unless default).
    idle_secs: f64,
}

/// A channel: what it plays, what is on screen and who follows it.
#[derive(Serialize)]
struct ChannelStatus {
    /// Its albums (every photo when empty).
    albums: Vec<String>,
    order: &'static str,
    interval_ms: u64,
    /// Whether it is the command line's (always there, its place kept across restarts).
    default: bool,
    current: Option<Current>,
    next_change_in_ms: Option<u64>,
    /// Clients following it now, in any rendition.
    clients: usize,
    /// Seconds without a client or a request (dropped past `idle_limit_secs`, unless default).
    idle_secs: f64,
    /// Its renditions, the lead first.
    renditions: Vec<RenditionStatus>,
}

#[derive(Serialize)]
struct PhotosStatus {
    found: usize,
    rendered: usize,
    /// How many failed.
    failed_count: usize,
    /// The first [`FAILURES_LISTED`] of them by path, or all with `?failures=all`.
    failed: Vec<FailedPhoto>,
    pictures_published: u64,
}

/// What the library knows and how it follows the folders.
#[derive(Serialize)]
struct IndexStatus {
    photos: usize,
    formats: std::collections::BTreeMap<&'static str, usize>,
    /// `watched`, `polled`, or `mixed` when roots differ.
    following: &'static str,
    roots: Vec<RootInfo>,
    scanning: bool,
    last_scan_unix: Option<u64>,
    rescan_secs: f64,
    pending: usize,
    pending_files: Vec<String>,
    headers_read: u64,
    file: Option<String>,
}

#[derive(Serialize)]
struct RootInfo {
    path: String,
    mode: &'static str,
    reason: Option<String>,
}

#[derive(Serialize)]
struct FailedPhoto {
    path: String,
    reason: String,
}

#[derive(Serialize)]
struct CacheStatus {
    frames: usize,
    bytes: u64,
    max_bytes: u64,
    hits: u64,
    /// Requests that rendered: neither in memory nor on disk.
    misses: u64,
    evictions: u64,
    /// The copy on disk, `null` when there is none (`--no-disk-cache`).
    disk: Option<DiskStatus>,
}

/// The frame cache on disk.
#[derive(Serialize)]
struct DiskStatus {
    dir: String,
    files: usize,
    bytes: u64,
    max_bytes: u64,
    /// Frames served from disk instead of rendered.
    hits: u64,
    misses: u64,
    writes: u64,
    evictions: u64,
    /// Files deleted because they were truncated, corrupt or foreign.
    discarded: u64,
    /// Reads, writes and removals that failed (a full disk, a read-only folder).
    errors: u64,
}

#[derive(Serialize)]
struct LimitsStatus {
    max_clients: usize,
    clients_refused: u64,
    connections: usize,
    max_connections: usize,
    overflow_connections: u64,
    /// Streams (a channel in a rendition) at most, and in use now.
    max_streams: usize,
    streams: usize,
    idle_limit_secs: f64,
}

/// `GET /api/status`; `?failures=all` lists every failure.
pub fn status(state: &State, query: &Query) -> Result<warp::reply::Response, warp::Rejection> {
    let listed = match query.get("failures") {
        None => FAILURES_LISTED,
        Some("all") => usize::MAX,
        Some(other) => {
            return Err(warp::reject::custom(Error::BadQuery(format!(
                "failures must be 'all', not '{other}'"
            ))));
        }
    };
    let schedule = state.schedule.status();
    let cache = state.cache.stats();
    let status = Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started.elapsed().as_secs_f64(),
        current: schedule.current.as_deref().map(Current::of),
        next_change_in_ms: schedule.next_change.map(millis_until),
        settings: settings(state),
        index: index_status(state),
        photos: PhotosStatus {
            found: schedule.photos,
            rendered: schedule.rendered,
            failed_count: schedule.failed.len(),
            failed: schedule
                .failed
                .into_iter()
                .take(listed)
                .map(|f| FailedPhoto {
                    path: f.path.display().to_string(),
                    reason: f.reason,
                })
                .collect(),
            pictures_published: schedule.published,
        },
        cache: CacheStatus {
            frames: cache.frames,
            bytes: cache.bytes,
            max_bytes: cache.max_bytes,
            hits: cache.hits,
            misses: cache.misses,
            evictions: cache.evictions,
            disk: state.cache.disk_stats().map(|disk| DiskStatus {
                dir: disk.dir.display().to_string(),
                files: disk.files,
                bytes: disk.bytes,
                max_bytes: disk.max_bytes,
                hits: disk.hits,
                misses: disk.misses,
                writes: disk.writes,
                evictions: disk.evictions,
                discarded: disk.discarded,
                errors: disk.errors,
            }),
        },
        clients: state.clients.list(),
        renditions: renditions(state.schedule.default_channel().renditions().info(), true),
        channels: state
            .schedule
            .channels()
            .iter()
            .map(|channel| {
                let info = channel.info();
                ChannelStatus {
                    albums: info.key.albums().to_vec(),
                    order: info.key.order().name(),
                    interval_ms: u64::try_from(info.key.interval().as_millis()).unwrap_or(u64::MAX),
                    default: info.default,
                    current: info.current.as_deref().map(Current::of),
                    next_change_in_ms: info.next_change.map(millis_until),
                    clients: info.clients,
                    idle_secs: info.idle.as_secs_f64(),
                    renditions: renditions(info.renditions, info.default),
                }
            })
            .collect(),
        limits: LimitsStatus {
            max_clients: state.options.max_clients,
            clients_refused: state.clients.refused(),
            connections: state.connections.open(),
            max_connections: state.connections.max(),
            overflow_connections: state.connections.overflow(),
            max_streams: state.schedule.limits().max,
            streams: state.schedule.streams(),
            idle_limit_secs: state.schedule.limits().idle.as_secs_f64(),
        },
    };
    let mut response = warp::reply::json(&status).into_response();
    super::mjpeg::no_cache(&mut response);
    Ok(response)
}

impl Current {
    fn of(photo: &library::Photo) -> Current {
        Current {
            root: photo.root,
            path: photo.relative.display().to_string(),
        }
    }
}

fn millis_until(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(Instant::now()).as_millis()).unwrap_or(u64::MAX)
}

/// The renditions of a channel, `default` if it is the default channel.
fn renditions(list: Vec<rendition::Info>, default: bool) -> Vec<RenditionStatus> {
    list.into_iter()
        .map(|r| RenditionStatus {
            size: r.spec.size.to_string(),
            fit: r.spec.fit.name(),
            quality: r.spec.quality,
            background: r.spec.background.to_string(),
            default: default && r.lead,
            lead: r.lead,
            clients: r.clients,
            idle_secs: r.idle.as_secs_f64(),
        })
        .collect()
}

fn settings(state: &State) -> SettingsStatus {
    let pool = state.cache.pool();
    let spec = pool.spec();
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let playback = state.schedule.playback();
    let options = &state.options;
    SettingsStatus {
        size: spec.size.to_string(),
        fit: spec.fit.name(),
        quality: spec.quality,
        interval_ms: millis(state.schedule.timing().interval),
        refresh_ms: millis(options.mjpeg.refresh),
        order: playback.order.name(),
        albums: playback.albums.clone(),
        cache_max_bytes: state.cache.stats().max_bytes,
        threads: pool.threads(),
        max_clients: options.max_clients,
        max_connections: options.max_connections,
        limits: FileLimits {
            max_pixels: pool.file_limits().max_pixels,
            max_file_bytes: pool.file_limits().max_file_bytes,
            decode_memory_bytes: pool.limits().memory,
            render_timeout_ms: millis(pool.limits().timeout),
        },
        auth: options.access.basic.is_some(),
        token: options.access.token.is_some(),
        config_file: options
            .config_file
            .as_ref()
            .map(|p| p.display().to_string()),
        profiles: options.profiles.names().map(String::from).collect(),
    }
}

fn index_status(state: &State) -> IndexStatus {
    let library = state.schedule.library().status();
    let roots: Vec<RootInfo> = library
        .roots
        .iter()
        .map(|r| {
            let (mode, reason) = match &r.mode {
                Mode::Watched => ("watched", None),
                Mode::Polled(why) => ("polled", Some(why.clone())),
                Mode::Missing => ("missing", None),
            };
            RootInfo {
                path: r.path.display().to_string(),
                mode,
                reason,
            }
        })
        .collect();
    let present: Vec<&str> = roots
        .iter()
        .map(|r| r.mode)
        .filter(|m| *m != "missing")
        .collect();
    let following = match present.first() {
        Some(first) if present.iter().all(|m| m == first) => first,
        Some(_) => "mixed",
        None => "missing",
    };
    IndexStatus {
        photos: library.photos,
        formats: library
            .formats
            .iter()
            .map(|(f, n)| (f.map_or("unreadable", |f| f.name()), *n))
            .collect(),
        following,
        roots,
        scanning: library.scanning,
        last_scan_unix: library
            .last_scan
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
        rescan_secs: library.rescan.as_secs_f64(),
        pending: library.pending_count,
        pending_files: library
            .pending
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        headers_read: library.headers_read,
        file: library.index.map(|p| p.display().to_string()),
    }
}

#[derive(Serialize)]
struct AlbumInfo {
    name: String,
    photos: usize,
    /// Whether the slideshow plays it (`--album`; all are played without one).
    playing: bool,
}

/// `GET /api/albums`: every album of the library with its photo count.
pub fn albums(state: &State) -> warp::reply::Response {
    let snapshot = state.schedule.library().snapshot();
    let chosen = &state.schedule.playback().albums;
    let list: Vec<AlbumInfo> = snapshot
        .albums
        .iter()
        .map(|a: &library::Album| AlbumInfo {
            name: a.name.to_string(),
            photos: a.photos,
            playing: chosen.is_empty() || chosen.iter().any(|c| **c == *a.name),
        })
        .collect();
    let mut response = warp::reply::json(&list).into_response();
    super::mjpeg::no_cache(&mut response);
    response
}

/// `GET /api/profiles`: each named profile with its parameters, by name.
pub fn profiles(state: &State) -> warp::reply::Response {
    let mut response = warp::reply::json(&state.options.profiles.json()).into_response();
    super::mjpeg::no_cache(&mut response);
    response
}

/// `GET /healthz`: 200 once a picture is on screen, 503 before.
pub fn healthz(state: &State) -> warp::reply::Response {
    if state.schedule.current().is_some() {
        warp::reply::with_status("ok\n", warp::http::StatusCode::OK).into_response()
    } else {
        warp::reply::with_status("starting\n", warp::http::StatusCode::SERVICE_UNAVAILABLE)
            .into_response()
    }
}

/// Metric families in the Prometheus text format (version 0.0.4).
#[derive(Default)]
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP framecast_{name} {help}");
        let _ = writeln!(self.0, "# TYPE framecast_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = write!(self.0, "framecast_{name}");
        if !labels.is_empty() {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let _ = write!(self.0, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn gauge(&mut self, name: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, "gauge", help);
        self.sample(name, &[], value);
    }

    /// A counter: `name` ends in `_total`.
    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, "counter", help);
        self.sample(name, &[], value);
    }

    /// A counter with one sample per value of `label`.
    fn counters(&mut self, name: &str, help: &str, label: &str, values: &[(&str, u64)]) {
        self.family(name, "counter", help);
        for (value_of_label, value) in values {
            self.sample(name, &[(label, value_of_label)], value);
        }
    }

    /// A histogram from `(upper bound, cumulative count)` pairs, the count of all
    /// observations (the `+Inf` bucket) and their sum.
    fn histogram(
        &mut self,
        name: &str,
        help: &str,
        buckets: impl Iterator<Item = (f64, u64)>,
        count: u64,
        sum: f64,
    ) {
        self.family(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for (bound, cumulative) in buckets {
            self.sample(&bucket, &[("le", &bound.to_string())], cumulative);
        }
        self.sample(&bucket, &[("le", "+Inf")], count);
        self.sample(&format!("{name}_sum"), &[], sum);
        self.sample(&format!("{name}_count"), &[], count);
    }
}

/// The families of the frame cache on disk (absent with `--no-disk-cache`).
fn disk_metrics(out: &mut Exposition, disk: &crate::cache::disk::Stats) {
    out.gauge(
        "disk_cache_files",
        "Frame files in the disk cache.",
        disk.files,
    );
    out.gauge(
        "disk_cache_bytes",
        "Bytes of frame files in the disk cache.",
        disk.bytes,
    );
    out.gauge(
        "disk_cache_max_bytes",
        "Byte bound of the disk cache.",
        disk.max_bytes,
    );
    out.counter(
        "disk_cache_hits_total",
        "Frames read from the disk cache instead of rendered.",
        disk.hits,
    );
    out.counter(
        "disk_cache_misses_total",
        "Frames looked for in the disk cache and not found.",
        disk.misses,
    );
    out.counter(
        "disk_cache_writes_total",
        "Frames written to the disk cache.",
        disk.writes,
    );
    out.counter(
        "disk_cache_evictions_total",
        "Frame files removed to stay under the bound.",
        disk.evictions,
    );
    out.counter(
        "disk_cache_discarded_total",
        "Frame files deleted because they were truncated, corrupt or foreign.",
        disk.discarded,
    );
    out.counter(
        "disk_cache_errors_total",
        "Disk cache reads, writes and removals that failed.",
        disk.errors,
    );
}

/// `GET /metrics`: the counts of every stage in the Prometheus text format.
pub fn metrics(state: &State) -> warp::reply::Response {
    let schedule = state.schedule.status();
    let cache = state.cache.stats();
    let renders = state.cache.pool().render_counts();
    let streams = state.clients.totals();
    let connections = &state.connections;
    let mut out = Exposition::default();

    out.family(
        "build_info",
        "gauge",
        "The running version, as a label; always 1.",
    );
    out.sample("build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1);
    out.gauge(
        "uptime_seconds",
        "Seconds since start.",
        state.started.elapsed().as_secs_f64(),
    );

    out.gauge(
        "library_photos",
        "Photos in the library (every folder, every album).",
        state.schedule.library().status().photos,
    );
    out.gauge(
        "photos",
        "Photos in play (the library less the albums not chosen).",
        schedule.photos,
    );
    out.gauge(
        "photos_rendered",
        "Distinct photos rendered.",
        schedule.rendered,
    );
    out.gauge(
        "photos_failed",
        "Photos that could not be rendered.",
        schedule.failed.len(),
    );
    out.counter(
        "pictures_published_total",
        "Pictures put on the timeline.",
        schedule.published,
    );
    out.gauge(
        "channels",
        "Channels in use (timelines of their own albums, order and interval), the default \
         one included.",
        state.schedule.channels().len(),
    );
    out.gauge(
        "streams",
        "Streams in use (a channel in a frame format each), bounded by --max-streams.",
        state.schedule.streams(),
    );

    out.counter(
        "renders_total",
        "Photo renders finished, successful or not.",
        renders.renders,
    );
    out.counter(
        "render_failures_total",
        "Photo renders that failed (bad file, over a budget, timed out).",
        renders.failures,
    );
    out.histogram(
        "render_seconds",
        "Working time of each photo render (reading, decoding, fitting, encoding).",
        renders.buckets(),
        renders.renders,
        renders.seconds,
    );

    out.gauge("cache_frames", "Frames in the cache.", cache.frames);
    out.gauge("cache_bytes", "Bytes of frames in the cache.", cache.bytes);
    out.gauge(
        "cache_max_bytes",
        "Byte bound of the cache.",
        cache.max_bytes,
    );
    out.counter(
        "cache_hits_total",
        "Frame requests served from memory (or from a render under way).",
        cache.hits,
    );
    out.counter(
        "cache_misses_total",
        "Frame requests that rendered (in neither the memory nor the disk cache).",
        cache.misses,
    );
    out.counter(
        "cache_evictions_total",
        "Frames dropped to stay under the bound.",
        cache.evictions,
    );
    if let Some(disk) = state.cache.disk_stats() {
        disk_metrics(&mut out, &disk);
    }

    out.gauge(
        "clients",
        "Stream clients connected now.",
        state.clients.count(),
    );
    out.counter(
        "stream_clients_total",
        "Stream clients served since start.",
        streams.served,
    );
    out.counter(
        "stream_frames_sent_total",
        "Parts (new pictures and re-sends) sent to stream clients.",
        streams.frames,
    );
    out.counter(
        "stream_bytes_sent_total",
        "Bytes of stream bodies sent to stream clients.",
        streams.bytes,
    );
    out.counter(
        "stream_frames_skipped_total",
        "Pictures stream clients never got because they were too slow.",
        streams.skipped,
    );

    out.gauge("connections", "Connections open now.", connections.open());
    out.counter(
        "connections_accepted_total",
        "Connections accepted.",
        connections.accepted(),
    );
    out.counter(
        "connections_overflow_total",
        "Connections answered on the overflow path (every slot taken).",
        connections.overflow(),
    );
    out.counters(
        "requests_refused_total",
        "Requests refused: streams past --max-clients (503), requests while every \
         connection slot is taken (503), requests without valid credentials (401).",
        "reason",
        &[
            ("max_clients", state.clients.refused()),
            ("max_connections", connections.busy()),
            ("unauthorized", connections.unauthorized()),
        ],
    );

    let mut response = warp::reply::with_header(
        out.0,
        "content-type",
        "text/plain; version=0.0.4; charset=utf-8",
    )
    .into_response();
    super::mjpeg::no_cache(&mut response);
    response
}
