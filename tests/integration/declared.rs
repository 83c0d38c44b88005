//! Every operation of the families `metrics!` declares, asserted on the exact exposition text
//! of a real scrape. Each test uses families no other test uses.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use track_metrics::{LabelValue, metrics};

use crate::common::{self, family_text, scrape};

#[derive(Clone, Copy, Debug, LabelValue)]
enum Method {
    #[label = "GET"]
    Get,
    #[label = "POST"]
    Post,
}

#[derive(Clone, Copy, Debug, LabelValue)]
enum Outcome {
    #[label = "ok"]
    Ok,
    #[label = "error"]
    Error,
}

metrics! {
    /// Total HTTP requests
    counter REQUESTS: requests_total(method, endpoint);
    /// Requests by method and outcome, shown at zero from the start
    counter OUTCOMES: outcomes_total(method: Method, outcome: Outcome);
    /// Jobs done
    counter JOBS: jobs_total;
    /// Database connections in use
    gauge DB_POOL_USED: db_pool_connections_used;
    /// Temperature of a room
    gauge TEMPERATURE: room_temperature_celsius(room);
    /// Time of the last successful run
    gauge LAST_RUN: last_run_timestamp_seconds;
    /// Requests in progress
    gauge IN_PROGRESS: requests_in_progress;
    /// Items waiting, read at scrape time
    gauge QUEUE: queue_items;
    /// HTTP request latency
    #[buckets(0.01, 0.1, 1)]
    histogram LATENCY: request_latency_seconds(endpoint);
    /// Payload size, default buckets
    histogram PAYLOAD: payload_size_bytes;
    /// Response size
    #[quantiles(0.5, 0.9, 0.99)]
    summary RESPONSE_SIZE: response_size_bytes(endpoint);
    /// Time spent waiting for a lock
    summary LOCK_WAIT: lock_wait_seconds;
    /// Version of the running build
    info BUILD: build_info(version, revision);
    /// Values from everywhere
    #[max_series(3)]
    counter EVENTS: events_total(source);
    /// Messages by sender and subject, with any characters
    counter MESSAGES: messages_total(sender, subject);
}

#[test]
fn counter_operations() {
    common::exporter();
    let users = REQUESTS.labels("GET", "/users");
    users.inc();
    users.inc_by(4);
    REQUESTS
        .labels(String::from("POST"), Cow::Borrowed("/orders"))
        .inc();
    JOBS.inc_by(2);
    assert_eq!(users.get(), 5);
    let (text, _) = scrape();
    assert_eq!(
        family_text(&text, "requests_total"),
        "# HELP requests_total Total HTTP requests\n\
         # TYPE requests_total counter\n\
         requests_total{method=\"GET\",endpoint=\"/users\"} 5\n\
         requests_total{method=\"POST\",endpoint=\"/orders\"} 1\n"
    );
    assert_eq!(
        family_text(&text, "jobs_total"),
        "# HELP jobs_total Jobs done\n# TYPE jobs_total counter\njobs_total 2\n"
    );
}

#[test]
fn enum_families_show_every_combination_from_the_first_scrape() {
    common::exporter();
    let (text, _) = scrape();
    assert_eq!(
        family_text(&text, "outcomes_total"),
        "# HELP outcomes_total Requests by method and outcome, shown at zero from the start\n\
         # TYPE outcomes_total counter\n\
         outcomes_total{method=\"GET\",outcome=\"error\"} 0\n\
         outcomes_total{method=\"GET\",outcome=\"ok\"} 0\n\
         outcomes_total{method=\"POST\",outcome=\"error\"} 0\n\
         outcomes_total{method=\"POST\",outcome=\"ok\"} 0\n"
    );
    OUTCOMES.labels(Method::Post, Outcome::Error).inc();
    let (text, _) = scrape();
    assert!(
        text.contains("outcomes_total{method=\"POST\",outcome=\"error\"} 1\n"),
        "{text}"
    );
    let _ = Method::Get;
    let _ = Outcome::Ok;
}

