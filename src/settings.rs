//! A client's settings as the builder collects them, each with its default.

use std::fmt;
use std::time::Duration;

use crate::redact::without_userinfo;

/// The MagicBell REST API v2, which [`Client::new`](crate::Client::new) talks to.
pub const DEFAULT_BASE_URL: &str = "https://api.magicbell.com/v2";
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
pub(crate) const DEFAULT_MAX_RETRIES: u32 = 2;
pub(crate) const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(500);
pub(crate) const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(8);
pub(crate) const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
pub(crate) const DEFAULT_MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(120);

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

impl Default for Settings {
    fn default() -> Self {
        Settings {
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryPolicy {
                max_retries: DEFAULT_MAX_RETRIES,
                base_delay: DEFAULT_RETRY_DELAY,
                max_delay: DEFAULT_MAX_RETRY_DELAY,
                max_retry_after: DEFAULT_MAX_RETRY_AFTER,
                max_rate_limit_wait: DEFAULT_MAX_RATE_LIMIT_WAIT,
            },
            user_agent_suffix: None,
            allow_insecure_http: false,
            root_certificates: None,
            proxy: ProxySetting::FromEnv,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) max_retry_after: Duration,
    pub(crate) max_rate_limit_wait: Duration,
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

/// The default policy, but a base delay of a second, for unit tests.
#[cfg(test)]
pub(crate) fn policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(8),
        max_retry_after: Duration::from_secs(60),
        max_rate_limit_wait: Duration::from_secs(120),
    }
}
