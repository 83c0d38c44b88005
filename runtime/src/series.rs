//! One series of each kind that `metrics!` declares, and what users do with it.
//!
//! A series is its own storage, made of atomics (a mutex for a summary's window): an operation
//! is a few atomic instructions with no lookup, and it works before `install()` too; the
//! exposition shows everything recorded since the start of the process.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quanta::Instant;

use crate::family::Descriptor;
use crate::summary_window::Window;
use crate::text::{SampleWriter, Value};

/// What every kind of series does for its family.
#[doc(hidden)]
pub trait Series: Send + Sync + 'static {
    /// A new series at zero.
    fn create(descriptor: &'static Descriptor) -> Self;
    /// Its sample lines, for these label values.
    fn render(&self, writer: &mut SampleWriter<'_>, labels: &[&str], values: &[&str]);
}

/// Adds to an `f64` kept as bits in an atomic.
fn add_float(bits: &AtomicU64, delta: f64) {
    let _ = bits.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
        Some((f64::from_bits(current) + delta).to_bits())
    });
}

/// A counter: a total that only goes up.
///
/// ```rust,standalone_crate
/// track_metrics::metrics! {
///     /// Total HTTP requests
///     pub counter REQUESTS: requests_total(method, endpoint);
/// }
///
/// let get_users = REQUESTS.labels("GET", "/users");
/// get_users.inc();
/// get_users.inc_by(2);
/// assert_eq!(get_users.get(), 3);
/// ```
#[derive(Debug, Default)]
pub struct Counter {
    value: AtomicU64,
}

impl Counter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `amount`.
    #[inline]
    pub fn inc_by(&self, amount: u64) {
        self.value.fetch_add(amount, Ordering::Relaxed);
    }

    /// The current total.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl Series for Counter {
    fn create(_: &'static Descriptor) -> Self {
        Counter::default()
    }

    fn render(&self, writer: &mut SampleWriter<'_>, labels: &[&str], values: &[&str]) {
        writer.sample("", labels, values, None, Value::Int(self.get()));
    }
}

type Callback = Box<dyn Fn() -> f64 + Send + Sync>;

/// A gauge: a value that goes up and down, or is read from a function at scrape time.
///
/// ```rust,standalone_crate
/// track_metrics::metrics! {
///     /// Database connections in use
///     pub gauge DB_POOL_USED: db_pool_connections_used;
///     /// Items waiting in the queue
///     pub gauge QUEUE_DEPTH: queue_depth_items;
/// }
///
/// DB_POOL_USED.inc();
/// {
///     let _in_use = DB_POOL_USED.track_inprogress(); // +1 until dropped
///     assert_eq!(DB_POOL_USED.get(), 2.0);
/// }
/// DB_POOL_USED.dec();
/// DB_POOL_USED.add(2.5);
/// assert_eq!(DB_POOL_USED.get(), 2.5);
///
/// QUEUE_DEPTH.set_function(|| 7.0); // evaluated at each scrape
/// assert_eq!(QUEUE_DEPTH.get(), 7.0);
/// ```
pub struct Gauge {
    bits: AtomicU64,
    callback: RwLock<Option<Callback>>,
}

impl std::fmt::Debug for Gauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gauge")
            .field("value", &self.get())
            .finish_non_exhaustive()
    }
}

impl Default for Gauge {
    fn default() -> Self {
        Gauge {
            bits: AtomicU64::new(0.0_f64.to_bits()),
            callback: RwLock::new(None),
        }
    }
}

impl Gauge {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// Adds `delta`.
    #[inline]
    pub fn add(&self, delta: f64) {
        add_float(&self.bits, delta);
    }

    /// Subtracts `delta`.
    #[inline]
    pub fn sub(&self, delta: f64) {
        add_float(&self.bits, -delta);
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
    }

    /// Sets the value to the current Unix time in seconds, as prometheus_client's
    /// `set_to_current_time` does.
    pub fn set_to_current_time(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        self.set(now.as_secs_f64());
    }

    /// Adds one now and subtracts it when the returned guard is dropped: the number of
    /// operations in progress, panics and early returns included.
    #[must_use = "the gauge goes back down when the guard is dropped"]
    pub fn track_inprogress(&self) -> InProgress<'_> {
        self.inc();
        InProgress { gauge: self }
    }

    /// Reads the value from `function` at every scrape instead; the value set by the other
    /// methods is ignored from then on. A function that panics leaves the series out of that
    /// scrape.
    pub fn set_function(&self, function: impl Fn() -> f64 + Send + Sync + 'static) {
        let mut callback = self
            .callback
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *callback = Some(Box::new(function));
    }

    /// The current value: the function's, when one is set.
    pub fn get(&self) -> f64 {
        let callback = self.callback.read().unwrap_or_else(PoisonError::into_inner);
        match &*callback {
            Some(function) => function(),
            None => f64::from_bits(self.bits.load(Ordering::Relaxed)),
        }
    }
}

