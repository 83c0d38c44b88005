//! Errors by type, panics, cancellations and calls in flight, asserted on the exact exposition
//! of a real scrape. Each test calls functions no other test calls.

use std::num::ParseIntError;
use std::panic;
use std::sync::Arc;
use std::time::{Duration, Instant};

use track_metrics::{ErrorType, track_metrics};

use crate::common::{self, scrape, value};

const MODULE: &str = module_path!();

fn error_line(function: &str, error_type: &str, count: u32) -> String {
    format!(
        "function_errors_total{{function=\"{function}\",module=\"{MODULE}\",error_type=\"{error_type}\"}} {count}\n"
    )
}

#[track_metrics]
fn parse_number(text: &str) -> Result<i32, ParseIntError> {
    text.parse()
}

#[test]
fn an_err_of_a_plain_type_is_counted_by_its_type_name() {
    common::exporter();
    assert!(parse_number("12").is_ok());
    assert!(parse_number("x").is_err());
    assert!(parse_number("").is_err());
    let (text, _) = scrape();
    assert!(
        text.contains(&error_line("parse_number", "ParseIntError", 2)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "function_calls_total{{function=\"parse_number\",module=\"{MODULE}\"}} 3\n"
        )),
        "{text}"
    );
}

#[derive(Debug, ErrorType)]
enum StoreError {
    NotFound,
    Timeout {
        #[allow(dead_code)]
        after_ms: u64,
    },
    #[error_type = "corrupt"]
    Corrupt(#[allow(dead_code)] String),
}

#[track_metrics]
fn load(key: u32) -> Result<String, StoreError> {
    match key {
        0 => Err(StoreError::NotFound),
        1 => Err(StoreError::Timeout { after_ms: 5 }),
        2 => Err(StoreError::Corrupt("bad checksum".into())),
        _ => Ok(format!("value {key}")),
    }
}

#[test]
fn an_err_of_an_error_enum_is_counted_by_its_variant() {
    common::exporter();
    for key in [0, 0, 1, 2, 3] {
        let _ = load(key);
    }
    let (text, _) = scrape();
    assert!(text.contains(&error_line("load", "NotFound", 2)), "{text}");
    assert!(text.contains(&error_line("load", "Timeout", 1)), "{text}");
    assert!(text.contains(&error_line("load", "corrupt", 1)), "{text}");
}

/// A crate's own alias, as `anyhow::Result` or `io::Result` are.
type AppResult<T> = Result<T, StoreError>;

#[track_metrics]
fn via_alias(fail: bool) -> AppResult<u8> {
    if fail {
        Err(StoreError::NotFound)
    } else {
        Ok(1)
    }
}

#[track_metrics]
fn read_config(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

#[test]
fn errors_returned_through_aliases_are_counted() {
    common::exporter();
    assert!(via_alias(true).is_err());
    assert!(via_alias(false).is_ok());
    assert!(read_config("/this/path/does/not/exist").is_err());
    let (text, _) = scrape();
    assert!(
        text.contains(&error_line("via_alias", "NotFound", 1)),
        "{text}"
    );
    assert!(
        text.contains(&error_line("read_config", "NotFound", 1)),
        "{text}"
    );
}

#[track_metrics]
fn no_result(value: u32) -> u32 {
    value + 1
}

#[test]
fn a_function_without_result_has_no_error_series() {
    common::exporter();
    assert_eq!(no_result(1), 2);
    let (text, _) = scrape();
    assert!(
        !text.contains("function_errors_total{function=\"no_result\""),
        "{text}"
    );
}

#[track_metrics]
fn explodes(after: Duration) -> Result<(), ParseIntError> {
    std::thread::sleep(after);
    panic!("boom at the expected place");
}

#[test]
fn a_panic_is_counted_timed_and_continues_unchanged() {
    common::exporter();
    let caught = panic::catch_unwind(|| explodes(Duration::from_millis(20))).unwrap_err();
    assert_eq!(
        caught.downcast_ref::<&str>(),
        Some(&"boom at the expected place")
    );
    let (text, parsed) = scrape();
    assert!(text.contains(&error_line("explodes", "panic", 1)), "{text}");
    let labels = [("function", "explodes"), ("module", MODULE)];
    assert_eq!(
        value(&parsed, "function_duration_seconds_count", &labels),
        1.0
    );
    assert!(value(&parsed, "function_duration_seconds_sum", &labels) >= 0.02);
}

#[track_metrics]
async fn slow_fetch() -> Result<u8, ParseIntError> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(1)
}

#[tokio::test]
async fn a_dropped_future_is_counted_as_cancelled_with_its_duration() {
    common::exporter();
    let (shortest, longest) = common::cancel_after(slow_fetch(), Duration::from_millis(30));
    let (text, parsed) = scrape();
    assert!(
        text.contains(&error_line("slow_fetch", "cancelled", 1)),
        "{text}"
    );
    let labels = [("function", "slow_fetch"), ("module", MODULE)];
    let sum = value(&parsed, "function_duration_seconds_sum", &labels);
    assert!(
        (shortest..=longest).contains(&sum),
        "{sum} not between {shortest} and {longest} s"
    );
}

#[track_metrics(in_flight)]
async fn storm_call(index: u32) -> Result<u32, ParseIntError> {
    tokio::time::sleep(Duration::from_millis(u64::from(index % 7))).await;
    if index % 10 == 3 {
        panic!("a panic the storm expects");
    }
    if index % 10 == 5 {
        // Pending until the test cancels it.
        std::future::pending::<()>().await;
    }
    if index % 10 == 7 {
        return "x".parse();
    }
    Ok(index)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_flight_returns_to_zero_after_a_storm_of_panics_and_cancellations() {
    common::exporter();
    let labels = [("function", "storm_call"), ("module", MODULE)];
    let cancel = Arc::new(tokio::sync::Notify::new());
    let calls: Vec<_> = (0..1000_u32)
        .map(|index| {
            let cancel = Arc::clone(&cancel);
            tokio::spawn(async move {
                tokio::select! {
                    result = storm_call(index) => Some(result),
                    () = cancel.notified() => None,
                }
            })
        })
        .collect();
    // The 100 pending calls stay in flight until cancelled; the others all end.
    let in_flight = || value(&scrape().1, "function_calls_in_flight", &labels);
    let finished = || value(&scrape().1, "function_duration_seconds_count", &labels);
    common::eventually("900 calls end and 100 wait", || {
        finished() == 900.0 && in_flight() == 100.0
    });
    cancel.notify_waiters();
    let (mut panicked, mut cancelled) = (0, 0);
    for call in calls {
        match call.await {
            Err(join_error) => {
                assert!(join_error.is_panic());
                panicked += 1;
            }
            Ok(None) => cancelled += 1,
            Ok(Some(_)) => {}
        }
    }
    assert_eq!((panicked, cancelled), (100, 100));
    let (text, parsed) = scrape();
    assert_eq!(
        value(&parsed, "function_calls_in_flight", &labels),
        0.0,
        "{text}"
    );
    assert_eq!(value(&parsed, "function_calls_total", &labels), 1000.0);
    assert_eq!(
        value(&parsed, "function_duration_seconds_count", &labels),
        1000.0
    );
    for (error_type, count) in [("panic", 100), ("cancelled", 100), ("ParseIntError", 100)] {
        assert!(
            text.contains(&error_line("storm_call", error_type, count)),
            "{error_type}: {text}"
        );
    }
    assert_eq!(
        parsed
            .family("function_calls_in_flight")
            .unwrap()
            .help
            .as_deref(),
        Some("Function calls in progress")
    );
}

struct Cache<T> {
    items: Vec<T>,
}

#[track_metrics]
impl<T: Clone> Cache<T> {
    fn new() -> Self {
        Cache { items: Vec::new() }
    }

    fn get(&self, index: usize) -> Option<T> {
        self.items.get(index).cloned()
    }

    fn insert(&mut self, item: T) -> Result<usize, StoreError> {
        self.items.push(item);
        Ok(self.items.len())
    }

    #[track_metrics(skip)]
    fn helper(&self) -> usize {
        self.items.len()
    }

    #[track_metrics(name = "cache_clear", labels(kind = "maintenance"))]
    fn clear(&mut self) {
        self.items.clear();
    }
}

#[track_metrics(labels(layer = "fmt"))]
impl<T> std::fmt::Display for Cache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} items", self.items.len())
    }
}

