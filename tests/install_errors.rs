//! `install()` refuses bad settings with an `Err` that says what to do, and leaves nothing
//! running, so that a corrected attempt then succeeds.

use std::net::TcpListener;

use track_metrics::{Error, Exporter};

fn message(result: Result<Exporter, Error>) -> String {
    match result {
        Ok(exporter) => panic!("installed on {:?}", exporter.local_addr()),
        Err(error) => error.to_string(),
    }
}

#[test]
fn bad_settings_are_errors_then_a_good_install_works_once() {
    let invalid = message(Exporter::builder().listen_address("localhost").install());
    assert!(
        invalid.contains("invalid listen address `localhost`"),
        "{invalid}"
    );
    assert!(invalid.contains("host:port"), "{invalid}");

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let in_use = message(
        Exporter::builder()
            .listen_address(taken_addr.to_string())
            .install(),
    );
    assert!(
        in_use.starts_with(&format!("cannot listen on {taken_addr}")),
        "{in_use}"
    );
    assert!(in_use.contains("TRACK_METRICS_ADDR"), "{in_use}");

    for (builder, expected) in [
        (
            Exporter::builder().default_buckets(&[]),
            "at least one bound",
        ),
        (
            Exporter::builder().default_buckets(&[0.1, 0.1]),
            "strictly increasing",
        ),
        (
            Exporter::builder().buckets_for("x_seconds", &[1.0, f64::NAN]),
            "not finite",
        ),
        (
            Exporter::builder().buckets_for("x-seconds", &[1.0]),
            "is not a metric name",
        ),
        (Exporter::builder().global_label("le", "1"), "reserved"),
        (
            Exporter::builder().global_label("function", "x"),
            "sets `function` and `module`",
        ),
        (
            Exporter::builder().global_label("__meta", "x"),
            "reserved for Prometheus",
        ),
        (
            Exporter::builder().global_label("service name", "x"),
            "must match",
        ),
        (
            Exporter::builder()
                .global_label("a", "1")
                .global_label("a", "2"),
            "set twice",
        ),
        (Exporter::builder().path("metrics"), "must start with `/`"),
    ] {
        let text = message(builder.listen_address("127.0.0.1:0").install());
        assert!(text.contains(expected), "expected {expected:?} in {text:?}");
    }

    // The port refused above was not taken by the failed attempts: free it and install there.
    drop(taken);
    let exporter = Exporter::builder()
        .listen_address(taken_addr.to_string())
        .install()
        .unwrap();
    assert_eq!(exporter.local_addr(), Some(taken_addr));

    let again = message(track_metrics::install());
    assert!(again.contains("already installed"), "{again}");
}
