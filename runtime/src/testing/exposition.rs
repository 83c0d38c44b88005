//! The strict parser of the text exposition format.

use std::collections::HashSet;
use std::fmt;

/// A parsed exposition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposition {
    /// The families in the order they appear.
    pub families: Vec<Family>,
}

/// One metric family: its HELP, TYPE and samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// The family name, as in `# TYPE name ...`.
    pub name: String,
    /// The HELP text, unescaped.
    pub help: Option<String>,
    /// `counter`, `gauge`, `histogram`, `summary` or `untyped`.
    pub kind: String,
    /// The samples, in order.
    pub samples: Vec<Sample>,
}

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The sample name, such as `x_bucket` for a histogram `x`.
    pub name: String,
    /// The labels in order, values unescaped.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// The optional timestamp, in milliseconds.
    pub timestamp: Option<i64>,
}

impl Sample {
    /// The value of one label; a label with an empty value is absent, as Prometheus reads it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// Whether the sample has exactly these labels, empty values counting as absent.
    fn has_exactly(&self, labels: &[(&str, &str)]) -> bool {
        let present = |value: &str| !value.is_empty();
        self.labels
            .iter()
            .filter(|(_, value)| present(value))
            .count()
            == labels.iter().filter(|(_, value)| present(value)).count()
            && labels
                .iter()
                .filter(|(_, value)| present(value))
                .all(|(key, value)| self.label(key) == Some(*value))
    }
}

/// Why a text is not a valid exposition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

impl Exposition {
    /// Parses a whole exposition.
    ///
    /// # Errors
    ///
    /// The first line that is not valid, with the reason.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Parser::default().parse(text)
    }

    /// The family with this name.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|family| family.name == name)
    }

    /// Every sample of every family.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.families.iter().flat_map(|family| &family.samples)
    }

    /// The value of the sample with this name and exactly these labels, in any order; labels
    /// with empty values count as absent, as in Prometheus.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples()
            .find(|sample| sample.name == name && sample.has_exactly(labels))
            .map(|sample| sample.value)
    }
}

#[derive(Default)]
struct Parser {
    exposition: Exposition,
    /// Families already closed by another one starting.
    closed: HashSet<String>,
    series: HashSet<(String, Vec<(String, String)>)>,
}

impl Parser {
    fn parse(mut self, text: &str) -> Result<Exposition, ParseError> {
        if !text.is_empty() && !text.ends_with('\n') {
            let line = text.lines().count();
            return Err(ParseError {
                line,
                message: "the last line must end with a line feed".into(),
            });
        }
        for (index, line) in text.split('\n').enumerate() {
            self.line(line).map_err(|message| ParseError {
                line: index + 1,
                message,
            })?;
        }
        for family in &self.exposition.families {
            check_histogram(family).map_err(|message| ParseError { line: 0, message })?;
        }
        Ok(self.exposition)
    }

    fn line(&mut self, line: &str) -> Result<(), String> {
        if line.is_empty() {
            return Ok(());
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start_matches([' ', '\t']);
            if let Some(rest) = comment.strip_prefix("HELP ") {
                let (name, help) = parse_name(rest)?;
                let help = match help {
                    "" => String::new(),
                    _ => unescape(
                        help.strip_prefix(' ')
                            .ok_or("expected a space after the name")?,
                        false,
                    )?,
                };
                let name = name.as_str();
                let family = self.family_for_header(name)?;
                if family.help.replace(help).is_some() {
                    return Err(format!("a second HELP line for `{name}`"));
                }
            } else if let Some(rest) = comment.strip_prefix("TYPE ") {
                let (name, kind) = parse_name(rest)?;
                let name = name.as_str();
                let kind = kind.strip_prefix(' ').ok_or("a TYPE line needs a type")?;
                if !matches!(
                    kind,
                    "counter" | "gauge" | "histogram" | "summary" | "untyped"
                ) {
                    return Err(format!("unknown type `{kind}`"));
                }
                let family = self.family_for_header(name)?;
                if !family.samples.is_empty() {
                    return Err(format!("the TYPE of `{name}` comes after its samples"));
                }
                if family.kind != "untyped" {
                    return Err(format!("a second TYPE line for `{name}`"));
                }
                family.kind = kind.to_owned();
            }
            return Ok(());
        }
        let sample = parse_sample(line)?;
        let key = (sample.name.clone(), sorted(&sample.labels));
        if !self.series.insert(key) {
            return Err(format!(
                "the series `{}` appears twice",
                line.split(' ').next().unwrap_or(line)
            ));
        }
        let family = self.family_for_sample(&sample.name)?;
        check_membership(family, &sample)?;
        family.samples.push(sample);
        Ok(())
    }

