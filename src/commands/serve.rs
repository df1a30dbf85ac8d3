//! `framecast serve`: the gallery as an MJPEG stream on the network.
//!
//! Binds the address (by default every address, IPv4 and IPv6 on one dual-stack socket),
//! builds the runtime, and prints what a person starting the server needs: the photos found
//! and the page and stream URL of each local address, then, once every photo has been tried,
//! how many could not be shown. These lines go to stderr whatever the log level (only `-q`
//! hides them), so they reach a terminal or the journal alike. It raises the open-file limit
//! first, and warns when anyone on the network could watch. SIGINT and SIGTERM become one
//! cancellation that closes every stream cleanly before the process exits.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use framecast::escape::Escaped;
use framecast::library::Library;
use framecast::schedule::Schedule;
use framecast::server::Settings;

use crate::config::{Listen, ServeConfig};

/// Runs the server until a signal; an `Err` is a set-up problem (exit status 2). With
/// `announce`, prints the start-up summary and the URLs.
pub fn run(config: ServeConfig, announce: bool) -> anyhow::Result<ExitCode> {
    let bound =
        bind(&config.listen).with_context(|| format!("cannot listen on {}", config.listen))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("framecast-io")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(bound, config.settings, announce))
}

/// Keeps glibc's malloc to one arena unless `MALLOC_ARENA_MAX` says otherwise; call before any
/// thread starts. By default glibc gives threads up to eight arenas per core, and memory freed
/// in one is kept for reuse there: under a thousand clients served from every async worker,
/// the resident set of a server that runs for months kept growing from round to round of the
/// soak benchmark (86 → 137 MiB over six rounds), where one arena levels off. Frames and
/// decode buffers are large enough to be mapped on their own, so the one arena mostly holds
/// small per-connection allocations and is rarely contended.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tunable of the allocator; no thread has started yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Raises the soft open-file limit to the hard one (every connection is a file descriptor,
/// and many systems still start services at 1,024) and returns the limit in force.
pub fn raise_open_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let Some(soft) = limit.current else {
        tracing::debug!("open files: no limit");
        return u64::MAX;
    };
    match limit.maximum {
        Some(hard) if hard > soft => {
            let raised = rustix::process::Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => {
                    tracing::debug!("open files: limit raised from {soft} to {hard}");
                    hard
                }
                Err(e) => {
                    tracing::debug!("open files: cannot raise the limit of {soft} to {hard}: {e}");
                    soft
                }
            }
        }
        _ => {
            tracing::debug!("open files: limit {soft}");
            soft
        }
    }
}

async fn serve(bound: Bound, settings: Settings, announce: bool) -> anyhow::Result<ExitCode> {
    let shutdown = ShutdownSignal::install()?;
    let listener =
        TcpListener::from_std(bound.listener).context("cannot register the listening socket")?;
    let roots = settings.library.roots.clone();
    let http = &settings.http;
    tracing::debug!(
        max_clients = http.max_clients,
        max_connections = http.max_connections,
        "connection limits"
    );
    let addr = listener
        .local_addr()
        .context("cannot read the listening address")?;
    if http.access.is_open() && !addr.ip().is_loopback() {
        tracing::warn!(
            "anyone who can reach {addr} can watch: set --auth USER:PASSWORD or --token TOKEN \
             (or FRAMECAST_AUTH / FRAMECAST_TOKEN) to require credentials"
        );
    }
    let cancel = CancellationToken::new();
    let running = framecast::server::start(listener, settings, cancel.clone())
        .await
        .context("cannot start the server")?;
    if announce {
        let snapshot = running.library.snapshot();
        let settled = snapshot.complete && running.library.status().pending_count == 0;
        let summary = Summary {
            photos: snapshot.photos.len(),
            settled,
            roots: roots.clone(),
            urls: urls(running.addr, bound.dual_stack),
        };
        eprint!("{}", summary.text());
        if !settled {
            tokio::spawn(report_walk(
                Arc::clone(&running.library),
                roots,
                cancel.clone(),
            ));
        }
        tokio::spawn(report_first_pass(
            Arc::clone(&running.schedule),
            cancel.clone(),
        ));
    }
    shutdown.received().await;
    tracing::info!("shutting down");
    cancel.cancel();
    let _ = running.done.await;
    Ok(ExitCode::SUCCESS)
}

/// A listening socket, and whether it takes IPv4 connections on an IPv6 address too.
#[derive(Debug)]
struct Bound {
    listener: std::net::TcpListener,
    dual_stack: bool,
}

