//! A blocking client for MagicBell's JWT service: list, create and revoke project and user tokens.
//!
//! ```no_run
//! use magicbell_jwt::{Client, CreateProjectTokenRequest, FetchProjectTokensParams};
//!
//! // Reads MAGICBELL_TOKEN (and MAGICBELL_BASE_URL when set).
//! let client = Client::from_env()?;
//!
//! // The new token's value is shown this once: store it now.
//! let created = client.create_project_jwt(&CreateProjectTokenRequest::new("deploy bot").expiry(3600))?;
//! println!("created {}", created.token_id);
//!
//! // Walk every project token; pages are fetched as the loop needs them.
//! for token in client.project_tokens(FetchProjectTokensParams::default().limit(50)) {
//!     let token = token?;
//!     println!("{:<40} {}", token.id.as_deref().unwrap_or("-"), token.created_at);
//! }
//!
//! client.discard_project_jwt(&created.token_id)?;
//! # Ok::<(), magicbell_jwt::Error>(())
//! ```
//!
//! # Rotating a token
//!
//! The job behind most uses: mint a new project token, store it, then revoke
//! every other live token of the same name. (The `tokens` example does this
//! as `tokens rotate NAME`.)
//!
//! ```no_run
//! use magicbell_jwt::{Client, CreateProjectTokenRequest, FetchProjectTokensParams};
//!
//! let client = Client::from_env()?;
//! let name = "deploy bot";
//! let new = client.create_project_jwt(&CreateProjectTokenRequest::new(name).expiry(30 * 86_400))?;
//! store_in_vault(&new.token); // revoke nothing before the new token is safe
//!
//! // Walk to the end before revoking anything.
//! let mut old = Vec::new();
//! for token in client.project_tokens(FetchProjectTokensParams::default().limit(100)) {
//!     let token = token?;
//!     let other = token.id.as_deref() != Some(new.token_id.as_str());
//!     if token.name.as_deref() == Some(name) && !token.is_discarded() && other {
//!         old.extend(token.id);
//!     }
//! }
//! for id in &old {
//!     client.discard_project_jwt(id)?;
//! }
//! # fn store_in_vault(_: &str) {}
//! # Ok::<(), magicbell_jwt::Error>(())
//! ```
//!
//! # Scope of this crate
//!
//! This crate speaks to the `JwtService` of MagicBell's REST API v2 and nothing
//! else: it lists, creates and revokes project-level and user-level JWTs, the
//! six calls of MagicBell's own SDKs. It is blocking on purpose, for sync
//! programs, build scripts and small ops tools: no async runtime, and no
//! dependencies beyond [`ureq`](https://docs.rs/ureq), `serde` and
//! `serde_json`. It does not sign or verify JWTs, and it does not cover the
//! rest of MagicBell's API.
//!
//! # Pagination
//!
//! [`Client::fetch_project_tokens`] returns one page. [`Client::project_tokens`]
//! (and [`Client::user_tokens`]) returns a [`Paginator`]: an iterator over
//! every token that fetches the next page only when the tokens before it are
//! used up. The next page's cursor comes
//! from the page just read (`links.next`, or the last token's `id`); the walk
//! ends on an empty page or when `links.next` is `null`. A server that hands
//! back a cursor it already gave ends the walk with
//! [`Error::RepeatedCursor`] instead of looping, and one that promises more
//! pages without a cursor ends it with [`Error::MissingCursor`] rather than
//! dropping them silently. Setting `ending_before` walks
//! backwards. [`Paginator::pages`] gives the same walk a page at a time.
//!
//! # Errors
//!
//! Every call returns [`Error`]. Match on it to tell apart an answer from the
//! server ([`Error::Api`], with the status and MagicBell's own error entries), a
//! request that got no answer ([`Error::Transport`]), an answer that did not
//! match the documented shape ([`Error::Decode`]) and an argument refused
//! before anything was sent ([`Error::InvalidInput`]).
//!
//! ```no_run
//! # let client = magicbell_jwt::Client::new("token")?;
//! match client.discard_project_jwt("3f1c") {
//!     Ok(discarded) => println!("revoked at {}", discarded.discarded_at),
//!     Err(magicbell_jwt::Error::Api(e)) if e.status() == 404 => println!("no such token"),
//!     Err(e) => return Err(e),
//! }
//! # Ok::<(), magicbell_jwt::Error>(())
//! ```
//!
//! # Reliability
//!
//! Lists and discards are retried on connection failures, timeouts, 408, 429
//! and 5xx gateway statuses; a create only when the server surely did not
//! process it (no connection, 408 or 429), so a lost answer never mints a
//! second token. After a failed create, [`Error::may_have_been_processed`]
//! says whether to list the tokens before trying again. Waits back off exponentially with jitter and honour `Retry-After`.
//! Redirects are not followed, bodies are bounded, and plain `http` is refused
//! for hosts that are not loopback. See [`ClientBuilder`] for each setting and
//! its default.
//!
//! # Secrets
//!
//! The bearer token and the value of a newly created token never appear in the
//! `Debug` or `Display` output of [`Client`], [`CreateTokenResponse`] or
//! [`Error`]; they print as `[redacted]`. (ureq's own `TRACE` log level shows
//! wire bytes unredacted: do not enable it where logs are kept.)

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
compile_error!("magicbell-jwt needs a TLS feature: `rustls` (the default) or `native-tls`");

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use ureq::http::{self, header, HeaderValue, Method};

#[cfg(feature = "fake")]
mod fake;
#[cfg(feature = "fake")]
pub use fake::{FakeFault, FakeRequest, FakeServer};

// --- Constants ---------------------------------------------------------------

/// The MagicBell REST API v2, which [`Client::new`] talks to.
pub const DEFAULT_BASE_URL: &str = "https://api.magicbell.com/v2";

const USER_AGENT: &str = concat!("magicbell-jwt/", env!("CARGO_PKG_VERSION"));
const MAX_TEXT_CHARS: usize = 255;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
const DEFAULT_MAX_RETRIES: u32 = 2;
const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(500);
const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(8);
const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
// Idle connections kept for the one host a client talks to: at least the
// largest parallelism the docs recommend, so a batch reuses its connections.
const MAX_IDLE_CONNECTIONS: usize = 16;

/// The most revokes [`Client::discard_project_jwts`] keeps in flight: more
/// threads would only open connections the pool cannot keep.
pub const MAX_PARALLELISM: usize = 64;
// An error answer is read only this far: enough for MagicBell's JSON, and a
// bounded excerpt of a proxy's HTML page.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;
const EXCERPT_CHARS: usize = 200;
const REDACTED: &str = "[redacted]";

// --- Client ------------------------------------------------------------------

/// A blocking client for MagicBell's JWT service.
///
/// Cheap to clone and safe to share between threads: clones share one
/// connection pool, and one `Retry-After`: when the server asks any of them
/// to wait (see [`ClientBuilder::max_retry_after`]), all of them do.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    base_url: String,
    authorization: HeaderValue,
    max_response_bytes: u64,
    retry: RetryPolicy,
    endpoint: Arc<Endpoint>,
    // When a `Retry-After` the client waits out ends, in milliseconds since
    // `started` (0: none): every clone holds back until then. An atomic, so
    // the path of a request that meets no pause takes no lock.
    paused_until: AtomicU64,
    started: Instant,
}

/// Where requests go, as errors name it.
#[derive(Debug)]
struct Endpoint {
    /// The API's host name.
    host: String,
    /// The host and port connected to, such as `api.magicbell.com:443`.
    address: String,
    /// The proxy requests go through, without credentials, if any.
    proxy: Option<String>,
}

#[derive(Debug, Clone)]
struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("token", &REDACTED)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for [`DEFAULT_BASE_URL`] with the default settings.
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
            settings: Settings {
                base_url: DEFAULT_BASE_URL.to_owned(),
                timeout: DEFAULT_TIMEOUT,
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                retry: RetryPolicy {
                    max_retries: DEFAULT_MAX_RETRIES,
                    base_delay: DEFAULT_RETRY_DELAY,
                    max_delay: DEFAULT_MAX_RETRY_DELAY,
                    max_retry_after: DEFAULT_MAX_RETRY_AFTER,
                },
                user_agent_suffix: None,
                allow_insecure_http: false,
                root_certificates: None,
                proxy: ProxySetting::FromEnv,
            },
        }
    }

    /// A client configured from the environment: `MAGICBELL_TOKEN` (required)
    /// and `MAGICBELL_BASE_URL` (optional, defaults to [`DEFAULT_BASE_URL`]).
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

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// One page of project tokens: `GET /jwt/project`.
    ///
    /// To walk every page, use [`Client::project_tokens`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a `limit` of 0 or an empty cursor, sent
    /// nowhere; otherwise what [`Error`] lists for a request.
    pub fn fetch_project_tokens(
        &self,
        params: &FetchProjectTokensParams,
    ) -> Result<AccessTokenCollection, Error> {
        self.fetch_tokens("/jwt/project", params)
    }

    /// Creates a project token: `POST /jwt/project`.
    ///
    /// The answer's [`token`](CreateTokenResponse::token) is the JWT itself,
    /// shown only this once: store it before doing anything else.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`], with nothing sent, for an empty `name`, a
    /// `name` over 255 characters, or an `expiry` of 0; otherwise what
    /// [`Error`] lists for a request. When the create failed,
    /// [`Error::may_have_been_processed`] tells whether the server may have
    /// minted a token anyway: if `true`, list the tokens (a new one of this
    /// name) before creating another; if `false`, nothing was created and
    /// trying again is safe.
    pub fn create_project_jwt(
        &self,
        request: &CreateProjectTokenRequest,
    ) -> Result<CreateTokenResponse, Error> {
        request.validate()?;
        self.send(Method::POST, "/jwt/project", Some(request), Effect::Creates)
    }

    /// Revokes a project token at once: `DELETE /jwt/project/{token_id}`.
    ///
    /// Revocation cannot be undone. `token_id` is sent as one path segment,
    /// whatever characters it holds.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an empty `token_id`, sent nowhere; an
    /// [`Error::Api`] with status 404 for a token the server does not know;
    /// otherwise what [`Error`] lists for a request.
    pub fn discard_project_jwt(&self, token_id: &str) -> Result<DiscardTokenResponse, Error> {
        let path = format!("/jwt/project/{}", path_segment("token_id", token_id)?);
        self.send(Method::DELETE, &path, None::<&()>, Effect::Repeatable)
    }

    /// Every project token, one page at a time as the iterator needs it.
    ///
    /// Nothing is sent until the first call to `next`. See [`Paginator`].
    ///
    /// ```no_run
    /// # let client = magicbell_jwt::Client::new("token")?;
    /// use magicbell_jwt::FetchProjectTokensParams;
    ///
    /// let live = client
    ///     .project_tokens(FetchProjectTokensParams::default().limit(100))
    ///     .filter(|t| t.as_ref().map_or(true, |t| t.discarded_at.is_none()))
    ///     .count();
    /// # Ok::<(), magicbell_jwt::Error>(())
    /// ```
    pub fn project_tokens(&self, params: FetchProjectTokensParams) -> Paginator {
        Paginator::new(self.clone(), Ok("/jwt/project".to_owned()), params)
    }

    /// Creates a token for one user: `POST /jwt/user`.
    ///
    /// The user is named by `email` or `external_id` (their id in your own
    /// database). The answer's [`token`](CreateTokenResponse::token) is shown
    /// only this once.
    ///
    /// ```no_run
    /// # let client = magicbell_jwt::Client::new("token")?;
    /// use magicbell_jwt::CreateUserTokenRequest;
    ///
    /// let created = client.create_user_jwt(
    ///     &CreateUserTokenRequest::for_external_id("user-8812").name("inbox").expiry(86_400),
    /// )?;
    /// # Ok::<(), magicbell_jwt::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`], with nothing sent, when neither `email` nor
    /// `external_id` is set, when a text field is empty or over 255
    /// characters, or for an `expiry` of 0; otherwise what [`Error`] lists
    /// for a request. Like a project create, it is retried only where the
    /// server surely did not process it; after a failure,
    /// [`Error::may_have_been_processed`] tells whether to list the user's
    /// tokens before creating another.
    pub fn create_user_jwt(
        &self,
        request: &CreateUserTokenRequest,
    ) -> Result<CreateTokenResponse, Error> {
        request.validate()?;
        self.send(Method::POST, "/jwt/user", Some(request), Effect::Creates)
    }

    /// Revokes a user token at once: `DELETE /jwt/user/{token_id}`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an empty `token_id`, sent nowhere; an
    /// [`Error::Api`] with status 404 for a token the server does not know;
    /// otherwise what [`Error`] lists for a request.
    pub fn discard_user_jwt(&self, token_id: &str) -> Result<DiscardTokenResponse, Error> {
        let path = format!("/jwt/user/{}", path_segment("token_id", token_id)?);
        self.send(Method::DELETE, &path, None::<&()>, Effect::Repeatable)
    }

    /// Revokes many project tokens, up to `parallelism` at a time: one
    /// [`discard_project_jwt`](Client::discard_project_jwt) per id, with all
    /// its policies (retries, backoff, timeouts), on scoped threads that
    /// share this client's connections.
    ///
    /// Returns one result per id, in the order of `token_ids`. An id refused
    /// before sending (empty, `.`, `..`) gets its [`Error::InvalidInput`] and
    /// sends nothing; a failure of one id does not stop the others.
    /// `parallelism` 0 counts as 1, and 1 revokes one at a time on the
    /// calling thread; more than [`MAX_PARALLELISM`] (64) counts as that.
    /// Up to 16 keeps every connection pooled between batches; more works,
    /// opening connections that are not kept. An id given twice is sent
    /// twice (the second may answer 404). If a revoke panics, no further id
    /// is sent and the panic is passed on.
    ///
    /// ```no_run
    /// # let client = magicbell_jwt::Client::new("token")?;
    /// let leaked = ["3f1c", "9a2e", "77b0"];
    /// for (id, result) in leaked.iter().zip(client.discard_project_jwts(&leaked, 8)) {
    ///     match result {
    ///         Ok(_) => println!("revoked {id}"),
    ///         Err(e) => eprintln!("{id}: {e}"),
    ///     }
    /// }
    /// # Ok::<(), magicbell_jwt::Error>(())
    /// ```
    pub fn discard_project_jwts<S: AsRef<str> + Sync>(
        &self,
        token_ids: &[S],
        parallelism: usize,
    ) -> Vec<Result<DiscardTokenResponse, Error>> {
        in_parallel(token_ids, parallelism, |id| self.discard_project_jwt(id))
    }

    /// Revokes many user tokens, up to `parallelism` at a time: one
    /// [`discard_user_jwt`](Client::discard_user_jwt) per id. Results and
    /// policies as for [`discard_project_jwts`](Client::discard_project_jwts).
    pub fn discard_user_jwts<S: AsRef<str> + Sync>(
        &self,
        token_ids: &[S],
        parallelism: usize,
    ) -> Vec<Result<DiscardTokenResponse, Error>> {
        in_parallel(token_ids, parallelism, |id| self.discard_user_jwt(id))
    }

    /// One page of a user's tokens: `GET /jwt/user/{user_id}`.
    ///
    /// To walk every page, use [`Client::user_tokens`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an empty `user_id`, a `limit` of 0 or an
    /// empty cursor, sent nowhere; otherwise what [`Error`] lists for a
    /// request.
    pub fn fetch_user_tokens(
        &self,
        user_id: &str,
        params: &FetchTokensParams,
    ) -> Result<AccessTokenCollection, Error> {
        self.fetch_tokens(&user_tokens_path(user_id)?, params)
    }

    /// Every token of one user, one page at a time as the iterator needs it.
    ///
    /// The same walk as [`Client::project_tokens`]; an empty `user_id` is the
    /// walk's one error, with nothing sent.
    pub fn user_tokens(&self, user_id: &str, params: FetchTokensParams) -> Paginator {
        Paginator::new(self.clone(), user_tokens_path(user_id), params)
    }

    fn fetch_tokens(
        &self,
        path: &str,
        params: &FetchTokensParams,
    ) -> Result<AccessTokenCollection, Error> {
        self.send(
            Method::GET,
            &params.append_query(path)?,
            None::<&()>,
            Effect::Repeatable,
        )
    }
}

