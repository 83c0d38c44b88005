//! The endpoint's settings as the builder collects them, checked once into the policy every
//! request is answered by: path, authentication, client networks, and the bounds.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine as _;
use ipnet::IpNet;

use crate::error::Error;

/// The endpoint's settings, as the builder collects them.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) path: String,
    pub(crate) bearer_token: Option<String>,
    pub(crate) basic_auth: Option<(String, String)>,
    pub(crate) allowed_networks: Vec<String>,
    pub(crate) max_concurrent_scrapes: usize,
    /// `None`: sized from the process's file descriptor limit.
    pub(crate) max_connections: Option<usize>,
    pub(crate) header_timeout: Duration,
    pub(crate) connection_timeout: Duration,
    pub(crate) render_timeout: Duration,
    /// Bytes of response bodies held at once for clients that have not read them yet.
    pub(crate) max_response_bytes: usize,
    /// Where the live page is served, ending in `/`; `None` for no page.
    pub(crate) live_page: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            path: "/metrics".to_owned(),
            bearer_token: None,
            basic_auth: None,
            allowed_networks: Vec::new(),
            max_concurrent_scrapes: 4,
            max_connections: None,
            header_timeout: Duration::from_secs(10),
            connection_timeout: Duration::from_secs(60),
            render_timeout: crate::state::DEFAULT_RENDER_TIMEOUT,
            max_response_bytes: crate::offload::DEFAULT_RESPONSE_BYTES,
            live_page: Some("/".to_owned()),
        }
    }
}

/// The credentials a request must present.
pub(crate) struct Authorization {
    /// The scheme, `Bearer` or `Basic`, compared without regard to case (RFC 9110, 11.1).
    pub(crate) scheme: &'static str,
    /// The token, or the base64 of `user:password`.
    pub(crate) credentials: String,
    /// The `WWW-Authenticate` challenge of a 401.
    pub(crate) challenge: &'static str,
}

impl Authorization {
    /// Whether an `Authorization` header value presents these credentials: the scheme in any
    /// case, one or more spaces, then the credentials, compared in a time that depends on what
    /// was given only (not on where it differs, nor on the expected length).
    pub(crate) fn accepts(&self, given: &[u8]) -> bool {
        let Some(space) = given.iter().position(|byte| *byte == b' ') else {
            return false;
        };
        let (scheme, rest) = given.split_at(space);
        let credentials = rest.trim_ascii_start();
        scheme.eq_ignore_ascii_case(self.scheme.as_bytes())
            & constant_time_eq(credentials, self.credentials.as_bytes())
    }
}

/// Whether `given` equals `expected`, looking at every byte of `given` whatever it holds: the
/// time depends on `given`'s length only, so it tells neither where a guess goes wrong nor how
/// long the secret is.
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = u8::from(given.len() != expected.len());
    for (index, byte) in given.iter().enumerate() {
        let other = if expected.is_empty() {
            0
        } else {
            expected[index % expected.len()]
        };
        difference |= byte ^ other;
    }
    std::hint::black_box(difference) == 0
}

/// The settings, checked and ready for every request.
pub(crate) struct Policy {
    pub(crate) path: String,
    /// The credentials that are accepted, if any are asked for.
    pub(crate) authorization: Option<Authorization>,
    allowed: Vec<IpNet>,
    pub(crate) max_concurrent_scrapes: usize,
    pub(crate) max_connections: usize,
    pub(crate) header_timeout: Duration,
    pub(crate) connection_timeout: Duration,
    pub(crate) render_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) live_page: Option<String>,
}

