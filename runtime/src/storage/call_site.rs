//! The call site that `#[track_metrics]` puts in every function, the guard that records one
//! call, and the series of each site: calls, durations, errors by type, calls in flight.
//!
//! A call site is a `static` inside the instrumented function. Once `install()` has run it holds
//! the function's series, in per-thread cells of their own ([`crate::storage::cells`]): a call
//! adds one to its thread's call count, reads the TSC clock twice, and records the raw tick
//! delta into its thread's histogram (a bucket found by comparing ticks with bounds converted to
//! ticks once, and an integer sum of ticks): no lookup, no hashing, no allocation, no locked
//! instruction. Before `install()` a call records nothing, since the histogram's buckets are the
//! builder's to decide.
//!
//! A scrape reads each site's histogram before its call count, and a call is counted when it
//! starts, before its duration is recorded: so `calls_total` is never below the duration's
//! `_count`, and the calls in flight are their difference, which costs the call nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use quanta::Clock;

use crate::model::descriptor::SiteInfo;
use crate::model::kind::Kind;
use crate::model::names::OVERFLOW_LABEL_VALUE;
use crate::model::snapshot::{FamilySnapshot, SeriesSnapshot, Trace, Value};
use crate::state::{self, Settings};
use crate::storage::cells::{self, Cells};
use crate::storage::clock;
use crate::storage::counter::Counter;
use crate::storage::exemplars::{self, Exemplars};
use crate::storage::native::{NativeHistogram, NativeLayout};

/// Every call site of every instrumented function of the program, gathered by the linker.
#[linkme::distributed_slice]
pub static CALL_SITES: [CallSite];

const CALLS_HELP: &str = "Total function calls";
const DURATION_HELP: &str = "Function execution time";
const ERRORS_HELP: &str = "Total function errors by type";
const IN_FLIGHT_HELP: &str = "Function calls in progress";

/// Words of a site's block: the sequence number, the sum of ticks, one count per bucket, and
/// last the calls (outside the sequence: they are read after the histogram).
const SUM: usize = 1;
const FIRST_BUCKET: usize = 2;

/// Distinct error types a function keeps before folding others into `__overflow__`.
const MAX_ERROR_TYPES: usize = 64;

/// One instrumented function.
pub struct CallSite {
    info: SiteInfo,
    series: OnceLock<SiteSeries>,
}

impl CallSite {
    /// A call site with no series yet.
    pub const fn new(info: SiteInfo) -> Self {
        CallSite {
            info,
            series: OnceLock::new(),
        }
    }

    pub(crate) fn info(&self) -> &SiteInfo {
        &self.info
    }

    /// Gives the site its series, once; `install()` does it for every site it knows.
    pub(crate) fn register(&'static self, settings: &Settings) -> &'static SiteSeries {
        self.series
            .get_or_init(|| SiteSeries::new(&self.info, settings))
    }

    /// Counts a call and starts its clock; the returned guard records the duration when dropped.
    #[inline]
    pub fn enter(&'static self) -> CallGuard {
        match self.series.get() {
            Some(series) => CallGuard::start(series),
            None => self.enter_uncached(),
        }
    }

    /// A call before `install()`, or the first after it of a site the linker did not list.
    #[cold]
    #[inline(never)]
    fn enter_uncached(&'static self) -> CallGuard {
        match state::settings() {
            Some(settings) => CallGuard::start(self.register(settings)),
            None => CallGuard {
                series: None,
                start: 0,
                completed: false,
            },
        }
    }
}

/// The series of one site.
pub(crate) struct SiteSeries {
    clock: &'static Clock,
    cells: &'static Cells,
    /// The word of the call count.
    calls: usize,
    /// Bucket bounds in seconds, as written.
    bounds: &'static [f64],
    /// For each bound, the fewest clock ticks that are above it.
    ticks_above: &'static [u64],
    in_flight: bool,
    errors: ErrorTable,
    /// Where the durations go instead of `cells` when the function has a native histogram.
    native: Option<NativeHistogram>,
    exemplars: Exemplars,
}

impl SiteSeries {
    fn new(info: &SiteInfo, settings: &Settings) -> Self {
        let clock = clock::clock();
        let bounds = if info.buckets.is_empty() {
            settings.buckets_of(info.duration)
        } else {
            info.buckets
        };
        let ticks_above = bounds
            .iter()
            .map(|bound| first_tick_above(clock, *bound))
            .collect::<Vec<_>>()
            .leak();
        let calls = FIRST_BUCKET + bounds.len() + 1;
        SiteSeries {
            clock,
            cells: Cells::new(calls + 1),
            calls,
            bounds,
            ticks_above,
            in_flight: info.track_in_flight || settings.in_flight,
            errors: ErrorTable::default(),
            native: (settings.native_everywhere
                || info.native_histogram
                || settings.native_families.contains(&info.duration))
            .then(|| {
                let layout = if info.native_factor > 0.0 {
                    NativeLayout::new(info.native_factor, settings.native_layout.max_buckets)
                } else {
                    settings.native_layout
                };
                NativeHistogram::new(bounds, layout)
            }),
            exemplars: Exemplars::new(bounds.len() + 1),
        }
    }

