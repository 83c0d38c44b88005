//! Exemplars: per bucket (or per counter), the last observation made inside a sampled trace.
//!
//! Where the trace comes from is set once by `install()`: the current OpenTelemetry context
//! (feature `otel`), a function of the application's, or nowhere. With nowhere, asking costs
//! one load of a pointer; with a source and no sampled trace, what the source costs (for
//! OpenTelemetry, a look at a thread-local). Only an observation inside a sampled trace reads
//! the wall clock and writes a slot.
//!
//! Slots are per-thread cells, written without a lock, and an instrumented function's exemplar
//! is timed by the clock reading that ended its call: a sampled call reads no other clock.

use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::model::snapshot::{Exemplar, Trace};
use crate::storage::cells::{self, Cells, Fold};
use crate::storage::reentry;

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

/// The exemplars of one series: per bucket, the newest observation made in a sampled trace,
/// kept in per-thread cells made at the first exemplar. A block holds, per bucket, the value,
/// the time, the trace id and the span id (5 words after the sequence number), written with
/// plain stores under the block's sequence number, no lock; a reader keeps the newest of each
/// bucket. The blocks of exited threads leave their newest exemplars to `rest`.
pub(crate) struct Exemplars {
    len: usize,
    cells: OnceLock<&'static Cells>,
    rest: OnceLock<&'static Mutex<Vec<Option<Exemplar>>>>,
}

/// Words per exemplar.
const WORDS: usize = 5;

impl Exemplars {
    /// Exemplars for `len` buckets (1 for a counter).
    pub(crate) const fn new(len: usize) -> Self {
        Exemplars {
            len,
            cells: OnceLock::new(),
            rest: OnceLock::new(),
        }
    }

    /// Keeps `value`, observed now in `trace`, as the exemplar of bucket `index`.
    #[cold]
    pub(crate) fn record(&self, index: usize, value: f64, trace: Trace) {
        self.record_at(index, value, crate::storage::clock::now_seconds(), trace);
    }

    /// Keeps `value`, observed at `timestamp` (seconds since the Unix epoch) in `trace`, as the
    /// exemplar of bucket `index`.
    #[inline]
    pub(crate) fn record_at(&self, index: usize, value: f64, timestamp: f64, trace: Trace) {
        if index >= self.len {
            return;
        }
        let Some(cells) = self.cells() else { return };
        let first = 1 + index * WORDS;
        let trace_id = u128::from_be_bytes(trace.trace_id);
        cells.write(|words| {
            cells::together(words, |words| {
                words[first].store(value.to_bits(), Ordering::Relaxed);
                words[first + 1].store(timestamp.to_bits(), Ordering::Relaxed);
                words[first + 2].store((trace_id >> 64) as u64, Ordering::Relaxed);
                words[first + 3].store(trace_id as u64, Ordering::Relaxed);
                words[first + 4].store(u64::from_be_bytes(trace.span_id), Ordering::Relaxed);
            });
        });
    }

    /// The cells, made at the first exemplar (which allocates: not from re-entered work).
    #[inline]
    fn cells(&self) -> Option<&'static Cells> {
        if let Some(cells) = self.cells.get() {
            return Some(cells);
        }
        self.make()
    }

    #[cold]
    fn make(&self) -> Option<&'static Cells> {
        let len = self.len;
        let made = reentry::guarded(|| {
            let rest: &'static Mutex<Vec<Option<Exemplar>>> = self
                .rest
                .get_or_init(|| Box::leak(Box::new(Mutex::new(vec![None; len]))));
            let fold: &'static (dyn Fn(&[u64]) + Sync) =
                Box::leak(Box::new(move |words: &[u64]| {
                    let mut rest = rest.lock().unwrap_or_else(PoisonError::into_inner);
                    for (slot, exemplar) in rest.iter_mut().zip(decode(&words[1..], len)) {
                        keep_newest(slot, exemplar);
                    }
                }));
            *self
                .cells
                .get_or_init(|| Cells::new(1 + len * WORDS, Fold::Custom(fold)))
        })?;
        Some(made)
    }

    /// The exemplar of each slot; empty when none was ever recorded.
    pub(crate) fn read(&self) -> Vec<Option<Exemplar>> {
        let Some(cells) = self.cells.get() else {
            return Vec::new();
        };
        let mut newest = vec![None; self.len];
        let mut copy = vec![0_u64; self.len * WORDS];
        {
            // No block is folded into the rest while they are read.
            let reading = cells.reading();
            reading.for_each_block(|words| {
                cells::read(words, &mut copy);
                for (slot, exemplar) in newest.iter_mut().zip(decode(&copy, self.len)) {
                    keep_newest(slot, exemplar);
                }
            });
            if let Some(rest) = self.rest.get() {
                let rest = rest.lock().unwrap_or_else(PoisonError::into_inner);
                for (slot, exemplar) in newest.iter_mut().zip(rest.iter()) {
                    keep_newest(slot, *exemplar);
                }
            }
        }
        newest
    }
}

/// The exemplars in a block's words after the sequence number; a time of zero is none.
fn decode(words: &[u64], len: usize) -> impl Iterator<Item = Option<Exemplar>> + '_ {
    (0..len).map(|index| {
        let words = &words[index * WORDS..][..WORDS];
        let timestamp = f64::from_bits(words[1]);
        (timestamp != 0.0).then(|| {
            let trace_id = (u128::from(words[2]) << 64) | u128::from(words[3]);
            Exemplar {
                value: f64::from_bits(words[0]),
                timestamp,
                trace: Trace {
                    trace_id: trace_id.to_be_bytes(),
                    span_id: words[4].to_be_bytes(),
                },
            }
        })
    })
}

fn keep_newest(slot: &mut Option<Exemplar>, exemplar: Option<Exemplar>) {
    if let Some(exemplar) = exemplar
        && slot.is_none_or(|kept| kept.timestamp < exemplar.timestamp)
    {
        *slot = Some(exemplar);
    }
}
