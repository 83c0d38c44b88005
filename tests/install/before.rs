//! What happens before `install()`: `#[track_metrics]` calls are not recorded (the duration
//! buckets are the builder's to decide) and leave nothing stale behind; `metrics!` operations
//! are kept; a histogram family used before keeps its layout, and `install()` refuses a builder
//! setting that would give it another, losing no observation either way.

use track_metrics::{Error, metrics, track_metrics};

use crate::common::{self, in_own_process, value};
use crate::test_name;

const MODULE: &str = module_path!();
const SOURCE: &str = include_str!("before.rs");

#[track_metrics]
fn early_bird() {}

#[track_metrics]
fn late_bird() {}

#[test]
fn calls_before_install_are_dropped_and_calls_after_are_all_recorded() {
    in_own_process(
        &test_name!(calls_before_install_are_dropped_and_calls_after_are_all_recorded),
        || {
            assert_eq!(
                track_metrics::render(),
                "",
                "nothing is rendered before install"
            );
            early_bird();
            early_bird();

            common::exporter();
            let labels = |function| [("function", function), ("module", MODULE)];
            let (_, first) = common::scrape();
            assert_eq!(
                value(&first, "function_calls_total", &labels("early_bird")),
                0.0
            );
            assert_eq!(
                value(&first, "function_calls_total", &labels("late_bird")),
                0.0
            );

            early_bird();
            early_bird();
            late_bird();
            let (_, second) = common::scrape();
            assert_eq!(
                value(&second, "function_calls_total", &labels("early_bird")),
                2.0
            );
            assert_eq!(
                value(
                    &second,
                    "function_duration_seconds_count",
                    &labels("early_bird")
                ),
                2.0
            );
            assert_eq!(
                value(&second, "function_calls_total", &labels("late_bird")),
                1.0
            );
        },
    );
}

metrics! {
    /// Jobs done
    counter JOBS: jobs_total;
    /// Jobs by tenant
    counter TENANT_JOBS: tenant_jobs_total(tenant);
    /// Sizes observed before install, without buckets of their own
    histogram EARLY_SIZES: early_sizes_bytes;
    /// Sizes observed before install, with buckets of their own
    #[buckets(1, 10)]
    histogram DECLARED_SIZES: declared_sizes_bytes;
    /// Sizes first observed after install
    histogram LATE_SIZES: late_sizes_bytes;
}

#[test]
fn declared_operations_before_install_are_kept_and_builder_settings_apply() {
    in_own_process(
        &test_name!(declared_operations_before_install_are_kept_and_builder_settings_apply),
        || {
            JOBS.inc_by(3);
            assert_eq!(
                track_metrics::render(),
                "",
                "nothing is rendered before install"
            );

            let clash = track_metrics::Exporter::builder()
                .without_listener()
                .global_label("tenant", "acme")
                .install()
                .unwrap_err();
            assert!(matches!(clash, Error::GlobalLabelClash { .. }), "{clash:?}");
            assert!(
                clash.to_string().contains(&format!(
                    "`tenant_jobs_total` (tests/install/before.rs:{}) has a label `tenant`, which \
                 is also a global label",
                    common::line_of(SOURCE, "counter TENANT_JOBS")
                )),
                "{clash}"
            );

            let zero = track_metrics::Exporter::builder()
                .max_series(0)
                .install()
                .unwrap_err();
            assert!(
                matches!(
                    zero,
                    Error::InvalidSetting {
                        setting: "max_series",
                        ..
                    }
                ),
                "{zero:?}"
            );

            track_metrics::Exporter::builder()
                .without_listener()
                .max_series(2)
                .install()
                .unwrap();
            for tenant in ["a", "b", "c", "d"] {
                TENANT_JOBS.labels(tenant).inc();
            }
            let text = track_metrics::render();
            assert!(text.contains("\njobs_total 3\n"), "{text}");
            assert!(
                text.contains(
                    "tenant_jobs_total{tenant=\"__overflow__\",track_metrics_overflow=\"true\"} 2\n"
                ),
                "{text}"
            );
        },
    );
}

#[test]
fn a_histogram_used_before_install_keeps_its_layout_and_loses_nothing() {
    in_own_process(
        &test_name!(a_histogram_used_before_install_keeps_its_layout_and_loses_nothing),
        || {
            EARLY_SIZES.observe(0.02);
            EARLY_SIZES.observe(7.0);
            DECLARED_SIZES.observe(5.0);

            // The default buckets would give the family used before another layout: refused.
            let error = track_metrics::Exporter::builder()
                .without_listener()
                .default_buckets(&[0.1, 1.0])
                .install()
                .unwrap_err();
            let Error::LayoutInUse {
                family,
                in_use,
                configured,
            } = &error
            else {
                panic!("{error:?}");
            };
            assert_eq!(
                family,
                &format!(
                    "`early_sizes_bytes` (tests/install/before.rs:{})",
                    common::line_of(SOURCE, "histogram EARLY_SIZES")
                )
            );
            assert_eq!(in_use.as_slice(), track_metrics::DEFAULT_BUCKETS);
            assert_eq!(configured, &[0.1, 1.0]);
            let error = track_metrics::Exporter::builder()
                .without_listener()
                .buckets_for("early_sizes_bytes", &[5.0])
                .install()
                .unwrap_err();
            assert!(matches!(error, Error::LayoutInUse { .. }), "{error:?}");

            // A layout that agrees is accepted; a family with its own buckets ignores the default,
            // and a family first used afterwards takes the builder's.
            track_metrics::Exporter::builder()
                .without_listener()
                .buckets_for("late_sizes_bytes", &[2.0, 4.0])
                .install()
                .unwrap();
            EARLY_SIZES.observe(0.02);
            LATE_SIZES.observe(3.0);
            let scrape =
                track_metrics::testing::Exposition::parse(&track_metrics::render()).unwrap();
            assert_eq!(
                value(&scrape, "early_sizes_bytes_count", &[]),
                3.0,
                "nothing lost"
            );
            assert_eq!(
                value(&scrape, "early_sizes_bytes_bucket", &[("le", "0.025")]),
                2.0
            );
            assert_eq!(
                value(&scrape, "declared_sizes_bytes_bucket", &[("le", "10")]),
                1.0
            );
            let late: Vec<_> = scrape
                .samples()
                .filter(|sample| sample.name == "late_sizes_bytes_bucket")
                .map(|sample| (sample.label("le").unwrap().to_owned(), sample.value))
                .collect();
            assert_eq!(
                late,
                [
                    ("2".to_owned(), 0.0),
                    ("4".to_owned(), 1.0),
                    ("+Inf".to_owned(), 1.0)
                ]
            );
        },
    );
}
