//! Pushgateway for batch jobs, which end before any scrape: push the exposition under a job name
//! and grouping labels, replacing the group (`PUT`) or adding to it (`POST`), or delete the
//! group (feature `push`; `https://` with the feature `push-tls`).
//!
//! Every request is bounded by a connect timeout and a timeout for the whole exchange, so that
//! a batch job whose Pushgateway accepts and never answers still ends. A push with nothing to
//! push is refused rather than sent: an empty `PUT` would replace the group's metrics from the
//! last run with nothing.

use std::time::Duration;

use base64::Engine as _;

use crate::error::Error;
use crate::model::names::reserved_label_problem;

/// How long a connection may take to open, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request (connect, send, answer) may take, by default.
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// A group on a Pushgateway: a job name and optional grouping labels.
///
/// ```no_run
/// # fn main() -> Result<(), track_metrics::Error> {
/// track_metrics::Exporter::builder().without_listener().install()?;
/// let gateway = track_metrics::Pushgateway::new("http://127.0.0.1:9091", "nightly_import")?
///     .grouping("instance", "db-1")
///     .timeout(std::time::Duration::from_secs(5));
/// // ... the batch job's work ...
/// gateway.push()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Pushgateway {
    base: String,
    job: String,
    grouping: Vec<(String, String)>,
    connect_timeout: Duration,
    timeout: Duration,
    #[cfg(feature = "push-tls")]
    roots: Option<std::sync::Arc<Vec<ureq::tls::Certificate<'static>>>>,
}

impl Pushgateway {
    /// The group `job` on the Pushgateway at `url` (`http://host:port`, or `https://` with the
    /// feature `push-tls`).
    ///
    /// # Errors
    ///
    /// A URL that is not `http://` or `https://` with a host, `https://` without the feature
    /// `push-tls`, or an empty job name.
    ///
    /// ```
    /// use track_metrics::Pushgateway;
    ///
    /// let gateway = Pushgateway::new("http://pushgateway:9091", "nightly_import")?;
    /// assert_eq!(gateway.url(), "http://pushgateway:9091/metrics/job/nightly_import");
    /// assert!(Pushgateway::new("pushgateway:9091", "nightly_import").is_err()); // no scheme
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn new(url: &str, job: &str) -> Result<Self, Error> {
        let base = url.trim_end_matches('/');
        let invalid = |reason: String| Err(Error::setting("Pushgateway::new", reason));
        let rest = if let Some(rest) = base.strip_prefix("http://") {
            rest
        } else if let Some(rest) = base.strip_prefix("https://") {
            if cfg!(not(feature = "push-tls")) {
                return invalid(format!(
                    "the Pushgateway URL `{url}` is https: turn on track-metrics' feature \
                     `push-tls` (rustls), or use http://"
                ));
            }
            rest
        } else {
            return invalid(format!(
                "the Pushgateway URL `{url}` must start with `http://` or `https://`"
            ));
        };
        if rest.is_empty() || rest.contains(['?', '#', ' ']) {
            return invalid(format!(
                "the Pushgateway URL `{url}` must be `http://host:port`, with an optional path \
                 prefix and no query"
            ));
        }
        if job.is_empty() {
            return invalid("the Pushgateway job name cannot be empty".to_owned());
        }
        Ok(Pushgateway {
            base: base.to_owned(),
            job: job.to_owned(),
            grouping: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_PUSH_TIMEOUT,
            #[cfg(feature = "push-tls")]
            roots: None,
        })
    }

    /// Adds a grouping label, such as `instance`. Any value works, empty, with `/`, spaces or
    /// any Unicode: it is sent as the Pushgateway's URL scheme asks. The label name is checked
    /// by the push, which refuses a name that is not a label name, `job`, or a repeat.
    ///
    /// ```
    /// let gateway = track_metrics::Pushgateway::new("http://pushgateway:9091", "import")?
    ///     .grouping("instance", "db-1")
    ///     .grouping("path", "/var/data");
    /// assert_eq!(
    ///     gateway.url(),
    ///     "http://pushgateway:9091/metrics/job/import/instance/db-1/path@base64/L3Zhci9kYXRh"
    /// );
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn grouping(mut self, label: &str, value: &str) -> Self {
        self.grouping.push((label.to_owned(), value.to_owned()));
        self
    }

