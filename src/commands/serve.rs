//! `framecast serve`: the gallery as an MJPEG stream on the network.
//!
//! Builds the runtime, binds the address, logs the URLs to open, and turns SIGINT and SIGTERM
//! into one cancellation that closes every stream cleanly before the process exits.

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

async fn serve(config: ServeConfig) -> anyhow::Result<ExitCode> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let cancel = CancellationToken::new();
    let roots: Vec<String> = config
        .settings
        .library
        .roots
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    let running = framecast::server::start(listener, config.settings, cancel.clone())
        .await
        .context("cannot start the server")?;
    for url in urls(running.addr) {
        tracing::info!("open {url}/ in a browser, or {url}/stream.mjpg in a player");
    }
    // The log level may hide the line above; people starting the server want the URL.
    if let Some(url) = urls(running.addr).first() {
        eprintln!(
            "framecast: serving the photos in {} at {url}/ ({} known from the index)",
            roots.join(", "),
            running.photos
        );
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