#[test]
fn gauge_operations() {
    common::exporter();
    DB_POOL_USED.inc();
    DB_POOL_USED.inc();
    DB_POOL_USED.dec();
    DB_POOL_USED.add(2.5);
    DB_POOL_USED.sub(0.25);
    let kitchen = TEMPERATURE.labels("kitchen");
    kitchen.set(21.5);
    kitchen.set(-3.0);
    let (text, _) = scrape();
    assert_eq!(
        family_text(&text, "db_pool_connections_used"),
        "# HELP db_pool_connections_used Database connections in use\n\
         # TYPE db_pool_connections_used gauge\n\
         db_pool_connections_used 3.25\n"
    );
    assert!(
        text.contains("room_temperature_celsius{room=\"kitchen\"} -3\n"),
        "{text}"
    );

    LAST_RUN.set_to_current_time();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let (_, parsed) = scrape();
    let last_run = parsed.value("last_run_timestamp_seconds", &[]).unwrap();
    assert!((now - last_run).abs() < 5.0, "{last_run} vs {now}");
}

#[test]
fn an_in_progress_guard_comes_back_down_after_a_panic() {
    common::exporter();
    let in_progress = || scrape().1.value("requests_in_progress", &[]).unwrap();
    {
        let _first = IN_PROGRESS.track_inprogress();
        let _second = IN_PROGRESS.track_inprogress();
        assert_eq!(in_progress(), 2.0);
    }
    let panicked = std::panic::catch_unwind(|| {
        let _guard = IN_PROGRESS.track_inprogress();
        panic!("the panic the test expects");
    });
    assert!(panicked.is_err());
    assert_eq!(in_progress(), 0.0);
}

#[test]
fn a_gauge_function_is_read_at_each_scrape() {
    use std::sync::atomic::{AtomicU32, Ordering};
    static WAITING: AtomicU32 = AtomicU32::new(3);
    common::exporter();
    QUEUE.set_function(|| f64::from(WAITING.load(Ordering::Relaxed)));
    assert!(scrape().0.contains("\nqueue_items 3\n"));
    WAITING.store(11, Ordering::Relaxed);
    assert!(scrape().0.contains("\nqueue_items 11\n"));
}

#[test]
fn histogram_operations() {
    common::exporter();
    let users = LATENCY.labels("/users");
    users.observe(0.005);
    users.observe(0.01); // `le` is inclusive
    users.observe(0.5);
    users.observe(7.0);
    let rows = users.time(|| 3);
    assert_eq!(rows, 3);
    {
        let _timer = users.start_timer();
    }
    let started = std::time::Instant::now();
    let recorded = users.start_timer().observe_duration();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        (0.0..=elapsed * 1.01).contains(&recorded),
        "{recorded} of {elapsed} s"
    );
    users.start_timer().discard();
    let (text, parsed) = scrape();
    let block = family_text(&text, "request_latency_seconds");
    let expected_head = "# HELP request_latency_seconds HTTP request latency\n\
         # TYPE request_latency_seconds histogram\n\
         request_latency_seconds_bucket{endpoint=\"/users\",le=\"0.01\"} 5\n\
         request_latency_seconds_bucket{endpoint=\"/users\",le=\"0.1\"} 5\n\
         request_latency_seconds_bucket{endpoint=\"/users\",le=\"1\"} 6\n\
         request_latency_seconds_bucket{endpoint=\"/users\",le=\"+Inf\"} 7\n\
         request_latency_seconds_sum{endpoint=\"/users\"} ";
    assert!(block.starts_with(expected_head), "{block}");
    assert!(
        block.ends_with("request_latency_seconds_count{endpoint=\"/users\"} 7\n"),
        "{block}"
    );
    let sum = parsed
        .value("request_latency_seconds_sum", &[("endpoint", "/users")])
        .unwrap();
    assert!((7.515..7.6).contains(&sum), "{sum}");
}

#[test]
fn unlabelled_metrics_show_at_zero_from_the_first_scrape() {
    common::exporter();
    let (text, _) = scrape();
    let mut expected = String::from(
        "# HELP payload_size_bytes Payload size, default buckets\n# TYPE payload_size_bytes histogram\n",
    );
    for le in [
        "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5",
        "7.5", "10", "+Inf",
    ] {
        expected.push_str(&format!("payload_size_bytes_bucket{{le=\"{le}\"}} 0\n"));
    }
    expected.push_str("payload_size_bytes_sum 0\npayload_size_bytes_count 0\n");
    assert_eq!(family_text(&text, "payload_size_bytes"), expected);
    assert_eq!(
        family_text(&text, "lock_wait_seconds"),
        "# HELP lock_wait_seconds Time spent waiting for a lock\n\
         # TYPE lock_wait_seconds summary\n\
         lock_wait_seconds{quantile=\"0.5\"} NaN\n\
         lock_wait_seconds{quantile=\"0.9\"} NaN\n\
         lock_wait_seconds{quantile=\"0.99\"} NaN\n\
         lock_wait_seconds_sum 0\n\
         lock_wait_seconds_count 0\n"
    );
}

