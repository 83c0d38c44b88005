//! Every supported function shape records its calls and durations, read back from a real scrape
//! of the HTTP endpoint. Each test calls functions no other test calls, so that exact counts
//! hold in any order and with any number of test threads.

use std::future::Future;
use std::panic;
use std::time::{Duration, Instant};

use track_metrics::track_metrics;

use crate::common::{self, scrape, value};

const MODULE: &str = module_path!();

fn calls(function: &str) -> f64 {
    value(
        &scrape().1,
        "function_calls_total",
        &[("function", function), ("module", MODULE)],
    )
}

fn duration_count(function: &str) -> f64 {
    let labels = [("function", function), ("module", MODULE)];
    value(&scrape().1, "function_duration_seconds_count", &labels)
}

fn duration_sum(function: &str) -> f64 {
    let labels = [("function", function), ("module", MODULE)];
    value(&scrape().1, "function_duration_seconds_sum", &labels)
}

#[track_metrics(duration = "sleepy_duration_seconds", buckets = [0.01, 10.0])]
fn sleepy() -> u32 {
    std::thread::sleep(Duration::from_millis(15));
    7
}

#[test]
fn a_function_is_counted_and_timed_into_its_buckets() {
    common::exporter();
    assert_eq!(sleepy() + sleepy() + sleepy(), 21);
    let (_, scrape) = scrape();
    let labels = |le| [("function", "sleepy"), ("module", MODULE), ("le", le)];
    let series = [("function", "sleepy"), ("module", MODULE)];
    assert_eq!(value(&scrape, "function_calls_total", &series), 3.0);
    assert_eq!(
        value(&scrape, "sleepy_duration_seconds_bucket", &labels("0.01")),
        0.0
    );
    assert_eq!(
        value(&scrape, "sleepy_duration_seconds_bucket", &labels("10")),
        3.0
    );
    assert_eq!(
        value(&scrape, "sleepy_duration_seconds_bucket", &labels("+Inf")),
        3.0
    );
    assert_eq!(
        value(&scrape, "sleepy_duration_seconds_count", &series),
        3.0
    );
    let sum = value(&scrape, "sleepy_duration_seconds_sum", &series);
    assert!((0.045..10.0).contains(&sum), "sum {sum}");
    let family = scrape.family("sleepy_duration_seconds").unwrap();
    assert_eq!(family.kind, "histogram");
    assert_eq!(family.help.as_deref(), Some("Function execution time"));
}

#[track_metrics]
fn never_called() {}

#[test]
fn a_function_shows_with_zeros_before_its_first_call() {
    common::exporter();
    let (text, scrape) = scrape();
    assert!(
        text.contains(
            &format!("function_duration_seconds_bucket{{function=\"never_called\",module=\"{MODULE}\",le=\"0.005\"}} 0\n")
        ),
        "{text}"
    );
    assert_eq!(calls("never_called"), 0.0);
    let bounds: Vec<_> = scrape
        .samples()
        .filter(|s| {
            s.name == "function_duration_seconds_bucket"
                && s.label("function") == Some("never_called")
        })
        .map(|s| s.label("le").unwrap().parse::<f64>().unwrap())
        .collect();
    let mut expected = track_metrics::FUNCTION_BUCKETS.to_vec();
    expected.push(f64::INFINITY);
    assert_eq!(bounds, expected, "the buckets for Rust functions");
    assert_eq!(bounds.len(), 20);
    let family = scrape.family("function_calls_total").unwrap();
    assert_eq!(family.kind, "counter");
    assert_eq!(family.help.as_deref(), Some("Total function calls"));
    let _ = never_called;
}

struct Account {
    balance: i64,
}

trait Deposit {
    fn deposit(&mut self, amount: i64) -> i64;
}

impl Account {
    #[track_metrics]
    fn open() -> Self {
        Account { balance: 0 }
    }

    #[track_metrics]
    fn balance(&self) -> i64 {
        self.balance
    }

    #[track_metrics]
    fn close(self) -> i64 {
        self.balance
    }

    #[allow(
        clippy::boxed_local,
        reason = "the `self: Box<Self>` receiver is the case under test"
    )]
    #[track_metrics]
    fn close_boxed(self: Box<Self>) -> i64 {
        self.balance
    }
}

impl Deposit for Account {
    #[track_metrics]
    fn deposit(&mut self, amount: i64) -> i64 {
        self.balance += amount;
        self.balance
    }
}