struct Pool;

impl Pool {
    #[track_metrics(self_type = "Pool")]
    fn acquire(&self) -> u8 {
        1
    }
}

#[test]
fn impl_blocks_name_every_method_after_its_type() {
    common::exporter();
    let mut cache = Cache::<u8>::new();
    assert_eq!(cache.insert(3).unwrap(), 1);
    assert_eq!(cache.get(0), Some(3));
    assert_eq!(cache.helper(), 1);
    assert_eq!(cache.to_string(), "1 items");
    cache.clear();
    assert_eq!(Pool.acquire(), 1);
    let (text, parsed) = scrape();
    for function in ["Cache::new", "Cache::get", "Cache::insert", "Pool::acquire"] {
        assert_eq!(
            value(
                &parsed,
                "function_calls_total",
                &[("function", function), ("module", MODULE)]
            ),
            1.0,
            "{function}"
        );
    }
    let fmt = [
        ("function", "Cache::fmt"),
        ("module", MODULE),
        ("layer", "fmt"),
    ];
    assert_eq!(value(&parsed, "function_calls_total", &fmt), 1.0);
    let clear = [
        ("function", "cache_clear"),
        ("module", MODULE),
        ("kind", "maintenance"),
    ];
    assert_eq!(value(&parsed, "function_calls_total", &clear), 1.0);
    assert!(
        !text.contains("helper"),
        "a skipped method is not instrumented: {text}"
    );
    assert!(!text.contains("Cache<"), "{text}");
}

