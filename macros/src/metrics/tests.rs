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
            pub static REQUESTS: REQUESTS = REQUESTS {
                family: ::track_metrics::__private::Family::<
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
                        exemplars: false,
                        variants: &[],
                        file: ::track_metrics::__private::file!(),
                        line: ::track_metrics::__private::line!(),
                    },
                ),
                series_picked: ::track_metrics::__private::PhantomData,
            };
            /// The type of [`REQUESTS`]: the `requests_total` counter declared with `track_metrics::metrics!`.
            #[allow(non_camel_case_types)]
            pub struct REQUESTS<L = ()> {
                family: ::track_metrics::__private::Family<::track_metrics::__private::Counter>,
                series_picked: ::track_metrics::__private::PhantomData<fn() -> L>,
            }
            const _: () = {
                impl REQUESTS {
                    /// The series of these label values (`method`, `endpoint`), created on first use; keep it to skip the lookup next time.
                    #[inline]
                    pub fn labels(
                        &'static self,
                        method: Method,
                        endpoint: impl ::track_metrics::__private::LabelValue,
                    ) -> &'static ::track_metrics::__private::Counter {
                        self.family
                            .series(
                                &[
                                    ::track_metrics::__private::LabelValue::label_value(&method),
                                    ::track_metrics::__private::LabelValue::label_value(&endpoint),
                                ],
                            )
                    }
                }
                #[doc(hidden)]
                #[allow(dead_code)]
                impl<L> REQUESTS<L> {
                    #[allow(clippy::unused_self, clippy::needless_pass_by_value)]
                    pub fn inc(&self) -> ()
                    where
                        L: ::track_metrics::__private::SeriesPicked,
                    {
                        ::track_metrics::__private::unreachable!()
                    }
                    #[allow(clippy::unused_self, clippy::needless_pass_by_value)]
                    pub fn inc_by<A0>(&self, _argument_0: A0) -> ()
                    where
                        L: ::track_metrics::__private::SeriesPicked,
                    {
                        ::track_metrics::__private::unreachable!()
                    }
                    #[allow(clippy::unused_self, clippy::needless_pass_by_value)]
                    pub fn get(&self) -> u64
                    where
                        L: ::track_metrics::__private::SeriesPicked,
                    {
                        ::track_metrics::__private::unreachable!()
                    }
                }
            };
            const _: () = {
                #[::track_metrics::__private::linkme::distributed_slice(
                    ::track_metrics::__private::FAMILIES
                )]
                #[linkme(crate = ::track_metrics::__private::linkme)]
                static __TRACK_METRICS_FAMILY: &'static dyn ::track_metrics::__private::Collect = &REQUESTS
                    .family;
            };
            /// Database connections in use
            static DB_POOL_USED: DB_POOL_USED = DB_POOL_USED {
                family: ::track_metrics::__private::Metric::<
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
                        exemplars: false,
                        variants: &[],
                        file: ::track_metrics::__private::file!(),
                        line: ::track_metrics::__private::line!(),
                    },
                ),
                series_picked: ::track_metrics::__private::PhantomData,
            };
            /// The type of [`DB_POOL_USED`]: the `db_pool_connections_used` gauge declared with `track_metrics::metrics!`.
            #[allow(non_camel_case_types)]
            struct DB_POOL_USED<L = ()> {
                family: ::track_metrics::__private::Metric<::track_metrics::__private::Gauge>,
                series_picked: ::track_metrics::__private::PhantomData<fn() -> L>,
            }
            const _: () = {
                impl ::track_metrics::__private::Deref for DB_POOL_USED {
                    type Target = ::track_metrics::__private::Gauge;
                    #[inline]
                    fn deref(&self) -> &::track_metrics::__private::Gauge {
                        self.family.series()
                    }
                }
            };
            const _: () = {
                #[::track_metrics::__private::linkme::distributed_slice(
                    ::track_metrics::__private::FAMILIES
                )]
                #[linkme(crate = ::track_metrics::__private::linkme)]
                static __TRACK_METRICS_FAMILY: &'static dyn ::track_metrics::__private::Collect = &DB_POOL_USED
                    .family;
            };
        "#]],
    );
}