/// Binds what the command line asked for. A port alone means every address: one IPv6 socket
/// that also takes IPv4 where the system allows, or IPv4 alone on a machine without IPv6. A
/// host name binds the first of its addresses that works.
fn bind(listen: &Listen) -> anyhow::Result<Bound> {
    match listen {
        Listen::Any(port) => {
            let any_v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, *port));
            match Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP)) {
                Ok(socket) => Ok(listen_on(socket, any_v6)?),
                // No IPv6 in this kernel (or it is switched off for the process).
                Err(_) => Ok(open(SocketAddr::from((Ipv4Addr::UNSPECIFIED, *port)))?),
            }
        }
        Listen::Addr(addr) => Ok(open(*addr)?),
        Listen::Host(host, port) => {
            let addrs: Vec<SocketAddr> = (host.as_str(), *port)
                .to_socket_addrs()
                .with_context(|| format!("cannot find the address of {host}"))?
                .collect();
            let mut last = None;
            for addr in addrs {
                match open(addr) {
                    Ok(bound) => return Ok(bound),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.map_or_else(|| anyhow!("{host} has no address"), anyhow::Error::from))
        }
    }
}

fn open(addr: SocketAddr) -> io::Result<Bound> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    listen_on(socket, addr)
}

fn listen_on(socket: Socket, addr: SocketAddr) -> io::Result<Bound> {
    let mut dual_stack = false;
    if let SocketAddr::V6(v6) = addr
        && v6.ip().is_unspecified()
    {
        // Linux's default, unless net.ipv6.bindv6only says otherwise: ask, and believe the
        // socket's answer rather than the request.
        let _ = socket.set_only_v6(false);
        dual_stack = socket.only_v6().is_ok_and(|only| !only);
    }
    // A restarted server can bind again while connections of the old one are in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(Bound {
        listener: socket.into(),
        dual_stack,
    })
}

/// The URL base of each address the server can be reached at, loopback last. Listening on
/// every address, that is each interface's address of the families the socket takes, leaving
/// out IPv6 link-local ones (a browser cannot open them without a zone).
fn urls(addr: SocketAddr, dual_stack: bool) -> Vec<String> {
    let port = addr.port();
    let mut ips: Vec<IpAddr> = if addr.ip().is_unspecified() {
        let takes = |ip: &IpAddr| match ip {
            IpAddr::V4(_) => addr.is_ipv4() || dual_stack,
            IpAddr::V6(v6) => addr.is_ipv6() && !v6.is_unicast_link_local(),
        };
        if_addrs::get_if_addrs()
            .map(|ifs| ifs.into_iter().map(|i| i.ip()).filter(takes).collect())
            .unwrap_or_default()
    } else {
        vec![addr.ip()]
    };
    ips.sort_by_key(|ip| (ip.is_loopback(), *ip));
    ips.dedup();
    if ips.is_empty() {
        ips.push(addr.ip());
    }
    ips.into_iter()
        .map(|ip| match ip {
            IpAddr::V4(v4) => format!("http://{v4}:{port}"),
            IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
        })
        .collect()
}

/// The start-up lines.
struct Summary {
    /// Photos known so far.
    photos: usize,
    /// Whether the first walk of the folders has finished and the files it found have settled.
    settled: bool,
    roots: Vec<PathBuf>,
    urls: Vec<String>,
}

impl Summary {
    fn text(&self) -> String {
        let roots = roots_text(&self.roots);
        let mut text = if !self.settled {
            // The count comes on its own line once the walk is done.
            format!(
                "framecast: looking for photos in {roots} ({} known so far)\n",
                self.photos
            )
        } else {
            found_line(self.photos, &roots) + "\n"
        };
        text += "framecast: open a page in a browser, or give a stream to a player:\n";
        for url in &self.urls {
            text += &format!("  page    {url}/\n  stream  {url}/stream.mjpg\n");
        }
        text
    }
}

fn roots_text(roots: &[PathBuf]) -> String {
    roots
        .iter()
        .map(|r| Escaped::path(r).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn found_line(photos: usize, roots: &str) -> String {
    if photos == 0 {
        format!(
            "framecast: no photos found in {roots}; photos copied there are shown as they arrive"
        )
    } else {
        format!(
            "framecast: {} found in {roots}",
            count(photos, "photo", "photos")
        )
    }
}

/// Waits for the first walk of the folders to finish, and for the files it found being
/// copied to settle, then says how many photos there are.
async fn report_walk(library: Arc<Library>, roots: Vec<PathBuf>, cancel: CancellationToken) {
    let mut snapshots = library.subscribe();
    // Files settle without a new snapshot when one is deleted half-copied: look now and then.
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        let snapshot = Arc::clone(&snapshots.borrow_and_update());
        if snapshot.complete && library.status().pending_count == 0 {
            eprintln!("{}", found_line(snapshot.photos.len(), &roots_text(&roots)));
            return;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
            changed = snapshots.changed() => if changed.is_err() { return },
        }
    }
}

/// Waits until every photo has been tried once (rendered or failed; the timeline only moves
/// while someone watches) and says how many could not be shown.
async fn report_first_pass(schedule: Arc<Schedule>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let status = schedule.status();
        let failed = status.failed.len();
        if status.photos > 0 && status.rendered + failed >= status.photos {
            eprintln!("{}", first_pass_line(status.rendered, failed));
            return;
        }
    }
}

