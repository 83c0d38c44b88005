//! One guard against re-entry on the same thread: while track-metrics creates a series (which
//! allocates) or runs the application recorder's code, an operation that comes back into it
//! from that thread (a `#[global_allocator]` that records, a recorder that calls instrumented
//! code) must neither wait for a lock or a cell its own thread holds, nor recurse without end.
//! It records into what exists already, and an operation that would have to create a series is
//! dropped and counted in `track_metrics_reentered_operations_total`.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Operations dropped because they re-entered track-metrics on their own thread.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Runs `work`, which may allocate or run the application's code, unless this thread is inside
/// such work already: then `None`, and the caller drops its operation. A panic of `work` (an
/// application recorder's) is caught and the operation dropped too: this runs from drop guards,
/// where a second panic while unwinding would abort the process.
///
/// A thread whose thread-locals are being destroyed cannot be told apart; it runs `work`, as
/// nothing of ours is on its stack then.
#[inline]
pub(crate) fn guarded<R>(work: impl FnOnce() -> R) -> Option<R> {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            let _ = INSIDE.try_with(|inside| inside.set(false));
        }
    }
    match INSIDE.try_with(|inside| inside.replace(true)) {
        Ok(true) => {
            dropped();
            None
        }
        Ok(false) => {
            let _leave = Leave;
            caught(work)
        }
        Err(_) => caught(work),
    }
}

fn caught<R>(work: impl FnOnce() -> R) -> Option<R> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).ok();
    if result.is_none() {
        dropped();
    }
    result
}

/// Whether this thread is inside guarded work now: an operation that would have to wait or
/// create must not.
#[inline]
pub(crate) fn inside() -> bool {
    INSIDE.try_with(Cell::get).unwrap_or(false)
}

/// Counts an operation dropped for re-entering.
#[cold]
pub(crate) fn dropped() {
    DROPPED.fetch_add(1, Ordering::Relaxed);
}

/// Operations dropped so far.
pub(crate) fn dropped_count() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_inside_work_is_refused_and_counted() {
        let before = dropped_count();
        let outer = guarded(|| (inside(), guarded(|| ()).is_none()));
        assert_eq!(outer, Some((true, true)));
        assert!(!inside());
        assert_eq!(guarded(|| 1), Some(1));
        assert!(dropped_count() > before);
    }
}
