//! `ClientBuilder`: a client's settings, their defaults, and the checks `build` makes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::HeaderValue;

use crate::client::{Endpoint, Inner};
use crate::net::{check_base_url, parse_proxy, tls_config, without_userinfo};
use crate::redact::REDACTED;
use crate::request::RetryPolicy;
use crate::throttle::Throttle;
use crate::{Client, Error};
// Named only in docs.
#[cfg(doc)]
use crate::{ApiError, DEFAULT_BASE_URL};

const USER_AGENT: &str = concat!("magicbell-jwt/", env!("CARGO_PKG_VERSION"));
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
pub(crate) const DEFAULT_MAX_RETRIES: u32 = 2;
pub(crate) const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(500);
pub(crate) const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(8);
pub(crate) const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
pub(crate) const DEFAULT_MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(120);
// Idle connections kept for the one host a client talks to: at least the
// largest parallelism the docs recommend, so a batch reuses its connections.
const MAX_IDLE_CONNECTIONS: usize = 16;

/// Settings for a [`Client`]; made by [`Client::builder`].
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    pub(crate) token: String,
    pub(crate) settings: Settings,
}

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) base_url: String,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_response_bytes: u64,
    pub(crate) retry: RetryPolicy,
    pub(crate) user_agent_suffix: Option<String>,
    pub(crate) allow_insecure_http: bool,
    pub(crate) root_certificates: Option<PemBundle>,
    pub(crate) proxy: ProxySetting,
}

/// PEM bytes, shown in `Debug` by size only.
#[derive(Clone)]
pub(crate) struct PemBundle(pub(crate) Vec<u8>);

impl fmt::Debug for PemBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PemBundle({} bytes)", self.0.len())
    }
}

/// Which proxy requests go through.
#[derive(Clone)]
pub(crate) enum ProxySetting {
    /// `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`, as ureq reads them.
    FromEnv,
    /// None, whatever the environment says.
    Off,
    /// This proxy URL.
    Url(String),
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySetting::FromEnv => f.write_str("FromEnv"),
            ProxySetting::Off => f.write_str("Off"),
            // A proxy URL may carry a password.
            ProxySetting::Url(url) => write!(f, "Url({:?})", without_userinfo(url)),
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token", &REDACTED)
            .field("settings", &self.settings)
            .finish()
    }
}

