//! The tutorial's program in Rust: request metrics and database gauges declared with
//! `metrics!`, and `#[track_metrics]` on the slow functions, served at
//! <http://127.0.0.1:9000/metrics> (or `TRACK_METRICS_ADDR`).
//!
//! ```text
//! cargo run --example quickstart
//! curl http://127.0.0.1:9000/metrics
//! ```
//!
//! It simulates traffic until Ctrl-C (or, with `REQUESTS=n`, for `n` requests, then serves on
//! until Ctrl-C). With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`)
//! set, it also exports the same series over OTLP every `OTEL_METRIC_EXPORT_INTERVAL`
//! milliseconds, and once more at Ctrl-C:
//!
//! ```text
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run --example quickstart
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use track_metrics::slo::Objective;
use track_metrics::{metrics, track_metrics};

/// The slow operation's objective: 99% of calls succeed, 99% within a second.
pub const OPERATIONS: Objective = Objective::new("operations")
    .success_rate(99.0)
    .latency(1.0, 99.0);

/// The database's objective: 99.9% of queries succeed, 99% within 25 ms.
pub const DATABASE: Objective = Objective::new("database")
    .success_rate(99.9)
    .latency(0.025, 99.0);

// The tutorial's module-level metrics, checked at compile time.
metrics! {
    /// Total HTTP requests
    counter REQUESTS: requests_total(method, endpoint);
    /// HTTP request latency
    histogram REQUEST_DURATION: request_duration_seconds(endpoint);
    /// Number of active database connections
    gauge ACTIVE_CONNECTIONS: active_connections;
    /// Database connections in use
    gauge DB_POOL_USED: db_pool_connections_used;
}

/// The tutorial's `handle_request`: counts the request, times it, updates the connection gauge.
fn handle_request(method: &'static str, endpoint: &'static str) -> usize {
    REQUESTS.labels(method, endpoint).inc();
    // Python's `with request_duration.labels(endpoint=endpoint).time():`
    let _timer = REQUEST_DURATION.labels(endpoint).start_timer();
    ACTIVE_CONNECTIONS.set(get_db_connection_count());
    let rows = query_database("SELECT * FROM users");
    thread::sleep(Duration::from_millis(100)); // Simulate work
    http_library_records(endpoint, rows);
    rows
}

/// What an HTTP library of the workload records through the `metrics` facade, under
/// OpenTelemetry's names: scrapers that allow UTF-8 names get them with their dots, the others
/// `http_server_response_body_size`.
fn http_library_records(route: &'static str, bytes: usize) {
    metrics::histogram!("http.server.response.body.size", "http.route" => route)
        .record(bytes as f64);
}

/// The tutorial's placeholder for the connection pool size.
fn get_db_connection_count() -> f64 {
    5.0
}

/// The tutorial's decorated function: counted and timed by `#[track_metrics]`, watched by an
/// objective (`cargo run --example slo_rules` writes its alert rules).
#[track_metrics(objective = OPERATIONS)]
fn slow_operation() -> &'static str {
    thread::sleep(Duration::from_millis(500));
    "done"
}

/// The tutorial's `query_database`, with its own metric names and buckets, and the pool gauge
/// up for the duration of the query.
#[track_metrics(
    calls = "db_queries_total",
    duration = "db_query_duration_seconds",
    buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    objective = DATABASE
)]
fn query_database(sql: &str) -> usize {
    // One connection in use until the query returns, even if it panics.
    let _connection = DB_POOL_USED.track_inprogress();
    thread::sleep(Duration::from_millis(3 + (sql.len() % 7) as u64));
    sql.len()
}

fn main() -> ExitCode {
    let exporter = match track_metrics::Exporter::builder()
        // Sizes in bytes: the default buckets are durations in seconds.
        .buckets_for(
            "http.server.response.body.size",
            &[16.0, 32.0, 64.0, 128.0, 256.0, 1024.0],
        )
        .otlp_from_env()
        .install()
    {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let url = exporter.url().expect("install() listens by default");
    println!("Serving metrics at {url}");
    println!("See them with: curl {url}");
    if let Some(addr) = exporter.local_addr() {
        println!("Or in a browser, the live page: http://{addr}/");
    }
    if let Some(endpoint) = exporter.otlp_endpoint() {
        println!("Exporting OTLP to {endpoint}");
    }
    println!("Simulating traffic; press Ctrl-C to stop.");

    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = Arc::clone(&stop);
    if let Err(error) = ctrlc::set_handler(move || on_signal.store(true, Ordering::SeqCst)) {
        eprintln!("error: cannot handle Ctrl-C: {error}");
        return ExitCode::FAILURE;
    }

    let requests = [
        ("GET", "/users"),
        ("POST", "/orders"),
        ("GET", "/users"),
        ("GET", "/health"),
    ];
    let requests_to_serve: Option<u64> = std::env::var("REQUESTS")
        .ok()
        .and_then(|value| value.parse().ok());
    let mut served = 0_u64;
    while !stop.load(Ordering::SeqCst) {
        if requests_to_serve.is_some_and(|total| served >= total) {
            println!("Served {served} requests; serving metrics until Ctrl-C.");
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(50));
            }
            break;
        }
        let (method, endpoint) = requests[(served % requests.len() as u64) as usize];
        handle_request(method, endpoint);
        if served.is_multiple_of(5) {
            slow_operation();
        }
        served += 1;
    }
    println!("Stopped after {served} requests.");
    // The last OTLP export, with everything counted until now (nothing when OTLP is off).
    if let Err(error) = exporter.shutdown() {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
