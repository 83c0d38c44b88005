//! The `metrics` facade on the same storage: the global recorder that `install()` sets, so that
//! `metrics::counter!`, `gauge!` and `histogram!` from any crate of the program land in the
//! same per-thread cells as everything else, and in the same scrape.
//!
//! Handles are kept in `metrics_util`'s sharded [`Registry`], by key, so that a repeated
//! registration is one read-locked lookup. What reaches the facade is not checked at compile
//! time, so a new key is checked here first: its name and label names are sanitised as
//! metrics-exporter-prometheus does (so a service moving from it keeps its series names; a
//! counter without `_total` is written `name_total`, as OpenMetrics requires, unless the builder
//! keeps counter names), then refused if the name is one of the families that exist (this
//! crate's, the declared ones, the axum layer's once it is used) or another facade family's
//! (after sanitising, or as another kind), or if a label is reserved (`le` on a histogram,
//! `quantile` on a summary, `__*`, empty), a global label, or repeated. A refused key records nothing: it is counted in
//! `track_metrics_facade_refused_total{reason}` and reported once through `log`, and the rest
//! of the scrape stays valid. A family keeps at most its series limit of label sets, as declared
//! families do; keys past it share the overflow series and are not kept in the registry, so
//! hostile label values cannot grow memory.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use metrics::{Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::registry::{Registry, Storage};

use crate::model::kind::Kind;
use crate::model::names::escaped_sample_names;
use crate::model::names::{
    Escaping, OVERFLOW_LABEL, OVERFLOW_LABEL_VALUE, escape, label_problem_for,
};
use crate::model::snapshot::{FamilySnapshot, SeriesSnapshot, Value};
use crate::state::Settings;
use crate::storage::counter::Counter;
use crate::storage::gauge::Gauge;
use crate::storage::histogram::Histogram;
use crate::storage::summary::Summary;
use crate::storage::{facade_cache, reentry};

/// Distinct names whose refusal is logged; later ones are only counted.
const MAX_WARNINGS: usize = 64;
/// Distinct facade families kept; further names are refused. With the series limit, this
/// bounds what the facade can hold whatever it is fed.
const MAX_FAMILIES: usize = 1_000;
/// Descriptions kept for names not registered yet.
const MAX_DESCRIPTIONS: usize = 10_000;

static FACADE: OnceLock<&'static Facade> = OnceLock::new();

/// The HELP of a facade metric never described with `metrics::describe_*!`: promtool's lint
/// wants one on every family.
const UNDESCRIBED: &str = "Recorded through the metrics facade, without a description";

/// Why a key was refused: the `reason` label of `track_metrics_facade_refused_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    InvalidName,
    ReservedName,
    NameClash,
    KindConflict,
    ReservedLabel,
    DuplicateLabel,
    GlobalLabel,
    TooManyFamilies,
}

const REFUSALS: [Refusal; 8] = [
    Refusal::InvalidName,
    Refusal::ReservedName,
    Refusal::NameClash,
    Refusal::KindConflict,
    Refusal::ReservedLabel,
    Refusal::DuplicateLabel,
    Refusal::GlobalLabel,
    Refusal::TooManyFamilies,
];

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::InvalidName => "invalid_name",
            Refusal::ReservedName => "reserved_name",
            Refusal::NameClash => "name_clash",
            Refusal::KindConflict => "kind_conflict",
            Refusal::ReservedLabel => "reserved_label",
            Refusal::DuplicateLabel => "duplicate_label",
            Refusal::GlobalLabel => "global_label",
            Refusal::TooManyFamilies => "too_many_families",
        }
    }

    fn explain(self) -> &'static str {
        match self {
            Refusal::InvalidName => {
                "its name is empty once sanitised, or starts with `__`, which Prometheus reserves"
            }
            Refusal::ReservedName => {
                "its name, once sanitised, is a family of `#[track_metrics]`, `metrics!`, the \
                 process metrics or track_metrics itself"
            }
            Refusal::NameClash => {
                "once sanitised, its name or one of its series names is another facade metric's"
            }
            Refusal::KindConflict => "its name is already used by a metric of another kind",
            Refusal::ReservedLabel => {
                "a label name is reserved (`le` on a histogram, `quantile` on a summary, `__*`, \
                 empty, `track_metrics_overflow`)"
            }
            Refusal::DuplicateLabel => "two of its label names are the same once sanitised",
            Refusal::GlobalLabel => "a label name is one of the global labels",
            Refusal::TooManyFamilies => "the facade already holds 1,000 metric names",
        }
    }
}

