//! The call site that `#[track_metrics]` puts in every function, and the guard that records one
//! call.
//!
//! A call site is a `static` inside the instrumented function. It holds the metric handles once
//! `install()` has run, so a call after that is two atomic operations and two clock reads: no
//! registry lookup, no hashing, no allocation. Before `install()` a call records nothing and
//! caches nothing, so the handles never point to a recorder that is not the installed one.

use std::sync::{OnceLock, PoisonError, RwLock};

use metrics::{Counter, Gauge, Histogram};
use quanta::Instant;

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

/// The handles of one site, registered with the installed recorder.
pub(crate) struct SiteHandles {
    pub(crate) calls: Counter,
    pub(crate) duration: Histogram,
    pub(crate) in_flight: Option<Gauge>,
    /// One counter per error type seen, registered at its first error: the set of error types
    /// of a function is fixed by its code, so this stays small.
    pub(crate) errors: RwLock<Vec<(&'static str, Counter)>>,
    pub(crate) info: &'static SiteInfo,
}

impl SiteHandles {
    #[cold]
    fn record_error(&self, error_type: &'static str) {
        let known = self.errors.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, counter)) = known.iter().find(|(known, _)| *known == error_type) {
            counter.increment(1);
            return;
        }
        drop(known);
        let mut errors = self.errors.write().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, counter)) = errors.iter().find(|(known, _)| *known == error_type) {
            counter.increment(1);
            return;
        }
        let counter = match exporter::installed() {
            Some(installed) => installed.error_counter(self.info, error_type),
            None => Counter::noop(),
        };
        counter.increment(1);
        errors.push((error_type, counter));
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
    active: Option<(&'static SiteHandles, Instant)>,
    completed: bool,
}

impl CallGuard {
    #[inline]
    fn start(handles: &'static SiteHandles) -> Self {
        handles.calls.increment(1);
        if let Some(in_flight) = &handles.in_flight {
            in_flight.increment(1.0);
        }
        CallGuard {
            active: Some((handles, Instant::now())),
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
            handles.duration.record(start.elapsed().as_secs_f64());
            if !self.completed {
                handles.record_error(if std::thread::panicking() {
                    "panic"
                } else {
                    "cancelled"
                });
            }
            if let Some(in_flight) = &handles.in_flight {
                in_flight.decrement(1.0);
            }
        }
    }
}
