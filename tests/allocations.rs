//! What an instrumented call allocates, counted by a global allocator that records every
//! allocation of this test binary. Upkeep is set far apart so that only the calls allocate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::Duration;

use track_metrics::track_metrics;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn install() {
    track_metrics::Exporter::builder()
        .without_listener()
        .upkeep_interval(Duration::from_millis(3600000))
        .install()
        .unwrap();
}

#[track_metrics]
fn hot(value: u64) -> u64 {
    value.wrapping_mul(3)
}

#[test]
fn a_call_allocates_nothing_but_the_exporters_sample_blocks() {
    install();
    for i in 0..1_000 {
        std::hint::black_box(hot(i));
    }
    const CALLS: usize = 64_000;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for i in 0..CALLS as u64 {
        std::hint::black_box(hot(i));
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    // The exporter's histogram keeps raw samples in blocks of 64 until upkeep folds them into
    // buckets: one block allocation per 64 calls is its storage, not per-call work of ours.
    assert!(
        allocations <= CALLS / 64 + 1,
        "{allocations} allocations for {CALLS} calls"
    );
}
