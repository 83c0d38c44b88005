//! The `OTEL_*` environment variables, read as the OpenTelemetry specification defines them
//! (`configuration/sdk-environment-variables.md`, `protocol/exporter.md`): the metrics-specific
//! form of each exporter variable wins over the generic one, empty counts as unset, durations
//! are milliseconds. Where the specification lets an SDK warn and go on with a default, this
//! refuses instead: an export that silently goes elsewhere, or never, is worse than a clear
//! error at `install()`.

use std::time::Duration;

use crate::error::Error;
use crate::otlp::{Otlp, Temporality, append_path, check_url, header_problem};

/// The generic and metrics-specific names of one exporter variable.
struct Variable {
    metrics: &'static str,
    generic: &'static str,
}

const ENDPOINT: Variable = Variable {
    metrics: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    generic: "OTEL_EXPORTER_OTLP_ENDPOINT",
};
const HEADERS: Variable = Variable {
    metrics: "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    generic: "OTEL_EXPORTER_OTLP_HEADERS",
};
const TIMEOUT: Variable = Variable {
    metrics: "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    generic: "OTEL_EXPORTER_OTLP_TIMEOUT",
};
const COMPRESSION: Variable = Variable {
    metrics: "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    generic: "OTEL_EXPORTER_OTLP_COMPRESSION",
};
const PROTOCOL: Variable = Variable {
    metrics: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    generic: "OTEL_EXPORTER_OTLP_PROTOCOL",
};
#[cfg(feature = "otlp-tls")]
const CERTIFICATE: Variable = Variable {
    metrics: "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
    generic: "OTEL_EXPORTER_OTLP_CERTIFICATE",
};
#[cfg(feature = "otlp-tls")]
const CLIENT_CERTIFICATE: Variable = Variable {
    metrics: "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
    generic: "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
};
#[cfg(feature = "otlp-tls")]
const CLIENT_KEY: Variable = Variable {
    metrics: "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY",
    generic: "OTEL_EXPORTER_OTLP_CLIENT_KEY",
};
const TEMPORALITY: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
const HISTOGRAMS: &str = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION";
const INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
const EXPORT_TIMEOUT: &str = "OTEL_METRIC_EXPORT_TIMEOUT";
const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
const EXPORTERS: &str = "OTEL_METRICS_EXPORTER";
const DISABLED: &str = "OTEL_SDK_DISABLED";

