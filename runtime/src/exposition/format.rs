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

    /// The format an `Accept` header asks for: the media range with the highest `q` that names
    /// one of the formats, the richer format on a tie (protobuf, then OpenMetrics, then text).
    /// Text 0.0.4 when there is no header, when nothing in it is known (`*/*` included), or
    /// when what it names has `q=0`.
    pub fn from_accept(accept: Option<&str>) -> Format {
        let mut best = (0.0_f32, Format::Text);
        for range in accept.unwrap_or_default().split(',') {
            let Some((format, quality)) = Self::of_range(range) else {
                continue;
            };
            if quality > best.0
                || (quality == best.0 && quality > 0.0 && format.rank() > best.1.rank())
            {
                best = (quality, format);
            }
        }
        best.1
    }

    /// The format one media range names, with its quality.
    fn of_range(range: &str) -> Option<(Format, f32)> {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next()?.to_ascii_lowercase();
        let mut quality = 1.0_f32;
        let mut version = None;
        let mut proto = None;
        let mut encoding = None;
        for parameter in parts {
            let (key, value) = parameter.split_once('=')?;
            let value = value.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "q" => {
                    quality = value.parse().ok().filter(|q| (0.0..=1.0).contains(q))?;
                }
                "version" => version = Some(value),
                "proto" => proto = Some(value),
                "encoding" => encoding = Some(value),
                _ => {}
            }
        }
        let format = match media.as_str() {
            #[cfg(feature = "protobuf")]
            "application/vnd.google.protobuf"
                if proto == Some("io.prometheus.client.MetricFamily")
                    && encoding == Some("delimited") =>
            {
                Format::Protobuf
            }
            "application/openmetrics-text" if matches!(version, None | Some("1.0.0" | "0.0.1")) => {
                Format::OpenMetrics
            }
            "text/plain" if matches!(version, None | Some("0.0.4")) => Format::Text,
            "text/*" | "*/*" => Format::Text,
            _ => return None,
        };
        let _ = (proto, encoding);
        Some((format, quality))
    }

    fn rank(self) -> u8 {
        match self {
            Format::Text => 0,
            Format::OpenMetrics => 1,
            #[cfg(feature = "protobuf")]
            Format::Protobuf => 2,
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
