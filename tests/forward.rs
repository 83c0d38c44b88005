//! `#[track_metrics]` and `metrics!` with the application's own `metrics` recorder and no
//! `install()`: a library's instrumentation reaches whatever exporter the program runs. Each
//! scenario sets its recorder in a process of its own, since a global recorder is set once.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use track_metrics::{Recording, track_metrics};

#[derive(Debug, track_metrics::ErrorType)]
enum WorkError {
    Timeout,
    #[error_type = "not_found"]
    NotFound,
}

/// Ok, or one of two errors, or a panic, by `i`.
#[track_metrics]
fn work(i: u64) -> Result<u64, WorkError> {
    match i % 10 {
        7 => Err(WorkError::Timeout),
        8 => Err(WorkError::NotFound),
        9 => panic!("work {i} failed"),
        _ => Ok(i),
    }
}

/// Waits once, then finishes: dropped after its first poll, it is a cancelled call.
#[track_metrics(in_flight)]
async fn fetch() -> u8 {
    let mut waited = false;
    std::future::poll_fn(|cx| {
        if waited {
            Poll::Ready(1)
        } else {
            waited = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

track_metrics::metrics! {
    /// Jobs done, by queue
    counter JOBS: forward_jobs_total(queue);
    /// Items waiting
    gauge WAITING: forward_waiting_items;
    /// How long a job took
    histogram JOB_SECONDS: forward_job_seconds;
    /// Payload sizes
    summary PAYLOAD: forward_payload_bytes;
}

/// `(kind, name, labels sorted)` → value, from a snapshot.
type Values = HashMap<(MetricKind, String, Vec<(String, String)>), DebugValue>;

fn values(snapshotter: &Snapshotter) -> (Values, HashMap<String, String>) {
    let mut values = Values::new();
    let mut help = HashMap::new();
    for (key, _unit, description, value) in snapshotter.snapshot().into_vec() {
        let (kind, key) = key.into_parts();
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()))
            .collect();
        labels.sort();
        if let Some(description) = description {
            help.insert(key.name().to_owned(), description.to_string());
        }
        values.insert((kind, key.name().to_owned(), labels), value);
    }
    (values, help)
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    labels.sort();
    labels
}

fn counter(values: &Values, name: &str, pairs: &[(&str, &str)]) -> u64 {
    match values.get(&(MetricKind::Counter, name.to_owned(), labels(pairs))) {
        Some(DebugValue::Counter(count)) => *count,
        other => panic!("{name} {pairs:?}: {other:?} in {values:#?}"),
    }
}

fn histogram(values: &Values, name: &str, pairs: &[(&str, &str)]) -> Vec<f64> {
    match values.get(&(MetricKind::Histogram, name.to_owned(), labels(pairs))) {
        Some(DebugValue::Histogram(samples)) => samples.iter().map(|value| value.0).collect(),
        other => panic!("{name} {pairs:?}: {other:?} in {values:#?}"),
    }
}

fn gauge(values: &Values, name: &str, pairs: &[(&str, &str)]) -> f64 {
    match values.get(&(MetricKind::Gauge, name.to_owned(), labels(pairs))) {
        Some(DebugValue::Gauge(value)) => value.0,
        other => panic!("{name} {pairs:?}: {other:?} in {values:#?}"),
    }
}

const MODULE: &str = module_path!();

/// Runs `future` to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
    }
}

/// Polls `future` once, then drops it.
fn cancel<F: Future>(future: F) {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    assert!(future.as_mut().poll(&mut context).is_pending());
}

