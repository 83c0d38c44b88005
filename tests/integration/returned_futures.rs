//! Plain functions that return a future (`impl Future`, `Pin<Box<dyn Future>>`, a `BoxFuture`
//! alias, or an alias declared with `future`) are measured as the future runs, exactly as an
//! `async fn`: counted at the first poll, timed to completion, errors by the output's type,
//! `cancelled` when dropped early, in flight while pending. A future dropped while its owner
//! unwinds was cancelled; only a panic in its own poll is a `panic`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;

use track_metrics::track_metrics;

use crate::common::{self, scrape, value};

const MODULE: &str = module_path!();

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

fn series(function: &str) -> [(&str, &str); 2] {
    [("function", function), ("module", MODULE)]
}

fn errors(function: &str, error_type: &str) -> f64 {
    let labels = [
        ("error_type", error_type),
        ("function", function),
        ("module", MODULE),
    ];
    // No series: no error of that type.
    scrape()
        .1
        .value("function_errors_total", &labels)
        .unwrap_or(0.0)
}

#[track_metrics(in_flight)]
fn sleep_then(
    millis: u64,
    fail: bool,
) -> impl Future<Output = Result<u64, std::num::ParseIntError>> {
    async move {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        if fail { "x".parse() } else { Ok(millis) }
    }
}

#[tokio::test]
async fn an_impl_future_is_timed_from_first_poll_to_completion() {
    common::exporter();
    let labels = series("sleep_then");
    let created = sleep_then(100, false);
    // Built, not polled: not a call yet.
    assert_eq!(value(&scrape().1, "function_calls_total", &labels), 0.0);
    let mut created = Box::pin(created);
    let waker = Waker::noop();
    assert!(
        created
            .as_mut()
            .poll(&mut Context::from_waker(waker))
            .is_pending()
    );
    let scrape_while_pending = scrape().1;
    assert_eq!(
        value(&scrape_while_pending, "function_calls_total", &labels),
        1.0
    );
    assert_eq!(
        value(&scrape_while_pending, "function_calls_in_flight", &labels),
        1.0
    );
    assert_eq!(created.await, Ok(100));
    assert!("x".parse::<u64>().is_err());
    assert!(sleep_then(100, true).await.is_err());
    let (_, after) = scrape();
    assert_eq!(value(&after, "function_calls_total", &labels), 2.0);
    assert_eq!(value(&after, "function_calls_in_flight", &labels), 0.0);
    assert_eq!(
        value(&after, "function_duration_seconds_count", &labels),
        2.0
    );
    let sum = value(&after, "function_duration_seconds_sum", &labels);
    assert!(sum >= 0.2, "two calls of 100 ms each sum to {sum} s");
    assert_eq!(errors("sleep_then", "ParseIntError"), 1.0);
}

#[track_metrics]
fn boxed_job(fail: bool) -> Pin<Box<dyn Future<Output = Result<u8, std::fmt::Error>> + Send>> {
    if fail {
        return Box::pin(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(std::fmt::Error)
        });
    }
    Box::pin(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(1)
    })
}

#[track_metrics]
fn box_future_of(text: &str) -> BoxFuture<'_, Result<usize, String>> {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        text.parse::<usize>().map_err(|error| error.to_string())
    })
}

type Fetch = Pin<Box<dyn Future<Output = Result<u8, std::io::Error>> + Send>>;

#[track_metrics(future)]
fn behind_an_alias() -> Fetch {
    Box::pin(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(std::io::ErrorKind::TimedOut.into())
    })
}

