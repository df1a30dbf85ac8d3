//! HTTP: the stream, the snapshot, the viewer page and the status endpoints.
//!
//! Requests only read what the schedule and the cache already hold: nothing is decoded or
//! encoded on a request path, so a hundred clients cost a hundred copies of a pointer to the
//! same frame. [`routes`] composes the filters; [`serve`] runs them on a listener (behind the
//! access check, within the connection caps, see [`listen`]) until the cancellation token
//! fires, then closes every stream and waits (briefly) for the connections to finish.
//!
//! | path | what |
//! | --- | --- |
//! | `/stream.mjpg`, `/stream`, `/video_feed`, `/?action=stream` | the MJPEG stream |
//! | `/snapshot.jpg`, `/?action=snapshot` | the current picture |
//! | `/` | the viewer page |
//! | `/api/instance` | what the viewer page polls to heal its stream |
//! | `/api/status`, `/healthz`, `/metrics` | status |
//! | `/api/albums` | the albums, with photo counts |
//! | `/api/profiles` | the named profiles, with their parameters |
//! | `/p/NAME/…` | any of these with the profile NAME ([`profile`]) |
//!
//! No route reads a file: the page is compiled in and pictures come from the cache, so no
//! path, however encoded, can reach the disk.
//!
//! The mjpg-streamer URLs (`/?action=…`) are what IP-camera apps and Home Assistant expect.
//!
//! The stream, the snapshot and the page take `?album=` (repeatable), `?order=` and
//! `?interval=` for a channel of their own, and `?size=`, `?fit=`, `?quality=` and
//! `?background=` for frames of their own ([`query`]): the schedule's channel of those photos,
//! in its rendition of that spec, publishes them (both created on first use, bounded in
//! number). They also take `?profile=NAME`, a named set of these parameters from the config
//! file ([`profile`]), which the URL's own parameters override.

pub mod access;
pub mod clients;
pub mod conn;
pub mod error;
pub mod listen;
pub mod mjpeg;
pub mod page;
pub mod profile;
pub mod query;
pub mod status;
pub mod viewers;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use warp::http::{Method, StatusCode};
use warp::{Filter, Rejection, Reply};

use crate::cache::Cache;
use crate::render::{Size, Spec};
use crate::schedule::{Key, Schedule};
pub use access::Access;
use clients::Clients;
pub use error::Error;
pub use listen::serve;
pub use profile::Profiles;
use query::Query;
use viewers::Viewers;

/// HTTP options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stream pacing.
    pub mjpeg: mjpeg::Options,
    /// A write that makes no progress for this long drops the client.
    pub write_timeout: Duration,
    /// How long shutdown waits for connections to close.
    pub shutdown_grace: Duration,
    /// Stream clients served at once; past it a new stream gets 503.
    pub max_clients: usize,
    /// Connections served at once, of any kind; keep it well below the open-file limit.
    pub max_connections: usize,
    /// A connection that sends no complete request for this long is closed: new ones that
    /// send nothing, and idle keep-alive ones between requests.
    pub idle_timeout: Duration,
    /// Who may connect.
    pub access: Access,
    /// The named profiles, checked.
    pub profiles: Profiles,
    /// The config file the settings were read from, shown in the status.
    pub config_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mjpeg: mjpeg::Options::default(),
            write_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            max_clients: 64,
            max_connections: 512,
            idle_timeout: Duration::from_secs(10),
            access: Access::default(),
            profiles: Profiles::default(),
            config_file: None,
        }
    }
}

/// What the handlers share.
pub struct State {
    schedule: Arc<Schedule>,
    cache: Arc<Cache>,
    clients: Arc<Clients>,
    /// The streams viewer pages tagged, and this process's instance id.
    viewers: Viewers,
    options: Options,
    /// Ends every stream at shutdown.
    cancel: CancellationToken,
    started: Instant,
    /// Open connections, for the status.
    connections: listen::Connections,
    /// Socket send buffer for each connection (see [`send_buffer`]).
    send_buffer: usize,
}

impl State {
    /// Handler state over a running schedule.
    pub fn new(
        schedule: Arc<Schedule>,
        cache: Arc<Cache>,
        options: Options,
        cancel: CancellationToken,
    ) -> Arc<State> {
        let send_buffer = send_buffer(cache.pool().spec().size);
        Arc::new(State {
            schedule,
            cache,
            clients: Arc::new(Clients::default()),
            viewers: Viewers::default(),
            connections: listen::Connections::new(options.max_connections),
            options,
            cancel,
            started: Instant::now(),
            send_buffer,
        })
    }
}

/// The socket send buffer for frames of `size`: about two frames.
///
/// The kernel's send buffer is a queue too: autotuned to megabytes it would hold seconds of
/// stale pictures for a slow client, and it is kernel memory that stays allocated as long as
/// the client does not read. Two frames keep a LAN client at full speed and a slow one close
/// to live (it skips instead). Frames are JPEGs of a known size; photos at quality 85 take
/// 0.2 to 1.6 bits a pixel (median 0.6 over the test photos), so one bit a pixel stands for
/// a large frame.
pub fn send_buffer(size: Size) -> usize {
    let frame = size.width as usize * size.height as usize / 8;
    (2 * frame).clamp(8 * 1024, 4 * 1024 * 1024)
}

