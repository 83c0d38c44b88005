//! The formats a scrape can be written in, and the one a scraper's `Accept` header picks, as
//! Prometheus' content-negotiation and escaping-schemes specifications describe them
//! (prometheus/docs `content_negotiation.md` and `escaping_schemes.md`; the Go reference is
//! prometheus/common's `expfmt`).

pub use crate::model::names::Escaping;

/// The protocols of the exposition, as Prometheus' `scrape_protocols` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// The Prometheus text format 0.0.4: the default, and what any client can read.
    PrometheusText0_0_4,
    /// The Prometheus text format 1.0.0: 0.0.4 with the `escaping` of its names said, so it
    /// may carry names valid only as UTF-8, quoted.
    PrometheusText1_0_0,
    /// OpenMetrics text 0.0.1 (what an `Accept` without a version asks for).
    OpenMetricsText0_0_1,
    /// OpenMetrics 1.0 text: units, exemplars, `info` and `stateset` (and `_created` samples
    /// when the builder asks for them).
    OpenMetricsText1_0_0,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf messages: the only format
    /// with native histograms and start timestamps.
    #[cfg(feature = "protobuf")]
    PrometheusProto,
}

/// A format of the exposition: a protocol, and how it writes names.
///
/// ```
/// use track_metrics::{Escaping, Format, Protocol};
///
/// // What Prometheus 3.5 sends by default: OpenMetrics 1.0.0 first, names as UTF-8.
/// let accept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
///               application/openmetrics-text;version=0.0.1;q=0.5,\
///               text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
///               text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
/// let format = Format::from_accept(Some(accept));
/// assert_eq!(format.protocol(), Protocol::OpenMetricsText1_0_0);
/// assert_eq!(format.escaping(), Escaping::AllowUtf8);
/// assert_eq!(
///     format.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
/// );
/// // What Prometheus 2 sends: OpenMetrics, names escaped to underscores.
/// let format = Format::from_accept(Some("application/openmetrics-text;version=1.0.0,*/*;q=0.1"));
/// assert_eq!(format, Format::OPENMETRICS);
/// assert_eq!(Format::from_accept(None), Format::TEXT);
/// assert_eq!(Format::from_accept(Some("*/*")), Format::TEXT);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Format {
    protocol: Protocol,
    escaping: Escaping,
}

impl Format {
    /// Text 0.0.4, names escaped to underscores: what [`render`](crate::render) writes.
    pub const TEXT: Format = Format::new(Protocol::PrometheusText0_0_4, Escaping::Underscores);
    /// OpenMetrics 1.0.0, names escaped to underscores.
    pub const OPENMETRICS: Format =
        Format::new(Protocol::OpenMetricsText1_0_0, Escaping::Underscores);
    /// Protobuf, names escaped to underscores.
    #[cfg(feature = "protobuf")]
    pub const PROTOBUF: Format = Format::new(Protocol::PrometheusProto, Escaping::Underscores);

    /// The format of `protocol` that writes names as `escaping` says.
    pub const fn new(protocol: Protocol, escaping: Escaping) -> Format {
        Format { protocol, escaping }
    }

    /// Its protocol.
    pub const fn protocol(self) -> Protocol {
        self.protocol
    }

    /// How it writes names valid only as UTF-8.
    pub const fn escaping(self) -> Escaping {
        self.escaping
    }

