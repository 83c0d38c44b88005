//! What recording costs in memory, counted by a global allocator of this binary: nothing per
//! operation once a series exists, memory that follows the work rather than the threads (512
//! threads x 1,000 functions under 20 MB, freed as they exit), and no per-sample buffer behind
//! the `metrics` facade's histograms.

#[path = "common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Barrier};

use track_metrics::track_metrics;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

/// When set, every allocation is counted in `ALLOCATIONS_SEEN` too: an allocator that records
/// metrics, as a user's might.
static RECORD_ALLOCATIONS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Allocations made by this thread so far.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added,
// a thread-local that needs no allocation of its own and an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        if RECORD_ALLOCATIONS.load(Ordering::Relaxed) {
            ALLOCATIONS_SEEN.inc();
        }
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
        .process_metrics(false)
        .install()
        .unwrap();
}

#[track_metrics]
fn hot(value: u64) -> u64 {
    value.wrapping_mul(3)
}

#[track_metrics]
fn fallible(fail: bool) -> Result<u8, std::fmt::Error> {
    if fail { Err(std::fmt::Error) } else { Ok(1) }
}

#[track_metrics(in_flight)]
async fn awaited(value: u64) -> u64 {
    std::future::ready(value).await
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
    /// Response sizes by endpoint
    summary RESPONSE_SIZE: response_size_bytes(endpoint);
    /// Build information
    info BUILD: build_info(version);
    /// Allocations counted by the allocator itself
    counter ALLOCATIONS_SEEN: allocations_seen_total;
    /// Touched first by a thread while the allocator records
    counter TOUCHED: touched_total;
}

