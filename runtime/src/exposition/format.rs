//! The formats a scrape can be written in, and the one a scraper's `Accept` header picks.

/// A format of the exposition.
///
/// ```
/// use track_metrics::Format;
///
/// // What Prometheus 2.42 sends by default: OpenMetrics first.
/// let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
///               version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(Format::from_accept(Some(accept)), Format::OpenMetrics);
/// assert_eq!(Format::from_accept(None), Format::Text);
/// assert_eq!(Format::from_accept(Some("*/*")), Format::Text);
/// assert_eq!(
///     Format::OpenMetrics.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// The Prometheus text format 0.0.4: the default, and what any client can read.
    Text,
    /// OpenMetrics 1.0 text: `_created` samples, units, exemplars, `info` and `stateset`.
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf messages: the only format
    /// with native histograms.
    #[cfg(feature = "protobuf")]
    Protobuf,
}

impl Format {
    /// The `Content-Type` to answer with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => crate::exposition::text::CONTENT_TYPE,
            Format::OpenMetrics => crate::exposition::openmetrics::CONTENT_TYPE,
            #[cfg(feature = "protobuf")]
            Format::Protobuf => crate::exposition::protobuf::CONTENT_TYPE,
        }
    }

    /// The format a request's `Accept` headers ask for, each value read leniently: a byte that
    /// is not UTF-8 spoils its own media range, not the others.
    #[cfg(any(feature = "http", feature = "axum"))]
    pub(crate) fn from_accept_headers<'a>(values: impl Iterator<Item = &'a [u8]>) -> Format {
        let joined: Vec<String> = values
            .map(|value| String::from_utf8_lossy(value).into_owned())
            .collect();
        Format::from_accept(Some(&joined.join(",")))
    }

    /// The format an `Accept` header asks for (several headers joined with commas). Each format
    /// takes the quality of the most specific media range that matches it (an exact type with
    /// its parameters, then the type, then `application/*` or `text/*`, then `*/*`); the highest
    /// quality above zero wins, then the most specific match, then, among exact matches, the
    /// richer format (protobuf, OpenMetrics, text), and among wildcards text. Protobuf is only
    /// ever sent to a scraper that names it. Text 0.0.4 when nothing is accepted or known.
    pub fn from_accept(accept: Option<&str>) -> Format {
        let ranges: Vec<Range> = accept
            .unwrap_or_default()
            .split(',')
            .filter_map(Range::parse)
            .collect();
        let mut best: Option<((f32, u8, u8), Format)> = None;
        for format in Format::ALL {
            let Some((quality, specificity)) = ranges
                .iter()
                .filter_map(|range| {
                    range
                        .matches(format)
                        .map(|specificity| (range.quality, specificity))
                })
                .max_by_key(|(_, specificity)| *specificity)
            else {
                continue;
            };
            if quality <= 0.0 {
                continue;
            }
            // Exact matches prefer the richer format; wildcards the plainer one.
            let preference = if specificity >= 2 {
                format.rank()
            } else {
                2 - format.rank()
            };
            let key = (quality, specificity, preference);
            if best.is_none_or(|(best, _)| key > best) {
                best = Some((key, format));
            }
        }
        best.map_or(Format::Text, |(_, format)| format)
    }

    #[cfg(feature = "protobuf")]
    const ALL: [Format; 3] = [Format::Text, Format::OpenMetrics, Format::Protobuf];
    #[cfg(not(feature = "protobuf"))]
    const ALL: [Format; 2] = [Format::Text, Format::OpenMetrics];

    fn rank(self) -> u8 {
        match self {
            Format::Text => 0,
            Format::OpenMetrics => 1,
            #[cfg(feature = "protobuf")]
            Format::Protobuf => 2,
        }
    }
}

/// One media range of an `Accept` header.
struct Range {
    media: String,
    quality: f32,
    version: Option<String>,
    #[cfg_attr(not(feature = "protobuf"), allow(dead_code))]
    proto: Option<String>,
    #[cfg_attr(not(feature = "protobuf"), allow(dead_code))]
    encoding: Option<String>,
}

