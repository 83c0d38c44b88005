//! The families that `metrics!` declares: their series by label values with a bound on how
//! many, the one bucket layout of a histogram family, and their registration for the scrape.
//!
//! Every declaration registers its family in [`FAMILIES`] at link time. Series are created on
//! first use and live as long as the program, as in prometheus_client; a family with labels
//! keeps at most its series limit of label sets, and folds the others into one overflow series.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Once, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use hashbrown::HashTable;

use crate::model::descriptor::Descriptor;
use crate::model::kind::Kind;
use crate::model::labels::LabelEnum;
use crate::model::names::{OVERFLOW_LABEL, OVERFLOW_LABEL_VALUE};
use crate::model::snapshot::{Exemplar, FamilySnapshot, SeriesSnapshot, Value};
use crate::state;
use crate::storage::counter::Counter;
use crate::storage::forward::series::{self as forwarded, SeriesKey};
use crate::storage::gauge::Gauge;
use crate::storage::histogram::Histogram;
use crate::storage::lookup;
use crate::storage::progress;
use crate::storage::reentry;
use crate::storage::stateset::StateSet;
use crate::storage::summary::Summary;

/// Every family declared with `metrics!` in the program, gathered by the linker.
#[linkme::distributed_slice]
pub static FAMILIES: [&'static dyn Collect];

/// The value of one series, as the scrape reads it (not public API).
#[doc(hidden)]
pub struct SeriesValue(pub(crate) Value);

/// The exemplars of one series, as the scrape reads them (not public API).
#[doc(hidden)]
pub struct SeriesExemplars(pub(crate) Vec<Option<Exemplar>>);

/// What a scrape collects families into (not public API).
#[doc(hidden)]
#[derive(Default)]
pub struct Snapshots(pub(crate) Vec<FamilySnapshot>);

/// What every kind of series does for its family.
#[doc(hidden)]
pub trait Series: Send + Sync + 'static {
    /// A new series at zero; `bounds` is the family's bucket layout, for a histogram; `key` says
    /// who it is to the application's recorder.
    fn create(
        descriptor: &'static Descriptor,
        bounds: &'static [f64],
        key: &'static SeriesKey,
    ) -> Self;
    /// The states of the series, for a state set: one gauge each in a recorder.
    fn states() -> &'static [&'static str] {
        &[]
    }
    /// A series that no scrape reads, made without allocating: what an operation gets that
    /// would have to create a series while this thread is already creating one (see
    /// `crate::storage::reentry`).
    fn discarded() -> &'static Self;
    /// Its value, or `None` to leave it out of this scrape (a gauge whose function panicked or
    /// is stuck).
    fn value(&self) -> Option<SeriesValue>;
    /// Scrapes that left it out because its gauge function was stuck.
    fn skipped(&self) -> u64 {
        0
    }
    /// Its exemplars: by bucket for a histogram, one for a counter; empty without.
    fn exemplars(&self) -> SeriesExemplars {
        SeriesExemplars(Vec::new())
    }
}

impl Series for Counter {
    fn create(descriptor: &'static Descriptor, _: &'static [f64], key: &'static SeriesKey) -> Self {
        let counter = if descriptor.exemplars {
            Counter::with_exemplars()
        } else {
            Counter::new()
        };
        counter.forwarded_as(key)
    }

    fn value(&self) -> Option<SeriesValue> {
        Some(SeriesValue(Value::Int(self.get())))
    }

    fn exemplars(&self) -> SeriesExemplars {
        SeriesExemplars(Counter::exemplars(self))
    }

    fn discarded() -> &'static Self {
        static DISCARDED: Counter = Counter::discarded();
        &DISCARDED
    }
}

impl Series for Gauge {
    fn create(_: &'static Descriptor, _: &'static [f64], key: &'static SeriesKey) -> Self {
        Gauge::new().forwarded_as(key)
    }

    fn value(&self) -> Option<SeriesValue> {
        let timeout = state::render_timeout();
        let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.scrape(timeout)));
        Some(SeriesValue(Value::Float(value.ok()??)))
    }

    fn skipped(&self) -> u64 {
        Gauge::skipped(self)
    }

    fn discarded() -> &'static Self {
        static DISCARDED: Gauge = Gauge::new();
        &DISCARDED
    }
}

impl Series for Histogram {
    fn create(
        descriptor: &'static Descriptor,
        bounds: &'static [f64],
        key: &'static SeriesKey,
    ) -> Self {
        let histogram = Histogram::new(bounds).forwarded_as(key);
        if descriptor.exemplars {
            histogram.with_exemplars()
        } else {
            histogram
        }
    }

