//! The live page: every instrumented function's golden signals at a glance, with charts over
//! the last minutes, and the other families' current values, served beside `/metrics` without
//! Prometheus (see [`crate::ExporterBuilder::live_page`]).

pub(crate) mod page;
pub(crate) mod query;
pub(crate) mod ring;

use crate::state;

/// A rendered answer: body and content type.
pub(crate) struct Answer {
    pub(crate) body: String,
    pub(crate) content_type: &'static str,
}

/// What the page's paths answer: the page at its path, `live.js` and `live.css` beside it;
/// `None` for any other path.
pub(crate) fn answer(
    page_path: &str,
    path: &str,
    query: Option<&str>,
    metrics_path: &str,
) -> Option<Answer> {
    let asset = path.strip_prefix(page_path);
    match asset {
        Some("") => {
            let families = state::settings()
                .and_then(crate::scrape::families)
                .unwrap_or_default();
            let families = others(families);
            Some(Answer {
                body: page::render(&query::Query::parse(query), metrics_path, &families),
                content_type: "text/html; charset=utf-8",
            })
        }
        Some("live.js") => Some(Answer {
            body: page::SCRIPT.to_owned(),
            content_type: "text/javascript; charset=utf-8",
        }),
        Some("live.css") => Some(Answer {
            body: page::STYLE.to_owned(),
            content_type: "text/css; charset=utf-8",
        }),
        _ => None,
    }
}

/// The families that are not those of `#[track_metrics]` functions, by name.
fn others(
    families: Vec<crate::model::snapshot::FamilySnapshot>,
) -> Vec<crate::model::snapshot::FamilySnapshot> {
    let site_families: Vec<&str> = crate::storage::call_site::CALL_SITES
        .iter()
        .flat_map(|site| {
            let info = site.info();
            [info.calls, info.duration, info.errors, info.in_flight]
        })
        .collect();
    let mut families: Vec<_> = families
        .into_iter()
        .filter(|family| !site_families.contains(&family.name))
        .collect();
    families.sort_by(|a, b| a.name.cmp(b.name));
    families
}