impl ClientBuilder {
    /// The API's base URL; paths such as `/jwt/project` are appended to it.
    /// A trailing slash and a path prefix are both fine. Plain `http` is
    /// accepted only for a loopback host unless
    /// [`allow_insecure_http`](ClientBuilder::allow_insecure_http) is set.
    ///
    /// Defaults to [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.settings.base_url = url.into();
        self
    }

    /// The longest an attempt may wait, once connected, for the answer's
    /// head, and then for its whole body; any one write of the request is
    /// bounded by it too. A server that stalls ends the attempt with a
    /// timeout [`Error::Transport`] within this long.
    ///
    /// Defaults to 30 seconds.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The longest establishing a connection (TCP and TLS) may take.
    ///
    /// Defaults to 10 seconds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// The largest response body read; a larger one is
    /// [`Error::ResponseTooLarge`] rather than a growing allocation.
    ///
    /// Defaults to 4 MiB.
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.settings.max_response_bytes = bytes;
        self
    }

    /// How many times a failed request is sent again; 0 turns retries off.
    ///
    /// Lists and discards are retried on connection failures, timeouts, and
    /// the statuses 408, 429, 500, 502, 503 and 504. A create is retried only
    /// where the server surely did not process it
    /// ([`Error::may_have_been_processed`] is `false`): the connection, TLS
    /// handshake or name lookup failed, or the answer was 408 or 429. Never
    /// after a timeout once sent, a cut answer or a 5xx, since that could
    /// mint a second live token nobody holds. A 429 never counts: it is
    /// waited out within
    /// [`max_rate_limit_wait`](ClientBuilder::max_rate_limit_wait).
    ///
    /// Defaults to `2` (three attempts in all).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.settings.retry.max_retries = retries;
        self
    }

    /// The wait before the first retry; each further retry waits twice as
    /// long, up to [`max_retry_delay`](ClientBuilder::max_retry_delay), with
    /// random jitter taking up to half of each wait off.
    ///
    /// Defaults to 500 milliseconds.
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.settings.retry.base_delay = delay;
        self
    }

    /// The longest computed wait between retries.
    ///
    /// Defaults to 8 seconds.
    pub fn max_retry_delay(mut self, delay: Duration) -> Self {
        self.settings.retry.max_delay = delay;
        self
    }

    /// The longest `Retry-After` (seconds or an HTTP date) that is waited
    /// out. It replaces the computed wait; an answer asking for longer is
    /// returned at once, with [`ApiError::retry_after`] telling how long.
    ///
    /// A 429 or 503 whose `Retry-After` is waited out holds back every
    /// request through this client and its clones, on every thread, until
    /// the wait ends (unless [`max_retries`](ClientBuilder::max_retries) is
    /// 0: a client that never retries never waits either).
    ///
    /// Defaults to 60 seconds.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.settings.retry.max_retry_after = wait;
        self
    }

    /// The longest one call waits on the API's rate limit, over all its
    /// attempts. An answer `429 Too Many Requests` is throttling, not
    /// failure: it does not count against
    /// [`max_retries`](ClientBuilder::max_retries), and the call is sent
    /// again after the wait the server asks for: its `Retry-After`, else the
    /// reset in its rate-limit headers (`RateLimit-Reset`,
    /// `X-RateLimit-Reset` or the structured `RateLimit` field; seconds, or a
    /// Unix time when above 10^9), else, when it names none, a backoff
    /// doubling from [`retry_delay`](ClientBuilder::retry_delay) with the
    /// same jitter and cap as a failure's. So a call under a rate limit goes
    /// on until it is answered, or until this much time was spent held back;
    /// then it returns the 429. A `Retry-After` longer than
    /// [`max_retry_after`](ClientBuilder::max_retry_after) is not waited out
    /// (the 429 is returned at once), and a create is still never sent again
    /// once an attempt may have been processed.
    ///
    /// How the client holds back, for every clone and thread together: a
    /// 429's wait pauses them all until it ends. After the first 429 they
    /// pace their requests at the rate the server allowed in the window the
    /// 429 ended, so the requests a pause held back go out spread over the
    /// window, not at once; a later 429 slows the pace, never below the
    /// pace at which the server let the requests since the last pause
    /// through, and successes win it back. Where answers
    /// carry rate-limit headers (`RateLimit-Remaining` and `RateLimit-Reset`,
    /// their `X-RateLimit-` forms, or the structured `RateLimit` field),
    /// requests wait for the window's reset once its remaining requests are
    /// spoken for, before the server refuses them (a header's reset counts
    /// as at most [`max_retry_after`](ClientBuilder::max_retry_after)). A
    /// client with `max_retries(0)` takes no part in any of this.
    ///
    /// A request held back for the whole budget is sent anyway, and the
    /// server has the last word. With a budget of 0 no 429 is waited out:
    /// each is returned at once. However often a server asks for no wait,
    /// one call sends at most 100 times more after 429s.
    ///
    /// Defaults to 120 seconds.
    pub fn max_rate_limit_wait(mut self, wait: Duration) -> Self {
        self.settings.retry.max_rate_limit_wait = wait;
        self
    }

    /// Text added to the `User-Agent` after `magicbell-jwt/<version>`, such
    /// as your application's `name/version`.
    ///
    /// Defaults to none.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.settings.user_agent_suffix = Some(suffix.into());
        self
    }

    /// Allows a plain `http` base URL to a host that is not loopback, which
    /// sends the bearer token in clear text. Only for trusted networks.
    ///
    /// Defaults to `false`.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.settings.allow_insecure_http = allow;
        self
    }

    /// Trusts exactly the certificates in this PEM bundle, instead of the
    /// bundled Mozilla roots (or the platform's, with the `platform-verifier`
    /// feature): a corporate CA that a TLS-inspecting proxy re-signs with, or
    /// a system bundle such as `/etc/ssl/certs/ca-certificates.crt`.
    ///
    /// ```no_run
    /// let ca = std::fs::read("/etc/ssl/certs/corporate-ca.pem")?;
    /// let client = magicbell_jwt::Client::builder("my-project-token")
    ///     .root_certificates_pem(ca)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Defaults to none: the bundled Mozilla roots (`rustls`), the
    /// operating system's trust store (`platform-verifier`, `native-tls`).
    pub fn root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.settings.root_certificates = Some(PemBundle(pem.as_ref().to_vec()));
        self
    }

    /// Sends every request through this proxy, whatever the environment
    /// says: `http://host:port` (an HTTP `CONNECT` proxy) or `https://`,
    /// optionally with `user:password@` (sent to the proxy as
    /// `Proxy-Authorization`, never shown). The TLS session to the API runs
    /// inside the tunnel, so the proxy sees only the host name.
    ///
    /// Defaults to the environment: the first of `ALL_PROXY`, `HTTPS_PROXY`
    /// and `HTTP_PROXY` (or their lower-case forms) that is set, except for
    /// hosts listed in `NO_PROXY`.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.settings.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Connects directly, ignoring `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY`
    /// and `NO_PROXY`.
    ///
    /// Defaults to off: the environment's proxy is used when one is set.
    pub fn no_proxy(mut self) -> Self {
        self.settings.proxy = ProxySetting::Off;
        self
    }

    /// Checks the settings and builds the client. Sends nothing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the token is empty or holds whitespace or
    /// control characters; when the base URL is not an absolute `http` or
    /// `https` URL with a host (`api.magicbell.com/v2`, `ftp://host`,
    /// `https://host/v2?x=1` are refused); when it is plain `http` to a host
    /// that is not loopback without
    /// [`allow_insecure_http`](ClientBuilder::allow_insecure_http); when
    /// the user agent suffix holds control characters; when the
    /// [`root_certificates_pem`](ClientBuilder::root_certificates_pem) bundle
    /// holds no certificate or does not parse; or when the
    /// [`proxy`](ClientBuilder::proxy) URL does not parse (`http://proxy:port`,
    /// `ftp://proxy`).
    pub fn build(self) -> Result<Client, Error> {
        let Settings {
            base_url,
            timeout,
            connect_timeout,
            max_response_bytes,
            retry,
            user_agent_suffix,
            allow_insecure_http,
            root_certificates,
            proxy,
        } = self.settings;
        if self.token.is_empty() {
            return Err(Error::invalid("token is empty"));
        }
        if self
            .token
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::invalid(
                "token holds whitespace or control characters",
            ));
        }
        let (base_url, target) = check_base_url(&base_url, allow_insecure_http)?;
        let url_is_https = base_url.starts_with("https://");
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| Error::invalid("token holds characters not allowed in an HTTP header"))?;
        authorization.set_sensitive(true);
        let user_agent = match user_agent_suffix {
            Some(suffix) if suffix.chars().any(char::is_control) => {
                return Err(Error::invalid("user agent suffix holds control characters"));
            }
            Some(suffix) if !suffix.trim().is_empty() => format!("{USER_AGENT} {}", suffix.trim()),
            _ => USER_AGENT.to_owned(),
        };

        let proxy = match proxy {
            ProxySetting::FromEnv => ureq::Proxy::try_from_env(),
            ProxySetting::Off => None,
            ProxySetting::Url(url) => Some(parse_proxy(&url)?),
        };
        // What errors name: the API host, and the proxy when one is in the way.
        let endpoint = Arc::new(Endpoint {
            host: target.host().unwrap_or_default().to_owned(),
            address: format!(
                "{}:{}",
                target.host().unwrap_or_default(),
                target
                    .port_u16()
                    .unwrap_or(if url_is_https { 443 } else { 80 })
            ),
            proxy: proxy
                .as_ref()
                .filter(|p| !p.is_no_proxy(&target))
                .map(|p| without_userinfo(p.uri().to_string().trim_end_matches('/'))),
        });
        let tls = tls_config(root_certificates)?;

        let config = ureq::Agent::config_builder()
            // Non-2xx answers carry MagicBell's error JSON: read it, do not
            // let ureq turn it into a bare status.
            .http_status_as_error(false)
            // Following a redirect could carry the token elsewhere.
            .max_redirects(0)
            .user_agent(user_agent)
            .accept("application/json")
            // A client talks to one host: let every idle connection stay
            // pooled for it (ureq keeps 3 a host by default), so threads
            // sharing a client do not churn TLS handshakes.
            .max_idle_connections(MAX_IDLE_CONNECTIONS)
            .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
            // No timeout_global/per_call: they start a name-lookup thread per
            // request. A per-write bound is set on the socket once per
            // connection; phase bounds cost one setsockopt per request.
            .timeout_connect(Some(connect_timeout))
            .timeout_per_write(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_recv_body(Some(timeout))
            .proxy(proxy)
            .tls_config(tls)
            .build();

        Ok(Client {
            inner: Arc::new(Inner {
                agent: config.new_agent(),
                base_url,
                authorization,
                max_response_bytes,
                retry,
                endpoint,
                throttle: Throttle::new(),
            }),
        })
    }
}
