//! One OTLP/HTTP request, retried as the OTLP specification says: on 429, 502, 503 and 504 and
//! when no answer comes, with exponential backoff and jitter, waiting as long as `Retry-After`
//! asks; never on another status. Every attempt and every wait ends by the export's deadline.

use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime};

use prost::Message as _;

use crate::error::Error;
use crate::otlp::Otlp;
use crate::otlp::proto::ExportMetricsServiceResponse;

/// The most of an answer that is read: the OTLP specification's recommended limit.
const MAX_RESPONSE_BYTES: u64 = 4 << 20;
/// The first wait before a retry; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(16);
/// The longest `Retry-After` taken at its word: a receiver asking for more is asked again then.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);
/// How often a wait looks whether the exporter is shutting down.
const WAKE: Duration = Duration::from_millis(50);

/// What the receiver said to an accepted request.
#[derive(Debug, PartialEq)]
pub(crate) enum Accepted {
    All,
    /// Some points were rejected, or the receiver warned: not to be retried.
    Partial {
        rejected: u64,
        message: String,
    },
}

/// Why a request was not accepted.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) reason: String,
    /// The receiver asked not to be sent anything before then.
    pub(crate) not_before: Option<Instant>,
}

/// The HTTP client of one export configuration.
pub(crate) struct Client {
    agent: ureq::Agent,
    otlp: Otlp,
}

impl Client {
    pub(crate) fn new(otlp: &Otlp) -> Result<Self, Error> {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(otlp.request_timeout.min(Duration::from_secs(10))))
            // The receiver says why it refused in the body: read it.
            .http_status_as_error(false)
            // A redirect would turn the POST into a GET without its body, and the export into a
            // success that carried nothing: it is an answer to report instead.
            .max_redirects(0)
            .user_agent(concat!("track-metrics/", env!("CARGO_PKG_VERSION")));
        #[cfg(feature = "otlp-tls")]
        let config = config.tls_config(tls_config(otlp)?);
        Ok(Client {
            agent: config.build().new_agent(),
            otlp: otlp.clone(),
        })
    }

    /// Posts `body` (encoded, not yet compressed) until it is accepted, refused for good, or
    /// `deadline` comes; `stopping` cuts the waits between attempts short.
    pub(crate) fn send(
        &self,
        body: Vec<u8>,
        deadline: Instant,
        stopping: &dyn Fn() -> bool,
    ) -> Result<Accepted, Failure> {
        let body = if self.otlp.gzip {
            gzip(&body).map_err(|error| Failure {
                reason: format!("cannot compress the request: {error}"),
                not_before: None,
            })?
        } else {
            body
        };
        let mut backoff = FIRST_BACKOFF;
        let mut attempts = 0_u32;
        loop {
            attempts += 1;
            let failure = match self.attempt(&body, deadline) {
                Ok(accepted) => return Ok(accepted),
                Err(Attempt::Final(reason)) => {
                    return Err(Failure {
                        reason,
                        not_before: None,
                    });
                }
                Err(Attempt::Retry { reason, after }) => (reason, after),
            };
            let (reason, after) = failure;
            // Never sooner than the backoff: a `Retry-After: 0` (or a date gone by) would
            // otherwise make a tight loop of requests.
            let wait = match after {
                Some(after) => after.min(MAX_RETRY_AFTER).max(jitter(backoff)),
                None => jitter(backoff),
            };
            backoff = (backoff * 2).min(MAX_BACKOFF);
            let now = Instant::now();
            if now + wait >= deadline || stopping() {
                return Err(Failure {
                    reason: format!(
                        "{reason} ({attempts} attempt{}, no time left for another before the \
                         export timeout)",
                        if attempts == 1 { "" } else { "s" }
                    ),
                    not_before: after.map(|after| now + after.min(MAX_RETRY_AFTER)),
                });
            }
            sleep_unless(wait, stopping);
        }
    }

    fn attempt(&self, body: &[u8], deadline: Instant) -> Result<Accepted, Attempt> {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = self.otlp.request_timeout.min(left);
        let mut request = self
            .agent
            .post(&self.otlp.endpoint)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("content-type", "application/x-protobuf");
        if self.otlp.gzip {
            request = request.header("content-encoding", "gzip");
        }
        for (name, value) in &self.otlp.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let mut response = match request.send(body) {
            Ok(response) => response,
            Err(error) => {
                let reason = match &error {
                    ureq::Error::Timeout(_) => format!("no answer within {timeout:?}"),
                    error => format!("no answer: {error}"),
                };
                return Err(if retryable(&error) {
                    Attempt::Retry {
                        reason,
                        after: None,
                    }
                } else {
                    Attempt::Final(reason)
                });
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let said = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec();
        if (200..300).contains(&status) {
            // An empty body (as Prometheus and VictoriaMetrics answer) is full success; one
            // that is not a response message is taken as success too, as its status says.
            let answer = said
                .ok()
                .and_then(|bytes| ExportMetricsServiceResponse::decode(&bytes[..]).ok())
                .and_then(|answer| answer.partial_success);
            return Ok(match answer {
                Some(partial)
                    if partial.rejected_data_points > 0 || !partial.error_message.is_empty() =>
                {
                    Accepted::Partial {
                        rejected: u64::try_from(partial.rejected_data_points).unwrap_or_default(),
                        message: partial.error_message,
                    }
                }
                _ => Accepted::All,
            });
        }
        let said = said.map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned());
        let reason = format!(
            "the receiver answered {status}: {}",
            said.as_deref().unwrap_or("(no readable body)")
        );
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get("location")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("nowhere said")
                .to_owned();
            return Err(Attempt::Final(format!(
                "the receiver answered {status}, a redirect to {location}: set the endpoint to the \
                 URL it redirects to (redirects are not followed, since they would drop the body)"
            )));
        }
        if matches!(status, 429 | 502 | 503 | 504) {
            Err(Attempt::Retry {
                reason,
                after: retry_after,
            })
        } else {
            Err(Attempt::Final(reason))
        }
    }
}

