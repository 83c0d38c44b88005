//! Summaries: count, sum and quantiles over a sliding time window, under one lock per series.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use quanta::Instant;

use crate::model::snapshot::Value;
use crate::storage::forward::series::{Operation, SeriesKey};
use crate::storage::histogram::{Observe, Timer};
use crate::storage::reentry;
use crate::storage::sketch::Sketch;

/// How many sketches share the window, as in the Go client (`AgeBuckets`).
const AGE_BUCKETS: usize = 5;

/// A summary: observations with their sum, count, and quantiles over a sliding window.
///
/// Quantiles are over the last `max_age_seconds` (10 minutes unless declared otherwise), and
/// `NaN` when the window is empty, as in the Go client. Each is within 0.5% of the true value
/// while the window's values span up to 17 orders of magnitude (from 1 ns to 100 million
/// seconds, say), and within 1% up to 35 orders, 2% up to 71, 4% up to 142, and 31% over the
/// whole range of `f64`; magnitudes below `f64::MIN_POSITIVE` count as 0. Sum and count cover
/// the whole life of the process. A series takes at most about 120 KB, whatever the values,
/// and a few KB for the usual spread of durations; one lock per series makes its scrape
/// consistent.
///
/// ```rust,standalone_crate
/// track_metrics::metrics! {
///     /// Response size
///     #[quantiles(0.5, 0.9, 0.99)]
///     pub summary RESPONSE_SIZE: response_size_bytes(endpoint);
/// }
///
/// let users = RESPONSE_SIZE.labels("/users");
/// for size in 1..=1000 {
///     users.observe(f64::from(size));
/// }
/// let median = users.quantile(0.5);
/// assert!((median - 500.0).abs() <= 500.0 * 0.01, "{median}");
/// ```
pub struct Summary {
    quantiles: &'static [f64],
    state: Mutex<State>,
    /// Who it is to the application's `metrics` recorder, for a series of a `metrics!` family.
    forward: Option<&'static SeriesKey>,
}

struct State {
    count: u64,
    sum: f64,
    /// An observation below zero or NaN was made once, for OpenMetrics.
    negative_seen: bool,
    /// Disjoint periods of the window; `current` receives observations.
    periods: [Sketch; AGE_BUCKETS],
    current: usize,
    /// When the current period ends; `None` for a summary whose operations are dropped.
    current_ends: Option<Instant>,
    period: Duration,
}

impl State {
    /// Moves to the period `now` is in, forgetting those that left the window.
    fn advance(&mut self, now: Instant) {
        let Some(mut ends) = self.current_ends else {
            return;
        };
        let mut steps = 0;
        while ends <= now {
            self.current = (self.current + 1) % AGE_BUCKETS;
            self.periods[self.current] = Sketch::default();
            ends += self.period;
            steps += 1;
            if steps == AGE_BUCKETS {
                // Idle for a whole window: everything is forgotten, so skip ahead at once.
                ends = now + self.period;
                break;
            }
        }
        self.current_ends = Some(ends);
    }

    fn window(&mut self, now: Instant) -> Sketch {
        self.advance(now);
        let mut window = Sketch::default();
        for period in &self.periods {
            window.merge(period);
        }
        window
    }
}

impl std::fmt::Debug for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summary")
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish_non_exhaustive()
    }
}

impl Summary {
    /// A summary with these quantiles over a window of `max_age` (at most ten years: a clock
    /// instant plus a longer window would overflow).
    pub(crate) fn new(quantiles: &'static [f64], max_age: Duration) -> Self {
        const TEN_YEARS: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
        let period = max_age.clamp(Duration::from_millis(5), TEN_YEARS) / AGE_BUCKETS as u32;
        Summary {
            quantiles,
            state: Mutex::new(State {
                count: 0,
                sum: 0.0,
                negative_seen: false,
                periods: Default::default(),
                current: 0,
                current_ends: Some(crate::storage::clock::clock().now() + period),
                period,
            }),
            forward: None,
        }
    }

    /// A summary that no scrape reads, made without allocating or reading the clock (see
    /// `crate::storage::reentry`).
    pub(crate) const fn discarded() -> Self {
        Summary {
            quantiles: &[],
            state: Mutex::new(State {
                count: 0,
                sum: 0.0,
                negative_seen: false,
                periods: [const { Sketch::new() }; AGE_BUCKETS],
                current: 0,
                current_ends: None,
                period: Duration::ZERO,
            }),
            forward: None,
        }
    }

