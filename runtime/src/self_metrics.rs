//! Metrics about track-metrics itself, declared like any user's.

/// The name of [`CARDINALITY_OVERFLOW`], which must not count its own overflow.
pub(crate) const CARDINALITY_OVERFLOW_NAME: &str = "track_metrics_cardinality_overflow_total";

crate::metrics! {
    /// Operations on label sets beyond their family's series limit, folded into its overflow series
    pub(crate) counter CARDINALITY_OVERFLOW: track_metrics_cardinality_overflow_total(metric);
}
