//! The families that `metrics!` declares: their compile-time description, their series by label
//! values with a bound on how many, and their registration for the exposition.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, OnceLock, PoisonError, RwLock};

use hashbrown::{Equivalent, HashMap};

use crate::series::Series;
use crate::text::{SampleWriter, Value};

/// Every family declared with `metrics!` in the program, gathered by the linker.
#[linkme::distributed_slice]
pub static FAMILIES: [&'static dyn Collect];

/// The label value of the series that holds what did not fit under a family's series limit.
pub const OVERFLOW_LABEL_VALUE: &str = "__overflow__";

/// How many label sets a family keeps when neither its declaration nor the builder says.
pub const DEFAULT_MAX_SERIES: usize = 1000;

/// The kind of a declared family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `summary`
    Summary,
    /// `info`: a gauge at 1 whose labels carry the information.
    Info,
}

impl Kind {
    /// The `# TYPE` of the family.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge | Kind::Info => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }

    /// Every sample name the family writes, for collision checks.
    pub(crate) fn sample_names(self, name: &str) -> Vec<String> {
        match self {
            // The OpenMetrics name of a `_total` counter is the name without it.
            Kind::Counter => {
                let mut names = vec![name.to_owned()];
                names.extend(name.strip_suffix("_total").map(str::to_owned));
                names
            }
            Kind::Gauge | Kind::Info => vec![name.to_owned()],
            Kind::Histogram => ["_bucket", "_sum", "_count", ""]
                .iter()
                .map(|s| format!("{name}{s}"))
                .collect(),
            Kind::Summary => ["", "_sum", "_count"]
                .iter()
                .map(|s| format!("{name}{s}"))
                .collect(),
        }
    }
}

/// What the macro knows about a family at compile time.
#[derive(Debug)]
pub struct Descriptor {
    /// The metric name.
    pub name: &'static str,
    /// The HELP text, from the doc comment.
    pub help: &'static str,
    /// The kind.
    pub kind: Kind,
    /// Label names, in order.
    pub labels: &'static [&'static str],
    /// Declared histogram buckets; empty for the default ones.
    pub buckets: &'static [f64],
    /// Summary quantiles.
    pub quantiles: &'static [f64],
    /// Summary window.
    pub max_age_seconds: u64,
    /// Declared series limit; 0 for the builder's or the default.
    pub max_series: usize,
    /// The values of each label when all labels are enums: the family is pre-initialised.
    pub variants: &'static [&'static [&'static str]],
    /// Where it is declared, for error messages.
    pub file: &'static str,
    /// The line of the declaration.
    pub line: u32,
}

impl Descriptor {
    /// `name` at `file:line`, as error messages name a declaration.
    pub(crate) fn describe(&self) -> String {
        format!("`{}` ({}:{})", self.name, self.file, self.line)
    }
}

/// A family as the exposition sees it.
pub trait Collect: Sync {
    /// Its declaration.
    fn descriptor(&self) -> &'static Descriptor;
    /// Appends its HELP, TYPE and samples.
    #[doc(hidden)]
    fn render(&self, out: &mut String, globals: &[(String, String)]);
}

fn writer<'a>(
    out: &'a mut String,
    descriptor: &'a Descriptor,
    globals: &'a [(String, String)],
) -> SampleWriter<'a> {
    let mut writer = SampleWriter {
        out,
        name: descriptor.name,
        globals,
    };
    writer.header(descriptor.help, descriptor.kind.type_name());
    writer
}

/// A family without labels: one series, shown at zero from the start.
pub struct Metric<S> {
    descriptor: &'static Descriptor,
    series: OnceLock<S>,
}

impl<S: Series> Metric<S> {
    /// The family of `descriptor`.
    pub const fn new(descriptor: &'static Descriptor) -> Self {
        Metric {
            descriptor,
            series: OnceLock::new(),
        }
    }

    /// Its one series.
    #[inline]
    pub fn series(&self) -> &S {
        self.series.get_or_init(|| S::create(self.descriptor))
    }
}

impl<S: Series> Collect for Metric<S> {
    fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }

    fn render(&self, out: &mut String, globals: &[(String, String)]) {
        let mut writer = writer(out, self.descriptor, globals);
        self.series().render(&mut writer, &[], &[]);
        out.push('\n');
    }
}

/// The label values of one series, owned.
#[derive(PartialEq, Eq)]
struct LabelKey(Box<[Box<str>]>);

impl Hash for LabelKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_values(self.0.iter().map(|value| &**value), state);
    }
}

/// The label values of one series, borrowed for a lookup.
struct LabelRef<'a>(&'a [&'a str]);

impl Hash for LabelRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_values(self.0.iter().copied(), state);
    }
}

impl Equivalent<LabelKey> for LabelRef<'_> {
    fn equivalent(&self, key: &LabelKey) -> bool {
        self.0.len() == key.0.len() && self.0.iter().zip(key.0.iter()).all(|(a, b)| *a == &**b)
    }
}

fn hash_values<'a, H: Hasher>(values: impl Iterator<Item = &'a str>, state: &mut H) {
    for value in values {
        value.hash(state);
    }
}

type SeriesMap<S> = RwLock<HashMap<LabelKey, &'static S>>;

/// A family with labels: a series per label set, up to a limit.
///
/// Series are created on first use and live as long as the program, as in prometheus_client.
/// Past the limit, new label sets share one series whose labels are all `__overflow__`, and
/// `track_metrics_cardinality_overflow_total{metric}` counts the operations sent there: a
/// label fed from hostile input cannot grow memory without bound.
pub struct Family<S: 'static> {
    descriptor: &'static Descriptor,
    series: OnceLock<SeriesMap<S>>,
    overflow: OnceLock<&'static S>,
    preinitialised: Once,
    warned: AtomicBool,
}