/// Settings for a [`Client`]; made by [`Client::builder`].
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    token: String,
    settings: Settings,
}

#[derive(Debug, Clone)]
struct Settings {
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    max_response_bytes: u64,
    retry: RetryPolicy,
    user_agent_suffix: Option<String>,
    allow_insecure_http: bool,
    root_certificates: Option<PemBundle>,
    proxy: ProxySetting,
}

/// PEM bytes, shown in `Debug` by size only.
#[derive(Clone)]
struct PemBundle(Vec<u8>);

impl fmt::Debug for PemBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PemBundle({} bytes)", self.0.len())
    }
}

/// Which proxy requests go through.
#[derive(Clone)]
enum ProxySetting {
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
    /// mint a second live token nobody holds.
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
                paused_until: AtomicU64::new(0),
                started: Instant::now(),
            }),
        })
    }
}

// --- Paginator ---------------------------------------------------------------

/// An iterator over every token of a list, fetching pages lazily.
///
/// Made by [`Client::project_tokens`] and [`Client::user_tokens`]. Nothing is sent until the first call to
/// `next`; each further page is fetched only when the tokens before it are used
/// up, so a walk over any number of tokens holds one page in memory.
///
/// - Forwards (the default), the next cursor is the `starting_after` inside
///   `links.next`, or else the last token's `id`. With `ending_before` set and
///   `starting_after` unset, the walk goes backwards, using `links.prev` and
///   the first token's `id`; each page's tokens come in the server's order.
/// - The walk ends on an empty page, or when the page has `links` whose `next`
///   (backwards: `prev`) is `null` or missing. A page without `links` says
///   nothing, so the walk goes on.
/// - A page whose next cursor the walk has already used repeats a page
///   already walked: the walk ends with [`Error::RepeatedCursor`] instead of
///   yielding it, so no token is yielded twice. Any error is yielded once,
///   then the iterator ends.
///
/// A walk owns a clone of its [`Client`] (a reference count): it can be
/// returned from a function and moved to another thread.
///
/// ```no_run
/// use std::time::SystemTime;
/// use magicbell_jwt::{Client, FetchProjectTokensParams, Paginator};
///
/// fn project_tokens() -> Result<Paginator, magicbell_jwt::Error> {
///     let client = Client::from_env()?;
///     Ok(client.project_tokens(FetchProjectTokensParams::default().limit(100)))
/// }
///
/// let walk = project_tokens()?;
/// let expired = std::thread::spawn(move || {
///     let now = SystemTime::now();
///     let mut expired = 0;
///     for token in walk {
///         if token?.is_expired_at(now) {
///             expired += 1;
///         }
///     }
///     Ok::<_, magicbell_jwt::Error>(expired)
/// });
/// println!("{} expired tokens", expired.join().expect("the walk's thread")?);
/// # Ok::<(), magicbell_jwt::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "a Paginator sends nothing until it is iterated"]
pub struct Paginator {
    walk: Walk,
    items: std::vec::IntoIter<AccessToken>,
}

/// The same walk as [`Paginator`], a page at a time; made by
/// [`Paginator::pages`].
///
/// Yields each non-empty page as the server sent it.
///
/// ```no_run
/// # let client = magicbell_jwt::Client::new("token")?;
/// use magicbell_jwt::FetchTokensParams;
///
/// for page in client.user_tokens("user-8812", FetchTokensParams::default()).pages() {
///     let page = page?;
///     println!("{} tokens; more to come: {}", page.data.len(), page.has_more());
/// }
/// # Ok::<(), magicbell_jwt::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "Pages sends nothing until it is iterated"]
pub struct Pages {
    walk: Walk,
}

#[derive(Debug)]
struct Walk {
    // A clone: the walk owns its client, so it can be returned and moved
    // to another thread.
    client: Client,
    path: String,
    params: FetchTokensParams,
    backwards: bool,
    state: WalkState,
    // Hashes of every cursor sent, so a server cycling cursors cannot make
    // the walk loop; eight bytes a page.
    seen: HashSet<u64>,
}

#[derive(Debug)]
enum WalkState {
    Start,
    Next(String),
    Failed(Error),
    Done,
}

impl Paginator {
    /// A walk over the list at `path`; a refused path is the walk's one error.
    fn new(client: Client, path: Result<String, Error>, params: FetchTokensParams) -> Self {
        let backwards = params.ending_before.is_some() && params.starting_after.is_none();
        let (path, state) = match path {
            Ok(path) => (path, WalkState::Start),
            Err(e) => (String::new(), WalkState::Failed(e)),
        };
        Paginator {
            walk: Walk {
                client,
                path,
                params,
                backwards,
                state,
                seen: HashSet::new(),
            },
            items: Vec::new().into_iter(),
        }
    }

    /// The same walk a page at a time, from where this iterator stands
    /// (tokens of a page already started are not yielded again).
    pub fn pages(self) -> Pages {
        Pages { walk: self.walk }
    }
}

impl Iterator for Paginator {
    type Item = Result<AccessToken, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(token) = self.items.next() {
                return Some(Ok(token));
            }
            match self.walk.next_page()? {
                Ok(page) => self.items = page.data.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl std::iter::FusedIterator for Paginator {}

impl Iterator for Pages {
    type Item = Result<AccessTokenCollection, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.walk.next_page()
    }
}

impl std::iter::FusedIterator for Pages {}

impl Walk {
    /// The next non-empty page, or the walk's one error, or `None` at the end.
    fn next_page(&mut self) -> Option<Result<AccessTokenCollection, Error>> {
        let params = match std::mem::replace(&mut self.state, WalkState::Done) {
            WalkState::Done => return None,
            WalkState::Failed(e) => return Some(Err(e)),
            WalkState::Start => {
                if self.params.starting_after.is_some() && self.params.ending_before.is_some() {
                    return Some(Err(Error::invalid(
                        "starting_after and ending_before are both set; a walk goes one way",
                    )));
                }
                if let Some(cursor) = self.cursor_param() {
                    self.seen.insert(hash_cursor(cursor));
                }
                self.params.clone()
            }
            WalkState::Next(cursor) => {
                let mut params = self.params.clone();
                if self.backwards {
                    params.ending_before = Some(cursor);
                } else {
                    params.starting_after = Some(cursor);
                }
                params
            }
        };
        let page = match self.client.fetch_tokens(&self.path, &params) {
            Ok(page) => page,
            Err(e) => return Some(Err(e)),
        };
        if page.data.is_empty() {
            return None;
        }
        self.state = match self.next_cursor(&page) {
            Ok(None) => WalkState::Done,
            // A page pointing at a cursor already used repeats a page already
            // walked: end with the error rather than yield it again.
            Ok(Some(cursor)) if !self.seen.insert(hash_cursor(&cursor)) => {
                return Some(Err(Error::RepeatedCursor { cursor }));
            }
            Ok(Some(cursor)) => WalkState::Next(cursor),
            Err(e) => WalkState::Failed(e),
        };
        Some(Ok(page))
    }

    fn cursor_param(&self) -> Option<&str> {
        if self.backwards {
            self.params.ending_before.as_deref()
        } else {
            self.params.starting_after.as_deref()
        }
    }

    /// The cursor for the page after `page`, or `None` when the walk is over.
    fn next_cursor(&self, page: &AccessTokenCollection) -> Result<Option<String>, Error> {
        let (name, link, edge) = if self.backwards {
            let link = page.links.as_ref().map(|l| l.prev.as_deref());
            ("ending_before", link, page.data.first())
        } else {
            let link = page.links.as_ref().map(|l| l.next.as_deref());
            ("starting_after", link, page.data.last())
        };
        let from_link = match link {
            // Links without a next (prev) link: this was the last page.
            Some(None) => return Ok(None),
            Some(Some(url)) => query_value(url, name),
            // No links at all say nothing: go on from the edge token.
            None => None,
        };
        from_link
            .or_else(|| edge.and_then(|t| t.id.clone()))
            .filter(|c| !c.is_empty())
            .map(Some)
            .ok_or(Error::MissingCursor)
    }
}

/// `call` on every item, up to `parallelism` at once on scoped threads (at
/// most [`MAX_PARALLELISM`]), the results in the items' order. Each thread
/// takes the next item when it is free, so one slow item holds up no other.
/// A panic in `call` stops the others taking new items, then is passed on.
fn in_parallel<S, T, F>(items: &[S], parallelism: usize, call: F) -> Vec<T>
where
    S: AsRef<str> + Sync,
    T: Send,
    F: Fn(&str) -> T + Sync,
{
    let workers = parallelism.clamp(1, items.len().clamp(1, MAX_PARALLELISM));
    if workers == 1 {
        return items.iter().map(|item| call(item.as_ref())).collect();
    }
    let next = AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Set when a worker unwinds, so the others send nothing more.
    struct StopOnPanic<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.store(true, Ordering::Relaxed);
            }
        }
    }
    let work = || {
        let _guard = StopOnPanic(&stop);
        let mut done = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            done.push((i, call(item.as_ref())));
        }
        done
    };
    let mut done = std::thread::scope(|scope| {
        // A thread the system refuses is one worker fewer; the calling
        // thread works too, so the batch always makes progress.
        let threads: Vec<_> = (1..workers)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut done = work();
        for thread in threads {
            // A panic in `call` is the caller's, passed on as it was.
            done.extend(
                thread
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        done
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, result)| result).collect()
}

fn user_tokens_path(user_id: &str) -> Result<String, Error> {
    Ok(format!("/jwt/user/{}", path_segment("user_id", user_id)?))
}

fn hash_cursor(cursor: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    cursor.hash(&mut hasher);
    hasher.finish()
}

// --- Models ------------------------------------------------------------------

/// Query parameters of a token list: `limit`, `starting_after`, `ending_before`.
///
/// Unset fields are left out of the query.
///
/// ```
/// use magicbell_jwt::FetchProjectTokensParams;
///
/// let params = FetchProjectTokensParams::default().limit(50).starting_after("3f1c");
/// assert_eq!(params.limit, Some(50));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FetchTokensParams {
    /// How many tokens a page holds at most; at least 1.
    pub limit: Option<u32>,
    /// Start after the token with this id (walk forwards).
    pub starting_after: Option<String>,
    /// End before the token with this id (walk backwards).
    pub ending_before: Option<String>,
}