    #[inline]
    fn record(&self, ticks: u64) {
        let bucket = if self.ticks_above.len() <= 32 {
            self.ticks_above
                .iter()
                .map(|above| usize::from(*above <= ticks))
                .sum()
        } else {
            self.ticks_above.partition_point(|above| *above <= ticks)
        };
        match &self.native {
            None => self.cells.write(|words| {
                cells::together(words, |words| {
                    cells::add(&words[SUM], ticks);
                    cells::add(&words[FIRST_BUCKET + bucket], 1);
                });
            }),
            Some(native) => self.record_native(native, bucket, ticks),
        }
        if let Some(trace) = exemplars::current() {
            self.record_exemplar(bucket, ticks, trace);
        }
    }

    #[inline(never)]
    fn record_native(&self, native: &NativeHistogram, bucket: usize, ticks: u64) {
        native.observe(bucket, clock::seconds_between(self.clock, 0, ticks));
    }

    #[cold]
    #[inline(never)]
    fn record_exemplar(&self, bucket: usize, ticks: u64, trace: Trace) {
        let seconds = clock::seconds_between(self.clock, 0, ticks);
        self.exemplars.record(bucket, seconds, trace);
    }

    /// The duration histogram, the error counts, then the call count: read in this order (and
    /// written in the other), calls are never fewer than recorded durations or errors.
    fn read(&self) -> (Value, Vec<(&'static str, u64)>, u64) {
        if let Some(native) = &self.native {
            let histogram = native.value();
            let errors = self.errors();
            return (histogram, errors, self.cells.sum(self.calls));
        }
        let mut counts = vec![0_u64; self.bounds.len() + 1];
        let mut ticks = 0_u64;
        let mut copy = vec![0_u64; self.calls - 1];
        self.cells.for_each_block(|words| {
            cells::read(&words[..self.calls], &mut copy);
            ticks = ticks.saturating_add(copy[SUM - 1]);
            for (total, count) in counts.iter_mut().zip(&copy[FIRST_BUCKET - 1..]) {
                *total = total.saturating_add(*count);
            }
        });
        let errors = self.errors();
        let calls = self.cells.sum(self.calls);
        let histogram = Value::Histogram {
            bounds: self.bounds,
            counts,
            sum: clock::seconds_between(self.clock, 0, ticks),
            native: None,
            negative_seen: false,
        };
        (histogram, errors, calls)
    }
}

impl SiteSeries {
    fn errors(&self) -> Vec<(&'static str, u64)> {
        self.errors
            .entries()
            .map(|entry| (entry.error_type, entry.counter.get()))
            .collect()
    }
}

/// The fewest ticks of `clock` that measure more than `seconds`, as the guard measures them.
fn first_tick_above(clock: &Clock, seconds: f64) -> u64 {
    let above = |ticks: u64| clock::seconds_between(clock, 0, ticks) > seconds;
    if above(0) {
        return 0;
    }
    let (mut low, mut high) = (0_u64, u64::MAX);
    if !above(high) {
        return u64::MAX;
    }
    // `low` is never above, `high` always is.
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if above(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

/// The error counters of a site, one per error type, in a list that readers walk without a
/// lock: the set of error types of a function is fixed by its code, so it stays short.
#[derive(Default)]
struct ErrorTable {
    head: AtomicPtr<ErrorEntry>,
    len: AtomicUsize,
    insert: Mutex<()>,
}

struct ErrorEntry {
    error_type: &'static str,
    counter: Counter,
    next: *const ErrorEntry,
}

// SAFETY: `next` points to a leaked, immutable entry.
unsafe impl Send for ErrorEntry {}
// SAFETY: as above; the counter is `Sync` itself.
unsafe impl Sync for ErrorEntry {}

impl ErrorTable {
    fn entries(&self) -> impl Iterator<Item = &'static ErrorEntry> {
        let mut next = self.head.load(Ordering::Acquire).cast_const();
        std::iter::from_fn(move || {
            // SAFETY: entries are leaked and never change once linked.
            let entry = unsafe { next.as_ref()? };
            next = entry.next;
            Some(entry)
        })
    }

    fn find(&self, error_type: &str) -> Option<&'static ErrorEntry> {
        self.entries().find(|entry| {
            std::ptr::eq(entry.error_type, error_type) || entry.error_type == error_type
        })
    }

    #[cold]
    fn record(&self, error_type: &'static str) {
        match self.find(error_type) {
            Some(entry) => entry.counter.inc(),
            None => self.insert(error_type).counter.inc(),
        }
    }

    fn insert(&self, error_type: &'static str) -> &'static ErrorEntry {
        let _one_writer = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = self.find(error_type) {
            return entry;
        }
        let error_type = if self.len.load(Ordering::Relaxed) >= MAX_ERROR_TYPES {
            if let Some(entry) = self.find(OVERFLOW_LABEL_VALUE) {
                return entry;
            }
            log::warn!(
                "a function returned more than {MAX_ERROR_TYPES} error types: further ones are \
                 counted as `error_type=\"{OVERFLOW_LABEL_VALUE}\"`"
            );
            OVERFLOW_LABEL_VALUE
        } else {
            error_type
        };
        let entry: &'static ErrorEntry = Box::leak(Box::new(ErrorEntry {
            error_type,
            counter: Counter::new(),
            next: self.head.load(Ordering::Relaxed),
        }));
        self.head
            .store(std::ptr::from_ref(entry).cast_mut(), Ordering::Release);
        self.len.fetch_add(1, Ordering::Relaxed);
        entry
    }
}

