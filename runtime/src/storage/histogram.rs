//! Histograms of values: observations counted into buckets, with their sum, per writing thread;
//! and the timer that observes elapsed seconds into a histogram or a summary.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::model::buckets;
use crate::model::snapshot::{Exemplar, Value};
use crate::storage::cells::{self, Cells, Fold};
use crate::storage::exemplars::{self, Exemplars};
use crate::storage::forward::series::{Operation, SeriesKey};

/// Words of a block: the sequence number, the sum, then one count per bucket.
const SUM: usize = 1;
const FIRST_BUCKET: usize = 2;

/// A histogram: observations counted into buckets, with their sum.
///
/// Each thread records into cells of its own; a read adds them up, and always sees each
/// thread's buckets and sum from the same observations, so `_count` (the `+Inf` bucket) and
/// `_sum` agree in every scrape.
///
/// ```rust,standalone_crate
/// track_metrics::metrics! {
///     /// HTTP request latency
///     #[buckets(0.005, 0.01, 0.05, 0.1, 0.5, 1.0)]
///     pub histogram REQUEST_DURATION: request_duration_seconds(endpoint);
/// }
///
/// let users = REQUEST_DURATION.labels("/users");
/// users.observe(0.02);
/// {
///     let _timer = users.start_timer(); // records the elapsed seconds when dropped
/// }
/// let rows = users.time(|| 42); // times a closure
/// assert_eq!(rows, 42);
/// assert_eq!(users.count(), 3);
/// ```
pub struct Histogram {
    bounds: &'static [f64],
    cells: &'static Cells,
    /// Set at the first observation below zero or NaN, for OpenMetrics.
    negative_seen: AtomicBool,
    /// Per bucket, the last observation made in a sampled trace, for `#[exemplars]`.
    exemplars: Option<&'static Exemplars>,
    /// Who it is to the application's `metrics` recorder, for a series of a `metrics!` family.
    forward: Option<&'static SeriesKey>,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("bounds", &self.bounds)
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish()
    }
}

impl Histogram {
    /// A histogram at zero with these (checked) bounds.
    pub(crate) fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            cells: Cells::new(
                FIRST_BUCKET + bounds.len() + 1,
                Fold::Words {
                    sequenced: true,
                    floats: &[SUM],
                },
            ),
            negative_seen: AtomicBool::new(false),
            exemplars: None,
            forward: None,
        }
    }

    /// A histogram that no scrape reads, made without allocating (see
    /// `crate::storage::reentry`).
    pub(crate) const fn discarded() -> Self {
        Histogram {
            bounds: &[],
            cells: &cells::DISCARD_3,
            negative_seen: AtomicBool::new(false),
            exemplars: None,
            forward: None,
        }
    }

    /// The same histogram, also told to the application's recorder as `key`.
    pub(crate) fn forwarded_as(mut self, key: &'static SeriesKey) -> Self {
        self.forward = Some(key);
        self
    }

    /// The same histogram, keeping exemplars.
    pub(crate) fn with_exemplars(mut self) -> Self {
        self.exemplars = Some(Box::leak(Box::new(Exemplars::new(self.bounds.len() + 1))));
        self
    }

    pub(crate) fn exemplars(&self) -> Vec<Option<Exemplar>> {
        self.exemplars.map_or_else(Vec::new, Exemplars::read)
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.observe_many(value, 1);
    }

    /// Records `count` observations of `value`.
    #[inline]
    pub(crate) fn observe_many(&self, value: f64, count: u64) {
        // No observation: nothing to count, and an infinite value times zero would make the
        // sum NaN.
        if count == 0 {
            return;
        }
        let bucket = buckets::index(self.bounds, value);
        if value < 0.0 || value.is_nan() {
            self.negative_seen.store(true, Ordering::Relaxed);
        }
        self.cells.write(|words| {
            cells::together(words, |words| {
                cells::add_float(&words[SUM], value * count as f64);
                cells::add(&words[FIRST_BUCKET + bucket], count);
            });
        });
        if let Some(key) = self.forward {
            key.forward(Operation::Observe(value, count));
        }
        if let Some(exemplars) = self.exemplars
            && let Some(trace) = exemplars::current()
        {
            exemplars.record(bucket, value, trace);
        }
    }

    /// Starts a timer that records the elapsed seconds when dropped, as prometheus_client's
    /// `with histogram.time():`.
    #[must_use = "the duration is recorded when the timer is dropped"]
    pub fn start_timer(&self) -> Timer<'_, Histogram> {
        Timer::start(self)
    }

    /// Runs `work` and records how long it took, whatever it returns, panics included.
    pub fn time<T>(&self, work: impl FnOnce() -> T) -> T {
        let _timer = self.start_timer();
        work()
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        match self.value() {
            Value::Histogram { counts, .. } => Value::histogram_count(&counts),
            _ => 0,
        }
    }

    /// Sum of the observations so far.
    pub fn sum(&self) -> f64 {
        match self.value() {
            Value::Histogram { sum, .. } => sum,
            _ => 0.0,
        }
    }

    /// Buckets and sum, from the same observations.
    pub(crate) fn value(&self) -> Value {
        let mut counts = vec![0_u64; self.bounds.len() + 1];
        let mut sum = 0.0;
        let mut copy = vec![0_u64; FIRST_BUCKET - 1 + counts.len()];
        self.cells.for_each_block(|words| {
            cells::read(words, &mut copy);
            sum += f64::from_bits(copy[SUM - 1]);
            for (total, count) in counts.iter_mut().zip(&copy[FIRST_BUCKET - 1..]) {
                *total = total.saturating_add(*count);
            }
        });
        Value::Histogram {
            bounds: self.bounds,
            counts,
            sum,
            native: None,
            negative_seen: self.negative_seen.load(Ordering::Relaxed),
        }
    }
}