/// A facade counter: the total, plus what `absolute` raised it by.
pub(crate) struct CounterHandle {
    counter: Counter,
    raised: AtomicU64,
}

impl CounterHandle {
    fn get(&self) -> u64 {
        self.counter
            .get()
            .saturating_add(self.raised.load(Ordering::Relaxed))
    }
}

impl metrics::CounterFn for CounterHandle {
    fn increment(&self, value: u64) {
        self.counter.inc_by(value);
    }

    fn absolute(&self, value: u64) {
        // Raises the total to at least `value`; concurrent increments may make it a bit more.
        let current = self.get();
        if value > current {
            self.raised.fetch_add(value - current, Ordering::Relaxed);
        }
    }
}

/// A facade gauge.
pub(crate) struct GaugeHandle(Gauge);

impl metrics::GaugeFn for GaugeHandle {
    fn increment(&self, value: f64) {
        self.0.add(value);
    }

    fn decrement(&self, value: f64) {
        self.0.sub(value);
    }

    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

/// A facade histogram: a histogram of the family's buckets, or a summary when the builder makes
/// facade histograms without buckets of their own summaries (as metrics-exporter-prometheus).
pub(crate) enum HistogramHandle {
    Buckets(Histogram),
    Quantiles(Box<Summary>),
}

impl metrics::HistogramFn for HistogramHandle {
    fn record(&self, value: f64) {
        match self {
            HistogramHandle::Buckets(histogram) => histogram.observe(value),
            HistogramHandle::Quantiles(summary) => summary.observe(value),
        }
    }

    fn record_many(&self, value: f64, count: usize) {
        match self {
            HistogramHandle::Buckets(histogram) => histogram.observe_many(value, count as u64),
            HistogramHandle::Quantiles(summary) => summary.observe_many(value, count as u64),
        }
    }
}

/// The quantiles and window of a facade summary: metrics-exporter-prometheus's.
pub(crate) const SUMMARY_QUANTILES: &[f64] = &[0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];
const SUMMARY_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// A series of the facade, of any kind.
#[derive(Clone)]
enum Handle {
    Counter(Arc<CounterHandle>),
    Gauge(Arc<GaugeHandle>),
    Histogram(Arc<HistogramHandle>),
}

impl Handle {
    /// A new series of a family of `kind`, not yet in any family.
    fn new(kind: Kind, bounds: &'static [f64]) -> Self {
        match kind {
            Kind::Gauge => Handle::Gauge(Arc::new(GaugeHandle(Gauge::new()))),
            Kind::Histogram => {
                Handle::Histogram(Arc::new(HistogramHandle::Buckets(Histogram::new(bounds))))
            }
            Kind::Summary => Handle::Histogram(Arc::new(HistogramHandle::Quantiles(Box::new(
                Summary::new(SUMMARY_QUANTILES, SUMMARY_WINDOW),
            )))),
            _ => Handle::Counter(Arc::new(CounterHandle {
                counter: Counter::new(),
                raised: AtomicU64::new(0),
            })),
        }
    }

