// The generated `# Metrics` section is not documentation: `missing_docs` fires on an
// undocumented public function exactly as it would without the attribute.
#![deny(missing_docs)]
//! A crate whose public items must be documented.

/// Documented: no error.
#[track_metrics::track_metrics]
pub fn documented() {}

#[track_metrics::track_metrics]
pub fn undocumented() {}

#[doc(alias = "other_name")]
#[track_metrics::track_metrics]
pub fn only_an_alias() {}

fn main() {
    documented();
    undocumented();
    only_an_alias();
}