#[test]
fn summary_quantiles_of_a_known_distribution_are_right() {
    common::exporter();
    let home = RESPONSE_SIZE.labels("/");
    // In order, then one scrape: metrics-exporter-prometheus's summary kept only the last 40
    // samples of this (its p50 came out near 980).
    for size in 1..=1000 {
        home.observe(f64::from(size));
    }
    let (text, parsed) = scrape();
    for (q, expected) in [("0.5", 500.0), ("0.9", 900.0), ("0.99", 990.0)] {
        let value = parsed
            .value("response_size_bytes", &[("endpoint", "/"), ("quantile", q)])
            .unwrap();
        // Within the 0.5% the README promises.
        assert!(
            (value - expected).abs() <= expected * 0.005,
            "p{q} = {value}, expected about {expected}"
        );
    }
    assert!(
        text.contains("response_size_bytes_sum{endpoint=\"/\"} 500500\n"),
        "{text}"
    );
    assert!(
        text.contains("response_size_bytes_count{endpoint=\"/\"} 1000\n"),
        "{text}"
    );
    let timed = home.time(|| 1);
    assert_eq!(timed, 1);
    assert_eq!(home.count(), 1001);
}

#[test]
fn info_shows_its_labels_at_one() {
    common::exporter();
    BUILD.set("1.2.3", "abc123");
    let (text, _) = scrape();
    assert_eq!(
        family_text(&text, "build_info"),
        "# HELP build_info Version of the running build\n\
         # TYPE build_info gauge\n\
         build_info{version=\"1.2.3\",revision=\"abc123\"} 1\n"
    );
}

#[test]
fn label_sets_past_the_limit_share_one_overflow_series() {
    common::exporter();
    common::logged();
    for index in 0..10_000 {
        EVENTS.labels(format!("hostile-{index}")).inc();
    }
    let (text, parsed) = scrape();
    let series: Vec<_> = parsed
        .samples()
        .filter(|sample| sample.name == "events_total")
        .collect();
    assert_eq!(
        series.len(),
        4,
        "3 label sets and the overflow series: {text}"
    );
    assert_eq!(
        parsed.value(
            "events_total",
            &[
                ("source", "__overflow__"),
                ("track_metrics_overflow", "true")
            ]
        ),
        Some(9_997.0)
    );
    assert_eq!(
        parsed.value(
            "track_metrics_cardinality_overflow_total",
            &[("metric", "events_total")]
        ),
        Some(9_997.0)
    );
    // A label set admitted before the limit keeps its own series.
    EVENTS.labels("hostile-0").inc();
    assert_eq!(
        scrape().1.value("events_total", &[("source", "hostile-0")]),
        Some(2.0)
    );
    // A real label value that spells the overflow marker is a series of its own.
    assert_eq!(
        scrape()
            .1
            .value("events_total", &[("source", "__overflow__")]),
        None
    );
    // One warning for the family, however many label sets overflowed.
    let warnings = common::warnings_about("metric `events_total` reached its limit of 3");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn a_real_overflow_label_value_never_merges_with_the_overflow_series() {
    common::exporter();
    metrics! {
        /// Values from a hostile source
        #[max_series(2)]
        counter HOSTILE: hostile_values_total(value);
    }
    HOSTILE.labels("__overflow__").inc();
    HOSTILE.labels("b").inc();
    HOSTILE.labels("c").inc_by(5);
    let (text, _) = scrape();
    assert_eq!(
        family_text(&text, "hostile_values_total"),
        "# HELP hostile_values_total Values from a hostile source\n\
         # TYPE hostile_values_total counter\n\
         hostile_values_total{value=\"__overflow__\"} 1\n\
         hostile_values_total{value=\"__overflow__\",track_metrics_overflow=\"true\"} 5\n\
         hostile_values_total{value=\"b\"} 1\n"
    );
}

#[test]
fn many_threads_on_shared_series_lose_nothing() {
    common::exporter();
    metrics! {
        /// Increments from many threads
        counter CONCURRENT: concurrent_increments_total(worker_group);
        /// Observations from many threads
        #[buckets(1, 2)]
        histogram CONCURRENT_SIZES: concurrent_sizes_bytes(worker_group);
    }
    const THREADS: usize = 8;
    const PER_THREAD: usize = 20_000;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            scope.spawn(move || {
                let group = if thread % 2 == 0 { "even" } else { "odd" };
                for _ in 0..PER_THREAD {
                    CONCURRENT.labels(group).inc();
                    CONCURRENT_SIZES.labels(group).observe(1.5);
                }
            });
        }
    });
    let (_, parsed) = scrape();
    let each = (THREADS / 2 * PER_THREAD) as f64;
    for group in ["even", "odd"] {
        assert_eq!(
            parsed.value("concurrent_increments_total", &[("worker_group", group)]),
            Some(each)
        );
        let le = [("worker_group", group), ("le", "2")];
        assert_eq!(
            parsed.value("concurrent_sizes_bytes_bucket", &le),
            Some(each)
        );
        assert_eq!(
            parsed.value("concurrent_sizes_bytes_sum", &[("worker_group", group)]),
            Some(each * 1.5)
        );
    }
}