    fn value(&self) -> Option<SeriesValue> {
        Some(SeriesValue(Histogram::value(self)))
    }

    fn exemplars(&self) -> SeriesExemplars {
        SeriesExemplars(Histogram::exemplars(self))
    }

    fn discarded() -> &'static Self {
        static DISCARDED: Histogram = Histogram::discarded();
        &DISCARDED
    }
}

impl<E: LabelEnum + 'static> Series for StateSet<E> {
    fn create(_: &'static Descriptor, _: &'static [f64], key: &'static SeriesKey) -> Self {
        StateSet::new().forwarded_as(key)
    }

    fn states() -> &'static [&'static str] {
        E::VARIANTS
    }

    fn discarded() -> &'static Self {
        StateSet::discarded()
    }

    fn value(&self) -> Option<SeriesValue> {
        Some(SeriesValue(StateSet::value(self)))
    }
}

impl Series for Summary {
    fn create(descriptor: &'static Descriptor, _: &'static [f64], key: &'static SeriesKey) -> Self {
        Summary::new(
            descriptor.quantiles,
            Duration::from_secs(descriptor.max_age_seconds),
        )
        .forwarded_as(key)
    }

    fn value(&self) -> Option<SeriesValue> {
        Some(SeriesValue(Summary::value(self)))
    }

    fn discarded() -> &'static Self {
        static DISCARDED: Summary = Summary::discarded();
        &DISCARDED
    }
}

/// A declared family as the scrape and `install()` see it.
pub trait Collect: Sync {
    /// Its declaration.
    fn descriptor(&self) -> &'static Descriptor;
    /// Appends its snapshot, if it has series.
    #[doc(hidden)]
    fn collect(&self, out: &mut Snapshots);
    /// The bucket layout its series were given before `install()`, if any.
    #[doc(hidden)]
    fn layout_in_use(&self) -> Option<&'static [f64]> {
        None
    }
    /// Lookups answered with its overflow series so far.
    #[doc(hidden)]
    fn overflowed(&self) -> u64 {
        0
    }
    /// Scrapes that left one of its gauges out because the gauge's function was stuck.
    #[doc(hidden)]
    fn skipped(&self) -> u64 {
        0
    }
}

/// The one bucket layout of a family, fixed at the creation of its first series.
struct Layout(OnceLock<&'static [f64]>);

impl Layout {
    const fn new() -> Self {
        Layout(OnceLock::new())
    }

    /// The bounds a new series of the family gets: empty for kinds without buckets.
    fn bounds(&self, descriptor: &'static Descriptor) -> &'static [f64] {
        if descriptor.kind != Kind::Histogram {
            return &[];
        }
        self.0
            .get_or_init(|| state::buckets_of(descriptor.name, descriptor.buckets))
    }
}

/// A series' value for a scrape; reading a gauge may call its function, which the render's
/// progress names (for a scrape that waits too long).
fn read<S: Series>(descriptor: &'static Descriptor, series: &S) -> Option<SeriesValue> {
    if descriptor.kind == Kind::Gauge {
        progress::in_gauge(descriptor.name, || series.value())
    } else {
        series.value()
    }
}

fn snapshot(descriptor: &'static Descriptor, series: Vec<SeriesSnapshot>) -> FamilySnapshot {
    FamilySnapshot {
        name: descriptor.name,
        help: Some(Cow::Borrowed(descriptor.help)),
        kind: descriptor.kind,
        created: None,
        counter_suffix: true,
        series,
    }
}

/// A family without labels: one series, shown at zero from the start.
pub struct Metric<S> {
    descriptor: &'static Descriptor,
    layout: Layout,
    series: OnceLock<S>,
}

impl<S: Series> Metric<S> {
    /// The family of `descriptor`.
    pub const fn new(descriptor: &'static Descriptor) -> Self {
        Metric {
            descriptor,
            layout: Layout::new(),
            series: OnceLock::new(),
        }
    }

    /// Its one series.
    #[inline]
    pub fn series(&self) -> &S {
        match self.series.get() {
            Some(series) => series,
            None => self.create(),
        }
    }

    /// Creates the series on first use: under the re-entry guard, since creating allocates.
    #[cold]
    #[inline(never)]
    fn create(&self) -> &S {
        let created = reentry::guarded(|| {
            self.series.get_or_init(|| {
                let key = SeriesKey::new(self.descriptor, &[], false, S::states());
                S::create(self.descriptor, self.layout.bounds(self.descriptor), key)
            });
        });
        match (created, self.series.get()) {
            (Some(()), Some(series)) => series,
            _ => S::discarded(),
        }
    }
}

impl<S: Series> Collect for Metric<S> {
    fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }

    fn collect(&self, out: &mut Snapshots) {
        let series = read(self.descriptor, self.series()).map(|SeriesValue(value)| {
            let mut series = SeriesSnapshot::new(Vec::new(), value);
            series.exemplars = self.series().exemplars().0;
            series
        });
        out.0
            .push(snapshot(self.descriptor, series.into_iter().collect()));
    }

    fn layout_in_use(&self) -> Option<&'static [f64]> {
        self.layout.0.get().copied()
    }

    fn skipped(&self) -> u64 {
        self.series.get().map_or(0, Series::skipped)
    }
}