/// Records one call of an instrumented function when dropped.
///
/// Dropping happens when the body returns, when `?` returns early, while a panic unwinds, and
/// when an `async fn` future is dropped before it completes: every one of them is a call that
/// took time. A call that did not reach [`CallGuard::finish`] is an error: `panic` while
/// unwinding, `cancelled` otherwise (an `async fn` future dropped before completion).
pub struct CallGuard {
    series: Option<&'static SiteSeries>,
    /// The raw clock reading at the start.
    start: u64,
    completed: bool,
}

impl CallGuard {
    #[inline]
    fn start(series: &'static SiteSeries) -> Self {
        series
            .cells
            .write(|words| cells::add(&words[series.calls], 1));
        CallGuard {
            series: Some(series),
            start: series.clock.raw(),
            completed: false,
        }
    }

    /// The body returned, with an `Err` of this type or not.
    #[inline]
    pub fn finish(&mut self, error_type: Option<&'static str>) {
        self.completed = true;
        if let (Some(error_type), Some(series)) = (error_type, self.series) {
            series.errors.record(error_type);
        }
    }
}

impl Drop for CallGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some(series) = self.series {
            series.record(series.clock.raw().saturating_sub(self.start));
            if !self.completed {
                series.errors.record(if std::thread::panicking() {
                    "panic"
                } else {
                    "cancelled"
                });
            }
        }
    }
}