    fn value(&self) -> Value {
        match self {
            Handle::Counter(handle) => Value::Int(handle.get()),
            Handle::Gauge(handle) => Value::Float(handle.0.get()),
            Handle::Histogram(handle) => match &**handle {
                HistogramHandle::Buckets(histogram) => histogram.value(),
                HistogramHandle::Quantiles(summary) => summary.value(),
            },
        }
    }
}

/// The labels of a series, as written.
type Labels = Vec<(&'static str, Cow<'static, str>)>;

/// The labels of a key once sanitised, before the key is admitted: nothing is kept of a key that
/// is refused or overflows.
type KeyLabels = Vec<(String, String)>;

/// What makes two keys one series: their labels with a value, in name order (Prometheus ignores
/// the order of labels, and reads an empty value as no label), names as a scrape that allows no
/// UTF-8 writes them: `queue.name` and `queue_name` would be one series there, so they are one
/// everywhere (the first key's spelling is kept), as in metrics-exporter-prometheus.
fn identity(labels: &KeyLabels) -> KeyLabels {
    let mut identity: KeyLabels = labels
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| {
            (
                escape(name, Escaping::Underscores, true).into_owned(),
                value.clone(),
            )
        })
        .collect();
    identity.sort_unstable();
    identity
}

struct FacadeFamily {
    kind: Kind,
    bounds: &'static [f64],
    series: Vec<(Labels, Handle)>,
    by_identity: HashMap<KeyLabels, usize>,
    overflow: Option<(Labels, Handle)>,
    overflowed: u64,
}

impl FacadeFamily {
    /// The series of `labels`: an existing one, a new one, or the overflow series past `limit`.
    fn series(&mut self, labels: KeyLabels, limit: usize) -> Handle {
        let identity = identity(&labels);
        if let Some(index) = self.by_identity.get(&identity) {
            return self.series[*index].1.clone();
        }
        if self.series.len() >= limit {
            return self.overflow(&labels);
        }
        let handle = Handle::new(self.kind, self.bounds);
        self.by_identity.insert(identity, self.series.len());
        let labels = labels
            .into_iter()
            .map(|(name, value)| (intern(name), Cow::Owned(value)))
            .collect();
        self.series.push((labels, handle.clone()));
        handle
    }

    fn overflow(&mut self, labels: &KeyLabels) -> Handle {
        self.overflowed += 1;
        let (kind, bounds) = (self.kind, self.bounds);
        let (_, handle) = self.overflow.get_or_insert_with(|| {
            let mut marked: Labels = labels
                .iter()
                .map(|(name, _)| (intern(name.clone()), Cow::Borrowed(OVERFLOW_LABEL_VALUE)))
                .collect();
            marked.push((OVERFLOW_LABEL, Cow::Borrowed("true")));
            (marked, Handle::new(kind, bounds))
        });
        handle.clone()
    }
}

#[derive(Default)]
struct Families {
    by_name: HashMap<&'static str, FacadeFamily>,
    /// Every sample name of a facade family, and whose it is.
    samples: HashMap<String, &'static str>,
    /// Sample names of every family that is not the facade's and exists.
    reserved: HashSet<String>,
    descriptions: HashMap<String, SharedString>,
    warned: HashSet<String>,
}

/// Where a key's series goes, once checked.
struct Target {
    name: String,
    /// The family's kind (a histogram registration may go to a summary family).
    kind: Kind,
    exists: bool,
    labels: KeyLabels,
}

/// What the registry's storage is: the families, their checks, and the settings.
pub(crate) struct Store {
    families: Mutex<Families>,
    global_labels: Vec<String>,
    settings: &'static Settings,
    refused: [AtomicU64; REFUSALS.len()],
}

impl Store {
    fn families(&self) -> std::sync::MutexGuard<'_, Families> {
        self.families.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The kind of the family a key registered as `registered` goes to: a histogram is a
    /// summary when the builder asks for summaries and names no buckets for it.
    fn family_kind(&self, registered: Kind, name: &str) -> Kind {
        if registered == Kind::Histogram
            && self.settings.facade_summaries
            && !self.settings.family_buckets.contains_key(name)
            && !self
                .settings
                .family_buckets
                .contains_key(escape(name, Escaping::Underscores, false).as_ref())
        {
            Kind::Summary
        } else {
            registered
        }
    }

