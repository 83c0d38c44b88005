//! Exemplars: per bucket (or per counter), the last observation made inside a sampled trace.
//!
//! Where the trace comes from is set once by `install()`: the current OpenTelemetry context
//! (feature `otel`), a function of the application's, or nowhere. With nowhere, asking costs
//! one load of a pointer; with a source and no sampled trace, what the source costs (for
//! OpenTelemetry, a look at a thread-local). Only an observation inside a sampled trace reads
//! the wall clock and writes a slot.
//!
//! A slot is written under a `try_lock`: a writer that finds it busy leaves the exemplar that
//! another thread is writing, since an exemplar is one sample among many, and no call waits.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::snapshot::{Exemplar, Trace};

/// Where exemplars come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source {
    /// The current OpenTelemetry context.
    #[cfg(feature = "otel")]
    OpenTelemetry,
    /// A function of the application's.
    Function(fn() -> Option<Trace>),
}

static SOURCE: OnceLock<Source> = OnceLock::new();

/// Sets the source for the rest of the process; `install()` calls it once.
pub(crate) fn set_source(source: Source) {
    let _ = SOURCE.set(source);
}

/// The sampled trace the current call is in, if there is a source and one.
#[inline]
pub(crate) fn current() -> Option<Trace> {
    match SOURCE.get()? {
        #[cfg(feature = "otel")]
        Source::OpenTelemetry => opentelemetry::current(),
        // An application's function may panic: an exemplar is not worth unwinding a call
        // (in a drop, that would abort). Measured at 15 ns a call, so not on OpenTelemetry's.
        Source::Function(source) => from_function(*source),
    }
}

/// An application's source, once per thread at a time: a source that records metrics itself
/// (into a family with exemplars) would otherwise call itself until the stack overflows.
fn from_function(source: fn() -> Option<Trace>) -> Option<Trace> {
    thread_local! {
        static IN_SOURCE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if IN_SOURCE
        .try_with(|busy| busy.replace(true))
        .unwrap_or(true)
    {
        return None;
    }
    let trace = std::panic::catch_unwind(source).ok().flatten();
    let _ = IN_SOURCE.try_with(|busy| busy.set(false));
    trace
}

/// OpenTelemetry's context, read without `catch_unwind` yet never after this thread's
/// thread-locals began to be destroyed (where reading it would panic, and abort in a drop).
#[cfg(feature = "otel")]
mod opentelemetry {
    use std::cell::Cell;

    use opentelemetry::trace::TraceContextExt as _;

    use crate::model::snapshot::Trace;

    const NEW: u8 = 0;
    const READY: u8 = 1;
    const GONE: u8 = 2;
    /// The first read runs: the context's thread-local is being made, which allocates, and a
    /// call from that allocation must not read it again.
    const OPENING: u8 = 3;

    thread_local! {
        /// No destructor: readable until the thread's very end.
        static STATE: Cell<u8> = const { Cell::new(NEW) };
        /// First touched just after OpenTelemetry's context, so destroyed just before it
        /// (thread-locals are destroyed in the reverse order of their first use); its drop
        /// marks the context as gone.
        static GUARD: Guard = const { Guard };
    }

    struct Guard;

    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = STATE.try_with(|state| state.set(GONE));
        }
    }

    #[inline]
    pub(super) fn current() -> Option<Trace> {
        match STATE.try_with(Cell::get) {
            Ok(READY) => sampled(),
            Ok(NEW) => match opening() {
                // The context was readable: from now on the guard says when it is gone.
                Ok(trace) => {
                    let ready = GUARD.try_with(|_| ()).is_ok();
                    let _ = STATE.try_with(|state| state.set(if ready { READY } else { GONE }));
                    trace
                }
                // Read after it was destroyed (from a thread-local's destructor): never again.
                Err(_) => {
                    let _ = STATE.try_with(|state| state.set(GONE));
                    None
                }
            },
            _ => None,
        }
    }

    /// The first read on this thread, marked so that a read from inside it returns nothing.
    #[cold]
    fn opening() -> std::thread::Result<Option<Trace>> {
        let _ = STATE.try_with(|state| state.set(OPENING));
        std::panic::catch_unwind(sampled)
    }

    #[inline]
    fn sampled() -> Option<Trace> {
        opentelemetry::Context::map_current(|context| {
            let span = context.span();
            let span = span.span_context();
            (span.is_sampled() && span.is_valid()).then(|| Trace {
                trace_id: span.trace_id().to_bytes(),
                span_id: span.span_id().to_bytes(),
            })
        })
    }
}

/// The exemplar slots of one series, made at its first exemplar.
pub(crate) struct Exemplars {
    len: usize,
    slots: OnceLock<Box<[Mutex<Option<Exemplar>>]>>,
}

impl Exemplars {
    /// Slots for `len` buckets (1 for a counter).
    pub(crate) const fn new(len: usize) -> Self {
        Exemplars {
            len,
            slots: OnceLock::new(),
        }
    }

    /// Keeps `value`, observed now in `trace`, as the exemplar of bucket `index`.
    #[cold]
    pub(crate) fn record(&self, index: usize, value: f64, trace: Trace) {
        let slots = self
            .slots
            .get_or_init(|| (0..self.len).map(|_| Mutex::new(None)).collect());
        let Some(slot) = slots.get(index) else {
            return;
        };
        if let Ok(mut slot) = slot.try_lock() {
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64());
            *slot = Some(Exemplar {
                value,
                timestamp,
                trace,
            });
        }
    }

    /// The exemplar of each slot; empty when none was ever recorded.
    pub(crate) fn read(&self) -> Vec<Option<Exemplar>> {
        self.slots.get().map_or_else(Vec::new, |slots| {
            slots
                .iter()
                .map(|slot| *slot.lock().unwrap_or_else(PoisonError::into_inner))
                .collect()
        })
    }
}
