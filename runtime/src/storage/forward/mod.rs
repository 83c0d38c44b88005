//! The application's own `metrics` recorder: where `#[track_metrics]` sites and `metrics!`
//! families record when track-metrics is not installed, so that a library's instrumentation
//! reaches whatever exporter the program runs (metrics-exporter-prometheus, statsd, an
//! OpenTelemetry bridge, a test's `DebuggingRecorder`).
//!
//! The facade answers each lookup with the recorder of the moment: the thread's local recorder
//! (`metrics::with_local_recorder`), else the global one, else a no-op. Handles are kept only
//! when they come from the global recorder, which lives for the rest of the process once set;
//! a local recorder is asked at each operation, since its address may be another recorder's
//! later. The no-op recorder is never asked and nothing is kept from it, so that a site first
//! called before the application sets its recorder records through that recorder from the next
//! call on, instead of holding a no-op handle forever (the facade's known trap).
//!
//! The facade does not say which recorder is the global one. A thread that has never set a
//! local recorder sees it, so the first time a recorder that is not the no-op shows up, a
//! short-lived thread looks (at most every [`PROBE_INTERVAL`] while there is none).

pub(crate) mod series;
pub(crate) mod site;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit};

use crate::model::kind::Kind;

/// How often a thread may look for the global recorder while none is set but a local one is in
/// use (a test's `with_local_recorder`).
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// The recorder an operation records through.
#[derive(Clone, Copy)]
pub(crate) enum Current<'a> {
    /// The facade's no-op recorder: nothing records.
    Nothing,
    /// The global recorder: its handles may be kept.
    Global(&'static dyn Recorder),
    /// A thread's local recorder: ask it every time.
    Local(&'a dyn Recorder),
}

impl<'a> Current<'a> {
    /// The recorder, unless it is the no-op one.
    pub(crate) fn recorder(self) -> Option<&'a dyn Recorder> {
        match self {
            Current::Nothing => None,
            Current::Global(recorder) => Some(recorder),
            Current::Local(recorder) => Some(recorder),
        }
    }
}

/// The global recorder, once seen from a thread without a local one.
static GLOBAL: OnceLock<GlobalRecorder> = OnceLock::new();

/// Runs `work` with the recorder this thread records through now.
#[inline]
pub(crate) fn with_current<R>(work: impl FnOnce(Current<'_>) -> R) -> R {
    metrics::with_recorder(|recorder| {
        if let Some(GlobalRecorder(global)) = GLOBAL.get()
            && same_object(*global, recorder)
        {
            return work(Current::Global(*global));
        }
        if is_noop(recorder) {
            return work(Current::Nothing);
        }
        match global_recorder() {
            Some(global) if same_object(global, recorder) => work(Current::Global(global)),
            _ => work(Current::Local(recorder)),
        }
    })
}

/// Whether this thread records through the facade's no-op recorder now: nothing is installed.
#[inline]
pub(crate) fn nothing() -> bool {
    metrics::with_recorder(is_noop)
}

/// Whether `recorder` is the facade's no-op recorder: a zero-sized value at a real address (the
/// `static` the facade keeps), where a zero-sized recorder set with `set_global_recorder` or made
/// in place sits at the dangling address of its alignment.
fn is_noop(recorder: &dyn Recorder) -> bool {
    std::mem::size_of_val(recorder) == 0
        && std::ptr::from_ref(recorder).cast::<()>() as usize != std::mem::align_of_val(recorder)
}

/// Whether two references are the same recorder: the same address, size and alignment (two
/// zero-sized recorders share an address, and then behave alike whatever their vtables say).
fn same_object(a: &dyn Recorder, b: &dyn Recorder) -> bool {
    std::ptr::addr_eq(a, b)
        && std::mem::size_of_val(a) == std::mem::size_of_val(b)
        && std::mem::align_of_val(a) == std::mem::align_of_val(b)
}

/// The global recorder, looked for from a thread of its own if not known yet.
#[cold]
fn global_recorder() -> Option<&'static dyn Recorder> {
    if let Some(GlobalRecorder(global)) = GLOBAL.get() {
        return Some(*global);
    }
    static LAST_PROBE: Mutex<Option<Instant>> = Mutex::new(None);
    // Another thread probing, or one probed just now: this operation asks its recorder itself.
    let mut last = match LAST_PROBE.try_lock() {
        Ok(last) => last,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return None,
    };
    if last.is_some_and(|at| at.elapsed() < PROBE_INTERVAL) {
        return None;
    }
    *last = Some(Instant::now());
    // Spawning allocates: an instrumented call from that allocation asks its recorder itself.
    let found = crate::storage::reentry::guarded(probe).flatten()?;
    Some(GLOBAL.get_or_init(|| found).0)
}

/// The facade's global recorder, as a thread without a local one sees it.
fn probe() -> Option<GlobalRecorder> {
    std::thread::Builder::new()
        .name("track-metrics-probe".to_owned())
        .spawn(|| {
            metrics::with_recorder(|recorder| {
                // SAFETY: on a new thread there is no local recorder, so the facade answers with
                // its global recorder or its no-op one, both `'static`.
                let recorder: &'static dyn Recorder = unsafe {
                    std::mem::transmute::<&dyn Recorder, &'static dyn Recorder>(recorder)
                };
                (!is_noop(recorder)).then_some(GlobalRecorder(recorder))
            })
        })
        .ok()?
        .join()
        .ok()
        .flatten()
}

