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
//! application runs (metrics-exporter-prometheus, statsd, an OpenTelemetry bridge), or nowhere
//! if it runs none: see [`guide::ecosystem`] and [`recording`]. Calls made while nothing is
//! installed are not counted, as `metrics` macros record nothing before a recorder exists;
//! every call made after a recorder or `install()` appears is, including calls of functions
//! first called before it: nothing is cached from before there is something to record into.
//!
//! # Features
//! - `http` (default): `install()` serves the exposition over HTTP (hyper, on one thread with a
//!   small tokio runtime of its own). Without it, use [`render`].
//! - `process` (default): the standard `process_*` metrics (CPU seconds, memory, file
//!   descriptors, start time, threads), read at each scrape; off at run time with
//!   `ExporterBuilder::process_metrics(false)`.
//! - `axum`: the `axum` module, a tower layer recording every request by method, route template
//!   and status, and a `/metrics` handler for an axum `Router`.
//! - `push`: `Pushgateway`, push, push-add and delete for batch jobs; `push-tls` for https.
//! - `otlp`: the [`otlp`] module, OTLP/HTTP protobuf export of the same series to an
//!   OpenTelemetry collector or any OTLP receiver; `otlp-tls` for https.
//! - `testing`: the `testing` module, a strict parser of the exposition for assertions.
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
pub use model::buckets::DEFAULT_BUCKETS;
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

/// Counts the calls of a function and times them, into Prometheus metrics.
///
/// ```rust,standalone_crate
/// use track_metrics::track_metrics;
///
/// #[track_metrics]
/// fn slow_operation() -> &'static str {
///     "done"
/// }
///
/// #[track_metrics(
///     name = "query_database",
///     calls = "db_queries_total",
///     duration = "db_query_duration_seconds",
///     labels(database = "users"),
///     buckets = [0.001, 0.01, 0.1, 1.0],
/// )]
/// async fn query(sql: &str) -> usize {
///     sql.len()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), track_metrics::Error> {
/// track_metrics::Exporter::builder().without_listener().install()?;
/// slow_operation();
/// query("SELECT 1").await;
///
/// let text = track_metrics::render();
/// let module = module_path!(); // the `module` label: where the function is written
/// assert!(text.contains(&format!(
///     "function_calls_total{{function=\"slow_operation\",module=\"{module}\"}} 1\n"
/// )));
/// assert!(text.contains(&format!(
///     "db_queries_total{{function=\"query_database\",module=\"{module}\",database=\"users\"}} 1\n"
/// )));
/// # Ok(()) }
/// ```
///
/// Each call adds one to a counter when it starts and records its duration in seconds in a
/// histogram when it ends, however it ends: a normal return, `?`, a panic while unwinding, or
/// the drop of an `async fn` future (whose duration runs from its first poll; a future that is
/// never polled records nothing). The series carry the labels `function` (the function's name)
/// and `module` (its `module_path!()`), then the constant `labels`.
///
/// # Options
/// - `name = "checkout"`: the `function` label, instead of the function's name.
/// - `calls = "db_queries_total"`: the counter, instead of `function_calls_total`; it must end
///   in `_total`.
/// - `duration = "db_query_duration_seconds"`: the histogram, instead of
///   `function_duration_seconds`; it must end in `_seconds`.
/// - `labels(endpoint = "/users", method = "GET")`: constant labels. Values are string
///   literals: a label from a runtime value could make the number of series unbounded.
/// - `buckets = [0.001, 0.01, 0.1]`: the bucket bounds of the duration histogram. A family has
///   one layout, shared by every function that records into it: two functions that declare
///   different buckets for one family make [`install`] fail, naming both.
///
/// Every name is checked at compile time against the Prometheus rules, with the error on the
/// offending token; unknown or repeated options are errors too. The function keeps its
/// signature, attributes and body as written.
///
/// # Cost
/// After [`install`], a call is one atomic increment, one histogram record and two reads of the
/// TSC clock (`quanta`): no lookup, no hashing, no allocation of its own.
pub use track_metrics_macros::track_metrics;

