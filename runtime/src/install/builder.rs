//! The exporter's settings as the user gives them ([`ExporterBuilder`]), and the handle
//! `install()` returns ([`Exporter`]).

use std::time::Duration;

use crate::error::Error;
use crate::model::buckets::{DEFAULT_BUCKETS, FUNCTION_BUCKETS};
use crate::state::DEFAULT_MAX_SERIES;
use crate::storage::exemplars::Source;

/// The address `install()` listens on when neither the builder nor `TRACK_METRICS_ADDR` says.
#[cfg(feature = "http")]
pub const DEFAULT_ADDR: &str = "127.0.0.1:9000";

/// The environment variable that overrides [`DEFAULT_ADDR`].
#[cfg(feature = "http")]
pub const ADDR_VARIABLE: &str = "TRACK_METRICS_ADDR";

/// The running exporter: where it listens, and its exposition.
///
/// Dropping it stops nothing: the endpoint serves, and the recorder records, for the rest of the
/// process. It is a handle to ask the exporter things, and can be cloned freely.
///
/// ```
/// let exporter = track_metrics::Exporter::builder().listen_address("127.0.0.1:0").install()?;
/// let addr = exporter.local_addr().unwrap();
/// assert_ne!(addr.port(), 0, "the port the system picked");
/// assert_eq!(exporter.url().unwrap(), format!("http://{addr}/metrics"));
/// # Ok::<(), track_metrics::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Exporter {
    local_addr: Option<std::net::SocketAddr>,
    path: String,
}

impl Exporter {
    /// A builder to set the listen address, global labels and buckets before installing.
    ///
    /// ```
    /// let exporter = track_metrics::Exporter::builder().without_listener().install()?;
    /// # let _ = exporter;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn builder() -> ExporterBuilder {
        ExporterBuilder::new()
    }

    /// The address the endpoint is bound to (with the real port when port 0 was asked for), or
    /// `None` when the exporter has no listener.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.local_addr
    }

    /// The URL to scrape, such as `http://127.0.0.1:9000/metrics`, or `None` without a listener.
    pub fn url(&self) -> Option<String> {
        self.local_addr
            .map(|addr| format!("http://{addr}{}", self.path))
    }

    /// The current exposition, as [`crate::render`] returns it.
    pub fn render(&self) -> String {
        crate::render()
    }

    /// The `metrics` recorder that records into track-metrics: the global one after
    /// [`install`](crate::install), or one to combine with the application's own after
    /// [`without_global_recorder`](ExporterBuilder::without_global_recorder), so that the
    /// facade's metrics reach both exporters.
    ///
    /// ```
    /// let exporter = track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .without_global_recorder()
    ///     .install()?;
    /// let recorder = exporter.recorder();
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("orders_total").increment(2));
    /// assert!(track_metrics::render().contains("orders_total 2\n"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn recorder(&self) -> crate::FacadeRecorder {
        crate::storage::facade::Facade::recorder()
    }

    /// Where the OTLP exports go, when there are any (feature `otlp`).
    #[cfg(feature = "otlp")]
    pub fn otlp_endpoint(&self) -> Option<String> {
        crate::otlp::worker::endpoint()
    }

    /// Sends an OTLP export now and waits for the receiver's answer (feature `otlp`); `Ok`
    /// when no OTLP export is configured.
    ///
    /// # Errors
    ///
    /// The export failed (the receiver refused it, or did not answer within the export
    /// timeout, retries included), or [`shutdown`](Self::shutdown) ended the export.
    #[cfg(feature = "otlp")]
    pub fn flush(&self) -> Result<(), Error> {
        crate::otlp::worker::flush()
    }

    /// Ends the OTLP export with a last one, carrying everything recorded until now, and waits
    /// for it (bounded by the export timeout, twice if an export was under way); `Ok` when no
    /// OTLP export is configured, or it has ended. Call it before the process exits: dropping
    /// the `Exporter` stops nothing. The endpoint goes on serving.
    ///
    /// # Errors
    ///
    /// The last export failed.
    #[cfg(feature = "otlp")]
    pub fn shutdown(&self) -> Result<(), Error> {
        crate::otlp::worker::shutdown()
    }
}