/// The parameters of [`Client::fetch_project_tokens`] and
/// [`Client::project_tokens`]; another name for [`FetchTokensParams`].
pub type FetchProjectTokensParams = FetchTokensParams;

impl FetchTokensParams {
    /// Sets `limit`, the page size. Defaults to the server's choice.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets `starting_after`, a token id. Defaults to unset.
    pub fn starting_after(mut self, token_id: impl Into<String>) -> Self {
        self.starting_after = Some(token_id.into());
        self
    }

    /// Sets `ending_before`, a token id. Defaults to unset.
    pub fn ending_before(mut self, token_id: impl Into<String>) -> Self {
        self.ending_before = Some(token_id.into());
        self
    }

    /// `path` with these parameters as its query.
    fn append_query(&self, path: &str) -> Result<String, Error> {
        if self.limit == Some(0) {
            return Err(Error::invalid("limit is 0; the API needs at least 1"));
        }
        let limit = self.limit.map(|n| n.to_string());
        with_query(
            path,
            &[
                ("limit", limit.as_deref()),
                ("starting_after", self.starting_after.as_deref()),
                ("ending_before", self.ending_before.as_deref()),
            ],
        )
    }
}

/// The body of [`Client::create_project_jwt`].
///
/// ```
/// use magicbell_jwt::CreateProjectTokenRequest;
///
/// let request = CreateProjectTokenRequest::new("deploy bot").expiry(3600);
/// assert_eq!(request.expiry, Some(3600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateProjectTokenRequest {
    /// The token's name; 1 to 255 characters.
    pub name: String,
    /// Seconds the token stays valid; at least 1. Unset lets the server choose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<u64>,
}

impl CreateProjectTokenRequest {
    /// A request for a token called `name`, with the server's default expiry.
    pub fn new(name: impl Into<String>) -> Self {
        CreateProjectTokenRequest {
            name: name.into(),
            expiry: None,
        }
    }

    /// Sets `expiry`, in seconds. Defaults to unset (the server's choice).
    pub fn expiry(mut self, seconds: u64) -> Self {
        self.expiry = Some(seconds);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if self.name.is_empty() {
            return Err(Error::invalid("name is empty; the API requires one"));
        }
        check_length("name", Some(&self.name))?;
        check_expiry(self.expiry)
    }
}

/// The body of [`Client::create_user_jwt`]: a token for one user, named by
/// `email` or `external_id`.
///
/// ```
/// use magicbell_jwt::CreateUserTokenRequest;
///
/// let request = CreateUserTokenRequest::for_email("ada@example.com").name("inbox");
/// assert_eq!(request.email.as_deref(), Some("ada@example.com"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateUserTokenRequest {
    /// The user's email; at most 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's id in your own database; at most 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The token's name; at most 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Seconds the token stays valid; at least 1. Unset lets the server choose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<u64>,
}

impl CreateUserTokenRequest {
    /// A request for the user with this email.
    pub fn for_email(email: impl Into<String>) -> Self {
        Self::default().email(email)
    }

    /// A request for the user with this id in your own database.
    pub fn for_external_id(external_id: impl Into<String>) -> Self {
        Self::default().external_id(external_id)
    }

    /// Sets `email`. Defaults to unset.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets `external_id`. Defaults to unset.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Sets `name`. Defaults to unset.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets `expiry`, in seconds. Defaults to unset (the server's choice).
    pub fn expiry(mut self, seconds: u64) -> Self {
        self.expiry = Some(seconds);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if self.email.is_none() && self.external_id.is_none() {
            return Err(Error::invalid(
                "a user token needs email or external_id to name its user; neither is set",
            ));
        }
        for (field, value) in [
            ("email", &self.email),
            ("external_id", &self.external_id),
            ("name", &self.name),
        ] {
            if value.as_deref() == Some("") {
                return Err(Error::invalid(format!("{field} is empty")));
            }
            check_length(field, value.as_deref())?;
        }
        check_expiry(self.expiry)
    }
}

/// A page of tokens, as `GET /jwt/project` and `GET /jwt/user/{user_id}`
/// answer.
///
/// ```no_run
/// # let client = magicbell_jwt::Client::new("token")?;
/// use magicbell_jwt::FetchProjectTokensParams;
///
/// let page = client.fetch_project_tokens(&FetchProjectTokensParams::default().limit(20))?;
/// for token in &page.data {
///     println!("{:?} {:?}", token.id, token.name);
/// }
/// if page.has_more() {
///     println!("more pages follow: walk them all with client.project_tokens(…)");
/// }
/// # Ok::<(), magicbell_jwt::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AccessTokenCollection {
    /// The tokens on this page; empty when the server sent none.
    pub data: Vec<AccessToken>,
    /// Links to neighbouring pages, when the server sent them.
    pub links: Option<Links>,
}

impl AccessTokenCollection {
    /// Whether the server says more pages follow: `links.next` is a URL, not
    /// `null` or missing.
    ///
    /// ```
    /// # let page: magicbell_jwt::AccessTokenCollection = serde_json::from_str(
    /// #     r#"{"data":[],"links":{"next":"https://api.magicbell.com/v2/jwt/project?starting_after=t9"}}"#,
    /// # )?;
    /// if page.has_more() {
    ///     println!("more tokens follow; walk them with client.project_tokens(…)");
    /// }
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn has_more(&self) -> bool {
        self.links.as_ref().is_some_and(|l| l.next.is_some())
    }
}

/// A token's metadata. Token values are never listed.
///
/// The timestamps are kept as the server sent them; the `*_time` methods
/// parse them (RFC 3339), and the `is_*` methods answer the usual questions.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use magicbell_jwt::AccessToken;
///
/// let token: AccessToken = serde_json::from_str(
///     r#"{"id":"t1","name":"ci","created_at":"2026-01-01T00:00:00Z",
///         "expires_at":"2026-02-01T00:00:00+00:00","discarded_at":null}"#,
/// )?;
/// let february = UNIX_EPOCH + Duration::from_secs(1_769_904_000); // 2026-02-01T00:00:00Z
///
/// assert_eq!(token.expires_at_time(), Some(february));
/// assert!(token.is_active_at(february - Duration::from_secs(1)));
/// assert!(token.is_expired_at(february));
/// assert!(!token.is_discarded());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessToken {
    /// When the token was created (RFC 3339).
    pub created_at: String,
    /// When the token was revoked (RFC 3339), if it was.
    #[serde(default)]
    pub discarded_at: Option<String>,
    /// When the token expires (RFC 3339), if it does.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The token's id, used to revoke it and as a page cursor.
    #[serde(default)]
    pub id: Option<String>,
    /// The token's name, if it has one.
    #[serde(default)]
    pub name: Option<String>,
}

impl AccessToken {
    /// `created_at` as a time; `None` when it does not parse as RFC 3339.
    pub fn created_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(&self.created_at)
    }

    /// `expires_at` as a time; `None` when the token does not expire or the
    /// value does not parse as RFC 3339.
    pub fn expires_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(self.expires_at.as_deref()?)
    }

    /// `discarded_at` as a time; `None` when the token was not revoked or
    /// the value does not parse as RFC 3339.
    pub fn discarded_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(self.discarded_at.as_deref()?)
    }

    /// Whether the token has expired at `now`: `now` is at or past
    /// `expires_at`. A token whose `expires_at` is missing or does not parse
    /// is not expired.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at_time().is_some_and(|expires| now >= expires)
    }

    /// Whether the token was revoked: `discarded_at` is set.
    pub fn is_discarded(&self) -> bool {
        self.discarded_at.is_some()
    }

    /// Whether the token still works at `now`: neither revoked nor expired.
    pub fn is_active_at(&self, now: SystemTime) -> bool {
        !self.is_discarded() && !self.is_expired_at(now)
    }
}

/// Links to neighbouring pages of a list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Links {
    /// The first page.
    pub first: Option<String>,
    /// The next page; `None` when this is the last one.
    pub next: Option<String>,
    /// The previous page; `None` when this is the first one.
    pub prev: Option<String>,
}

/// The answer to a create: the new token, shown only this once.
///
/// `Debug` prints the token as `[redacted]`; read the field to store it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateTokenResponse {
    /// The JWT itself. It cannot be retrieved again: store it now.
    pub token: String,
    /// The new token's id, used to revoke it.
    pub token_id: String,
    /// When the token was created (RFC 3339).
    pub created_at: String,
    /// When the token expires (RFC 3339), if it does.
    #[serde(default)]
    pub expires_at: Option<String>,
}

impl fmt::Debug for CreateTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateTokenResponse")
            .field("token", &REDACTED)
            .field("token_id", &self.token_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl CreateTokenResponse {
    /// `created_at` as a time; `None` when it does not parse as RFC 3339.
    pub fn created_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(&self.created_at)
    }

    /// `expires_at` as a time; `None` when the token does not expire or the
    /// value does not parse as RFC 3339.
    pub fn expires_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(self.expires_at.as_deref()?)
    }
}

/// The answer to a revoke.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DiscardTokenResponse {
    /// The revoked token's id.
    pub token_id: String,
    /// When it was revoked (RFC 3339).
    pub discarded_at: String,
}

impl DiscardTokenResponse {
    /// `discarded_at` as a time; `None` when it does not parse as RFC 3339.
    pub fn discarded_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(&self.discarded_at)
    }
}

// --- Error -------------------------------------------------------------------

/// Everything that can go wrong with a call.
///
/// `Display` is one line that includes the server's own message where there is
/// one; it never holds the bearer token or a created token's value. Where the
/// failure came from below (the network, TLS, a proxy), `source()` is the
/// underlying error.
///
/// ```no_run
/// use magicbell_jwt::Error;
/// # let client = magicbell_jwt::Client::new("token")?;
///
/// match client.discard_project_jwt("3f1c") {
///     Ok(discarded) => println!("revoked at {}", discarded.discarded_at),
///     Err(Error::Api(e)) if e.status() == 404 => println!("no such token"),
///     Err(e @ Error::Transport(_)) => eprintln!("network trouble: {e}"),
///     Err(Error::InvalidInput { reason, .. }) => eprintln!("not sent: {reason}"),
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), magicbell_jwt::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a status outside 200–299 (redirects included:
    /// they are never followed).
    Api(Box<ApiError>),
    /// The request got no usable answer: the connection could not be made,
    /// timed out or was cut, or what came back was not HTTP.
    Transport(Box<TransportError>),
    /// A 2xx answer whose body does not match the documented model.
    #[non_exhaustive]
    Decode {
        /// The answer's status.
        status: u16,
        /// What did not match, naming the field where serde could tell.
        message: String,
    },
    /// A 2xx answer whose body is larger than
    /// [`ClientBuilder::max_response_bytes`].
    #[non_exhaustive]
    ResponseTooLarge {
        /// The answer's status.
        status: u16,
        /// The bound, in bytes.
        limit: u64,
    },
    /// An argument refused before anything was sent.
    #[non_exhaustive]
    InvalidInput {
        /// What was wrong.
        reason: String,
    },
    /// A page said more tokens follow, but gave a [`Paginator`] no cursor to
    /// fetch them with: no `starting_after` (`ending_before`) in its link and
    /// no `id` on its edge token. The walk stops instead of dropping them
    /// silently.
    MissingCursor,
    /// A [`Paginator`] was handed a cursor it had already used; the walk
    /// stops instead of looping.
    #[non_exhaustive]
    RepeatedCursor {
        /// The repeated cursor.
        cursor: String,
    },
}

