//! What a render is doing now, for the answer to a scrape that waited too long for it: the gauge
//! function it is in, and since when. The render sets where to report for its thread; the
//! families report around each gauge function they call.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One render's progress.
#[derive(Debug, Default)]
#[cfg_attr(not(any(feature = "http", feature = "axum")), allow(dead_code))]
pub(crate) struct Progress {
    started: AtomicBool,
    in_gauge: Mutex<Option<(&'static str, Instant)>>,
}

#[cfg_attr(not(any(feature = "http", feature = "axum")), allow(dead_code))]
impl Progress {
    /// Whether the render has started (it may still wait for a slot).
    pub(crate) fn started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    /// The gauge family whose function the render is in, and for how long, if it is in one.
    pub(crate) fn in_gauge(&self) -> Option<(&'static str, Duration)> {
        self.in_gauge
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|(family, since)| (family, since.elapsed()))
    }

    fn set(&self, gauge: Option<(&'static str, Instant)>) {
        *self.in_gauge.lock().unwrap_or_else(PoisonError::into_inner) = gauge;
    }
}

thread_local! {
    static REPORTING: RefCell<Option<Arc<Progress>>> = const { RefCell::new(None) };
}

/// Runs `render` with its progress reported to `progress`.
#[cfg_attr(not(any(feature = "http", feature = "axum")), allow(dead_code))]
pub(crate) fn reporting<R>(progress: Arc<Progress>, render: impl FnOnce() -> R) -> R {
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            let _ = REPORTING.try_with(|reporting| reporting.borrow_mut().take());
        }
    }
    // Before anything is read: a scrape that sees it unset is seen by the render.
    progress.started.store(true, Ordering::SeqCst);
    let _ = REPORTING.try_with(|reporting| *reporting.borrow_mut() = Some(progress));
    let _done = Done;
    render()
}

/// Runs `read`, which may call the function of a gauge of `family`, reported as such.
pub(crate) fn in_gauge<R>(family: &'static str, read: impl FnOnce() -> R) -> R {
    let progress = REPORTING
        .try_with(|reporting| reporting.borrow().clone())
        .ok()
        .flatten();
    let Some(progress) = progress else {
        return read();
    };
    struct Left(Arc<Progress>);
    impl Drop for Left {
        fn drop(&mut self) {
            self.0.set(None);
        }
    }
    progress.set(Some((family, Instant::now())));
    let _left = Left(progress);
    read()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_render_reports_the_gauge_it_is_in() {
        let progress = Arc::new(Progress::default());
        let seen = reporting(Arc::clone(&progress), || {
            in_gauge("queue_depth", || {
                progress.in_gauge().map(|(family, _)| family)
            })
        });
        assert_eq!(seen, Some("queue_depth"));
        assert_eq!(progress.in_gauge(), None);
        // Outside a render, nothing is reported.
        assert_eq!(in_gauge("x", || 1), 1);
    }
}
