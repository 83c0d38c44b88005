//! The checks `install()` makes before anything starts: that the builder's settings are valid,
//! and that the instrumented functions and declared families of the whole program make sense
//! together. Plain functions of their inputs, so each rule is tested on its own.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::error::Error;
use crate::model::buckets;
use crate::model::descriptor::{Descriptor, SiteInfo};
use crate::model::kind::Kind;
use crate::model::names::{CRATE_LABELS, reserved_label_problem};

/// A global label name: valid, not reserved, not one `#[track_metrics]` sets, and set once.
pub(crate) fn global_labels(labels: &[(String, String)]) -> Result<(), Error> {
    for (index, (name, _)) in labels.iter().enumerate() {
        let reason = if let Some(problem) = reserved_label_problem(name) {
            problem
        } else if let Some((_, used)) = CRATE_LABELS.iter().find(|(label, _)| label == name) {
            used
        } else if labels[..index].iter().any(|(earlier, _)| earlier == name) {
            "it is set twice"
        } else {
            continue;
        };
        return Err(Error::InvalidGlobalLabel {
            name: name.clone(),
            reason,
        });
    }
    Ok(())
}

/// Checks one bucket layout, named `what` in the error.
pub(crate) fn bucket_layout(what: impl FnOnce() -> String, bounds: &[f64]) -> Result<(), Error> {
    buckets::check(bounds).map_err(|problem| Error::InvalidBuckets {
        what: what(),
        bounds: bounds.to_vec(),
        problem,
    })
}

/// Instrumented functions produce distinct series in every family they write (calls, duration,
/// errors, and in-flight where kept), without global label names.
pub(crate) fn sites(
    infos: &[&SiteInfo],
    global_labels: &[(String, String)],
    in_flight_for_all: bool,
) -> Result<(), Error> {
    let mut series: HashMap<String, &SiteInfo> = HashMap::new();
    for info in infos {
        if let Some((label, _)) = global_labels
            .iter()
            .find(|(name, _)| info.labels.iter().any(|(label, _)| label == name))
        {
            return Err(Error::GlobalLabelClash {
                owner: info.describe(),
                label: label.clone(),
            });
        }
        let mut labels: Vec<_> = info.labels.to_vec();
        labels.sort_unstable();
        let mut selector = format!("{{function={:?},module={:?}", info.function, info.module);
        for (name, value) in labels {
            let _ = write!(selector, ",{name}={value:?}");
        }
        selector.push('}');
        let in_flight = (info.track_in_flight || in_flight_for_all).then_some(info.in_flight);
        let families = [
            Some(info.calls),
            Some(info.duration),
            Some(info.errors),
            in_flight,
        ];
        for family in families.into_iter().flatten() {
            let key = format!("{family}{selector}");
            if let Some(first) = series.insert(key.clone(), info)
                && !std::ptr::eq(first, *info)
            {
                return Err(Error::DuplicateSeries {
                    series: key,
                    first: first.describe(),
                    second: info.describe(),
                });
            }
        }
    }
    Ok(())
}

/// A family that is not the facade's, as the name checks see it.
pub(crate) struct Owned {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) owner: String,
}

/// The families of the instrumented functions, each once.
pub(crate) fn site_families(infos: &[&SiteInfo]) -> Vec<Owned> {
    let mut seen = HashSet::new();
    let mut families = Vec::new();
    for info in infos {
        for (name, kind) in [
            (info.calls, Kind::Counter),
            (info.duration, Kind::Histogram),
            (info.errors, Kind::Counter),
            (info.in_flight, Kind::Gauge),
        ] {
            if seen.insert(name) {
                families.push(Owned {
                    name,
                    kind,
                    owner: format!("`#[track_metrics]` on {}", info.describe()),
                });
            }
        }
    }
    families
}