/// The remote address of a connection, put into each request by [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// What `/` and the stream URLs can be asked for.
enum Action {
    Page,
    Stream,
    Snapshot,
}

/// Every route, with rejections turned into responses.
pub fn routes(
    state: Arc<State>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone + Send + Sync + 'static
{
    let with_state = warp::any().map(move || Arc::clone(&state));
    let get_or_head = warp::get().or(warp::head()).unify().and(warp::method());
    let peer = warp::ext::optional::<Peer>();
    // The viewer page tags its stream with `?client=`; other parameters (a token, cache
    // busters) are for others. Every query parses (see `Query::parse`), repeats kept.
    let raw_query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let query = raw_query.map(|raw: String| Query::parse(&raw));
    // What the stream, the snapshot and the page read: the query over its profile's pairs.
    let params = warp::path::full()
        .and(raw_query)
        .and(with_state.clone())
        .and_then(
            |path: warp::path::FullPath, raw: String, state: Arc<State>| async move {
                parameters(&state, path.as_str(), &raw).map_err(warp::reject::custom)
            },
        );

    let stream_path = warp::path("stream.mjpg")
        .or(warp::path("stream"))
        .unify()
        .or(warp::path("video_feed"))
        .unify()
        .and(warp::path::end());
    let stream_route = stream_path
        .and(get_or_head)
        .and(peer)
        .and(warp::path::full())
        .and(params.clone())
        .and(with_state.clone())
        .map(
            |method: Method,
             peer: Option<Peer>,
             path: warp::path::FullPath,
             query: Query,
             state: Arc<State>| {
                stream(&state, &method, peer, path.as_str(), &query)
            },
        );

    let snapshot_route = warp::path("snapshot.jpg")
        .and(warp::path::end())
        .and(get_or_head)
        .and(params.clone())
        .and(with_state.clone())
        .and_then(
            |method: Method, query: Query, state: Arc<State>| async move {
                snapshot(&state, &method, &query).await
            },
        );

    let root = warp::path::end()
        .and(get_or_head)
        .and(params)
        .and(raw_query)
        .and(peer)
        .and(with_state.clone())
        .and_then(
            |method: Method,
             query: Query,
             raw_query: String,
             peer: Option<Peer>,
             state: Arc<State>| async move {
                match action(&query)? {
                    Action::Page => {
                        // The page passes its query on to its stream: refuse a bad one here,
                        // where a person reads the reason, not in an image that never loads.
                        wanted(&state, &query).map_err(warp::reject::custom)?;
                        Ok(page::page(&raw_query))
                    }
                    Action::Stream => Ok(stream(&state, &method, peer, "/?action=stream", &query)),
                    Action::Snapshot => snapshot(&state, &method, &query).await,
                }
            },
        );

    let api = warp::get().and(with_state);
    let instance = warp::path!("api" / "instance")
        .and(api.clone())
        .and(query)
        .map(|state: Arc<State>, query: Query| viewers::instance(&state, query.get("client")));
    let status = warp::path!("api" / "status")
        .and(api.clone())
        .and(query)
        .and_then(|state: Arc<State>, query: Query| async move { status::status(&state, &query) });
    let albums = warp::path!("api" / "albums")
        .and(api.clone())
        .map(|state: Arc<State>| status::albums(&state));
    let profiles = warp::path!("api" / "profiles")
        .and(api.clone())
        .map(|state: Arc<State>| status::profiles(&state));
    let healthz = warp::path!("healthz")
        .and(api.clone())
        .map(|state: Arc<State>| status::healthz(&state));
    let metrics = warp::path!("metrics")
        .and(api)
        .map(|state: Arc<State>| status::metrics(&state));

    let tree = stream_route
        .or(snapshot_route)
        .unify()
        .or(root)
        .unify()
        .or(status)
        .unify()
        .or(instance)
        .unify()
        .or(albums)
        .unify()
        .or(profiles)
        .unify()
        .or(healthz)
        .unify()
        .or(metrics)
        .unify();
    // The same routes under `/p/NAME/`, where `params` finds the profile in the path. The
    // page's URLs are relative, so its stream and polls stay under the prefix too.
    let profile_prefix = warp::path("p").and(warp::path::param::<String>());
    let under_profile = profile_prefix
        .map(|_name: String| ())
        .untuple_one()
        .and(tree.clone());
    // `/p/NAME` without its slash: the page's relative URLs would miss the profile.
    let slash = profile_prefix
        .and(warp::path::end())
        .and(warp::path::full())
        .and(raw_query)
        .and_then(
            |name: String, path: warp::path::FullPath, raw: String| async move {
                // Only a name goes into the Location (no `:` to read as a scheme).
                if path.as_str().ends_with('/') || !profile::is_name(&name) {
                    Err(warp::reject::not_found())
                } else {
                    Ok(with_slash(&name, &raw))
                }
            },
        );

    slash
        .or(tree)
        .unify()
        .or(under_profile)
        .unify()
        .recover(error::recover)
        .map(into_response)
}

/// The parameters a request asks for: its query over the pairs of its profile.
fn parameters(state: &State, path: &str, raw_query: &str) -> Result<Query, Error> {
    let pairs = state
        .options
        .profiles
        .resolve(path, raw_query)
        .map_err(Error::UnknownProfile)?;
    Ok(Query::from(pairs))
}

/// A redirect from `/p/NAME` to `/p/NAME/`, relative so it holds behind a proxy's prefix.
fn with_slash(name: &str, raw_query: &str) -> warp::reply::Response {
    let mut location = format!("{name}/");
    if !raw_query.is_empty() {
        location.push('?');
        location.push_str(raw_query);
    }
    let mut response = warp::reply::Response::new(Default::default());
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    if let Ok(value) = warp::http::HeaderValue::from_str(&location) {
        response
            .headers_mut()
            .insert(warp::http::header::LOCATION, value);
    }
    response
}

fn into_response<R: Reply>(reply: R) -> warp::reply::Response {
    reply.into_response()
}

/// `?action=` in mjpg-streamer's style; other parameters (cache busters) are ignored.
fn action(query: &Query) -> Result<Action, Rejection> {
    match query.get("action") {
        None => Ok(Action::Page),
        Some("stream") => Ok(Action::Stream),
        Some("snapshot") => Ok(Action::Snapshot),
        Some(other) => Err(warp::reject::custom(Error::BadQuery(format!(
            "action must be stream or snapshot, not '{other}'"
        )))),
    }
}

/// The channel and the rendition `query` asks for (the default channel without any channel
/// parameter, the default rendition without any rendition parameter).
fn wanted(state: &State, query: &Query) -> Result<(Key, Spec), Error> {
    let snapshot = state.schedule.library().snapshot();
    let albums = query::Albums {
        known: &snapshot.albums,
        complete: snapshot.complete,
    };
    let key = query::channel(query, state.schedule.default_channel().key(), &albums)
        .map_err(Error::BadQuery)?;
    let spec = query::spec(query, state.cache.pool().spec()).map_err(Error::BadQuery)?;
    Ok((key, spec))
}

fn stream(
    state: &Arc<State>,
    method: &Method,
    peer: Option<Peer>,
    path: &str,
    query: &Query,
) -> warp::reply::Response {
    let (key, spec) = match wanted(state, query) {
        Ok(wanted) => wanted,
        Err(e) => return error::bad_request(&e),
    };
    if method == Method::HEAD {
        let mut response = warp::reply::Response::new(Default::default());
        mjpeg::stream_headers(&mut response);
        return response;
    }
    let guard = match state
        .clients
        .try_join(peer.map(|p| p.0), path, state.options.max_clients)
    {
        Ok(guard) => guard,
        Err(full) => return error::busy(&full.to_string()),
    };
    // A client one stream too many is told to come back later (503, not 400): the request is
    // fine, and the room comes back when another stream is no longer watched.
    let subscription = match state.schedule.subscribe_as(&key, &spec) {
        Ok(subscription) => subscription,
        Err(refused) => return error::busy(&refused.to_string()),
    };
    if let Some(client) = query.get("client") {
        state.viewers.track(client, &guard.counters);
    }
    let ready = subscription.caught_up(FIRST_PICTURE_WAIT);
    mjpeg::response(
        (subscription.rx, ready),
        state.options.mjpeg,
        state.cancel.clone(),
        guard,
    )
}

/// How long a snapshot asked for right after start waits for the first picture.
const FIRST_PICTURE_WAIT: Duration = Duration::from_secs(10);

async fn snapshot(
    state: &Arc<State>,
    method: &Method,
    query: &Query,
) -> Result<warp::reply::Response, Rejection> {
    let (key, spec) = wanted(state, query).map_err(warp::reject::custom)?;
    let subscription = match state.schedule.subscribe_as(&key, &spec) {
        Ok(subscription) => subscription,
        Err(refused) => return Ok(error::busy(&refused.to_string())),
    };
    subscription.caught_up(FIRST_PICTURE_WAIT).await;
    let mut rx = subscription.rx;
    let current = rx.borrow_and_update().clone();
    let showing = match current {
        Some(showing) => showing,
        None => {
            // Only in the first moments after start, or of a new channel or rendition: wait
            // for its first picture.
            let first =
                tokio::time::timeout(FIRST_PICTURE_WAIT, rx.wait_for(Option::is_some)).await;
            match first {
                Ok(Ok(showing)) => showing
                    .clone()
                    .ok_or_else(|| warp::reject::custom(Error::NotReady))?,
                _ => return Err(warp::reject::custom(Error::NotReady)),
            }
        }
    };
    let len = showing.frame.jpeg.len();
    let mut response = if method == Method::HEAD {
        warp::reply::Response::new(Default::default())
    } else {
        warp::reply::Response::new(showing.frame.jpeg.into())
    };
    *response.status_mut() = StatusCode::OK;
    mjpeg::no_cache(&mut response);
    let h = response.headers_mut();
    h.insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("image/jpeg"),
    );
    h.insert(warp::http::header::CONTENT_LENGTH, len.into());
    Ok(response)
}