enum Attempt {
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    Final(String),
}

/// Whether an error before any answer is worth another attempt: the network's, not the
/// configuration's (a certificate that is not trusted comes as invalid data from TLS).
fn retryable(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Io(error) => error.kind() != std::io::ErrorKind::InvalidData,
        _ => matches!(
            error,
            ureq::Error::Timeout(_)
                | ureq::Error::HostNotFound
                | ureq::Error::ConnectionFailed
                | ureq::Error::Protocol(_)
        ),
    }
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A wait between half and all of `backoff`, so that many processes retrying after one outage
/// do not come back at once.
fn jitter(backoff: Duration) -> Duration {
    let fraction = (random_u64() >> 11) as f64 / (1_u64 << 53) as f64;
    backoff.mul_f64(0.5 + fraction / 2.0)
}

/// 64 random bits: std's per-map random keys (seeded from the OS once per thread, then
/// incremented) over the time and the process id, so that two processes started together differ.
/// Enough for jitter and an instance id, without a random number crate.
pub(super) fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

fn sleep_unless(wait: Duration, stopping: &dyn Fn() -> bool) {
    let end = Instant::now() + wait;
    while !stopping() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(WAKE));
    }
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

#[cfg(feature = "otlp-tls")]
fn certificates(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(certificate)) => Some(certificate),
            _ => None,
        })
        .collect()
}

#[cfg(feature = "otlp-tls")]
pub(crate) fn check_certificates(setting: &'static str, pem: &[u8]) -> Result<(), Error> {
    if certificates(pem).is_empty() {
        return Err(Error::setting(
            setting,
            "the PEM text holds no certificate (`-----BEGIN CERTIFICATE-----`)",
        ));
    }
    Ok(())
}

#[cfg(feature = "otlp-tls")]
pub(crate) fn check_key(setting: &'static str, pem: &[u8]) -> Result<(), Error> {
    ureq::tls::PrivateKey::from_pem(pem)
        .map(|_| ())
        .map_err(|error| {
            Error::setting(
                setting,
                format!("the PEM text holds no usable private key: {error}"),
            )
        })
}

#[cfg(feature = "otlp-tls")]
fn tls_config(otlp: &Otlp) -> Result<ureq::tls::TlsConfig, Error> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(roots) = &otlp.tls.roots {
        tls = tls.root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(
            certificates(roots),
        )));
    }
    if let Some((chain, key)) = &otlp.tls.client {
        let key = ureq::tls::PrivateKey::from_pem(key).map_err(|error| {
            Error::setting(
                "Otlp::client_certificate",
                format!("the private key: {error}"),
            )
        })?;
        tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(
            &certificates(chain),
            key,
        )));
    }
    Ok(tls.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(120);
        let waited = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(waited <= Duration::from_secs(120) && waited >= Duration::from_secs(100));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        for _ in 0..100 {
            let wait = jitter(Duration::from_secs(2));
            assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(2));
        }
    }
}
