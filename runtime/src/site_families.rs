//! The exposition of the families `#[track_metrics]` records into: calls, durations, errors by
//! type, calls in flight. Many functions share a family, so their series are gathered by family
//! name, each family written once.

use std::collections::BTreeMap;

use crate::call_site::{CALL_SITES, SiteHandles, SiteInfo};
use crate::series::Series;
use crate::text::{SampleWriter, Value};

const CALLS_HELP: &str = "Total function calls";
const DURATION_HELP: &str = "Function execution time";
const ERRORS_HELP: &str = "Total function errors by type";
const IN_FLIGHT_HELP: &str = "Function calls in progress";

/// Which of a site's series a family holds.
#[derive(Clone, Copy)]
enum Part {
    Calls,
    Duration,
    Errors,
    InFlight,
}

impl Part {
    fn family(self, info: &SiteInfo) -> &'static str {
        match self {
            Part::Calls => info.calls,
            Part::Duration => info.duration,
            Part::Errors => info.errors,
            Part::InFlight => info.in_flight,
        }
    }

    fn header(self) -> (&'static str, &'static str) {
        match self {
            Part::Calls => (CALLS_HELP, "counter"),
            Part::Duration => (DURATION_HELP, "histogram"),
            Part::Errors => (ERRORS_HELP, "counter"),
            Part::InFlight => (IN_FLIGHT_HELP, "gauge"),
        }
    }
}

/// The sites of one family, and which of their series it holds.
type FamilySites<'a> = (Part, Vec<(&'a SiteInfo, &'a SiteHandles)>);

/// Appends every family of every registered site.
pub(crate) fn render(out: &mut String, globals: &[(String, String)]) {
    let mut families: BTreeMap<&'static str, FamilySites<'_>> = BTreeMap::new();
    for site in CALL_SITES.iter() {
        let Some(handles) = site.handles() else {
            continue;
        };
        let info = site.info();
        let mut parts = vec![Part::Calls, Part::Duration];
        if handles.in_flight.is_some() {
            parts.push(Part::InFlight);
        }
        if !handles.errors().is_empty() {
            parts.push(Part::Errors);
        }
        for part in parts {
            families
                .entry(part.family(info))
                .or_insert_with(|| (part, Vec::new()))
                .1
                .push((info, handles));
        }
    }
    for (name, (part, sites)) in families {
        let (help, kind) = part.header();
        let mut writer = SampleWriter {
            out: &mut *out,
            name,
            globals,
        };
        writer.header(help, kind);
        for (info, handles) in sites {
            let mut labels = vec!["function", "module"];
            let mut values = vec![info.function, info.module];
            for (label, value) in info.labels {
                labels.push(label);
                values.push(value);
            }
            match part {
                Part::Calls => handles.calls.render(&mut writer, &labels, &values),
                Part::Duration => handles.duration.render(&mut writer, &labels, &values),
                Part::InFlight => {
                    if let Some(in_flight) = &handles.in_flight {
                        in_flight.render(&mut writer, &labels, &values);
                    }
                }
                Part::Errors => {
                    labels.push("error_type");
                    for (error_type, counter) in handles.errors() {
                        values.push(error_type);
                        writer.sample("", &labels, &values, None, Value::Int(counter.get()));
                        values.pop();
                    }
                }
            }
        }
        out.push('\n');
    }
}
