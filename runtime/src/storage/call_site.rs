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
use std::sync::OnceLock;

use quanta::Clock;

use crate::model::descriptor::{CALLS_HELP, DURATION_HELP, ERRORS_HELP, IN_FLIGHT_HELP, SiteInfo};
use crate::model::kind::Kind;
use crate::model::snapshot::{FamilySnapshot, SeriesSnapshot, Trace, Value};
use crate::state::{self, Settings};
use crate::storage::cells::{self, Cells, Fold};
use crate::storage::clock;
use crate::storage::counter::Counter;
use crate::storage::error_table::ErrorTable;
use crate::storage::exemplars::{self, Exemplars};
use crate::storage::forward::site::{self as forwarded, SiteHandles};
use crate::storage::forward::{self, Current};
use crate::storage::native::{NativeHistogram, NativeLayout};
use crate::storage::reentry;

/// Every call site of every instrumented function of the program, gathered by the linker.
#[linkme::distributed_slice]
pub static CALL_SITES: [CallSite];

/// Words of a site's block: the sequence number, the sum of ticks, one count per bucket, and
/// last the calls (outside the sequence: they are read after the histogram).
const SUM: usize = 1;
const FIRST_BUCKET: usize = 2;

/// One instrumented function.
pub struct CallSite {
    info: SiteInfo,
    series: OnceLock<SiteSeries>,
    /// Its handles in the application's global recorder, when track-metrics is not installed.
    forwarded: OnceLock<SiteHandles>,
}