impl Policy {
    pub(crate) fn new(settings: &Settings) -> Result<Self, Error> {
        let invalid = |message: String| Err(Error::setting("the endpoint", message));
        if !settings.path.starts_with('/') {
            return invalid(format!(
                "the endpoint path `{}` must start with `/`, such as `/metrics`",
                settings.path
            ));
        }
        // `install()` has checked the page's path itself (`crate::live::check_path`).
        if let Some(page) = &settings.live_page
            && [
                page.clone(),
                format!("{page}live.js"),
                format!("{page}live.css"),
            ]
            .contains(&settings.path)
        {
            return Err(Error::setting(
                "live_page",
                format!(
                    "the live page at `{page}` would take the endpoint's path `{}`: move one",
                    settings.path
                ),
            ));
        }
        if settings.max_concurrent_scrapes == 0 {
            return invalid("`max_concurrent_scrapes` must be at least 1".to_owned());
        }
        if settings.max_connections == Some(0) {
            return invalid("`max_connections` must be at least 1".to_owned());
        }
        if settings.max_response_bytes == 0 {
            return invalid("`max_response_bytes` must be at least 1".to_owned());
        }
        if settings.header_timeout.is_zero()
            || settings.connection_timeout.is_zero()
            || settings.render_timeout.is_zero()
        {
            return invalid("the endpoint's timeouts must be longer than zero".to_owned());
        }
        let authorization = match (&settings.bearer_token, &settings.basic_auth) {
            (Some(_), Some(_)) => {
                return invalid("choose a bearer token or basic auth, not both".to_owned());
            }
            (Some(token), None) if token.is_empty() => {
                return invalid("the bearer token cannot be empty".to_owned());
            }
            (Some(token), None) => Some(Authorization {
                scheme: "Bearer",
                credentials: token.clone(),
                challenge: "Bearer",
            }),
            (None, Some((user, _))) if user.contains(':') => {
                return invalid("a basic-auth user name cannot contain `:`".to_owned());
            }
            (None, Some((user, password))) => Some(Authorization {
                scheme: "Basic",
                credentials: base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{password}")),
                challenge: "Basic realm=\"metrics\"",
            }),
            (None, None) => None,
        };
        let allowed = settings
            .allowed_networks
            .iter()
            .map(|network| {
                network
                    .parse::<IpNet>()
                    .or_else(|_| network.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        Error::setting(
                            "allow_network",
                            format!(
                                "`{network}` is not a network: expected an address or a CIDR \
                                 block, such as `10.0.0.0/8` or `::1`"
                            ),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            path: settings.path.clone(),
            authorization,
            allowed,
            max_concurrent_scrapes: settings.max_concurrent_scrapes,
            max_connections: settings
                .max_connections
                .unwrap_or_else(default_max_connections),
            header_timeout: settings.header_timeout,
            connection_timeout: settings.connection_timeout,
            render_timeout: settings.render_timeout,
            max_response_bytes: settings.max_response_bytes,
            live_page: settings.live_page.clone(),
        })
    }

    /// Whether the client at `peer` may be answered. An IPv4 client is the same client in
    /// either form (`192.0.2.1` and `::ffff:192.0.2.1`, as a dual-stack listener sees it), and
    /// matches a network written in either form.
    pub(crate) fn allows(&self, peer: IpAddr) -> bool {
        let (v4, v6) = match peer {
            IpAddr::V4(v4) => (Some(v4), v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => (v6.to_ipv4_mapped(), v6),
        };
        self.allowed.is_empty()
            || self.allowed.iter().any(|network| {
                network.contains(&IpAddr::V6(v6))
                    || v4.is_some_and(|v4| network.contains(&IpAddr::V4(v4)))
            })
    }
}

/// Half the process's file descriptor limit (the rest is the application's), between 16 and
/// 4096; 512 where the limit is unknown.
pub(crate) fn default_max_connections() -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `getrlimit` writes the limit into the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            let soft = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
            return (soft / 2).clamp(16, 4096);
        }
    }
    512
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(settings: Settings) -> Policy {
        Policy::new(&settings).unwrap()
    }

    #[test]
    fn schemes_in_any_case_and_credentials_exactly() {
        let bearer = policy(Settings {
            bearer_token: Some("s3cret".to_owned()),
            ..Settings::default()
        })
        .authorization
        .unwrap();
        for given in [
            "Bearer s3cret",
            "bearer s3cret",
            "BEARER s3cret",
            "bEaReR   s3cret",
        ] {
            assert!(bearer.accepts(given.as_bytes()), "{given}");
        }
        for given in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Bearer S3cret",
            "Basic s3cret",
            "Bearers3cret",
            "Bearer",
            "",
            "Bearer s3crets3cret",
        ] {
            assert!(!bearer.accepts(given.as_bytes()), "{given}");
        }
        let basic = policy(Settings {
            basic_auth: Some(("u".to_owned(), "p".to_owned())),
            ..Settings::default()
        })
        .authorization
        .unwrap();
        assert!(basic.accepts(b"basic dTpw"));
        assert!(basic.accepts(b"BASIC dTpw"));
        assert!(!basic.accepts(b"Basic dTpX"));
    }

    #[test]
    fn ipv4_clients_match_networks_written_in_either_form() {
        let allowed = |network: &str, peer: &str| {
            policy(Settings {
                allowed_networks: vec![network.to_owned()],
                ..Settings::default()
            })
            .allows(peer.parse().unwrap())
        };
        for peer in ["127.0.0.1", "::ffff:127.0.0.1"] {
            for network in [
                "127.0.0.1",
                "127.0.0.0/8",
                "::ffff:127.0.0.1",
                "::ffff:0:0/96",
                "::/0",
            ] {
                assert!(allowed(network, peer), "{network} {peer}");
            }
            for network in ["10.0.0.0/8", "::ffff:10.0.0.0/104", "::1"] {
                assert!(!allowed(network, peer), "{network} {peer}");
            }
        }
        assert!(allowed("::1", "::1"));
        assert!(!allowed("127.0.0.1", "::1"));
    }
}