    /// The sample names a family of `kind` named `name` writes under every escaping scheme,
    /// each marked with its scheme: two families never meet in any one scrape.
    fn samples_everywhere(kind: Kind, name: &str) -> Vec<String> {
        Escaping::ALL
            .into_iter()
            .flat_map(|escaping| {
                escaped_sample_names(kind, name, escaping)
                    .into_iter()
                    .map(move |sample| format!("{escaping:?}:{sample}"))
            })
            .collect()
    }

    /// Checks `key` for a family of `kind`: where its series goes, or why it cannot.
    ///
    /// Names are kept as they are, the metric's and the labels': a scraper that allows UTF-8
    /// gets them so, quoted, the others escaped (to underscores by default, as
    /// metrics-exporter-prometheus writes them).
    fn check(&self, families: &Families, key: &Key, registered: Kind) -> Result<Target, Refusal> {
        let name = key.name();
        // `__` names are Prometheus's own, as for labels.
        let underscored = escape(name, Escaping::Underscores, false);
        if name.is_empty() || underscored.starts_with("__") {
            return Err(Refusal::InvalidName);
        }
        let kind = self.family_kind(registered, name);
        if Escaping::ALL.into_iter().any(|escaping| {
            escaped_sample_names(kind, name, escaping)
                .iter()
                .any(|sample| families.reserved.contains(sample))
        }) {
            return Err(Refusal::ReservedName);
        }
        let mut labels: KeyLabels = Vec::new();
        for label in key.labels() {
            let label_name = label.key();
            let underscored = escape(label_name, Escaping::Underscores, true);
            // Checked as the scrapes that allow no UTF-8 get it: those rules are Prometheus's.
            if label_problem_for(kind, &underscored).is_some() {
                return Err(Refusal::ReservedLabel);
            }
            if self
                .global_labels
                .iter()
                .any(|global| *global == underscored || global == label_name)
            {
                return Err(Refusal::GlobalLabel);
            }
            // Two names that one scheme writes alike would be one label in that scrape.
            let meet = |existing: &str| {
                Escaping::ALL.into_iter().any(|escaping| {
                    escape(existing, escaping, true) == escape(label_name, escaping, true)
                })
            };
            if labels.iter().any(|(existing, _)| meet(existing)) {
                return Err(Refusal::DuplicateLabel);
            }
            labels.push((label_name.to_owned(), label.value().to_owned()));
        }
        match families.by_name.get_key_value(name) {
            Some((name, family)) => {
                if family.kind != kind {
                    Err(Refusal::KindConflict)
                } else {
                    Ok(Target {
                        name: (*name).to_owned(),
                        kind,
                        exists: true,
                        labels,
                    })
                }
            }
            None if Self::samples_everywhere(kind, name)
                .iter()
                .any(|sample| families.samples.contains_key(sample)) =>
            {
                Err(Refusal::NameClash)
            }
            None if families.by_name.len() >= MAX_FAMILIES => Err(Refusal::TooManyFamilies),
            None => Ok(Target {
                name: name.to_owned(),
                kind,
                exists: false,
                labels,
            }),
        }
    }

    /// Counts a refusal; the warning to log, if this key's is the first, is the caller's to log
    /// once the families' lock is released (a logger may record through the facade).
    fn refuse(&self, families: &mut Families, key: &Key, refusal: Refusal) -> Option<String> {
        let index = REFUSALS
            .iter()
            .position(|known| *known == refusal)
            .unwrap_or_default();
        self.refused[index].fetch_add(1, Ordering::Relaxed);
        if families.warned.len() > MAX_WARNINGS || !families.warned.insert(key.name().to_owned()) {
            return None;
        }
        Some(if families.warned.len() > MAX_WARNINGS {
            "more `metrics` facade keys were refused; they are only counted in \
             `track_metrics_facade_refused_total`"
                .to_owned()
        } else {
            format!(
                "the `metrics` facade key `{}` records nothing: {}. Its operations are counted \
                 in `track_metrics_facade_refused_total{{reason=\"{}\"}}`",
                key.name(),
                refusal.explain(),
                refusal.reason()
            )
        })
    }