#[tokio::test]
async fn boxed_futures_are_timed_and_their_errors_counted() {
    common::exporter();
    assert_eq!(boxed_job(false).await, Ok(1));
    assert!(boxed_job(true).await.is_err());
    assert_eq!(box_future_of("12").await, Ok(12));
    assert!(box_future_of("x").await.is_err());
    assert!(behind_an_alias().await.is_err());
    let (_, after) = scrape();
    for function in ["boxed_job", "box_future_of"] {
        let labels = series(function);
        assert_eq!(
            value(&after, "function_calls_total", &labels),
            2.0,
            "{function}"
        );
        let sum = value(&after, "function_duration_seconds_sum", &labels);
        assert!(sum >= 0.1, "{function}: two calls of 50 ms sum to {sum} s");
    }
    assert_eq!(errors("boxed_job", "Error"), 1.0);
    assert_eq!(errors("box_future_of", "String"), 1.0);
    assert_eq!(errors("behind_an_alias", "TimedOut"), 1.0);
    let sum = value(
        &after,
        "function_duration_seconds_sum",
        &series("behind_an_alias"),
    );
    assert!(sum >= 0.05, "{sum}");
}

#[track_metrics]
fn never_done() -> impl Future<Output = Result<(), String>> {
    std::future::pending()
}

#[track_metrics]
async fn never_done_async() -> Result<(), String> {
    std::future::pending().await
}

#[track_metrics]
fn panics_when_polled() -> impl Future<Output = u8> {
    async { panic!("a panic inside the call") }
}

#[track_metrics]
async fn panics_when_polled_async() -> u8 {
    panic!("a panic inside the call")
}

/// Polls `future` once, then panics with it still pending: the future is dropped while its
/// owner unwinds.
fn owner_panics_with_pending<F: Future>(future: F) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut future = Box::pin(future);
        let waker = Waker::noop();
        assert!(
            future
                .as_mut()
                .poll(&mut Context::from_waker(waker))
                .is_pending()
        );
        panic!("the owner's panic, not the call's");
    }));
    assert!(outcome.is_err());
}

fn poll_until_it_panics<F: Future>(future: F) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut future = Box::pin(future);
        let waker = Waker::noop();
        let _ = future.as_mut().poll(&mut Context::from_waker(waker));
    }));
    assert!(outcome.is_err());
}

#[test]
fn a_future_dropped_while_its_owner_unwinds_was_cancelled_not_panicked() {
    common::exporter();
    owner_panics_with_pending(never_done());
    owner_panics_with_pending(never_done_async());
    for function in ["never_done", "never_done_async"] {
        assert_eq!(errors(function, "cancelled"), 1.0, "{function}");
        assert_eq!(errors(function, "panic"), 0.0, "{function}");
    }
    poll_until_it_panics(panics_when_polled());
    poll_until_it_panics(panics_when_polled_async());
    for function in ["panics_when_polled", "panics_when_polled_async"] {
        assert_eq!(errors(function, "panic"), 1.0, "{function}");
        assert_eq!(errors(function, "cancelled"), 0.0, "{function}");
    }
}

#[track_metrics]
fn dropped_early() -> impl Future<Output = Result<u8, String>> + Send {
    async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(1)
    }
}

#[tokio::test]
async fn a_returned_future_dropped_before_completion_is_cancelled_with_its_duration() {
    common::exporter();
    let (shortest, longest) = common::cancel_after(dropped_early(), Duration::from_millis(30));
    let labels = series("dropped_early");
    let (_, after) = scrape();
    assert_eq!(errors("dropped_early", "cancelled"), 1.0);
    let sum = value(&after, "function_duration_seconds_sum", &labels);
    assert!(
        (shortest..=longest).contains(&sum),
        "{sum} not between {shortest} and {longest} s"
    );
    assert_eq!(value(&after, "function_calls_total", &labels), 1.0);
}

#[track_metrics]
fn checks_then_builds(valid: bool) -> impl Future<Output = u8> {
    assert!(valid, "a panic while building the future");
    std::future::ready(1)
}

#[test]
fn a_panic_while_the_future_is_built_is_a_call_that_panicked() {
    common::exporter();
    assert!(std::panic::catch_unwind(|| checks_then_builds(false)).is_err());
    let built = checks_then_builds(true);
    let labels = series("checks_then_builds");
    assert_eq!(value(&scrape().1, "function_calls_total", &labels), 1.0);
    assert_eq!(errors("checks_then_builds", "panic"), 1.0);
    drop(built);
    // Built and dropped unpolled: not a call.
    assert_eq!(value(&scrape().1, "function_calls_total", &labels), 1.0);
}
