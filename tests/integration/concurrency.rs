//! Many threads record while another scrapes in a loop: every count is exact at the end, and
//! every scrape on the way is consistent (a histogram's buckets, count and sum from the same
//! observations; a function's calls never below its finished calls). User functions run at
//! scrape time without any lock of ours held, so they may use any metric, even re-entrantly.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Barrier};

use track_metrics::testing::Exposition;
use track_metrics::{metrics, track_metrics};

use crate::common::{self, value};

const MODULE: &str = module_path!();

metrics! {
    /// Increments from many threads
    counter OPS: concurrent_ops_total(kind);
    /// A constant observed from many threads
    #[buckets(0.5, 1, 2)]
    histogram CONSTANT: concurrent_constant_bytes;
    /// Observations from many threads, by worker group
    #[buckets(1, 2)]
    histogram SIZES: concurrent_group_sizes_bytes(group);
    /// Up and down from many threads
    gauge LEVEL: concurrent_level_items;
    /// A summary fed from many threads
    summary LATENCY: concurrent_latency_seconds;
}

#[track_metrics(in_flight)]
fn concurrent_work(value: u64) -> u64 {
    value.wrapping_mul(3)
}

#[track_metrics]
fn concurrent_fallible(value: u64) -> Result<u64, std::fmt::Error> {
    if value % 2 == 1 {
        Err(std::fmt::Error)
    } else {
        Ok(value)
    }
}

/// Scrapes in a loop until `done`, checking every scrape; returns how many it took.
fn scrape_until(done: &AtomicBool, check: impl Fn(&Exposition)) -> usize {
    let mut scrapes = 0;
    while !done.load(Ordering::Acquire) {
        let text = track_metrics::render();
        let scrape = Exposition::parse(&text).unwrap_or_else(|error| panic!("{error}:\n{text}"));
        check(&scrape);
        scrapes += 1;
    }
    scrapes
}

fn histogram_is_consistent(
    scrape: &Exposition,
    name: &str,
    labels: &[(&str, &str)],
    constant: Option<f64>,
) {
    let count = value(scrape, &format!("{name}_count"), labels);
    let sum = value(scrape, &format!("{name}_sum"), labels);
    let mut infinite = labels.to_vec();
    infinite.push(("le", "+Inf"));
    assert_eq!(value(scrape, &format!("{name}_bucket"), &infinite), count);
    if let Some(constant) = constant {
        assert_eq!(
            sum,
            count * constant,
            "{name}{labels:?}: sum {sum}, count {count}"
        );
    }
}