impl CallSite {
    /// A call site with no series yet.
    pub const fn new(info: SiteInfo) -> Self {
        CallSite {
            info,
            series: OnceLock::new(),
            forwarded: OnceLock::new(),
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
    #[inline(always)]
    pub fn enter(&'static self) -> CallGuard {
        match self.series.get() {
            Some(series) => CallGuard::start(series),
            // Nothing installed: the cost of a bare call, but for a load and the facade's look.
            None if !state::installed() && forward::nothing() => {
                forward::nothing_records();
                CallGuard::nowhere()
            }
            None => self.enter_uncached(),
        }
    }

    /// A call before `install()`, or the first after it of a site the linker did not list:
    /// recorded through the application's `metrics` recorder if it has one, else nowhere.
    #[cold]
    #[inline(never)]
    fn enter_uncached(&'static self) -> CallGuard {
        if let Some(settings) = state::settings() {
            // Creating the series allocates: a call from that allocation records nothing.
            return match reentry::guarded(|| self.register(settings)) {
                Some(series) => CallGuard::start(series),
                None => CallGuard::nowhere(),
            };
        }
        let target = forward::with_current(|current| match current {
            Current::Nothing => {
                forward::nothing_records();
                Target::Nowhere
            }
            Current::Global(_) => match self.handles(current) {
                // The recorder's code may allocate, and so come back here.
                Some(handles) if reentry::guarded(|| handles.start()).is_some() => {
                    Target::Global(self, handles)
                }
                _ => Target::Nowhere,
            },
            Current::Local(_) => {
                let start = || {
                    let _ = clock::clock();
                    forwarded::start_in(&self.info, current);
                };
                match reentry::guarded(start) {
                    Some(()) => Target::Local(self),
                    None => Target::Nowhere,
                }
            }
        });
        // The clock was made while the handles were (under the re-entry guard).
        CallGuard {
            start: match (target, clock::ready()) {
                (Target::Nowhere, _) | (_, None) => 0,
                (_, Some(clock)) => clock.raw(),
            },
            target,
            completed: false,
        }
    }

    /// Its handles in the global recorder, resolved on first use; `None` while they are being
    /// resolved on this thread (the recorder's own code called this function).
    fn handles(&'static self, global: Current<'_>) -> Option<&'static SiteHandles> {
        if let Some(handles) = self.forwarded.get() {
            return Some(handles);
        }
        // Resolved outside the cell's lock: the recorder's code runs meanwhile.
        let handles = reentry::guarded(|| {
            let _ = clock::clock();
            SiteHandles::new(&self.info, global)
        })?;
        let _ = self.forwarded.set(handles);
        self.forwarded.get()
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
    errors: ErrorTable<Counter>,
    /// Where the durations go instead of `cells` when the function has a native histogram.
    native: Option<NativeHistogram>,
    /// Seconds per clock tick, for the durations kept in seconds (native buckets, exemplars):
    /// one multiplication instead of the clock's integer scaling.
    seconds_per_tick: f64,
    exemplars: Exemplars,
}

impl SiteSeries {
    fn new(info: &SiteInfo, settings: &Settings) -> Self {
        let clock = clock::clock();
        let bounds = if info.buckets.is_empty() {
            settings.function_buckets_of(info.duration)
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
            // The sum is in clock ticks, an integer.
            cells: Cells::new(
                calls + 1,
                Fold::Words {
                    sequenced: true,
                    floats: &[],
                },
            ),
            calls,
            bounds,
            ticks_above,
            in_flight: info.track_in_flight || settings.in_flight,
            errors: ErrorTable::default(),
            // Only the functions that ask: the others of the family stay classic, and protobuf
            // writes the two kinds of series as two messages.
            native: (settings.native_everywhere || info.native_histogram).then(|| {
                let layout = if info.native_factor > 0.0 {
                    NativeLayout::new(info.native_factor, settings.native_layout.max_buckets)
                } else {
                    settings.native_layout
                };
                NativeHistogram::new(bounds, layout)
            }),
            seconds_per_tick: clock::seconds_between(clock, 0, 1 << 40) / (1_u64 << 40) as f64,
            exemplars: Exemplars::new(bounds.len() + 1),
        }
    }

    #[inline]
    /// Records a call that started and ended at these raw readings of the clock.
    fn record(&self, start: u64, end: u64) {
        let ticks = end.saturating_sub(start);
        // A scan from the smallest bound that stops at the call's bucket: a fast call (the ones
        // whose cost matters) stops at the first bounds, a slow one pays a few more well
        // predicted comparisons that are nothing beside its duration. Past 32 bounds, halving.
        let bucket = if self.ticks_above.len() <= 32 {
            self.ticks_above
                .iter()
                .position(|above| *above > ticks)
                .unwrap_or(self.ticks_above.len())
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
            self.record_exemplar(bucket, ticks, end, trace);
        }
    }

    #[inline]
    fn record_native(&self, native: &NativeHistogram, bucket: usize, ticks: u64) {
        native.observe(bucket, ticks as f64 * self.seconds_per_tick);
    }

    /// The exemplar of a call that ended at the raw reading `end`: timed by it, not by another
    /// reading of a clock.
    #[inline]
    fn record_exemplar(&self, bucket: usize, ticks: u64, end: u64, trace: Trace) {
        let seconds = ticks as f64 * self.seconds_per_tick;
        self.exemplars
            .record_at(bucket, seconds, clock::wall_seconds(end), trace);
    }

    /// The duration histogram, the error counts, then the call count: read in this order (and
    /// written in the other), calls are never fewer than recorded durations or errors.
    fn read(&self) -> (Value, Vec<(&'static str, u64)>, u64) {
        if let Some(native) = &self.native {
            let histogram = native.value();
            let errors = self.errors();
            return (histogram, errors, native.calls());
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
    /// Counts an error of this type; its counter is made on the first, under the re-entry
    /// guard (making it allocates).
    #[inline]
    fn error(&self, error_type: &'static str) {
        match self.errors.find(error_type) {
            Some(entry) => entry.counter.inc(),
            None => {
                let counter =
                    reentry::guarded(|| self.errors.counter(error_type, |_| Counter::new()));
                if let Some(counter) = counter {
                    counter.inc();
                }
            }
        }
    }

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

/// Records one call of an instrumented function when dropped.
///
/// Dropping happens when the body returns, when `?` returns early, while a panic unwinds, and
/// when an `async fn` future is dropped before it completes: every one of them is a call that
/// took time. A call that did not reach [`CallGuard::finish`] is an error: `panic` while
/// unwinding, `cancelled` otherwise (an `async fn` future dropped before completion).
pub struct CallGuard {
    target: Target,
    /// The raw clock reading at the start.
    start: u64,
    completed: bool,
}

/// Where a call records.
#[derive(Clone, Copy)]
enum Target {
    /// Nothing is installed: the call records nothing.
    Nowhere,
    /// track-metrics' own series.
    Own(&'static SiteSeries),
    /// The handles of the application's global recorder.
    Global(&'static CallSite, &'static SiteHandles),
    /// A thread's local recorder, asked at each step.
    Local(&'static CallSite),
}

impl CallGuard {
    /// A call that records nothing.
    #[inline(always)]
    fn nowhere() -> Self {
        CallGuard {
            target: Target::Nowhere,
            start: 0,
            completed: false,
        }
    }

    #[inline]
    fn start(series: &'static SiteSeries) -> Self {
        match &series.native {
            None => series
                .cells
                .write(|words| cells::add(&words[series.calls], 1)),
            // In the block its duration goes to: one thread-local lookup less.
            Some(native) => native.count_call(),
        }
        CallGuard {
            target: Target::Own(series),
            start: series.clock.raw(),
            completed: false,
        }
    }

    /// The body returned, with an `Err` of this type or not.
    #[inline]
    pub fn finish(&mut self, error_type: Option<&'static str>) {
        self.completed = true;
        if let Some(error_type) = error_type {
            match self.target {
                Target::Own(series) => series.error(error_type),
                Target::Nowhere => {}
                target => forwarded_error(target, error_type),
            }
        }
    }
}

/// An error of a call recorded through the application's recorder.
#[cold]
#[inline(never)]
fn forwarded_error(target: Target, error_type: &'static str) {
    match target {
        Target::Global(site, handles) => {
            if let Some(global) = forward::global() {
                let _ = reentry::guarded(|| handles.error(&site.info, global, error_type));
            }
        }
        Target::Local(site) => forward::with_current(|current| {
            let _ = reentry::guarded(|| forwarded::error_in(&site.info, current, error_type));
        }),
        Target::Own(_) | Target::Nowhere => {}
    }
}

/// The end of a call recorded through the application's recorder.
#[cold]
#[inline(never)]
fn forwarded_end(target: Target, start: u64, completed: bool) {
    let clock = clock::clock();
    let seconds = clock::seconds_between(clock, start, clock.raw());
    match target {
        Target::Global(_, handles) => {
            let _ = reentry::guarded(|| handles.end(seconds));
        }
        Target::Local(site) => forward::with_current(|current| {
            let _ = reentry::guarded(|| forwarded::end_in(&site.info, current, seconds));
        }),
        Target::Own(_) | Target::Nowhere => return,
    }
    if !completed {
        forwarded_error(target, ended_early());
    }
}

/// The error type of a call that did not return: unwinding from a panic, or dropped.
fn ended_early() -> &'static str {
    if std::thread::panicking() {
        "panic"
    } else {
        "cancelled"
    }
}

impl Drop for CallGuard {
    /// A branch where nothing records, inlined into the function; the rest out of line.
    #[inline(always)]
    fn drop(&mut self) {
        if !matches!(self.target, Target::Nowhere) {
            self.end();
        }
    }
}

impl CallGuard {
    #[inline(never)]
    fn end(&mut self) {
        match self.target {
            Target::Own(series) => {
                series.record(self.start, series.clock.raw());
                if !self.completed {
                    series.error(ended_early());
                }
            }
            Target::Nowhere => {}
            target => forwarded_end(target, self.start, self.completed),
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
                counter_suffix: true,
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
