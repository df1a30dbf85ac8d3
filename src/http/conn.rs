//! Connections: a write that makes no progress for too long ends the connection, and a
//! connection dropped with data stuck in it is reset rather than closed.
//!
//! A client that stops reading (a TV switched off mid-stream, a laptop closed) leaves its TCP
//! window shut; hyper then waits on the write forever and the connection, its socket and its
//! frame stay. hyper has no write timeout, so the socket is wrapped: once a write has been
//! pending for the whole timeout it fails, hyper drops the connection and the client's stream,
//! and everything it held is freed.
//!
//! Freed in the kernel too: a plain `close` on a socket whose send queue is full leaves an
//! orphan that keeps the queued bytes (up to the whole send buffer) for as long as the peer
//! keeps its window shut, after the process has let go and even after it has exited. So a
//! socket dropped while its writes are stuck (the write timeout fired, a write was pending,
//! or shutdown gave up waiting) is closed abortively: `SO_LINGER` 0, the kernel sends RST and
//! frees the queue at once. A stream that ends cleanly (at shutdown) with its last part still
//! in the kernel's queue is closed gracefully, for clients that are reading; if the peer
//! takes nothing more, the kernel drops it after twice the write timeout
//! (`TCP_USER_TIMEOUT`, set by the accept loop).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Sleep, sleep};
use tokio_util::sync::CancellationToken;

/// A socket that can be told to reset instead of closing gracefully.
pub trait Abort {
    /// Makes the coming close abortive (RST, send queue discarded).
    fn abort_on_close(&self);
}

impl Abort for tokio::net::TcpStream {
    fn abort_on_close(&self) {
        if let Err(e) = socket2::SockRef::from(self).set_linger(Some(Duration::ZERO)) {
            tracing::debug!("cannot set SO_LINGER: {e}");
        }
    }
}

/// An I/O object whose writes fail after making no progress for `timeout`.
pub struct WriteTimeout<IO: Abort> {
    io: IO,
    timeout: Duration,
    /// Armed when a write first returns `Pending`, disarmed by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
    /// The timeout fired.
    timed_out: bool,
    /// Cancelled when the server stops waiting for connections to finish.
    hard_stop: CancellationToken,
}

impl<IO: Abort> WriteTimeout<IO> {
    /// Wraps `io`; once `hard_stop` is cancelled, dropping it resets the connection.
    pub fn new(io: IO, timeout: Duration, hard_stop: CancellationToken) -> Self {
        WriteTimeout {
            io,
            timeout,
            stalled: None,
            timed_out: false,
            hard_stop,
        }
    }

    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Pending => {
                let timeout = self.timeout;
                let deadline = self.stalled.get_or_insert_with(|| Box::pin(sleep(timeout)));
                ready!(deadline.as_mut().poll(cx));
                self.timed_out = true;
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no write progress for {} s", timeout.as_secs()),
                )))
            }
            done => {
                self.stalled = None;
                done
            }
        }
    }
}

impl<IO: Abort> Drop for WriteTimeout<IO> {
    fn drop(&mut self) {
        if self.timed_out || self.stalled.is_some() || self.hard_stop.is_cancelled() {
            self.io.abort_on_close();
        }
    }
}

use std::future::Future;

impl<IO: AsyncRead + Abort + Unpin> AsyncRead for WriteTimeout<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Abort + Unpin> AsyncWrite for WriteTimeout<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        this.check(cx, result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.check(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_flush(cx);
        this.check(cx, result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncWriteExt, DuplexStream};

    /// A pipe that records whether it was told to reset.
    struct Pipe(DuplexStream, Arc<AtomicBool>);

    impl Abort for Pipe {
        fn abort_on_close(&self) {
            self.1.store(true, Ordering::SeqCst);
        }
    }

    impl AsyncRead for Pipe {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Pipe {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
        }
        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_flush(cx)
        }
        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
        }
    }

    fn pipe(capacity: usize) -> (Pipe, DuplexStream, Arc<AtomicBool>) {
        let (writer, reader) = tokio::io::duplex(capacity);
        let reset = Arc::new(AtomicBool::new(false));
        (Pipe(writer, Arc::clone(&reset)), reader, reset)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_write_times_out() {
        // A pipe whose reader never reads: writes stall once its buffer is full.
        let (writer, _reader, reset) = pipe(1024);
        let mut io = WriteTimeout::new(writer, Duration::from_secs(30), CancellationToken::new());
        let err = io.write_all(&[0u8; 4096]).await.expect_err("times out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(!reset.load(Ordering::SeqCst));
        drop(io);
        assert!(reset.load(Ordering::SeqCst), "reset, not closed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hard_stop_resets_and_a_clean_end_closes() {
        let hard_stop = CancellationToken::new();
        let (writer, _reader, reset) = pipe(1024);
        let io = WriteTimeout::new(writer, Duration::from_secs(30), hard_stop.clone());
        drop(io);
        assert!(
            !reset.load(Ordering::SeqCst),
            "an idle connection closes cleanly"
        );
        let (writer, _reader, reset) = pipe(1024);
        let io = WriteTimeout::new(writer, Duration::from_secs(30), hard_stop.clone());
        hard_stop.cancel();
        drop(io);
        assert!(reset.load(Ordering::SeqCst), "reset after a hard stop");
    }

    #[tokio::test(start_paused = true)]
    async fn progress_keeps_it_alive() {
        let (writer, mut reader, reset) = pipe(1024);
        let mut io = WriteTimeout::new(writer, Duration::from_secs(30), CancellationToken::new());
        let drain = tokio::spawn(async move {
            let mut sink = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut sink)
                .await
                .map(|_| sink.len())
        });
        io.write_all(&[0u8; 8192])
            .await
            .expect("drained as it goes");
        io.shutdown().await.expect("shutdown");
        drop(io);
        assert_eq!(drain.await.expect("joined").expect("read"), 8192);
        assert!(
            !reset.load(Ordering::SeqCst),
            "a drained connection closes cleanly"
        );
    }
}
