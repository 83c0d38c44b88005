//! Installing the exporter: the builder, the process-wide state, and the checks that the
//! instrumented functions of the whole program make sense together.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::call_site::{CALL_SITES, SiteHandles, SiteInfo};
use crate::error::Error;
use crate::exposition;
use crate::family::{DEFAULT_MAX_SERIES, Descriptor, FAMILIES, Kind};
use crate::recorder::{TrackRecorder, encode};
use crate::series::{Counter, Gauge, Histogram};

/// The histogram buckets of prometheus_client, in seconds: what a duration histogram uses unless
/// told otherwise.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The address `install()` listens on when neither the builder nor `TRACK_METRICS_ADDR` says.
#[cfg(feature = "http")]
pub const DEFAULT_ADDR: &str = "127.0.0.1:9000";

/// The environment variable that overrides [`DEFAULT_ADDR`].
#[cfg(feature = "http")]
pub const ADDR_VARIABLE: &str = "TRACK_METRICS_ADDR";

/// Labels `#[track_metrics]` puts on every series.
const AUTOMATIC_LABELS: [&str; 2] = ["function", "module"];

static INSTALLED: OnceLock<Installed> = OnceLock::new();
static INSTALLING: Mutex<()> = Mutex::new(());

/// The installed recorder, once `install()` has succeeded.
pub(crate) fn installed() -> Option<&'static Installed> {
    INSTALLED.get()
}

/// What `install()` set up, for the rest of the process.
pub(crate) struct Installed {
    handle: PrometheusHandle,
    /// Global labels, as given: the declared families' writer escapes them itself.
    global_labels: Vec<(String, String)>,
    default_buckets: Vec<f64>,
    /// Bucket layouts by family name, from the builder and the declarations.
    family_buckets: HashMap<String, Vec<f64>>,
    max_series: usize,
    /// Every `#[track_metrics]` function keeps an in-flight gauge.
    in_flight: bool,
    #[cfg_attr(not(feature = "process"), allow(dead_code))]
    process_metrics: bool,
}