    /// How long a connection may take to open: [`DEFAULT_CONNECT_TIMEOUT`] (5 seconds) by
    /// default.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let gateway = track_metrics::Pushgateway::new("http://pushgateway:9091", "import")?
    ///     .connect_timeout(Duration::from_secs(2));
    /// # let _ = gateway;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole request may take, from connecting to the end of the answer:
    /// [`DEFAULT_PUSH_TIMEOUT`] (10 seconds) by default. It bounds
    /// [`push_on_drop`](Self::push_on_drop) too, so a job ends even when its Pushgateway never
    /// answers.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let gateway = track_metrics::Pushgateway::new("http://pushgateway:9091", "import")?
    ///     .timeout(Duration::from_secs(3)); // the job ends within 3 s of its last push
    /// # let _ = gateway;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Trusts the certificates of this PEM (a private certificate authority) for `https://`,
    /// instead of Mozilla's roots (feature `push-tls`).
    ///
    /// # Errors
    ///
    /// PEM text that holds no certificate.
    ///
    /// ```no_run
    /// let ca = std::fs::read("/etc/ssl/private-ca.pem").unwrap();
    /// let gateway = track_metrics::Pushgateway::new("https://pushgateway:9091", "import")?
    ///     .root_certificates(&ca)?;
    /// # let _ = gateway;
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    #[cfg(feature = "push-tls")]
    pub fn root_certificates(mut self, pem: &[u8]) -> Result<Self, Error> {
        let certificates: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(certificate)) => Some(certificate),
                _ => None,
            })
            .collect();
        if certificates.is_empty() {
            return Err(Error::setting(
                "Pushgateway::root_certificates",
                "the PEM text holds no certificate (`-----BEGIN CERTIFICATE-----`)",
            ));
        }
        self.roots = Some(std::sync::Arc::new(certificates));
        Ok(self)
    }

    /// The group's URL: `/metrics/job/<job>{/<label>/<value>}`, each value plain when it is
    /// made of unreserved characters, else base64url-encoded (`<label>@base64/<value>`).
    pub fn url(&self) -> String {
        let mut url = format!("{}/metrics{}", self.base, path_segment("job", &self.job));
        for (label, value) in &self.grouping {
            url.push_str(&path_segment(label, value));
        }
        url
    }

    /// Replaces the group's metrics with the current exposition (`PUT`).
    ///
    /// # Errors
    ///
    /// Nothing to push (track-metrics is not installed, or the exposition is empty: an empty
    /// `PUT` would wipe the group), an invalid grouping label, or a Pushgateway that cannot be
    /// reached, does not answer within the timeouts, or refuses the push; the message says why.
    ///
    /// ```
    /// let gateway = track_metrics::Pushgateway::new("http://127.0.0.1:9091", "nightly_import")?;
    /// // Before `install()` there is nothing to push, and an empty PUT would wipe the group.
    /// let error = gateway.push().unwrap_err();
    /// assert!(error.to_string().contains("nothing to push"));
    /// # Ok::<(), track_metrics::Error>(())
    /// ```
    pub fn push(&self) -> Result<(), Error> {
        self.send("PUT", Some(self.exposition("PUT")?))
    }

    /// Adds the current exposition to the group, replacing only the families it contains
    /// (`POST`).
    ///
    /// # Errors
    ///
    /// As [`Pushgateway::push`].
    pub fn push_add(&self) -> Result<(), Error> {
        self.send("POST", Some(self.exposition("POST")?))
    }

    /// Deletes the group (`DELETE`).
    ///
    /// # Errors
    ///
    /// As [`Pushgateway::push`], but for the exposition, which a delete does not send.
    pub fn delete(&self) -> Result<(), Error> {
        self.send("DELETE", None)
    }

    /// A guard that pushes when dropped, at the end of `main` or of the batch job; a failure is
    /// logged, as nothing can return it there. The push is bounded by the timeouts.
    ///
    /// ```no_run
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     track_metrics::Exporter::builder().without_listener().install()?;
    ///     let _push = track_metrics::Pushgateway::new("http://pushgateway:9091", "import")?
    ///         .push_on_drop(); // when main returns, early returns and `?` included
    ///     // ... the batch job's work ...
    ///     Ok(())
    /// }
    /// ```
    #[must_use = "the push happens when the guard is dropped"]
    pub fn push_on_drop(self) -> PushOnDrop {
        PushOnDrop(self)
    }

    fn failed(&self, method: &'static str, reason: impl Into<String>) -> Error {
        Error::Push {
            method,
            url: self.url(),
            reason: reason.into(),
        }
    }

    /// The exposition to push, or why there is none.
    fn exposition(&self, method: &'static str) -> Result<String, Error> {
        if !crate::state::installed() {
            return Err(self.failed(
                method,
                "nothing to push: track-metrics is not installed in this process, so the push \
                 would replace the group with nothing; call \
                 `track_metrics::Exporter::builder().without_listener().install()` first",
            ));
        }
        let body = crate::render();
        if body.is_empty() {
            return Err(self.failed(
                method,
                "nothing to push: the exposition is empty, and the push would replace the group \
                 with nothing",
            ));
        }
        Ok(body)
    }

    fn check_grouping(&self, method: &'static str) -> Result<(), Error> {
        let mut seen: Vec<&str> = Vec::new();
        for (label, _) in &self.grouping {
            let problem = if label == "job" {
                Some("`job` is the job name, given to `Pushgateway::new`")
            } else if seen.contains(&label.as_str()) {
                Some("it is given twice")
            } else {
                reserved_label_problem(label)
            };
            if let Some(problem) = problem {
                return Err(self.failed(
                    method,
                    format!("invalid grouping label `{label}`: {problem}"),
                ));
            }
            seen.push(label);
        }
        Ok(())
    }

    fn agent(&self) -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(self.connect_timeout))
            .timeout_global(Some(self.timeout))
            // The Pushgateway says why it refused in the body: read it.
            .http_status_as_error(false)
            // A redirect would resend a PUT or POST as a GET without its body: a push that
            // reports success and pushed nothing. It is reported instead.
            .max_redirects(0);
        #[cfg(feature = "push-tls")]
        let config = match &self.roots {
            Some(roots) => config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::clone(roots)))
                    .build(),
            ),
            None => config,
        };
        config.build().new_agent()
    }

    fn send(&self, method: &'static str, body: Option<String>) -> Result<(), Error> {
        self.check_grouping(method)?;
        let agent = self.agent();
        let url = self.url();
        let response = match (method, body) {
            ("PUT", Some(body)) => agent.put(&url).content_type(crate::CONTENT_TYPE).send(body),
            ("POST", Some(body)) => agent
                .post(&url)
                .content_type(crate::CONTENT_TYPE)
                .send(body),
            _ => agent.delete(&url).call(),
        };
        let mut response = match response {
            Ok(response) => response,
            Err(ureq::Error::Timeout(_)) => {
                return Err(self.failed(
                    method,
                    format!(
                        "no answer within the timeout ({:?} to connect, {:?} in all): set them \
                         with `Pushgateway::connect_timeout` and `Pushgateway::timeout`",
                        self.connect_timeout, self.timeout
                    ),
                ));
            }
            Err(error) => return Err(self.failed(method, error.to_string())),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let said = response
            .body_mut()
            .with_config()
            .limit(1024)
            .read_to_string()
            .unwrap_or_default();
        Err(self.failed(
            method,
            format!("the Pushgateway answered {status}: {}", said.trim()),
        ))
    }
}