#[test]
fn methods_with_every_receiver_are_counted() {
    common::exporter();
    let mut account = Account::open();
    assert_eq!(account.deposit(5), 5);
    assert_eq!(account.balance(), 5);
    assert_eq!(Box::new(Account::open()).close_boxed(), 0);
    assert_eq!(account.close(), 5);
    assert_eq!(calls("open"), 2.0);
    for method in ["deposit", "balance", "close", "close_boxed"] {
        assert_eq!(calls(method), 1.0, "{method}");
        assert_eq!(duration_count(method), 1.0, "{method}");
    }
}

#[allow(
    clippy::needless_lifetimes,
    reason = "explicit lifetimes are the case under test"
)]
#[track_metrics]
fn longest<'a, T>(items: &'a [T], by: impl Fn(&T) -> usize) -> Option<&'a T>
where
    T: std::fmt::Debug,
{
    items.iter().max_by_key(|item| by(item))
}

#[track_metrics]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[track_metrics]
unsafe fn read_raw(pointer: *const u8) -> u8 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *pointer }
}

#[track_metrics]
fn early_return(flag: bool) -> &'static str {
    if flag {
        return "early";
    }
    "late"
}

#[track_metrics]
fn parse_sum(a: &str, b: &str) -> Result<i32, std::num::ParseIntError> {
    Ok(a.parse::<i32>()? + b.parse::<i32>()?)
}

#[track_metrics(name = "match")]
fn r#match() -> bool {
    true
}

#[track_metrics]
fn r#loop() -> bool {
    false
}

#[test]
fn every_function_shape_is_counted() {
    common::exporter();
    assert_eq!(longest(&["a", "abc", "ab"], |s| s.len()), Some(&"abc"));
    assert_eq!(evens(5).collect::<Vec<_>>(), [0, 2, 4]);
    // SAFETY: a pointer to a live local.
    assert_eq!(unsafe { read_raw(&42) }, 42);
    assert_eq!(early_return(true), "early");
    assert_eq!(early_return(false), "late");
    assert_eq!(parse_sum("1", "2"), Ok(3));
    assert!(parse_sum("1", "x").is_err());
    assert!(r#match());
    assert!(!r#loop());
    for (function, expected) in [
        ("longest", 1.0),
        ("evens", 1.0),
        ("read_raw", 1.0),
        ("early_return", 2.0),
        ("parse_sum", 2.0),
        ("match", 1.0),
        ("loop", 1.0),
    ] {
        assert_eq!(calls(function), expected, "{function}");
        assert_eq!(duration_count(function), expected, "{function}");
    }
}

#[track_metrics]
fn panics_after_a_while() -> u32 {
    std::thread::sleep(Duration::from_millis(20));
    panic!("the panic the test expects");
}

#[track_metrics]
fn never_returns() -> ! {
    panic!("the divergence the test expects");
}

#[test]
fn a_panicking_call_still_records_its_duration() {
    common::exporter();
    assert!(panic::catch_unwind(panics_after_a_while).is_err());
    assert!(panic::catch_unwind(|| never_returns()).is_err());
    assert_eq!(calls("panics_after_a_while"), 1.0);
    assert_eq!(duration_count("panics_after_a_while"), 1.0);
    assert!(duration_sum("panics_after_a_while") >= 0.02);
    assert_eq!(calls("never_returns"), 1.0);
    assert_eq!(duration_count("never_returns"), 1.0);
}

#[track_metrics]
async fn fetch(delay: Duration) -> Duration {
    tokio::time::sleep(delay).await;
    delay
}

#[track_metrics]
async fn never_polled() {}

#[track_metrics]
async fn cancelled() {
    tokio::time::sleep(Duration::from_secs(30)).await;
}

#[tokio::test]
async fn an_async_call_is_timed_from_first_poll_to_completion() {
    common::exporter();
    let future = fetch(Duration::from_millis(30));
    std::thread::sleep(Duration::from_millis(600)); // Not polled yet: not part of the call.
    let polled = Instant::now();
    assert_eq!(future.await, Duration::from_millis(30));
    let awaited = polled.elapsed().as_secs_f64();
    assert_eq!(calls("fetch"), 1.0);
    // Within the await, whatever the machine's load: the 600 ms before it are not counted
    // (1% of slack: the runtime's clock and std's are calibrated apart).
    let sum = duration_sum("fetch");
    assert!(
        0.03 <= sum && sum <= awaited * 1.01,
        "sum {sum}, awaited {awaited}"
    );

    drop(never_polled());
    assert_eq!(calls("never_polled"), 0.0);
    assert_eq!(duration_count("never_polled"), 0.0);

    // Polled once, then dropped 20 ms later: the duration lies between the moments measured
    // around the poll and the drop.
    let (shortest, longest) = common::cancel_after(cancelled(), Duration::from_millis(20));
    assert_eq!(calls("cancelled"), 1.0);
    assert_eq!(duration_count("cancelled"), 1.0);
    let sum = duration_sum("cancelled");
    assert!(
        (shortest..=longest).contains(&sum),
        "sum {sum}, between {shortest} and {longest}"
    );
}

fn assert_send<F: Future + Send>(future: F) -> F {
    future
}

#[test]
fn an_instrumented_async_fn_stays_send() {
    drop(assert_send(fetch(Duration::ZERO)));
}

#[track_metrics(
    name = "checkout",
    calls = "orders_total",
    duration = "order_duration_seconds",
    labels(endpoint = "/orders", method = "POST")
)]
fn place_order() {}

