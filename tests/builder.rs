//! The builder's settings reach the exposition: global labels on every series, default and
//! per-metric buckets; and the endpoint outlives the `Exporter` value.

mod common;

use track_metrics::testing::Exposition;
use track_metrics::track_metrics;

#[track_metrics]
fn with_defaults() {}

#[track_metrics(duration = "declared_duration_seconds", buckets = [0.1, 1.0])]
fn with_declared_buckets() {}

fn les(scrape: &Exposition, bucket_name: &str, function: &str) -> Vec<String> {
    scrape
        .samples()
        .filter(|sample| sample.name == bucket_name && sample.label("function") == Some(function))
        .map(|sample| sample.label("le").unwrap().to_owned())
        .collect()
}

#[test]
fn settings_reach_the_exposition_and_the_endpoint_outlives_the_exporter() {
    let exporter = track_metrics::Exporter::builder()
        .listen_address("127.0.0.1:0")
        .global_label("service", "checkout")
        .global_label("region", "eu\\west")
        .default_buckets(&[0.5, 1.0])
        .buckets_for("facade_duration_seconds", &[0.25])
        .process_metrics(false)
        .install()
        .unwrap();
    let addr = exporter.local_addr().unwrap();
    drop(exporter);

    with_defaults();
    with_declared_buckets();
    metrics::describe_histogram!(
        "facade_duration_seconds",
        "A facade histogram with own buckets"
    );
    metrics::describe_histogram!("other_facade_seconds", "A facade histogram");
    metrics::histogram!("facade_duration_seconds").record(0.2);
    metrics::histogram!("other_facade_seconds").record(0.7);

    let response = common::request(addr, "GET", "/metrics");
    assert_eq!(
        response.status, 200,
        "the endpoint serves after the Exporter is dropped"
    );
    let scrape = Exposition::parse(&response.body).unwrap();

    for sample in scrape.samples() {
        assert_eq!(sample.label("service"), Some("checkout"), "{sample:?}");
        assert_eq!(sample.label("region"), Some("eu\\west"), "{sample:?}");
    }
    let globals = [("service", "checkout"), ("region", "eu\\west")];
    let calls = [
        ("function", "with_defaults"),
        ("module", "builder"),
        globals[0],
        globals[1],
    ];
    assert_eq!(scrape.value("function_calls_total", &calls), Some(1.0));

    assert_eq!(
        les(&scrape, "function_duration_seconds_bucket", "with_defaults"),
        ["0.5", "1", "+Inf"]
    );
    assert_eq!(
        les(
            &scrape,
            "declared_duration_seconds_bucket",
            "with_declared_buckets"
        ),
        ["0.1", "1", "+Inf"]
    );
    let facade: Vec<_> = scrape
        .samples()
        .filter(|sample| sample.name == "facade_duration_seconds_bucket")
        .map(|sample| (sample.label("le").unwrap().to_owned(), sample.value))
        .collect();
    assert_eq!(facade, [("0.25".to_owned(), 1.0), ("+Inf".to_owned(), 1.0)]);
    let other: Vec<_> = scrape
        .samples()
        .filter(|sample| sample.name == "other_facade_seconds_bucket")
        .map(|sample| (sample.label("le").unwrap().to_owned(), sample.value))
        .collect();
    assert_eq!(
        other,
        [
            ("0.5".to_owned(), 0.0),
            ("1".to_owned(), 1.0),
            ("+Inf".to_owned(), 1.0)
        ]
    );
    assert!(
        !response.body.contains("process_"),
        "process metrics are off: {}",
        response.body
    );
    common::assert_promtool_accepts(&response.body);
}
