//! Golden-signal metrics for Rust functions with one attribute, in Prometheus format.
//!
//! ```rust,no_run
//! use track_metrics::track_metrics;
//!
//! #[track_metrics]
//! fn slow_operation() -> &'static str {
//!     std::thread::sleep(std::time::Duration::from_millis(500));
//!     "done"
//! }
//!
//! fn main() -> Result<(), track_metrics::Error> {
//!     let exporter = track_metrics::install()?; // serves http://127.0.0.1:9000/metrics
//!     slow_operation();
//!     println!("{}", track_metrics::render());
//!     # let _ = exporter;
//!     Ok(())
//! }
//! ```
//!
//! A scrape then shows `function_calls_total{function="slow_operation",module="my_app"} 1` and
//! the histogram `function_duration_seconds` of the same function, in text format 0.0.4.
//!
//! # What the pieces are
//! - [`track_metrics`](macro@track_metrics): the attribute, on any function or method.
//! - [`install`] and [`Exporter::builder`]: the global recorder and the `/metrics` endpoint. It
//!   is also the recorder of the `metrics` facade, so `metrics::counter!` and friends appear in
//!   the same scrape.
//! - [`render`] and [`CONTENT_TYPE`]: the exposition, to serve from your own web framework.
//!
//! # Without `install()`
//! Without [`install`], the functions and families record through the `metrics` recorder the
//! application runs (metrics-exporter-prometheus, statsd, an OpenTelemetry bridge); if it runs
//! none, the functions record nothing and the families keep their values for a later
//! `install()`: see [`guide::ecosystem`] and [`recording`]. Calls made while nothing is
//! installed are not counted, as `metrics` macros record nothing before a recorder exists;
//! every call made after a recorder or `install()` appears is, including calls of functions
//! first called before it: nothing is cached from before there is something to record into.
//!
//! # Guides
//! - [Three ways to run](guide::ecosystem): installed, through the application's `metrics`
//!   recorder, or nothing; which applies and what each costs.
//! - [The golden signals](guide::golden_signals): traffic, latency, errors and saturation of a
//!   service, and the PromQL that reads them.
//! - [The endpoint](guide::endpoint): settings, hardening, bounds, scraping with Prometheus.
//! - [The live page](guide::live_page): every function at a glance, without Prometheus.
//! - [Formats](guide::formats): content negotiation, UTF-8 names, native histograms,
//!   exemplars, OTLP.
//! - [Objectives and alerts](guide::objectives): SLO recording rules and burn-rate alerts from
//!   the code.
//! - [axum, tower and tonic](guide::axum): every request of a service.
//! - [Batch jobs](guide::pushgateway): the Pushgateway.
//! - [Moving from metrics-exporter-prometheus or autometrics](guide::migration).
//! - [Libraries and their tests](guide::libraries).
//! - [Performance](guide::performance): what a call costs, how values are kept, memory.
//!
//! # Features
//! - `http` (default): `install()` serves the exposition over HTTP (hyper, on one thread with a
//!   small tokio runtime of its own), and the live page. Without it, use [`render`].
//! - `process` (default): the standard `process_*` metrics (CPU seconds, memory, file
//!   descriptors, start time, threads), read at each scrape; off at run time with
//!   `ExporterBuilder::process_metrics(false)`.
//! - `protobuf` (default): the Prometheus protobuf format, negotiated with scrapers that ask for
//!   it: the only scrape format that carries native histograms.
//! - `axum`: the `axum` module, a tower layer recording every request by method, route template
//!   and status (and gRPC calls by code), a `/metrics` handler and the live page for an axum
//!   `Router`.
//! - `tonic`: a `tonic::Status` error is labelled by its code, and counts as an error as gRPC
//!   servers count them.
//! - `push`: `Pushgateway`, push, push-add and delete for batch jobs; `push-tls` for `https://`
//!   gateways (rustls).
//! - `otlp`: the `otlp` module, OTLP/HTTP protobuf export of the same series to an
//!   OpenTelemetry collector or any OTLP receiver; `otlp-tls` for `https://` receivers
//!   (rustls).
//! - `otel`: exemplars from the current OpenTelemetry context (the `opentelemetry` API crate
//!   only; bring your SDK).
//! - `testing`: the `testing` module, captures of what code records and a strict parser of the
//!   exposition for assertions.
//!
//! A library that instruments its functions depends on the crate with
//! `default-features = false` and leaves the rest to the program: see
//! [libraries](guide::libraries).
#![cfg_attr(docsrs, feature(doc_cfg))]

// The runtime declares its own self-metrics with `metrics!`, whose code names `::track_metrics`.
extern crate self as track_metrics;

