//! The live page: every instrumented function's golden signals at a glance, with charts over
//! the last minutes, and the other families' current values, served beside `/metrics` without
//! Prometheus (see [`crate::ExporterBuilder::live_page`]).

pub(crate) mod page;
pub(crate) mod query;
pub(crate) mod ring;

use crate::state;

/// A rendered answer: status, body and content type.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) content_type: &'static str,
}

impl Answer {
    fn ok(body: String, content_type: &'static str) -> Self {
        Answer {
            status: 200,
            body,
            content_type,
        }
    }
}

/// The headers of every answer of the page's paths, beside its content type: nothing inline,
/// nothing from elsewhere, nothing sniffed, leaked or cached.
pub(crate) const HEADERS: [(&str, &str); 4] = [
    ("content-security-policy", page::CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

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
            let Some(ring) = ring::ring() else {
                // Only the axum router can be reached without readings.
                return Some(Answer {
                    status: 404,
                    body: "the live page is off, so no readings are taken: turn it on with \
                           ExporterBuilder::live_page(Some(\"/\")) before install()\n"
                        .to_owned(),
                    content_type: "text/plain; charset=utf-8",
                });
            };
            let families = state::settings()
                .and_then(crate::scrape::families)
                .unwrap_or_default();
            let families = others(families);
            let query = query::Query::parse(query);
            ring.read_if_empty();
            let page = page::render(ring, &query, metrics_path, &families);
            // Someone looks: the sampler reads while they do.
            ring::viewed();
            Some(Answer::ok(page, "text/html; charset=utf-8"))
        }
        Some("live.js") => Some(Answer::ok(
            page::SCRIPT.to_owned(),
            "text/javascript; charset=utf-8",
        )),
        Some("live.css") => Some(Answer::ok(
            page::STYLE.to_owned(),
            "text/css; charset=utf-8",
        )),
        _ => None,
    }
}

/// Refuses a page path the endpoint could never match: it starts and ends with `/` (its
/// script and style sheet are served beside it) and holds only what a request's path holds
/// as it is (printable ASCII, no `?` or `#`; percent-encode anything else).
pub(crate) fn check_path(page: &str) -> Result<(), crate::Error> {
    let refuse = |why: &str| {
        Err(crate::Error::setting(
            "live_page",
            format!("the live page's path `{page}` {why}"),
        ))
    };
    if !page.starts_with('/') || !page.ends_with('/') {
        return refuse(
            "must start and end with `/`, such as `/` or `/status/`: its script and style sheet \
             are served beside it",
        );
    }
    if let Some(c) = page
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '?' | '#' | '"' | '<' | '>' | '\\'))
    {
        return refuse(&format!(
            "holds {c:?}, which a request's path cannot hold as it is: percent-encode it"
        ));
    }
    // Browsers and curl remove dot segments (`%2e` too) before they send a path, and a path
    // that starts `//` is another host to a browser that follows the bare path's redirect.
    if page.contains("//")
        || page.split('/').any(|segment| {
            let segment = segment.to_ascii_lowercase().replace("%2e", ".");
            segment == "." || segment == ".."
        })
    {
        return refuse("has an empty, `.` or `..` segment, which clients remove: name it plainly");
    }
    Ok(())
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
