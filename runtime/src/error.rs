//! The one error type of the runtime: every message says what went wrong and what to do.

use std::io;
use std::net::SocketAddr;

/// Why [`install`](crate::install) or an [`ExporterBuilder`](crate::ExporterBuilder) setting was
/// refused.
///
/// Nothing is left running when `install` returns an error: no listener, no thread, no recorder,
/// so a corrected second attempt can succeed. The message says what to do:
///
/// ```
/// let error = track_metrics::Exporter::builder()
///     .listen_address("localhost")
///     .install()
///     .unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "invalid listen address `localhost` (from ExporterBuilder::listen_address): expected \
///      `host:port`, such as `127.0.0.1:9000`, `[::1]:9000` or `localhost:0`"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `install` was already called successfully in this process.
    #[error(
        "track_metrics is already installed in this process: call `install()` once, at the start \
         of `main`, and use `track_metrics::render()` or the returned `Exporter` elsewhere"
    )]
    AlreadyInstalled,

    /// Another `metrics` recorder was installed before `install` ran.
    #[error(
        "another `metrics` recorder is already installed in this process: remove the other \
         `metrics::set_global_recorder` call (or the other exporter's `install`), since \
         track_metrics must be the global recorder to see `metrics::counter!` and friends"
    )]
    RecorderAlreadySet,

    /// The listen address is not `host:port`.
    #[error(
        "invalid listen address `{value}` (from {origin}): expected `host:port`, such as `127.0.0.1:9000`, `[::1]:9000` or `localhost:0`"
    )]
    InvalidAddress {
        /// The text that was given.
        value: String,
        /// Where it came from: the builder or the `TRACK_METRICS_ADDR` variable.
        origin: &'static str,
    },

    /// The listener could not be bound.
    #[error(
        "cannot listen on {addr}: {source}; if another process holds the port, choose another \
         one with `TRACK_METRICS_ADDR=host:port` (port 0 picks a free one)"
    )]
    Bind {
        /// The address that was refused.
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },

    /// The HTTP serving thread could not be started.
    #[error("cannot start the metrics server thread: {0}")]
    Runtime(#[source] io::Error),

    /// A push to a Pushgateway failed.
    #[error("{0}")]
    Push(String),

    /// A setting of the builder, or the instrumented functions taken together, are inconsistent.
    #[error("{0}")]
    Config(String),
}
