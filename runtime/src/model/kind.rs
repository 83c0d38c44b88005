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
                let mut names = vec![name.to_owned()];
                let family = name.strip_suffix("_total").unwrap_or(name);
                if family != name {
                    names.push(family.to_owned());
                }
                names.push(format!("{family}_created"));
                names
            }
            Kind::Gauge | Kind::Info | Kind::StateSet => vec![name.to_owned()],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_names_of_each_kind() {
        assert_eq!(
            Kind::Counter.sample_names("jobs_total"),
            ["jobs_total", "jobs", "jobs_created"]
        );
        assert_eq!(Kind::Counter.sample_names("jobs"), ["jobs", "jobs_created"]);
        assert_eq!(
            Kind::Histogram.sample_names("t"),
            ["t_bucket", "t_sum", "t_count", "t_created", "t"]
        );
        assert_eq!(
            Kind::Summary.sample_names("s"),
            ["s", "s_sum", "s_count", "s_created"]
        );
        assert_eq!(Kind::Info.sample_names("build_info"), ["build_info"]);
    }
}
