//! The live page's HTML: a table of every instrumented function with its golden signals and a
//! chart of each over the last minutes (inline SVG, drawn here), and a table of the other
//! families with their current values. It is complete without JavaScript: sorting and the
//! module filter are links and a form, and a `<noscript>` refresh reloads it; `live.js` only
//! refreshes the tables in place and applies the filter at once.

use std::fmt::Write as _;

use crate::exposition::text::push_escaped;
use crate::live::query::Query;
use crate::live::ring::{History, POINTS, Point, Ring, SAMPLE_INTERVAL};
use crate::model::kind::Kind;
use crate::model::snapshot::{FamilySnapshot, Value};

/// The page's script, served beside it as `live.js`.
pub const SCRIPT: &str = include_str!("live.js");
/// The page's style sheet, served beside it as `live.css`.
pub const STYLE: &str = include_str!("live.css");
/// What the page may load: its own script and style sheet, nothing from elsewhere, nothing
/// inline.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The columns a table can be sorted by: `(key, heading, numeric)`.
const COLUMNS: [(&str, &str, bool); 7] = [
    ("function", "Function", false),
    ("module", "Module", false),
    ("rate", "Calls/s", true),
    ("errors", "Errors", true),
    ("p50", "p50", true),
    ("p99", "p99", true),
    ("in_flight", "In flight", true),
];

/// The whole page, or with `fragment=1` only what `live.js` swaps in.
pub(crate) fn render(
    ring: &Ring,
    query: &Query,
    metrics_path: &str,
    families: &[FamilySnapshot],
) -> String {
    ring.with(|histories| {
        let mut modules: Vec<&str> = histories.iter().map(|history| history.info.module).collect();
        modules.sort_unstable();
        modules.dedup();
        let mut rows: Vec<(&History, Point)> = histories
            .into_iter()
            .filter(|history| query.module.is_empty() || history.info.module == query.module)
            .map(|history| (history, history.now()))
            .collect();
        sort(&mut rows, query);
        let content = content(query, &rows, families);
        if query.fragment {
            return content;
        }
        let mut page = String::from(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>track-metrics: live</title>\n<link rel=\"icon\" href=\"data:,\">\n\
             <link rel=\"stylesheet\" href=\"live.css\">\n<script src=\"live.js\" defer></script>\n\
             <noscript><meta http-equiv=\"refresh\" content=\"10\"></noscript>\n</head>\n<body>\n<header>\n\
             <h1>Functions</h1>\n",
        );
        let _ = writeln!(
            page,
            "<p>Read every {} s; rates, error ratios and latencies over the last {} s; charts \
             over the last {} minutes. Prometheus reads <a href=\"{}\">{}</a>.</p>",
            SAMPLE_INTERVAL.as_secs(),
            SAMPLE_INTERVAL.as_secs() * 15,
            SAMPLE_INTERVAL.as_secs() * POINTS as u64 / 60,
            escape(metrics_path),
            escape(metrics_path),
        );
        page.push_str("<form id=\"filter\" method=\"get\">\n<label>Module <select name=\"module\">\n");
        let _ = writeln!(
            page,
            "<option value=\"\"{}>all</option>",
            if query.module.is_empty() { " selected" } else { "" }
        );
        // A module no function has (yet): shown selected, so the empty table says why.
        let unknown = (!query.module.is_empty() && !modules.contains(&query.module.as_str()))
            .then_some(query.module.as_str());
        for module in modules.iter().copied().chain(unknown) {
            let _ = writeln!(
                page,
                "<option value=\"{0}\"{1}>{0}</option>",
                escape(module),
                if module == query.module { " selected" } else { "" }
            );
        }
        page.push_str("</select></label>\n");
        for (name, value) in [("sort", &query.sort), ("order", &query.order)] {
            if !value.is_empty() {
                let _ = writeln!(
                    page,
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    escape(value)
                );
            }
        }
        page.push_str("<button type=\"submit\">Filter</button>\n</form>\n</header>\n");
        let _ = write!(
            page,
            "<main id=\"live\" data-refresh=\"{}\">\n{content}</main>\n</body>\n</html>\n",
            SAMPLE_INTERVAL.as_millis()
        );
        page
    })
}

