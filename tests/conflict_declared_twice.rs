//! One metric name declared in two `metrics!` blocks makes `install()` fail, naming both.

mod common;

mod billing {
    track_metrics::metrics! {
        /// Invoices sent
        pub counter INVOICES: invoices_total;
    }
}

mod mailing {
    track_metrics::metrics! {
        /// Invoices mailed
        pub counter INVOICES: invoices_total(channel);
    }
}

#[test]
fn a_name_declared_twice_is_an_error_naming_both() {
    let text = common::install_error();
    assert!(
        text.starts_with("the metric `invoices_total` is declared twice"),
        "{text}"
    );
    assert!(
        text.contains("`invoices_total` (tests/conflict_declared_twice.rs:8)"),
        "{text}"
    );
    assert!(
        text.contains("`invoices_total` (tests/conflict_declared_twice.rs:15)"),
        "{text}"
    );
    billing::INVOICES.inc();
    mailing::INVOICES.labels("email").inc();
}
