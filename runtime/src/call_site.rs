//! The call site that `#[track_metrics]` puts in every function, and the guard that records one
//! call.
//!
//! A call site is a `static` inside the instrumented function. It holds the metric handles once
//! `install()` has run, so a call after that is two atomic operations and two clock reads: no
//! registry lookup, no hashing, no allocation. Before `install()` a call records nothing and
//! caches nothing, so the handles never point to a recorder that is not the installed one.

use std::sync::OnceLock;

use metrics::{Counter, Histogram};
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
    pub(crate) fn register(&self, recorder: &exporter::Installed) -> &SiteHandles {
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
            None => CallGuard { active: None },
        }
    }
}

/// Records one call of an instrumented function when dropped.
///
/// Dropping happens when the body returns, when `?` returns early, while a panic unwinds, and
/// when an `async fn` future is dropped before it completes: every one of them is a call that
/// took time.
pub struct CallGuard {
    active: Option<(&'static SiteHandles, Instant)>,
}

impl CallGuard {
    #[inline]
    fn start(handles: &'static SiteHandles) -> Self {
        handles.calls.increment(1);
        CallGuard {
            active: Some((handles, Instant::now())),
        }
    }
}

impl Drop for CallGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some((handles, start)) = &self.active {
            handles.duration.record(start.elapsed().as_secs_f64());
        }
    }
}
