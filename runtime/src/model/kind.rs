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
    /// `x_bucket`, `x_sum` and `x_count`, and OpenMetrics names a counter `x_total` by `x`.
    pub(crate) fn sample_names(self, name: &str) -> Vec<String> {
        match self {
            Kind::Counter => {
                let mut names = vec![name.to_owned()];
                names.extend(name.strip_suffix("_total").map(str::to_owned));
                names
            }
            Kind::Gauge | Kind::Info | Kind::StateSet => vec![name.to_owned()],
            Kind::Histogram => ["_bucket", "_sum", "_count", ""]
                .iter()
                .map(|suffix| format!("{name}{suffix}"))
                .collect(),
            Kind::Summary => ["", "_sum", "_count"]
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
            ["jobs_total", "jobs"]
        );
        assert_eq!(Kind::Counter.sample_names("jobs"), ["jobs"]);
        assert_eq!(
            Kind::Histogram.sample_names("t"),
            ["t_bucket", "t_sum", "t_count", "t"]
        );
        assert_eq!(Kind::Summary.sample_names("s"), ["s", "s_sum", "s_count"]);
        assert_eq!(Kind::Info.sample_names("build_info"), ["build_info"]);
    }
}