    fn family_for_header(&mut self, name: &str) -> Result<&mut Family, String> {
        self.open(name)
    }

    fn family_for_sample(&mut self, sample: &str) -> Result<&mut Family, String> {
        let belongs = self.exposition.families.last().is_some_and(|family| {
            family.name == sample
                || (matches!(family.kind.as_str(), "histogram" | "summary")
                    && ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|suffix| sample.strip_prefix(family.name.as_str()) == Some(suffix)))
        });
        if belongs {
            return Ok(self.exposition.families.last_mut().expect("checked above"));
        }
        self.open(sample)
    }

    /// The current family if it has this name, else a new one, unless the name was used before.
    fn open(&mut self, name: &str) -> Result<&mut Family, String> {
        let current = self
            .exposition
            .families
            .last()
            .map(|family| family.name.clone());
        if current.as_deref() != Some(name) {
            if self.closed.contains(name) {
                return Err(format!(
                    "the family `{name}` appears in two separate groups"
                ));
            }
            if let Some(current) = current {
                self.closed.insert(current);
            }
            self.exposition.families.push(Family {
                name: name.to_owned(),
                help: None,
                kind: "untyped".to_owned(),
                samples: Vec::new(),
            });
        }
        Ok(self.exposition.families.last_mut().expect("pushed above"))
    }
}

fn sorted(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut labels = labels.to_vec();
    labels.sort();
    labels
}

fn check_membership(family: &Family, sample: &Sample) -> Result<(), String> {
    let suffix = sample
        .name
        .strip_prefix(family.name.as_str())
        .unwrap_or_default();
    match (family.kind.as_str(), suffix) {
        ("histogram", "_bucket") if sample.label("le").is_none() => {
            Err(format!("`{}` has no `le` label", sample.name))
        }
        ("histogram", "") => Err(format!(
            "histogram `{}` has a sample without suffix",
            family.name
        )),
        ("summary", "") if sample.label("quantile").is_none() => Err(format!(
            "summary `{}` has a sample without `quantile`",
            family.name
        )),
        ("histogram", _) | ("summary", _)
            if sample.label("quantile").is_some() && !suffix.is_empty() =>
        {
            Err(format!(
                "`{}` must not have a `quantile` label",
                sample.name
            ))
        }
        _ => Ok(()),
    }
}

/// Buckets are cumulative, end with `+Inf`, and `+Inf` equals `_count`, per series.
fn check_histogram(family: &Family) -> Result<(), String> {
    if family.kind != "histogram" {
        return Ok(());
    }
    let bucket_name = format!("{}_bucket", family.name);
    let count_name = format!("{}_count", family.name);
    for count in family
        .samples
        .iter()
        .filter(|sample| sample.name == count_name)
    {
        let mut buckets: Vec<(f64, f64)> = family
            .samples
            .iter()
            .filter(|sample| sample.name == bucket_name)
            .filter(|sample| {
                let without_le: Vec<_> = sample
                    .labels
                    .iter()
                    .filter(|(key, _)| key != "le")
                    .cloned()
                    .collect();
                sorted(&without_le) == sorted(&count.labels)
            })
            .map(|sample| {
                Ok((
                    parse_value(sample.label("le").unwrap_or_default())?,
                    sample.value,
                ))
            })
            .collect::<Result<_, String>>()?;
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let Some(&(last_bound, last_count)) = buckets.last() else {
            return Err(format!("`{count_name}` has no buckets"));
        };
        if last_bound != f64::INFINITY {
            return Err(format!(
                "a series of `{}` has no `+Inf` bucket",
                family.name
            ));
        }
        if buckets.windows(2).any(|pair| pair[0].1 > pair[1].1) {
            return Err(format!(
                "the buckets of a series of `{}` are not cumulative",
                family.name
            ));
        }
        if last_count != count.value {
            return Err(format!(
                "`+Inf` bucket and `_count` of a series of `{}` differ",
                family.name
            ));
        }
    }
    Ok(())
}

