//! Expansion snapshots of `metrics!`.

use expect_test::{Expect, expect};
use proc_macro2::TokenStream;
use quote::quote;

fn check(input: TokenStream, expected: Expect) {
    let output = super::declarations(input);
    let file = syn::parse2::<syn::File>(output).expect("the expansion is a valid file");
    expected.assert_eq(&prettyplease::unparse(&file));
}

#[test]
fn a_labelled_counter_and_an_unlabelled_gauge() {
    check(
        quote! {
            /// Total HTTP requests
            pub counter REQUESTS: requests_total(method: Method, endpoint);
            /// Database connections in use
            gauge DB_POOL_USED: db_pool_connections_used;
        },
        expect![[r#"
            /// Total HTTP requests
            pub static REQUESTS: RequestsMetric = RequestsMetric(
                ::track_metrics::__private::Family::<
                    ::track_metrics::__private::Counter,
                >::new(
                    &::track_metrics::__private::Descriptor {
                        name: "requests_total",
                        help: "Total HTTP requests",
                        kind: ::track_metrics::__private::Kind::Counter,
                        labels: &["method", "endpoint"],
                        buckets: &[],
                        quantiles: &[],
                        max_age_seconds: 600u64,
                        max_series: 0usize,
                        variants: &[],
                        file: ::track_metrics::__private::file!(),
                        line: ::track_metrics::__private::line!(),
                    },
                ),
            );
            /// The type of [`REQUESTS`]: the `requests_total` counter declared with `track_metrics::metrics!`.
            pub struct RequestsMetric(
                ::track_metrics::__private::Family<::track_metrics::__private::Counter>,
            );
            impl RequestsMetric {
                /// The series of these label values (`method`, `endpoint`), created on first use; keep it to skip the lookup next time.
                #[inline]
                pub fn labels(
                    &'static self,
                    method: Method,
                    endpoint: impl ::track_metrics::__private::LabelValue,
                ) -> &'static ::track_metrics::__private::Counter {
                    self.0
                        .series(
                            &[
                                ::track_metrics::__private::LabelValue::label_value(&method),
                                ::track_metrics::__private::LabelValue::label_value(&endpoint),
                            ],
                        )
                }
            }
            const _: () = {
                #[::track_metrics::__private::linkme::distributed_slice(
                    ::track_metrics::__private::FAMILIES
                )]
                #[linkme(crate = ::track_metrics::__private::linkme)]
                static __TRACK_METRICS_FAMILY: &'static dyn ::track_metrics::__private::Collect = &REQUESTS
                    .0;
            };
            /// Database connections in use
            static DB_POOL_USED: DbPoolUsedMetric = DbPoolUsedMetric(
                ::track_metrics::__private::Metric::<
                    ::track_metrics::__private::Gauge,
                >::new(
                    &::track_metrics::__private::Descriptor {
                        name: "db_pool_connections_used",
                        help: "Database connections in use",
                        kind: ::track_metrics::__private::Kind::Gauge,
                        labels: &[],
                        buckets: &[],
                        quantiles: &[],
                        max_age_seconds: 600u64,
                        max_series: 0usize,
                        variants: &[],
                        file: ::track_metrics::__private::file!(),
                        line: ::track_metrics::__private::line!(),
                    },
                ),
            );
            /// The type of [`DB_POOL_USED`]: the `db_pool_connections_used` gauge declared with `track_metrics::metrics!`.
            struct DbPoolUsedMetric(
                ::track_metrics::__private::Metric<::track_metrics::__private::Gauge>,
            );
            impl ::track_metrics::__private::Deref for DbPoolUsedMetric {
                type Target = ::track_metrics::__private::Gauge;
                #[inline]
                fn deref(&self) -> &::track_metrics::__private::Gauge {
                    self.0.series()
                }
            }
            const _: () = {
                #[::track_metrics::__private::linkme::distributed_slice(
                    ::track_metrics::__private::FAMILIES
                )]
                #[linkme(crate = ::track_metrics::__private::linkme)]
                static __TRACK_METRICS_FAMILY: &'static dyn ::track_metrics::__private::Collect = &DB_POOL_USED
                    .0;
            };
        "#]],
    );
}