    /// Decides what a registration gets before it reaches the registry: `None` when the key
    /// may be kept there, else the handle to return without keeping it (the overflow series),
    /// or `Some(None)` for a refused key.
    fn admit(&self, key: &Key, kind: Kind) -> Option<Option<Handle>> {
        let mut families = self.families();
        match self.check(&families, key, kind) {
            Err(refusal) => {
                let warning = self.refuse(&mut families, key, refusal);
                drop(families);
                if let Some(warning) = warning {
                    log::warn!("{warning}");
                }
                Some(None)
            }
            Ok(Target {
                name,
                exists: true,
                labels,
                ..
            }) => {
                let limit = self.settings.max_series;
                let family = families.by_name.get_mut(name.as_str())?;
                let full = family.series.len() >= limit
                    && !family.by_identity.contains_key(&identity(&labels));
                full.then(|| Some(family.overflow(&labels)))
            }
            Ok(_) => None,
        }
    }

    /// Creates the series of an admitted key: called by the registry, under its lock, once per
    /// key. A key that a concurrent registration made invalid meanwhile gets a series that no
    /// scrape shows.
    fn create(&self, key: &Key, kind: Kind) -> Handle {
        let mut families = self.families();
        let target = match self.check(&families, key, kind) {
            Ok(target) => target,
            Err(refusal) => {
                let warning = self.refuse(&mut families, key, refusal);
                drop(families);
                if let Some(warning) = warning {
                    log::warn!("{warning}");
                }
                return Handle::new(kind, &[]);
            }
        };
        let name = intern(target.name);
        let kind = target.kind;
        if !target.exists {
            for sample in Self::samples_everywhere(kind, name) {
                families.samples.insert(sample, name);
            }
        }
        let settings = self.settings;
        families
            .by_name
            .entry(name)
            .or_insert_with(|| FacadeFamily {
                kind,
                bounds: settings.facade_buckets_of(name),
                series: Vec::new(),
                by_identity: HashMap::new(),
                overflow: None,
                overflowed: 0,
            })
            .series(target.labels, settings.max_series)
    }
}

/// A label or metric name, kept for the rest of the process: names are few and reused.
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = name.leak();
    names.insert(leaked);
    leaked
}

impl Storage<Key> for Store {
    type Counter = Arc<CounterHandle>;
    type Gauge = Arc<GaugeHandle>;
    type Histogram = Arc<HistogramHandle>;

    fn counter(&self, key: &Key) -> Self::Counter {
        match self.create(key, Kind::Counter) {
            Handle::Counter(handle) => handle,
            _ => unreachable!("a counter family holds counters"),
        }
    }

    fn gauge(&self, key: &Key) -> Self::Gauge {
        match self.create(key, Kind::Gauge) {
            Handle::Gauge(handle) => handle,
            _ => unreachable!("a gauge family holds gauges"),
        }
    }

    fn histogram(&self, key: &Key) -> Self::Histogram {
        match self.create(key, Kind::Histogram) {
            Handle::Histogram(handle) => handle,
            _ => unreachable!("a histogram family holds histograms"),
        }
    }
}

/// The facade's storage and registry.
pub(crate) struct Facade {
    registry: Registry<Key, Store>,
}

