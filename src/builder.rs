//! Making a client: `Client::new`, `Client::from_env`, `Client::builder`, and `ClientBuilder`'s setters.

use std::fmt;
use std::time::Duration;

use crate::redact::REDACTED;
use crate::settings::{PemBundle, ProxySetting, Settings};
use crate::{Client, Error};

/// Settings for a [`Client`]; made by [`Client::builder`].
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    token: String,
    settings: Settings,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token", &REDACTED)
            .field("settings", &self.settings)
            .finish()
    }
}

impl Client {
    /// A client with every setting at its default: `Client::builder(token).build()`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when `token` is empty or holds whitespace or
    /// control characters.
    pub fn new(token: impl Into<String>) -> Result<Client, Error> {
        Self::builder(token).build()
    }

    /// A builder to set the base URL, timeouts and other settings.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let client = magicbell_jwt::Client::builder("my-project-token")
    ///     .base_url("http://127.0.0.1:8080/v2")
    ///     .timeout(Duration::from_secs(5))
    ///     .build()?;
    /// # Ok::<(), magicbell_jwt::Error>(())
    /// ```
    pub fn builder(token: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            token: token.into(),
            settings: Settings::default(),
        }
    }

    /// A client configured from the environment: `MAGICBELL_TOKEN` (required)
    /// and `MAGICBELL_BASE_URL` (optional; unset or blank, the
    /// [`base_url`](ClientBuilder::base_url) default holds).
    ///
    /// Whitespace around either value is ignored.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when `MAGICBELL_TOKEN` is unset or empty, or
    /// when either value is refused as by [`ClientBuilder::build`].
    pub fn from_env() -> Result<Client, Error> {
        let token = std::env::var("MAGICBELL_TOKEN").unwrap_or_default();
        if token.trim().is_empty() {
            return Err(Error::invalid("MAGICBELL_TOKEN is not set"));
        }
        let mut builder = Self::builder(token.trim());
        if let Ok(url) = std::env::var("MAGICBELL_BASE_URL") {
            if !url.trim().is_empty() {
                builder = builder.base_url(url.trim());
            }
        }
        builder.build()
    }
}

impl ClientBuilder {
    /// The API's base URL; paths such as `/jwt/project` are appended to it.
    /// A trailing slash and a path prefix are both fine. Plain `http` is
    /// accepted only for a loopback host unless
    /// [`allow_insecure_http`](ClientBuilder::allow_insecure_http) is set.
    ///
    /// Defaults to [`DEFAULT_BASE_URL`](crate::DEFAULT_BASE_URL).
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
    /// Which failures are sent again:
    ///
    /// - A list or a revoke: after a connection that failed or timed out, an
    ///   answer that timed out or was cut off, and the statuses 408, 429, 500,
    ///   502, 503 and 504. Not after a TLS failure (such as a certificate
    ///   that is not trusted) or a proxy that refused the tunnel: those fail
    ///   the same way again.
    /// - A create: only where the server surely did not process it, so that a
    ///   lost answer never mints a second live token nobody holds: the name
    ///   lookup or the connection failed or timed out, or the answer was 408
    ///   or 429. Never once any attempt may have been processed (a timeout
    ///   once sent, a cut answer, a 5xx: [`Error::may_have_been_processed`]).
    ///
    /// The waits between attempts grow from
    /// [`retry_delay`](ClientBuilder::retry_delay); a `Retry-After` replaces
    /// them, up to [`max_retry_after`](ClientBuilder::max_retry_after). A
    /// 429 never counts against this number, whatever it carries: it is
    /// waited out within [`max_rate_limit_wait`](ClientBuilder::max_rate_limit_wait).
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
    /// returned at once, with [`ApiError::retry_after`](crate::ApiError::retry_after) telling how long.
    /// A date is read on the server's clock: against the answer's `Date`
    /// header when it has one, so a client whose clock is off still waits
    /// what the server meant.
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
    /// Unix time when above 10^9, read on the server's clock as a
    /// `Retry-After` date is), else, when it names none, a backoff
    /// doubling from [`retry_delay`](ClientBuilder::retry_delay) with the
    /// same jitter and cap as a failure's. So a call under a rate limit goes
    /// on until it is answered, or until this much time was spent held back;
    /// then it returns the 429. A `Retry-After` longer than
    /// [`max_retry_after`](ClientBuilder::max_retry_after) is not waited out
    /// (the 429 is returned at once), and a create is still never sent again
    /// once an attempt may have been processed.
    ///
    /// The client holds back every clone and thread together: a
    /// `Retry-After` pauses them all until it ends, and after a 429 they pace
    /// themselves to the rate the server allows, so the requests a pause held
    /// back do not all go at once. Unless a slower pace was seen to get less
    /// through and meet 429s just the same (a server refusing a share of
    /// requests whatever the pace): then, until 8 more 429s have come, the
    /// `Retry-After`s alone pace them. Where answers carry rate-limit headers
    /// (`RateLimit-Remaining` and `RateLimit-Reset`, their `X-RateLimit-`
    /// forms, or the structured `RateLimit` field), requests wait for the
    /// window's reset once its remaining requests are spoken for, before the
    /// server refuses them (a header's reset counts as at most
    /// [`max_retry_after`](ClientBuilder::max_retry_after)).
    /// [`Client::rate_limit_stats`] tells what a client met. A client with
    /// `max_retries(0)` takes no part in any of this.
    ///
    /// A request held back for the whole budget is sent anyway, and the
    /// server has the last word. With a budget of 0 no 429 is waited out:
    /// each is returned at once. However often a server asks for no wait,
    /// one call sends at most 100 times more after 429s that asked for none;
    /// 429s that ask for a wait are bounded by the budget alone.
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
        Client::from_settings(self.token, self.settings)
    }
}
