//! A `metrics!` series in the application's recorder: the family's name, labels and HELP, as
//! that recorder's counter (counters), gauge (gauges, info families, one per state of a state
//! set) or histogram (histograms and summaries, which the recorder aggregates as it does its
//! own).
//!
//! A series keeps its own value too, so that `get()` and a later `install()` see every
//! operation; the recorder is told only while track-metrics is not installed.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::Label;

use crate::model::descriptor::Descriptor;
use crate::model::kind::Kind;
use crate::model::names::{OVERFLOW_LABEL, OVERFLOW_LABEL_VALUE};
use crate::state;
use crate::storage::forward::{self, Current, Description};
use crate::storage::reentry;

/// One operation on a series, as the recorder is told it.
#[derive(Clone, Copy)]
pub(crate) enum Operation {
    /// A counter went up.
    Increase(u64),
    /// A gauge moved by this much.
    Move(f64),
    /// A gauge was set.
    Set(f64),
    /// Observations of a value, this many times.
    Observe(f64, u64),
    /// A state set is in the state of this index.
    State(usize),
}

/// Who a series is, for the recorder: its family and label values (not public API).
#[doc(hidden)]
pub struct SeriesKey {
    descriptor: &'static Descriptor,
    values: &'static [Box<str>],
    overflow: bool,
    /// The states of a state set, in order.
    states: &'static [&'static str],
    handle: OnceLock<Handle>,
    /// A gauge's moves while no recorder was there (an `f64`'s bits), which the recorder's
    /// gauge is to start from: handed over as one increment, so that it adds up with the
    /// increments other threads make meanwhile, whatever their order.
    carried: AtomicU64,
}

/// A series' handle in the global recorder.
enum Handle {
    Counter(metrics::Counter),
    Gauge(metrics::Gauge),
    Histogram(metrics::Histogram),
    /// One gauge per state.
    States(Box<[metrics::Gauge]>),
}