    /// The same summary, also told to the application's recorder as `key`.
    pub(crate) fn forwarded_as(mut self, key: &'static SeriesKey) -> Self {
        self.forward = Some(key);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one observation.
    pub fn observe(&self, value: f64) {
        self.observe_many(value, 1);
    }

    /// Records `count` observations of `value`; none for a count of zero.
    pub(crate) fn observe_many(&self, value: f64, count: u64) {
        if count == 0 {
            return;
        }
        // A sketch may grow, so allocate, under the lock: an allocator that observes this
        // summary from that allocation has its observation dropped rather than waiting.
        let _ = reentry::guarded(|| {
            let mut state = self.state();
            let Some(_) = state.current_ends else {
                return;
            };
            let now = crate::storage::clock::clock().now();
            state.count = state.count.saturating_add(count);
            state.sum += value * count as f64;
            state.negative_seen |= value < 0.0 || value.is_nan();
            state.advance(now);
            let current = state.current;
            state.periods[current].add_many(value, count);
        });
        if let Some(key) = self.forward {
            key.forward(Operation::Observe(value, count));
        }
    }

    /// Starts a timer that records the elapsed seconds when dropped.
    #[must_use = "the duration is recorded when the timer is dropped"]
    pub fn start_timer(&self) -> Timer<'_, Summary> {
        Timer::start(self)
    }

    /// Runs `work` and records how long it took, whatever it returns, panics included.
    pub fn time<T>(&self, work: impl FnOnce() -> T) -> T {
        let _timer = self.start_timer();
        work()
    }

    /// The `q` quantile (0 to 1) over the window, `NaN` when the window is empty.
    pub fn quantile(&self, q: f64) -> f64 {
        self.state()
            .window(crate::storage::clock::clock().now())
            .quantile(q)
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.state().count
    }

    /// Sum of the observations so far.
    pub fn sum(&self) -> f64 {
        self.state().sum
    }

    /// Quantiles, count and sum, from the same observations.
    pub(crate) fn value(&self) -> Value {
        let mut state = self.state();
        let window = state.window(crate::storage::clock::clock().now());
        Value::Summary {
            quantiles: self
                .quantiles
                .iter()
                .map(|&q| (q, window.quantile(q)))
                .collect(),
            count: state.count,
            sum: state.sum,
            negative_seen: state.negative_seen,
        }
    }

    /// Bytes the window holds.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        let state = self.state();
        std::mem::size_of::<Self>() + state.periods.iter().map(Sketch::bytes).sum::<usize>()
    }
}

impl Observe for Summary {
    fn observe(&self, value: f64) {
        Summary::observe(self, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_stays_small_with_wide_ranging_values() {
        let summary = Summary::new(&[0.5, 0.99], Duration::from_secs(600));
        for i in 0..100_000 {
            summary.observe(1e-6 * 1.0003_f64.powi(i));
        }
        assert!(summary.bytes() < 64 * 1024, "{} bytes", summary.bytes());
        assert_eq!(summary.count(), 100_000);
    }

    #[test]
    fn infinities_and_huge_windows_cost_nothing() {
        let summary = Summary::new(&[0.5], Duration::from_secs(u64::MAX / 4));
        summary.observe(1.0);
        summary.observe(f64::INFINITY);
        summary.observe(f64::NEG_INFINITY);
        assert!(summary.bytes() < 1024, "{} bytes", summary.bytes());
        assert!((summary.quantile(0.5) - 1.0).abs() < 0.01);
        let spread = Summary::new(&[0.5], Duration::from_secs(600));
        for value in [1e-9, 1e300, -1e-9, -1e300] {
            spread.observe(value);
        }
        assert!(spread.bytes() < 16 * 1024, "{} bytes", spread.bytes());
    }

    #[test]
    fn old_observations_leave_the_window() {
        let summary = Summary::new(&[0.5], Duration::from_millis(50));
        summary.observe(10.0);
        assert_eq!(summary.quantile(0.5).round(), 10.0);
        std::thread::sleep(Duration::from_millis(60));
        assert!(summary.quantile(0.5).is_nan());
        assert_eq!(summary.count(), 1);
    }
}