#[derive(Clone, Debug)]
enum Listen {
    /// `TRACK_METRICS_ADDR`, else [`DEFAULT_ADDR`].
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    Default,
    #[cfg(feature = "http")]
    Address(String),
    Disabled,
}

impl Listen {
    #[cfg_attr(not(test), allow(dead_code))]
    fn is_disabled(&self) -> bool {
        matches!(self, Listen::Disabled)
    }
}

/// Settings of the exporter, applied by [`ExporterBuilder::install`].
///
/// Every setting is checked by `install`, which returns an [`Error`] saying what to change;
/// the setters themselves never fail.
///
/// ```
/// # fn main() -> Result<(), track_metrics::Error> {
/// let exporter = track_metrics::Exporter::builder()
///     .listen_address("127.0.0.1:0")
///     .global_label("service", "checkout")
///     .buckets_for("checkout_duration_seconds", &[0.001, 0.01, 0.1])
///     .install()?;
/// println!("scrape {}", exporter.url().unwrap());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "an ExporterBuilder does nothing until `.install()` is called"]
pub struct ExporterBuilder {
    listen: Listen,
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    path: String,
    #[cfg(feature = "http")]
    endpoint: crate::serve::Settings,
    global_labels: Vec<(String, String)>,
    default_buckets: Vec<f64>,
    function_buckets: Vec<f64>,
    metric_buckets: Vec<(String, Vec<f64>)>,
    max_series: usize,
    in_flight: bool,
    process_metrics: bool,
    render_timeout: Duration,
    native: Native,
    exemplar_source: Option<Source>,
    global_recorder: bool,
    facade_summaries: bool,
    facade_counter_suffix: bool,
    created_lines: bool,
    #[cfg(feature = "otlp")]
    otlp: Option<OtlpSource>,
    /// `None` until set: the page at `/` when there is a listener, else no page.
    #[cfg_attr(not(any(feature = "http", feature = "axum")), allow(dead_code))]
    live_page: Option<Option<String>>,
}

/// Where the OTLP export's settings come from.
#[cfg(feature = "otlp")]
#[derive(Clone, Debug)]
pub(crate) enum OtlpSource {
    /// The `OTEL_*` variables, read by `install()`.
    Environment,
    Given(Box<crate::otlp::Otlp>),
}

/// Where exemplars come from: a function that returns the sampled trace the current call runs
/// in, if any. It runs on every recorded call of a function with exemplars, so it must be cheap.
pub type ExemplarSource = fn() -> Option<crate::Trace>;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Native {
    pub(crate) everywhere: bool,
    pub(crate) factor: f64,
    pub(crate) max_buckets: usize,
}

impl Default for ExporterBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ExporterBuilder {
    /// The defaults: listen on `TRACK_METRICS_ADDR` or `127.0.0.1:9000`, serve `/metrics`,
    /// [`FUNCTION_BUCKETS`] for the functions' durations and [`DEFAULT_BUCKETS`] for other
    /// histograms, at most [`DEFAULT_MAX_SERIES`] label sets per family.
    ///
    /// ```
    /// let builder = track_metrics::ExporterBuilder::new(); // as `Exporter::builder()`
    /// # let _ = builder;
    /// ```
    pub fn new() -> Self {
        ExporterBuilder {
            #[cfg(feature = "http")]
            listen: Listen::Default,
            #[cfg(not(feature = "http"))]
            listen: Listen::Disabled,
            path: "/metrics".to_owned(),
            #[cfg(feature = "http")]
            endpoint: crate::serve::Settings::default(),
            global_labels: Vec::new(),
            default_buckets: DEFAULT_BUCKETS.to_vec(),
            function_buckets: FUNCTION_BUCKETS.to_vec(),
            metric_buckets: Vec::new(),
            max_series: DEFAULT_MAX_SERIES,
            in_flight: false,
            process_metrics: cfg!(feature = "process"),
            render_timeout: crate::state::DEFAULT_RENDER_TIMEOUT,
            native: Native {
                everywhere: false,
                factor: crate::storage::native::DEFAULT_NATIVE_FACTOR,
                max_buckets: crate::storage::native::DEFAULT_NATIVE_MAX_BUCKETS,
            },
            #[cfg(feature = "otel")]
            exemplar_source: Some(Source::OpenTelemetry),
            #[cfg(not(feature = "otel"))]
            exemplar_source: None,
            global_recorder: true,
            facade_summaries: false,
            facade_counter_suffix: true,
            created_lines: false,
            #[cfg(feature = "otlp")]
            otlp: None,
            live_page: None,
        }
    }

