//! State sets: a set of states of which exactly one is current, as prometheus_client's `Enum`.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::model::labels::LabelEnum;
use crate::model::snapshot::Value;
use crate::storage::forward::series::{Operation, SeriesKey};

/// The current state among the variants of `E`: written as one series per state, labelled by
/// the family's name, 1 for the current state and 0 for the others (`stateset` in
/// OpenMetrics, a gauge in the other formats). The first variant is current until set.
///
/// ```rust,standalone_crate
/// #[derive(Clone, Copy, track_metrics::LabelValue)]
/// pub enum TaskState {
///     #[label = "starting"]
///     Starting,
///     #[label = "running"]
///     Running,
///     #[label = "stopped"]
///     Stopped,
/// }
///
/// track_metrics::metrics! {
///     /// The state of the background task
///     pub enum TASK_STATE: task_state<TaskState>;
/// }
///
/// track_metrics::Exporter::builder().without_listener().install()?;
/// TASK_STATE.state(TaskState::Running);
/// assert_eq!(TASK_STATE.get(), "running");
/// let text = track_metrics::render();
/// assert!(text.contains("task_state{task_state=\"running\"} 1\n"));
/// assert!(text.contains("task_state{task_state=\"stopped\"} 0\n"));
/// # Ok::<(), track_metrics::Error>(())
/// ```
// `repr(C)`: every `StateSet<E>` has the layout of `Discarded`, whatever `E`.
#[repr(C)]
pub struct StateSet<E> {
    current: AtomicUsize,
    state_type: PhantomData<fn(E)>,
    /// Who it is to the application's `metrics` recorder.
    forward: Option<&'static SeriesKey>,
}

impl<E> std::fmt::Debug for StateSet<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSet")
            .field("current", &self.current.load(Ordering::Relaxed))
            .finish()
    }
}

/// A state set that no scrape reads, for every `E` at once: the fields of `StateSet<E>` without
/// its marker (see `crate::storage::reentry`).
#[repr(C)]
struct Discarded {
    current: AtomicUsize,
    state_type: PhantomData<fn(())>,
    forward: Option<&'static SeriesKey>,
}

static DISCARDED: Discarded = Discarded {
    current: AtomicUsize::new(0),
    state_type: PhantomData,
    forward: None,
};

impl<E: LabelEnum> StateSet<E> {
    /// The state set that no scrape reads.
    pub(crate) fn discarded() -> &'static Self {
        const {
            assert!(size_of::<Discarded>() == size_of::<StateSet<E>>());
            assert!(align_of::<Discarded>() == align_of::<StateSet<E>>());
        }
        // SAFETY: both are `repr(C)` with the same fields but for a zero-sized marker, so
        // `Discarded` has the layout of every `StateSet<E>`; it is only ever read as one.
        unsafe { &*std::ptr::from_ref(&DISCARDED).cast::<StateSet<E>>() }
    }

    pub(crate) const fn new() -> Self {
        StateSet {
            current: AtomicUsize::new(0),
            state_type: PhantomData,
            forward: None,
        }
    }

    /// The same state set, also told to the application's recorder as `key`.
    pub(crate) fn forwarded_as(mut self, key: &'static SeriesKey) -> Self {
        self.forward = Some(key);
        self
    }

    /// Makes `state` the current state.
    pub fn state(&self, state: E) {
        let value = state.label_value();
        if let Some(index) = E::VARIANTS.iter().position(|variant| *variant == value) {
            self.current.store(index, Ordering::Relaxed);
            if let Some(key) = self.forward {
                key.forward(Operation::State(index));
            }
        }
    }

    /// The current state's label value.
    pub fn get(&self) -> &'static str {
        E::VARIANTS
            .get(self.current.load(Ordering::Relaxed))
            .copied()
            .unwrap_or_default()
    }

    pub(crate) fn value(&self) -> Value {
        Value::StateSet {
            states: E::VARIANTS,
            current: self.current.load(Ordering::Relaxed),
        }
    }
}
