//! What an instrumented call allocates, counted by a global allocator that records every
//! allocation of the calling thread (the test harness allocates on its own threads meanwhile).
//! Upkeep is set far apart so that only the calls allocate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use track_metrics::track_metrics;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Allocations made by this thread so far.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is added,
// in a thread-local that needs no allocation of its own.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Installs once for the binary, and makes the tests take turns.
fn install() -> std::sync::MutexGuard<'static, ()> {
    static ONCE: std::sync::Once = std::sync::Once::new();
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONCE.call_once(|| {
        track_metrics::Exporter::builder()
            .without_listener()
            .install()
            .unwrap();
    });
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[track_metrics]
fn hot(value: u64) -> u64 {
    value.wrapping_mul(3)
}

#[test]
fn an_instrumented_call_allocates_nothing_after_the_first() {
    let _turn = install();
    for i in 0..1_000 {
        std::hint::black_box(hot(i));
    }
    const CALLS: u64 = 64_000;
    let before = allocations();
    for i in 0..CALLS {
        std::hint::black_box(hot(i));
    }
    let allocations = allocations() - before;
    assert_eq!(allocations, 0, "{allocations} allocations in {CALLS} calls");
}

#[track_metrics]
fn fallible(fail: bool) -> Result<u8, std::fmt::Error> {
    if fail { Err(std::fmt::Error) } else { Ok(1) }
}

#[test]
fn an_err_allocates_nothing_after_the_first_of_its_type() {
    let _turn = install();
    let _ = fallible(true);
    let _ = fallible(false);
    let before = allocations();
    for i in 0..10_000 {
        let _ = std::hint::black_box(fallible(i % 2 == 0));
    }
    assert_eq!(allocations() - before, 0);
}

#[derive(Clone, Copy, track_metrics::LabelValue)]
enum Method {
    Get,
    Post,
}

track_metrics::metrics! {
    /// Jobs done
    counter JOBS: jobs_total;
    /// Items waiting
    gauge QUEUE: queue_items;
    /// Job latency
    histogram LATENCY: job_latency_seconds;
    /// Requests by method and endpoint
    counter REQUESTS: requests_total(method: Method, endpoint);
    /// Request latency by endpoint
    histogram REQUEST_LATENCY: request_latency_seconds(endpoint);
}

#[test]
fn declared_metrics_allocate_nothing_after_the_first_use_of_a_label_set() {
    let _turn = install();
    let round = |i: u64| {
        JOBS.inc();
        QUEUE.set(i as f64);
        LATENCY.observe(0.01);
        let method = if i % 2 == 0 {
            Method::Get
        } else {
            Method::Post
        };
        REQUESTS.labels(method, "/users").inc();
        REQUESTS.labels(method, "/orders").inc_by(2);
        REQUEST_LATENCY.labels("/users").observe(0.2);
    };
    for i in 0..10 {
        round(i);
    }
    const ROUNDS: u64 = 10_000;
    let before = allocations();
    for i in 0..ROUNDS {
        round(i);
    }
    let allocations = allocations() - before;
    assert_eq!(
        allocations, 0,
        "{allocations} allocations in {ROUNDS} rounds of operations"
    );
}
