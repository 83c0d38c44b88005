//! The HTTP endpoint: `GET` or `HEAD` on the configured path returns the exposition; any other
//! path is 404 and any other method 405, so a scrape misconfiguration shows up as an error
//! rather than as a page of metrics on every URL.
//!
//! Hardened for a port that other machines may reach: optional bearer or basic authentication
//! and client network allow-list ([`policy`]), a bound on concurrent renders and a render
//! deadline (503 beyond them, [`respond`]), one render shared by the scrapes that ask for the
//! same format at once and a budget of response bytes held for clients that have not read them
//! ([`crate::offload`]), a bound on open connections ([`connections`]), a
//! deadline for the request headers and one for the whole connection, gzip when the scraper
//! accepts it, and self-metrics (`track_metrics_scrapes_total{status}`,
//! `track_metrics_scrape_duration_seconds`, `track_metrics_scrape_timeouts_total`,
//! `track_metrics_connections_dropped_total{reason}`).

mod connections;
mod policy;
mod respond;

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};

use crate::error::Error;
use crate::serve::connections::Connections;
use crate::serve::policy::Policy;
pub(crate) use crate::serve::policy::Settings;

/// A bound, not yet serving, listener.
pub(crate) struct Listener {
    socket: TcpListener,
    pub(crate) local_addr: SocketAddr,
    policy: Arc<Policy>,
}

impl Listener {
    pub(crate) fn bind(
        value: &str,
        origin: &'static str,
        settings: &Settings,
    ) -> Result<Self, Error> {
        let policy = Arc::new(Policy::new(settings)?);
        let invalid = || Error::InvalidAddress {
            value: value.to_owned(),
            origin,
        };
        let addr = value
            .trim()
            .to_socket_addrs()
            .map_err(|_| invalid())?
            .next()
            .ok_or_else(invalid)?;
        let socket = TcpListener::bind(addr).map_err(|source| Error::Bind { addr, source })?;
        let local_addr = socket
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        socket
            .set_nonblocking(true)
            .map_err(|source| Error::Bind { addr, source })?;
        Ok(Listener {
            socket,
            local_addr,
            policy,
        })
    }

    /// The endpoint's work for its thread: a small tokio runtime of its own, serving until the
    /// process ends.
    pub(crate) fn server(self) -> Result<impl FnOnce() + Send + 'static, Error> {
        // Renders hold a slot for as long as they run, so the pool never needs more threads.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(self.policy.max_concurrent_scrapes)
            .thread_name("track-metrics-render")
            .build()
            .map_err(Error::Runtime)?;
        Ok(move || runtime.block_on(self.serve()))
    }

    /// Accepts connections until the process ends.
    async fn serve(self) {
        let Ok(listener) = tokio::net::TcpListener::from_std(self.socket) else {
            return;
        };
        let renders = respond::Renders::new(
            self.policy.max_concurrent_scrapes,
            self.policy.max_response_bytes,
        );
        let connections = Connections::new(self.policy.max_connections);
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors (EMFILE, ENFILE): an idle connection of ours
                    // gives one back; otherwise wait a little rather than spin on the error.
                    let out_of_descriptors = matches!(error.raw_os_error(), Some(23 | 24));
                    if out_of_descriptors && connections.close_oldest_idle() {
                        // The closed connection's task drops its socket when it runs: let it
                        // run before accepting again, or every retry would close another.
                        tokio::task::yield_now().await;
                    } else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            };
            if connections.is_full() && connections.close_oldest_idle() {
                // As above: the descriptor comes back once the closed connection's task runs,
                // so that this loop never holds more than the limit of them.
                tokio::task::yield_now().await;
            }
            let Some(ticket) = connections.admit() else {
                // Every open connection is answering a request: this one is refused.
                drop(stream);
                continue;
            };
            let policy = Arc::clone(&self.policy);
            let renders = Arc::clone(&renders);
            let id = ticket.id();
            let task = tokio::spawn(async move {
                let allowed = policy.allows(peer.ip());
                let service_policy = Arc::clone(&policy);
                let busy = Arc::clone(&ticket.busy);
                let service = hyper::service::service_fn(move |request| {
                    let policy = Arc::clone(&service_policy);
                    let renders = Arc::clone(&renders);
                    let busy = Arc::clone(&busy);
                    async move {
                        busy.store(true, Ordering::Release);
                        let response = respond::respond(request, policy, renders, allowed).await;
                        busy.store(false, Ordering::Release);
                        Ok::<_, Infallible>(response)
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(policy.header_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                // A client that hangs up, or overstays, is its own problem, not the server's.
                let _ = tokio::time::timeout(policy.connection_timeout, connection).await;
                drop(ticket);
            });
            // The task has not run yet (this runtime has one thread): its ticket is listed.
            connections.spawned(id, task.abort_handle());
        }
    }
}