    /// Listens on `host:port` (port 0 picks a free port), whatever `TRACK_METRICS_ADDR` says.
    ///
    /// ```
    /// let exporter = track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0") // any free port
    ///     .install()?;
    /// assert_eq!(exporter.local_addr().unwrap().ip().to_string(), "127.0.0.1");
    /// assert!(exporter.url().unwrap().ends_with("/metrics"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn listen_address(mut self, address: impl Into<String>) -> Self {
        self.listen = Listen::Address(address.into());
        self
    }

    /// The path the endpoint serves; `/metrics` by default.
    ///
    /// ```
    /// let exporter = track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .path("/internal/metrics")
    ///     .install()?;
    /// assert!(exporter.url().unwrap().ends_with("/internal/metrics"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Answers only requests with `Authorization: Bearer <token>`; others get 401.
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// let exporter = track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .bearer_token("s3cret")
    ///     .install()?;
    /// let status = |authorization: &str| {
    ///     let addr = exporter.local_addr().unwrap();
    ///     let mut stream = std::net::TcpStream::connect(addr).unwrap();
    ///     write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{authorization}Connection: close\r\n\r\n").unwrap();
    ///     let mut response = String::new();
    ///     stream.read_to_string(&mut response).unwrap();
    ///     response[9..12].to_owned()
    /// };
    /// assert_eq!(status(""), "401");
    /// assert_eq!(status("Authorization: Bearer s3cret\r\n"), "200");
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.endpoint.bearer_token = Some(token.into());
        self
    }

    /// Answers only requests with this HTTP basic authentication; others get 401.
    ///
    /// ```no_run
    /// // Prometheus: `basic_auth: {username: prometheus, password: ...}` in the scrape config; a
    /// // browser asks for these on the live page.
    /// track_metrics::Exporter::builder()
    ///     .listen_address("0.0.0.0:9000")
    ///     .basic_auth("prometheus", "correct horse battery staple")
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.endpoint.basic_auth = Some((user.into(), password.into()));
        self
    }

    /// Answers only clients in this network (`10.0.0.0/8`, `192.168.1.7`, `::1`); others get
    /// 403. Call it once per network; with none, every client that reaches the port is answered.
    ///
    /// ```no_run
    /// track_metrics::Exporter::builder()
    ///     .listen_address("0.0.0.0:9000")
    ///     .allow_network("10.0.0.0/8") // the cluster's pods
    ///     .allow_network("127.0.0.1") // and this host
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn allow_network(mut self, network: impl Into<String>) -> Self {
        self.endpoint.allowed_networks.push(network.into());
        self
    }

    /// Where the live page is served: every instrumented function's call rate, error ratio by
    /// type, p50 and p99 latency and calls in flight, with a chart of each over the last five
    /// minutes, and the other families' current values. By default `Some("/")` with a listener
    /// (the page at `http://127.0.0.1:9000/`, its `live.js` and `live.css` beside it) and `None`
    /// without one; `Some("/status/")` moves it (the path starts and ends with `/`), `None` turns
    /// it off. It answers under the same authentication, allow-list and bounds as the
    /// exposition.
    ///
    /// The page reads the functions from readings taken every 2 seconds by a thread that runs
    /// only when the page is on; see [`crate::axum::live_router`] to serve it from an axum
    /// `Router` instead.
    ///
    /// ```
    /// let exporter = track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .live_page(None) // no page, no sampler thread
    ///     .install()?;
    /// # let _ = exporter;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(any(feature = "http", feature = "axum"))]
    pub fn live_page(mut self, path: Option<&str>) -> Self {
        self.live_page = Some(path.map(str::to_owned));
        self
    }

    /// How many scrapes may be rendered at once; more get 503. 4 by default.
    ///
    /// ```
    /// track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .max_concurrent_scrapes(2) // two render threads at most
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn max_concurrent_scrapes(mut self, limit: usize) -> Self {
        self.endpoint.max_concurrent_scrapes = limit;
        self
    }

    /// How many bytes of responses the endpoint holds at once for clients that have not read
    /// them yet (a rendered exposition is kept until its last client has been sent it, or has
    /// gone): 64 MiB by default. Past it, scrapes get 503 until slow clients read or their
    /// connections time out. A single exposition larger than the limit is still served, alone.
    /// Scrapes of one format at the same moment share one body.
    ///
    /// ```
    /// track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .max_response_bytes(8 << 20) // 8 MiB for clients that read slowly
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.endpoint.max_response_bytes = bytes;
        self
    }

    /// How many connections the endpoint keeps open at once. Past it, the connection that has
    /// waited longest without a request in progress is closed to make room for the new one
    /// (every one busy: the new one is refused). By default half the process's file descriptor
    /// limit (`RLIMIT_NOFILE`), between 16 and 4096, so that the application keeps the rest.
    ///
    /// ```
    /// track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .max_connections(64)
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn max_connections(mut self, limit: usize) -> Self {
        self.endpoint.max_connections = Some(limit);
        self
    }

    /// How long a client has to send its request headers; 10 seconds by default.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .header_timeout(Duration::from_secs(2))
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.header_timeout = timeout;
        self
    }

    /// How long one connection may last, whatever it does; 60 seconds by default.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .connection_timeout(Duration::from_secs(30))
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "http")]
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.connection_timeout = timeout;
        self
    }

    /// How long a scrape may take to render: past it, the endpoint answers 503 (counted in
    /// `track_metrics_scrape_timeouts_total`) while the render finishes in the background, and
    /// later scrapes leave out a gauge whose function has been running for longer than this
    /// (counted in `track_metrics_skipped_functions_total{metric}`), so that one blocked
    /// gauge function does not block every scrape after it. 5 seconds by default, below the 10
    /// seconds Prometheus waits for a scrape.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .render_timeout(Duration::from_secs(2)) // below a 3 s scrape_timeout
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn render_timeout(mut self, timeout: Duration) -> Self {
        self.render_timeout = timeout;
        self
    }

    /// Starts no HTTP listener: the exposition is only available from [`crate::render`], to be
    /// served by the application's own web framework.
    ///
    /// ```
    /// let exporter = track_metrics::Exporter::builder().without_listener().install()?;
    /// assert_eq!(exporter.url(), None);
    /// // Serve it from your own framework, as the tutorial's Flask route does:
    /// let (body, content_type) = (track_metrics::render(), track_metrics::CONTENT_TYPE);
    /// # let _ = (body, content_type);
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn without_listener(mut self) -> Self {
        self.listen = Listen::Disabled;
        self
    }

    /// Adds a label to every series, such as `service="checkout"`.
    ///
    /// ```rust,standalone_crate
    /// track_metrics::metrics! {
    ///     /// Jobs processed
    ///     pub counter JOBS: jobs_processed_total;
    /// }
    ///
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .global_label("service", "checkout")
    ///     .install()?;
    /// JOBS.inc();
    /// assert!(track_metrics::render().contains("jobs_processed_total{service=\"checkout\"} 1\n"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn global_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.global_labels.push((name.into(), value.into()));
        self
    }

    /// The buckets of every `metrics!` and `metrics` facade histogram that has no buckets of
    /// its own; [`DEFAULT_BUCKETS`] (prometheus_client's) by default.
    ///
    /// ```rust,standalone_crate
    /// track_metrics::metrics! {
    ///     /// Payload sizes
    ///     pub histogram PAYLOAD: payload_size_bytes;
    /// }
    ///
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .default_buckets(&[100.0, 1000.0, 10000.0])
    ///     .install()?;
    /// PAYLOAD.observe(512.0);
    /// assert!(track_metrics::render().contains("payload_size_bytes_bucket{le=\"1000\"} 1\n"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn default_buckets(mut self, bounds: &[f64]) -> Self {
        self.default_buckets = bounds.to_vec();
        self
    }

    /// The duration buckets of every `#[track_metrics]` function that has no buckets of its
    /// own, and of the axum and tonic layer's request durations
    /// (`http_request_duration_seconds`, `grpc_server_handling_seconds`);
    /// [`FUNCTION_BUCKETS`] (10 µs to 10 s) by default. The Python tutorial's are one
    /// setting away:
    ///
    /// ```
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .function_buckets(track_metrics::DEFAULT_BUCKETS)
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn function_buckets(mut self, bounds: &[f64]) -> Self {
        self.function_buckets = bounds.to_vec();
        self
    }

    /// The buckets of one histogram family, by its full name: a `#[track_metrics]` duration
    /// family, a `metrics!` histogram without `#[buckets]`, or a `metrics::histogram!` name as
    /// recorded (`http.server.response.body.size`) or underscored.
    ///
    /// ```rust,standalone_crate
    /// #[track_metrics::track_metrics(duration = "db_query_duration_seconds")]
    /// fn query() {}
    ///
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .buckets_for("db_query_duration_seconds", &[0.001, 0.01, 0.1])
    ///     .install()?;
    /// query();
    /// assert!(track_metrics::render().contains(",le=\"0.001\"}"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn buckets_for(mut self, metric: impl Into<String>, bounds: &[f64]) -> Self {
        self.metric_buckets.push((metric.into(), bounds.to_vec()));
        self
    }

    /// How many label sets a family keeps before folding new ones into its overflow series:
    /// families declared with `metrics!` (unless their declaration says `#[max_series(...)]`)
    /// and those of the `metrics` facade; [`DEFAULT_MAX_SERIES`] by default.
    ///
    /// ```rust,standalone_crate
    /// track_metrics::metrics! {
    ///     /// Requests by user agent (which clients make up)
    ///     pub counter BY_AGENT: requests_by_agent_total(agent);
    /// }
    ///
    /// track_metrics::Exporter::builder().without_listener().max_series(2).install()?;
    /// for agent in ["curl", "firefox", "made-up-1", "made-up-2"] {
    ///     BY_AGENT.labels(agent).inc();
    /// }
    /// let text = track_metrics::render();
    /// assert!(text.contains("requests_by_agent_total{agent=\"curl\"} 1\n"));
    /// // The label sets past the limit share one series.
    /// assert!(text.contains("requests_by_agent_total{agent=\"__overflow__\",track_metrics_overflow=\"true\"} 2\n"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn max_series(mut self, limit: usize) -> Self {
        self.max_series = limit;
        self
    }

    /// Gives every `#[track_metrics]` function the in-flight gauge
    /// (`function_calls_in_flight`), as `#[track_metrics(in_flight)]` does for one.
    ///
    /// ```rust,standalone_crate
    /// #[track_metrics::track_metrics]
    /// fn handle() {}
    ///
    /// track_metrics::Exporter::builder().without_listener().in_flight(true).install()?;
    /// handle();
    /// assert!(track_metrics::render().contains("function_calls_in_flight{function=\"handle\""));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn in_flight(mut self, enabled: bool) -> Self {
        self.in_flight = enabled;
        self
    }

    /// Whether the exposition includes the standard `process_*` metrics (feature `process`, on
    /// by default).
    ///
    /// ```
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .process_metrics(false)
    ///     .install()?;
    /// assert!(!track_metrics::render().contains("process_cpu_seconds_total"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "process")]
    pub fn process_metrics(mut self, enabled: bool) -> Self {
        self.process_metrics = enabled;
        self
    }

    /// Gives every `#[track_metrics]` function a native histogram beside its classic buckets,
    /// with buckets that grow by at most `factor` (above 1; 1.1 gives schema 3, buckets 9%
    /// wide), as client_golang's `NativeHistogramBucketFactor`. It also sets the factor of the
    /// functions that ask for one with `#[track_metrics(native_histogram)]`.
    ///
    /// Native histograms reach Prometheus over protobuf, which it asks for when started with
    /// `--enable-feature=native-histograms`; other scrapers get the classic buckets only.
    ///
    /// ```
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .native_histograms(1.1) // every function; schema 3
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn native_histograms(mut self, factor: f64) -> Self {
        self.native.everywhere = true;
        self.native.factor = factor;
        self
    }

    /// The resolution factor of the native histograms that functions ask for with
    /// `#[track_metrics(native_histogram)]`, without giving every function one; 1.1 by default.
    ///
    /// ```rust,standalone_crate
    /// #[track_metrics::track_metrics(native_histogram)] // this function only
    /// fn handle() {}
    ///
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .native_histogram_factor(1.05) // schema 4: buckets 4% wide
    ///     .install()?;
    /// handle();
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn native_histogram_factor(mut self, factor: f64) -> Self {
        self.native.factor = factor;
        self
    }

    /// How many native buckets a series keeps (160 by default): past it, the series halves its
    /// resolution, merging neighbouring buckets, until it fits. Counts are never dropped.
    ///
    /// ```
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .native_histograms(1.1)
    ///     .native_histogram_max_buckets(80) // less memory, coarser past it
    ///     .install()?;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn native_histogram_max_buckets(mut self, limit: usize) -> Self {
        self.native.max_buckets = limit;
        self
    }

    /// Where exemplars come from: by default the current OpenTelemetry context (feature
    /// `otel`) or nowhere (without it). `None` turns exemplars off.
    ///
    /// ```rust,standalone_crate
    /// fn current_trace() -> Option<track_metrics::Trace> {
    ///     // Ask your tracing system; `None` outside a sampled trace.
    ///     Some(track_metrics::Trace { trace_id: [7; 16], span_id: [9; 8] })
    /// }
    ///
    /// #[track_metrics::track_metrics]
    /// fn handle() {}
    ///
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .exemplar_source(Some(current_trace))
    ///     .install()?;
    /// handle();
    /// let format = track_metrics::Format::OPENMETRICS;
    /// let text = String::from_utf8(track_metrics::render_as(format)).unwrap();
    /// assert!(text.contains(r#"# {trace_id="07070707070707070707070707070707",span_id="0909090909090909"}"#));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn exemplar_source(mut self, source: Option<ExemplarSource>) -> Self {
        self.exemplar_source = source.map(Source::Function);
        self
    }

    /// Installs without becoming the global `metrics` recorder: for an application that keeps
    /// its own (metrics-exporter-prometheus, statsd, an OpenTelemetry bridge) for the
    /// `metrics::counter!` of its crates, and lets track-metrics serve its
    /// `#[track_metrics]` functions and `metrics!` families on its endpoint or through
    /// [`render`](crate::render). The facade's metrics then reach track-metrics only through
    /// [`Exporter::recorder`], which a `metrics_util` fanout can add beside the other recorder.
    ///
    /// Without `install()` at all, the functions and families record through the application's
    /// recorder instead (see [`Recording`](crate::Recording)).
    ///
    /// ```
    /// let exporter = track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .without_global_recorder()
    ///     .install()?;
    /// // The application's own recorder stays free to install:
    /// metrics::set_global_recorder(metrics::NoopRecorder).unwrap();
    /// assert_eq!(track_metrics::recording(), track_metrics::Recording::Installed);
    /// # let _ = exporter;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn without_global_recorder(mut self) -> Self {
        self.global_recorder = false;
        self
    }

    /// Records the facade's histograms that [`buckets_for`](Self::buckets_for) gives no buckets
    /// as summaries (quantiles 0, 0.5, 0.9, 0.95, 0.99, 0.999 and 1 over the last 60 seconds,
    /// `_sum` and `_count` since the start), as metrics-exporter-prometheus does: a service
    /// moving from it keeps its `{quantile="0.99"}` series. `false` by default: histograms with
    /// the default buckets, which Prometheus can aggregate across instances.
    ///
    /// ```
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .facade_summaries(true)
    ///     .install()?;
    /// metrics::histogram!("user_lookup_seconds").record(0.002);
    /// assert!(track_metrics::render().contains("user_lookup_seconds{quantile=\"0.99\"} "));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn facade_summaries(mut self, enabled: bool) -> Self {
        self.facade_summaries = enabled;
        self
    }

    /// Whether a facade counter whose name does not end in `_total` is written `name_total`
    /// (`true`, the default: the same name in every format, since OpenMetrics requires the
    /// suffix) or under its name as recorded in text and protobuf, as
    /// metrics-exporter-prometheus writes it (`false`; OpenMetrics still writes `name_total`).
    ///
    /// ```
    /// track_metrics::Exporter::builder()
    ///     .without_listener()
    ///     .facade_counter_suffix(false)
    ///     .install()?;
    /// metrics::counter!("my_service_requests").increment(3);
    /// assert!(track_metrics::render().contains("my_service_requests 3\n"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn facade_counter_suffix(mut self, enabled: bool) -> Self {
        self.facade_counter_suffix = enabled;
        self
    }

    /// Whether OpenMetrics expositions carry `_created` samples (when each count started):
    /// `false` by default, as in client_golang, since Prometheus 3.5 stores each one as a series
    /// of its own unless started with `--enable-feature=created-timestamp-zero-ingestion`, one
    /// more series per counter, histogram and summary. Protobuf carries the same time as a field
    /// whatever this says, which costs no series.
    ///
    /// ```rust,standalone_crate
    /// track_metrics::metrics! {
    ///     /// Jobs processed
    ///     pub counter JOBS: jobs_processed_total;
    /// }
    ///
    /// track_metrics::Exporter::builder().without_listener().created_lines(true).install()?;
    /// JOBS.inc();
    /// let text = String::from_utf8(track_metrics::render_as(track_metrics::Format::OPENMETRICS)).unwrap();
    /// assert!(text.contains("jobs_processed_created "));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn created_lines(mut self, enabled: bool) -> Self {
        self.created_lines = enabled;
        self
    }

    /// Exports OTLP as `otlp` says, every interval, beside the endpoint (feature `otlp`; see
    /// the [`otlp`](crate::otlp) module). Call [`Exporter::shutdown`] before the process ends
    /// for a last export.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use track_metrics::Otlp;
    ///
    /// let exporter = track_metrics::Exporter::builder()
    ///     .otlp(Otlp::new("http://collector:4318/v1/metrics")?.interval(Duration::from_secs(15)))
    ///     .install()?;
    /// // ... the service runs ...
    /// exporter.shutdown()?; // a last export
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp(mut self, otlp: crate::otlp::Otlp) -> Self {
        self.otlp = Some(OtlpSource::Given(Box::new(otlp)));
        self
    }

    /// Exports OTLP if the `OTEL_*` environment variables ask for it (an endpoint is set, the
    /// SDK not disabled), as OpenTelemetry SDKs do (feature `otlp`; see the
    /// [`otlp`](crate::otlp) module). `install()` reads them, and fails on a malformed one.
    ///
    /// ```
    /// // No OTEL_EXPORTER_OTLP_ENDPOINT here: no export, the endpoint alone.
    /// # unsafe { std::env::remove_var("OTEL_EXPORTER_OTLP_ENDPOINT") };
    /// # unsafe { std::env::remove_var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") };
    /// let exporter = track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .otlp_from_env()
    ///     .install()?;
    /// exporter.shutdown()?; // nothing to export: Ok
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_from_env(mut self) -> Self {
        self.otlp = Some(OtlpSource::Environment);
        self
    }

    /// Installs the global recorder and starts the endpoint.
    ///
    /// # Errors
    ///
    /// Any inconsistent setting, a listen address that is invalid or in use, a second call in the
    /// process, or another recorder already installed. Nothing keeps running after an error.
    ///
    /// ```
    /// let exporter = track_metrics::Exporter::builder()
    ///     .listen_address("127.0.0.1:0")
    ///     .install()?;
    /// println!("scrape {}", exporter.url().unwrap());
    /// // A setting install() cannot take is an error that says what to change.
    /// let error = track_metrics::Exporter::builder().install().unwrap_err();
    /// assert!(error.to_string().contains("already installed"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn install(self) -> Result<Exporter, Error> {
        crate::install::install(self)
    }

    /// The live page's path: the one set, else `/` with a listener and none without.
    fn resolved_live_page(&self) -> Option<String> {
        match &self.live_page {
            Some(set) => set.clone(),
            None if matches!(self.listen, Listen::Disabled) => None,
            None => Some("/".to_owned()),
        }
    }

    /// Where to listen, if anywhere, and whence that came.
    #[cfg(feature = "http")]
    pub(crate) fn resolved_address(&self) -> Option<(String, &'static str)> {
        match &self.listen {
            Listen::Disabled => None,
            Listen::Address(value) => Some((value.clone(), "ExporterBuilder::listen_address")),
            Listen::Default => Some(match std::env::var(ADDR_VARIABLE) {
                Ok(value) if !value.trim().is_empty() => (value, ADDR_VARIABLE),
                _ => (DEFAULT_ADDR.to_owned(), "the default"),
            }),
        }
    }
}

