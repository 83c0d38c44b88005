//! The clock every duration is measured with.
//!
//! `quanta`'s TSC clock, read raw at both ends and scaled once: measured on this project's
//! machine, `quanta::Instant::now` costs 23 ns and `std::time::Instant::now` 32-38 ns, and a raw
//! read less than either, as it skips quanta's thread-local test override. quanta uses the TSC
//! only where the CPU reports it invariant (constant rate, running in every power state, so the
//! same on every core and across migrations), and the OS monotonic clock elsewhere; a reading
//! that comes out earlier than its start, as a TSC skewed between sockets could give, counts as
//! zero rather than as a huge duration.

use std::sync::OnceLock;

use quanta::Clock;

/// The process's clock, calibrated once (a few milliseconds, done by `install()`). Read through
/// it, never through `quanta::Instant::now`, which consults a thread-local and so fails in
/// another thread-local's destructor.
pub(crate) fn clock() -> &'static Clock {
    CLOCK.get_or_init(Clock::new)
}

static CLOCK: OnceLock<Clock> = OnceLock::new();

/// The clock, if it is made already: for a caller that may run inside an allocation made while
/// the clock is made (calibrating allocates), which must not wait for it.
#[inline]
pub(crate) fn ready() -> Option<&'static Clock> {
    CLOCK.get()
}

/// Seconds between two raw readings of [`clock`].
#[inline]
pub(crate) fn seconds_between(clock: &Clock, start: u64, end: u64) -> f64 {
    clock.delta_as_nanos(start, end) as f64 * 1e-9
}
