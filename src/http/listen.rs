//! The accept loop: how many connections, how long they may idle, how much each may queue,
//! who may use them, and how they end.
//!
//! A server left alone for months meets tabs that never close, dashboards that open a stream
//! per refresh and scanners that connect and say nothing. Each connection is a file
//! descriptor, so:
//!
//! - at most [`super::Options::max_connections`] are served at once; the command derives
//!   the default from the open-file limit, well below it;
//! - past that, a few overflow slots still answer `/healthz` (monitors must not see a healthy
//!   but busy server as dead) and turn everything else away with 503 and `Retry-After`, one
//!   request each, then close. They never make anyone wait: with all of them taken, the
//!   oldest gives way to the newest, so a flood of silent connections cannot keep a health
//!   check out, and the process holds little more than the cap plus these few descriptors;
//! - a connection that sends no complete request head for [`super::Options::idle_timeout`]
//!   is closed, whether it is new or idle between keep-alive requests (hyper's header read
//!   timeout starts whenever it waits for a head);
//! - hyper's buffer is kept to its minimum (8 KiB), so hyper asks a stream for its next part
//!   only once less than that is waiting for the socket: the skip logic in [`super::mjpeg`]
//!   sees backpressure after one frame, not after 400 KB of them (hyper's default);
//! - the socket send buffer holds about two frames ([`super::send_buffer`]), and the kernel
//!   gives up on data the peer does not take for twice the write timeout
//!   (`TCP_USER_TIMEOUT`), closed socket or not;
//! - every request passes the access check first ([`super::access`]), whatever route it is
//!   for, except `/healthz`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;
use warp::Filter;

use super::access::OPEN_PATH;
use super::conn::WriteTimeout;
use super::{Peer, State, error};

/// Connections beyond the cap that are still read, for `/healthz` only.
pub const OVERFLOW_SLOTS: usize = 16;

/// How long an overflow connection may take to send its request.
const OVERFLOW_HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// hyper's buffer size: its minimum. It bounds the write queue (hyper stops asking the
/// stream for parts once this much is waiting for the socket) and the request head.
pub const HYPER_BUFFER: usize = 8 * 1024;

/// How long shutdown waits for the connections it reset to be dropped.
const RESET_WAIT: Duration = Duration::from_secs(1);

/// Connection counters, for `/api/status` and `/metrics`. All but [`Connections::open`]
/// only go up.
#[derive(Debug)]
pub struct Connections {
    open: AtomicUsize,
    max: usize,
    accepted: AtomicU64,
    overflow: AtomicU64,
    busy: AtomicU64,
    unauthorized: AtomicU64,
}

impl Connections {
    /// Counters for a server capped at `max` connections.
    pub fn new(max: usize) -> Connections {
        Connections {
            open: AtomicUsize::new(0),
            max,
            accepted: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            unauthorized: AtomicU64::new(0),
        }
    }

    /// Connections accepted since start, overflow ones included.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Requests refused with 503 since start because every connection slot was taken.
    pub fn busy(&self) -> u64 {
        self.busy.load(Ordering::Relaxed)
    }

    /// Requests refused with 401 since start (no valid credentials).
    pub fn unauthorized(&self) -> u64 {
        self.unauthorized.load(Ordering::Relaxed)
    }

    /// Connections open now, overflow ones included.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Connections answered on the overflow path since start.
    pub fn overflow(&self) -> u64 {
        self.overflow.load(Ordering::Relaxed)
    }
}

/// Counts a connection as open while it lives.
struct Open<'a>(&'a Connections);

impl<'a> Open<'a> {
    fn new(connections: &'a Connections) -> Self {
        connections.open.fetch_add(1, Ordering::Relaxed);
        Open(connections)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The overflow slots. They never wait: when all are taken the oldest connection gives way
/// to the new one, so a flood of connections that say nothing cannot keep a health check out
/// (it sends its request at once and is answered before the flood catches up with it).
#[derive(Default)]
struct Overflow {
    slots: Mutex<VecDeque<(u64, CancellationToken)>>,
    next_id: AtomicU64,
}

impl Overflow {
    /// A slot, and the token that evicts its connection.
    fn admit(&self, hard_stop: &CancellationToken) -> (u64, CancellationToken) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let evict = hard_stop.child_token();
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= OVERFLOW_SLOTS
            && let Some((_, oldest)) = slots.pop_front()
        {
            oldest.cancel();
        }
        slots.push_back((id, evict.clone()));
        (id, evict)
    }

    fn leave(&self, id: u64) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.retain(|(i, _)| *i != id);
    }
}