#[test]
fn a_global_recorder_gets_every_call_error_panic_and_cancellation_exactly() {
    common::in_own_process(
        &test_name!(a_global_recorder_gets_every_call_error_panic_and_cancellation_exactly),
        || {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            metrics::set_global_recorder(recorder).unwrap();
            assert_eq!(track_metrics::recording(), Recording::ApplicationRecorder);
            const THREADS: u64 = 4;
            const CALLS: u64 = 2_000;
            std::panic::set_hook(Box::new(|_| {}));
            std::thread::scope(|scope| {
                for thread in 0..THREADS {
                    scope.spawn(move || {
                        for i in 0..CALLS {
                            let _ = std::panic::catch_unwind(|| work(thread * CALLS + i));
                            if i % 100 == 0 {
                                cancel(fetch());
                                assert_eq!(block_on(fetch()), 1);
                            }
                        }
                        JOBS.labels("high").inc();
                        JOBS.labels("low").inc_by(2);
                        JOB_SECONDS.observe(0.25);
                        PAYLOAD.observe(512.0);
                        WAITING.add(3.0);
                    });
                }
            });
            let _ = std::panic::take_hook();
            let total = THREADS * CALLS;
            let (values, help) = values(&snapshotter);
            let site = [("function", "work"), ("module", MODULE)];
            assert_eq!(counter(&values, "function_calls_total", &site), total);
            assert_eq!(
                histogram(&values, "function_duration_seconds", &site).len() as u64,
                total
            );
            let errors = |error_type: &str| {
                let mut pairs = site.to_vec();
                pairs.push(("error_type", error_type));
                counter(&values, "function_errors_total", &pairs)
            };
            assert_eq!(errors("Timeout"), total / 10);
            assert_eq!(errors("not_found"), total / 10);
            assert_eq!(errors("panic"), total / 10);
            let fetch_site = [("function", "fetch"), ("module", MODULE)];
            let fetches = THREADS * CALLS / 100 * 2;
            assert_eq!(
                counter(&values, "function_calls_total", &fetch_site),
                fetches
            );
            let mut cancelled = fetch_site.to_vec();
            cancelled.push(("error_type", "cancelled"));
            assert_eq!(
                counter(&values, "function_errors_total", &cancelled),
                fetches / 2
            );
            assert_eq!(gauge(&values, "function_calls_in_flight", &fetch_site), 0.0);
            // The families, with their HELP.
            assert_eq!(
                counter(&values, "forward_jobs_total", &[("queue", "high")]),
                THREADS
            );
            assert_eq!(
                counter(&values, "forward_jobs_total", &[("queue", "low")]),
                2 * THREADS
            );
            assert_eq!(
                histogram(&values, "forward_job_seconds", &[]),
                vec![0.25; THREADS as usize]
            );
            assert_eq!(
                histogram(&values, "forward_payload_bytes", &[]),
                vec![512.0; THREADS as usize]
            );
            assert_eq!(
                gauge(&values, "forward_waiting_items", &[]),
                3.0 * THREADS as f64
            );
            assert_eq!(help["forward_jobs_total"], "Jobs done, by queue");
            assert_eq!(help["function_calls_total"], "Total function calls");
            assert_eq!(help["function_duration_seconds"], "Function execution time");
            // The series keep their own values too.
            assert_eq!(JOBS.labels("low").get(), 2 * THREADS);
        },
    );
}

#[test]
fn calls_before_the_recorder_is_set_record_nothing_and_calls_after_it_record() {
    common::in_own_process(
        &test_name!(calls_before_the_recorder_is_set_record_nothing_and_calls_after_it_record),
        || {
            assert_eq!(track_metrics::recording(), Recording::Nothing);
            for i in 0..5 {
                let _ = work(i);
            }
            JOBS.labels("early").inc();
            WAITING.add(5.0);
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            metrics::set_global_recorder(recorder).unwrap();
            for i in 0..3 {
                let _ = work(i);
            }
            JOBS.labels("early").inc();
            WAITING.sub(2.0);
            let (values, _) = values(&snapshotter);
            let site = [("function", "work"), ("module", MODULE)];
            assert_eq!(counter(&values, "function_calls_total", &site), 3);
            assert_eq!(
                counter(&values, "forward_jobs_total", &[("queue", "early")]),
                1
            );
            // A gauge's value, not only the moves the recorder saw.
            assert_eq!(gauge(&values, "forward_waiting_items", &[]), 3.0);
        },
    );
}

#[test]
fn local_recorders_get_only_the_calls_made_under_them() {
    // Twice on one thread, so that the second recorder may sit where the first one was.
    for round in 1..=2 {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            assert_eq!(track_metrics::recording(), Recording::ApplicationRecorder);
            for i in 0..round {
                let _ = work(i);
            }
            JOBS.labels("local").inc();
        });
        let _ = work(0);
        let (values, _) = values(&snapshotter);
        let site = [("function", "work"), ("module", MODULE)];
        assert_eq!(counter(&values, "function_calls_total", &site), round);
        assert_eq!(
            histogram(&values, "function_duration_seconds", &site).len() as u64,
            round
        );
        assert_eq!(
            counter(&values, "forward_jobs_total", &[("queue", "local")]),
            1
        );
    }
}

