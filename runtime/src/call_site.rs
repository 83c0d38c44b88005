//! The call site that `#[track_metrics]` puts in every function, and the guard that records one
//! call.
//!
//! A call site is a `static` inside the instrumented function. Once `install()` has run it holds
//! the function's series, atomics of its own, so that a call is a counter increment, two clock
//! reads and a histogram observation: no registry lookup, no hashing, no allocation. Before
//! `install()` a call records nothing, since the histogram's buckets are the installed
//! exporter's to decide.

use std::sync::{OnceLock, PoisonError, RwLock};

use quanta::Clock;

use crate::clock::seconds_between;
use crate::series::{Counter, Gauge, Histogram};

use crate::exporter;

/// Every call site of every instrumented function of the program, gathered by the linker.
#[linkme::distributed_slice]
pub static CALL_SITES: [CallSite];

/// What the macro knows about an instrumented function at compile time.
#[derive(Debug)]
pub struct SiteInfo {
    /// The `function` label.
    pub function: &'static str,
    /// The `module` label: `module_path!()` where the function is written.
    pub module: &'static str,
    /// Source file, for error messages.
    pub file: &'static str,
    /// Source line of the function's name, for error messages.
    pub line: u32,
    /// Name of the call counter.
    pub calls: &'static str,
    /// Name of the duration histogram.
    pub duration: &'static str,
    /// Name of the error counter.
    pub errors: &'static str,
    /// Name of the in-flight gauge.
    pub in_flight: &'static str,
    /// Whether the attribute asked for the in-flight gauge (the builder can ask for all).
    pub track_in_flight: bool,
    /// Constant labels after `function` and `module`.
    pub labels: &'static [(&'static str, &'static str)],
    /// Bucket bounds of the duration family; empty for the family's default.
    pub buckets: &'static [f64],
}

impl SiteInfo {
    /// `function` at `file:line`, as error messages name a site.
    pub(crate) fn describe(&self) -> String {
        format!("`{}` ({}:{})", self.function, self.file, self.line)
    }
}

/// The series of one site.
pub(crate) struct SiteHandles {
    pub(crate) clock: &'static Clock,
    pub(crate) calls: Counter,
    pub(crate) duration: Histogram,
    pub(crate) in_flight: Option<Gauge>,
    /// One counter per error type seen, created at its first error: the set of error types of a
    /// function is fixed by its code, so this stays small.
    pub(crate) errors: RwLock<Vec<(&'static str, &'static Counter)>>,
}

impl SiteHandles {
    #[cold]
    fn record_error(&self, error_type: &'static str) {
        let known = self.errors.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, counter)) = known.iter().find(|(known, _)| *known == error_type) {
            counter.inc();
            return;
        }
        drop(known);
        let mut errors = self.errors.write().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, counter)) = errors.iter().find(|(known, _)| *known == error_type) {
            counter.inc();
            return;
        }
        // Bounded by the error types the function's code can produce.
        let counter: &'static Counter = Box::leak(Box::default());
        counter.inc();
        errors.push((error_type, counter));
    }

    /// The error counters so far.
    pub(crate) fn errors(&self) -> Vec<(&'static str, &'static Counter)> {
        self.errors
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One instrumented function.
pub struct CallSite {
    info: SiteInfo,
    handles: OnceLock<SiteHandles>,
}

impl CallSite {
    /// A call site with no handles yet.
    pub const fn new(info: SiteInfo) -> Self {
        CallSite {
            info,
            handles: OnceLock::new(),
        }
    }

    pub(crate) fn info(&self) -> &SiteInfo {
        &self.info
    }

    /// Its series, once registered.
    pub(crate) fn handles(&self) -> Option<&SiteHandles> {
        self.handles.get()
    }

    /// Registers the site's series with the installed recorder, once.
    pub(crate) fn register(&'static self, recorder: &exporter::Installed) -> &'static SiteHandles {
        self.handles
            .get_or_init(|| recorder.site_handles(&self.info))
    }

    /// Counts a call and starts its clock; the returned guard records the duration when dropped.
    #[inline]
    pub fn enter(&'static self) -> CallGuard {
        match self.handles.get() {
            Some(handles) => CallGuard::start(handles),
            None => self.enter_uncached(),
        }
    }

    /// The first call after `install()`, when the linker did not list this site, or any call
    /// before `install()`.
    #[cold]
    #[inline(never)]
    fn enter_uncached(&'static self) -> CallGuard {
        match exporter::installed() {
            Some(installed) => CallGuard::start(self.register(installed)),
            None => CallGuard {
                active: None,
                completed: false,
            },
        }
    }
}

/// Records one call of an instrumented function when dropped.
///
/// Dropping happens when the body returns, when `?` returns early, while a panic unwinds, and
/// when an `async fn` future is dropped before it completes: every one of them is a call that
/// took time. A call that did not reach [`CallGuard::finish`] is an error: `panic` while
/// unwinding, `cancelled` otherwise (an `async fn` future dropped before completion).
pub struct CallGuard {
    /// The site's series and the raw clock reading at the start.
    active: Option<(&'static SiteHandles, u64)>,
    completed: bool,
}

impl CallGuard {
    #[inline]
    fn start(handles: &'static SiteHandles) -> Self {
        handles.calls.inc();
        if let Some(in_flight) = &handles.in_flight {
            in_flight.inc();
        }
        CallGuard {
            active: Some((handles, handles.clock.raw())),
            completed: false,
        }
    }

    /// The body returned, with an `Err` of this type or not.
    #[inline]
    pub fn finish(&mut self, error_type: Option<&'static str>) {
        self.completed = true;
        if let (Some(error_type), Some((handles, _))) = (error_type, &self.active) {
            handles.record_error(error_type);
        }
    }
}

impl Drop for CallGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some((handles, start)) = &self.active {
            let seconds = seconds_between(handles.clock, *start, handles.clock.raw());
            handles.duration.observe(seconds);
            if !self.completed {
                handles.record_error(if std::thread::panicking() {
                    "panic"
                } else {
                    "cancelled"
                });
            }
            if let Some(in_flight) = &handles.in_flight {
                in_flight.dec();
            }
        }
    }
}
