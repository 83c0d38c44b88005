//! Upkeep gives back the memory of histogram samples nobody scrapes, in the exporter that holds
//! the `metrics` facade's histograms: live bytes counted by a global allocator of this binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
        .upkeep_interval(Duration::from_millis(20))
        .install()
        .unwrap();
}

#[test]
fn upkeep_gives_back_the_memory_of_unscraped_samples() {
    install();
    // The `metrics` facade records into the exporter, which keeps raw samples until upkeep.
    metrics::describe_histogram!("flood_seconds", "Samples recorded through the facade");
    let flood = metrics::histogram!("flood_seconds");
    flood.record(0.5);
    std::thread::sleep(Duration::from_millis(100));
    let baseline = LIVE_BYTES.load(Ordering::Relaxed);
    const SAMPLES: usize = 400_000;
    for _ in 0..SAMPLES {
        flood.record(0.5);
    }
    // Unbounded, the samples alone would hold 16 bytes each: 6.4 MB here.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let held = LIVE_BYTES.load(Ordering::Relaxed) - baseline;
        if held < 1_000_000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {held} bytes held after upkeep"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = track_metrics::render();
    let count = format!("flood_seconds_count {}\n", SAMPLES + 1);
    assert!(
        text.contains(&count),
        "every sample is still counted: {text}"
    );
}
