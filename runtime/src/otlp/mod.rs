//! OTLP push (feature `otlp`): the same series the scrape serves, sent over OTLP/HTTP protobuf
//! to an OpenTelemetry collector or any OTLP receiver (Prometheus, VictoriaMetrics, vmagent,
//! Grafana Cloud, Datadog, Honeycomb), from the same storage and the same snapshots.
//!
//! Turn it on from the environment, as OpenTelemetry SDKs are configured:
//!
//! ```no_run
//! # fn main() -> Result<(), track_metrics::Error> {
//! // Exports when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set,
//! // every OTEL_METRIC_EXPORT_INTERVAL; /metrics is served all the same.
//! let exporter = track_metrics::Exporter::builder().otlp_from_env().install()?;
//! // ... the service runs ...
//! exporter.shutdown()?; // the last export, with everything recorded until now
//! # Ok(()) }
//! ```
//!
//! or in code, with [`Otlp`]:
//!
//! ```no_run
//! # fn main() -> Result<(), track_metrics::Error> {
//! use std::time::Duration;
//! use track_metrics::Otlp;
//!
//! let otlp = Otlp::new("http://collector:4318/v1/metrics")?
//!     .service_name("checkout")
//!     .header("x-tenant", "shop")
//!     .interval(Duration::from_secs(15))
//!     .gzip(true);
//! track_metrics::Exporter::builder().otlp(otlp).install()?;
//! # Ok(()) }
//! ```
//!
//! # What is sent
//!
//! | family | OTLP |
//! |---|---|
//! | counter | monotonic `Sum`, cumulative (or delta, see [`Temporality`]) |
//! | gauge, info | `Gauge` |
//! | state set | `Gauge`, one point per state labelled by the family's name, as scraped |
//! | histogram | explicit-bucket `Histogram` with the same bounds |
//! | native histogram | `ExponentialHistogram`, scale = the Prometheus schema (-4..=8) |
//! | summary | `Summary`, with the same quantiles |
//!
//! Labels (global labels first) become attributes; counters, histograms and summaries carry
//! `start_time_unix_nano`, the start of their counts; counter and bucket exemplars go with their
//! trace and span ids, each once. Names are sent so that the Prometheus naming of OTLP receivers
//! (Prometheus' default `UnderscoreEscapingWithSuffixes`, VictoriaMetrics'
//! `-opentelemetry.usePrometheusNaming`) gives back the scrape's series: a counter
//! `function_calls_total` is sent as `function_calls`, a histogram
//! `function_duration_seconds` keeps its name with unit `s`. The SLO rules, the PromQL in the
//! rustdoc of instrumented functions and dashboards work whichever way the data arrives.
//!
//! The receivers' naming changes a few names the scrape keeps, whatever is sent: a counter with
//! the word `total` elsewhere than at its end (`total_requests_total` arrives as
//! `requests_total`), a unit-`1` gauge with `ratio` elsewhere than at its end, names with `__`
//! or a leading `_` (`a__b` arrives as `a_b`), and label names with a leading `_`; and a facade
//! counter kept without `_total` by
//! [`facade_counter_suffix(false)`](crate::ExporterBuilder::facade_counter_suffix) arrives with
//! it. Name those the conventional way to query them alike.
//!
//! The resource holds `service.name` (`OTEL_SERVICE_NAME`, else `OTEL_RESOURCE_ATTRIBUTES`,
//! else `unknown_service:<executable>`), `service.instance.id` (given, else a random one per
//! process) and the attributes of `OTEL_RESOURCE_ATTRIBUTES`; Prometheus makes `job` and
//! `instance` of the first two. The instrumentation scope is left out, which VictoriaMetrics
//! would otherwise add as labels to every series.
//!
//! # When the receiver fails
//!
//! An export that gets 429, 502, 503 or 504, or no answer, is retried with exponential backoff
//! and jitter, waiting as long as `Retry-After` says, until the export timeout; other answers
//! are not retried. With cumulative temporality nothing needs queuing: the next export carries
//! every count, so memory stays flat however long the receiver is down, and nothing recorded is
//! lost once it is back. With delta temporality the baseline moves only when an export is
//! accepted, for the same result. Each export's outcome is counted in
//! `track_metrics_otlp_exports_total{result}` (`success`, `partial`, `failed`), and the points a
//! receiver rejected in `track_metrics_otlp_rejected_points_total`; failures and partial
//! successes are logged (target `track_metrics`).
//!
//! # Environment variables
//!
//! Read by [`Otlp::from_env`] and [`ExporterBuilder::otlp_from_env`](crate::ExporterBuilder::otlp_from_env),
//! each `OTEL_EXPORTER_OTLP_*` variable overridden by its `OTEL_EXPORTER_OTLP_METRICS_*` form:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` | the URL to post to, used as is | |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | the base URL, `/v1/metrics` appended | |
//! | `OTEL_EXPORTER_OTLP_HEADERS` | `key=value,...`, values percent-decoded | |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT` | milliseconds for one request | 10000 |
//! | `OTEL_EXPORTER_OTLP_COMPRESSION` | `gzip` or `none` | `none` |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` | only `http/protobuf` | `http/protobuf` |
//! | `OTEL_EXPORTER_OTLP_CERTIFICATE` | PEM file of the roots to trust (feature `otlp-tls`) | Mozilla's |
//! | `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`, `_CLIENT_KEY` | PEM files for mutual TLS | |
//! | `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` | `cumulative`, `delta`, `lowmemory` | `cumulative` |
//! | `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION` | `explicit_bucket_histogram`: native series too go with their classic buckets | exponential for native series |
//! | `OTEL_METRIC_EXPORT_INTERVAL` | milliseconds between export starts | 60000 |
//! | `OTEL_METRIC_EXPORT_TIMEOUT` | milliseconds for one export, retries included | 30000 |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource | |
//! | `OTEL_METRICS_EXPORTER` | no export unless it lists `otlp` | `otlp` |
//! | `OTEL_SDK_DISABLED` | `true`: no export | |
//!
//! A variable that is set but malformed makes `install()` fail with a message naming it, rather
//! than exporting somewhere or somehow else than meant.

