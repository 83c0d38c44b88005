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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use quanta::Clock;

/// The process's clock, calibrated once (a few milliseconds, done by `install()`). Read through
/// it, never through `quanta::Instant::now`, which consults a thread-local and so fails in
/// another thread-local's destructor.
pub(crate) fn clock() -> &'static Clock {
    CLOCK.get_or_init(|| {
        let clock = Clock::new();
        anchor_with(&clock);
        clock
    })
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

/// A raw reading of the clock and the wall time it was taken at, and the clock's seconds per
/// tick: the wall time of any raw reading, without asking the system for it again (an exemplar
/// is timed by the reading that ended its call). Taken with the clock, and again at each scrape,
/// so that the wall clock's adjustments reach it.
static ANCHOR_RAW: AtomicU64 = AtomicU64::new(0);
static ANCHOR_WALL: AtomicU64 = AtomicU64::new(0);
static SECONDS_PER_TICK: AtomicU64 = AtomicU64::new(0);

fn anchor_with(clock: &Clock) {
    let raw = clock.raw();
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    let per_tick = seconds_between(clock, 0, 1 << 40) / (1_u64 << 40) as f64;
    SECONDS_PER_TICK.store(per_tick.to_bits(), Ordering::Relaxed);
    ANCHOR_RAW.store(raw, Ordering::Relaxed);
    ANCHOR_WALL.store(wall.to_bits(), Ordering::Relaxed);
}

/// Takes the anchor again, when the clock exists: a scrape does, once.
pub(crate) fn anchor() {
    if let Some(clock) = ready() {
        anchor_with(clock);
    }
}

/// The wall time, in seconds since the Unix epoch, of a raw reading of [`clock`]; read without
/// a lock, so a reading taken while the anchor moves may be off by the time since the last one.
#[inline]
pub(crate) fn wall_seconds(raw: u64) -> f64 {
    let anchor = ANCHOR_RAW.load(Ordering::Relaxed);
    let wall = f64::from_bits(ANCHOR_WALL.load(Ordering::Relaxed));
    let per_tick = f64::from_bits(SECONDS_PER_TICK.load(Ordering::Relaxed));
    // Signed: a reading from before the anchor (taken on another core) is slightly earlier.
    let ticks = raw.wrapping_sub(anchor) as i64;
    wall + ticks as f64 * per_tick
}

/// Now, in seconds since the Unix epoch: from the clock when it exists (cheaper than asking the
/// system), else from the system.
#[inline]
pub(crate) fn now_seconds() -> f64 {
    match ready() {
        Some(clock) => wall_seconds(clock.raw()),
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64()),
    }
}