/// Reads a sample line: `name{labels} value [timestamp]`, or the Prometheus text 1.0.0 form of
/// a name outside the legacy character set, `{"name",labels} value [timestamp]`.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let mut labels = Vec::new();
    let (name, mut rest) = match line.strip_prefix('{') {
        Some(inside) => {
            let (name, after) = parse_name(inside.trim_start_matches([' ', '\t']))?;
            if !name_is_quoted(inside) {
                return Err("a name inside the braces must be quoted".to_owned());
            }
            let after = after.trim_start_matches([' ', '\t']);
            let labels_start = match after.strip_prefix(',') {
                Some(more) => more,
                None if after.starts_with('}') => after,
                None => return Err("expected `,` or `}` after the name".to_owned()),
            };
            (name, parse_labels(labels_start, &mut labels)?)
        }
        None => {
            let (name, mut rest) = parse_name(line)?;
            if name_is_quoted(line) {
                return Err("a quoted name goes inside the braces".to_owned());
            }
            if let Some(after_brace) = rest.strip_prefix('{') {
                rest = parse_labels(after_brace, &mut labels)?;
            }
            (name, rest)
        }
    };
    rest = rest.trim_end_matches([' ', '\t']);
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(format!("expected a space before the value, found `{rest}`"));
    }
    let mut fields = rest.split([' ', '\t']).filter(|field| !field.is_empty());
    let value = parse_value(fields.next().ok_or("a sample needs a value")?)?;
    let timestamp = fields
        .next()
        .map(|field| {
            field
                .parse::<i64>()
                .map_err(|_| format!("invalid timestamp `{field}`"))
        })
        .transpose()?;
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected `{extra}` after the value"));
    }
    Ok(Sample {
        name,
        labels,
        value,
        timestamp,
    })
}

/// Parses `k="v",...}` and returns what follows the closing brace.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut Vec<(String, String)>,
) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let (key, after_key) = if let Some(quoted) = rest.strip_prefix('"') {
            let (key, after) = split_quoted(quoted)?;
            let key = unescape(key, true)?;
            if key.is_empty() {
                return Err("a quoted label name is empty".to_owned());
            }
            (key, after)
        } else {
            let key_end = rest
                .find(['=', ' ', '\t'])
                .ok_or("unterminated label set")?;
            let key = &rest[..key_end];
            if !crate::model::names::is_label_name(key) {
                return Err(format!("invalid label name `{key}`"));
            }
            (key.to_owned(), &rest[key_end..])
        };
        let key = key.as_str();
        rest = after_key.trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix("=\"")
            .ok_or_else(|| format!("label `{key}` needs `=\"value\"`"))?;
        let (value, after) = split_quoted(rest)?;
        if labels.iter().any(|(existing, _)| existing == key) {
            return Err(format!("label `{key}` appears twice"));
        }
        labels.push((key.to_owned(), unescape(value, true)?));
        rest = after.trim_start_matches([' ', '\t']);
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = after_comma;
        } else if !rest.starts_with('}') {
            return Err("expected `,` or `}` after a label".to_owned());
        }
    }
}

/// Splits at the closing quote of an escaped string; the quote itself is dropped.
fn split_quoted(text: &str) -> Result<(&str, &str), String> {
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Ok((&text[..index], &text[index + 1..])),
            _ => {}
        }
    }
    Err("unterminated label value".to_owned())
}