#[async_trait::async_trait]
trait Store {
    async fn fetch(&self, key: u32) -> Result<u32, StoreError>;
}

struct AttributeInside;

#[async_trait::async_trait]
impl Store for AttributeInside {
    #[track_metrics]
    async fn fetch(&self, key: u32) -> Result<u32, StoreError> {
        tokio::time::sleep(Duration::from_millis(40)).await;
        if key == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(key)
        }
    }
}

struct AttributeOutside;

#[track_metrics]
#[async_trait::async_trait]
impl Store for AttributeOutside {
    async fn fetch(&self, key: u32) -> Result<u32, StoreError> {
        tokio::time::sleep(Duration::from_millis(40)).await;
        if key == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(key)
        }
    }
}

struct AsyncTraitFirst;

#[async_trait::async_trait]
#[track_metrics]
impl Store for AsyncTraitFirst {
    async fn fetch(&self, key: u32) -> Result<u32, StoreError> {
        tokio::time::sleep(Duration::from_millis(40)).await;
        if key == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(key)
        }
    }
}

#[tokio::test]
async fn async_trait_methods_are_timed_from_first_poll_in_either_order() {
    common::exporter();
    let stores: [(&dyn Store, &str); 3] = [
        (&AttributeInside, "fetch"),
        (&AttributeOutside, "AttributeOutside::fetch"),
        (&AsyncTraitFirst, "AsyncTraitFirst::fetch"),
    ];
    for (store, function) in stores {
        let pending = store.fetch(0);
        // Built but not polled: the boxing is not part of the call.
        std::thread::sleep(Duration::from_millis(600));
        let polled = Instant::now();
        assert!(pending.await.is_err());
        assert_eq!(store.fetch(5).await.unwrap(), 5);
        let awaited = polled.elapsed().as_secs_f64();
        let (text, parsed) = scrape();
        let labels = [("function", function), ("module", MODULE)];
        assert_eq!(
            value(&parsed, "function_calls_total", &labels),
            2.0,
            "{function}"
        );
        let sum = value(&parsed, "function_duration_seconds_sum", &labels);
        assert!(
            0.08 <= sum && sum <= awaited * 1.01,
            "{function}: {sum} is not within the {awaited} s awaited (the time before the \
             first poll is not the call's)"
        );
        assert!(
            text.contains(&error_line(function, "NotFound", 1)),
            "{function}: {text}"
        );
    }
}