/// The bucket bounds of a declared histogram: its own, else the builder's for its name, else
/// the builder's default, else [`DEFAULT_BUCKETS`] (before `install()`).
pub(crate) fn histogram_bounds(descriptor: &'static Descriptor) -> Cow<'static, [f64]> {
    if !descriptor.buckets.is_empty() {
        return Cow::Borrowed(descriptor.buckets);
    }
    match installed() {
        Some(installed) => Cow::Owned(installed.buckets_of(descriptor.name).to_vec()),
        None => Cow::Borrowed(DEFAULT_BUCKETS),
    }
}

/// The series limit of a declared family: its own, else the builder's, else the default.
pub(crate) fn max_series(descriptor: &Descriptor) -> usize {
    if descriptor.max_series > 0 {
        return descriptor.max_series;
    }
    installed().map_or(DEFAULT_MAX_SERIES, |installed| installed.max_series)
}

impl Installed {
    /// The bucket layout of a histogram family: its own, else the default.
    fn buckets_of(&self, family: &str) -> &[f64] {
        self.family_buckets
            .get(family)
            .unwrap_or(&self.default_buckets)
    }

    pub(crate) fn site_handles(&self, info: &'static SiteInfo) -> SiteHandles {
        SiteHandles {
            clock: crate::clock::clock(),
            calls: Counter::default(),
            duration: Histogram::with_bounds(Cow::Owned(self.buckets_of(info.duration).to_vec())),
            in_flight: (info.track_in_flight || self.in_flight).then(Gauge::default),
            errors: std::sync::RwLock::new(Vec::new()),
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        crate::site_families::render(&mut text, &self.global_labels);
        #[cfg(feature = "process")]
        if self.process_metrics {
            crate::process::render(&mut text, &self.global_labels);
        }
        for family in FAMILIES.iter() {
            family.render(&mut text, &self.global_labels);
        }
        text.push_str(&self.handle.render());
        exposition::finish(&text)
    }
}

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
    metric_buckets: Vec<(String, Vec<f64>)>,
    max_series: usize,
    in_flight: bool,
    process_metrics: bool,
    upkeep_interval: Duration,
}

impl Default for ExporterBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ExporterBuilder {
    /// The defaults: listen on `TRACK_METRICS_ADDR` or `127.0.0.1:9000`, serve `/metrics`,
    /// [`DEFAULT_BUCKETS`], upkeep every 5 seconds.
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
            metric_buckets: Vec::new(),
            max_series: DEFAULT_MAX_SERIES,
            in_flight: false,
            process_metrics: cfg!(feature = "process"),
            upkeep_interval: Duration::from_secs(5),
        }
    }

    /// Listens on `host:port` (port 0 picks a free port), whatever `TRACK_METRICS_ADDR` says.
    #[cfg(feature = "http")]
    pub fn listen_address(mut self, address: impl Into<String>) -> Self {
        self.listen = Listen::Address(address.into());
        self
    }

    /// The path the endpoint serves; `/metrics` by default.
    #[cfg(feature = "http")]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Answers only requests with `Authorization: Bearer <token>`; others get 401.
    #[cfg(feature = "http")]
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.endpoint.bearer_token = Some(token.into());
        self
    }

    /// Answers only requests with this HTTP basic authentication; others get 401.
    #[cfg(feature = "http")]
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.endpoint.basic_auth = Some((user.into(), password.into()));
        self
    }

    /// Answers only clients in this network (`10.0.0.0/8`, `192.168.1.7`, `::1`); others get
    /// 403. Call it once per network; with none, every client that reaches the port is answered.
    #[cfg(feature = "http")]
    pub fn allow_network(mut self, network: impl Into<String>) -> Self {
        self.endpoint.allowed_networks.push(network.into());
        self
    }

    /// How many scrapes may be rendered at once; more get 503. 4 by default.
    #[cfg(feature = "http")]
    pub fn max_concurrent_scrapes(mut self, limit: usize) -> Self {
        self.endpoint.max_concurrent_scrapes = limit;
        self
    }

    /// How long a client has to send its request headers; 10 seconds by default.
    #[cfg(feature = "http")]
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.header_timeout = timeout;
        self
    }

    /// How long one connection may last, whatever it does; 60 seconds by default.
    #[cfg(feature = "http")]
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.connection_timeout = timeout;
        self
    }

    /// Starts no HTTP listener: the exposition is only available from [`crate::render`], to be
    /// served by the application's own web framework.
    pub fn without_listener(mut self) -> Self {
        self.listen = Listen::Disabled;
        self
    }

    /// Adds a label to every series, such as `service="checkout"`.
    pub fn global_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.global_labels.push((name.into(), value.into()));
        self
    }

    /// The buckets of every histogram that has no buckets of its own; [`DEFAULT_BUCKETS`] by
    /// default.
    pub fn default_buckets(mut self, bounds: &[f64]) -> Self {
        self.default_buckets = bounds.to_vec();
        self
    }

    /// The buckets of one histogram family, by its full name.
    pub fn buckets_for(mut self, metric: impl Into<String>, bounds: &[f64]) -> Self {
        self.metric_buckets.push((metric.into(), bounds.to_vec()));
        self
    }

    /// How many label sets a family declared with `metrics!` keeps before folding new ones into
    /// its overflow series, unless its declaration says `#[max_series(...)]`;
    /// [`DEFAULT_MAX_SERIES`](crate::DEFAULT_MAX_SERIES) by default.
    pub fn max_series(mut self, limit: usize) -> Self {
        self.max_series = limit;
        self
    }

    /// Gives every `#[track_metrics]` function the in-flight gauge
    /// (`function_calls_in_flight`), as `#[track_metrics(in_flight)]` does for one.
    pub fn in_flight(mut self, enabled: bool) -> Self {
        self.in_flight = enabled;
        self
    }

    /// Whether the exposition includes the standard `process_*` metrics (feature `process`, on
    /// by default).
    #[cfg(feature = "process")]
    pub fn process_metrics(mut self, enabled: bool) -> Self {
        self.process_metrics = enabled;
        self
    }

    /// How often histogram samples are folded into their buckets when nobody scrapes, which
    /// bounds their memory; 5 seconds by default.
    pub fn upkeep_interval(mut self, interval: Duration) -> Self {
        self.upkeep_interval = interval;
        self
    }

    /// Installs the global recorder and starts the endpoint.
    ///
    /// # Errors
    ///
    /// Any inconsistent setting, a listen address that is invalid or in use, a second call in the
    /// process, or another recorder already installed. Nothing keeps running after an error.
    pub fn install(self) -> Result<Exporter, Error> {
        let _one_at_a_time = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
        if INSTALLED.get().is_some() {
            return Err(Error::AlreadyInstalled);
        }
        if self.max_series == 0 {
            return Err(Error::Config("`max_series` must be at least 1".to_owned()));
        }
        let sites = Sites::check(&CALL_SITES, &self.global_labels)?;
        // Calibrated here, so that no call pays for it.
        let _ = crate::clock::clock();
        let reserved = check_families(&sites, &self.global_labels, self.process_metrics)?;
        let buckets = self.family_buckets(&sites)?;
        let prometheus = self.prometheus_builder(buckets.clone())?;
        let recorder = Arc::new(TrackRecorder::new(prometheus.build_recorder(), reserved));
        let handle = recorder.handle();

        let listener = self.bind()?;
        #[cfg(feature = "http")]
        let local_addr = listener.as_ref().map(|listener| listener.local_addr);
        #[cfg(not(feature = "http"))]
        let local_addr = None;
        let started =
            crate::background::Started::spawn(handle.clone(), self.upkeep_interval, listener)?;

        if metrics::set_global_recorder(Arc::clone(&recorder)).is_err() {
            return Err(Error::RecorderAlreadySet);
        }
        let installed = INSTALLED.get_or_init(|| Installed {
            handle,
            global_labels: self.global_labels.clone(),
            default_buckets: self.default_buckets.clone(),
            family_buckets: buckets.into_iter().collect(),
            max_series: self.max_series,
            in_flight: self.in_flight,
            process_metrics: self.process_metrics,
        });
        sites.register(installed);
        started.run();
        Ok(Exporter {
            local_addr,
            path: self.path,
        })
    }

    #[cfg(feature = "http")]
    fn bind(&self) -> Result<Option<crate::serve::Listener>, Error> {
        let (value, origin) = match &self.listen {
            Listen::Disabled => return Ok(None),
            Listen::Address(value) => (value.clone(), "ExporterBuilder::listen_address"),
            Listen::Default => match std::env::var(ADDR_VARIABLE) {
                Ok(value) if !value.trim().is_empty() => (value, ADDR_VARIABLE),
                _ => (DEFAULT_ADDR.to_owned(), "the default"),
            },
        };
        let settings = crate::serve::Settings {
            path: self.path.clone(),
            ..self.endpoint.clone()
        };
        crate::serve::Listener::bind(&value, origin, &settings).map(Some)
    }

    #[cfg(not(feature = "http"))]
    fn bind(&self) -> Result<Option<std::convert::Infallible>, Error> {
        Ok(None)
    }

    /// The bucket layout of each duration family: one per family, since Prometheus aggregates a
    /// histogram's series by `le` and the exporter keeps one layout per name.
    fn family_buckets(&self, sites: &Sites) -> Result<Vec<(String, Vec<f64>)>, Error> {
        check_buckets("the default buckets", &self.default_buckets)?;
        let mut layouts: HashMap<&str, (&[f64], String)> = HashMap::new();
        for (metric, bounds) in &self.metric_buckets {
            check_metric_name(metric, "buckets_for")?;
            check_buckets(&format!("the buckets of `{metric}`"), bounds)?;
            layouts.insert(metric, (bounds, "ExporterBuilder::buckets_for".to_owned()));
        }
        let declared = FAMILIES
            .iter()
            .map(|family| family.descriptor())
            .filter(|descriptor| {
                descriptor.kind == Kind::Histogram && !descriptor.buckets.is_empty()
            })
            .map(|descriptor| (descriptor.name, descriptor.buckets, descriptor.describe()));
        let from_sites = sites
            .infos
            .iter()
            .filter(|info| !info.buckets.is_empty())
            .map(|info| (info.duration, info.buckets, info.describe()));
        for (family, bounds, declared_by) in declared.chain(from_sites) {
            match layouts.get(family) {
                Some((first_bounds, first)) if *first_bounds != bounds => {
                    return Err(Error::Config(format!(
                        "{first} and {declared_by} give `{family}` different buckets \
                         ({first_bounds:?} and {bounds:?}): a histogram family has one bucket \
                         layout, so give one of them its own name, or the same buckets"
                    )));
                }
                Some(_) => {}
                None => {
                    layouts.insert(family, (bounds, declared_by));
                }
            }
        }
        Ok(layouts
            .into_iter()
            .map(|(name, (bounds, _))| (name.to_owned(), bounds.to_vec()))
            .collect())
    }

    fn prometheus_builder(
        &self,
        buckets: Vec<(String, Vec<f64>)>,
    ) -> Result<PrometheusBuilder, Error> {
        let exporter_error =
            |error: metrics_exporter_prometheus::BuildError| Error::Config(error.to_string());
        let mut builder = PrometheusBuilder::new()
            .set_buckets(&self.default_buckets)
            .map_err(exporter_error)?;
        for (metric, bounds) in buckets {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(metric), &bounds)
                .map_err(exporter_error)?;
        }
        for (index, (name, value)) in self.global_labels.iter().enumerate() {
            check_global_label(name)?;
            if self.global_labels[..index]
                .iter()
                .any(|(earlier, _)| earlier == name)
            {
                return Err(Error::Config(format!(
                    "the global label `{name}` is set twice"
                )));
            }
            builder = builder.add_global_label(name.clone(), encode(value).into_owned());
        }
        Ok(builder)
    }
}