/// Declares module-level metrics, checked at compile time.
///
/// ```rust,standalone_crate
/// use track_metrics::LabelValue;
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Method {
///     #[label = "GET"]
///     Get,
///     #[label = "POST"]
///     Post,
/// }
///
/// track_metrics::metrics! {
///     /// Total HTTP requests
///     pub counter REQUESTS: requests_total(method: Method, endpoint);
///     /// HTTP request latency
///     #[buckets(0.005, 0.01, 0.05, 0.1, 0.5, 1.0)]
///     pub histogram REQUEST_DURATION: request_duration_seconds(endpoint);
///     /// Database connections in use
///     pub gauge DB_POOL_USED: db_pool_connections_used;
///     /// Response size
///     #[quantiles(0.5, 0.9, 0.99)]
///     pub summary RESPONSE_SIZE: response_size_bytes(endpoint);
///     /// Version of the running build
///     pub info BUILD: build_info(version, revision);
/// }
///
/// track_metrics::Exporter::builder().without_listener().install()?;
/// BUILD.set("0.1.0", "abc123");
/// REQUESTS.labels(Method::Get, "/users").inc();
/// let _timer = REQUEST_DURATION.labels("/users").start_timer(); // records when dropped
/// DB_POOL_USED.inc();
/// RESPONSE_SIZE.labels("/users").observe(512.0);
/// DB_POOL_USED.dec();
///
/// let text = track_metrics::render();
/// assert!(text.contains("requests_total{method=\"GET\",endpoint=\"/users\"} 1\n"));
/// assert!(text.contains("db_pool_connections_used 0\n"));
/// assert!(text.contains("build_info{version=\"0.1.0\",revision=\"abc123\"} 1\n"));
/// # Ok::<(), track_metrics::Error>(())
/// ```
///
/// Each declaration is `doc comment, attributes, visibility, kind STATIC: metric_name(labels);`:
///
/// - The doc comment is required: it is the HELP text.
/// - The kind is `counter`, `gauge`, `histogram`, `summary` or `info` (a gauge at 1 whose
///   labels carry the information, set with `STATIC.set(...)`).
/// - Labels are names, each optionally with a type: an untyped label takes any string
///   ([`LabelValue`]), a typed one takes that type, usually an enum deriving
///   [`LabelValue`](derive@LabelValue). A family whose labels are all typed is shown with every
///   combination at zero from the first scrape.
/// - A family with labels is used through `STATIC.labels(...)`, which takes exactly its labels, in
///   order: a wrong count does not compile, and the error lists the labels. A family without labels
///   is used directly (`DB_POOL_USED.inc()`) and shows at 0 from the first scrape.
/// - Attributes: `#[buckets(...)]` (histograms), `#[quantiles(...)]` and
///   `#[max_age_seconds(...)]` (summaries; 0.5, 0.9, 0.99 over 600 s by default),
///   `#[max_series(...)]` (families with labels), `#[legacy_name]`, `#[cfg(...)]`.
///
/// Checked at compile time, with the error on your token: the name syntax, the reserved label
/// names (`le`, `quantile`, `__*`), duplicate labels and duplicate metrics (at both places),
/// buckets finite and strictly increasing, quantiles between 0 and 1, and the naming conventions
/// of `promtool check metrics`: counters end in `_total` and nothing else does, base units
/// (`_seconds`, `_bytes`, not `_milliseconds`), no abbreviated units (`_ms`), no type in the name,
/// snake_case. `#[legacy_name]` turns the conventions off for a name kept for compatibility.
///
/// Across blocks and crates, [`install`] refuses two declarations of one name, and a name that
/// clashes with a `#[track_metrics]` metric or with the series of another family.
///
/// Operations are recorded from the start of the process, before [`install`] too. A family
/// keeps at most [`DEFAULT_MAX_SERIES`] label sets (see `#[max_series]` and
/// [`ExporterBuilder::max_series`]); past that, new label sets share one series labelled
/// `__overflow__`, counted in `track_metrics_cardinality_overflow_total{metric}` and reported once
/// through the `log` crate.
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
