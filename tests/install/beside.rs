//! track-metrics beside another exporter: installed without the global recorder, combined with
//! the application's recorder through a `metrics_util` fanout, and the axum layer's family names
//! left to the application until a layer is used. Two families of one name never reach one
//! scrape.

use metrics_exporter_prometheus::PrometheusBuilder;
use metrics_util::layers::FanoutBuilder;
use tower_layer::Layer as _;
use track_metrics::Exporter;
use track_metrics::axum::MetricsLayer;
use track_metrics::testing::Exposition;

use crate::common::{self, in_own_process};
use crate::test_name;

track_metrics::metrics! {
    /// Jobs done, in track-metrics only
    counter BESIDE_JOBS: beside_jobs_total;
}

#[track_metrics::track_metrics]
fn beside_work() {}

#[test]
fn beside_another_exporter_each_serves_its_own_and_a_fanout_gives_the_facade_to_both() {
    in_own_process(
        &test_name!(
            beside_another_exporter_each_serves_its_own_and_a_fanout_gives_the_facade_to_both
        ),
        || {
            let exporter = Exporter::builder()
                .without_listener()
                .without_global_recorder()
                .install()
                .unwrap();
            let prometheus = PrometheusBuilder::new().build_recorder();
            let handle = prometheus.handle();
            let fanout = FanoutBuilder::default()
                .add_recorder(prometheus)
                .add_recorder(exporter.recorder())
                .build();
            metrics::set_global_recorder(fanout).expect("the global recorder is free");
            assert_eq!(
                track_metrics::recording(),
                track_metrics::Recording::Installed
            );
            beside_work();
            BESIDE_JOBS.inc();
            metrics::counter!("orders_total").increment(3);
            let ours = Exposition::parse(&track_metrics::render()).unwrap();
            let theirs = handle.render();
            // The facade reaches both; the functions and families only track-metrics.
            assert_eq!(ours.value("orders_total", &[]), Some(3.0));
            assert!(theirs.contains("orders_total 3\n"), "{theirs}");
            assert_eq!(ours.value("beside_jobs_total", &[]), Some(1.0));
            assert!(!theirs.contains("beside_jobs_total"), "{theirs}");
            let site = [("function", "beside_work"), ("module", module_path!())];
            assert_eq!(ours.value("function_calls_total", &site), Some(1.0));
            assert!(!theirs.contains("function_calls_total"), "{theirs}");
        },
    );
}

#[test]
fn the_axum_layers_names_are_the_applications_until_a_layer_is_used() {
    in_own_process(
        &test_name!(the_axum_layers_names_are_the_applications_until_a_layer_is_used),
        || {
            common::logged();
            Exporter::builder().without_listener().install().unwrap();
            metrics::counter!("http_requests_total", "path" => "/a").increment(2);
            metrics::gauge!("http_requests_in_flight").set(3.0);
            let text = track_metrics::render();
            let scrape = Exposition::parse(&text).unwrap();
            assert_eq!(
                scrape.value("http_requests_total", &[("path", "/a")]),
                Some(2.0)
            );
            assert_eq!(
                scrape.value("http_requests_in_flight", &[]),
                Some(3.0),
                "{text}"
            );
            // A layer now would write families of the same names: it stays out, and says so.
            let _app: axum::Router = axum::Router::new().layer(MetricsLayer::new());
            let _service = MetricsLayer::new().layer(());
            let text = track_metrics::render();
            Exposition::parse(&text).unwrap();
            assert_eq!(
                text.matches("# TYPE http_requests_in_flight ").count(),
                1,
                "{text}"
            );
            assert_eq!(
                text.matches("# TYPE http_requests_total ").count(),
                1,
                "{text}"
            );
            let warnings = common::warnings_about("the axum layer's families");
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(
                warnings[0].contains("records `http_requests_total` through the `metrics` facade"),
                "{warnings:?}"
            );
        },
    );
}

#[test]
fn once_a_layer_is_used_its_names_are_refused_to_the_facade() {
    in_own_process(
        &test_name!(once_a_layer_is_used_its_names_are_refused_to_the_facade),
        || {
            Exporter::builder().without_listener().install().unwrap();
            let _app: axum::Router = axum::Router::new().layer(MetricsLayer::new());
            metrics::counter!("http_requests_total", "path" => "/a").increment(2);
            let text = track_metrics::render();
            let scrape = Exposition::parse(&text).unwrap();
            assert_eq!(scrape.value("http_requests_total", &[("path", "/a")]), None);
            assert_eq!(
                scrape.value(
                    "track_metrics_facade_refused_total",
                    &[("reason", "reserved_name")]
                ),
                Some(1.0),
                "{text}"
            );
            assert_eq!(scrape.value("http_requests_in_flight", &[]), Some(0.0));
        },
    );
}

#[test]
fn install_after_another_recorder_says_how_to_keep_it() {
    in_own_process(
        &test_name!(install_after_another_recorder_says_how_to_keep_it),
        || {
            PrometheusBuilder::new().install_recorder().unwrap();
            let error = Exporter::builder()
                .without_listener()
                .install()
                .unwrap_err();
            let message = error.to_string();
            assert!(message.contains("without_global_recorder()"), "{message}");
            assert!(message.contains("without `install()`"), "{message}");
            // The way it names works.
            Exporter::builder()
                .without_listener()
                .without_global_recorder()
                .install()
                .unwrap();
        },
    );
}