/// A recorder whose registrations call instrumented code, as a recorder that logs through an
/// instrumented logger would.
struct CallsBack(DebuggingRecorder);

impl metrics::Recorder for CallsBack {
    fn describe_counter(
        &self,
        key: metrics::KeyName,
        unit: Option<metrics::Unit>,
        help: metrics::SharedString,
    ) {
        let _ = work(1);
        self.0.describe_counter(key, unit, help);
    }
    fn describe_gauge(
        &self,
        key: metrics::KeyName,
        unit: Option<metrics::Unit>,
        help: metrics::SharedString,
    ) {
        self.0.describe_gauge(key, unit, help);
    }
    fn describe_histogram(
        &self,
        key: metrics::KeyName,
        unit: Option<metrics::Unit>,
        help: metrics::SharedString,
    ) {
        self.0.describe_histogram(key, unit, help);
    }
    fn register_counter(
        &self,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Counter {
        let _ = work(2);
        JOBS.labels("from the recorder").inc();
        self.0.register_counter(key, metadata)
    }
    fn register_gauge(
        &self,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Gauge {
        self.0.register_gauge(key, metadata)
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        let _ = work(3);
        self.0.register_histogram(key, metadata)
    }
}

#[test]
fn a_recorder_that_calls_instrumented_code_while_registering_neither_hangs_nor_recurses() {
    common::in_own_process(
        &test_name!(
            a_recorder_that_calls_instrumented_code_while_registering_neither_hangs_nor_recurses
        ),
        || {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            metrics::set_global_recorder(CallsBack(recorder)).unwrap();
            for i in 0..7 {
                let _ = work(i);
            }
            let (values, _) = values(&snapshotter);
            let site = [("function", "work"), ("module", MODULE)];
            // The calls made by the recorder itself while it registered are not counted.
            assert_eq!(counter(&values, "function_calls_total", &site), 7);
        },
    );
}

/// A recorder that panics when asked for an error counter.
struct PanicsOnErrors(DebuggingRecorder);

impl metrics::Recorder for PanicsOnErrors {
    fn describe_counter(
        &self,
        key: metrics::KeyName,
        unit: Option<metrics::Unit>,
        help: metrics::SharedString,
    ) {
        self.0.describe_counter(key, unit, help);
    }
    fn describe_gauge(
        &self,
        key: metrics::KeyName,
        unit: Option<metrics::Unit>,
        help: metrics::SharedString,
    ) {
        self.0.describe_gauge(key, unit, help);
    }
    fn describe_histogram(
        &self,
        key: metrics::KeyName,
        unit: Option<metrics::Unit>,
        help: metrics::SharedString,
    ) {
        self.0.describe_histogram(key, unit, help);
    }
    fn register_counter(
        &self,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Counter {
        assert_ne!(key.name(), "function_errors_total", "this recorder fails");
        self.0.register_counter(key, metadata)
    }
    fn register_gauge(
        &self,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Gauge {
        self.0.register_gauge(key, metadata)
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        self.0.register_histogram(key, metadata)
    }
}

#[test]
fn a_recorder_that_panics_while_a_call_unwinds_does_not_abort_the_process() {
    common::in_own_process(
        &test_name!(a_recorder_that_panics_while_a_call_unwinds_does_not_abort_the_process),
        || {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            metrics::set_global_recorder(PanicsOnErrors(recorder)).unwrap();
            std::panic::set_hook(Box::new(|_| {}));
            // `work(9)` panics: its error counter is asked for while the call unwinds.
            for _ in 0..3 {
                assert!(std::panic::catch_unwind(|| work(9)).is_err());
            }
            let _ = std::panic::take_hook();
            let (values, _) = values(&snapshotter);
            let site = [("function", "work"), ("module", MODULE)];
            assert_eq!(counter(&values, "function_calls_total", &site), 3);
        },
    );
}
