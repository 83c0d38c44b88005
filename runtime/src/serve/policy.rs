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
            live_page: Some("/".to_owned()),
        }
    }
}

/// The settings, checked and ready for every request.
pub(crate) struct Policy {
    pub(crate) path: String,
    /// The whole `Authorization` header value that is accepted, and the challenge otherwise.
    pub(crate) authorization: Option<(String, &'static str)>,
    allowed: Vec<IpNet>,
    pub(crate) max_concurrent_scrapes: usize,
    pub(crate) max_connections: usize,
    pub(crate) header_timeout: Duration,
    pub(crate) connection_timeout: Duration,
    pub(crate) render_timeout: Duration,
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
        if let Some(page) = &settings.live_page {
            if [
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
        }
        if settings.max_concurrent_scrapes == 0 {
            return invalid("`max_concurrent_scrapes` must be at least 1".to_owned());
        }
        if settings.max_connections == Some(0) {
            return invalid("`max_connections` must be at least 1".to_owned());
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
            (Some(token), None) => Some((format!("Bearer {token}"), "Bearer")),
            (None, Some((user, _))) if user.contains(':') => {
                return invalid("a basic-auth user name cannot contain `:`".to_owned());
            }
            (None, Some((user, password))) => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Some((format!("Basic {encoded}"), "Basic realm=\"metrics\""))
            }
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
            live_page: settings.live_page.clone(),
        })
    }

    pub(crate) fn allows(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.allowed.is_empty() || self.allowed.iter().any(|network| network.contains(&peer))
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
