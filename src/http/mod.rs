//! HTTP: the stream, the snapshot, the viewer page and the status endpoints.
//!
//! Requests only read what the schedule and the cache already hold: nothing is decoded or
//! encoded on a request path, so a hundred clients cost a hundred copies of a pointer to the
//! same frame. [`routes`] composes the filters; [`serve`] runs them on a listener until the
//! cancellation token fires, then closes every stream and waits (briefly) for the connections
//! to finish.
//!
//! | path | what |
//! | --- | --- |
//! | `/stream.mjpg`, `/stream`, `/video_feed`, `/?action=stream` | the MJPEG stream |
//! | `/snapshot.jpg`, `/?action=snapshot` | the current picture |
//! | `/` | the viewer page |
//! | `/api/status`, `/healthz`, `/metrics` | status |
//! | `/api/albums` | the albums, with photo counts |
//!
//! The mjpg-streamer URLs (`/?action=…`) are what IP-camera apps and Home Assistant expect.

pub mod clients;
pub mod conn;
pub mod error;
pub mod mjpeg;
pub mod page;
pub mod status;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;
use warp::http::{Method, StatusCode};
use warp::{Filter, Rejection, Reply};

use crate::cache::Cache;
use crate::schedule::Schedule;
use clients::Clients;
pub use error::Error;
use mjpeg::Parts;

/// HTTP options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Stream pacing.
    pub mjpeg: mjpeg::Options,
    /// A write that makes no progress for this long drops the client.
    pub write_timeout: Duration,
    /// How long shutdown waits for connections to close.
    pub shutdown_grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mjpeg: mjpeg::Options::default(),
            write_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// What the handlers share.
pub struct State {
    schedule: Arc<Schedule>,
    cache: Arc<Cache>,
    clients: Arc<Clients>,
    /// The current picture framed as a multipart part, built once for all clients.
    parts: Arc<Parts>,
    options: Options,
    /// Ends every stream at shutdown.
    cancel: CancellationToken,
    started: Instant,
}

impl State {
    /// Handler state over a running schedule.
    pub fn new(
        schedule: Arc<Schedule>,
        cache: Arc<Cache>,
        options: Options,
        cancel: CancellationToken,
    ) -> Arc<State> {
        Arc::new(State {
            schedule,
            cache,
            clients: Arc::new(Clients::default()),
            parts: Arc::new(Parts::default()),
            options,
            cancel,
            started: Instant::now(),
        })
    }
}

/// Socket send buffer for each connection (see `serve`).
const SEND_BUFFER: usize = 512 * 1024;

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
        .and(with_state.clone())
        .map(
            |method: Method, peer: Option<Peer>, path: warp::path::FullPath, state: Arc<State>| {
                stream(&state, &method, peer, path.as_str())
            },
        );

    let snapshot_route = warp::path("snapshot.jpg")
        .and(warp::path::end())
        .and(get_or_head)
        .and(with_state.clone())
        .and_then(
            |method: Method, state: Arc<State>| async move { snapshot(&state, &method).await },
        );

    let root = warp::path::end()
        .and(get_or_head)
        .and(warp::query::<HashMap<String, String>>())
        .and(peer)
        .and(with_state.clone())
        .and_then(
            |method: Method,
             query: HashMap<String, String>,
             peer: Option<Peer>,
             state: Arc<State>| async move {
                match action(&query)? {
                    Action::Page => Ok(page::page()),
                    Action::Stream => Ok(stream(&state, &method, peer, "/?action=stream")),
                    Action::Snapshot => snapshot(&state, &method).await,
                }
            },
        );

    let api = warp::get().and(with_state);
    let status = warp::path!("api" / "status")
        .and(api.clone())
        .map(|state: Arc<State>| status::status(&state));
    let albums = warp::path!("api" / "albums")
        .and(api.clone())
        .map(|state: Arc<State>| status::albums(&state));
    let healthz = warp::path!("healthz")
        .and(api.clone())
        .map(|state: Arc<State>| status::healthz(&state));
    let metrics = warp::path!("metrics")
        .and(api)
        .map(|state: Arc<State>| status::metrics(&state));

    stream_route
        .or(snapshot_route)
        .unify()
        .or(root)
        .unify()
        .or(status)
        .unify()
        .or(albums)
        .unify()
        .or(healthz)
        .unify()
        .or(metrics)
        .unify()
        .recover(error::recover)
        .map(into_response)
}

fn into_response<R: Reply>(reply: R) -> warp::reply::Response {
    reply.into_response()
}

/// `?action=` in mjpg-streamer's style; other parameters (cache busters) are ignored.
fn action(query: &HashMap<String, String>) -> Result<Action, Rejection> {
    match query.get("action").map(String::as_str) {
        None => Ok(Action::Page),
        Some("stream") => Ok(Action::Stream),
        Some("snapshot") => Ok(Action::Snapshot),
        Some(other) => Err(warp::reject::custom(Error::BadQuery(format!(
            "action must be stream or snapshot, not '{other}'"
        )))),
    }
}

fn stream(
    state: &Arc<State>,
    method: &Method,
    peer: Option<Peer>,
    path: &str,
) -> warp::reply::Response {
    if method == Method::HEAD {
        let mut response = warp::reply::Response::new(Default::default());
        mjpeg::stream_headers(&mut response);
        return response;
    }
    let guard = state.clients.join(peer.map(|p| p.0), path);
    mjpeg::response(
        state.schedule.subscribe(),
        Arc::clone(&state.parts),
        state.options.mjpeg,
        state.cancel.clone(),
        guard,
    )
}

/// How long a snapshot asked for right after start waits for the first picture.
const FIRST_PICTURE_WAIT: Duration = Duration::from_secs(10);

async fn snapshot(state: &State, method: &Method) -> Result<warp::reply::Response, Rejection> {
    let showing = match state.schedule.current() {
        Some(showing) => showing,
        None => {
            // Only in the first moments after start: wait for the first picture.
            let mut rx = state.schedule.subscribe();
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

/// Serves `routes` on `listener` until `cancel` fires, then ends every stream and waits up to
/// [`Options::shutdown_grace`] for the connections to close.
pub async fn serve<F>(listener: TcpListener, routes: F, options: Options, cancel: CancellationToken)
where
    F: Filter<Extract = (warp::reply::Response,), Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            () = cancel.cancelled() => break,
        };
        // Parts are whole frames written at once; no reason to wait for more.
        let _ = tcp.set_nodelay(true);
        // The kernel's send buffer is a queue too: autotuned to megabytes it would hold seconds
        // of stale pictures for a slow client. A few frames' worth keeps a slow client close to
        // live (it skips instead) and is still far more than a LAN needs for full speed.
        let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(SEND_BUFFER);
        let io = TokioIo::new(conn::WriteTimeout::new(tcp, options.write_timeout));
        let filter = warp::service(routes.clone());
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(Peer(peer));
                filter.clone().call(request)
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(io, service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // A client that leaves mid-write is routine, not an error.
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(options.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "some connections were still open after {:?}",
            options.shutdown_grace
        );
    }
}