/// What `install()` reads from the builder.
pub(crate) struct Parts {
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) path: String,
    #[cfg(feature = "http")]
    pub(crate) endpoint: crate::serve::Settings,
    pub(crate) global_labels: Vec<(String, String)>,
    pub(crate) default_buckets: Vec<f64>,
    pub(crate) function_buckets: Vec<f64>,
    pub(crate) metric_buckets: Vec<(String, Vec<f64>)>,
    pub(crate) max_series: usize,
    pub(crate) in_flight: bool,
    pub(crate) process_metrics: bool,
    pub(crate) render_timeout: Duration,
    pub(crate) native: Native,
    pub(crate) exemplar_source: Option<Source>,
    pub(crate) global_recorder: bool,
    pub(crate) facade_summaries: bool,
    pub(crate) facade_counter_suffix: bool,
    pub(crate) created_lines: bool,
    #[cfg(feature = "otlp")]
    pub(crate) otlp: Option<OtlpSource>,
    #[cfg_attr(not(any(feature = "http", feature = "axum")), allow(dead_code))]
    pub(crate) live_page: Option<String>,
}

impl ExporterBuilder {
    pub(crate) fn parts(&self) -> Parts {
        Parts {
            path: self.path.clone(),
            #[cfg(feature = "http")]
            endpoint: crate::serve::Settings {
                path: self.path.clone(),
                render_timeout: self.render_timeout,
                live_page: self.resolved_live_page(),
                ..self.endpoint.clone()
            },
            global_labels: self.global_labels.clone(),
            default_buckets: self.default_buckets.clone(),
            function_buckets: self.function_buckets.clone(),
            metric_buckets: self.metric_buckets.clone(),
            max_series: self.max_series,
            in_flight: self.in_flight,
            process_metrics: self.process_metrics,
            render_timeout: self.render_timeout,
            native: self.native,
            exemplar_source: self.exemplar_source,
            global_recorder: self.global_recorder,
            facade_summaries: self.facade_summaries,
            facade_counter_suffix: self.facade_counter_suffix,
            created_lines: self.created_lines,
            #[cfg(feature = "otlp")]
            otlp: self.otlp.clone(),
            live_page: self.resolved_live_page(),
        }
    }
}