#[test]
fn nothing_is_lost_and_every_scrape_is_consistent() {
    common::exporter();
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 50_000;
    let site = [("function", "concurrent_work"), ("module", MODULE)];
    let done = AtomicBool::new(false);
    let start = Barrier::new(THREADS as usize + 1);
    let scrapes = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let start = &start;
                scope.spawn(move || {
                    let group = if thread % 2 == 0 { "even" } else { "odd" };
                    let facade_counter = metrics::counter!("concurrent_facade_total");
                    start.wait();
                    for i in 0..PER_THREAD {
                        std::hint::black_box(concurrent_work(i));
                        let _ = std::hint::black_box(concurrent_fallible(i));
                        OPS.labels("inc").inc();
                        CONSTANT.observe(1.0);
                        SIZES.labels(group).observe(1.5);
                        LEVEL.inc();
                        LEVEL.dec();
                        if i % 10 == 0 {
                            LATENCY.observe(0.25);
                        }
                        facade_counter.increment(1);
                        metrics::counter!("concurrent_facade_macro_total").increment(1);
                        metrics::histogram!("concurrent_facade_seconds").record(0.5);
                        metrics::gauge!("concurrent_facade_level").increment(1.0);
                    }
                })
            })
            .collect();
        let scraper = scope.spawn(|| {
            start.wait();
            scrape_until(&done, |scrape| {
                histogram_is_consistent(scrape, "concurrent_constant_bytes", &[], Some(1.0));
                if scrape
                    .value("concurrent_facade_seconds_count", &[])
                    .is_some()
                {
                    histogram_is_consistent(scrape, "concurrent_facade_seconds", &[], Some(0.5));
                }
                histogram_is_consistent(scrape, "function_duration_seconds", &site, None);
                let calls = value(scrape, "function_calls_total", &site);
                let finished = value(scrape, "function_duration_seconds_count", &site);
                let in_flight = value(scrape, "function_calls_in_flight", &site);
                assert!(calls >= finished, "{calls} calls, {finished} finished");
                assert_eq!(in_flight, calls - finished);
                let fallible = [("function", "concurrent_fallible"), ("module", MODULE)];
                let calls = value(scrape, "function_calls_total", &fallible);
                let errors = scrape
                    .value(
                        "function_errors_total",
                        &[fallible[0], fallible[1], ("error_type", "Error")],
                    )
                    .unwrap_or(0.0);
                assert!(errors <= calls, "{errors} errors, {calls} calls");
            })
        });
        for worker in workers {
            worker.join().unwrap();
        }
        done.store(true, Ordering::Release);
        scraper.join().unwrap()
    });
    assert!(scrapes > 0);

    let text = track_metrics::render();
    let scrape = Exposition::parse(&text).unwrap();
    let total = (THREADS * PER_THREAD) as f64;
    assert_eq!(value(&scrape, "function_calls_total", &site), total);
    assert_eq!(
        value(&scrape, "function_duration_seconds_count", &site),
        total
    );
    assert_eq!(value(&scrape, "function_calls_in_flight", &site), 0.0);
    assert_eq!(
        value(&scrape, "concurrent_ops_total", &[("kind", "inc")]),
        total
    );
    assert_eq!(
        value(&scrape, "concurrent_constant_bytes_count", &[]),
        total
    );
    assert_eq!(value(&scrape, "concurrent_constant_bytes_sum", &[]), total);
    assert_eq!(
        value(
            &scrape,
            "concurrent_constant_bytes_bucket",
            &[("le", "0.5")]
        ),
        0.0
    );
    assert_eq!(
        value(&scrape, "concurrent_constant_bytes_bucket", &[("le", "1")]),
        total
    );
    for group in ["even", "odd"] {
        let labels = [("group", group)];
        assert_eq!(
            value(&scrape, "concurrent_group_sizes_bytes_count", &labels),
            total / 2.0
        );
        assert_eq!(
            value(&scrape, "concurrent_group_sizes_bytes_sum", &labels),
            total * 0.75
        );
    }
    assert_eq!(value(&scrape, "concurrent_level_items", &[]), 0.0);
    assert_eq!(
        value(&scrape, "concurrent_latency_seconds_count", &[]),
        total / 10.0
    );
    assert_eq!(value(&scrape, "concurrent_facade_total", &[]), total);
    assert_eq!(value(&scrape, "concurrent_facade_macro_total", &[]), total);
    assert_eq!(
        value(&scrape, "concurrent_facade_seconds_count", &[]),
        total
    );
    assert_eq!(
        value(&scrape, "concurrent_facade_seconds_sum", &[]),
        total * 0.5
    );
    assert_eq!(value(&scrape, "concurrent_facade_level", &[]), total);
}

#[track_metrics]
fn short_lived_work() {}

metrics! {
    /// Counted by threads that start, count and exit
    counter SHORT_LIVED: short_lived_ops_total;
}