#[test]
fn options_rename_the_metrics_and_add_constant_labels() {
    common::exporter();
    place_order();
    let (_, scrape) = scrape();
    let labels = [
        ("function", "checkout"),
        ("module", MODULE),
        ("endpoint", "/orders"),
        ("method", "POST"),
    ];
    assert_eq!(value(&scrape, "orders_total", &labels), 1.0);
    assert_eq!(value(&scrape, "order_duration_seconds_count", &labels), 1.0);
    let mut with_le = labels.to_vec();
    with_le.push(("le", "0.005"));
    assert_eq!(
        value(&scrape, "order_duration_seconds_bucket", &with_le),
        1.0
    );
    assert!(
        scrape
            .value(
                "function_calls_total",
                &[("function", "place_order"), ("module", MODULE)]
            )
            .is_none()
    );
}

#[track_metrics(errors = "order_errors_total", in_flight = "orders_in_flight")]
fn named_signals(fail: bool) -> Result<(), std::fmt::Error> {
    if fail { Err(std::fmt::Error) } else { Ok(()) }
}

#[test]
fn error_and_in_flight_families_can_be_renamed() {
    common::exporter();
    assert!(named_signals(true).is_err());
    assert!(named_signals(false).is_ok());
    let (text, scrape) = scrape();
    let labels = [("function", "named_signals"), ("module", MODULE)];
    assert_eq!(
        value(
            &scrape,
            "order_errors_total",
            &[labels[0], labels[1], ("error_type", "Error")]
        ),
        1.0
    );
    assert_eq!(value(&scrape, "orders_in_flight", &labels), 0.0);
    assert!(
        !text.contains("function_errors_total{function=\"named_signals\""),
        "{text}"
    );
    assert!(
        !text.contains("function_calls_in_flight{function=\"named_signals\""),
        "{text}"
    );
}

/// 99% of the store's calls succeed.
const STORE: track_metrics::slo::Objective =
    track_metrics::slo::Objective::new("integration_store").success_rate(99.0);

struct ObjectiveStore;

#[track_metrics(objective = STORE)]
impl ObjectiveStore {
    fn get(&self) -> Result<u32, std::fmt::Error> {
        Ok(1)
    }

    fn put(&self) -> Result<(), std::fmt::Error> {
        Err(std::fmt::Error)
    }
}

/// An objective on an `impl` block labels every method's series with it, and nothing else:
/// the same series, one more label; the rules name both methods.
#[test]
fn an_objective_on_an_impl_block_labels_every_method() {
    common::exporter();
    let store = ObjectiveStore;
    let _ = store.get();
    let _ = store.put();
    let (_, scrape) = scrape();
    let module = module_path!();
    for method in ["ObjectiveStore::get", "ObjectiveStore::put"] {
        let labels = [
            ("function", method),
            ("module", module),
            ("objective", "integration_store"),
        ];
        assert_eq!(value(&scrape, "function_calls_total", &labels), 1.0);
        assert_eq!(
            value(&scrape, "function_duration_seconds_count", &labels),
            1.0
        );
    }
    let rules = track_metrics::slo::rules().unwrap();
    assert!(
        rules.contains("Functions: ObjectiveStore::get, ObjectiveStore::put."),
        "{rules}"
    );
    assert!(rules.contains(r#"function_calls_total{objective="integration_store"}[1h]"#));
}