fn sort(rows: &mut [(&History, Point)], query: &Query) {
    let number = |point: &Point| match query.sort.as_str() {
        "errors" => point.error_ratio,
        "p50" => point.p50,
        "p99" => point.p99,
        "in_flight" => point.in_flight,
        _ => point.rate,
    };
    let by_name = matches!(query.sort.as_str(), "function" | "module");
    let ascending = match query.order.as_str() {
        "asc" => true,
        "desc" => false,
        _ => by_name,
    };
    let names = |row: &(&History, Point)| {
        let info = row.0.info;
        if query.sort == "module" {
            (info.module, info.function)
        } else {
            (info.function, info.module)
        }
    };
    rows.sort_by(|a, b| {
        let order = if by_name {
            names(a).cmp(&names(b))
        } else {
            let (x, y) = (number(&a.1), number(&b.1));
            // Rows without a value go last whichever the order; ties by name.
            x.is_nan()
                .cmp(&y.is_nan())
                .then_with(|| {
                    if ascending {
                        x.total_cmp(&y)
                    } else {
                        y.total_cmp(&x)
                    }
                })
                .then_with(|| names(a).cmp(&names(b)))
        };
        if by_name && !ascending {
            order.reverse()
        } else {
            order
        }
    });
}

fn content(query: &Query, rows: &[(&History, Point)], families: &[FamilySnapshot]) -> String {
    let mut out = String::from("<table id=\"functions\">\n<thead><tr>");
    for (key, heading, numeric) in COLUMNS {
        let current = query.sort == key || (query.sort.is_empty() && key == "rate");
        let default = if numeric { "desc" } else { "asc" };
        let shown = if query.order.is_empty() {
            default
        } else {
            query.order.as_str()
        };
        // The sorted column's link turns its order around; the others start at their default.
        let order = match (current, shown) {
            (true, "asc") => "desc",
            (true, _) => "asc",
            (false, _) => default,
        };
        let mut link = format!("?sort={key}&order={order}");
        if !query.module.is_empty() {
            link.push_str("&module=");
            link.push_str(&percent_encode(&query.module));
        }
        let _ = write!(
            out,
            "<th{}><a href=\"{}\">{heading}</a></th>",
            if current { " class=\"sorted\"" } else { "" },
            escape(&link)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    if rows.is_empty() {
        out.push_str("<tr><td colspan=\"7\">No instrumented function yet.</td></tr>\n");
    }
    for (history, point) in rows {
        let (window_calls, total_calls) = history.calls();
        let _ = write!(
            out,
            "<tr data-function=\"{}\" data-module=\"{}\" data-calls=\"{total_calls}\" \
             data-window-calls=\"{window_calls}\" data-rate=\"{}\" data-error-ratio=\"{}\" \
             data-p50=\"{}\" data-p99=\"{}\" data-in-flight=\"{}\">",
            escape(history.info.function),
            escape(history.info.module),
            point.rate,
            point.error_ratio,
            point.p50,
            point.p99,
            point.in_flight,
        );
        let _ = write!(
            out,
            "<td class=\"name\">{}</td><td>{}</td>",
            escape(history.info.function),
            escape(history.info.module)
        );
        let chart = |pick: fn(&Point) -> f64, label: &str| sparkline(&history.points, pick, label);
        let _ = write!(
            out,
            "<td class=\"num\">{} {}</td>",
            rate(point.rate),
            chart(|p| p.rate, "calls per second")
        );
        let types: String = history
            .errors_by_type()
            .iter()
            .map(|(error_type, count)| {
                format!(
                    "<li>{} {}</li>",
                    escape(error_type),
                    percent(*count as f64 / window_calls.max(1) as f64)
                )
            })
            .collect();
        let _ = write!(
            out,
            "<td class=\"num\">{} {}{}</td>",
            percent(point.error_ratio),
            chart(|p| p.error_ratio, "error ratio"),
            if types.is_empty() {
                String::new()
            } else {
                format!("<ul class=\"types\">{types}</ul>")
            }
        );
        let _ = write!(
            out,
            "<td class=\"num\">{} {}</td><td class=\"num\">{} {}</td>",
            seconds(point.p50),
            chart(|p| p.p50, "median latency"),
            seconds(point.p99),
            chart(|p| p.p99, "99th percentile latency"),
        );
        let _ = writeln!(
            out,
            "<td class=\"num\">{} {}</td></tr>",
            point.in_flight,
            chart(|p| p.in_flight, "calls in flight")
        );
    }
    out.push_str("</tbody>\n</table>\n<h2>Other families</h2>\n<table id=\"families\">\n\
                  <thead><tr><th>Family</th><th>Type</th><th>Series</th><th>Current values</th></tr></thead>\n<tbody>\n");
    for family in families {
        let _ = writeln!(
            out,
            "<tr data-family=\"{0}\"><td class=\"name\" title=\"{1}\">{0}</td><td>{2}</td><td class=\"num\">{3}</td><td>{4}</td></tr>",
            escape(family.name),
            escape(family.help.as_deref().unwrap_or_default()),
            type_name(family.kind),
            family.series.len(),
            values(family),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
        Kind::Summary => "summary",
        Kind::Info => "info",
        Kind::StateSet => "enum",
    }
}

/// The first few series of a family, each as `labels: value`.
fn values(family: &FamilySnapshot) -> String {
    const SHOWN: usize = 6;
    let mut series: Vec<_> = family.series.iter().collect();
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    let mut out = String::from("<ul class=\"values\">");
    for one in series.iter().take(SHOWN) {
        let labels: Vec<String> = one
            .labels
            .iter()
            .map(|(name, value)| {
                // As the exposition writes them, so a quote or a line feed reads unambiguously.
                let mut label = format!("{name}=\"");
                push_escaped(&mut label, value, true);
                label.push('"');
                label
            })
            .collect();
        let value = match &one.value {
            Value::Int(value) => value.to_string(),
            Value::Float(value) => number(*value),
            Value::Histogram { counts, sum, .. } => {
                format!(
                    "count {}, sum {}",
                    Value::histogram_count(counts),
                    number(*sum)
                )
            }
            Value::Summary {
                quantiles, count, ..
            } => {
                let quantiles: Vec<String> = quantiles
                    .iter()
                    .map(|(q, value)| format!("q{} {}", q, number(*value)))
                    .collect();
                format!("count {count}; {}", quantiles.join(", "))
            }
            Value::StateSet { states, current } => {
                states.get(*current).copied().unwrap_or_default().to_owned()
            }
        };
        let _ = write!(
            out,
            "<li>{}{}</li>",
            if labels.is_empty() {
                String::new()
            } else {
                format!("{}: ", escape(&labels.join(", ")))
            },
            escape(&value)
        );
    }
    if series.len() > SHOWN {
        let _ = write!(out, "<li>and {} more</li>", series.len() - SHOWN);
    }
    out.push_str("</ul>");
    out
}

/// An inline SVG chart of one number over the ring's points; gaps where it has no value.
fn sparkline(
    points: &std::collections::VecDeque<Point>,
    pick: fn(&Point) -> f64,
    label: &str,
) -> String {
    const WIDTH: f64 = 120.0;
    const HEIGHT: f64 = 24.0;
    let values: Vec<f64> = points.iter().map(pick).collect();
    let max = values
        .iter()
        .copied()
        .filter(|value| value.is_finite())
        .fold(0.0_f64, f64::max);
    let step = WIDTH / (POINTS - 1) as f64;
    let offset = (POINTS - values.len()) as f64 * step;
    let mut path = String::new();
    let mut drawing = false;
    for (index, value) in values.iter().enumerate() {
        if !value.is_finite() {
            drawing = false;
            continue;
        }
        let x = offset + index as f64 * step;
        let y = if max > 0.0 {
            HEIGHT - 1.0 - value / max * (HEIGHT - 2.0)
        } else {
            HEIGHT - 1.0
        };
        let _ = write!(path, "{}{x:.1},{y:.1}", if drawing { " L" } else { " M" });
        drawing = true;
    }
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         role=\"img\" aria-label=\"{label} over the last minutes\"><path d=\"{}\"/></svg>",
        path.trim_start()
    )
}

fn rate(value: f64) -> String {
    if value.is_nan() {
        "–".to_owned()
    } else if value < 10.0 {
        format!("{value:.2}/s")
    } else {
        format!("{value:.1}/s")
    }
}

fn percent(value: f64) -> String {
    if value.is_nan() {
        "–".to_owned()
    } else {
        format!("{:.1}%", value * 100.0)
    }
}

fn seconds(value: f64) -> String {
    if value.is_nan() {
        "–".to_owned()
    } else if value < 1.0 {
        format!("{:.1} ms", value * 1000.0)
    } else {
        format!("{value:.2} s")
    }
}

fn number(value: f64) -> String {
    let mut out = String::new();
    crate::exposition::text::push_float(&mut out, value);
    out
}

/// Text for HTML, in content and in quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::live::ring::Ring;
    use crate::model::descriptor::SiteInfo;
    use crate::storage::call_site::Reading;

    fn info(function: &'static str) -> &'static SiteInfo {
        Box::leak(Box::new(SiteInfo::example(function)))
    }

    /// Rows without a value (a function never called has no latency) come last in either
    /// order, and ties go by name.
    #[test]
    fn rows_without_a_value_sort_last_whichever_the_order() {
        static BOUNDS: &[f64] = &[0.1, 1.0];
        let ring = Ring::default();
        let start = Instant::now();
        let (a, b, c) = (info("a"), info("b"), info("c"));
        for (at, calls) in [(0, 0), (10, 10)] {
            let reading = |info, counts: Vec<u64>| Reading {
                info,
                calls: counts.iter().sum(),
                errors: Vec::new(),
                bounds: BOUNDS,
                counts,
            };
            ring.sample(
                vec![
                    reading(a, vec![calls, 0, 0]),
                    reading(b, vec![0, calls, 0]),
                    reading(c, vec![0, 0, 0]),
                ],
                start + Duration::from_secs(at),
            );
        }
        for (order, expected) in [("asc", ["a", "b", "c"]), ("desc", ["b", "a", "c"])] {
            let query = Query {
                sort: "p99".to_owned(),
                order: order.to_owned(),
                ..Query::default()
            };
            let sorted: Vec<&str> = ring.with(|histories| {
                let mut rows: Vec<_> = histories.into_iter().map(|h| (h, h.now())).collect();
                sort(&mut rows, &query);
                rows.iter()
                    .map(|(history, _)| history.info.function)
                    .collect()
            });
            assert_eq!(sorted, expected, "{order}");
        }
    }

    /// A label value reads as the exposition writes it, so `a", b="c` is not two labels; a
    /// module no function has is shown selected over an empty table.
    #[test]
    fn label_values_are_unambiguous_and_an_unknown_module_is_shown() {
        use std::borrow::Cow;

        use crate::model::snapshot::SeriesSnapshot;

        let ring = Ring::default();
        ring.sample(
            vec![Reading {
                info: info("a"),
                calls: 0,
                errors: Vec::new(),
                bounds: &[],
                counts: vec![0],
            }],
            Instant::now(),
        );
        let families = [FamilySnapshot {
            name: "queue_items",
            help: None,
            kind: Kind::Gauge,
            created: None,
            counter_suffix: true,
            series: vec![SeriesSnapshot::new(
                vec![("queue", Cow::Borrowed("a\", b=\"c\nd\\"))],
                Value::Int(3),
            )],
        }];
        let query = Query {
            module: "gone".to_owned(),
            ..Query::default()
        };
        let page = render(&ring, &query, "/metrics", &families);
        assert!(
            page.contains("<li>queue=&quot;a\\&quot;, b=\\&quot;c\\nd\\\\&quot;: 3</li>"),
            "{page}"
        );
        assert!(
            page.contains("<option value=\"gone\" selected>gone</option>"),
            "{page}"
        );
        assert!(
            page.contains("<option value=\"app\">app</option>"),
            "{page}"
        );
    }
}
