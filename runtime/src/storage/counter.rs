//! Counters: totals that only go up, one word per writing thread.

use crate::model::snapshot::Exemplar;
use crate::storage::cells::{self, Cells};
use crate::storage::exemplars::{self, Exemplars};
use crate::storage::forward::series::{Operation, SeriesKey};

/// A counter: a total that only goes up.
///
/// Each thread adds into a cell of its own, so threads that count into one series do not slow
/// each other down; a read adds the cells up. A total saturates at `u64::MAX` instead of
/// wrapping to zero.
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
pub struct Counter {
    cells: &'static Cells,
    /// The last increment made in a sampled trace, for a family declared `#[exemplars]`.
    exemplars: Option<&'static Exemplars>,
    /// Who it is to the application's `metrics` recorder, for a series of a `metrics!` family.
    forward: Option<&'static SeriesKey>,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counter")
            .field("value", &self.get())
            .finish()
    }
}

impl Counter {
    /// A counter at zero.
    pub(crate) fn new() -> Self {
        Counter {
            cells: Cells::counter(),
            exemplars: None,
            forward: None,
        }
    }

    /// A counter at zero that keeps an exemplar.
    pub(crate) fn with_exemplars() -> Self {
        Counter {
            cells: Cells::counter(),
            exemplars: Some(Box::leak(Box::new(Exemplars::new(1)))),
            forward: None,
        }
    }

    /// A counter that no scrape reads, made without allocating: where an operation goes that
    /// is dropped rather than waited for (see `crate::storage::reentry`).
    pub(crate) const fn discarded() -> Self {
        Counter {
            cells: &cells::DISCARD_1,
            exemplars: None,
            forward: None,
        }
    }

    /// The same counter, also told to the application's recorder as `key`.
    pub(crate) fn forwarded_as(mut self, key: &'static SeriesKey) -> Self {
        self.forward = Some(key);
        self
    }

    pub(crate) fn exemplars(&self) -> Vec<Option<Exemplar>> {
        self.exemplars.map_or_else(Vec::new, Exemplars::read)
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `amount`.
    #[inline]
    pub fn inc_by(&self, amount: u64) {
        self.cells.write(|words| cells::add(&words[0], amount));
        if let Some(key) = self.forward {
            key.forward(Operation::Increase(amount));
        }
        if let Some(exemplars) = self.exemplars
            && let Some(trace) = exemplars::current()
        {
            exemplars.record(0, amount as f64, trace);
        }
    }

    /// The current total.
    pub fn get(&self) -> u64 {
        self.cells.sum(0)
    }
}
