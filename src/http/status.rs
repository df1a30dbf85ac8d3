//! `/api/status`, `/api/albums`, `/healthz` and `/metrics`: what the server is doing, for
//! people and monitors.
//!
//! The status stays small whatever the library holds: failures are counted, and only the first
//! [`FAILURES_LISTED`] (by path) are listed unless `?failures=all` asks for every one, so a
//! dashboard polling it does not download megabytes because a folder of 100,000 broken files
//! was added.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::UNIX_EPOCH;

use crate::library::{self, Mode};

use serde::Serialize;
use warp::Reply;

use super::clients::ClientInfo;
use super::{Error, State};

/// Failures listed by default.
pub const FAILURES_LISTED: usize = 100;

#[derive(Serialize)]
struct Status {
    photos: PhotosStatus,
    index: IndexStatus,
    cache: CacheStatus,
    clients: Vec<ClientInfo>,
    renditions: Vec<RenditionStatus>,
    limits: LimitsStatus,
    uptime_secs: f64,
}

/// A rendition of the timeline: what its frames look like and who follows it.
#[derive(Serialize)]
struct RenditionStatus {
    size: String,
    fit: &'static str,
    quality: u8,
    background: String,
    default: bool,
    clients: usize,
    /// Seconds without a client or a request (dropped past `idle_limit_secs`, unless default).
    idle_secs: f64,
}

#[derive(Serialize)]
struct PhotosStatus {
    found: usize,
    rendered: usize,
    /// How many failed.
    failed_count: usize,
    /// The first [`FAILURES_LISTED`] of them by path, or all with `?failures=all`.
    failed: Vec<FailedPhoto>,
    current: Option<String>,
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
    order: &'static str,
    albums: Vec<String>,
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
    misses: u64,
    evictions: u64,
}

#[derive(Serialize)]
struct LimitsStatus {
    max_clients: usize,
    clients_refused: u64,
    connections: usize,
    max_connections: usize,
    overflow_connections: u64,
    max_streams: usize,
    idle_limit_secs: f64,
}

/// `GET /api/status`; `?failures=all` lists every failure.
pub fn status(
    state: &State,
    query: &HashMap<String, String>,
) -> Result<warp::reply::Response, warp::Rejection> {
    let listed = match query.get("failures").map(String::as_str) {
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
            current: schedule.current.map(|p| p.display().to_string()),
            pictures_published: schedule.published,
        },
        cache: CacheStatus {
            frames: cache.frames,
            bytes: cache.bytes,
            max_bytes: cache.max_bytes,
            hits: cache.hits,
            misses: cache.misses,
            evictions: cache.evictions,
        },
        clients: state.clients.list(),
        renditions: state
            .schedule
            .renditions()
            .info()
            .into_iter()
            .map(|r| RenditionStatus {
                size: r.spec.size.to_string(),
                fit: r.spec.fit.name(),
                quality: r.spec.quality,
                background: r.spec.background.to_string(),
                default: r.default,
                clients: r.clients,
                idle_secs: r.idle.as_secs_f64(),
            })
            .collect(),
        limits: LimitsStatus {
            max_clients: state.options.max_clients,
            clients_refused: state.clients.refused(),
            connections: state.connections.open(),
            max_connections: state.connections.max(),
            overflow_connections: state.connections.overflow(),
            max_streams: state.schedule.renditions().limits().max,
            idle_limit_secs: state.schedule.renditions().limits().idle.as_secs_f64(),
        },
        uptime_secs: state.started.elapsed().as_secs_f64(),
    };
    let mut response = warp::reply::json(&status).into_response();
    super::mjpeg::no_cache(&mut response);
    Ok(response)
}

fn index_status(state: &State) -> IndexStatus {
    let library = state.schedule.library().status();
    let playback = state.schedule.playback();
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
        order: playback.order.name(),
        albums: playback.albums.clone(),
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

/// `GET /healthz`: 200 once a picture is on screen, 503 before.
pub fn healthz(state: &State) -> warp::reply::Response {
    if state.schedule.current().is_some() {
        warp::reply::with_status("ok\n", warp::http::StatusCode::OK).into_response()
    } else {
        warp::reply::with_status("starting\n", warp::http::StatusCode::SERVICE_UNAVAILABLE)
            .into_response()
    }
}

/// `GET /metrics`: the same numbers in the Prometheus text format.
pub fn metrics(state: &State) -> warp::reply::Response {
    let schedule = state.schedule.status();
    let cache = state.cache.stats();
    let (sent, skipped) = state.clients.totals();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP framecast_{name} {help}");
        let _ = writeln!(out, "# TYPE framecast_{name} {kind}");
        let _ = writeln!(out, "framecast_{name} {value}");
    };
    metric(
        "photos",
        "gauge",
        "Photos in the gallery.",
        schedule.photos as f64,
    );
    metric(
        "photos_rendered",
        "gauge",
        "Distinct photos rendered.",
        schedule.rendered as f64,
    );
    metric(
        "photos_failed",
        "gauge",
        "Photos that could not be rendered.",
        schedule.failed.len() as f64,
    );
    metric(
        "pictures_published_total",
        "counter",
        "Pictures put on the timeline.",
        schedule.published as f64,
    );
    metric(
        "cache_frames",
        "gauge",
        "Frames in the cache.",
        cache.frames as f64,
    );
    metric(
        "cache_bytes",
        "gauge",
        "Bytes of frames in the cache.",
        cache.bytes as f64,
    );
    metric(
        "cache_max_bytes",
        "gauge",
        "Byte bound of the cache.",
        cache.max_bytes as f64,
    );
    metric(
        "cache_hits_total",
        "counter",
        "Frame requests served without rendering.",
        cache.hits as f64,
    );
    metric(
        "cache_misses_total",
        "counter",
        "Frame requests that rendered.",
        cache.misses as f64,
    );
    metric(
        "cache_evictions_total",
        "counter",
        "Frames dropped to stay under the bound.",
        cache.evictions as f64,
    );
    metric(
        "clients",
        "gauge",
        "Stream clients connected.",
        state.clients.count() as f64,
    );
    metric(
        "client_frames_sent",
        "gauge",
        "Parts sent to the clients connected now.",
        sent as f64,
    );
    metric(
        "client_frames_skipped",
        "gauge",
        "Pictures the clients connected now skipped.",
        skipped as f64,
    );
    metric(
        "clients_refused_total",
        "counter",
        "Streams refused because the client limit was reached.",
        state.clients.refused() as f64,
    );
    metric(
        "connections",
        "gauge",
        "Connections open now.",
        state.connections.open() as f64,
    );
    metric(
        "connections_overflow_total",
        "counter",
        "Connections answered on the overflow path (every slot taken).",
        state.connections.overflow() as f64,
    );
    metric(
        "uptime_seconds",
        "gauge",
        "Seconds since start.",
        state.started.elapsed().as_secs_f64(),
    );
    let mut response =
        warp::reply::with_header(out, "content-type", "text/plain; version=0.0.4").into_response();
    super::mjpeg::no_cache(&mut response);
    response
}