fn first_pass_line(shown: usize, failed: usize) -> String {
    let mut line = format!(
        "framecast: every photo tried: {} shown, {failed} could not be shown",
        count(shown, "photo", "photos")
    );
    if failed > 0 {
        line += " (reasons in the warnings above and at /api/status)";
    }
    line
}

/// "1 photo", "2 photos", "0 photos".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// SIGINT and SIGTERM, listened for from the moment this is made: made before the server
/// starts, a signal that comes while it starts (a service manager stopping it at once) is not
/// lost, nor does it kill the process before every stream is closed.
struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    fn install() -> anyhow::Result<ShutdownSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignal {
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignal {})
    }

    async fn received(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(count(0, "photo", "photos"), "0 photos");
        assert_eq!(count(1, "photo", "photos"), "1 photo");
        assert_eq!(count(2, "photo", "photos"), "2 photos");
        assert_eq!(
            first_pass_line(1, 0),
            "framecast: every photo tried: 1 photo shown, 0 could not be shown"
        );
        assert!(first_pass_line(6, 1).contains("6 photos shown, 1 could not be shown ("));
    }

    #[test]
    fn summary_names_every_url_once_as_page_and_stream() {
        let summary = Summary {
            photos: 1,
            settled: true,
            roots: vec![PathBuf::from("a"), PathBuf::from("b")],
            urls: vec!["http://10.0.0.2:80".into(), "http://127.0.0.1:80".into()],
        };
        assert_eq!(
            summary.text(),
            "framecast: 1 photo found in a, b\n\
             framecast: open a page in a browser, or give a stream to a player:\n  \
             page    http://10.0.0.2:80/\n  stream  http://10.0.0.2:80/stream.mjpg\n  \
             page    http://127.0.0.1:80/\n  stream  http://127.0.0.1:80/stream.mjpg\n"
        );
        let walking = Summary {
            photos: 3,
            settled: false,
            ..summary
        };
        assert!(
            walking
                .text()
                .starts_with("framecast: looking for photos in a, b (3 known so far)\n")
        );
        assert_eq!(
            found_line(0, "a"),
            "framecast: no photos found in a; photos copied there are shown as they arrive"
        );
    }

    #[test]
    fn one_address_is_one_url() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        assert_eq!(urls(addr, false), ["http://127.0.0.1:8080"]);
        let addr: SocketAddr = "[::1]:8080".parse().expect("addr");
        assert_eq!(urls(addr, false), ["http://[::1]:8080"]);
    }

    #[test]
    fn every_address_lists_loopback_last_and_no_link_local() {
        let any: SocketAddr = "[::]:8080".parse().expect("addr");
        let list = urls(any, true);
        assert!(
            list.contains(&"http://127.0.0.1:8080".to_string()),
            "{list:?}"
        );
        assert!(!list.iter().any(|u| u.contains("[fe80:")), "{list:?}");
        let last_loopback = list
            .iter()
            .rposition(|u| u.contains("127.0.0.1") || u.contains("[::1]"));
        let first_other = list
            .iter()
            .position(|u| !(u.contains("127.0.0.1") || u.contains("[::1]")));
        if let (Some(other), Some(loopback)) = (first_other, last_loopback) {
            assert!(other < loopback, "{list:?}");
        }
        let v4_only: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
        assert!(urls(v4_only, false).iter().all(|u| !u.contains('[')));
    }

    #[test]
    fn a_port_alone_takes_ipv4_and_ipv6() {
        let bound = bind(&Listen::Any(0)).expect("binds");
        let port = bound.listener.local_addr().expect("addr").port();
        // Either a dual-stack IPv6 socket, or IPv4 alone on a machine without IPv6.
        assert!(bound.dual_stack || bound.listener.local_addr().expect("addr").is_ipv4());
        bound.listener.set_nonblocking(false).expect("blocking");
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("IPv4 connects");
        if bound.dual_stack {
            std::net::TcpStream::connect(("::1", port)).expect("IPv6 connects");
        }
    }

    #[test]
    fn a_host_name_binds_one_of_its_addresses() {
        let bound = bind(&Listen::Host("localhost".into(), 0)).expect("binds");
        assert!(
            bound
                .listener
                .local_addr()
                .expect("addr")
                .ip()
                .is_loopback()
        );
        let err = bind(&Listen::Host("no-such-host.invalid".into(), 0)).expect_err("unknown");
        assert!(
            format!("{err:#}").contains("no-such-host.invalid"),
            "{err:#}"
        );
    }
}
