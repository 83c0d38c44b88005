//! Gauges: a value that goes up and down, or that a function of the user gives at each read.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::storage::forward::series::{Operation, SeriesKey};

type Callback = Arc<dyn Fn() -> f64 + Send + Sync>;

/// How deep gauge functions may call other gauges' functions on one thread.
const MAX_NESTING: usize = 8;

thread_local! {
    /// The gauges whose function this thread is running, innermost last. Plain cells, which
    /// need no destructor, so that a gauge read from another thread-local's destructor works.
    static EVALUATING: ([Cell<usize>; MAX_NESTING], Cell<usize>) =
        const { ([const { Cell::new(0) }; MAX_NESTING], Cell::new(0)) };
}

/// A gauge: a value that goes up and down, or is read from a function at scrape time.
///
/// A gauge is one shared value (a `set` must replace what every thread added), so threads that
/// change one gauge at a high rate share its cache line; counters and histograms do not.
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
    function: Mutex<Function>,
    /// Who it is to the application's `metrics` recorder, for a series of a `metrics!` family.
    forward: Option<&'static SeriesKey>,
}

/// The function of a gauge, and the call of it that scrapes share.
struct Function {
    function: Option<Callback>,
    /// When the call a scrape started began, while it runs: scrapes never call the function
    /// again meanwhile, so that a function that blocks holds one render, not every one.
    scrape_call_since: Option<quanta::Instant>,
    /// What the last call a scrape made returned, for the scrapes that come while the next
    /// one runs.
    last: Option<f64>,
    /// Scrapes that left the series out because the function was stuck.
    skipped: u64,
}

impl std::fmt::Debug for Gauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gauge")
            .field("value", &f64::from_bits(self.bits.load(Ordering::Relaxed)))
            .finish_non_exhaustive()
    }
}

impl Gauge {
    /// A gauge at zero, made without allocating.
    pub(crate) const fn new() -> Self {
        Gauge {
            bits: AtomicU64::new(0),
            function: Mutex::new(Function {
                function: None,
                scrape_call_since: None,
                last: None,
                skipped: 0,
            }),
            forward: None,
        }
    }

    /// The same gauge, also told to the application's recorder as `key`.
    pub(crate) fn forwarded_as(mut self, key: &'static SeriesKey) -> Self {
        self.forward = Some(key);
        self
    }

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
        let _ = self
            .bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                Some((f64::from_bits(current) + delta).to_bits())
            });
        if let Some(key) = self.forward {
            key.forward(Operation::Move(delta));
        }
    }

    /// Subtracts `delta`.
    #[inline]
    pub fn sub(&self, delta: f64) {
        self.add(-delta);
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
        if let Some(key) = self.forward {
            key.forward(Operation::Set(value));
        }
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
    /// methods is ignored from then on. Scrapes never run it twice at once: a scrape that comes
    /// while another's call runs shows the value the previous call returned, or leaves the
    /// series out if that call has run for longer than the render timeout
    /// ([`ExporterBuilder::render_timeout`](crate::ExporterBuilder::render_timeout)) or there
    /// is no previous value, counted in `track_metrics_skipped_functions_total{metric}`:
    /// a function that blocks holds up one scrape, not every one after it. A function that
    /// panics leaves the series out of that scrape.
    ///
    /// The function runs without any lock of this crate held, so it may use any metric,
    /// this gauge included: a call of this gauge's [`get`](Self::get) from inside its own
    /// function reads the value set by the other methods instead of recursing (as does a
    /// function nested more than eight gauges deep).
    pub fn set_function(&self, function: impl Fn() -> f64 + Send + Sync + 'static) {
        // Allocated before the lock: an allocator that reads this gauge must not wait for it.
        let function: Callback = Arc::new(function);
        let mut state = self.state();
        state.function = Some(function);
        state.last = None;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Function> {
        self.function.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current value: the function's, when one is set.
    pub fn get(&self) -> f64 {
        self.read(None)
            .unwrap_or_else(|| f64::from_bits(self.bits.load(Ordering::Relaxed)))
    }

    /// The value for a scrape: `None` when the series is left out (a call for an earlier
    /// scrape still runs, and has for longer than `stuck_after` or returned nothing before).
    pub(crate) fn scrape(&self, stuck_after: Duration) -> Option<f64> {
        self.read(Some(stuck_after))
    }

    /// Scrapes that left this gauge out because its function was stuck.
    pub(crate) fn skipped(&self) -> u64 {
        self.state().skipped
    }

    fn read(&self, stuck_after: Option<Duration>) -> Option<f64> {
        let stored = || Some(f64::from_bits(self.bits.load(Ordering::Relaxed)));
        let me = std::ptr::from_ref(self) as usize;
        let entered = EVALUATING.with(|(evaluating, depth)| {
            let running = &evaluating[..depth.get()];
            if depth.get() == MAX_NESTING || running.iter().any(|gauge| gauge.get() == me) {
                return false;
            }
            evaluating[depth.get()].set(me);
            depth.set(depth.get() + 1);
            true
        });
        if !entered {
            return stored();
        }
        struct Leave;
        impl Drop for Leave {
            fn drop(&mut self) {
                EVALUATING.with(|(_, depth)| depth.set(depth.get() - 1));
            }
        }
        let _leave = Leave;
        let function = {
            let mut state = self.state();
            let Some(function) = state.function.clone() else {
                drop(state);
                return stored();
            };
            let Some(stuck_after) = stuck_after else {
                // A read by the application: its own call, whatever scrapes do.
                drop(state);
                return Some(function());
            };
            let now = crate::storage::clock::clock().now();
            if let Some(since) = state.scrape_call_since {
                let stuck = now.saturating_duration_since(since) > stuck_after;
                let shared = state.last.filter(|_| !stuck);
                if shared.is_none() {
                    state.skipped += 1;
                }
                return shared;
            }
            state.scrape_call_since = Some(now);
            function
        };
        /// Ends the scrapes' call, however it ends (a panic included).
        struct Finished<'a> {
            gauge: &'a Gauge,
            value: Option<f64>,
        }
        impl Drop for Finished<'_> {
            fn drop(&mut self) {
                let mut state = self.gauge.state();
                state.scrape_call_since = None;
                if self.value.is_some() {
                    state.last = self.value;
                }
            }
        }
        let mut finished = Finished {
            gauge: self,
            value: None,
        };
        let value = function();
        finished.value = Some(value);
        Some(value)
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
