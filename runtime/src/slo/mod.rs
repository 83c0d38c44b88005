//! Service-level objectives from the code: the [`Objective`] constants that functions name with
//! `#[track_metrics(objective = API)]`, and the Prometheus rules that watch them ([`rules`]).
//!
//! ```rust,standalone_crate
//! use track_metrics::slo::Objective;
//! use track_metrics::track_metrics;
//!
//! /// 99.9% of calls succeed; 99% take at most 250 ms.
//! pub const API: Objective = Objective::new("api").success_rate(99.9).latency(0.25, 99.0);
//!
//! #[track_metrics(objective = API, buckets = [0.05, 0.25, 1.0])]
//! fn handle() -> Result<(), std::fmt::Error> {
//!     Ok(())
//! }
//!
//! let rules = track_metrics::slo::rules()?;
//! assert!(rules.contains("record: slo:sli_error:ratio_rate5m"));
//! assert!(rules.contains("severity: \"page\""));
//! # Ok::<(), track_metrics::Error>(())
//! ```
//!
//! The functions' series carry the label `objective="api"` (one label, so no more series), and
//! the rules select on it:
//! - recording rules `slo:sli_error:ratio_rate<window>{objective, sli}` for each window the
//!   alerts read (5m, 30m, 1h, 2h, 6h, 1d, 3d): the share of failed calls (`sli="success"`), or
//!   of calls slower than the threshold (`sli="latency"`), over that window;
//! - the multi-window, multi-burn-rate alerts of the Google SRE workbook (chapter 5), one per
//!   objective and SLI and severity: `page` when the budget burns 14.4 times too fast over 1 h
//!   and 5 min, or 6 times over 6 h and 30 min; `ticket` at 3 times over 1 d and 2 h, or once
//!   over 3 d and 6 h. The long window proves the burn is real, the short one that it is still
//!   going on.

pub use crate::model::objective::{Latency, Objective};

pub(crate) mod rules;

pub use rules::rules;
