//! `install()` refuses bad settings with an `Err` callers can match and whose message says what
//! to do, and leaves nothing running, so that a corrected attempt then succeeds.

use std::net::TcpListener;

use track_metrics::{BucketProblem, Error, Exporter};

use crate::common::in_own_process;
use crate::test_name;

fn refused(builder: track_metrics::ExporterBuilder) -> Error {
    match builder.install() {
        Ok(exporter) => panic!("installed on {:?}", exporter.local_addr()),
        Err(error) => error,
    }
}

#[test]
fn bad_settings_are_typed_errors_then_a_good_install_works_once() {
    in_own_process(
        &test_name!(bad_settings_are_typed_errors_then_a_good_install_works_once),
        || {
            let invalid = refused(Exporter::builder().listen_address("localhost"));
            assert!(
                matches!(&invalid, Error::InvalidAddress { value, origin: "ExporterBuilder::listen_address" } if value == "localhost"),
                "{invalid:?}"
            );
            assert!(invalid.to_string().contains("host:port"), "{invalid}");

            let taken = TcpListener::bind("127.0.0.1:0").unwrap();
            let taken_addr = taken.local_addr().unwrap();
            let in_use = refused(Exporter::builder().listen_address(taken_addr.to_string()));
            assert!(
                matches!(&in_use, Error::Bind { addr, .. } if *addr == taken_addr),
                "{in_use:?}"
            );
            assert!(
                in_use.to_string().contains("TRACK_METRICS_ADDR"),
                "{in_use}"
            );

            for factor in [1.0, 0.5, f64::NAN, f64::INFINITY] {
                let error = refused(Exporter::builder().native_histograms(factor));
                assert!(
                    matches!(
                        &error,
                        Error::InvalidSetting {
                            setting: "native_histograms",
                            ..
                        }
                    ),
                    "{error:?}"
                );
                assert!(error.to_string().contains("above 1"), "{error}");
            }
            let error = refused(Exporter::builder().native_histogram_max_buckets(0));
            assert!(error.to_string().contains("at least 1 bucket"), "{error}");

            let bucket_problem = |error: Error| match error {
                Error::InvalidBuckets { problem, .. } => problem,
                other => panic!("{other:?}"),
            };
            assert_eq!(
                bucket_problem(refused(Exporter::builder().default_buckets(&[]))),
                BucketProblem::Empty
            );
            assert_eq!(
                bucket_problem(refused(Exporter::builder().default_buckets(&[0.1, 0.1]))),
                BucketProblem::NotIncreasing(0.1, 0.1)
            );
            assert!(matches!(
                bucket_problem(refused(Exporter::builder().buckets_for("x_seconds", &[1.0, f64::NAN]))),
                BucketProblem::NotFinite(bound) if bound.is_nan()
            ));
            let error = refused(Exporter::builder().default_buckets(&[]));
            assert_eq!(
                error.to_string(),
                "invalid default buckets []: there must be at least one bound"
            );

            for (builder, setting) in [
                (Exporter::builder().buckets_for("", &[1.0]), "buckets_for"),
                (Exporter::builder().path("metrics"), "the endpoint"),
                (
                    Exporter::builder().max_concurrent_scrapes(0),
                    "the endpoint",
                ),
                (Exporter::builder().bearer_token(""), "the endpoint"),
                (
                    Exporter::builder().allow_network("10.0.0.0/33"),
                    "allow_network",
                ),
                (
                    Exporter::builder().bearer_token("a").basic_auth("u", "p"),
                    "the endpoint",
                ),
            ] {
                let error = refused(builder.listen_address("127.0.0.1:0"));
                assert!(
                    matches!(&error, Error::InvalidSetting { setting: given, .. } if *given == setting),
                    "{setting}: {error:?}"
                );
            }
            for (builder, expected) in [
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
                    Exporter::builder().global_label("track_metrics_overflow", "x"),
                    "overflow",
                ),
                (
                    Exporter::builder()
                        .global_label("a", "1")
                        .global_label("a", "2"),
                    "set twice",
                ),
            ] {
                let error = refused(builder.listen_address("127.0.0.1:0"));
                assert!(
                    matches!(error, Error::InvalidGlobalLabel { .. }),
                    "{error:?}"
                );
                assert!(
                    error.to_string().contains(expected),
                    "{expected:?} in {error}"
                );
            }

            // The port refused above was not taken by the failed attempts: free it and install there.
            drop(taken);
            let exporter = Exporter::builder()
                .listen_address(taken_addr.to_string())
                .install()
                .unwrap();
            assert_eq!(exporter.local_addr(), Some(taken_addr));

            let again = refused(Exporter::builder().without_listener());
            assert!(matches!(again, Error::AlreadyInstalled), "{again:?}");
            assert!(again.to_string().contains("already installed"), "{again}");
        },
    );
}

#[test]
fn another_recorder_is_reported_and_the_port_is_released() {
    in_own_process(
        &test_name!(another_recorder_is_reported_and_the_port_is_released),
        || {
            metrics::set_global_recorder(metrics::NoopRecorder).unwrap();
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();

            let error = refused(Exporter::builder().listen_address(port.to_string()));
            assert!(matches!(error, Error::RecorderAlreadySet), "{error:?}");
            assert!(
                error
                    .to_string()
                    .contains("another `metrics` recorder is already installed"),
                "{error}"
            );
            TcpListener::bind(port).expect("the failed install left no listener on the port");
            assert_eq!(track_metrics::render(), "", "nothing was installed");
        },
    );
}