/// The export the variables `var` gives describe, or `None` when they ask for none.
pub(crate) fn read(var: impl Fn(&str) -> Option<String>) -> Result<Option<Otlp>, Error> {
    let get = |name: &'static str| {
        var(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .map(|value| (name, value))
    };
    let either = |variable: &Variable| get(variable.metrics).or_else(|| get(variable.generic));

    if get(DISABLED).is_some_and(|(_, value)| value.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    if let Some((_, exporters)) = get(EXPORTERS)
        && !exporters
            .split(',')
            .any(|exporter| exporter.trim().eq_ignore_ascii_case("otlp"))
    {
        return Ok(None);
    }
    let endpoint = match (get(ENDPOINT.metrics), get(ENDPOINT.generic)) {
        (Some((name, url)), _) => named(name, check_url(name, &url))?,
        (None, Some((name, base))) => {
            let base = named(name, check_url(name, &base))?;
            append_path(&base, "v1/metrics")
        }
        (None, None) => return Ok(None),
    };
    let mut otlp = Otlp::new(&endpoint)?;

    if let Some((name, protocol)) = either(&PROTOCOL)
        && !protocol.eq_ignore_ascii_case("http/protobuf")
    {
        return Err(Error::setting(
            name,
            format!(
                "{name}={protocol}: track-metrics exports OTLP over `http/protobuf` only; set \
                 OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/protobuf (and an endpoint on the \
                 receiver's HTTP port, 4318 for a collector)"
            ),
        ));
    }
    if let Some((name, headers)) = either(&HEADERS) {
        otlp.headers = parse_pairs(name, &headers, Decoding::Lenient)?;
        if let Some(problem) = header_problem(&otlp.headers) {
            return Err(Error::setting(name, format!("{name}: {problem}")));
        }
    }
    let request_timeout = match either(&TIMEOUT) {
        Some((name, value)) => Some((name, millis(name, &value)?)),
        None => None,
    };
    if let Some((name, value)) = either(&COMPRESSION) {
        otlp.gzip = match value.to_ascii_lowercase().as_str() {
            "gzip" => true,
            "none" => false,
            _ => {
                return Err(Error::setting(
                    name,
                    format!("{name}={value}: the compression is `gzip` or `none`"),
                ));
            }
        };
    }
    if let Some((name, value)) = get(TEMPORALITY) {
        otlp.temporality = match value.to_ascii_lowercase().as_str() {
            "cumulative" => Temporality::Cumulative,
            // Low memory is delta for counters and histograms, which is all delta changes here.
            "delta" | "lowmemory" => Temporality::Delta,
            _ => {
                return Err(Error::setting(
                    name,
                    format!(
                        "{name}={value}: the temporality is `cumulative`, `delta` or `lowmemory`"
                    ),
                ));
            }
        };
    }
    if let Some((name, value)) = get(HISTOGRAMS) {
        otlp.exponential_histograms = match value.to_ascii_lowercase().as_str() {
            "explicit_bucket_histogram" => false,
            // Only the series that keep native buckets have exponential ones to send.
            "base2_exponential_bucket_histogram" => true,
            _ => {
                return Err(Error::setting(
                    name,
                    format!(
                        "{name}={value}: the aggregation is `explicit_bucket_histogram` or \
                         `base2_exponential_bucket_histogram`"
                    ),
                ));
            }
        };
    }
    if let Some((name, value)) = get(INTERVAL) {
        otlp.interval = millis(name, &value)?.ok_or_else(|| {
            Error::setting(
                name,
                format!("{name}=0: the export interval must be above zero"),
            )
        })?;
    }
    if let Some((name, value)) = get(EXPORT_TIMEOUT) {
        // 0 means no limit: an export then runs until the next one is due.
        otlp.export_timeout = millis(name, &value)?.unwrap_or(otlp.interval);
    }
    if let Some((_, timeout)) = request_timeout {
        // 0 means no limit: the export's own deadline bounds the request then.
        otlp.request_timeout = timeout.unwrap_or(otlp.export_timeout);
    }
    for (name, value) in [
        (INTERVAL, otlp.interval),
        (EXPORT_TIMEOUT, otlp.export_timeout),
        (TIMEOUT.generic, otlp.request_timeout),
    ] {
        let limit = if name == INTERVAL { 24 * 3600 } else { 3600 };
        if value > Duration::from_secs(limit) {
            return Err(Error::setting(
                name,
                format!("{name}: {value:?} is more than the {limit} s this allows"),
            ));
        }
    }
    if let Some((name, value)) = get(RESOURCE_ATTRIBUTES) {
        for (key, value) in parse_pairs(name, &value, Decoding::Strict)? {
            otlp = otlp.resource_attribute(&key, &value);
        }
    }
    if let Some((_, name)) = get(SERVICE_NAME) {
        otlp = otlp.service_name(&name);
    }
    #[cfg(feature = "otlp-tls")]
    if otlp.endpoint.starts_with("https://") {
        if let Some((name, path)) = either(&CERTIFICATE) {
            otlp = named(name, otlp.root_certificates(&read_file(name, &path)?))?;
        }
        match (either(&CLIENT_CERTIFICATE), either(&CLIENT_KEY)) {
            (Some((chain_name, chain)), Some((key_name, key))) => {
                otlp = named(
                    chain_name,
                    otlp.client_certificate(
                        &read_file(chain_name, &chain)?,
                        &read_file(key_name, &key)?,
                    ),
                )?;
            }
            (None, None) => {}
            (Some((name, _)), None) | (None, Some((name, _))) => {
                return Err(Error::setting(
                    name,
                    format!(
                        "{name} is set without its pair: mutual TLS needs both \
                         OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY"
                    ),
                ));
            }
        }
    }
    Ok(Some(otlp))
}

/// An error that says which variable it comes from.
fn named<T>(name: &'static str, result: Result<T, Error>) -> Result<T, Error> {
    result.map_err(|error| Error::setting(name, format!("{name}: {error}")))
}

#[cfg(feature = "otlp-tls")]
fn read_file(name: &'static str, path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|error| Error::setting(name, format!("{name}={path}: cannot read it: {error}")))
}

/// Milliseconds, `None` for 0.
fn millis(name: &'static str, value: &str) -> Result<Option<Duration>, Error> {
    let millis: u64 = value.parse().map_err(|_| {
        Error::setting(
            name,
            format!("{name}={value}: expected a whole number of milliseconds, such as 10000"),
        )
    })?;
    Ok((millis > 0).then(|| Duration::from_millis(millis)))
}

#[derive(Clone, Copy, PartialEq)]
enum Decoding {
    /// A bad escape keeps the text as it is, as OpenTelemetry's SDKs read headers.
    Lenient,
    /// A bad escape is an error: the resource specification discards the whole variable then.
    Strict,
}

/// `key=value,key=value`, both sides trimmed and percent-decoded.
fn parse_pairs(
    name: &'static str,
    text: &str,
    decoding: Decoding,
) -> Result<Vec<(String, String)>, Error> {
    let mut pairs = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        // Headers carry secrets: their text is never shown.
        let shown = match decoding {
            Decoding::Lenient => "an item".to_owned(),
            Decoding::Strict => format!("`{item}`"),
        };
        let invalid = |why: &str| {
            Error::setting(
                name,
                format!(
                    "{name}: {shown} {why}; expected `key=value,key=value`, with `,` and `=` in \
                     keys and values percent-encoded (%2C, %3D)"
                ),
            )
        };
        let (key, value) = item.split_once('=').ok_or_else(|| invalid("has no `=`"))?;
        let decode = |text: &str| match (percent_decode(text.trim()), decoding) {
            (Some(decoded), _) => Ok(decoded),
            (None, Decoding::Lenient) => Ok(text.trim().to_owned()),
            (None, Decoding::Strict) => Err(invalid("has a bad percent escape")),
        };
        let (key, value) = (decode(key)?, decode(value)?);
        if key.is_empty() {
            return Err(invalid("has an empty key"));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// `%XX` escapes decoded, or `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_from(pairs: &[(&str, &str)]) -> Result<Option<Otlp>, Error> {
        read(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn the_endpoint_variables_say_whether_and_where() {
        assert!(read_from(&[]).unwrap().is_none());
        assert!(
            read_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])
                .unwrap()
                .is_none()
        );
        for (base, url) in [
            ("http://c:4318", "http://c:4318/v1/metrics"),
            ("http://c:4318/", "http://c:4318/v1/metrics"),
            (
                "http://c:4318/mycollector/",
                "http://c:4318/mycollector/v1/metrics",
            ),
            (
                "http://vm:8428/opentelemetry",
                "http://vm:8428/opentelemetry/v1/metrics",
            ),
        ] {
            let otlp = read_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", base)])
                .unwrap()
                .unwrap();
            assert_eq!(otlp.endpoint, url);
        }
        // The metrics endpoint is used as is, and wins.
        let otlp = read_from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9090"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(otlp.endpoint, "http://m:9090/");
        for off in [
            [("OTEL_SDK_DISABLED", "TRUE")],
            [("OTEL_METRICS_EXPORTER", "none")],
            [("OTEL_METRICS_EXPORTER", "prometheus,console")],
        ] {
            let mut pairs = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")];
            pairs.extend(off);
            assert!(read_from(&pairs).unwrap().is_none(), "{off:?}");
        }
        let mut pairs = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")];
        pairs.push(("OTEL_METRICS_EXPORTER", "prometheus, otlp"));
        assert!(read_from(&pairs).unwrap().is_some());
    }

    #[test]
    fn every_setting_is_read_and_the_metrics_form_wins() {
        let otlp = read_from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                "api-key = s%3Dcret , b=%E2%9C%93,c=100%",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "GZIP"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
                "explicit_bucket_histogram",
            ),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "0"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=ignored,deployment.environment.name=prod%2Ceu,team=a%3Db",
            ),
            ("OTEL_SERVICE_NAME", "checkout"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            otlp.headers,
            [
                ("api-key".to_owned(), "s=cret".to_owned()),
                ("b".to_owned(), "✓".to_owned()),
                // A bad escape in a header keeps the text, as the SDKs do.
                ("c".to_owned(), "100%".to_owned()),
            ]
        );
        assert_eq!(otlp.request_timeout, Duration::from_millis(2500));
        assert!(otlp.gzip);
        assert_eq!(otlp.temporality, Temporality::Delta);
        assert_eq!(otlp.interval, Duration::from_secs(15));
        assert!(!otlp.exponential_histograms);
        assert_eq!(otlp.export_timeout, otlp.interval);
        assert_eq!(otlp.service_name.as_deref(), Some("checkout"));
        assert!(otlp.resource.contains(&(
            "deployment.environment.name".to_owned(),
            "prod,eu".to_owned()
        )));
        assert!(
            otlp.resource
                .contains(&("team".to_owned(), "a=b".to_owned()))
        );
    }

    #[test]
    fn malformed_variables_are_refused_by_name() {
        for (name, value, says) in [
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "collector:4318",
                "must start with",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "milliseconds"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "-1", "milliseconds"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "`gzip` or `none`"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0", "above zero"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "both",
                "temporality",
            ),
            ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz", "bad percent escape"),
            ("OTEL_RESOURCE_ATTRIBUTES", "novalue", "has no `=`"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "=v", "empty key"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "bad header=secret",
                "cannot be an HTTP header name",
            ),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://h:notaport",
                "not a URL",
            ),
            ("OTEL_METRIC_EXPORT_INTERVAL", "999999999999", "more than"),
        ] {
            let mut pairs = vec![(name, value)];
            if name != "OTEL_EXPORTER_OTLP_ENDPOINT" {
                pairs.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"));
            }
            let error = read_from(&pairs).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
            assert!(
                !error.contains("secret"),
                "a header's value is never shown: {error}"
            );
            assert!(error.contains(says), "{name}={value}: {error}");
        }
    }
}