/// What a [`Timer`] records into.
pub trait Observe {
    /// Records one observation.
    fn observe(&self, value: f64);
}

impl Observe for Histogram {
    fn observe(&self, value: f64) {
        Histogram::observe(self, value);
    }
}

/// Records the seconds since it was started into a histogram or summary when dropped.
#[derive(Debug)]
pub struct Timer<'a, M: Observe> {
    metric: &'a M,
    /// The raw clock reading at the start; `None` once recorded or discarded.
    start: Option<u64>,
}

impl<'a, M: Observe> Timer<'a, M> {
    pub(crate) fn start(metric: &'a M) -> Self {
        Timer {
            metric,
            // Made under the re-entry guard if it is the clock's first use: calibrating
            // allocates, and a timer started from that allocation records nothing.
            start: crate::storage::clock::ready()
                .or_else(|| crate::storage::reentry::guarded(crate::storage::clock::clock))
                .map(quanta::Clock::raw),
        }
    }

    /// Records now rather than at the drop, and returns the seconds recorded.
    pub fn observe_duration(mut self) -> f64 {
        self.record()
    }

    /// Drops the timer without recording anything.
    pub fn discard(mut self) {
        self.start = None;
    }

    fn record(&mut self) -> f64 {
        match self.start.take() {
            Some(start) => {
                let clock = crate::storage::clock::clock();
                let seconds = crate::storage::clock::seconds_between(clock, start, clock.raw());
                self.metric.observe(seconds);
                seconds
            }
            None => 0.0,
        }
    }
}

impl<M: Observe> Drop for Timer<'_, M> {
    fn drop(&mut self) {
        self.record();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static BOUNDS: &[f64] = &[1.0, 2.0];

    #[test]
    fn observations_land_in_their_buckets() {
        let histogram = Histogram::new(BOUNDS);
        for value in [0.5, 1.0, 1.5, 3.0, f64::NAN] {
            histogram.observe(value);
        }
        histogram.observe_many(2.0, 3);
        let Value::Histogram { counts, sum, .. } = histogram.value() else {
            unreachable!()
        };
        assert_eq!(counts, [2, 4, 2]);
        assert!(sum.is_nan());
        assert_eq!(histogram.count(), 8);
    }

    #[test]
    fn threads_add_up() {
        let histogram: &'static Histogram = Box::leak(Box::new(Histogram::new(BOUNDS)));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        histogram.observe(1.5);
                    }
                });
            }
        });
        assert_eq!(histogram.count(), 4000);
        assert_eq!(histogram.sum(), 6000.0);
    }
}