impl Exporter {
    pub(crate) fn new(local_addr: Option<std::net::SocketAddr>, path: String) -> Self {
        Exporter { local_addr, path }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults() {
        let parts = ExporterBuilder::new().parts();
        assert_eq!(parts.default_buckets, DEFAULT_BUCKETS);
        assert_eq!(parts.max_series, 1000);
        assert!(!parts.in_flight);
        assert_eq!(parts.process_metrics, cfg!(feature = "process"));
        assert_eq!(parts.path, "/metrics");
        assert_eq!(parts.render_timeout, Duration::from_secs(5));
        #[cfg(feature = "http")]
        {
            assert_eq!(parts.endpoint.max_concurrent_scrapes, 4);
            assert_eq!(parts.endpoint.header_timeout, Duration::from_secs(10));
            assert_eq!(parts.endpoint.connection_timeout, Duration::from_secs(60));
            assert_eq!(parts.endpoint.render_timeout, Duration::from_secs(5));
            assert_eq!(parts.endpoint.max_connections, None);
            let builder = ExporterBuilder::new();
            if std::env::var_os(ADDR_VARIABLE).is_none() {
                assert_eq!(
                    builder.resolved_address(),
                    Some(("127.0.0.1:9000".to_owned(), "the default"))
                );
            }
            let networks = builder
                .allow_network("10.0.0.0/8")
                .allow_network("::1")
                .parts()
                .endpoint
                .allowed_networks;
            assert_eq!(networks, ["10.0.0.0/8", "::1"]);
        }
        assert!(
            ExporterBuilder::new()
                .without_listener()
                .listen
                .is_disabled()
        );
    }
}