/// One series of a family with labels, and its label values.
struct Entry<S> {
    values: &'static [Box<str>],
    overflow: bool,
    series: S,
}

impl<S> Entry<S> {
    fn matches(&self, values: &[&str]) -> bool {
        !self.overflow
            && self.values.len() == values.len()
            && self.values.iter().zip(values).all(|(a, b)| **a == **b)
    }
}

/// The series of a family, by label values.
struct Index<S: 'static> {
    /// Unique to this family for the life of the process: the key of its entries in the
    /// per-thread cache of lookups.
    id: usize,
    hasher: foldhash::fast::RandomState,
    table: RwLock<HashTable<&'static Entry<S>>>,
}

impl<S> Index<S> {
    fn hash(&self, values: &[&str]) -> u64 {
        self.hasher.hash_one(values)
    }
}

/// A family with labels: a series per label set, up to a limit.
///
/// Past the limit, new label sets share one series whose labels are all `__overflow__`, marked
/// `track_metrics_overflow="true"`, and `track_metrics_cardinality_overflow_total{metric}`
/// counts the operations sent there: a label fed from hostile input cannot grow memory without
/// bound.
pub struct Family<S: 'static> {
    descriptor: &'static Descriptor,
    layout: Layout,
    index: OnceLock<Index<S>>,
    overflow: OnceLock<&'static Entry<S>>,
    overflowed: AtomicU64,
    preinitialised: Once,
    warned: AtomicBool,
}

impl<S: Series> Family<S> {
    /// The family of `descriptor`.
    pub const fn new(descriptor: &'static Descriptor) -> Self {
        Family {
            descriptor,
            layout: Layout::new(),
            index: OnceLock::new(),
            overflow: OnceLock::new(),
            overflowed: AtomicU64::new(0),
            preinitialised: Once::new(),
            warned: AtomicBool::new(false),
        }
    }

    fn index(&self) -> &Index<S> {
        static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        self.index.get_or_init(|| Index {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            hasher: foldhash::fast::RandomState::default(),
            table: RwLock::new(HashTable::new()),
        })
    }