/// The call sites of the program, checked to produce distinct series.
struct Sites {
    infos: Vec<&'static SiteInfo>,
}

impl Sites {
    fn check(
        sites: &'static [crate::call_site::CallSite],
        global_labels: &[(String, String)],
    ) -> Result<Self, Error> {
        let infos: Vec<&'static SiteInfo> = sites.iter().map(|site| site.info()).collect();
        let mut series: HashMap<String, &SiteInfo> = HashMap::new();
        for info in &infos {
            if let Some((name, _)) = global_labels
                .iter()
                .find(|(name, _)| info.labels.iter().any(|(label, _)| label == name))
            {
                return Err(Error::Config(format!(
                    "{} sets the label `{name}`, which is also a global label: rename one of them",
                    info.describe()
                )));
            }
            let mut labels: Vec<_> = info.labels.to_vec();
            labels.sort_unstable();
            let mut key = format!(
                "{}{{function={:?},module={:?}",
                info.calls, info.function, info.module
            );
            for (name, value) in labels {
                let _ = write!(key, ",{name}={value:?}");
            }
            key.push('}');
            if let Some(first) = series.insert(key.clone(), info) {
                return Err(Error::Config(format!(
                    "{} and {} both record the series `{key}`: give one of them a distinct \
                     `#[track_metrics(name = \"...\")]`",
                    first.describe(),
                    info.describe()
                )));
            }
        }
        Ok(Sites { infos })
    }