/// Serves `routes` on `listener` until the state's cancellation token fires, then ends every
/// stream and waits up to [`super::Options::shutdown_grace`] for the connections to close;
/// those still open after that are reset.
pub async fn serve<F>(listener: TcpListener, state: Arc<State>, routes: F)
where
    F: Filter<Extract = (warp::reply::Response,), Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let options = &state.options;
    let cancel = state.cancel.clone();
    let main = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let overflow = Arc::new(Overflow::default());
    let hard_stop = CancellationToken::new();
    let graceful = GracefulShutdown::new();
    loop {
        // Every connection is accepted at once, so none waits in the kernel's backlog behind
        // a flood; the caps decide what it gets.
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
        state.connections.accepted.fetch_add(1, Ordering::Relaxed);
        // Parts are whole frames written at once; no reason to wait for more.
        let _ = tcp.set_nodelay(true);
        let socket = socket2::SockRef::from(&tcp);
        let _ = socket.set_send_buffer_size(state.send_buffer);
        // The kernel's own write timeout, a backstop behind ours (twice as long, so ours,
        // which resets the client, acts first): data the peer does not take ends the
        // connection even after the socket was closed, so a graceful close whose queue then
        // stalls leaves no orphan behind for long (see `conn`).
        let _ = socket.set_tcp_user_timeout(Some(options.write_timeout * 2));
        let io = TokioIo::new(WriteTimeout::new(
            tcp,
            options.write_timeout,
            hard_stop.clone(),
        ));
        let shared = Arc::clone(&state);
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).max_buf_size(HYPER_BUFFER);
        if let Ok(permit) = Arc::clone(&main).try_acquire_owned() {
            builder.header_read_timeout(options.idle_timeout);
            let service = service(Arc::clone(&state), routes.clone(), peer, Slot::Main);
            let connection = graceful.watch(builder.serve_connection(io, service));
            let stop = hard_stop.clone();
            tokio::spawn(async move {
                let _open = Open::new(&shared.connections);
                run(connection, peer, stop).await;
                drop(permit);
            });
        } else {
            shared.connections.overflow.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "every connection slot is taken: overflow path");
            builder
                .keep_alive(false)
                .header_read_timeout(OVERFLOW_HEAD_TIMEOUT.min(options.idle_timeout));
            let service = service(Arc::clone(&state), routes.clone(), peer, Slot::Overflow);
            let connection = graceful.watch(builder.serve_connection(io, service));
            let (id, evict) = overflow.admit(&hard_stop);
            let overflow = Arc::clone(&overflow);
            tokio::spawn(async move {
                let _open = Open::new(&shared.connections);
                run(connection, peer, evict).await;
                overflow.leave(id);
            });
        }
    }
    drop(listener);
    let grace = state.options.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after {grace:?}: resetting them");
        hard_stop.cancel();
        // Wait for them to be dropped, so their sockets are reset before the process exits.
        let started = tokio::time::Instant::now();
        while state.connections.open() > 0 && started.elapsed() < RESET_WAIT {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Drives one connection until it ends or `stop` fires: shutdown gave up on it (dropping it
/// then resets the socket, see [`WriteTimeout`]) or a newer overflow connection took its slot.
async fn run<C>(connection: C, peer: SocketAddr, stop: CancellationToken)
where
    C: std::future::Future<Output = Result<(), hyper::Error>>,
{
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                // A client that leaves mid-write is routine, not an error.
                tracing::debug!(%peer, "connection ended: {e}");
            }
        }
        () = stop.cancelled() => {}
    }
}

type Request = hyper::Request<hyper::body::Incoming>;

/// What a connection was given: a slot, or one of the overflow slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Main,
    Overflow,
}

/// The routes as a hyper service, behind [`gate`].
fn service<F>(
    state: Arc<State>,
    routes: F,
    peer: SocketAddr,
    slot: Slot,
) -> impl hyper::service::Service<
    Request,
    Response = warp::reply::Response,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<warp::reply::Response, Infallible>> + Send,
> + Send
+ 'static
where
    F: Filter<Extract = (warp::reply::Response,), Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let filter = warp::service(routes);
    hyper::service::service_fn(move |mut request: Request| {
        request.extensions_mut().insert(Peer(peer));
        let answer = gate(&state, slot, peer, &request);
        let mut filter = filter.clone();
        async move {
            match answer {
                Some(response) => Ok(response),
                None => filter.call(request).await,
            }
        }
    })
}

/// The answer a request gets before any route sees it, if any: 503 on the overflow path for
/// anything but `/healthz`, 401 without valid credentials. Being in front of every route, it
/// covers routes added later too.
fn gate(
    state: &State,
    slot: Slot,
    peer: SocketAddr,
    request: &Request,
) -> Option<warp::reply::Response> {
    let uri = request.uri();
    if slot == Slot::Overflow && uri.path() != OPEN_PATH {
        state.connections.busy.fetch_add(1, Ordering::Relaxed);
        return Some(error::busy(&format!(
            "framecast is serving its limit of {} connections; try again later",
            state.connections.max()
        )));
    }
    let access = &state.options.access;
    if access.allows(uri.path(), uri.query(), request.headers()) {
        return None;
    }
    state
        .connections
        .unauthorized
        .fetch_add(1, Ordering::Relaxed);
    tracing::info!(%peer, path = uri.path(), "refused: no valid credentials");
    Some(access.challenge())
}