mod batch;
mod convert;
mod delta;
mod env;
mod names;
pub(crate) mod proto;
mod send;
pub(crate) mod stats;
pub(crate) mod worker;

use std::time::Duration;

use crate::error::Error;

/// How long one request may take, by default (`OTEL_EXPORTER_OTLP_TIMEOUT`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one export may take, retries included, by default (`OTEL_METRIC_EXPORT_TIMEOUT`).
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(30);
/// The time between the starts of two exports, by default (`OTEL_METRIC_EXPORT_INTERVAL`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The largest request body before compression, as the OTLP specification recommends: bigger
/// exports are split into several requests.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 64 << 20;

/// Whether a counter or histogram point carries its count since the start, or since the last
/// export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Temporality {
    /// Since the start of the counts, as Prometheus and VictoriaMetrics expect (the default).
    #[default]
    Cumulative,
    /// Since the last export the receiver accepted, for backends that want deltas (Datadog,
    /// some collectors' pipelines). Gauges and summaries stay as they are.
    Delta,
}

/// An OTLP/HTTP protobuf export: where, how often, with what resource. Give it to
/// [`ExporterBuilder::otlp`](crate::ExporterBuilder::otlp).
///
/// ```
/// use std::time::Duration;
/// use track_metrics::{Otlp, Temporality};
///
/// let otlp = Otlp::new("http://127.0.0.1:4318/v1/metrics")?
///     .service_name("billing")
///     .resource_attribute("deployment.environment.name", "staging")
///     .interval(Duration::from_secs(10))
///     .temporality(Temporality::Cumulative);
/// assert_eq!(otlp.endpoint(), "http://127.0.0.1:4318/v1/metrics");
///
/// let error = Otlp::new("collector:4318").unwrap_err();
/// assert!(error.to_string().contains("must start with `http://` or `https://`"));
/// # Ok::<(), track_metrics::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Otlp {
    pub(crate) endpoint: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) request_timeout: Duration,
    pub(crate) export_timeout: Duration,
    pub(crate) interval: Duration,
    pub(crate) gzip: bool,
    pub(crate) temporality: Temporality,
    pub(crate) service_name: Option<String>,
    pub(crate) instance_id: Option<String>,
    pub(crate) resource: Vec<(String, String)>,
    pub(crate) max_request_bytes: usize,
    pub(crate) exponential_histograms: bool,
    #[cfg_attr(not(feature = "otlp-tls"), allow(dead_code))]
    pub(crate) tls: Tls,
}

