// Every option together, as the tutorial's `query_database` would use them.
#![deny(warnings)]

use track_metrics::track_metrics;

#[track_metrics(
    name = "query_database",
    calls = "db_queries_total",
    duration = "db_query_duration_seconds",
    labels(database = "users", pool = "primary", type = "read",),
    buckets = [0.001, 0.01, 0.1, 1, 1e1],
)]
fn query(sql: &str) -> usize {
    sql.len()
}

fn main() {
    track_metrics::Exporter::builder().without_listener().install().unwrap();
    assert_eq!(query("SELECT 1"), 8);
    let text = track_metrics::render();
    let scrape = track_metrics::testing::Exposition::parse(&text).unwrap();
    let module = module_path!();
    let labels = [("function", "query_database"), ("module", module), ("database", "users"), ("pool", "primary"), ("type", "read")];
    assert_eq!(scrape.value("db_queries_total", &labels), Some(1.0));
    let ten = [labels.as_slice(), &[("le", "10")]].concat();
    assert_eq!(scrape.value("db_query_duration_seconds_bucket", &ten), Some(1.0));
    let bounds: Vec<&str> = scrape
        .samples()
        .filter(|sample| sample.name == "db_query_duration_seconds_bucket")
        .map(|sample| sample.label("le").unwrap())
        .collect();
    assert_eq!(bounds, ["0.001", "0.01", "0.1", "1", "10", "+Inf"], "the declared buckets replace the default ones");
}