impl Error {
    /// The HTTP status of the answer behind this error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } | Error::ResponseTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How many times the request was sent, retries included, for errors
    /// that came from sending it.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Error::Api(e) => Some(e.attempts),
            Error::Transport(e) => Some(e.attempts),
            _ => None,
        }
    }

    /// Whether the server may have acted on the request, so that sending it
    /// again could act twice: after a failed create, `true` means a token may
    /// have been minted that nobody holds (list the tokens before creating
    /// another), `false` means it surely was not.
    ///
    /// - `true`: the request was written and then no usable answer came (a
    ///   timeout once sent, a cut connection, an answer that was not HTTP); a
    ///   5xx answer; a 3xx other than 307 and 308 (a 303 is the usual answer
    ///   to a POST that was processed); a 2xx answer that could not be used
    ///   (its body cut off, [`Error::Decode`], [`Error::ResponseTooLarge`],
    ///   and the walk errors [`Error::MissingCursor`] and
    ///   [`Error::RepeatedCursor`]).
    /// - `false`: refused before sending ([`Error::InvalidInput`]); never
    ///   sent (no connection, the name lookup failed, the TLS library refused
    ///   the handshake, the proxy refused the tunnel:
    ///   [`TransportError::is_connect`]); or answered with a 1xx, 307, 308 or
    ///   4xx status, 408 and 429 included.
    ///
    /// Where the error does not tell, the answer is `true`: a connection cut
    /// or reset during the TLS handshake looks the same as one cut after the
    /// request was written, so it counts as maybe processed (and a create is
    /// not sent again).
    ///
    /// ```no_run
    /// use magicbell_jwt::{CreateProjectTokenRequest, Error};
    /// # let client = magicbell_jwt::Client::new("token")?;
    ///
    /// match client.create_project_jwt(&CreateProjectTokenRequest::new("deploy bot")) {
    ///     Ok(created) => println!("store {}", created.token_id),
    ///     Err(e) if e.may_have_been_processed() => {
    ///         eprintln!("{e}: list the tokens named \"deploy bot\" before creating another");
    ///     }
    ///     Err(e) => eprintln!("{e}: nothing was created; safe to try again"),
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn may_have_been_processed(&self) -> bool {
        matches!(self.reach(), Reach::MaybeProcessed | Reach::Processed)
    }

    /// How far the failed request got.
    fn reach(&self) -> Reach {
        match self {
            Error::Api(e) if e.status >= 500 => Reach::MaybeProcessed,
            // 307 and 308 ask for the same request elsewhere: not acted on. A
            // 303 is the usual answer to a POST that was processed.
            Error::Api(e) if (300..400).contains(&e.status) && !matches!(e.status, 307 | 308) => {
                Reach::MaybeProcessed
            }
            Error::Api(_) => Reach::Declined,
            Error::Transport(e) => e.reach(),
            Error::InvalidInput { .. } => Reach::NotSent,
            Error::Decode { .. }
            | Error::ResponseTooLarge { .. }
            | Error::MissingCursor
            | Error::RepeatedCursor { .. } => Reach::Processed,
        }
    }

    /// The error a call returns: with its attempt count, and what the
    /// request would have done, for the message.
    fn finish(mut self, attempts: u32, effect: Effect) -> Error {
        match &mut self {
            Error::Api(e) => e.attempts = attempts,
            Error::Transport(e) => {
                e.attempts = attempts;
                e.creates = effect == Effect::Creates;
            }
            _ => {}
        }
        self
    }

    /// A few words for a log line: the status, or what failed.
    fn summary(&self) -> String {
        match self {
            Error::Api(e) => format!("status {}", e.status),
            Error::Transport(e) => e.what(),
            other => other.to_string(),
        }
    }

    fn invalid(reason: impl Into<String>) -> Error {
        Error::InvalidInput {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => e.fmt(f),
            Error::Transport(e) => e.fmt(f),
            Error::Decode { status, message } => {
                write!(f, "the {status} answer does not match the API's model: {message}")
            }
            Error::ResponseTooLarge { status, limit } => write!(
                f,
                "the {status} answer's body is larger than the {limit}-byte limit"
            ),
            Error::InvalidInput { reason } => write!(f, "invalid input: {reason}"),
            Error::MissingCursor => f.write_str(
                "the server's page says more tokens follow but gives no cursor to fetch them; the walk stopped",
            ),
            Error::RepeatedCursor { cursor } => write!(
                f,
                "the server repeated the page cursor {cursor:?}; the walk stopped instead of looping"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(&e.source),
            _ => None,
        }
    }
}

/// An answer from the server with a status outside 200–299.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: u16,
    errors: Vec<ApiErrorEntry>,
    body_excerpt: Option<String>,
    location: Option<String>,
    retry_after: Option<Duration>,
    request_id: Option<String>,
    attempts: u32,
}

/// One entry of the `errors` array of MagicBell's error answers. Every field
/// may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ApiErrorEntry {
    /// A machine-readable code, such as `unauthorized`.
    pub code: Option<String>,
    /// What went wrong, for people.
    pub message: Option<String>,
    /// What to do about it.
    pub suggestion: Option<String>,
    /// Where to read more.
    pub help_link: Option<String>,
}

impl ApiError {
    /// The HTTP status, such as 401 or 404.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Every entry of the answer's `errors` array; empty when the body was
    /// not MagicBell's error JSON.
    pub fn errors(&self) -> &[ApiErrorEntry] {
        &self.errors
    }

    /// The first entry's `code`, when there is one.
    pub fn code(&self) -> Option<&str> {
        self.errors.first()?.code.as_deref()
    }

    /// The first entry's `message`, when there is one.
    pub fn message(&self) -> Option<&str> {
        self.errors.first()?.message.as_deref()
    }

    /// The start of the raw body (at most 200 characters, white space
    /// folded) when it was not MagicBell's error JSON, such as a proxy's HTML
    /// page.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.body_excerpt.as_deref()
    }

    /// The `Location` of a redirect answer; redirects are not followed.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// How long the server asked to wait (`Retry-After`, in seconds or as an
    /// HTTP date), when it did. All three date forms RFC 9110 asks for are
    /// read: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
    /// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
    /// (`Sun Nov  6 08:49:37 1994`); a date already past is a zero wait, and a
    /// value that is none of these is ignored.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The server's id for the request (`X-Request-Id` or `Request-Id`),
    /// worth quoting to MagicBell's support.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// How many times the request was sent, retries included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The error an answer makes, with any echo of `secret` (the bearer
    /// token), and anything shaped like a JWT, blanked out of every value it
    /// keeps.
    fn from_answer(status: u16, headers: &http::HeaderMap, body: &[u8], secret: &str) -> ApiError {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            errors: Vec<ApiErrorEntry>,
        }
        // Fields are blanked after decoding, so an escaped echo
        // (`\u0073k_live…`) is caught as well as a literal one.
        let scrub_opt = |text: &mut Option<String>| {
            if let Some(text) = text {
                *text = scrub(text, secret);
            }
        };
        let errors = serde_json::from_slice::<Body>(body)
            .map(|b| b.errors)
            .unwrap_or_default()
            .into_iter()
            .map(|mut entry| {
                scrub_opt(&mut entry.code);
                scrub_opt(&mut entry.message);
                scrub_opt(&mut entry.suggestion);
                scrub_opt(&mut entry.help_link);
                entry
            })
            .collect::<Vec<_>>();
        let body_excerpt = if errors.is_empty() {
            excerpt(&scrub_body(body, secret))
        } else {
            None
        };
        let header = |name: &str| header_str(headers, name).map(|value| scrub(&value, secret));
        ApiError {
            status,
            errors,
            body_excerpt,
            location: header("location"),
            retry_after: header_str(headers, "retry-after")
                .and_then(|v| parse_retry_after(&v, SystemTime::now())),
            request_id: header("x-request-id").or_else(|| header("request-id")),
            attempts: 1,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server answered {}", self.status)?;
        if let Some(reason) = http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            write!(f, " {reason}")?;
        }
        if let Some(location) = &self.location {
            write!(f, " redirecting to {location}; redirects are not followed")?;
        }
        for (i, entry) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            let parts = [&entry.code, &entry.message];
            let mut parts = parts.iter().filter_map(|p| p.as_deref());
            if let Some(first) = parts.next() {
                f.write_str(first)?;
            }
            for part in parts {
                write!(f, ": {part}")?;
            }
            if let Some(suggestion) = &entry.suggestion {
                write!(f, " ({suggestion})")?;
            }
        }
        if let Some(body) = &self.body_excerpt {
            write!(f, ": {body}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        write_attempts(f, self.attempts)
    }
}

impl std::error::Error for ApiError {}

/// A request that got no usable answer.
#[derive(Debug)]
pub struct TransportError {
    source: ureq::Error,
    attempts: u32,
    endpoint: Arc<Endpoint>,
    // The request was a create: a failure after sending may have minted a
    // token, which the message says.
    creates: bool,
    // The 2xx status whose body could not be read: the server acted.
    answered: Option<u16>,
}

/// How far a failed request got: the one answer that retries,
/// [`TransportError::is_connect`], the messages and
/// [`Error::may_have_been_processed`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Nothing reached the server: refused before sending, or no connection
    /// (name lookup, TCP, the TLS handshake or the proxy's tunnel failed).
    NotSent,
    /// The server answered without acting on it: a 1xx, 307, 308 or 4xx status.
    Declined,
    /// Sent, and then no usable answer (a timeout, a cut connection, an
    /// answer that was not HTTP), or a 5xx status: it may have acted.
    MaybeProcessed,
    /// The server acted: a 2xx answer that could not be used.
    Processed,
}

/// What sending a request twice would do; each call site says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Reading or revoking: a second send leaves the same state.
    Repeatable,
    /// Creating: a second send after the first was processed mints a second
    /// live token that nobody holds.
    Creates,
}

/// A TLS failure: what went wrong, and whether the handshake is where it
/// happened (so no request was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TlsFailure {
    problem: TlsProblem,
    in_handshake: bool,
}

/// What went wrong in a TLS session, as far as the error tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsProblem {
    Untrusted,
    Expired,
    OtherName,
    Other,
}

