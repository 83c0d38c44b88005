//! Declared families record from the start of the process, before `install()`; the builder's
//! series limit applies to families that do not declare their own; a declared label that is
//! also a global label is refused.

use track_metrics::metrics;

metrics! {
    /// Jobs done
    counter JOBS: jobs_total;
    /// Jobs by tenant
    counter TENANT_JOBS: tenant_jobs_total(tenant);
}

#[test]
fn operations_before_install_are_kept_and_builder_settings_apply() {
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
        .unwrap_err()
        .to_string();
    assert!(
        clash.contains("`tenant_jobs_total` (tests/declared_before_install.rs:11) has a label `tenant`, which is also a global label"),
        "{clash}"
    );

    let zero = track_metrics::Exporter::builder()
        .max_series(0)
        .install()
        .unwrap_err()
        .to_string();
    assert!(zero.contains("`max_series` must be at least 1"), "{zero}");

    track_metrics::Exporter::builder()
        .listen_address("127.0.0.1:0")
        .max_series(2)
        .install()
        .unwrap();
    for tenant in ["a", "b", "c", "d"] {
        TENANT_JOBS.labels(tenant).inc();
    }
    let text = track_metrics::render();
    assert!(text.contains("\njobs_total 3\n"), "{text}");
    assert!(
        text.contains("tenant_jobs_total{tenant=\"__overflow__\"} 2\n"),
        "{text}"
    );
}