impl Facade {
    /// A facade for the rest of the process; `reserved` are the sample names of every family
    /// that is not the facade's. Scrapes read it once [`Facade::publish`]ed.
    pub(crate) fn new(settings: &'static Settings, reserved: HashSet<String>) -> &'static Facade {
        Box::leak(Box::new(Facade {
            registry: Registry::new(Store {
                families: Mutex::new(Families {
                    reserved,
                    ..Families::default()
                }),
                global_labels: settings
                    .global_labels
                    .iter()
                    .map(|(name, _)| name.clone())
                    .collect(),
                settings,
                refused: Default::default(),
            }),
        }))
    }

    /// Makes families that exist from now on (`names`, of `kinds`) the facade's to refuse,
    /// unless the facade has one of their names already: then it keeps it, and the reason is
    /// returned.
    #[cfg(feature = "axum")]
    pub(crate) fn claim(&self, names: &[(&'static str, Kind)]) -> Result<(), String> {
        let mut families = self.store().families();
        let taken = names.iter().find_map(|(name, kind)| {
            Store::samples_everywhere(*kind, name)
                .iter()
                .find_map(|sample| families.samples.get(sample).copied())
        });
        if let Some(name) = taken {
            return Err(format!(
                "the application records `{name}` through the `metrics` facade already"
            ));
        }
        let samples: Vec<String> = names
            .iter()
            .flat_map(|(name, kind)| kind.sample_names(name))
            .collect();
        families.reserved.extend(samples);
        Ok(())
    }

    /// Makes `facade` the one scrapes read, once it is the global recorder.
    pub(crate) fn publish(facade: &'static Facade) {
        let _ = FACADE.set(facade);
    }

    /// The facade, once installed.
    pub(crate) fn installed() -> Option<&'static Facade> {
        FACADE.get().copied()
    }

    /// The recorder of the installed facade.
    ///
    /// # Panics
    ///
    /// Before `install()`, which no caller can be: only an `Exporter` asks.
    pub(crate) fn recorder() -> FacadeRecorder {
        FacadeRecorder(Self::installed().expect("an Exporter exists only once installed"))
    }

    fn store(&self) -> &Store {
        self.registry.storage()
    }

    fn describe(&self, key: &KeyName, description: SharedString) {
        let name = key.as_str().to_owned();
        let mut families = self.store().families();
        if families.descriptions.len() < MAX_DESCRIPTIONS
            || families.descriptions.contains_key(&name)
        {
            families.descriptions.insert(name, description);
        }
    }

    /// Appends every family with its series.
    pub(crate) fn collect(&self, out: &mut Vec<FamilySnapshot>) {
        // Handles are copied out under the lock and read after it.
        let families: Vec<(FamilySnapshot, Vec<(Labels, Handle)>)> = {
            let families = self.store().families();
            families
                .by_name
                .iter()
                .map(|(name, family)| {
                    let snapshot = FamilySnapshot {
                        name,
                        help: Some(
                            families
                                .descriptions
                                .get(*name)
                                .map_or(Cow::Borrowed(UNDESCRIBED), |help| {
                                    Cow::Owned(help.to_string())
                                }),
                        ),
                        kind: family.kind,
                        created: None,
                        counter_suffix: self.store().settings.facade_counter_suffix,
                        series: Vec::new(),
                    };
                    let handles = family
                        .series
                        .iter()
                        .chain(&family.overflow)
                        .cloned()
                        .collect();
                    (snapshot, handles)
                })
                .collect()
        };
        for (mut family, handles) in families {
            family.series = handles
                .into_iter()
                .map(|(labels, handle)| SeriesSnapshot::new(labels, handle.value()))
                .collect();
            out.push(family);
        }
    }

    /// `(family, operations sent to its overflow series)` for each family that overflowed.
    pub(crate) fn overflowed(&self) -> Vec<(&'static str, u64)> {
        self.store()
            .families()
            .by_name
            .iter()
            .filter(|(_, family)| family.overflowed > 0)
            .map(|(name, family)| (*name, family.overflowed))
            .collect()
    }

    /// `(reason, registrations refused)` for each reason.
    pub(crate) fn refused(&self) -> Vec<(&'static str, u64)> {
        REFUSALS
            .iter()
            .zip(&self.store().refused)
            .map(|(refusal, count)| (refusal.reason(), count.load(Ordering::Relaxed)))
            .collect()
    }
}

/// The `metrics` recorder that records into track-metrics' storage: the global one that
/// [`install`](crate::install) sets, or one for the application to combine with its own (a
/// `metrics_util` fanout) after
/// [`without_global_recorder`](crate::ExporterBuilder::without_global_recorder). Get it from
/// [`Exporter::recorder`](crate::Exporter::recorder).
#[derive(Clone, Copy)]
pub struct FacadeRecorder(pub(crate) &'static Facade);

impl std::fmt::Debug for FacadeRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacadeRecorder").finish_non_exhaustive()
    }
}

impl FacadeRecorder {
    /// Which facade this is, for the per-thread handles.
    fn identity(&self) -> usize {
        std::ptr::from_ref(self.0) as usize
    }
}

impl Recorder for FacadeRecorder {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        let _ = reentry::guarded(|| self.0.describe(&key, description));
    }

    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        let _ = reentry::guarded(|| self.0.describe(&key, description));
    }

    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        let _ = reentry::guarded(|| self.0.describe(&key, description));
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
        let facade = self.identity();
        if let Some(counter) = facade_cache::counter(facade, key) {
            return counter;
        }
        // Registering allocates under the registry's and the families' locks.
        reentry::guarded(|| {
            let registry = &self.0.registry;
            let shared = match registry.get_counter(key) {
                Some(handle) => handle,
                None => match self.0.store().admit(key, Kind::Counter) {
                    None => registry.get_or_create_counter(key, Arc::clone),
                    // The overflow series, for a key past its family's limit: not kept per
                    // thread, or every new key would cost memory there.
                    Some(Some(Handle::Counter(handle))) => {
                        return metrics::Counter::from_arc(handle);
                    }
                    Some(_) => return metrics::Counter::noop(),
                },
            };
            facade_cache::keep_counter(facade, key, shared)
        })
        .unwrap_or_else(metrics::Counter::noop)
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        let facade = self.identity();
        if let Some(gauge) = facade_cache::gauge(facade, key) {
            return gauge;
        }
        reentry::guarded(|| {
            let registry = &self.0.registry;
            let shared = match registry.get_gauge(key) {
                Some(handle) => handle,
                None => match self.0.store().admit(key, Kind::Gauge) {
                    None => registry.get_or_create_gauge(key, Arc::clone),
                    // The overflow series, for a key past its family's limit: not kept per
                    // thread, or every new key would cost memory there.
                    Some(Some(Handle::Gauge(handle))) => {
                        return metrics::Gauge::from_arc(handle);
                    }
                    Some(_) => return metrics::Gauge::noop(),
                },
            };
            facade_cache::keep_gauge(facade, key, shared)
        })
        .unwrap_or_else(metrics::Gauge::noop)
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        let facade = self.identity();
        if let Some(histogram) = facade_cache::histogram(facade, key) {
            return histogram;
        }
        reentry::guarded(|| {
            let registry = &self.0.registry;
            let shared = match registry.get_histogram(key) {
                Some(handle) => handle,
                None => match self.0.store().admit(key, Kind::Histogram) {
                    None => registry.get_or_create_histogram(key, Arc::clone),
                    // The overflow series, for a key past its family's limit: not kept per
                    // thread, or every new key would cost memory there.
                    Some(Some(Handle::Histogram(handle))) => {
                        return metrics::Histogram::from_arc(handle);
                    }
                    Some(_) => return metrics::Histogram::noop(),
                },
            };
            facade_cache::keep_histogram(facade, key, shared)
        })
        .unwrap_or_else(metrics::Histogram::noop)
    }
}