#[test]
fn threads_that_come_and_go_lose_nothing() {
    common::exporter();
    // Each wave's threads exit before the next starts, which takes their cells over.
    for _ in 0..20 {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..1000 {
                        short_lived_work();
                        SHORT_LIVED.inc();
                        metrics::counter!("short_lived_facade_total").increment(1);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }
    let scrape = Exposition::parse(&track_metrics::render()).unwrap();
    let site = [("function", "short_lived_work"), ("module", MODULE)];
    assert_eq!(value(&scrape, "function_calls_total", &site), 160_000.0);
    assert_eq!(
        value(&scrape, "function_duration_seconds_count", &site),
        160_000.0
    );
    assert_eq!(value(&scrape, "short_lived_ops_total", &[]), 160_000.0);
    assert_eq!(value(&scrape, "short_lived_facade_total", &[]), 160_000.0);
}

#[track_metrics(in_flight)]
async fn hops_between_threads(index: u64) -> u64 {
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
    index
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn async_calls_that_move_between_threads_are_counted_once() {
    common::exporter();
    let tasks: Vec<_> = (0..20_000)
        .map(|index| tokio::spawn(hops_between_threads(index)))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let scrape = Exposition::parse(&track_metrics::render()).unwrap();
    let site = [("function", "hops_between_threads"), ("module", MODULE)];
    assert_eq!(value(&scrape, "function_calls_total", &site), 20_000.0);
    assert_eq!(
        value(&scrape, "function_duration_seconds_count", &site),
        20_000.0
    );
    assert_eq!(value(&scrape, "function_calls_in_flight", &site), 0.0);
}

metrics! {
    /// Reads the exposition from inside a scrape
    gauge REENTRANT_RENDER: reentrant_render_bytes;
    /// Reads itself from inside its own function
    gauge READS_ITSELF: reads_itself_items;
    /// Replaces its own function from inside it
    gauge REPLACES_ITSELF: replaces_itself_items;
    /// Panics at scrape time
    gauge PANICS: panicking_function_items;
}

#[test]
fn gauge_functions_may_reenter_without_deadlock_or_recursion() {
    common::exporter();
    REENTRANT_RENDER.set_function(|| track_metrics::render().len() as f64);
    READS_ITSELF.set(4.0);
    READS_ITSELF.set_function(|| READS_ITSELF.get() + 1.0);
    static FIRST_FUNCTION_RUNS: AtomicU32 = AtomicU32::new(0);
    REPLACES_ITSELF.set_function(|| {
        FIRST_FUNCTION_RUNS.fetch_add(1, Ordering::Relaxed);
        REPLACES_ITSELF.set_function(|| 2.0);
        1.0
    });
    PANICS.set_function(|| panic!("a gauge function that panics, as the test expects"));
    let (text, scrape) = common::scrape();
    assert_eq!(
        value(&scrape, "reentrant_render_bytes", &[]),
        0.0,
        "a scrape inside a scrape is empty"
    );
    assert_eq!(
        value(&scrape, "reads_itself_items", &[]),
        5.0,
        "its own get() reads the set value"
    );
    // The first function ran once (in this scrape or another test's) and put the second in place.
    let first = value(&scrape, "replaces_itself_items", &[]);
    assert!(first == 1.0 || first == 2.0, "{first}");
    assert_eq!(
        value(&common::scrape().1, "replaces_itself_items", &[]),
        2.0
    );
    assert_eq!(FIRST_FUNCTION_RUNS.load(Ordering::Relaxed), 1);
    assert!(
        !text.contains("\npanicking_function_items "),
        "a function that panics leaves its series out: {text}"
    );
    assert!(
        text.contains("# TYPE panicking_function_items gauge\n"),
        "{text}"
    );
    // Called directly, outside any scrape, a render from a gauge function is a full one.
    assert!(REENTRANT_RENDER.get() > 100.0);
}

#[test]
fn many_test_threads_can_scrape_at_once() {
    common::exporter();
    let start = Arc::new(Barrier::new(32));
    let scrapers: Vec<_> = (0..32)
        .map(|_| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                common::scrape()
            })
        })
        .collect();
    for scraper in scrapers {
        scraper.join().unwrap();
    }
}

metrics! {
    /// Read from another thread-local's destructor
    gauge READ_AT_EXIT: read_at_exit_items;
}

#[test]
fn gauges_and_scrapes_work_from_thread_local_destructors() {
    // In a process of its own: an abort here must not take the other tests with it.
    common::in_own_process(
        &crate::test_name!(gauges_and_scrapes_work_from_thread_local_destructors),
        || {
            common::exporter();
            READ_AT_EXIT.set_function(|| 3.0);
            static READ: std::sync::Mutex<Vec<(f64, usize)>> = std::sync::Mutex::new(Vec::new());
            struct AtExit;
            impl Drop for AtExit {
                fn drop(&mut self) {
                    let scrape = track_metrics::render();
                    READ.lock()
                        .unwrap()
                        .push((READ_AT_EXIT.get(), scrape.len()));
                }
            }
            thread_local! {
                static AT_EXIT: AtExit = const { AtExit };
            }
            std::thread::spawn(|| {
                AT_EXIT.with(|_| ());
                // The gauge's guard is a thread-local too: used first, destroyed first.
                assert_eq!(READ_AT_EXIT.get(), 3.0);
            })
            .join()
            .unwrap();
            let read = READ.lock().unwrap();
            assert_eq!(read.len(), 1);
            assert_eq!(read[0].0, 3.0);
            assert!(read[0].1 > 0, "a full scrape from a destructor");
        },
    );
}