    /// Gives every site its series, so that all show with zero counts from the first scrape.
    fn register(&self, installed: &Installed) {
        for site in CALL_SITES.iter() {
            site.register(installed);
        }
    }
}

/// Checks that every family of the program has names of its own, including the series names
/// Prometheus derives from them (`_bucket`, `_sum`, `_count`, and a counter's name without
/// `_total`). Returns the sample names of all these families, which the `metrics` facade may
/// then not register, since the two would render as two families of one name.
fn check_families(
    sites: &Sites,
    global_labels: &[(String, String)],
    process_metrics: bool,
) -> Result<HashSet<String>, Error> {
    let mut families: Vec<(&str, Kind, String)> = Vec::new();
    let mut site_families = HashSet::new();
    let mut reserved = HashSet::new();
    for info in &sites.infos {
        let site_parts = [
            (info.calls, Kind::Counter),
            (info.duration, Kind::Histogram),
            (info.errors, Kind::Counter),
            (info.in_flight, Kind::Gauge),
        ];
        for (name, kind) in site_parts {
            if site_families.insert(name) {
                families.push((
                    name,
                    kind,
                    format!("`#[track_metrics]` on {}", info.describe()),
                ));
                reserved.extend(kind.sample_names(name));
            }
        }
    }
    #[cfg(feature = "process")]
    if process_metrics {
        for name in crate::process::NAMES {
            let kind = if name.ends_with("_total") {
                Kind::Counter
            } else {
                Kind::Gauge
            };
            families.push((
                name,
                kind,
                "the process metrics (`ExporterBuilder::process_metrics`)".to_owned(),
            ));
            reserved.extend(kind.sample_names(name));
        }
    }
    #[cfg(not(feature = "process"))]
    let _ = process_metrics;
    let mut declared: HashMap<&str, String> = HashMap::new();
    for descriptor in FAMILIES.iter().map(|family| family.descriptor()) {
        if let Some(first) = declared.insert(descriptor.name, descriptor.describe()) {
            return Err(Error::Config(format!(
                "the metric `{}` is declared twice, at {first} and at {}: a name belongs to one \
                 declaration in the whole program",
                descriptor.name,
                descriptor.describe()
            )));
        }
        if let Some((label, _)) = global_labels
            .iter()
            .find(|(label, _)| descriptor.labels.contains(&label.as_str()))
        {
            return Err(Error::Config(format!(
                "{} has a label `{label}`, which is also a global label: rename one of them",
                descriptor.describe()
            )));
        }
        families.push((descriptor.name, descriptor.kind, descriptor.describe()));
        reserved.extend(descriptor.kind.sample_names(descriptor.name));
    }
    let mut claimed: HashMap<String, usize> = HashMap::new();
    for (index, (name, kind, owner)) in families.iter().enumerate() {
        for sample in kind.sample_names(name) {
            match claimed.get(&sample) {
                Some(&other) if other != index => {
                    let (other_name, _, other_owner) = &families[other];
                    return Err(Error::Config(format!(
                        "{other_owner} and {owner} both write series named `{sample}` (families \
                         `{other_name}` and `{name}`): rename one of them"
                    )));
                }
                _ => {
                    claimed.insert(sample, index);
                }
            }
        }
    }
    Ok(reserved)
}

