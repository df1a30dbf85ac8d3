//! `framecast serve`: the gallery as an MJPEG stream on the network.
//!
//! Raises the open-file limit, builds the runtime, binds the address, logs the URLs to open
//! (and warns when anyone on the network could watch), and turns SIGINT and SIGTERM into one
//! cancellation that closes every stream cleanly before the process exits.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::ServeConfig;

/// Runs the server until a signal; an `Err` is a set-up problem (exit status 2).
pub fn run(config: ServeConfig) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("framecast-io")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
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

async fn serve(config: ServeConfig) -> anyhow::Result<ExitCode> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let http = &config.settings.http;
    tracing::debug!(
        max_clients = http.max_clients,
        max_connections = http.max_connections,
        "connection limits"
    );
    if http.access.is_open() && !config.listen.ip().is_loopback() {
        tracing::warn!(
            "anyone who can reach {} can watch: set --auth USER:PASSWORD or --token TOKEN \
             (or FRAMECAST_AUTH / FRAMECAST_TOKEN) to require credentials",
            config.listen
        );
    }
    let cancel = CancellationToken::new();
    let running = framecast::server::start(listener, config.settings, cancel.clone())
        .await
        .context("cannot start the server")?;
    for url in urls(running.addr) {
        tracing::info!("open {url}/ in a browser, or {url}/stream.mjpg in a player");
    }
    // The log level may hide the line above; people starting the server want the URL.
    if let Some(url) = urls(running.addr).first() {
        eprintln!("framecast: serving {} photos at {url}/", running.photos);
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    cancel.cancel();
    let _ = running.done.await;
    Ok(ExitCode::SUCCESS)
}

/// One URL per local address when listening on all of them, loopback last.
fn urls(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut ips: Vec<IpAddr> = if addr.ip().is_unspecified() {
        if_addrs::get_if_addrs()
            .map(|ifs| ifs.into_iter().map(|i| i.ip()).collect())
            .unwrap_or_default()
    } else {
        vec![addr.ip()]
    };
    ips.retain(|ip| {
        addr.ip().is_unspecified() && ip.is_ipv4() == addr.is_ipv4() || ip == &addr.ip()
    });
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

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