    /// The `Content-Type` to answer with: the protocol's, with its `escaping`.
    pub fn content_type(self) -> &'static str {
        macro_rules! types {
            ($media:literal) => {
                match self.escaping {
                    Escaping::AllowUtf8 => concat!($media, "; escaping=allow-utf-8"),
                    Escaping::Underscores => concat!($media, "; escaping=underscores"),
                    Escaping::Dots => concat!($media, "; escaping=dots"),
                    Escaping::Values => concat!($media, "; escaping=values"),
                }
            };
        }
        match self.protocol {
            Protocol::PrometheusText0_0_4 => types!("text/plain; version=0.0.4; charset=utf-8"),
            Protocol::PrometheusText1_0_0 => types!("text/plain; version=1.0.0; charset=utf-8"),
            Protocol::OpenMetricsText0_0_1 => {
                types!("application/openmetrics-text; version=0.0.1; charset=utf-8")
            }
            Protocol::OpenMetricsText1_0_0 => {
                types!("application/openmetrics-text; version=1.0.0; charset=utf-8")
            }
            #[cfg(feature = "protobuf")]
            Protocol::PrometheusProto => types!(
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; \
                 encoding=delimited"
            ),
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

    /// The format an `Accept` header asks for (several headers joined with commas).
    ///
    /// Each protocol takes the quality of the most specific media range that names it (the
    /// type with its `version`, then the type alone, then `text/*` or `application/*`, then
    /// `*/*`); the highest quality above zero wins, then the most specific match, then, among
    /// exact matches, the richer protocol (protobuf, OpenMetrics 1.0.0 and 0.0.1, text 1.0.0
    /// and 0.0.4). A type without a version is text 0.0.4 or OpenMetrics 0.0.1; an unknown
    /// version names nothing; protobuf goes only to a scraper that names it. Text 0.0.4 when
    /// nothing is accepted or known.
    ///
    /// Names are written as the `escaping` parameter of the chosen range says, or escaped to
    /// underscores without one; an escaping that is none of the four is ignored, as the Go
    /// reference ignores it.
    pub fn from_accept(accept: Option<&str>) -> Format {
        let ranges: Vec<Range> = accept
            .unwrap_or_default()
            .split(',')
            .filter_map(Range::parse)
            .collect();
        let mut best: Option<((f32, u8, u8), Protocol, &Range)> = None;
        for (rank, protocol) in Self::PROTOCOLS.into_iter().enumerate() {
            let Some((range, specificity)) = ranges
                .iter()
                .filter_map(|range| {
                    range
                        .matches(protocol)
                        .map(|specificity| (range, specificity))
                })
                .max_by_key(|(_, specificity)| *specificity)
            else {
                continue;
            };
            if range.quality <= 0.0 {
                continue;
            }
            // Exact matches prefer the richer protocol; wildcards the plainer one.
            let rank = rank as u8;
            let preference = if specificity >= 2 {
                rank
            } else {
                u8::MAX - rank
            };
            let key = (range.quality, specificity, preference);
            if best.is_none_or(|(best, ..)| key > best) {
                best = Some((key, protocol, range));
            }
        }
        match best {
            Some((_, protocol, range)) => Format::new(
                protocol,
                range
                    .escaping
                    .as_deref()
                    .and_then(Escaping::parse)
                    .unwrap_or(Escaping::Underscores),
            ),
            None => Format::TEXT,
        }
    }

    /// From the plainest to the richest.
    #[cfg(feature = "protobuf")]
    const PROTOCOLS: [Protocol; 5] = [
        Protocol::PrometheusText0_0_4,
        Protocol::PrometheusText1_0_0,
        Protocol::OpenMetricsText0_0_1,
        Protocol::OpenMetricsText1_0_0,
        Protocol::PrometheusProto,
    ];
    #[cfg(not(feature = "protobuf"))]
    const PROTOCOLS: [Protocol; 4] = [
        Protocol::PrometheusText0_0_4,
        Protocol::PrometheusText1_0_0,
        Protocol::OpenMetricsText0_0_1,
        Protocol::OpenMetricsText1_0_0,
    ];
}

/// One media range of an `Accept` header.
struct Range {
    media: String,
    quality: f32,
    version: Option<String>,
    escaping: Option<String>,
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
            escaping: None,
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
                "escaping" => range.escaping = Some(value),
                "proto" => range.proto = Some(value),
                "encoding" => range.encoding = Some(value),
                _ => {}
            }
        }
        Some(range)
    }

    /// How specifically this range names `protocol` (3: type and version, 2: type, 1: a type
    /// wildcard, 0: `*/*`), or `None` if it does not.
    fn matches(&self, protocol: Protocol) -> Option<u8> {
        let version = self.version.as_deref();
        match (protocol, self.media.as_str(), version) {
            (Protocol::PrometheusText0_0_4, "text/plain", Some("0.0.4")) => Some(3),
            (Protocol::PrometheusText0_0_4, "text/plain", None) => Some(2),
            (Protocol::PrometheusText0_0_4, "text/*", _) => Some(1),
            (Protocol::PrometheusText0_0_4, "*/*", _) => Some(0),
            (Protocol::PrometheusText1_0_0, "text/plain", Some("1.0.0")) => Some(3),
            (Protocol::OpenMetricsText0_0_1, "application/openmetrics-text", Some("0.0.1")) => {
                Some(3)
            }
            (Protocol::OpenMetricsText0_0_1, "application/openmetrics-text", None) => Some(2),
            (Protocol::OpenMetricsText1_0_0, "application/openmetrics-text", Some("1.0.0")) => {
                Some(3)
            }
            (Protocol::OpenMetricsText1_0_0, "application/*", _) => Some(1),
            #[cfg(feature = "protobuf")]
            (Protocol::PrometheusProto, "application/vnd.google.protobuf", _)
                if self.proto.as_deref() == Some("io.prometheus.client.MetricFamily")
                    && self.encoding.as_deref() == Some("delimited") =>
            {
                Some(3)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(accept: &str) -> (Protocol, Escaping) {
        let format = Format::from_accept(Some(accept));
        (format.protocol(), format.escaping())
    }

    const TEXT: (Protocol, Escaping) = (Protocol::PrometheusText0_0_4, Escaping::Underscores);
    const OPENMETRICS: (Protocol, Escaping) =
        (Protocol::OpenMetricsText1_0_0, Escaping::Underscores);

    #[test]
    fn accept_headers() {
        assert_eq!(pick(""), TEXT);
        assert_eq!(pick("application/json"), TEXT);
        assert_eq!(
            pick("application/openmetrics-text"),
            (Protocol::OpenMetricsText0_0_1, Escaping::Underscores)
        );
        assert_eq!(
            pick("Application/OpenMetrics-Text; Version=1.0.0"),
            OPENMETRICS
        );
        assert_eq!(pick("application/openmetrics-text;version=2.0.0"), TEXT);
        assert_eq!(pick("application/openmetrics-text;q=0"), TEXT);
        assert_eq!(
            pick("application/openmetrics-text;version=1.0.0;q=0.4,text/plain;q=0.5"),
            TEXT
        );
        assert_eq!(
            pick("text/plain;q=0.5,application/openmetrics-text;version=1.0.0;q=0.5"),
            OPENMETRICS
        );
        assert_eq!(pick("application/openmetrics-text;q=x"), TEXT);
        assert_eq!(pick("application/*"), OPENMETRICS);
        assert_eq!(pick("text/plain;q=0, */*;q=0.1"), TEXT);
        assert_eq!(
            pick("text/plain;q=0.1,application/openmetrics-text;version=1.0.0"),
            OPENMETRICS
        );
        assert_eq!(pick("*/*;q=0"), TEXT);
        assert_eq!(pick("text/*"), TEXT);
        // Text 1.0.0 only when named.
        assert_eq!(
            pick("text/plain;version=1.0.0;escaping=allow-utf-8"),
            (Protocol::PrometheusText1_0_0, Escaping::AllowUtf8)
        );
        assert_eq!(pick("text/plain;version=1.1.0"), TEXT);
    }

    #[test]
    fn the_escaping_of_the_chosen_range_or_underscores() {
        let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
            application/openmetrics-text;version=0.0.1;q=0.5,\
            text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
            text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(
            pick(prometheus_3),
            (Protocol::OpenMetricsText1_0_0, Escaping::AllowUtf8)
        );
        for (scheme, escaping) in [
            ("underscores", Escaping::Underscores),
            ("dots", Escaping::Dots),
            ("values", Escaping::Values),
        ] {
            let accept = prometheus_3.replace("allow-utf-8", scheme);
            assert_eq!(pick(&accept).1, escaping, "{scheme}");
        }
        // Unknown: ignored.
        assert_eq!(
            pick(&prometheus_3.replace("allow-utf-8", "bogus")).1,
            Escaping::Underscores
        );
        // On any protocol that names one.
        assert_eq!(
            pick("text/plain;version=0.0.4;escaping=values"),
            (Protocol::PrometheusText0_0_4, Escaping::Values)
        );
        // Prometheus 3 without OpenMetrics and text 1.0.0: the 0.0.4 range has no escaping.
        assert_eq!(
            pick(
                "text/plain;version=1.0.0;escaping=allow-utf-8;q=0,text/plain;version=0.0.4;q=0.3"
            ),
            TEXT
        );
    }

    #[test]
    fn content_types_carry_version_and_escaping() {
        assert_eq!(
            Format::TEXT.content_type(),
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
        );
        assert_eq!(
            Format::new(Protocol::PrometheusText1_0_0, Escaping::AllowUtf8).content_type(),
            "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
        assert_eq!(
            Format::new(Protocol::OpenMetricsText0_0_1, Escaping::Dots).content_type(),
            "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=dots"
        );
    }

    #[cfg(feature = "protobuf")]
    #[test]
    fn protobuf_only_when_named() {
        let prometheus_native = "application/vnd.google.protobuf;\
            proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,\
            application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
            application/openmetrics-text;version=0.0.1;q=0.4,\
            text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,\
            text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        assert_eq!(
            pick(prometheus_native),
            (Protocol::PrometheusProto, Escaping::Underscores)
        );
        assert_eq!(pick("application/vnd.google.protobuf"), TEXT);
        assert_eq!(
            pick(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"
            ),
            TEXT
        );
        assert_eq!(
            Format::PROTOBUF.content_type(),
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; \
             encoding=delimited; escaping=underscores"
        );
    }
}