impl SeriesKey {
    /// The key of a series of `descriptor` with these label values, for the rest of the process
    /// (series live as long as their family).
    pub(crate) fn new(
        descriptor: &'static Descriptor,
        values: &'static [Box<str>],
        overflow: bool,
        states: &'static [&'static str],
    ) -> &'static SeriesKey {
        Box::leak(Box::new(SeriesKey {
            descriptor,
            values,
            overflow,
            states,
            handle: OnceLock::new(),
            carried: AtomicU64::new(0),
        }))
    }

    /// Tells the application's recorder of `operation`, unless track-metrics is installed.
    #[inline]
    pub(crate) fn forward(&self, operation: Operation) {
        if !state::installed() {
            self.forward_uninstalled(operation);
        }
    }

    #[cold]
    #[inline(never)]
    fn forward_uninstalled(&self, operation: Operation) {
        forward::with_current(|current| match current {
            // The series keeps the value, for an `install()` to come, and a gauge what the
            // recorder will start from.
            Current::Nothing => self.carry(operation),
            Current::Global(_) => {
                if self.handle.get().is_none()
                    && let Some(handle) = reentry::guarded(|| self.resolve(current))
                {
                    // Threads may race here: one handle is kept, the others' are the same
                    // series in the recorder.
                    let _ = self.handle.set(handle);
                }
                if let Some(handle) = self.handle.get() {
                    // The recorder's code may allocate, and so come back here.
                    let _ = reentry::guarded(|| {
                        self.hand_over_carried(handle);
                        apply(handle, operation);
                    });
                }
            }
            Current::Local(_) => {
                let _ = reentry::guarded(|| apply(&self.resolve(current), operation));
            }
        });
    }

    /// Keeps a gauge's operation made while no recorder is there.
    fn carry(&self, operation: Operation) {
        let _ = self
            .carried
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                let value = match operation {
                    Operation::Move(delta) => f64::from_bits(bits) + delta,
                    // From zero, where the recorder's gauge starts, an increment sets it.
                    Operation::Set(value) => value,
                    _ => return None,
                };
                Some(value.to_bits())
            });
    }

    /// Gives the recorder what a gauge moved before it was there, once. A thread that saw no
    /// recorder just before it came may carry after the first hand-over: the next operation
    /// hands that over too (as an increment, so a set made in that instant counts from zero).
    fn hand_over_carried(&self, handle: &Handle) {
        if self.carried.load(Ordering::Relaxed) == 0 {
            return;
        }
        let carried = f64::from_bits(self.carried.swap(0, Ordering::Relaxed));
        if let Handle::Gauge(gauge) = handle
            && carried != 0.0
        {
            gauge.increment(carried);
        }
    }

    fn labels(&self) -> Vec<Label> {
        let mut labels: Vec<Label> = self
            .descriptor
            .labels
            .iter()
            .zip(self.values)
            .map(|(name, value)| Label::new(*name, value.to_string()))
            .collect();
        if self.overflow {
            labels.push(Label::from_static_parts(OVERFLOW_LABEL, "true"));
        }
        labels
    }

    fn resolve(&self, current: Current<'_>) -> Handle {
        let descriptor = self.descriptor;
        let description = Description {
            name: descriptor.name,
            help: descriptor.help,
            kind: descriptor.kind,
        };
        let module = "track_metrics";
        match descriptor.kind {
            Kind::Counter => Handle::Counter(forward::counter(
                current,
                description,
                module,
                &forward::key(descriptor.name, self.labels()),
            )),
            Kind::Histogram | Kind::Summary => Handle::Histogram(forward::histogram(
                current,
                description,
                module,
                &forward::key(descriptor.name, self.labels()),
            )),
            Kind::StateSet => Handle::States(
                self.states
                    .iter()
                    .map(|state| {
                        let mut labels = self.labels();
                        labels.push(Label::from_static_parts(descriptor.name, state));
                        forward::gauge(
                            current,
                            description,
                            module,
                            &forward::key(descriptor.name, labels),
                        )
                    })
                    .collect(),
            ),
            Kind::Gauge | Kind::Info => Handle::Gauge(forward::gauge(
                current,
                description,
                module,
                &forward::key(descriptor.name, self.labels()),
            )),
        }
    }
}

fn apply(handle: &Handle, operation: Operation) {
    match (handle, operation) {
        (Handle::Counter(counter), Operation::Increase(amount)) => counter.increment(amount),
        (Handle::Gauge(gauge), Operation::Move(delta)) => gauge.increment(delta),
        (Handle::Gauge(gauge), Operation::Set(value)) => gauge.set(value),
        (Handle::Histogram(histogram), Operation::Observe(value, count)) => {
            histogram.record_many(value, usize::try_from(count).unwrap_or(usize::MAX));
        }
        (Handle::States(gauges), Operation::State(current)) => {
            for (index, gauge) in gauges.iter().enumerate() {
                gauge.set(if index == current { 1.0 } else { 0.0 });
            }
        }
        _ => {}
    }
}

/// The label values of an overflow series: `__overflow__` for each label.
pub(crate) fn overflow_values(labels: usize) -> &'static [Box<str>] {
    Box::leak(vec![Box::from(OVERFLOW_LABEL_VALUE); labels].into_boxed_slice())
}

/// An info family's labels were set: its gauge with these labels is at 1 in the application's
/// recorder (asked anew at each set, which is rare).
pub(crate) fn info(descriptor: &'static Descriptor, values: &[&str]) {
    if state::installed() {
        return;
    }
    forward::with_current(|current| {
        let labels = descriptor
            .labels
            .iter()
            .zip(values)
            .map(|(name, value)| Label::new(*name, (*value).to_owned()))
            .collect();
        let description = Description {
            name: descriptor.name,
            help: descriptor.help,
            kind: descriptor.kind,
        };
        let _ = reentry::guarded(|| {
            forward::gauge(
                current,
                description,
                "track_metrics",
                &forward::key(descriptor.name, labels),
            )
            .set(1.0);
        });
    });
}