impl TransportError {
    /// How many times the request was sent, retries included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether a timeout ended the request: connecting, or waiting for the
    /// answer.
    pub fn is_timeout(&self) -> bool {
        matches!(self.source, ureq::Error::Timeout(_))
            || matches!(&self.source, ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
    }

    /// Whether the request never reached the server: the name lookup, the
    /// connection, the TLS handshake or the proxy's tunnel failed. When
    /// `true`, [`Error::may_have_been_processed`] is `false`.
    pub fn is_connect(&self) -> bool {
        self.reach() == Reach::NotSent
    }

    /// How far the request got, from ureq's error variant, the I/O error's
    /// kind and, for TLS, the TLS library's own error.
    fn reach(&self) -> Reach {
        use std::io::ErrorKind as K;
        if self.answered.is_some() {
            return Reach::Processed;
        }
        match &self.source {
            // Raised while resolving, connecting or setting up TLS, before
            // any byte of the request is written.
            ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::ConnectProxyFailed(_)
            | ureq::Error::Tls(_)
            | ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::RequireHttpsOnly(_)
            | ureq::Error::TlsRequired => Reach::NotSent,
            #[cfg(feature = "rustls")]
            ureq::Error::Rustls(_) => Reach::NotSent,
            // ureq reports native-tls errors by this variant only from the
            // handshake; later failures come as I/O.
            #[cfg(feature = "native-tls")]
            ureq::Error::NativeTls(_) | ureq::Error::Der(_) => Reach::NotSent,
            ureq::Error::Io(e) => match e.kind() {
                K::ConnectionRefused
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::AddrNotAvailable => Reach::NotSent,
                _ if is_name_lookup(e) => Reach::NotSent,
                _ if self.tls_failure().is_some_and(|t| t.in_handshake) => Reach::NotSent,
                _ => Reach::MaybeProcessed,
            },
            _ => Reach::MaybeProcessed,
        }
    }

    /// Whether the same request may fare better sent again: the connection
    /// failed, not a check that would fail the same way (a certificate, a
    /// proxy refusing the tunnel, a setting).
    fn is_transient(&self) -> bool {
        matches!(
            self.source,
            ureq::Error::Io(_)
                | ureq::Error::Timeout(_)
                | ureq::Error::HostNotFound
                | ureq::Error::ConnectionFailed
        ) && self.tls_failure().is_none()
    }

    /// Whether the connection closed under the request before any answer:
    /// what a server does when its keep-alive timeout fires as a request
    /// arrives on a pooled connection.
    fn is_closed_connection(&self) -> bool {
        use std::io::ErrorKind as K;
        matches!(&self.source, ureq::Error::Io(io) if matches!(
            io.kind(),
            K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
        ))
    }

    /// The TLS failure behind this error, if it is one.
    fn tls_failure(&self) -> Option<TlsFailure> {
        let handshake = |problem| {
            Some(TlsFailure {
                problem,
                in_handshake: true,
            })
        };
        match &self.source {
            ureq::Error::Tls(_) => handshake(TlsProblem::Other),
            #[cfg(feature = "rustls")]
            ureq::Error::Rustls(e) => Some(rustls_failure(e)),
            // rustls reports the handshake, and the session after it, through
            // the stream's I/O errors.
            #[cfg(feature = "rustls")]
            ureq::Error::Io(e) => e
                .get_ref()?
                .downcast_ref::<rustls::Error>()
                .map(rustls_failure),
            // native-tls's error is opaque: its text (OpenSSL's, SChannel's or
            // Security.framework's message) is all there is to read the
            // problem from. That it is a handshake failure, the variant says.
            #[cfg(feature = "native-tls")]
            ureq::Error::NativeTls(e) => handshake(tls_problem_from_text(&format!("{e:?} {e}"))),
            _ => None,
        }
    }

    /// The TLS library's message, where it gives one.
    fn tls_detail(&self) -> Option<String> {
        match &self.source {
            ureq::Error::Tls(what) => Some((*what).to_owned()),
            #[cfg(feature = "rustls")]
            ureq::Error::Rustls(e) => Some(e.to_string()),
            #[cfg(feature = "rustls")]
            ureq::Error::Io(e) => e
                .get_ref()?
                .downcast_ref::<rustls::Error>()
                .map(ToString::to_string),
            #[cfg(feature = "native-tls")]
            ureq::Error::NativeTls(e) => Some(e.to_string()),
            _ => None,
        }
    }

    /// What failed, naming the host or proxy; no secret is ever part of it.
    fn what(&self) -> String {
        use std::io::ErrorKind as K;
        let host = &self.endpoint.host;
        let proxy = self.endpoint.proxy.as_deref();
        if let Some(TlsFailure {
            problem,
            in_handshake,
        }) = self.tls_failure()
        {
            let why = match problem {
                TlsProblem::Untrusted => "the server's certificate is not trusted: its issuer is not among the trusted roots (behind a TLS-inspecting proxy, trust its CA with root_certificates_pem)".to_owned(),
                TlsProblem::Expired => "the server's certificate has expired".to_owned(),
                TlsProblem::OtherName => format!("the server's certificate is for another name than {host}"),
                TlsProblem::Other if in_handshake => "the TLS handshake failed".to_owned(),
                TlsProblem::Other => "the TLS session failed during or after the handshake".to_owned(),
            };
            // The TLS library's own reason, when it is not one named above.
            if let (TlsProblem::Other, Some(detail)) = (problem, self.tls_detail()) {
                return format!("TLS with {host} failed: {why} ({detail})");
            }
            return format!("TLS with {host} failed: {why}");
        }
        if matches!(&self.source, ureq::Error::HostNotFound)
            || matches!(&self.source, ureq::Error::Io(e) if is_name_lookup(e))
        {
            // Through a proxy, the client looks up only the proxy's name.
            return match proxy {
                Some(proxy) => format!("the proxy {proxy}: its host name could not be resolved"),
                None => format!("the host name {host} could not be resolved"),
            };
        }
        match (&self.source, proxy) {
            (ureq::Error::Timeout(ureq::Timeout::Resolve), _) => {
                format!("looking up the host name {host} timed out")
            }
            (ureq::Error::Timeout(ureq::Timeout::Connect), Some(proxy)) => {
                format!("connecting to {host} through the proxy {proxy} timed out")
            }
            (ureq::Error::Timeout(ureq::Timeout::Connect), None) => {
                format!("connecting to {host} timed out")
            }
            (ureq::Error::Timeout(_), _) => "the server did not answer in time".to_owned(),
            (ureq::Error::ConnectProxyFailed(why), proxy) => format!(
                "the proxy {} did not open a tunnel to {host}: {why}",
                proxy.unwrap_or("in use")
            ),
            (ureq::Error::ConnectionFailed, Some(proxy)) => {
                format!("could not connect to the proxy {proxy}")
            }
            (ureq::Error::ConnectionFailed, None) => {
                format!("could not connect to {}", self.endpoint.address)
            }
            (ureq::Error::Protocol(_), _) => "the answer was not valid HTTP".to_owned(),
            (ureq::Error::Io(e), proxy) => match (e.kind(), proxy) {
                (K::ConnectionRefused, Some(proxy)) => {
                    format!("could not connect to the proxy {proxy}: connection refused")
                }
                (K::ConnectionRefused, None) => format!(
                    "could not connect to {}: connection refused",
                    self.endpoint.address
                ),
                (
                    K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof,
                    _,
                ) => "the connection closed before a whole answer arrived".to_owned(),
                (K::TimedOut | K::WouldBlock, _) => "the server did not answer in time".to_owned(),
                (K::HostUnreachable | K::NetworkUnreachable, Some(proxy)) => {
                    format!("could not reach the proxy {proxy}: no route to it")
                }
                (K::HostUnreachable | K::NetworkUnreachable, None) => {
                    format!("could not reach {}: no route to it", self.endpoint.address)
                }
                _ => format!("the connection to {host} failed"),
            },
            _ => "the request failed".to_owned(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no usable answer from the server: {}", self.what())?;
        if let (true, Some(status)) = (self.creates, self.answered) {
            write!(
                f,
                "; the server answered {status}, so the token was created, but its value did not arrive (list the tokens to find it and revoke it)"
            )?;
        } else if self.creates && self.reach() == Reach::MaybeProcessed {
            f.write_str(
                "; the server may or may not have processed the create, so it was not sent again (list the tokens to check)",
            )?;
        }
        write_attempts(f, self.attempts)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

// Shared across threads by design; fail the build if that ever changes.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Client>();
    assert_send_sync::<Error>();
    assert_send_sync::<Paginator>();
    assert_send_sync::<Pages>();
};

// --- Plumbing ----------------------------------------------------------------

impl Client {
    /// Sends one request and maps its answer: a 2xx body decoded as `T`, any
    /// other answer or failure an [`Error`].
    fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&impl Serialize>,
        effect: Effect,
    ) -> Result<T, Error> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::invalid(format!("the request body could not be encoded: {e}")))?;
        let mut url = String::with_capacity(self.inner.base_url.len() + path_and_query.len());
        url.push_str(&self.inner.base_url);
        url.push_str(path_and_query);
        let mut attempts = 1;
        let mut reconnected = false;
        loop {
            self.wait_out_pause(&method, path_and_query);
            let error = match self.exchange(method.clone(), &url, body.as_deref()) {
                Ok((status, bytes)) => return decode(status, &bytes),
                Err(e) => e,
            };
            self.pause_if_asked(&error);
            let Some(mut wait) = self.inner.retry.wait_before_retry(&error, effect, attempts)
            else {
                if matches!(error, Error::Api(_) | Error::Transport(_)) {
                    log::debug!(
                        "{method} {path_and_query}: {} on attempt {attempts}; giving up",
                        error.summary()
                    );
                }
                return Err(error.finish(attempts, effect));
            };
            // A kept-alive connection the server closed as this request
            // arrived: the request never reached it, and a fresh connection
            // will do. Once a call, at once; then the usual backoff.
            if !reconnected && matches!(&error, Error::Transport(e) if e.is_closed_connection()) {
                reconnected = true;
                wait = Duration::ZERO;
            }
            log::debug!(
                "{method} {path_and_query}: {} on attempt {attempts}; retrying in {wait:?}",
                error.summary()
            );
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            attempts += 1;
        }
    }

    /// Holds back while a `Retry-After` that any clone met is running.
    fn wait_out_pause(&self, method: &Method, path_and_query: &str) {
        // Read again after each sleep: another thread's 429 may have moved
        // the end further out meanwhile.
        loop {
            let until = self.inner.paused_until.load(Ordering::Relaxed);
            if until == 0 {
                return;
            }
            // Rounded up, like `until`: the call that met the Retry-After and
            // slept it out does not wait again for a fraction of a millisecond.
            let now = millis(self.inner.started.elapsed()).saturating_add(1);
            if until <= now {
                // Over: back to the path that reads one atomic and no clock.
                let _ = self.inner.paused_until.compare_exchange(
                    until,
                    0,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                return;
            }
            let wait = Duration::from_millis(until - now);
            log::debug!(
                "{method} {path_and_query}: waiting {wait:?} for a Retry-After this client met"
            );
            std::thread::sleep(wait);
        }
    }

    /// Remembers a `Retry-After` of a 429 or 503 that the client waits out
    /// (it retries, and the wait is at most `max_retry_after`), so every
    /// request through it holds back until it ends.
    fn pause_if_asked(&self, error: &Error) {
        let Error::Api(e) = error else { return };
        let Some(wait) = e.retry_after.filter(|w| !w.is_zero()) else {
            return;
        };
        let retry = &self.inner.retry;
        if matches!(e.status, 429 | 503) && retry.max_retries > 0 && wait <= retry.max_retry_after {
            let now = self.inner.started.elapsed();
            // Rounded up, and so never 0, which means "no pause".
            let until = millis(now.saturating_add(wait)).saturating_add(1);
            self.inner.paused_until.fetch_max(until, Ordering::Relaxed);
        }
    }

    /// One HTTP exchange: the status and body of a 2xx answer, or an error.
    fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), Error> {
        let request = http::Request::builder()
            .method(method)
            .uri(url)
            .header(header::AUTHORIZATION, self.inner.authorization.clone());
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
                .map(|r| self.inner.agent.run(r)),
            None => request.body(()).map(|r| self.inner.agent.run(r)),
        };
        let mut response = request
            .map_err(|e| Error::invalid(format!("the request could not be built: {e}")))?
            .map_err(|e| self.transport(e))?;

        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let mut bytes = Vec::new();
            // Only the status matters once the answer is an error: a cut or
            // oversized body still leaves what was read for the excerpt.
            let _ = response
                .body_mut()
                .as_reader()
                .take(ERROR_BODY_LIMIT)
                .read_to_end(&mut bytes);
            return Err(Error::Api(Box::new(ApiError::from_answer(
                status,
                response.headers(),
                &bytes,
                self.bearer_token(),
            ))));
        }

        let limit = self.inner.max_response_bytes;
        let body = response.body_mut();
        if body.content_length().is_some_and(|n| n > limit) {
            return Err(Error::ResponseTooLarge { status, limit });
        }
        let mut bytes = Vec::with_capacity(body.content_length().unwrap_or(0).min(limit) as usize);
        body.with_config()
            .limit(limit)
            .reader()
            .read_to_end(&mut bytes)
            .map_err(|e| match ureq::Error::from(e) {
                ureq::Error::BodyExceedsLimit(limit) => Error::ResponseTooLarge { status, limit },
                other => {
                    let mut error = self.transport(other);
                    if let Error::Transport(e) = &mut error {
                        e.answered = Some(status);
                    }
                    error
                }
            })?;
        Ok((status, bytes))
    }

    fn transport(&self, source: ureq::Error) -> Error {
        Error::Transport(Box::new(TransportError {
            source,
            attempts: 1,
            endpoint: self.inner.endpoint.clone(),
            creates: false,
            answered: None,
        }))
    }

    /// The bearer token, to blank out of anything an answer brings back.
    fn bearer_token(&self) -> &str {
        let header = self.inner.authorization.to_str().unwrap_or_default();
        header.strip_prefix("Bearer ").unwrap_or(header)
    }
}

impl RetryPolicy {
    /// How long to wait before sending again after `error` on attempt
    /// `attempts`, or `None` when the error is final.
    fn wait_before_retry(&self, error: &Error, effect: Effect, attempts: u32) -> Option<Duration> {
        if attempts > self.max_retries {
            return None;
        }
        let asked = match error {
            Error::Api(e) if matches!(e.status, 408 | 429 | 500 | 502 | 503 | 504) => e.retry_after,
            Error::Transport(e) if e.is_transient() => None,
            _ => return None,
        };
        // Sending a create again after the server may have processed it
        // could mint a second live token that nobody holds.
        if effect == Effect::Creates && error.may_have_been_processed() {
            return None;
        }
        match asked {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(attempts)),
        }
    }

    /// Exponential from `base_delay`, capped, minus up to half at random so
    /// that clients failing together do not retry together.
    fn backoff(&self, attempts: u32) -> Duration {
        let full = self
            .base_delay
            .saturating_mul(1 << (attempts - 1).min(20))
            .min(self.max_delay);
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        full / 2 + (full / 2).mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// A `Retry-After` value as the wait from `now`: whole seconds, or an HTTP
/// date in any of the three forms RFC 9110 (section 5.6.7) asks recipients to
/// accept, always GMT: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the
/// obsolete RFC 850 form (`Sunday, 06-Nov-94 08:49:37 GMT`, its two-digit
/// year taken as the latest past year that is no more than 50 years ahead)
/// and asctime (`Sun Nov  6 08:49:37 1994`). A date in the past is no wait.
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    let fields = value.split_whitespace().collect::<Vec<_>>();
    let (day, month, year, time) = match fields[..] {
        // IMF-fixdate; its weekday is not checked, as no date needs it.
        [_, day, month, year, time, "GMT"] if year.len() == 4 => {
            (day, month, year.to_owned(), time)
        }
        // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
        [_, date, time, "GMT"] => {
            let [day, month, yy] = *date.split('-').collect::<Vec<_>>() else {
                return None;
            };
            if yy.len() != 2 {
                return None;
            }
            let this_year = 1970 + now.div_euclid(31_556_952);
            let mut year = this_year - this_year % 100 + yy.parse::<i64>().ok()?;
            if year > this_year + 50 {
                year -= 100;
            }
            (day, month, year.to_string(), time)
        }
        // asctime: "Sun Nov  6 08:49:37 1994".
        [_, month, day, time, year] if year.len() == 4 => (day, month, year.to_owned(), time),
        _ => return None,
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month)? as i64
        + 1;
    let mut hms = time.split(':').map(|n| n.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() {
        return None;
    }
    let (y, d) = (year.parse::<i64>().ok()?, day.parse::<i64>().ok()?);
    // Out-of-range fields are a bad header, not a reason to overflow.
    let in_range = (0..=9999).contains(&y)
        && (1..=31).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&m)
        && (0..=60).contains(&s);
    if !in_range {
        return None;
    }
    let then = days_from_civil(y, month, d) * 86_400 + h * 3600 + m * 60 + s;
    Some(Duration::from_secs(then.saturating_sub(now).max(0) as u64))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days_from_civil); `month` is 1 to 12.
