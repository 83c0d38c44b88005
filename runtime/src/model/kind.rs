//! The kinds of metric families, and the sample names each kind writes.

/// The kind of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `summary`
    Summary,
    /// `info`: a gauge at 1 whose labels carry the information.
    Info,
    /// `stateset`: one series per state, labelled by the family's name, exactly one at 1.
    StateSet,
}

impl Kind {
    /// The `# TYPE` of the family in the text format 0.0.4.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge | Kind::Info | Kind::StateSet => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }

    /// Every sample name the family writes, for collision checks: a histogram `x` writes
    /// `x_bucket`, `x_sum` and `x_count`; OpenMetrics names a counter `x_total` by `x`, and
    /// adds `x_created` to counters, histograms and summaries (so `orders_total` and
    /// `orders_created_total` cannot both be served, as in prometheus_client).
    pub(crate) fn sample_names(self, name: &str) -> Vec<String> {
        match self {
            Kind::Counter => {
                // Written as `family_total` in every format (`x` is written `x_total`).
                let family = counter_family(name);
                let mut names = vec![format!("{family}_total"), family.to_owned()];
                names.push(format!("{family}_created"));
                names
            }
            Kind::Info => {
                // OpenMetrics names an info family `x_info` by `x`.
                let mut names = vec![name.to_owned()];
                names.extend(
                    name.strip_suffix("_info")
                        .filter(|family| !family.is_empty())
                        .map(str::to_owned),
                );
                names
            }
            Kind::Gauge | Kind::StateSet => vec![name.to_owned()],
            Kind::Histogram => ["_bucket", "_sum", "_count", "_created", ""]
                .iter()
                .map(|suffix| format!("{name}{suffix}"))
                .collect(),
            Kind::Summary => ["", "_sum", "_count", "_created"]
                .iter()
                .map(|suffix| format!("{name}{suffix}"))
                .collect(),
        }
    }
}

/// A counter's family name: its name without `_total`, or its whole name when it has no such
/// suffix (or is only `_total`).
pub(crate) fn counter_family(name: &str) -> &str {
    name.strip_suffix("_total")
        .filter(|family| !family.is_empty())
        .unwrap_or(name)
}

/// The name a counter's samples are written under in every format: `family_total`.
pub(crate) fn counter_total(name: &'static str) -> std::borrow::Cow<'static, str> {
    if counter_family(name) == name {
        std::borrow::Cow::Owned(format!("{name}_total"))
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_names_of_each_kind() {
        assert_eq!(
            Kind::Counter.sample_names("jobs_total"),
            ["jobs_total", "jobs", "jobs_created"]
        );
        assert_eq!(
            Kind::Counter.sample_names("jobs"),
            ["jobs_total", "jobs", "jobs_created"]
        );
        assert_eq!(
            Kind::Counter.sample_names("_total"),
            ["_total_total", "_total", "_total_created"]
        );
        assert_eq!(
            Kind::Info.sample_names("build_info"),
            ["build_info", "build"]
        );
        assert_eq!(Kind::Info.sample_names("_info"), ["_info"]);
        assert_eq!(
            Kind::Histogram.sample_names("t"),
            ["t_bucket", "t_sum", "t_count", "t_created", "t"]
        );
        assert_eq!(
            Kind::Summary.sample_names("s"),
            ["s", "s_sum", "s_count", "s_created"]
        );
    }
}