impl Series for Gauge {
    fn create(_: &'static Descriptor) -> Self {
        Gauge::default()
    }

    fn render(&self, writer: &mut SampleWriter<'_>, labels: &[&str], values: &[&str]) {
        let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.get()));
        if let Ok(value) = value {
            writer.sample("", labels, values, None, Value::Float(value));
        }
    }
}

/// Returned by [`Gauge::track_inprogress`]: subtracts one from the gauge when dropped.
#[derive(Debug)]
pub struct InProgress<'a> {
    gauge: &'a Gauge,
}

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// A histogram: observations counted into buckets, with their sum.
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
#[derive(Debug)]
pub struct Histogram {
    bounds: Cow<'static, [f64]>,
    /// Non-cumulative counts, one per bound and one for `+Inf`.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        let bucket = if value.is_nan() {
            self.bounds.len()
        } else {
            self.bounds.partition_point(|bound| *bound < value)
        };
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        add_float(&self.sum, value);
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
        self.counts
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }

    /// Sum of the observations so far.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }
}

impl Histogram {
    /// A histogram at zero with these (validated) bounds.
    pub(crate) fn with_bounds(bounds: Cow<'static, [f64]>) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Histogram {
            bounds,
            counts,
            sum: AtomicU64::new(0.0_f64.to_bits()),
        }
    }
}

impl Series for Histogram {
    fn create(descriptor: &'static Descriptor) -> Self {
        Histogram::with_bounds(crate::exporter::histogram_bounds(descriptor))
    }

    fn render(&self, writer: &mut SampleWriter<'_>, labels: &[&str], values: &[&str]) {
        // `_count` is the `+Inf` bucket by construction, even while observations land.
        let mut cumulative = 0;
        let mut bound_text = String::new();
        for (bound, count) in self.bounds.iter().zip(self.counts.iter()) {
            cumulative += count.load(Ordering::Relaxed);
            bound_text.clear();
            crate::text::push_float(&mut bound_text, *bound);
            writer.sample(
                "_bucket",
                labels,
                values,
                Some(("le", &bound_text)),
                Value::Int(cumulative),
            );
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        writer.sample(
            "_bucket",
            labels,
            values,
            Some(("le", "+Inf")),
            Value::Int(cumulative),
        );
        writer.sample("_sum", labels, values, None, Value::Float(self.sum()));
        writer.sample("_count", labels, values, None, Value::Int(cumulative));
    }
}

/// A summary: observations with their sum, count, and quantiles over a sliding window.
///
/// Quantiles are within 0.5% of the true value over the last `max_age_seconds` (10 minutes
/// unless declared otherwise), and `NaN` when the window is empty, as in the Go client. Sum and
/// count cover the whole life of the process.
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
    window: Mutex<Window>,
    count: AtomicU64,
    sum: AtomicU64,
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
    /// Records one observation.
    pub fn observe(&self, value: f64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        add_float(&self.sum, value);
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        window.observe(value, Instant::now());
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
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        window.quantile(q, Instant::now())
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Sum of the observations so far.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }
}

impl Series for Summary {
    fn create(descriptor: &'static Descriptor) -> Self {
        Summary {
            quantiles: descriptor.quantiles,
            window: Mutex::new(Window::new(Duration::from_secs(descriptor.max_age_seconds))),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0.0_f64.to_bits()),
        }
    }

    fn render(&self, writer: &mut SampleWriter<'_>, labels: &[&str], values: &[&str]) {
        let mut quantile_text = String::new();
        for &q in self.quantiles {
            quantile_text.clear();
            crate::text::push_float(&mut quantile_text, q);
            let value = Value::Float(self.quantile(q));
            writer.sample(
                "",
                labels,
                values,
                Some(("quantile", &quantile_text)),
                value,
            );
        }
        writer.sample("_sum", labels, values, None, Value::Float(self.sum()));
        writer.sample("_count", labels, values, None, Value::Int(self.count()));
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

impl Observe for Summary {
    fn observe(&self, value: f64) {
        Summary::observe(self, value);
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
    fn start(metric: &'a M) -> Self {
        Timer {
            metric,
            start: Some(crate::clock::clock().raw()),
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
                let clock = crate::clock::clock();
                let seconds = crate::clock::seconds_between(clock, start, clock.raw());
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
