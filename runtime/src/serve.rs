//! The HTTP endpoint: `GET` or `HEAD` on the configured path returns the exposition; any other
//! path is 404 and any other method 405, so a scrape misconfiguration shows up as an error
//! rather than as a page of metrics on every URL.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::error::Error;
use crate::exposition;

/// A client that has not sent its request headers by then is disconnected.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound, not yet serving, listener.
pub(crate) struct Listener {
    socket: TcpListener,
    pub(crate) local_addr: SocketAddr,
    path: Arc<str>,
}

impl Listener {
    pub(crate) fn bind(value: &str, origin: &'static str, path: &str) -> Result<Self, Error> {
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
            path: path.into(),
        })
    }

    /// Accepts connections until the process ends.
    pub(crate) async fn serve(self) {
        let Ok(listener) = tokio::net::TcpListener::from_std(self.socket) else {
            return;
        };
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                // Out of file descriptors or a connection reset before accept: wait, go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let path = Arc::clone(&self.path);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let response = respond(&request, &path);
                    async move { Ok::<_, Infallible>(response) }
                });
                // A client that hangs up mid-request is its own problem, not the server's.
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}

fn respond(request: &Request<Incoming>, path: &str) -> Response<Full<Bytes>> {
    let builder = Response::builder();
    let response = if request.uri().path() != path {
        builder
            .status(StatusCode::NOT_FOUND)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from(format!(
                "not found: metrics are served at {path}\n"
            ))))
    } else if request.method() != Method::GET && request.method() != Method::HEAD {
        builder
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(ALLOW, "GET, HEAD")
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from_static(
                b"method not allowed: use GET or HEAD\n",
            )))
    } else {
        builder
            .status(StatusCode::OK)
            .header(CONTENT_TYPE, exposition::CONTENT_TYPE)
            .body(Full::new(Bytes::from(crate::render())))
    };
    // Every part above is a valid constant, so building cannot fail.
    response.unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