impl Range {
    fn parse(text: &str) -> Option<Range> {
        let mut parts = text.split(';').map(str::trim);
        let media = parts.next()?.to_ascii_lowercase();
        if media.is_empty() {
            return None;
        }
        let mut range = Range {
            media,
            quality: 1.0,
            version: None,
            proto: None,
            encoding: None,
        };
        for parameter in parts.filter(|parameter| !parameter.is_empty()) {
            let Some((key, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_owned();
            match key.trim().to_ascii_lowercase().as_str() {
                // A quality that is not a number in [0, 1] makes the range unusable.
                "q" => {
                    range.quality = value.parse().ok().filter(|q| (0.0..=1.0).contains(q))?;
                }
                "version" => range.version = Some(value),
                "proto" => range.proto = Some(value),
                "encoding" => range.encoding = Some(value),
                _ => {}
            }
        }
        Some(range)
    }

    /// How specifically this range names `format` (3: type and parameters, 2: type, 1: a
    /// type wildcard, 0: `*/*`), or `None` if it does not.
    fn matches(&self, format: Format) -> Option<u8> {
        let version = self.version.as_deref();
        match (format, self.media.as_str()) {
            (Format::Text, "text/plain") if matches!(version, None | Some("0.0.4")) => {
                Some(if version.is_some() { 3 } else { 2 })
            }
            (Format::Text, "text/*") => Some(1),
            (Format::OpenMetrics, "application/openmetrics-text")
                if matches!(version, None | Some("1.0.0" | "0.0.1")) =>
            {
                Some(if version.is_some() { 3 } else { 2 })
            }
            (Format::OpenMetrics, "application/*") => Some(1),
            #[cfg(feature = "protobuf")]
            (Format::Protobuf, "application/vnd.google.protobuf")
                if self.proto.as_deref() == Some("io.prometheus.client.MetricFamily")
                    && self.encoding.as_deref() == Some("delimited") =>
            {
                Some(3)
            }
            #[cfg(feature = "protobuf")]
            (Format::Protobuf, _) => None,
            (_, "*/*") => Some(0),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers() {
        let pick = |accept: &str| Format::from_accept(Some(accept));
        assert_eq!(pick(""), Format::Text);
        assert_eq!(pick("application/json"), Format::Text);
        assert_eq!(pick("application/openmetrics-text"), Format::OpenMetrics);
        assert_eq!(
            pick("Application/OpenMetrics-Text; Version=1.0.0"),
            Format::OpenMetrics
        );
        assert_eq!(
            pick("application/openmetrics-text;version=2.0.0"),
            Format::Text
        );
        assert_eq!(pick("application/openmetrics-text;q=0"), Format::Text);
        assert_eq!(
            pick("application/openmetrics-text;q=0.4,text/plain;q=0.5"),
            Format::Text
        );
        assert_eq!(
            pick("text/plain;q=0.5,application/openmetrics-text;q=0.5"),
            Format::OpenMetrics
        );
        assert_eq!(pick("application/openmetrics-text;q=x"), Format::Text);
        // What the hostile review found.
        assert_eq!(pick("application/*"), Format::OpenMetrics);
        assert_eq!(pick("text/plain;q=0, */*;q=0.1"), Format::OpenMetrics);
        assert_eq!(pick("application/openmetrics-text;"), Format::OpenMetrics);
        assert_eq!(
            pick("application/openmetrics-text;charset"),
            Format::OpenMetrics
        );
        assert_eq!(
            pick("text/plain;q=0.1,application/openmetrics-text"),
            Format::OpenMetrics
        );
        assert_eq!(pick("*/*;q=0"), Format::Text);
        assert_eq!(pick("text/*"), Format::Text);
        #[cfg(feature = "protobuf")]
        {
            let prometheus_native = "application/vnd.google.protobuf;\
                proto=io.prometheus.client.MetricFamily;encoding=delimited,\
                application/openmetrics-text;version=1.0.0;q=0.8,\
                application/openmetrics-text;version=0.0.1;q=0.75,\
                text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
            assert_eq!(pick(prometheus_native), Format::Protobuf);
            assert_eq!(pick("application/vnd.google.protobuf"), Format::Text);
            assert_eq!(
                pick(
                    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"
                ),
                Format::Text
            );
        }
    }
}