#[cfg(feature = "axum")]
pub mod axum;
mod error;
mod exposition;
pub mod guide;
mod install;
#[cfg(any(feature = "http", feature = "axum"))]
pub(crate) mod live;
mod model;
#[cfg(any(feature = "http", feature = "axum"))]
mod offload;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "process")]
mod process;
#[cfg(feature = "push")]
mod push;
mod recording;
mod scrape;
mod self_metrics;
#[cfg(feature = "http")]
mod serve;
pub mod slo;
mod state;
mod storage;
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use error::{BucketProblem, Error};
pub use exposition::CONTENT_TYPE;
pub use exposition::format::{Escaping, Format, Protocol};
#[cfg(feature = "http")]
pub use install::builder::{ADDR_VARIABLE, DEFAULT_ADDR};
pub use install::builder::{ExemplarSource, Exporter, ExporterBuilder};
pub use model::buckets::{DEFAULT_BUCKETS, FUNCTION_BUCKETS};
pub use model::labels::{LabelEnum, LabelValue};
pub use model::names::{OVERFLOW_LABEL, OVERFLOW_LABEL_VALUE};
pub use model::outcome::ErrorType;
pub use model::snapshot::Trace;
#[cfg(feature = "otlp")]
pub use otlp::{Otlp, Temporality};
#[cfg(feature = "push")]
pub use push::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_PUSH_TIMEOUT, PushOnDrop, Pushgateway};
pub use recording::{Recording, recording};
pub use state::DEFAULT_MAX_SERIES;
pub use storage::counter::Counter;
pub use storage::facade::FacadeRecorder;
pub use storage::gauge::{Gauge, InProgress};
pub use storage::histogram::{Histogram, Observe, Timer};
pub use storage::stateset::StateSet;
pub use storage::summary::Summary;

#[doc = include_str!("doc/track_metrics.md")]
pub use track_metrics_macros::track_metrics;

#[doc = include_str!("doc/metrics.md")]
pub use track_metrics_macros::metrics;

/// Derives [`LabelValue`](trait@LabelValue) and [`LabelEnum`] for an enum of unit variants: each
/// variant's value is its name, or the string of its `#[label = "..."]`.
///
/// ```
/// #[derive(track_metrics::LabelValue)]
/// enum ErrorKind {
///     NotFound,
///     #[label = "timeout"]
///     TimedOut,
/// }
/// ```
pub use track_metrics_macros::LabelValue;

/// Derives [`ErrorType`](trait@ErrorType) for an error enum: each variant's `error_type` label
/// is its name, or the string of its `#[error_type = "..."]`. Variants may have fields.
///
/// ```
/// #[derive(Debug, track_metrics::ErrorType)]
/// enum FetchError {
///     NotFound,
///     #[error_type = "timeout"]
///     TimedOut { after_ms: u64 },
/// }
/// ```
pub use track_metrics_macros::ErrorType;

/// Installs the exporter with its defaults: the global `metrics` recorder, and the endpoint on
/// `TRACK_METRICS_ADDR` or `127.0.0.1:9000`.
///
/// Every instrumented function of the program shows with zero counts as soon as this returns.
/// The endpoint serves until the process ends, whether or not the returned [`Exporter`] is
/// kept. See [`Exporter::builder`] to change anything.
///
/// ```
/// # // A doctest must not take port 9000 from a running quickstart: any free port will do.
/// # unsafe { std::env::set_var("TRACK_METRICS_ADDR", "127.0.0.1:0") };
/// let exporter = track_metrics::install()?;
/// println!("Serving metrics at {}", exporter.url().unwrap());
///
/// // Once per process: a second call says so instead of starting a second endpoint.
/// let error = track_metrics::install().unwrap_err();
/// assert!(error.to_string().starts_with("track_metrics is already installed"));
/// # Ok::<(), track_metrics::Error>(())
/// ```
///
/// # Errors
///
/// A second call, another recorder already installed, an invalid `TRACK_METRICS_ADDR`, a port in
/// use, or instrumented functions that conflict (two that record the same series, or that give
/// one histogram different buckets). Nothing is left running after an error.
pub fn install() -> Result<Exporter, Error> {
    ExporterBuilder::new().install()
}

/// The current exposition in Prometheus text format 0.0.4, served with [`CONTENT_TYPE`].
///
/// Families are sorted by name and series by labels. Before [`install`] it is empty.
///
/// ```
/// // The tutorial's Flask route, in any framework: respond with these two.
/// let (body, content_type) = (track_metrics::render(), track_metrics::CONTENT_TYPE);
/// assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores");
/// # let _ = body;
/// ```
pub fn render() -> String {
    scrape::text()
}

/// The current exposition in `format`, to answer with `format.content_type()`; pick the format
/// with [`Format::from_accept`] from the scraper's `Accept` header.
///
/// ```rust,standalone_crate
/// use track_metrics::Format;
///
/// track_metrics::metrics! {
///     /// Jobs processed
///     pub counter JOBS: jobs_processed_total;
/// }
///
/// track_metrics::Exporter::builder().without_listener().install()?;
/// JOBS.inc();
/// let format = Format::from_accept(Some("application/openmetrics-text; version=1.0.0"));
/// let body = String::from_utf8(track_metrics::render_as(format)).unwrap();
/// assert!(body.contains("# TYPE jobs_processed counter\n"));
/// assert!(body.contains("jobs_processed_total 1\n"));
/// assert!(body.ends_with("# EOF\n"));
/// # Ok::<(), track_metrics::Error>(())
/// ```
pub fn render_as(format: Format) -> Vec<u8> {
    scrape::exposition(format)
}

/// The README's examples, compiled and run by `cargo test` as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