fn days_from_civil(y: i64, month: i64, d: i64) -> i64 {
    let yy = if month <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 timestamp as MagicBell sends it (`2026-01-01T00:00:00Z`,
/// fractional seconds, a numeric offset such as `+02:00`), or `None`.
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let number = |from: usize, len: usize| -> Option<i64> {
        let digits = text.get(from..from + len)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let separators_ok = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !separators_ok {
        return None;
    }
    let (y, month, d) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (h, m, s) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let in_range = (1..=12).contains(&month)
        && d >= 1
        && d <= month_days[(month - 1) as usize]
        && h < 24
        && m < 60
        && s <= 60;
    if !in_range {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        // Nanoseconds: the first nine digits, padded; finer ones are dropped.
        for i in 0..9 {
            let digit = fraction.as_bytes().get(i).filter(|_| i < digits);
            nanos = nanos * 10 + digit.map_or(0, |c| u32::from(c - b'0'));
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (number(text.len() - 5, 2)?, number(text.len() - 2, 2)?);
            if oh >= 24 || om >= 60 {
                return None;
            }
            let offset = oh * 3600 + om * 60;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, month, d) * 86_400 + h * 3600 + m * 60 + s - offset;
    let since_epoch = Duration::new(secs.unsigned_abs(), 0);
    let whole = if secs >= 0 {
        UNIX_EPOCH.checked_add(since_epoch)?
    } else {
        UNIX_EPOCH.checked_sub(since_epoch)?
    };
    whole.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// The TLS settings: the feature's provider, with the caller's roots if given.
fn tls_config(roots: Option<PemBundle>) -> Result<ureq::tls::TlsConfig, Error> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig, TlsProvider};
    let provider = if cfg!(feature = "native-tls") {
        TlsProvider::NativeTls
    } else {
        TlsProvider::Rustls
    };
    let root_certs = match roots {
        Some(PemBundle(pem)) => {
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(PemItem::Certificate(cert)) => certs.push(cert),
                    // A key or other section in a bundle is no root; skip it.
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Error::invalid(format!(
                            "the root certificate bundle does not parse: {e}"
                        )))
                    }
                }
            }
            if certs.is_empty() {
                return Err(Error::invalid(
                    "the root certificate bundle holds no certificate (no -----BEGIN CERTIFICATE----- section)",
                ));
            }
            RootCerts::from(certs)
        }
        // The system's trust store: the platform verifier, or what native-tls loads.
        #[cfg(any(feature = "platform-verifier", feature = "native-tls"))]
        None => RootCerts::PlatformVerifier,
        // Mozilla's roots, bundled.
        #[cfg(not(any(feature = "platform-verifier", feature = "native-tls")))]
        None => RootCerts::WebPki,
    };
    Ok(TlsConfig::builder()
        .provider(provider)
        .root_certs(root_certs)
        .build())
}

/// A proxy URL as ureq takes it, with a port that is a number if given.
fn parse_proxy(url: &str) -> Result<ureq::Proxy, Error> {
    let bad = || {
        Error::invalid(format!(
            "proxy URL {:?} does not parse; expected such as http://proxy.example:3128",
            without_userinfo(url)
        ))
    };
    let proxy = ureq::Proxy::new(url).map_err(|_| bad())?;
    let authority = proxy.uri().authority().ok_or_else(bad)?;
    // The port, if any, is after the last ':' that follows any
    // `user:password@` (whose ':' is no port's).
    let host_port = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, host_port)| host_port);
    let port_ok = match host_port.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') && !host.ends_with(':') => {
            port.parse::<u16>().is_ok()
        }
        _ => true,
    };
    if proxy.host().is_empty() || !port_ok {
        return Err(bad());
    }
    Ok(proxy)
}

/// `url` without any `user:password@`, for showing.
fn without_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if scheme.is_empty() => rest[at + 1..].to_owned(),
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Whether an I/O error is a failed host name lookup. std gives it no kind of
/// its own (it is the unstable `Uncategorized`) and no OS error code on Unix;
/// its fixed English prefix, std's own and not the OS's, is the only mark.
fn is_name_lookup(e: &std::io::Error) -> bool {
    // On Windows it is a Winsock code: WSAHOST_NOT_FOUND to WSANO_DATA.
    if cfg!(windows) {
        return matches!(e.raw_os_error(), Some(11001..=11004));
    }
    e.raw_os_error().is_none() && e.to_string().starts_with("failed to lookup address")
}

/// What a rustls error says, and whether only a handshake raises it: the
/// server's certificate is checked, and versions and ciphers agreed, there
/// alone. Anything else may have come after the request was written
/// (rustls raises `InappropriateHandshakeMessage` on a live session too, and a
/// `handshake_failure` alert can answer a post-handshake message), so it
/// counts as maybe processed.
#[cfg(feature = "rustls")]
fn rustls_failure(e: &rustls::Error) -> TlsFailure {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    let problem = match e {
        E::InvalidCertificate(C::UnknownIssuer) => TlsProblem::Untrusted,
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => TlsProblem::Expired,
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            TlsProblem::OtherName
        }
        _ => TlsProblem::Other,
    };
    let in_handshake = matches!(
        e,
        E::InvalidCertificate(_)
            | E::NoCertificatesPresented
            | E::UnsupportedNameType
            | E::PeerIncompatible(_)
            | E::NoApplicationProtocol
            | E::AlertReceived(
                A::ProtocolVersion
                    | A::InsufficientSecurity
                    | A::UnrecognisedName
                    | A::NoApplicationProtocol
                    | A::InappropriateFallback
            )
    );
    TlsFailure {
        problem,
        in_handshake,
    }
}

/// The problem a TLS library's message names, for native-tls, whose error
/// has no typed reason.
#[cfg(feature = "native-tls")]
fn tls_problem_from_text(text: &str) -> TlsProblem {
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&[
        "local issuer",
        "self signed",
        "self-signed",
        "not trusted",
        "UnknownIssuer",
    ]) {
        TlsProblem::Untrusted
    } else if has(&["expired", "Expired"]) {
        TlsProblem::Expired
    } else if has(&["hostname mismatch", "not valid for name", "NotValidForName"]) {
        TlsProblem::OtherName
    } else {
        TlsProblem::Other
    }
}

/// Whole milliseconds, saturating rather than wrapping.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn write_attempts(f: &mut fmt::Formatter<'_>, attempts: u32) -> fmt::Result {
    if attempts > 1 {
        write!(f, " (after {attempts} attempts)")?;
    }
    Ok(())
}

fn decode<T: DeserializeOwned>(status: u16, bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Decode {
            status,
            message: "the body is empty".to_owned(),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        status,
        message: redact_json_error(&e),
    })
}

/// serde's message without any string value it quotes: the body of a create
/// answer holds a new token, which must not reach an error message.
fn redact_json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    // From the first `string "` to the last `", expected` after it.
    let Some(start) = message.find("string \"") else {
        return message;
    };
    let Some(length) = message[start..].rfind("\", expected") else {
        return message;
    };
    format!(
        "{}string [redacted]{}",
        &message[..start],
        &message[start + length + 1..]
    )
}

/// `text` with `secret` (the bearer token) and anything shaped like a JWT
/// replaced by `[redacted]`.
fn scrub(text: &str, secret: &str) -> String {
    if !secret.is_empty() && text.contains(secret) {
        redact_jwts(&text.replace(secret, REDACTED))
    } else {
        redact_jwts(text)
    }
}

/// An error body as text for its excerpt, scrubbed. A JSON body is decoded
/// and scrubbed value by value, so escapes cannot hide a secret.
fn scrub_body(body: &[u8], secret: &str) -> String {
    fn scrub_value(value: &mut serde_json::Value, secret: &str) {
        match value {
            serde_json::Value::String(text) => *text = scrub(text, secret),
            serde_json::Value::Array(items) => {
                items.iter_mut().for_each(|v| scrub_value(v, secret));
            }
            serde_json::Value::Object(map) => {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(key, mut v)| {
                        scrub_value(&mut v, secret);
                        (scrub(&key, secret), v)
                    })
                    .collect();
            }
            _ => {}
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            scrub_value(&mut value, secret);
            value.to_string()
        }
        Err(_) => scrub(&String::from_utf8_lossy(body), secret),
    }
}

/// `text` with every JWT-shaped run (three base64url parts joined by dots,
/// the first starting `eyJ`, as every JSON header does) replaced by
/// `[redacted]`: a freshly minted token in an error body must not reach a
/// terminal or a log.
fn redact_jwts(text: &str) -> String {
    let bytes = text.as_bytes();
    let base64url_run = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_')
            .count()
    };
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = text[from..].find("eyJ") {
        let start = from + found;
        let mut end = start;
        let mut parts = 0;
        while parts < 3 {
            let run = base64url_run(end);
            // The signature may be empty (an unsigned token); the others not.
            if run == 0 && parts < 2 {
                break;
            }
            end += run;
            parts += 1;
            if parts < 3 {
                if bytes.get(end) != Some(&b'.') {
                    break;
                }
                end += 1;
            }
        }
        if parts == 3 {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
            from = end;
        } else {
            from = start + 3;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn header_str(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The start of `text` with white space folded, or `None` for a blank body.
fn excerpt(text: &str) -> Option<String> {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(EXCERPT_CHARS) {
        _ if folded.is_empty() => None,
        Some((end, _)) => Some(format!("{}…", &folded[..end])),
        None => Some(folded),
    }
}

/// Checks a base URL and returns it without a trailing slash, and parsed.
fn check_base_url(url: &str, allow_insecure_http: bool) -> Result<(String, http::Uri), Error> {
    let bad = |why: &str| Error::invalid(format!("base URL {url:?} {why}"));
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("is not an absolute http or https URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    if authority.contains('@') {
        return Err(bad("holds credentials; the token is sent as a header"));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("has a query or fragment"));
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("holds white space"));
    }
    let uri = http::Uri::try_from(url).map_err(|e| bad(&format!("does not parse: {e}")))?;
    if url.starts_with("http://") && !allow_insecure_http && !is_loopback(uri.host()) {
        return Err(bad(
            "would send the token in clear text to a host that is not loopback; use https, or a loopback host such as 127.0.0.1",
        ));
    }
    Ok((url.trim_end_matches('/').to_owned(), uri))
}

fn is_loopback(host: Option<&str>) -> bool {
    let host = host.unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn check_length(field: &str, value: Option<&str>) -> Result<(), Error> {
    let chars = value.map_or(0, |v| v.chars().count());
    if chars > MAX_TEXT_CHARS {
        return Err(Error::invalid(format!(
            "{field} is {chars} characters; the API allows at most {MAX_TEXT_CHARS}"
        )));
    }
    Ok(())
}

fn check_expiry(expiry: Option<u64>) -> Result<(), Error> {
    if expiry == Some(0) {
        return Err(Error::invalid(
            "expiry is 0 seconds; the API needs at least 1",
        ));
    }
    Ok(())
}

/// `value` percent-encoded as one path segment; `name` says what it is when it
/// is refused.
fn path_segment(name: &str, value: &str) -> Result<String, Error> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{name} is empty")));
    }
    // Servers resolve these as "this" and "parent" segments, even encoded:
    // the request would name another resource than the caller's.
    if value == "." || value == ".." {
        return Err(Error::invalid(format!(
            "{name} {value:?} cannot be sent: in a URL path it means {}, so the request would reach another resource",
            if value == "." { "\"this folder\"" } else { "\"the parent folder\"" }
        )));
    }
    Ok(percent_encode(value))
}

/// `path?a=1&b=2` from the pairs that are set, or `path` alone.
fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> Result<String, Error> {
    let mut query = String::with_capacity(path.len() + 64);
    query.push_str(path);
    for (name, value) in pairs {
        let Some(value) = value else { continue };
        if value.is_empty() {
            return Err(Error::invalid(format!("{name} is empty")));
        }
        query.push(if query.len() == path.len() { '?' } else { '&' });
        query.push_str(name);
        query.push('=');
        percent_encode_into(value, &mut query);
    }
    Ok(query)
}

/// Every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `value` with every byte but the unreserved characters percent-encoded.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    percent_encode_into(value, &mut out);
    out
}

fn percent_encode_into(value: &str, out: &mut String) {
    out.extend(percent_encoding::utf8_percent_encode(value, NOT_UNRESERVED));
}

/// The decoded value of query parameter `name` in `url`, if it is there and
/// is UTF-8. A `+` stays a `+`: this is a URL's query, not a form.
fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))?;
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(Into::into)
}