impl<S: Series> Family<S> {
    /// The family of `descriptor`.
    pub const fn new(descriptor: &'static Descriptor) -> Self {
        Family {
            descriptor,
            series: OnceLock::new(),
            overflow: OnceLock::new(),
            preinitialised: Once::new(),
            warned: AtomicBool::new(false),
        }
    }

    fn map(&self) -> &SeriesMap<S> {
        self.series.get_or_init(|| RwLock::new(HashMap::new()))
    }

    /// The series of these label values, created on first use.
    #[inline]
    pub fn series(&self, values: &[&str]) -> &'static S {
        let found = self
            .map()
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&LabelRef(values))
            .copied();
        match found {
            Some(series) => series,
            None => self.insert(values),
        }
    }

    #[cold]
    fn insert(&self, values: &[&str]) -> &'static S {
        let limit = crate::exporter::max_series(self.descriptor);
        let mut map = self.map().write().unwrap_or_else(PoisonError::into_inner);
        if let Some(series) = map.get(&LabelRef(values)) {
            return series;
        }
        if map.len() >= limit {
            drop(map);
            return self.overflow();
        }
        // Series live as long as the program, and the limit bounds how many there are.
        let series: &'static S = Box::leak(Box::new(S::create(self.descriptor)));
        let key = LabelKey(values.iter().map(|value| Box::from(*value)).collect());
        map.insert(key, series);
        series
    }

    fn overflow(&self) -> &'static S {
        // The self-metric is a family too: counting its own overflow in itself would recurse.
        if self.descriptor.name != crate::self_metrics::CARDINALITY_OVERFLOW_NAME {
            crate::self_metrics::CARDINALITY_OVERFLOW
                .labels(self.descriptor.name)
                .inc();
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            log::warn!(
                "metric `{}` reached its limit of {} label sets: new label sets are folded into \
                 the series labelled `{OVERFLOW_LABEL_VALUE}`; raise the limit with \
                 `#[max_series(...)]` or `ExporterBuilder::max_series`, or bound the label values",
                self.descriptor.name,
                crate::exporter::max_series(self.descriptor)
            );
        }
        self.overflow
            .get_or_init(|| Box::leak(Box::new(S::create(self.descriptor))))
    }

    /// Creates every combination of enum label values, once.
    fn preinitialise(&self) {
        let variants = self.descriptor.variants;
        if variants.len() != self.descriptor.labels.len()
            || variants.iter().any(|values| values.is_empty())
        {
            return;
        }
        self.preinitialised.call_once(|| {
            let mut indices = vec![0; variants.len()];
            let mut values = Vec::with_capacity(variants.len());
            loop {
                values.clear();
                values.extend(
                    indices
                        .iter()
                        .zip(variants)
                        .map(|(index, options)| options[*index]),
                );
                let _ = self.series(&values);
                // Next combination, like an odometer.
                let Some(position) = (0..indices.len())
                    .rev()
                    .find(|&i| indices[i] + 1 < variants[i].len())
                else {
                    break;
                };
                indices[position] += 1;
                indices[position + 1..].fill(0);
            }
        });
    }
}

impl<S: Series> Collect for Family<S> {
    fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }

    fn render(&self, out: &mut String, globals: &[(String, String)]) {
        self.preinitialise();
        // Copied out, so that no lock is held while series render (a gauge's function may use
        // this very family).
        let entries: Vec<(Vec<String>, &'static S)> = {
            let map = self.map().read().unwrap_or_else(PoisonError::into_inner);
            map.iter()
                .map(|(key, series)| {
                    (
                        key.0.iter().map(|value| value.to_string()).collect(),
                        *series,
                    )
                })
                .collect()
        };
        let overflow = self.overflow.get();
        if entries.is_empty() && overflow.is_none() {
            return;
        }
        let labels = self.descriptor.labels;
        let mut writer = writer(out, self.descriptor, globals);
        for (values, series) in &entries {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            series.render(&mut writer, labels, &values);
        }
        if let Some(series) = overflow {
            let values = vec![OVERFLOW_LABEL_VALUE; labels.len()];
            series.render(&mut writer, labels, &values);
        }
        out.push('\n');
    }
}

/// An info family: one series at 1, whose label values are set as a whole.
pub struct InfoMetric {
    descriptor: &'static Descriptor,
    values: RwLock<Option<Box<[Box<str>]>>>,
}

impl InfoMetric {
    /// The family of `descriptor`.
    pub const fn new(descriptor: &'static Descriptor) -> Self {
        InfoMetric {
            descriptor,
            values: RwLock::new(None),
        }
    }

    /// Replaces the label values.
    pub fn set(&self, values: &[&str]) {
        let owned = values.iter().map(|value| Box::from(*value)).collect();
        *self.values.write().unwrap_or_else(PoisonError::into_inner) = Some(owned);
    }
}

impl Collect for InfoMetric {
    fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }

    fn render(&self, out: &mut String, globals: &[(String, String)]) {
        let values = self.values.read().unwrap_or_else(PoisonError::into_inner);
        let Some(values) = &*values else {
            return;
        };
        let values: Vec<&str> = values.iter().map(|value| &**value).collect();
        let mut writer = writer(out, self.descriptor, globals);
        writer.sample("", self.descriptor.labels, &values, None, Value::Int(1));
        out.push('\n');
    }
}
