//! Pushgateway for batch jobs, which end before any scrape: push the exposition under a job name
//! and grouping labels, replacing the group (`PUT`) or adding to it (`POST`), or delete the
//! group (feature `push`).

use base64::Engine as _;

use crate::error::Error;

/// A group on a Pushgateway: a job name and optional grouping labels.
///
/// ```no_run
/// # fn main() -> Result<(), track_metrics::Error> {
/// track_metrics::Exporter::builder().without_listener().install()?;
/// let gateway = track_metrics::Pushgateway::new("http://127.0.0.1:9091", "nightly_import")?
///     .grouping("instance", "db-1");
/// // ... the batch job's work ...
/// gateway.push()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Pushgateway {
    group_url: String,
}

impl Pushgateway {
    /// The group `job` on the Pushgateway at `url` (`http://host:port`).
    ///
    /// # Errors
    ///
    /// A URL that is not `http://`, or an empty job name.
    pub fn new(url: &str, job: &str) -> Result<Self, Error> {
        let base = url.trim_end_matches('/');
        if !base.starts_with("http://") {
            return Err(Error::setting(
                "Pushgateway::new",
                format!(
                    "the Pushgateway URL `{url}` must start with `http://` (https is not supported yet)"
                ),
            ));
        }
        if job.is_empty() {
            return Err(Error::setting(
                "Pushgateway::new",
                "the Pushgateway job name cannot be empty",
            ));
        }
        Ok(Pushgateway {
            group_url: format!("{base}/metrics{}", path_segment("job", job)),
        })
    }

    /// Adds a grouping label, such as `instance`.
    #[must_use]
    pub fn grouping(mut self, label: &str, value: &str) -> Self {
        self.group_url.push_str(&path_segment(label, value));
        self
    }

    /// Replaces the group's metrics with the current exposition (`PUT`).
    ///
    /// # Errors
    ///
    /// The Pushgateway cannot be reached or refuses the push; the message says why.
    pub fn push(&self) -> Result<(), Error> {
        self.send("PUT", Some(crate::render()))
    }

    /// Adds the current exposition to the group, replacing only the families it contains
    /// (`POST`).
    ///
    /// # Errors
    ///
    /// As [`Pushgateway::push`].
    pub fn push_add(&self) -> Result<(), Error> {
        self.send("POST", Some(crate::render()))
    }

    /// Deletes the group (`DELETE`).
    ///
    /// # Errors
    ///
    /// As [`Pushgateway::push`].
    pub fn delete(&self) -> Result<(), Error> {
        self.send("DELETE", None)
    }

    /// A guard that pushes when dropped, at the end of `main` or of the batch job; a failure is
    /// logged, as nothing can return it there.
    #[must_use = "the push happens when the guard is dropped"]
    pub fn push_on_drop(self) -> PushOnDrop {
        PushOnDrop(self)
    }

    fn send(&self, method: &'static str, body: Option<String>) -> Result<(), Error> {
        let failed = |reason: String| Error::Push {
            method,
            url: self.group_url.clone(),
            reason,
        };
        let agent = ureq::Agent::new_with_defaults();
        let response = match (method, body) {
            ("PUT", Some(body)) => agent
                .put(&self.group_url)
                .content_type(crate::CONTENT_TYPE)
                .send(body),
            ("POST", Some(body)) => agent
                .post(&self.group_url)
                .content_type(crate::CONTENT_TYPE)
                .send(body),
            _ => agent.delete(&self.group_url).call(),
        };
        match response {
            Ok(_) => Ok(()),
            Err(ureq::Error::StatusCode(status)) => {
                Err(failed(format!("the Pushgateway answered {status}")))
            }
            Err(error) => Err(failed(error.to_string())),
        }
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

/// `/label/value`, or `/label@base64/...` where the value holds a `/` or is empty, as the
/// Pushgateway's URL scheme asks.
fn path_segment(label: &str, value: &str) -> String {
    if value.is_empty()
        || value.contains('/')
        || value.contains('%')
        || value.contains('?')
        || value.contains('#')
    {
        let encoded = base64::engine::general_purpose::URL_SAFE.encode(value);
        let encoded = if encoded.is_empty() {
            "=".to_owned()
        } else {
            encoded
        };
        format!("/{label}@base64/{encoded}")
    } else {
        format!("/{label}/{value}")
    }
}