    /// The series of these label values, created on first use.
    #[inline]
    pub fn series(&self, values: &[&str]) -> &'static S {
        let Some(index) = self.index.get() else {
            return self.first_series(values);
        };
        let hash = index.hash(values);
        if let Some(entry) = lookup::recall(index.id, hash) {
            // SAFETY: only this family stores entries under its id, and they are `Entry<S>`s
            // that live forever.
            let entry = unsafe { &*entry.cast::<Entry<S>>() };
            if entry.matches(values) {
                return &entry.series;
            }
        }
        if reentry::inside() {
            return self.reentered(index, hash, values);
        }
        let found = index
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .find(hash, |entry| entry.matches(values))
            .copied();
        let entry = match found {
            Some(entry) => entry,
            // Inserting allocates under the table's lock.
            None => match reentry::guarded(|| self.insert(index, hash, values)) {
                Some(Some(entry)) => entry,
                Some(None) => return self.overflow(),
                None => return S::discarded(),
            },
        };
        lookup::remember(index.id, hash, std::ptr::from_ref(entry).cast());
        &entry.series
    }

    /// The first lookup of the family: its index is made under the re-entry guard.
    #[cold]
    #[inline(never)]
    fn first_series(&self, values: &[&str]) -> &'static S {
        match reentry::guarded(|| self.index()) {
            Some(_) => self.series(values),
            None => S::discarded(),
        }
    }

    /// A lookup made while this thread creates a series (from inside that creation's
    /// allocation): the series if it exists and the table is free, else the discarded one.
    #[cold]
    #[inline(never)]
    fn reentered(&self, index: &Index<S>, hash: u64, values: &[&str]) -> &'static S {
        let found = index.table.try_read().ok().and_then(|table| {
            table
                .find(hash, |entry| entry.matches(values))
                .map(|entry| &entry.series)
        });
        found.unwrap_or_else(|| {
            reentry::dropped();
            S::discarded()
        })
    }

    #[cold]
    fn insert(&self, index: &Index<S>, hash: u64, values: &[&str]) -> Option<&'static Entry<S>> {
        let limit = state::max_series(self.descriptor.max_series);
        let mut table = index.table.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = table.find(hash, |entry| entry.matches(values)) {
            return Some(entry);
        }
        if table.len() >= limit {
            return None;
        }
        // Series live as long as the program, and the limit bounds how many there are.
        let values: &'static [Box<str>] =
            Box::leak(values.iter().map(|value| Box::from(*value)).collect());
        let key = SeriesKey::new(self.descriptor, values, false, S::states());
        let entry: &'static Entry<S> = Box::leak(Box::new(Entry {
            values,
            overflow: false,
            series: S::create(self.descriptor, self.layout.bounds(self.descriptor), key),
        }));
        table.insert_unique(hash, entry, |entry| {
            index.hash(
                &entry
                    .values
                    .iter()
                    .map(|value| &**value)
                    .collect::<Vec<_>>(),
            )
        });
        Some(entry)
    }

    #[cold]
    fn overflow(&self) -> &'static S {
        if self.overflow.get().is_none() {
            // Made once, under the re-entry guard: making it allocates, and logs.
            if reentry::guarded(|| self.make_overflow()).is_none() {
                return S::discarded();
            }
        }
        self.overflowed.fetch_add(1, Ordering::Relaxed);
        match self.overflow.get() {
            Some(entry) => &entry.series,
            None => S::discarded(),
        }
    }

    fn make_overflow(&self) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            log::warn!(
                "metric `{}` reached its limit of {} label sets: new label sets are folded into \
                 the series labelled `{OVERFLOW_LABEL_VALUE}`; raise the limit with \
                 `#[max_series(...)]` or `ExporterBuilder::max_series`, or bound the label values",
                self.descriptor.name,
                state::max_series(self.descriptor.max_series)
            );
        }
        self.overflow.get_or_init(|| {
            let values = forwarded::overflow_values(self.descriptor.labels.len());
            let key = SeriesKey::new(self.descriptor, values, true, S::states());
            Box::leak(Box::new(Entry {
                values,
                overflow: true,
                series: S::create(self.descriptor, self.layout.bounds(self.descriptor), key),
            }))
        });
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

    fn collect(&self, out: &mut Snapshots) {
        self.preinitialise();
        // Copied out, so that no lock is held while series are read (a gauge's function may
        // use this very family).
        let mut entries: Vec<&'static Entry<S>> = self
            .index()
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect();
        entries.extend(self.overflow.get().copied());
        if entries.is_empty() {
            return;
        }
        let labels = self.descriptor.labels;
        let series = entries
            .into_iter()
            .filter_map(|entry| {
                let SeriesValue(value) = read(self.descriptor, &entry.series)?;
                let mut pairs: Vec<(&'static str, Cow<'static, str>)> = labels
                    .iter()
                    .zip(entry.values.iter())
                    .map(|(label, value)| (*label, Cow::Borrowed(&**value)))
                    .collect();
                if entry.overflow {
                    pairs.push((OVERFLOW_LABEL, Cow::Borrowed("true")));
                }
                let mut series = SeriesSnapshot::new(pairs, value);
                series.exemplars = entry.series.exemplars().0;
                Some(series)
            })
            .collect();
        out.0.push(snapshot(self.descriptor, series));
    }

    fn layout_in_use(&self) -> Option<&'static [f64]> {
        self.layout.0.get().copied()
    }

    fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }

    fn skipped(&self) -> u64 {
        if self.descriptor.kind != Kind::Gauge {
            return 0;
        }
        // Read under the table's lock: counting runs no user code, unlike `collect`.
        self.index()
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .chain(self.overflow.get())
            .map(|entry| entry.series.skipped())
            .sum()
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
        forwarded::info(self.descriptor, values);
    }
}

impl Collect for InfoMetric {
    fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }

    fn collect(&self, out: &mut Snapshots) {
        let values = self.values.read().unwrap_or_else(PoisonError::into_inner);
        let Some(values) = &*values else {
            return;
        };
        let labels = self
            .descriptor
            .labels
            .iter()
            .zip(values.iter())
            .map(|(label, value)| (*label, Cow::Owned(value.to_string())))
            .collect();
        out.0.push(snapshot(
            self.descriptor,
            vec![SeriesSnapshot::new(labels, Value::Int(1))],
        ));
    }
}
