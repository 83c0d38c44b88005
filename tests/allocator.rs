//! A `#[global_allocator]` that records metrics, as one that counts allocations does: the first
//! use of every kind of series from inside it, and `install()` while it records, finish (a hang
//! here is the child process's watchdog failing the test). Creating a series allocates, so an
//! allocation made while a series is created on the same thread cannot record into a series
//! that does not exist yet: it is dropped and counted in
//! `track_metrics_reentered_operations_total`, and every other one is recorded.

#[path = "common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use track_metrics::testing::Exposition;
use track_metrics::track_metrics;

/// What the allocator records through, set by each scenario.
static RECORD: AtomicU8 = AtomicU8::new(NOTHING);
const NOTHING: u8 = 0;
const UNLABELLED: u8 = 1;
const LABELLED: u8 = 2;
const FACADE: u8 = 3;
const FUNCTION: u8 = 4;

/// Allocations seen while recording was on, by the allocator itself: what the metrics should
/// hold, but for those made while a series was being created.
static SEEN: AtomicU64 = AtomicU64::new(0);

track_metrics::metrics! {
    /// Allocations, counted by the allocator
    counter ALLOCATIONS: allocator_allocations_total;
    /// Allocations by size class, counted by the allocator
    counter BY_SIZE: allocator_allocations_by_size_total(size);
    /// Bytes asked for, observed by the allocator
    histogram SIZES: allocator_request_bytes;
}

#[track_metrics]
fn allocation_seen(size: usize) -> usize {
    size
}

fn size_class(size: usize) -> &'static str {
    match size {
        0..=64 => "small",
        65..=4096 => "medium",
        _ => "large",
    }
}

struct Recording;

// SAFETY: every call is forwarded to the system allocator unchanged; recording happens before,
// through the crate under test.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mode = RECORD.load(Ordering::Relaxed);
        if mode != NOTHING {
            SEEN.fetch_add(1, Ordering::Relaxed);
            match mode {
                UNLABELLED => {
                    ALLOCATIONS.inc();
                    SIZES.observe(layout.size() as f64);
                }
                LABELLED => BY_SIZE.labels(size_class(layout.size())).inc(),
                FACADE => metrics::counter!("allocator_facade_total").increment(1),
                _ => {
                    allocation_seen(layout.size());
                }
            }
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

/// Allocates `rounds` times, of sizes in every class, from `threads` threads.
fn allocate(threads: usize, rounds: usize) {
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(move || {
                for round in 0..rounds {
                    let size = [16, 1000, 10_000][round % 3];
                    std::hint::black_box(vec![0_u8; size]);
                }
            });
        }
    });
}

fn scrape() -> Exposition {
    let text = track_metrics::render();
    Exposition::parse(&text).unwrap_or_else(|error| panic!("{error} in:\n{text}"))
}

/// What the allocator saw against what was recorded and dropped: nothing lost unaccounted.
fn accounted(recorded: f64) {
    let scrape = scrape();
    let dropped = scrape
        .value("track_metrics_reentered_operations_total", &[])
        .unwrap_or(0.0);
    let seen = SEEN.load(Ordering::Relaxed) as f64;
    assert!(recorded > 0.0, "the allocator recorded nothing");
    assert!(
        recorded <= seen && recorded + dropped >= seen,
        "seen {seen}, recorded {recorded}, dropped {dropped}"
    );
}

#[test]
fn first_use_of_an_unlabelled_counter_and_histogram_from_the_allocator() {
    common::in_own_process(
        &test_name!(first_use_of_an_unlabelled_counter_and_histogram_from_the_allocator),
        || {
            RECORD.store(UNLABELLED, Ordering::Relaxed);
            allocate(4, 300);
            RECORD.store(NOTHING, Ordering::Relaxed);
            track_metrics::testing::install().unwrap();
            accounted(scrape().value("allocator_allocations_total", &[]).unwrap());
        },
    );
}

#[test]
fn first_use_of_labelled_series_from_the_allocator() {
    common::in_own_process(
        &test_name!(first_use_of_labelled_series_from_the_allocator),
        || {
            RECORD.store(LABELLED, Ordering::Relaxed);
            allocate(4, 300);
            RECORD.store(NOTHING, Ordering::Relaxed);
            track_metrics::testing::install().unwrap();
            let scrape = scrape();
            let recorded: f64 = ["small", "medium", "large"]
                .iter()
                .filter_map(|class| {
                    scrape.value("allocator_allocations_by_size_total", &[("size", class)])
                })
                .sum();
            accounted(recorded);
        },
    );
}

#[test]
fn facade_keys_first_registered_from_the_allocator() {
    common::in_own_process(
        &test_name!(facade_keys_first_registered_from_the_allocator),
        || {
            track_metrics::testing::install().unwrap();
            RECORD.store(FACADE, Ordering::Relaxed);
            allocate(4, 300);
            RECORD.store(NOTHING, Ordering::Relaxed);
            accounted(scrape().value("allocator_facade_total", &[]).unwrap());
        },
    );
}

#[test]
fn an_instrumented_function_called_by_the_allocator_before_during_and_after_install() {
    common::in_own_process(
        &test_name!(
            an_instrumented_function_called_by_the_allocator_before_during_and_after_install
        ),
        || {
            RECORD.store(FUNCTION, Ordering::Relaxed);
            allocate(2, 100);
            // `install()` allocates while the allocator calls the function.
            let allocating = std::thread::spawn(|| allocate(2, 3000));
            track_metrics::testing::install().unwrap();
            allocating.join().unwrap();
            let before = SEEN.load(Ordering::Relaxed);
            allocate(4, 300);
            RECORD.store(NOTHING, Ordering::Relaxed);
            let calls = scrape()
                .value(
                    "function_calls_total",
                    &[("function", "allocation_seen"), ("module", module_path!())],
                )
                .unwrap();
            // Every allocation once installed is a call (the calls before it record nothing).
            let after = SEEN.load(Ordering::Relaxed) - before;
            assert!(
                calls >= after as f64,
                "{calls} calls for {after} allocations"
            );
        },
    );
}

#[test]
fn an_instrumented_function_called_by_the_allocator_through_the_applications_recorder() {
    common::in_own_process(
        &test_name!(
            an_instrumented_function_called_by_the_allocator_through_the_applications_recorder
        ),
        || {
            let recorder = metrics_util::debugging::DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            metrics::set_global_recorder(recorder).unwrap();
            RECORD.store(FUNCTION, Ordering::Relaxed);
            allocate(4, 300);
            RECORD.store(NOTHING, Ordering::Relaxed);
            let calls: u64 = snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .filter(|(key, ..)| key.key().name() == "function_calls_total")
                .map(|(.., value)| match value {
                    metrics_util::debugging::DebugValue::Counter(count) => count,
                    _ => 0,
                })
                .sum();
            assert!(calls > 0, "the allocator's calls reached the recorder");
        },
    );
}