// The README's examples compile as doc tests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// --- Unit tests of private helpers -------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error as IoError, ErrorKind};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn transport(source: ureq::Error) -> TransportError {
        TransportError {
            source,
            attempts: 1,
            endpoint: Arc::new(Endpoint {
                host: "api.example".to_owned(),
                address: "api.example:443".to_owned(),
                proxy: None,
            }),
            creates: false,
            answered: None,
        }
    }

    fn api(status: u16, retry_after: Option<u64>) -> Error {
        let mut error = ApiError::from_answer(status, &http::HeaderMap::new(), b"", "secret");
        error.retry_after = retry_after.map(Duration::from_secs);
        Error::Api(Box::new(error))
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }

    // --- RFC 3339 ---

    #[test]
    fn rfc3339_accepts_the_forms_the_api_sends() {
        let cases = [
            ("1970-01-01T00:00:00Z", Some(at(0))),
            ("2026-01-01T00:00:00Z", Some(at(1_767_225_600))),
            ("2026-01-01t00:00:00z", Some(at(1_767_225_600))),
            ("2026-01-01 00:00:00Z", Some(at(1_767_225_600))),
            ("2026-01-01T02:30:00+02:30", Some(at(1_767_225_600))),
            ("2025-12-31T23:00:00-01:00", Some(at(1_767_225_600))),
            ("2024-02-29T12:00:00Z", Some(at(1_709_208_000))),
            ("2000-02-29T00:00:00Z", Some(at(951_782_400))),
            (
                "2026-01-01T00:00:00.5Z",
                Some(at(1_767_225_600) + Duration::from_millis(500)),
            ),
            (
                "2026-01-01T00:00:00.123456789123Z",
                Some(at(1_767_225_600) + Duration::from_nanos(123_456_789)),
            ),
            (
                "1969-12-31T23:59:59Z",
                UNIX_EPOCH.checked_sub(Duration::from_secs(1)),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rfc3339(text), want, "{text}");
        }
    }

    #[test]
    fn rfc3339_refuses_out_of_range_and_malformed_fields() {
        for text in [
            "2025-02-29T00:00:00Z", // not a leap year
            "1900-02-29T00:00:00Z", // century, not a leap year
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:61Z",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+02:60",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+0200",
            "2026-01-01T00:00:00ZZ",
            "2026/01/01T00:00:00Z",
            "+026-01-01T00:00:00Z",
            "2026-01-01",
            "",
            "2026-01-01T00:00:0éZ",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn days_from_civil_counts_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1970, 3, 1), 59);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(
            days_from_civil(2024, 12, 31) - days_from_civil(2024, 1, 1),
            365
        );
    }

    // --- Retry-After ---

    #[test]
    fn retry_after_reads_seconds_and_the_three_http_date_forms() {
        // 1994-11-06T08:49:27Z: ten seconds before the examples' date.
        let now = at(784_111_767);
        let ten = Some(Duration::from_secs(10));
        let cases = [
            ("120", Some(Duration::from_secs(120))),
            (" 0 ", Some(Duration::ZERO)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", ten),
            ("Sunday, 06-Nov-94 08:49:37 GMT", ten),
            ("Sun Nov  6 08:49:37 1994", ten),
            // A date already past is no wait, not an error.
            ("Sat, 05 Nov 1994 08:49:37 GMT", Some(Duration::ZERO)),
        ];
        for (value, want) in cases {
            assert_eq!(parse_retry_after(value, now), want, "{value:?}");
        }
    }

    #[test]
    fn retry_after_takes_a_two_digit_year_as_at_most_50_years_ahead() {
        // Now is 2026-01-01: "76" is 2076 (50 years ahead), "77" is 1977.
        let now = at(1_767_225_600);
        let in_2076 = parse_retry_after("Friday, 01-Jan-76 00:00:00 GMT", now);
        assert_eq!(
            in_2076,
            Some(Duration::from_secs(
                (days_from_civil(2076, 1, 1) - days_from_civil(2026, 1, 1)) as u64 * 86_400
            ))
        );
        assert_eq!(
            parse_retry_after("Saturday, 01-Jan-77 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_ignores_what_is_neither_seconds_nor_a_date() {
        let now = at(784_111_767);
        for value in [
            "",
            "-1",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sunday, 06-Nov 08:49:37 GMT",
            "Sun Nov  6 08:49:37 94",
            "Sun, 06 Nov 99999 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }

    // --- Redaction ---

    #[test]
    fn redact_jwts_blanks_every_jwt_shaped_run() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_x";
        let cases = [
            (jwt.to_owned(), "[redacted]".to_owned()),
            (
                format!("token {jwt} leaked"),
                "token [redacted] leaked".to_owned(),
            ),
            (format!("\"{jwt}\""), "\"[redacted]\"".to_owned()),
            (format!("{jwt},{jwt}"), "[redacted],[redacted]".to_owned()),
            // An unsigned token: the third part may be empty.
            (
                "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.".to_owned(),
                "[redacted]".to_owned(),
            ),
            // At the end of a value, and right after other text.
            (format!("x={jwt}"), "x=[redacted]".to_owned()),
            (format!("abc{jwt}"), "abc[redacted]".to_owned()),
        ];
        for (text, want) in cases {
            assert_eq!(redact_jwts(&text), want, "{text}");
        }
    }

    #[test]
    fn a_dot_after_a_jwt_is_not_part_of_it() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
        assert_eq!(
            redact_jwts(&format!("The token is {jwt}. Keep it.")),
            "The token is [redacted]. Keep it."
        );
        assert_eq!(
            redact_jwts(&format!("{jwt}.{jwt}")),
            "[redacted].[redacted]"
        );
    }

    #[test]
    fn redact_jwts_leaves_ordinary_text_and_base64_alone() {
        for text in [
            "",
            "eyJ",
            "eyJ.",
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJhbGciOiJIUzI1NiJ9.",
            "eyJhbGciOiJIUzI1NiJ9..sig",
            "aGVsbG8.d29ybGQ.c2ln",
            "v1.2.3",
            "the eyJ prefix. and more",
            "dGhpcyBpcyBiYXNlNjQ=",
        ] {
            assert_eq!(redact_jwts(text), text, "{text}");
        }
    }

    #[test]
    fn scrub_body_finds_a_token_inside_escapes_arrays_and_keys() {
        let secret = "sk-live-123";
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig";
        // `\u0073` is `s`: the escaped echo decodes to the secret.
        let body = format!(r#"{{"a":["\u0073k-live-123",{{"{jwt}":1}}],"b":"x {jwt}","n":3}}"#);
        let scrubbed = scrub_body(body.as_bytes(), secret);
        assert_eq!(
            scrubbed,
            r#"{"a":["[redacted]",{"[redacted]":1}],"b":"x [redacted]","n":3}"#
        );
        assert_eq!(scrub_body(b"plain sk-live-123", secret), "plain [redacted]");
        assert_eq!(scrub("no secret here", ""), "no secret here");
    }

    // --- Percent-encoding ---

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        let cases = [
            ("abc-._~XYZ09", "abc-._~XYZ09"),
            ("a/b?c", "a%2Fb%3Fc"),
            ("a+b c", "a%2Bb%20c"),
            ("%", "%25"),
            ("é", "%C3%A9"),
            ("#&=", "%23%26%3D"),
        ];
        for (value, want) in cases {
            assert_eq!(percent_encode(value), want, "{value}");
        }
    }

    #[test]
    fn a_cursor_survives_a_round_trip_through_a_link() {
        for cursor in ["a+b", "a b", "a/b?c=d&e", "é%", "3f1c-9a", "+"] {
            let link = format!(
                "https://api.example/v2/jwt/project?limit=5&starting_after={}#top",
                percent_encode(cursor)
            );
            assert_eq!(
                query_value(&link, "starting_after").as_deref(),
                Some(cursor),
                "{link}"
            );
        }
    }

    #[test]
    fn query_value_keeps_a_plus_and_finds_only_the_named_parameter() {
        let url = "https://x/v2?xstarting_after=no&starting_after=a+b&limit=2";
        assert_eq!(query_value(url, "starting_after").as_deref(), Some("a+b"));
        assert_eq!(query_value(url, "limit").as_deref(), Some("2"));
        assert_eq!(query_value(url, "ending_before"), None);
        assert_eq!(query_value("https://x/v2", "limit"), None);
        // Not UTF-8 once decoded: no cursor, rather than a mangled one.
        assert_eq!(query_value("https://x/?limit=%FF", "limit"), None);
    }

    #[test]
    fn with_query_encodes_values_and_refuses_empty_ones() {
        assert_eq!(
            with_query("/p", &[("a", Some("1 2")), ("b", None), ("c", Some("x"))]).ok(),
            Some("/p?a=1%202&c=x".to_owned())
        );
        assert_eq!(with_query("/p", &[("a", None)]).ok(), Some("/p".to_owned()));
        assert!(matches!(
            with_query("/p", &[("a", Some(""))]),
            Err(Error::InvalidInput { reason }) if reason == "a is empty"
        ));
    }

    // --- Proxy URLs ---

    #[test]
    fn proxy_urls_parse_with_a_host_and_a_numeric_port() {
        for url in [
            "http://proxy.example:3128",
            "http://proxy.example",
            "https://user:pw@proxy.example:8443",
            "http://[::1]:3128",
            "http://127.0.0.1:3128",
        ] {
            assert!(parse_proxy(url).is_ok(), "{url}");
        }
        for url in [
            "http://proxy.example:port",
            "http://proxy.example:99999",
            "ftp://proxy.example",
            "http://",
            "http://:3128",
            "http://user:secret@proxy.example:port",
        ] {
            let err = parse_proxy(url).err().map(|e| e.to_string());
            let err = err.unwrap_or_else(|| panic!("{url} was accepted"));
            assert!(err.starts_with("invalid input: proxy URL"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn a_proxy_url_may_name_an_ipv6_host_with_or_without_a_port() {
        for (url, host, port) in [
            ("http://[::1]", "[::1]", 80),
            (
                "http://[2001:db8:0:0:0:0:0:1]",
                "[2001:db8:0:0:0:0:0:1]",
                80,
            ),
            ("https://[2001:db8::1]", "[2001:db8::1]", 443),
            ("http://[2001:db8::1]:3128", "[2001:db8::1]", 3128),
        ] {
            let proxy = parse_proxy(url).map_err(|e| e.to_string());
            let proxy = proxy.unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((proxy.host(), proxy.port()), (host, port), "{url}");
        }
    }

    #[test]
    fn a_proxy_url_with_credentials_may_leave_the_port_out() {
        for (url, host, port) in [
            ("http://ops:hunter2@proxy.example", "proxy.example", 80),
            ("http://ops:@proxy.example", "proxy.example", 80),
            (
                "http://ops:hunter2@proxy.example:3128",
                "proxy.example",
                3128,
            ),
            ("http://ops:hunter2@[::1]", "[::1]", 80),
        ] {
            let proxy = parse_proxy(url).map_err(|e| e.to_string());
            let proxy = proxy.unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((proxy.host(), proxy.port()), (host, port), "{url}");
        }
        // A port that is no number is still refused, credentials or not.
        assert_eq!(
            parse_proxy("http://ops:hunter2@proxy.example:port")
                .err()
                .map(|e| e.to_string()),
            Some(
                "invalid input: proxy URL \"http://proxy.example:port\" does not parse; expected such as http://proxy.example:3128"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_json_error_loses_every_string_it_quotes() {
        let message =
            |json: &str| redact_json_error(&serde_json::from_str::<u64>(json).unwrap_err());
        assert_eq!(
            message(r#""eyJhbGciOiJIUzI1NiJ9.e30.sig""#),
            "invalid type: string [redacted], expected u64 at line 1 column 30"
        );
        // A value that itself looks like the end of one.
        assert_eq!(
            message(r#""a\", expected u8 string \"b""#),
            "invalid type: string [redacted], expected u64 at line 1 column 29"
        );
        // Nothing quoted: the message as it is.
        assert_eq!(
            message("[1]"),
            "invalid type: sequence, expected u64 at line 1 column 0"
        );
    }

    #[test]
    fn without_userinfo_drops_credentials_only() {
        let cases = [
            ("http://user:pw@proxy:3128", "http://proxy:3128"),
            ("http://user:p@w@proxy:3128/x", "http://proxy:3128/x"),
            ("user:pw@proxy:3128", "proxy:3128"),
            ("http://proxy:3128", "http://proxy:3128"),
            ("http://proxy:3128/a@b", "http://proxy:3128/a@b"),
            ("http://proxy:3128?x=a@b", "http://proxy:3128?x=a@b"),
        ];
        for (url, want) in cases {
            assert_eq!(without_userinfo(url), want, "{url}");
        }
    }

    // --- The "did the server see it?" decision ---

    #[test]
    fn transport_failures_before_the_request_was_written_are_not_sent() {
        for source in [
            ureq::Error::HostNotFound,
            ureq::Error::ConnectionFailed,
            ureq::Error::ConnectProxyFailed("403".to_owned()),
            ureq::Error::Timeout(ureq::Timeout::Resolve),
            ureq::Error::Timeout(ureq::Timeout::Connect),
            ureq::Error::Tls("Rustls invalid dns name error"),
            ureq::Error::Io(IoError::from(ErrorKind::ConnectionRefused)),
            ureq::Error::Io(IoError::from(ErrorKind::HostUnreachable)),
            ureq::Error::Io(IoError::from(ErrorKind::NetworkUnreachable)),
            ureq::Error::Io(IoError::other(
                "failed to lookup address information: Name or service not known",
            )),
        ] {
            let shown = format!("{source:?}");
            let e = transport(source);
            assert_eq!(e.reach(), Reach::NotSent, "{shown}");
            assert!(e.is_connect(), "{shown}");
            assert!(
                !Error::Transport(Box::new(e)).may_have_been_processed(),
                "{shown}"
            );
        }
    }

    #[test]
    fn transport_failures_after_the_request_was_written_may_have_been_processed() {
        for source in [
            ureq::Error::Timeout(ureq::Timeout::RecvResponse),
            ureq::Error::Timeout(ureq::Timeout::RecvBody),
            ureq::Error::Timeout(ureq::Timeout::SendBody),
            ureq::Error::Io(IoError::from(ErrorKind::UnexpectedEof)),
            ureq::Error::Io(IoError::from(ErrorKind::ConnectionReset)),
            ureq::Error::Io(IoError::from(ErrorKind::BrokenPipe)),
            ureq::Error::Io(IoError::from(ErrorKind::TimedOut)),
            // Another error whose text merely looks like a lookup failure.
            ureq::Error::Io(IoError::other("lookup failed")),
            ureq::Error::BodyStalled,
        ] {
            let shown = format!("{source:?}");
            let e = transport(source);
            assert_eq!(e.reach(), Reach::MaybeProcessed, "{shown}");
            assert!(!e.is_connect(), "{shown}");
            assert!(
                Error::Transport(Box::new(e)).may_have_been_processed(),
                "{shown}"
            );
        }
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_refused_certificate_is_not_sent_but_a_later_alert_may_have_been_processed() {
        use rustls::{AlertDescription, CertificateError};
        let tls =
            |e: rustls::Error| transport(ureq::Error::Io(IoError::new(ErrorKind::InvalidData, e)));
        let refused = tls(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        assert_eq!(refused.reach(), Reach::NotSent);
        assert_eq!(
            refused.tls_failure(),
            Some(TlsFailure {
                problem: TlsProblem::Untrusted,
                in_handshake: true
            })
        );
        assert!(refused.is_connect());
        assert!(!refused.is_transient());

        // A fatal alert once the session is up: the create may have landed.
        let later = tls(rustls::Error::AlertReceived(
            AlertDescription::InternalError,
        ));
        assert_eq!(later.reach(), Reach::MaybeProcessed);
        assert!(!later.is_connect());
        assert_eq!(later.tls_failure().map(|t| t.in_handshake), Some(false));

        let handshake = tls(rustls::Error::AlertReceived(
            AlertDescription::ProtocolVersion,
        ));
        assert_eq!(handshake.reach(), Reach::NotSent);
        // Raised on a live session too: it may come after the request.
        let either = tls(rustls::Error::AlertReceived(
            AlertDescription::HandshakeFailure,
        ));
        assert_eq!(either.reach(), Reach::MaybeProcessed);
        let message = tls(rustls::Error::InappropriateHandshakeMessage {
            expect_types: vec![],
            got_type: rustls::HandshakeType::KeyUpdate,
        });
        assert_eq!(message.reach(), Reach::MaybeProcessed);
        assert_eq!(
            message.what(),
            "TLS with api.example failed: the TLS session failed during or after the handshake (received unexpected handshake message: got KeyUpdate when expecting )"
        );
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn rustls_certificate_errors_name_the_problem() {
        use rustls::CertificateError as C;
        let cases = [
            (C::UnknownIssuer, TlsProblem::Untrusted),
            (C::Expired, TlsProblem::Expired),
            (C::NotValidForName, TlsProblem::OtherName),
            (C::BadSignature, TlsProblem::Other),
        ];
        for (error, want) in cases {
            let failure = rustls_failure(&rustls::Error::InvalidCertificate(error));
            assert_eq!(failure.problem, want);
            assert!(failure.in_handshake);
        }
    }

    #[test]
    fn answers_decide_by_status() {
        let cases = [
            (400, false),
            (404, false),
            (408, false),
            (422, false),
            (429, false),
            (307, false),
            (308, false),
            (301, true),
            (303, true),
            (500, true),
            (502, true),
            (503, true),
            (504, true),
        ];
        for (status, processed) in cases {
            assert_eq!(
                api(status, None).may_have_been_processed(),
                processed,
                "{status}"
            );
        }
        assert!(!Error::invalid("x").may_have_been_processed());
        assert!(Error::MissingCursor.may_have_been_processed());
        assert!(Error::Decode {
            status: 201,
            message: String::new()
        }
        .may_have_been_processed());
    }

    #[test]
    fn a_2xx_whose_body_was_cut_was_processed_and_says_the_token_exists() {
        let mut e = transport(ureq::Error::Io(IoError::from(ErrorKind::UnexpectedEof)));
        e.answered = Some(201);
        e.creates = true;
        assert_eq!(e.reach(), Reach::Processed);
        assert!(!e.is_connect());
        assert_eq!(
            e.to_string(),
            "no usable answer from the server: the connection closed before a whole answer arrived; the server answered 201, so the token was created, but its value did not arrive (list the tokens to find it and revoke it)"
        );
        // Even a kind that only connecting raises cannot undo the 201.
        let mut refused = transport(ureq::Error::Io(IoError::from(ErrorKind::ConnectionRefused)));
        refused.answered = Some(201);
        let refused = Error::Transport(Box::new(refused));
        assert!(refused.may_have_been_processed());
        assert_eq!(
            policy().wait_before_retry(&refused, Effect::Creates, 1),
            None
        );
    }

    #[test]
    fn unreachable_hosts_are_named_with_their_port() {
        let e = transport(ureq::Error::Io(IoError::from(ErrorKind::HostUnreachable)));
        assert_eq!(e.what(), "could not reach api.example:443: no route to it");
        let mut proxied = transport(ureq::Error::Io(IoError::from(
            ErrorKind::NetworkUnreachable,
        )));
        proxied.endpoint = Arc::new(Endpoint {
            host: "api.example".to_owned(),
            address: "api.example:443".to_owned(),
            proxy: Some("http://proxy.example:3128".to_owned()),
        });
        assert_eq!(
            proxied.what(),
            "could not reach the proxy http://proxy.example:3128: no route to it"
        );
    }

    #[test]
    fn each_transport_failure_is_named_for_what_failed() {
        let proxied = |source| {
            let mut e = transport(source);
            e.endpoint = Arc::new(Endpoint {
                host: "api.example".to_owned(),
                address: "api.example:443".to_owned(),
                proxy: Some("http://proxy.example:3128".to_owned()),
            });
            e
        };
        let io = |kind| ureq::Error::Io(IoError::from(kind));
        let cases = [
            (
                transport(ureq::Error::Timeout(ureq::Timeout::Resolve)),
                "looking up the host name api.example timed out",
            ),
            (
                proxied(ureq::Error::Timeout(ureq::Timeout::Resolve)),
                "looking up the host name api.example timed out",
            ),
            (
                transport(ureq::Error::Timeout(ureq::Timeout::Connect)),
                "connecting to api.example timed out",
            ),
            (
                proxied(ureq::Error::Timeout(ureq::Timeout::Connect)),
                "connecting to api.example through the proxy http://proxy.example:3128 timed out",
            ),
            (
                transport(ureq::Error::Timeout(ureq::Timeout::RecvResponse)),
                "the server did not answer in time",
            ),
            (
                transport(ureq::Error::ConnectionFailed),
                "could not connect to api.example:443",
            ),
            (
                proxied(ureq::Error::ConnectionFailed),
                "could not connect to the proxy http://proxy.example:3128",
            ),
            (
                transport(io(ErrorKind::TimedOut)),
                "the server did not answer in time",
            ),
            (
                transport(io(ErrorKind::WouldBlock)),
                "the server did not answer in time",
            ),
            (
                transport(io(ErrorKind::Other)),
                "the connection to api.example failed",
            ),
            // ureq's own TLS error, raised before the handshake starts.
            (
                transport(ureq::Error::Tls("Rustls invalid dns name error")),
                "TLS with api.example failed: the TLS handshake failed (Rustls invalid dns name error)",
            ),
        ];
        for (error, want) in cases {
            assert_eq!(error.what(), want, "{:?}", error.source);
        }
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_rustls_error_from_ureq_is_named_as_a_tls_failure() {
        let expired = transport(ureq::Error::Rustls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired,
        )));
        assert_eq!(
            expired.what(),
            "TLS with api.example failed: the server's certificate has expired"
        );
        // Another problem: the TLS library's own words are added.
        let other = transport(ureq::Error::Rustls(rustls::Error::General(
            "no provider".into(),
        )));
        assert_eq!(
            other.what(),
            "TLS with api.example failed: the TLS session failed during or after the handshake (unexpected error: no provider)"
        );
    }

    #[test]
    fn only_a_connection_closed_before_any_answer_is_a_closed_connection() {
        for kind in [
            ErrorKind::UnexpectedEof,
            ErrorKind::ConnectionReset,
            ErrorKind::ConnectionAborted,
            ErrorKind::BrokenPipe,
        ] {
            assert!(transport(ureq::Error::Io(IoError::from(kind))).is_closed_connection());
        }
        for source in [
            ureq::Error::Io(IoError::from(ErrorKind::ConnectionRefused)),
            ureq::Error::Io(IoError::from(ErrorKind::TimedOut)),
            ureq::Error::Timeout(ureq::Timeout::RecvResponse),
            ureq::Error::ConnectionFailed,
        ] {
            assert!(!transport(source).is_closed_connection());
        }
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_rustls_error_from_setting_up_the_session_is_not_sent() {
        let e = transport(ureq::Error::Rustls(rustls::Error::General(
            "no provider".into(),
        )));
        assert_eq!(e.reach(), Reach::NotSent);
        assert!(!e.is_transient());
    }

    #[test]
    fn a_create_is_retried_only_where_the_server_surely_did_not_act() {
        let p = policy();
        let refused = || {
            Error::Transport(Box::new(transport(ureq::Error::Io(IoError::from(
                ErrorKind::ConnectionRefused,
            )))))
        };
        let cut = || {
            Error::Transport(Box::new(transport(ureq::Error::Io(IoError::from(
                ErrorKind::UnexpectedEof,
            )))))
        };
        let retried = |e: &Error, effect| p.wait_before_retry(e, effect, 1).is_some();
        for effect in [Effect::Creates, Effect::Repeatable] {
            assert!(retried(&refused(), effect));
            assert!(retried(&api(429, None), effect));
            assert!(retried(&api(408, None), effect));
            assert!(!retried(&api(422, None), effect));
            assert!(!retried(&api(404, None), effect));
        }
        assert!(!retried(&cut(), Effect::Creates));
        assert!(retried(&cut(), Effect::Repeatable));
        assert!(!retried(&api(503, None), Effect::Creates));
        assert!(retried(&api(503, None), Effect::Repeatable));
        assert!(!retried(&api(501, None), Effect::Repeatable));
    }

    #[test]
    fn retries_stop_after_max_retries_and_past_max_retry_after() {
        let p = policy();
        assert!(p
            .wait_before_retry(&api(503, None), Effect::Repeatable, 2)
            .is_some());
        assert_eq!(
            p.wait_before_retry(&api(503, None), Effect::Repeatable, 3),
            None
        );
        assert_eq!(
            p.wait_before_retry(&api(429, Some(7)), Effect::Creates, 1),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            p.wait_before_retry(&api(429, Some(60)), Effect::Creates, 1),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            p.wait_before_retry(&api(429, Some(61)), Effect::Creates, 1),
            None
        );
    }

    #[test]
    fn a_pause_is_waited_out_to_its_end_however_old_the_client_is() {
        let mut client = Client::builder("t")
            .base_url("http://127.0.0.1:9/v2")
            .no_proxy()
            .build()
            .unwrap();
        // A client two minutes old: a wait reckoned from its start rather
        // than to the pause's end would run for minutes.
        Arc::get_mut(&mut client.inner).unwrap().started = Instant::now()
            .checked_sub(Duration::from_secs(120))
            .expect("the monotonic clock has run for two minutes");
        let until = millis(client.inner.started.elapsed()) + 200;
        client.inner.paused_until.store(until, Ordering::Relaxed);

        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = client.clone();
        std::thread::spawn(move || {
            waiter.wait_out_pause(&Method::GET, "/jwt/project");
            tx.send(millis(waiter.inner.started.elapsed()) + 1)
        });
        let returned_at = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("still waiting 20 s after a pause of 200 ms");

        assert!(returned_at >= until, "{returned_at} < {until}");
        assert_eq!(client.inner.paused_until.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn in_parallel_keeps_order_and_caps_its_threads() {
        let items: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        let threads = std::sync::Mutex::new(HashSet::new());
        let got = in_parallel(&items, usize::MAX, |item| {
            threads.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(Duration::from_millis(1));
            item.parse::<usize>().unwrap()
        });
        assert_eq!(got, (0..200).collect::<Vec<_>>());
        let threads = threads.lock().unwrap().len();
        assert!(threads > 1 && threads <= MAX_PARALLELISM, "{threads}");
        assert!(in_parallel(&[] as &[&str], 8, |_| 0).is_empty());
    }

    #[test]
    fn a_panic_in_one_call_stops_the_batch_and_is_passed_on() {
        let items: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
        let calls = AtomicUsize::new(0);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            in_parallel(&items, 4, |item| {
                calls.fetch_add(1, Ordering::SeqCst);
                if item == "0" {
                    panic!("revoke 0 failed");
                }
                std::thread::sleep(Duration::from_millis(1));
            })
        }));
        let panic = outcome.unwrap_err();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"revoke 0 failed"));
        // The other three workers stop at their next item once the panic
        // unwinds (after the panic hook has run), not at the end.
        assert!(calls.load(Ordering::SeqCst) < 3000, "{calls:?}");
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_with_at_most_half_taken_off() {
        let p = policy();
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (40, 8)] {
            let full = Duration::from_secs(full);
            for _ in 0..50 {
                let wait = p.backoff(attempt);
                assert!(
                    wait >= full / 2 && wait <= full,
                    "attempt {attempt}: {wait:?}"
                );
            }
        }
        // The jitter varies: 50 draws are not all the same.
        let draws: HashSet<Duration> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(draws.len() > 1);
    }
}
