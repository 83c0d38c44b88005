//! Turns the exporter's rendering into the exposition served to scrapers: escapes made exact
//! (see [`crate::recorder`]) and families and series in a stable, sorted order, so that two
//! scrapes of the same state are the same text and diffs between scrapes are readable.

use crate::recorder::{BACKSLASH, LITERAL};

/// The `Content-Type` of the Prometheus text exposition format that [`render`](crate::render)
/// produces.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Post-processes the exporter's text.
pub(crate) fn finish(raw: &str) -> String {
    let decoded = decode(raw);
    let mut families: Vec<Family<'_>> = decoded
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(Family::parse)
        .collect();
    families.sort_by(|a, b| a.name.cmp(b.name));
    let mut out = String::with_capacity(decoded.len());
    for family in &mut families {
        family.series.sort_unstable();
        for line in family.header.iter().chain(family.series.iter().flatten()) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Replaces the stand-ins of [`crate::recorder::encode`] by their exact escaped form.
fn decode(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains([BACKSLASH, LITERAL]) {
        return raw.into();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            BACKSLASH => out.push_str(r"\\"),
            LITERAL => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out.into()
}

/// One family block of the exporter's output: `# HELP`/`# TYPE` lines, then its series, where a
/// histogram or summary series is the group of lines that ends with its `_count`.
struct Family<'a> {
    name: &'a str,
    header: Vec<&'a str>,
    series: Vec<Vec<&'a str>>,
}

impl<'a> Family<'a> {
    fn parse(block: &'a str) -> Self {
        let mut family = Family {
            name: "",
            header: Vec::new(),
            series: Vec::new(),
        };
        let mut grouped = false;
        let mut current: Vec<&'a str> = Vec::new();
        for line in block.split('\n').filter(|line| !line.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut words = rest.split(' ');
                family.name = words.next().unwrap_or_default();
                grouped = matches!(words.next(), Some("histogram" | "summary"));
                family.header.push(line);
            } else if line.starts_with('#') {
                family.header.push(line);
            } else {
                current.push(line);
                if !grouped || is_count_line(line, family.name) {
                    family.series.push(std::mem::take(&mut current));
                }
            }
        }
        if !current.is_empty() {
            family.series.push(current);
        }
        family
    }
}

fn is_count_line(line: &str, family: &str) -> bool {
    line.strip_prefix(family)
        .and_then(|rest| rest.strip_prefix("_count"))
        .is_some_and(|rest| rest.starts_with(['{', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_series_are_sorted() {
        let raw = "# TYPE b counter\nb{x=\"2\"} 1\nb{x=\"1\"} 2\n\n# HELP a A\n# TYPE a histogram\n\
                   a_bucket{k=\"z\",le=\"+Inf\"} 1\na_sum{k=\"z\"} 1\na_count{k=\"z\"} 1\n\
                   a_bucket{k=\"y\",le=\"+Inf\"} 0\na_sum{k=\"y\"} 0\na_count{k=\"y\"} 0\n\n";
        assert_eq!(
            finish(raw),
            "# HELP a A\n# TYPE a histogram\n\
             a_bucket{k=\"y\",le=\"+Inf\"} 0\na_sum{k=\"y\"} 0\na_count{k=\"y\"} 0\n\
             a_bucket{k=\"z\",le=\"+Inf\"} 1\na_sum{k=\"z\"} 1\na_count{k=\"z\"} 1\n\
             # TYPE b counter\nb{x=\"1\"} 2\nb{x=\"2\"} 1\n"
        );
    }

    #[test]
    fn stand_ins_become_exact_escapes() {
        let raw =
            format!("# TYPE g gauge\ng{{v=\"{BACKSLASH}{BACKSLASH}{LITERAL}{BACKSLASH}\"}} 1\n\n");
        assert_eq!(
            finish(&raw),
            "# TYPE g gauge\ng{v=\"\\\\\\\\\u{FDD0}\"} 1\n"
        );
    }
}