#[test]
fn operations_allocate_nothing_once_their_series_exist() {
    common::in_own_process(
        &test_name!(operations_allocate_nothing_once_their_series_exist),
        || {
            install();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let facade_counter = metrics::counter!("facade_cached_total");
            let facade_histogram = metrics::histogram!("facade_cached_seconds");
            let round = |i: u64| {
                std::hint::black_box(hot(i));
                let _ = std::hint::black_box(fallible(i.is_multiple_of(2)));
                std::hint::black_box(runtime.block_on(awaited(i)));
                JOBS.inc();
                QUEUE.set(i as f64);
                LATENCY.observe(0.01);
                let method = if i.is_multiple_of(2) {
                    Method::Get
                } else {
                    Method::Post
                };
                REQUESTS.labels(method, "/users").inc();
                REQUESTS.labels(method, "/orders").inc_by(2);
                REQUEST_LATENCY.labels("/users").observe(0.2);
                RESPONSE_SIZE.labels("/users").observe(512.0);
                facade_counter.increment(1);
                facade_histogram.record(0.5);
            };
            BUILD.set("1.0");
            // The first round creates the series, the first `Err` its error counter; a thread
            // that writes a series more than a few times gets cells of its own by the 17th
            // (every other round writes some series).
            for i in 0..64 {
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
        },
    );
}

/// Ten instrumented functions, and the list of them.
macro_rules! ten_functions {
    () => {
        #[track_metrics::track_metrics]
        pub fn f0() {}
        #[track_metrics::track_metrics]
        pub fn f1() {}
        #[track_metrics::track_metrics]
        pub fn f2() {}
        #[track_metrics::track_metrics]
        pub fn f3() {}
        #[track_metrics::track_metrics]
        pub fn f4() {}
        #[track_metrics::track_metrics]
        pub fn f5() {}
        #[track_metrics::track_metrics]
        pub fn f6() {}
        #[track_metrics::track_metrics]
        pub fn f7() {}
        #[track_metrics::track_metrics]
        pub fn f8() {}
        #[track_metrics::track_metrics]
        pub fn f9() {}
        pub fn all() -> Vec<fn()> {
            vec![f0, f1, f2, f3, f4, f5, f6, f7, f8, f9]
        }
    };
}

/// Ten modules, each made by `$inner`, and the list of all their functions.
macro_rules! ten_modules {
    ($inner:ident) => {
        pub mod m0 {
            $inner!();
        }
        pub mod m1 {
            $inner!();
        }
        pub mod m2 {
            $inner!();
        }
        pub mod m3 {
            $inner!();
        }
        pub mod m4 {
            $inner!();
        }
        pub mod m5 {
            $inner!();
        }
        pub mod m6 {
            $inner!();
        }
        pub mod m7 {
            $inner!();
        }
        pub mod m8 {
            $inner!();
        }
        pub mod m9 {
            $inner!();
        }
        pub fn all() -> Vec<fn()> {
            [
                m0::all(),
                m1::all(),
                m2::all(),
                m3::all(),
                m4::all(),
                m5::all(),
                m6::all(),
                m7::all(),
                m8::all(),
                m9::all(),
            ]
            .concat()
        }
    };
}

macro_rules! hundred_functions {
    () => {
        ten_modules!(ten_functions);
    };
}

/// A thousand instrumented functions, each in a module of its own name.
mod thousand {
    ten_modules!(hundred_functions);
}

/// The bound the README states for 512 threads (tokio's blocking pool at its largest) calling
/// 1,000 functions a few times each.
const BOUND: isize = 20 * 1024 * 1024;
const THREADS: usize = 512;

#[test]
fn five_hundred_threads_calling_a_thousand_functions_stay_within_the_bound() {
    common::in_own_process(
        &test_name!(five_hundred_threads_calling_a_thousand_functions_stay_within_the_bound),
        || {
            install();
            let functions = thousand::all();
            assert_eq!(functions.len(), 1000);
            // Returns the bytes live while every thread is alive, and once they have all exited.
            let wave = |functions: &Vec<fn()>| -> (isize, isize) {
                let all_done = Arc::new(Barrier::new(THREADS + 1));
                let measured = Arc::new(Barrier::new(THREADS + 1));
                let threads: Vec<_> = (0..THREADS)
                    .map(|_| {
                        let functions = functions.clone();
                        let (all_done, measured) = (Arc::clone(&all_done), Arc::clone(&measured));
                        std::thread::Builder::new()
                            .stack_size(64 * 1024)
                            .spawn(move || {
                                for _ in 0..3 {
                                    for function in &functions {
                                        function();
                                    }
                                }
                                all_done.wait();
                                // Alive until measured: each thread holds its cells.
                                measured.wait();
                            })
                            .unwrap()
                    })
                    .collect();
                all_done.wait();
                let alive = live_bytes();
                measured.wait();
                for thread in threads {
                    thread.join().unwrap();
                }
                (alive, live_bytes())
            };
            let before = live_bytes();
            let (alive, exited) = wave(&functions);
            let (alive, exited) = (alive - before, exited - before);
            let started = std::time::Instant::now();
            let text = track_metrics::render();
            let render = started.elapsed();
            // New threads write the same series: the stripes exist already, and nothing grows.
            let before = live_bytes() - exited;
            let (second_alive, second_exited) = wave(&functions);
            let (second_alive, second_exited) = (second_alive - before, second_exited - before);
            println!(
                "{THREADS} threads x 1000 functions: {alive} bytes while alive ({} per thread \
                 and function), {exited} once exited; a second wave: {second_alive}, \
                 {second_exited}; a render of it: {render:?}",
                alive / (THREADS as isize * 1000)
            );
            assert!(
                alive < BOUND,
                "{alive} bytes for {THREADS} threads x 1000 functions"
            );
            // The threads' tables are freed with them; what stays is the series' stripes.
            assert!(
                exited < alive / 2,
                "{exited} bytes stay after the threads exited"
            );
            assert!(
                second_exited <= exited + 64 * 1024,
                "waves of new threads grow memory: {exited} -> {second_exited}"
            );
            assert!(second_alive < BOUND);

            let scrape = track_metrics::testing::Exposition::parse(&text).unwrap();
            let calls: f64 = scrape
                .samples()
                .filter(|sample| sample.name == "function_calls_total")
                .map(|sample| sample.value)
                .sum();
            assert_eq!(calls, 3.0 * THREADS as f64 * 1000.0);
        },
    );
}

/// Threads that call a function often get cells of their own, and give them back (folded
/// into the series) when they exit: memory follows the threads alive, not all that ever were.
#[test]
fn hot_threads_cells_are_freed_when_they_exit() {
    common::in_own_process(
        &test_name!(hot_threads_cells_are_freed_when_they_exit),
        || {
            install();
            let functions = thousand::all();
            let hot = |count: usize| {
                let threads: Vec<_> = (0..count)
                    .map(|_| {
                        let functions = functions.clone();
                        std::thread::spawn(move || {
                            for _ in 0..100 {
                                for function in &functions[..100] {
                                    function();
                                }
                            }
                        })
                    })
                    .collect();
                for thread in threads {
                    thread.join().unwrap();
                }
            };
            hot(8);
            let settled = live_bytes();
            for _ in 0..5 {
                hot(8);
            }
            let grown = live_bytes() - settled;
            assert!(
                grown < 64 * 1024,
                "{grown} bytes more after 40 more hot threads came and went"
            );
            let scrape =
                track_metrics::testing::Exposition::parse(&track_metrics::render()).unwrap();
            let calls: f64 = scrape
                .samples()
                .filter(|sample| sample.name == "function_calls_total")
                .map(|sample| sample.value)
                .sum();
            assert_eq!(calls, 48.0 * 100.0 * 100.0, "nothing lost in the folds");
        },
    );
}

#[test]
fn facade_histograms_keep_no_samples() {
    common::in_own_process(&test_name!(facade_histograms_keep_no_samples), || {
        install();
        let histogram = metrics::histogram!("facade_unscraped_seconds");
        // Past its first few observations, the thread writes cells of its own.
        for _ in 0..32 {
            histogram.record(0.5);
        }
        let before = live_bytes();
        for _ in 0..2_000_000 - 31 {
            histogram.record(0.5);
        }
        let grown = live_bytes() - before;
        assert!(
            grown <= 0,
            "{grown} bytes for 2,000,000 unscraped observations"
        );
        let scrape = track_metrics::testing::Exposition::parse(&track_metrics::render()).unwrap();
        assert_eq!(
            scrape.value("facade_unscraped_seconds_count", &[]),
            Some(2_000_001.0)
        );
    });
}

#[test]
fn an_allocator_that_records_metrics_neither_deadlocks_nor_recurses() {
    common::in_own_process(
        &test_name!(an_allocator_that_records_metrics_neither_deadlocks_nor_recurses),
        || {
            install();
            // Both series exist before the allocator records: making a series allocates.
            ALLOCATIONS_SEEN.inc();
            TOUCHED.inc();
            RECORD_ALLOCATIONS.store(true, Ordering::Relaxed);
            // A new thread's first write allocates its table and cells, and each allocation
            // records into a series while the table is being changed.
            let threads: Vec<_> = (0..4)
                .map(|_| std::thread::spawn(|| (0..1000).for_each(|_| TOUCHED.inc())))
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            RECORD_ALLOCATIONS.store(false, Ordering::Relaxed);
            assert_eq!(TOUCHED.get(), 4001);
            assert!(ALLOCATIONS_SEEN.get() > 1, "the allocator recorded");
        },
    );
}

#[test]
fn facade_keys_past_the_limit_or_refused_keep_nothing() {
    common::in_own_process(
        &test_name!(facade_keys_past_the_limit_or_refused_keep_nothing),
        || {
            install();
            for user in 0..1000 {
                metrics::counter!("facade_full_total", "user" => format!("u{user}")).increment(1);
            }
            metrics::counter!("facade_full_total", "extra" => "x").increment(1);
            let before = live_bytes();
            for key in 0..100_000 {
                // Past the limit: a new label name each time, and refused keys likewise.
                metrics::counter!("facade_full_total", format!("k{key}") => "v").increment(1);
                metrics::counter!("facade_refused_total", format!("k{key}") => "v", "__le" => "1")
                    .increment(1);
            }
            let grown = live_bytes() - before;
            assert!(
                grown < 64 * 1024,
                "{grown} bytes for 200,000 keys kept nowhere"
            );
        },
    );
}