/// The global recorder, once known.
pub(crate) fn global() -> Option<Current<'static>> {
    GLOBAL
        .get()
        .map(|GlobalRecorder(global)| Current::Global(*global))
}

static SAID: AtomicBool = AtomicBool::new(false);

/// Says once, through `log`, that an instrumented function ran with nothing to record it.
#[inline(always)]
pub(crate) fn nothing_records() {
    // Read before it is written: a call that records nothing stays a load and a branch.
    if !SAID.load(Ordering::Relaxed) {
        say_nothing_records();
    }
}

#[cold]
#[inline(never)]
fn say_nothing_records() {
    if !SAID.swap(true, Ordering::Relaxed) {
        log::info!(
            target: "track_metrics",
            "a `#[track_metrics]` function or `metrics!` family was used, but nothing records \
             it: call `track_metrics::install()` to serve its metrics, or install a `metrics` \
             recorder (such as metrics-exporter-prometheus) to record through it. Calls made \
             meanwhile are not counted"
        );
    }
}

/// The facade's global recorder, which `metrics::set_global_recorder` requires to be `Sync`.
struct GlobalRecorder(&'static dyn Recorder);

// SAFETY: only the global recorder is kept in it, and `metrics::set_global_recorder` takes only
// `Recorder + Sync + 'static` values.
unsafe impl Send for GlobalRecorder {}
// SAFETY: as above.
unsafe impl Sync for GlobalRecorder {}

/// The HELP and unit of a family, told to a recorder before its first series is registered.
#[derive(Clone, Copy)]
pub(crate) struct Description {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) kind: Kind,
}

impl Description {
    /// The unit the name ends in, as `promtool` reads base units.
    fn unit(self) -> Option<Unit> {
        if self.name.ends_with("_seconds") {
            Some(Unit::Seconds)
        } else if self.name.ends_with("_bytes") {
            Some(Unit::Bytes)
        } else {
            None
        }
    }

    /// Tells `recorder` the family's HELP: once per family for the global recorder, every time
    /// for a local one (which is asked again at every operation anyway).
    fn tell(self, current: Current<'_>) {
        let Some(recorder) = current.recorder() else {
            return;
        };
        if let Current::Global(_) = current {
            static TOLD: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
            let mut told = TOLD.lock().unwrap_or_else(PoisonError::into_inner);
            if !told.get_or_insert_with(HashSet::new).insert(self.name) {
                return;
            }
        }
        let name = KeyName::from_const_str(self.name);
        let help = SharedString::const_str(self.help);
        match self.kind {
            Kind::Counter => recorder.describe_counter(name, self.unit(), help),
            Kind::Histogram | Kind::Summary => recorder.describe_histogram(name, self.unit(), help),
            _ => recorder.describe_gauge(name, self.unit(), help),
        }
    }
}

/// What a registration tells the recorder besides the key: where the metric comes from.
fn metadata(module: &'static str) -> Metadata<'static> {
    Metadata::new(module, Level::INFO, Some(module))
}

/// The key of a series: a static name, and labels.
pub(crate) fn key(name: &'static str, labels: Vec<Label>) -> Key {
    Key::from_parts(KeyName::from_const_str(name), labels)
}

/// Registers a counter of `description`'s family with the recorder of `current`.
pub(crate) fn counter(
    current: Current<'_>,
    description: Description,
    module: &'static str,
    key: &Key,
) -> metrics::Counter {
    let Some(recorder) = current.recorder() else {
        return metrics::Counter::noop();
    };
    description.tell(current);
    recorder.register_counter(key, &metadata(module))
}

/// Registers a gauge of `description`'s family with the recorder of `current`.
pub(crate) fn gauge(
    current: Current<'_>,
    description: Description,
    module: &'static str,
    key: &Key,
) -> metrics::Gauge {
    let Some(recorder) = current.recorder() else {
        return metrics::Gauge::noop();
    };
    description.tell(current);
    recorder.register_gauge(key, &metadata(module))
}

/// Registers a histogram of `description`'s family with the recorder of `current`.
pub(crate) fn histogram(
    current: Current<'_>,
    description: Description,
    module: &'static str,
    key: &Key,
) -> metrics::Histogram {
    let Some(recorder) = current.recorder() else {
        return metrics::Histogram::noop();
    };
    description.tell(current);
    recorder.register_histogram(key, &metadata(module))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sized(#[allow(dead_code)] u64);

    impl Recorder for Sized {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> metrics::Counter {
            metrics::Counter::noop()
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[test]
    fn the_facades_no_op_recorder_is_told_apart_from_real_ones() {
        // No unit test sets a global recorder: a new thread sees the facade's no-op one.
        std::thread::spawn(|| metrics::with_recorder(|recorder| assert!(is_noop(recorder))))
            .join()
            .unwrap();
        metrics::with_local_recorder(&Sized(1), || {
            metrics::with_recorder(|recorder| assert!(!is_noop(recorder)));
            with_current(|current| assert!(matches!(current, Current::Local(_))));
        });
        // A zero-sized recorder made in place sits at a dangling address, not the facade's.
        metrics::with_local_recorder(&metrics::NoopRecorder, || {
            metrics::with_recorder(|recorder| assert!(!is_noop(recorder)));
        });
    }
}