fn check_metric_name(name: &str, setting: &str) -> Result<(), Error> {
    if crate::text::is_label_name(name) {
        return Ok(());
    }
    Err(Error::Config(format!(
        "`{name}` given to `{setting}` is not a metric name: it must match `[a-zA-Z_][a-zA-Z0-9_]*`"
    )))
}

fn check_global_label(name: &str) -> Result<(), Error> {
    let problem = if !crate::text::is_label_name(name) {
        "a label name must match `[a-zA-Z_][a-zA-Z0-9_]*`"
    } else if name.starts_with("__") {
        "names starting with `__` are reserved for Prometheus"
    } else if name == "le" || name == "quantile" {
        "`le` and `quantile` are reserved for histogram buckets and summary quantiles"
    } else if AUTOMATIC_LABELS.contains(&name) {
        "`#[track_metrics]` sets `function` and `module` on its series itself"
    } else {
        return Ok(());
    };
    Err(Error::Config(format!(
        "invalid global label `{name}`: {problem}"
    )))
}

fn check_buckets(what: &str, bounds: &[f64]) -> Result<(), Error> {
    let problem = if bounds.is_empty() {
        "there must be at least one bound".to_owned()
    } else if let Some(bound) = bounds.iter().find(|bound| !bound.is_finite()) {
        format!("`{bound}` is not finite; `+Inf` is always added as the last bucket")
    } else if let Some(pair) = bounds.windows(2).find(|pair| pair[0] >= pair[1]) {
        format!(
            "they must be strictly increasing, and `{}` does not come after `{}`",
            pair[1], pair[0]
        )
    } else {
        return Ok(());
    };
    Err(Error::Config(format!(
        "invalid {what} {bounds:?}: {problem}"
    )))
}
