//! Admission of TCP connections: at most so many per node and per peer
//! address. A [`Permit`] travels with the connection's I/O ([`Counted`]), so
//! a connection upgraded to a WebSocket keeps counting until its socket is
//! closed, not only while its HTTP request is served.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use ::metrics::{counter, gauge};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::metrics;

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The node holds [`crate::ServeConfig::max_connections`] already.
    Node,
    /// This peer address holds [`crate::ServeConfig::max_connections_per_peer`] already.
    Peer,
}

/// Counts of the node's connections, shared by the accept loop and every permit.
#[derive(Debug)]
pub(crate) struct ConnectionLimits {
    max: usize,
    max_per_peer: Option<usize>,
    open: AtomicUsize,
    /// Open connections per peer address. std Mutex: held for one map
    /// operation per connect and disconnect, never across an `.await`.
    per_peer: Mutex<HashMap<IpAddr, usize>>,
    pub(crate) stats: ServeCounters,
}

/// Totals since start, read by [`crate::ServeStats`].
#[derive(Debug, Default)]
pub(crate) struct ServeCounters {
    pub(crate) accepted: AtomicU64,
    pub(crate) refused_node: AtomicU64,
    pub(crate) refused_peer: AtomicU64,
    pub(crate) header_timeouts: AtomicU64,
}

impl ConnectionLimits {
    pub(crate) fn new(max: usize, max_per_peer: Option<usize>) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            max_per_peer: max_per_peer.map(|limit| limit.max(1)),
            open: AtomicUsize::new(0),
            per_peer: Mutex::default(),
            stats: ServeCounters::default(),
        })
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Admits a connection from `peer`, or says which limit it hit.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Permit, Refused> {
        let admitted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            });
        if admitted.is_err() {
            self.stats.refused_node.fetch_add(1, Ordering::Relaxed);
            counter!(metrics::HTTP_CONNECTIONS_REFUSED, "limit" => "node").increment(1);
            return Err(Refused::Node);
        }
        if let Some(limit) = self.max_per_peer {
            let mut per_peer = self.lock();
            let count = per_peer.entry(peer).or_insert(0);
            if *count >= limit {
                drop(per_peer);
                self.open.fetch_sub(1, Ordering::AcqRel);
                self.stats.refused_peer.fetch_add(1, Ordering::Relaxed);
                counter!(metrics::HTTP_CONNECTIONS_REFUSED, "limit" => "peer").increment(1);
                return Err(Refused::Peer);
            }
            *count += 1;
        }
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
        gauge!(metrics::HTTP_CONNECTIONS).increment(1.0);
        Ok(Permit {
            limits: Arc::clone(self),
            peer,
        })
    }

    fn release(&self, peer: IpAddr) {
        if self.max_per_peer.is_some() {
            let mut per_peer = self.lock();
            if let Some(count) = per_peer.get_mut(&peer) {
                *count -= 1;
                if *count == 0 {
                    per_peer.remove(&peer);
                }
            }
        }
        self.open.fetch_sub(1, Ordering::AcqRel);
        gauge!(metrics::HTTP_CONNECTIONS).decrement(1.0);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_peer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Permit {
    limits: Arc<ConnectionLimits>,
    peer: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limits.release(self.peer);
    }
}

/// A connection's I/O holding its [`Permit`]: the place is freed when the
/// I/O is dropped, after an upgrade too.
#[derive(Debug)]
pub(crate) struct Counted<T> {
    io: T,
    _permit: Permit,
}

impl<T> Counted<T> {
    pub(crate) fn new(io: T, permit: Permit) -> Self {
        Self {
            io,
            _permit: permit,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn the_node_limit_holds_and_frees_on_drop() {
        let limits = ConnectionLimits::new(2, None);
        let first = limits.admit(ip(1)).unwrap();
        let _second = limits.admit(ip(2)).unwrap();
        assert_eq!(limits.admit(ip(3)).unwrap_err(), Refused::Node);
        drop(first);
        assert!(limits.admit(ip(3)).is_ok());
        assert_eq!(limits.stats.refused_node.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_peer_limit_counts_each_address_alone() {
        let limits = ConnectionLimits::new(10, Some(2));
        let a1 = limits.admit(ip(1)).unwrap();
        let _a2 = limits.admit(ip(1)).unwrap();
        assert_eq!(limits.admit(ip(1)).unwrap_err(), Refused::Peer);
        assert_eq!(limits.open(), 2, "a refused peer takes no place");
        let _b = limits.admit(ip(2)).unwrap();
        drop(a1);
        assert!(limits.admit(ip(1)).is_ok());
        assert_eq!(limits.stats.refused_peer.load(Ordering::Relaxed), 1);
    }
}