/// The certificates of an `https://` endpoint, from PEM text.
#[derive(Clone, Debug, Default)]
#[cfg_attr(not(feature = "otlp-tls"), allow(dead_code))]
pub(crate) struct Tls {
    pub(crate) roots: Option<Vec<u8>>,
    pub(crate) client: Option<(Vec<u8>, Vec<u8>)>,
}

impl Otlp {
    /// An export to `url`, the full URL of the receiver's metrics path, used as is (as
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is): `http://collector:4318/v1/metrics`,
    /// `http://prometheus:9090/api/v1/otlp/v1/metrics`,
    /// `http://victoria:8428/opentelemetry/v1/metrics`.
    ///
    /// # Errors
    ///
    /// A URL that is not `http://` or `https://` with a host, or `https://` without the
    /// feature `otlp-tls`.
    ///
    /// ```
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?;
    /// assert_eq!(otlp.endpoint(), "http://collector:4318/v1/metrics");
    /// assert!(track_metrics::Otlp::new("collector:4318").is_err()); // no scheme
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn new(url: &str) -> Result<Self, Error> {
        Ok(Otlp {
            endpoint: check_url("Otlp::new", url)?,
            headers: Vec::new(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
            interval: DEFAULT_INTERVAL,
            gzip: false,
            temporality: Temporality::Cumulative,
            service_name: None,
            instance_id: None,
            resource: Vec::new(),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            exponential_histograms: true,
            tls: Tls::default(),
        })
    }

    /// The export the `OTEL_*` variables describe (see the [module](crate::otlp)), or `None`
    /// when they ask for none: no endpoint variable, `OTEL_SDK_DISABLED=true`, or an
    /// `OTEL_METRICS_EXPORTER` without `otlp`. The builder methods then change what they set.
    ///
    /// # Errors
    ///
    /// A variable that is set but malformed, named in the message.
    ///
    /// ```
    /// # unsafe { std::env::remove_var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") };
    /// # unsafe { std::env::remove_var("OTEL_SDK_DISABLED") };
    /// # unsafe { std::env::remove_var("OTEL_METRICS_EXPORTER") };
    /// unsafe { std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318") };
    /// let otlp = track_metrics::Otlp::from_env()?.expect("an endpoint is set");
    /// assert_eq!(otlp.endpoint(), "http://collector:4318/v1/metrics");
    ///
    /// unsafe { std::env::remove_var("OTEL_EXPORTER_OTLP_ENDPOINT") };
    /// assert!(track_metrics::Otlp::from_env()?.is_none());
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn from_env() -> Result<Option<Self>, Error> {
        env::read(|name| std::env::var(name).ok())
    }

    /// The URL the exports are posted to.
    ///
    /// ```
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?;
    /// assert_eq!(otlp.endpoint(), "http://collector:4318/v1/metrics");
    /// assert!(track_metrics::Otlp::new("collector:4318").is_err()); // no scheme
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Adds a header to every request, such as an API key.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .header("x-api-key", "secret");  // sent with every request
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The time between the starts of two exports: [`DEFAULT_INTERVAL`] (60 s) by default.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .interval(Duration::from_secs(15));
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// How long one request may take, from connecting to the end of the answer:
    /// [`DEFAULT_REQUEST_TIMEOUT`] (10 s) by default.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .request_timeout(Duration::from_secs(5));
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long one export may take, its retries included: [`DEFAULT_EXPORT_TIMEOUT`] (30 s)
    /// by default. It bounds [`Exporter::shutdown`](crate::Exporter::shutdown) too.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .export_timeout(Duration::from_secs(20));  // retries included
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }

    /// Compresses request bodies with gzip (off by default, as the specification's default).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .gzip(true);
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn gzip(mut self, gzip: bool) -> Self {
        self.gzip = gzip;
        self
    }

    /// Cumulative (the default) or delta counts for counters and histograms.
    ///
    /// ```
    /// use track_metrics::{Otlp, Temporality};
    ///
    /// let otlp = Otlp::new("http://collector:4318/v1/metrics")?.temporality(Temporality::Delta);
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }

    /// The resource's `service.name`, over `OTEL_SERVICE_NAME`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .service_name("checkout");  // Prometheus makes `job` of it
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn service_name(mut self, name: &str) -> Self {
        self.service_name = Some(name.to_owned());
        self
    }

    /// The resource's `service.instance.id`, instead of a random one for the process.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .service_instance_id("checkout-7f9c");  // Prometheus makes `instance` of it
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn service_instance_id(mut self, id: &str) -> Self {
        self.instance_id = Some(id.to_owned());
        self
    }

    /// Adds (or replaces) an attribute of the resource.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .resource_attribute("deployment.environment", "production");
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn resource_attribute(mut self, key: &str, value: &str) -> Self {
        self.resource.retain(|(existing, _)| existing != key);
        self.resource.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Whether series with native buckets go as exponential histograms (`true`, the default)
    /// or, like the others, as explicit-bucket histograms with their classic buckets: for a
    /// pipeline whose store has no native histograms (VictoriaMetrics turns exponential ones
    /// into its own `vmrange` buckets, which Prometheus' `histogram_quantile` cannot read).
    /// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=explicit_bucket_histogram`
    /// says `false`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .exponential_histograms(false);  // native series as classic buckets too
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn exponential_histograms(mut self, enabled: bool) -> Self {
        self.exponential_histograms = enabled;
        self
    }

    /// The largest request body before compression: [`DEFAULT_MAX_REQUEST_BYTES`] (64 MiB) by
    /// default. A bigger export goes in several requests, none bigger unless one series is.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let otlp = track_metrics::Otlp::new("http://collector:4318/v1/metrics")?
    ///     .max_request_bytes(4 << 20);  // a receiver that takes 4 MiB at most
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Trusts the certificates of this PEM (a private certificate authority) for `https://`,
    /// instead of Mozilla's roots (feature `otlp-tls`).
    ///
    /// # Errors
    ///
    /// PEM text that holds no certificate.
    ///
    /// ```no_run
    /// let ca = std::fs::read("/etc/ssl/private-ca.pem").unwrap();
    /// let otlp = track_metrics::Otlp::new("https://collector:4318/v1/metrics")?.root_certificates(&ca)?;
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "otlp-tls")]
    pub fn root_certificates(mut self, pem: &[u8]) -> Result<Self, Error> {
        send::check_certificates("Otlp::root_certificates", pem)?;
        self.tls.roots = Some(pem.to_vec());
        Ok(self)
    }

    /// Presents this certificate chain and private key (PEM) to the receiver, for mutual TLS
    /// (feature `otlp-tls`).
    ///
    /// # Errors
    ///
    /// PEM text without a certificate, or without a private key.
    ///
    /// ```no_run
    /// let chain = std::fs::read("/etc/ssl/client.pem").unwrap();
    /// let key = std::fs::read("/etc/ssl/client.key").unwrap();
    /// let otlp = track_metrics::Otlp::new("https://collector:4318/v1/metrics")?
    ///     .client_certificate(&chain, &key)?;
    /// # let _ = otlp;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "otlp-tls")]
    pub fn client_certificate(mut self, chain: &[u8], key: &[u8]) -> Result<Self, Error> {
        send::check_certificates("Otlp::client_certificate", chain)?;
        send::check_key("Otlp::client_certificate", key)?;
        self.tls.client = Some((chain.to_vec(), key.to_vec()));
        Ok(self)
    }

    /// Checks the settings that only make sense together, at `install()`.
    pub(crate) fn check(&self) -> Result<(), Error> {
        const DAY: Duration = Duration::from_secs(24 * 3600);
        const HOUR: Duration = Duration::from_secs(3600);
        if self.interval.is_zero() || self.interval > DAY {
            return Err(Error::setting(
                "Otlp::interval",
                format!(
                    "the OTLP export interval must be above zero and at most a day, not {:?}",
                    self.interval
                ),
            ));
        }
        for (setting, timeout) in [
            ("Otlp::request_timeout", self.request_timeout),
            ("Otlp::export_timeout", self.export_timeout),
        ] {
            if timeout.is_zero() || timeout > HOUR {
                return Err(Error::setting(
                    setting,
                    format!(
                        "an OTLP timeout must be above zero and at most an hour, not {timeout:?}"
                    ),
                ));
            }
        }
        if self.max_request_bytes < 1024 {
            return Err(Error::setting(
                "Otlp::max_request_bytes",
                "the largest OTLP request must be at least 1024 bytes",
            ));
        }
        if let Some(problem) = header_problem(&self.headers) {
            return Err(Error::setting("Otlp::header", problem));
        }
        Ok(())
    }
}

