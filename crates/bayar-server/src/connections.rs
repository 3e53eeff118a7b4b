//! A listener that keeps at most so many connections open at once.
//!
//! Each open connection holds memory in bayar (its buffers, its task, the request it carries);
//! a client that opens a new connection for every request it cannot get answered at once, as
//! pooled HTTP clients do when answers slow down, would otherwise make bayar's memory grow with
//! the overload (measured: 15,000 connections and 400 MiB at 8,000 payments/s offered; ~70 KiB
//! per connection with its request in progress). At the cap, bayar stops accepting: further
//! connections wait in the kernel's listen queue until an open one closes, and memory stays
//! bounded. A connection that sends and receives nothing for [`IDLE_TIMEOUT`] is closed, so
//! idle keep-alive connections cannot hold every place for ever.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// How long a connection may go without a byte either way before bayar closes it (nginx's
/// keep-alive default is 75 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections open at once by default: several times what is open at the sustained payment
/// rate on 2 cores (~100: rate x latency), and at ~70 KiB each well under 200 MiB.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// A TCP listener that accepts while fewer than its cap of connections are open.
#[derive(Debug)]
pub struct CappedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    idle_timeout: Duration,
}

impl CappedListener {
    /// Wraps `inner`, allowing `max_connections` (at least one) open at once, each closed
    /// after [`IDLE_TIMEOUT`] without traffic.
    pub fn new(inner: TcpListener, max_connections: usize) -> CappedListener {
        CappedListener {
            inner,
            slots: Arc::new(Semaphore::new(
                max_connections.clamp(1, Semaphore::MAX_PERMITS),
            )),
            idle_timeout: IDLE_TIMEOUT,
        }
    }

    /// The same listener closing connections after `idle_timeout` without traffic instead.
    pub fn with_idle_timeout(self, idle_timeout: Duration) -> CappedListener {
        CappedListener {
            idle_timeout,
            ..self
        }
    }
}

impl Listener for CappedListener {
    type Io = CappedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CappedStream, SocketAddr) {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the listener never closes its semaphore");
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let stream = CappedStream {
            stream,
            last_active: Instant::now(),
            idle_timeout: self.idle_timeout,
            idle: Box::pin(tokio::time::sleep(self.idle_timeout)),
            _slot: slot,
        };
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An accepted connection; its slot frees when the connection is dropped (closed).
#[derive(Debug)]
pub struct CappedStream {
    stream: TcpStream,
    /// When a read or write last made progress.
    last_active: Instant,
    idle_timeout: Duration,
    /// Fires at or after `last_active + idle_timeout`; moved on lazily, only when it fires,
    /// so a busy connection costs no timer work per read.
    idle: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl CappedStream {
    /// Notes progress (a read or write that completed).
    fn active<T>(&mut self, poll: Poll<T>) -> Poll<T> {
        if poll.is_ready() {
            self.last_active = Instant::now();
        }
        poll
    }

    /// Whether the connection has been idle for its timeout; otherwise registers to be
    /// woken when it could have been.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            ready!(self.idle.as_mut().poll(cx));
            let deadline = self.last_active + self.idle_timeout;
            if Instant::now() >= deadline {
                return Poll::Ready(());
            }
            self.idle.as_mut().reset(deadline);
        }
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if read.is_pending() && self.poll_idle(cx).is_ready() {
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        self.active(read)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.active(written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.active(written)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::serve::Listener;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::CappedListener;

    #[tokio::test]
    async fn accepts_again_only_when_an_open_connection_closes() {
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let mut listener = CappedListener::new(inner, 2);
        let _a = TcpStream::connect(addr).await.unwrap();
        let _b = TcpStream::connect(addr).await.unwrap();
        let _c = TcpStream::connect(addr).await.unwrap();
        let (first, _) = listener.accept().await;
        let (second, _) = listener.accept().await;
        let third = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(
            third.is_err(),
            "a third connection waits while two are open"
        );
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
        assert!(third.is_ok(), "closing one lets the next in");
        drop(second);
    }

    #[tokio::test]
    async fn a_connection_idle_for_the_timeout_is_closed_and_frees_its_place() {
        let idle = Duration::from_secs(2);
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let mut listener = CappedListener::new(inner, 1).with_idle_timeout(idle);
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await;
        // Traffic either way keeps it open past the first deadline.
        tokio::time::sleep(idle * 3 / 4).await;
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).await.unwrap();
        tokio::time::sleep(idle * 3 / 4).await;
        server.write_all(b"pong").await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        let mut byte = [0u8; 1];
        let open = tokio::time::timeout(idle / 4, server.read(&mut byte)).await;
        assert!(open.is_err(), "traffic moved the deadline on: {open:?}");
        let closed = tokio::time::timeout(idle * 5, server.read(&mut byte))
            .await
            .expect("closed once idle for the timeout");
        assert_eq!(closed.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
        drop(server);
        let _next = TcpStream::connect(addr).await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
        assert!(next.is_ok(), "the idle connection's place is free again");
    }
}