/// One reading of a registered site, for the live page's sampler.
#[cfg(any(feature = "http", feature = "axum"))]
pub(crate) struct Reading {
    pub(crate) info: &'static SiteInfo,
    pub(crate) calls: u64,
    pub(crate) errors: Vec<(&'static str, u64)>,
    pub(crate) bounds: &'static [f64],
    /// Bucket counts (not cumulative), one per bound and one for `+Inf`.
    pub(crate) counts: Vec<u64>,
}

/// A reading of every registered site: what a scrape reads, without rendering it.
#[cfg(any(feature = "http", feature = "axum"))]
pub(crate) fn readings() -> Vec<Reading> {
    CALL_SITES
        .iter()
        .filter_map(|site| {
            let series = site.series.get()?;
            let (histogram, errors, calls) = series.read();
            let Value::Histogram { bounds, counts, .. } = histogram else {
                return None;
            };
            Some(Reading {
                info: site.info(),
                calls,
                errors,
                bounds,
                counts,
            })
        })
        .collect()
}

/// Appends the families of every registered site, each family once with the series of all the
/// sites that share it.
pub(crate) fn collect(out: &mut Vec<FamilySnapshot>) {
    let mut families: BTreeMap<&'static str, FamilySnapshot> = BTreeMap::new();
    let mut push = |name: &'static str, help: &'static str, kind: Kind, series: SeriesSnapshot| {
        families
            .entry(name)
            .or_insert_with(|| FamilySnapshot {
                name,
                help: Some(Cow::Borrowed(help)),
                kind,
                created: None,
                series: Vec::new(),
            })
            .series
            .push(series);
    };
    for site in CALL_SITES.iter() {
        let Some(series) = site.series.get() else {
            continue;
        };
        let info = site.info();
        let labels: Vec<(&'static str, Cow<'static, str>)> = info
            .label_pairs()
            .map(|(name, value)| (name, Cow::Borrowed(value)))
            .collect();
        let (histogram, errors, calls) = series.read();
        let finished = match &histogram {
            Value::Histogram { counts, .. } => Value::histogram_count(counts),
            _ => 0,
        };
        let with = |value: Value| SeriesSnapshot::new(labels.clone(), value);
        push(
            info.calls,
            CALLS_HELP,
            Kind::Counter,
            with(Value::Int(calls)),
        );
        let mut duration = with(histogram);
        duration.exemplars = series.exemplars.read();
        push(info.duration, DURATION_HELP, Kind::Histogram, duration);
        if series.in_flight {
            let in_flight = calls.saturating_sub(finished) as f64;
            push(
                info.in_flight,
                IN_FLIGHT_HELP,
                Kind::Gauge,
                with(Value::Float(in_flight)),
            );
        }
        for (error_type, count) in errors {
            let mut labels = labels.clone();
            labels.push(("error_type", Cow::Borrowed(error_type)));
            push(
                info.errors,
                ERRORS_HELP,
                Kind::Counter,
                SeriesSnapshot::new(labels, Value::Int(count)),
            );
        }
    }
    out.extend(families.into_values());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_bounds_agree_with_the_seconds_the_guard_measures() {
        let clock = clock::clock();
        for bound in [0.0, 1e-9, 0.005, 0.1, 2.5, 10.0, -1.0, 1e30] {
            let above = first_tick_above(clock, bound);
            assert!(clock::seconds_between(clock, 0, above) > bound || above == u64::MAX);
            if above > 0 {
                assert!(
                    clock::seconds_between(clock, 0, above - 1) <= bound,
                    "{bound}"
                );
            }
        }
    }
}