/// What makes one of `headers` unusable, without its value (which may be a secret).
pub(crate) fn header_problem(headers: &[(String, String)]) -> Option<String> {
    headers.iter().find_map(|(name, value)| {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            Some(format!(
                "`{name}` cannot be an HTTP header name: a name is a token (letters, digits, `-`)"
            ))
        } else if http::HeaderValue::from_str(value).is_err() {
            Some(format!(
                "the value of the header `{name}` cannot be an HTTP header value (visible ASCII; \
                 the value is not shown here, as it may be a secret)"
            ))
        } else {
            None
        }
    })
}

/// The URL if it is `http://` or `https://` (with TLS compiled in) with a host and a valid
/// port; a URL without a path gets `/`, as the specification says.
pub(crate) fn check_url(setting: &'static str, url: &str) -> Result<String, Error> {
    let invalid = |reason: String| Err(Error::setting(setting, reason));
    let uri: http::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(error) => {
            return invalid(format!(
                "the OTLP endpoint `{url}` is not a URL ({error}): expected one such as \
                 `http://collector:4318/v1/metrics`"
            ));
        }
    };
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") if cfg!(feature = "otlp-tls") => {}
        Some("https") => {
            return invalid(format!(
                "the OTLP endpoint `{url}` is https: turn on track-metrics' feature `otlp-tls` \
                 (rustls), or use http://"
            ));
        }
        _ => {
            return invalid(format!(
                "the OTLP endpoint `{url}` must start with `http://` or `https://`"
            ));
        }
    }
    let port_is_bad = uri.authority().is_some_and(|authority| {
        let host_and_port = authority.as_str().rsplit('@').next().unwrap_or_default();
        let after_host = match host_and_port.strip_prefix('[') {
            Some(bracketed) => bracketed.split_once(']').map_or("", |(_, rest)| rest),
            None => host_and_port,
        };
        after_host
            .rsplit_once(':')
            .is_some_and(|(_, port)| port.parse::<u16>().is_err())
    });
    if port_is_bad {
        return invalid(format!(
            "the OTLP endpoint `{url}` is not a URL (its port is not a number up to 65535): \
             expected one such as `http://collector:4318/v1/metrics`"
        ));
    }
    if uri.host().is_none_or(str::is_empty) || url.contains([' ', '#']) {
        return invalid(format!(
            "the OTLP endpoint `{url}` must be a URL such as `http://collector:4318/v1/metrics`"
        ));
    }
    let has_path = url
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'));
    if has_path {
        Ok(url.to_owned())
    } else if let Some((before, query)) = url.split_once('?') {
        Ok(format!("{before}/?{query}"))
    } else {
        Ok(format!("{url}/"))
    }
}

/// `base` with `path` appended to its path, before any query, as the specification builds the
/// metrics URL from `OTEL_EXPORTER_OTLP_ENDPOINT`.
pub(crate) fn append_path(base: &str, path: &str) -> String {
    let (before, query) = match base.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (base, None),
    };
    let slash = if before.ends_with('/') { "" } else { "/" };
    match query {
        Some(query) => format!("{before}{slash}{path}?{query}"),
        None => format!("{before}{slash}{path}"),
    }
}