#[test]
fn label_values_with_escapes_round_trip() {
    common::exporter();
    let tricky = ["C:\\dir\\", "say \"hi\"", "two\nlines", "\u{FDD0}", "日本"];
    for value in tricky {
        MESSAGES.labels(value, value).inc();
    }
    let (text, parsed) = scrape();
    for value in tricky {
        assert_eq!(
            parsed.value("messages_total", &[("sender", value), ("subject", value)]),
            Some(1.0),
            "{value:?}"
        );
    }
    assert!(
        text.contains("messages_total{sender=\"C:\\\\dir\\\\\""),
        "{text}"
    );
}

#[test]
fn the_facade_cannot_take_a_declared_name() {
    // Refused as `reserved_name`: counted, so in turn with the tests that count refusals.
    let _turn = crate::facade::turn();
    common::exporter();
    metrics::counter!("jobs_total", "via" => "facade").increment(100);
    let (text, _) = scrape();
    assert!(!text.contains("via=\"facade\""), "{text}");
    assert_eq!(text.matches("# TYPE jobs_total ").count(), 1, "{text}");
}

#[test]
fn a_summary_forgets_what_left_its_window() {
    common::exporter();
    metrics! {
        /// Sizes over the last two seconds
        #[quantiles(0.5)]
        #[max_age_seconds(2)]
        summary RECENT_SIZES: recent_sizes_bytes;
    }
    let median = || {
        scrape()
            .1
            .value("recent_sizes_bytes", &[("quantile", "0.5")])
            .unwrap()
    };
    // An observation stays at least 1.6 s (the window rotates in five periods): a scrape
    // taken within 1.5 s of it must see it. On a loaded machine the scrape may come later;
    // then observe again.
    let mut observed = 0_u32;
    let fresh = loop {
        let at = std::time::Instant::now();
        RECENT_SIZES.observe(100.0);
        observed += 1;
        let median = median();
        if at.elapsed() < Duration::from_millis(1500) {
            break median;
        }
        assert!(observed < 20, "no scrape within 1.5 s of an observation");
    };
    assert!((fresh - 100.0).abs() <= 0.5, "{fresh}");
    // What is older than the window is gone; count and sum stay.
    common::eventually("the observation leaves the window", || median().is_nan());
    let (_, parsed) = scrape();
    assert_eq!(
        parsed.value("recent_sizes_bytes_count", &[]),
        Some(f64::from(observed))
    );
    assert_eq!(
        parsed.value("recent_sizes_bytes_sum", &[]),
        Some(100.0 * f64::from(observed))
    );
}

#[test]
fn a_counter_stops_at_the_top_instead_of_wrapping_to_zero() {
    common::exporter();
    metrics! {
        /// Bytes moved, a total that can reach the top of u64
        counter MOVED: moved_bytes_total(direction);
    }
    let up = MOVED.labels("up");
    up.inc_by(u64::MAX - 1);
    up.inc_by(5);
    // Two threads near the top: each cell saturates, and so does their sum.
    let down = MOVED.labels("down");
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| down.inc_by(u64::MAX / 2 + 10));
        }
    });
    assert_eq!(up.get(), u64::MAX);
    assert_eq!(down.get(), u64::MAX);
    let (text, _) = scrape();
    for direction in ["up", "down"] {
        assert!(
            text.contains(&format!(
                "moved_bytes_total{{direction=\"{direction}\"}} 18446744073709551615\n"
            )),
            "{text}"
        );
    }
}