/// Declared families: each name once, no global label among their labels.
pub(crate) fn declared_families(
    descriptors: &[&'static Descriptor],
    global_labels: &[(String, String)],
) -> Result<Vec<Owned>, Error> {
    let mut declared: HashMap<&str, &Descriptor> = HashMap::new();
    let mut families = Vec::new();
    for descriptor in descriptors {
        if let Some(first) = declared.insert(descriptor.name, descriptor) {
            return Err(Error::DuplicateDeclaration {
                name: descriptor.name.to_owned(),
                first: first.describe(),
                second: descriptor.describe(),
            });
        }
        // A state set's states are labelled by its name.
        let own_label = (descriptor.kind == Kind::StateSet).then_some(descriptor.name);
        if let Some((label, _)) = global_labels.iter().find(|(label, _)| {
            descriptor.labels.contains(&label.as_str()) || own_label == Some(label.as_str())
        }) {
            return Err(Error::GlobalLabelClash {
                owner: descriptor.describe(),
                label: label.clone(),
            });
        }
        families.push(Owned {
            name: descriptor.name,
            kind: descriptor.kind,
            owner: descriptor.describe(),
        });
    }
    Ok(families)
}

/// No two families write series of one name, including the names Prometheus derives from
/// theirs (`_bucket`, `_sum`, `_count`, a counter's name without `_total`). Returns every
/// sample name they write: the `metrics` facade may not use them.
pub(crate) fn distinct_series_names(families: &[Owned]) -> Result<HashSet<String>, Error> {
    let mut claimed: HashMap<String, usize> = HashMap::new();
    for (index, family) in families.iter().enumerate() {
        for sample in family.kind.sample_names(family.name) {
            match claimed.get(&sample) {
                Some(&other) if other != index => {
                    let other = &families[other];
                    return Err(Error::NameClash {
                        sample,
                        first: other.owner.clone(),
                        first_family: other.name,
                        second: family.owner.clone(),
                        second_family: family.name,
                    });
                }
                _ => {
                    claimed.insert(sample, index);
                }
            }
        }
    }
    Ok(claimed.into_keys().collect())
}

/// The bucket layout of each histogram family that has one of its own, from the builder's
/// `buckets_for`, the declarations and the instrumented functions: one per family, since
/// Prometheus aggregates a histogram's series by `le`.
pub(crate) fn family_buckets(
    builder: &[(String, Vec<f64>)],
    descriptors: &[&'static Descriptor],
    infos: &[&SiteInfo],
) -> Result<HashMap<String, Vec<f64>>, Error> {
    let mut layouts: HashMap<&str, (&[f64], String)> = HashMap::new();
    for (metric, bounds) in builder {
        // Any UTF-8 name: a `metrics` facade histogram may be named as OpenTelemetry names
        // them (`http.server.request.duration`), in its recorded spelling or underscored.
        if metric.is_empty() || metric.chars().any(char::is_control) {
            return Err(Error::setting(
                "buckets_for",
                format!(
                    "{metric:?} given to `buckets_for` is not a metric name: give the name of a \
                     histogram, such as `db_query_duration_seconds` or \
                     `http.server.request.duration`"
                ),
            ));
        }
        bucket_layout(|| format!("buckets of `{metric}`"), bounds)?;
        layouts.insert(metric, (bounds, "ExporterBuilder::buckets_for".to_owned()));
    }
    let declared = descriptors
        .iter()
        .filter(|descriptor| descriptor.kind == Kind::Histogram && !descriptor.buckets.is_empty())
        .map(|descriptor| (descriptor.name, descriptor.buckets, descriptor.describe()));
    let from_sites = infos
        .iter()
        .filter(|info| !info.buckets.is_empty())
        .map(|info| (info.duration, info.buckets, info.describe()));
    for (family, bounds, declared_by) in declared.chain(from_sites) {
        match layouts.get(family) {
            Some((first_bounds, first)) if *first_bounds != bounds => {
                return Err(Error::ConflictingBuckets {
                    family,
                    first: first.clone(),
                    first_bounds: first_bounds.to_vec(),
                    second: declared_by,
                    second_bounds: bounds.to_vec(),
                });
            }
            Some(_) => {}
            None => {
                layouts.insert(family, (bounds, declared_by));
            }
        }
    }
    Ok(layouts
        .into_iter()
        .map(|(name, (bounds, _))| (name.to_owned(), bounds.to_vec()))
        .collect())
}

/// A declared histogram family used before `install()` keeps the layout it was given then:
/// refuses a builder setting that would give the family another.
pub(crate) fn layouts_in_use(
    in_use: &[(&'static Descriptor, &'static [f64])],
    configured: impl Fn(&str) -> Vec<f64>,
) -> Result<(), Error> {
    for (descriptor, layout) in in_use {
        let configured = configured(descriptor.name);
        if *layout != configured.as_slice() {
            return Err(Error::LayoutInUse {
                family: descriptor.describe(),
                in_use: layout.to_vec(),
                configured,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(function: &'static str, calls: &'static str, duration: &'static str) -> SiteInfo {
        SiteInfo {
            calls,
            duration,
            ..SiteInfo::example(function)
        }
    }

    fn declared(name: &'static str, kind: Kind, buckets: &'static [f64]) -> &'static Descriptor {
        Box::leak(Box::new(Descriptor {
            name,
            help: "help",
            kind,
            labels: &["endpoint"],
            buckets,
            quantiles: &[],
            max_age_seconds: 600,
            max_series: 0,
            exemplars: false,
            variants: &[],
            file: "src/metrics.rs",
            line: 3,
        }))
    }

    #[test]
    fn two_functions_recording_one_series_are_refused_naming_both() {
        let first = site("new", "function_calls_total", "function_duration_seconds");
        let second = SiteInfo {
            line: 19,
            ..site("new", "function_calls_total", "function_duration_seconds")
        };
        let error = sites(&[&first, &second], &[], false).unwrap_err();
        assert!(matches!(error, Error::DuplicateSeries { .. }));
        assert_eq!(
            error.to_string(),
            "`new` (src/app.rs:7) and `new` (src/app.rs:19) both record the series \
             `function_calls_total{function=\"new\",module=\"app\"}`: give one of them a \
             distinct `#[track_metrics(name = \"...\")]`"
        );
        let other = site("old", "function_calls_total", "function_duration_seconds");
        assert!(sites(&[&first, &other], &[], false).is_ok());
        // Other call counters, the same duration series.
        let calls_a = site("work", "work_a_total", "function_duration_seconds");
        let calls_b = site("work", "work_b_total", "function_duration_seconds");
        let error = sites(&[&calls_a, &calls_b], &[], false).unwrap_err();
        let Error::DuplicateSeries { series, .. } = error else {
            panic!("{error:?}");
        };
        assert_eq!(
            series,
            "function_duration_seconds{function=\"work\",module=\"app\"}"
        );
        // Other counters and histograms, the same error counter.
        let apart_a = site("work", "work_a_total", "work_a_seconds");
        let apart_b = site("work", "work_b_total", "work_b_seconds");
        assert!(matches!(
            sites(&[&apart_a, &apart_b], &[], false),
            Err(Error::DuplicateSeries { .. })
        ));
    }

    #[test]
    fn a_site_label_that_is_a_global_label_is_refused() {
        let labelled = SiteInfo {
            labels: &[("service", "db")],
            ..site("query", "function_calls_total", "function_duration_seconds")
        };
        let globals = [("service".to_owned(), "api".to_owned())];
        assert!(matches!(
            sites(&[&labelled], &globals, false),
            Err(Error::GlobalLabelClash { .. })
        ));
        let family = declared("by_service_total", Kind::Counter, &[]);
        let globals = [("endpoint".to_owned(), "x".to_owned())];
        assert!(matches!(
            declared_families(&[family], &globals),
            Err(Error::GlobalLabelClash { .. })
        ));
    }

    #[test]
    fn different_buckets_for_one_family_are_refused_naming_both() {
        let a = SiteInfo {
            buckets: &[0.1, 1.0],
            ..site("a", "function_calls_total", "shared_seconds")
        };
        let b = SiteInfo {
            buckets: &[0.5],
            line: 30,
            ..site("b", "function_calls_total", "shared_seconds")
        };
        let error = family_buckets(&[], &[], &[&a, &b]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`a` (src/app.rs:7) and `b` (src/app.rs:30) give `shared_seconds` different buckets \
             ([0.1, 1.0] and [0.5]): a histogram family has one bucket layout, so give one of \
             them its own name, or the same buckets"
        );
        let builder = [("shared_seconds".to_owned(), vec![0.1, 1.0])];
        let error = family_buckets(&builder, &[], &[&b]).unwrap_err();
        assert!(matches!(error, Error::ConflictingBuckets { .. }), "{error}");
        let same = family_buckets(&builder, &[], &[&a]).unwrap();
        assert_eq!(same["shared_seconds"], [0.1, 1.0]);
        let histogram = declared("shared_seconds", Kind::Histogram, &[0.5]);
        assert!(family_buckets(&builder, &[histogram], &[]).is_err());
    }

    #[test]
    fn names_clash_across_families_and_derived_series() {
        let families = [
            Owned {
                name: "jobs",
                kind: Kind::Histogram,
                owner: "`jobs` (a.rs:1)".into(),
            },
            Owned {
                name: "jobs_count",
                kind: Kind::Gauge,
                owner: "`jobs_count` (b.rs:2)".into(),
            },
        ];
        let error = distinct_series_names(&families).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`jobs` (a.rs:1) and `jobs_count` (b.rs:2) both write series named `jobs_count` \
             (families `jobs` and `jobs_count`): rename one of them"
        );
        let counter_and_gauge = [
            Owned {
                name: "jobs_total",
                kind: Kind::Counter,
                owner: "a".into(),
            },
            Owned {
                name: "jobs",
                kind: Kind::Gauge,
                owner: "b".into(),
            },
        ];
        assert!(distinct_series_names(&counter_and_gauge).is_err());
        let fine = distinct_series_names(&families[..1]).unwrap();
        assert!(fine.contains("jobs_bucket") && fine.contains("jobs_sum"));
    }

    #[test]
    fn a_name_declared_twice_is_refused() {
        let first = declared("queue_items", Kind::Gauge, &[]);
        let second = declared("queue_items", Kind::Gauge, &[]);
        assert!(matches!(
            declared_families(&[first, second], &[]),
            Err(Error::DuplicateDeclaration { .. })
        ));
    }

    #[test]
    fn global_labels_are_checked() {
        let label = |name: &str| vec![(name.to_owned(), "v".to_owned())];
        for name in [
            "le",
            "quantile",
            "__x",
            "a-b",
            "",
            "function",
            "module",
            "error_type",
            "metric",
            "reason",
        ] {
            assert!(
                matches!(
                    global_labels(&label(name)),
                    Err(Error::InvalidGlobalLabel { .. })
                ),
                "{name}"
            );
        }
        let twice = [
            ("service".to_owned(), "a".to_owned()),
            ("service".to_owned(), "b".to_owned()),
        ];
        assert!(global_labels(&twice).is_err());
        assert!(global_labels(&label("service")).is_ok());
    }

    #[test]
    fn a_layout_in_use_must_match_the_builder() {
        let family = declared("payload_bytes", Kind::Histogram, &[]);
        let in_use: [(&'static Descriptor, &'static [f64]); 1] = [(family, &[1.0, 2.0])];
        assert!(layouts_in_use(&in_use, |_| vec![1.0, 2.0]).is_ok());
        let error = layouts_in_use(&in_use, |_| vec![5.0]).unwrap_err();
        assert!(matches!(error, Error::LayoutInUse { .. }), "{error}");
    }
}