/// Pushes its group when dropped. See [`Pushgateway::push_on_drop`].
#[derive(Debug)]
pub struct PushOnDrop(Pushgateway);

impl Drop for PushOnDrop {
    fn drop(&mut self) {
        if let Err(error) = self.0.push() {
            log::error!("{error}");
        }
    }
}

/// `/label/value` when the value is made of unreserved characters (RFC 3986) and is not a dot
/// segment; else `/label@base64/<base64url>`, which the Pushgateway decodes, for every other
/// value: empty, with `/`, spaces, `%`, `..`, or any Unicode.
fn path_segment(label: &str, value: &str) -> String {
    let plain = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~'));
    if plain {
        format!("/{label}/{value}")
    } else {
        let encoded = base64::engine::general_purpose::URL_SAFE.encode(value);
        // The Pushgateway reads `=` as the empty value.
        let encoded = if encoded.is_empty() {
            "=".to_owned()
        } else {
            encoded
        };
        format!("/{label}@base64/{encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_travel_plain_when_they_can_and_base64_otherwise() {
        assert_eq!(path_segment("instance", "db-1.a_b~"), "/instance/db-1.a_b~");
        assert_eq!(
            path_segment("instance", "db/1"),
            "/instance@base64/ZGIvMQ=="
        );
        assert_eq!(
            path_segment("instance", "db 1"),
            "/instance@base64/ZGIgMQ=="
        );
        assert_eq!(path_segment("instance", ""), "/instance@base64/=");
        assert_eq!(path_segment("instance", ".."), "/instance@base64/Li4=");
        assert_eq!(path_segment("job", "héllo"), "/job@base64/aMOpbGxv");
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        for url in [
            "ftp://x",
            "http://",
            "http://a b",
            "localhost:9091",
            "http://h?q=1",
        ] {
            assert!(Pushgateway::new(url, "job").is_err(), "{url}");
        }
        assert!(Pushgateway::new("http://h:9091", "").is_err());
        assert_eq!(
            Pushgateway::new("http://h:9091/prefix/", "nightly")
                .unwrap()
                .url(),
            "http://h:9091/prefix/metrics/job/nightly"
        );
    }
}