fn unescape(text: &str, label_value: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if label_value => out.push('"'),
            Some(other) => return Err(format!("unknown escape `\\{other}`")),
            None => return Err("a backslash ends the text".to_owned()),
        }
    }
    Ok(out)
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| format!("invalid value `{text}`")),
    }
}

/// Reads a metric name, legacy (`a_b:c`) or quoted (`"a.b"`, escapes as in label values), and
/// returns it with what follows.
fn parse_name(text: &str) -> Result<(String, &str), String> {
    if let Some(quoted) = text.strip_prefix('"') {
        let (name, after) = split_quoted(quoted)?;
        let name = unescape(name, true)?;
        if name.is_empty() {
            return Err("a quoted metric name is empty".to_owned());
        }
        return Ok((name, after));
    }
    let end = text.find(['{', ' ', '\t', ',', '}']).unwrap_or(text.len());
    let name = &text[..end];
    if !is_metric_name(name) {
        return Err(format!("invalid metric name `{name}`"));
    }
    Ok((name.to_owned(), &text[end..]))
}

fn name_is_quoted(text: &str) -> bool {
    text.trim_start_matches([' ', '\t']).starts_with('"')
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_unescaped() {
        let text = "# HELP g a \\\\ and\\nnew \"q\"\n# TYPE g gauge\ng{v=\"\\\\\\\"\\n\"} 1\n";
        let scrape = Exposition::parse(text).unwrap();
        assert_eq!(
            scrape.family("g").unwrap().help.as_deref(),
            Some("a \\ and\nnew \"q\"")
        );
        assert_eq!(scrape.value("g", &[("v", "\\\"\n")]), Some(1.0));
    }

    #[test]
    fn quoted_names_are_read() {
        let text = concat!(
            "# HELP \"http.server.duration\" Time \"spent\".\n",
            "# TYPE \"http.server.duration\" histogram\n",
            "{\"http.server.duration_bucket\",\"http.route\"=\"/a\",le=\"+Inf\"} 2\n",
            "{\"http.server.duration_sum\",\"http.route\"=\"/a\"} 0.5\n",
            "{\"http.server.duration_count\", \"http.route\"=\"/a\"} 2 1000\n",
            "# TYPE plain counter\n",
            "plain_total{\"quoted \\\"label\\\"\"=\"v\"} 1\n",
            "{\"only.name\"} 3\n",
        );
        let scrape = Exposition::parse(text).unwrap();
        let family = scrape.family("http.server.duration").unwrap();
        assert_eq!(family.kind, "histogram");
        assert_eq!(family.help.as_deref(), Some("Time \"spent\"."));
        assert_eq!(
            scrape.value("http.server.duration_count", &[("http.route", "/a")]),
            Some(2.0)
        );
        assert_eq!(
            scrape.value("plain_total", &[("quoted \"label\"", "v")]),
            Some(1.0)
        );
        assert_eq!(scrape.value("only.name", &[]), Some(3.0));
    }

    #[test]
    fn invalid_texts_are_refused() {
        for text in [
            "g{v=\"\\x\"} 1\n",
            "g{v=\"a\"} 1\ng{v=\"a\"} 2\n",
            "g{v=\"a\",v=\"b\"} 1\n",
            "a 1\nb 1\na 2\n",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 2\n",
            "g 1",
            "g{1=\"a\"} 1\n",
            "# TYPE c counter\nc 1\n# TYPE c counter\n",
            "a.b 1\n",
            "\"a.b\" 1\n",
            "{a=\"b\"} 1\n",
            "{\"\"} 1\n",
            "{\"a.b\" x=\"1\"} 1\n",
            "# TYPE a.b counter\n",
            "g{\"\"=\"v\"} 1\n",
            "g{v=\"a\"}1\n",
        ] {
            assert!(Exposition::parse(text).is_err(), "accepted {text:?}");
        }
    }
}
