//! The client: its state, and every public call in one `impl Client`.

use std::fmt;
use std::sync::Arc;

use ureq::http::{HeaderValue, Method};

use crate::builder::{
    ProxySetting, Settings, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RATE_LIMIT_WAIT,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_MAX_RETRY_DELAY, DEFAULT_RETRY_DELAY, DEFAULT_TIMEOUT,
};
use crate::bulk::until_unreachable;
use crate::reach::Effect;
use crate::redact::REDACTED;
use crate::request::RetryPolicy;
use crate::throttle::{RateLimitStats, Throttle};
use crate::url::{path_segment, user_tokens_path};
use crate::{
    AccessTokenCollection, ClientBuilder, CreateProjectTokenRequest, CreateTokenResponse,
    CreateUserTokenRequest, DiscardTokenResponse, Error, FetchProjectTokensParams,
    FetchTokensParams, Paginator, DEFAULT_BASE_URL,
};
// Named only in docs.
#[cfg(doc)]
use crate::{TransportError, MAX_PARALLELISM};

/// A blocking client for MagicBell's JWT service.
///
/// Cheap to clone and safe to share between threads: clones share one
/// connection pool, and one view of the API's rate limit: when the server
/// asks any of them to wait (see [`ClientBuilder::max_retry_after`]), all of
/// them do, and after a 429 they pace their requests together (see
/// [`ClientBuilder::max_rate_limit_wait`]).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) agent: ureq::Agent,
    pub(crate) base_url: String,
    pub(crate) authorization: HeaderValue,
    pub(crate) max_response_bytes: u64,
    pub(crate) retry: RetryPolicy,
    pub(crate) endpoint: Arc<Endpoint>,
    // What the server said of its rate limit: every clone holds back and
    // paces by it.
    pub(crate) throttle: Throttle,
}

/// Where requests go, as errors name it.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The API's host name.
    pub(crate) host: String,
    /// The host and port connected to, such as `api.magicbell.com:443`.
    pub(crate) address: String,
    /// The proxy requests go through, without credentials, if any.
    pub(crate) proxy: Option<String>,
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
                    max_rate_limit_wait: DEFAULT_MAX_RATE_LIMIT_WAIT,
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

    /// The host and port requests are for, such as `api.magicbell.com:443`:
    /// the base URL's, with its scheme's port when it names none.
    pub fn address(&self) -> &str {
        &self.inner.endpoint.address
    }

    /// The proxy requests go through, as `scheme://host:port` without
    /// credentials, or `None` when they go straight to [`address`](Client::address).
    ///
    /// With [`ClientBuilder::proxy`] it is that proxy, and with
    /// [`ClientBuilder::no_proxy`] `None`. Otherwise it is the proxy the
    /// environment names (`ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY`, in either
    /// case), unless `NO_PROXY` lists the API's host.
    pub fn proxy(&self) -> Option<&str> {
        self.inner.endpoint.proxy.as_deref()
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
    /// sends nothing; a failure of one id does not stop the others, unless
    /// the server is gone: once 8 revokes in a row (in the order they end,
    /// across threads) failed without reaching it (a refused connection, a
    /// failed name lookup or TLS handshake: [`TransportError::is_connect`]
    /// of the last attempt), the ids not yet sent are not sent, and each
    /// gets [`Error::NotAttempted`], naming the last failure, to send again
    /// later. Any answer, and any other failure, starts the count again;
    /// an id refused before sending leaves it as it is. So a server that
    /// dies part-way costs one round of retries, not one per id left.
    /// `parallelism` 0 counts as 1, and 1 revokes one at a time on the
    /// calling thread; more than [`MAX_PARALLELISM`] (64) counts as that.
    /// Up to 16 keeps every connection pooled between batches; more works,
    /// opening connections that are not kept. An id given twice is sent
    /// twice (the second may answer 404). If a revoke panics, no further id
    /// is sent and the panic is passed on.
    ///
    /// Under a rate limit the batch finishes at the pace the API allows,
    /// rather than failing: the first id goes alone, so that whatever the
    /// server says of its limit (rate-limit headers, a 429) is known before
    /// the rest go; a 429 waited out is not a failed attempt; and the client
    /// paces its requests after one (see
    /// [`ClientBuilder::max_rate_limit_wait`]).
    /// [`rate_limit_stats`](Client::rate_limit_stats) tells what it met.
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
        until_unreachable(token_ids, parallelism, |id| self.discard_project_jwt(id))
    }

    /// Revokes many user tokens, up to `parallelism` at a time: one
    /// [`discard_user_jwt`](Client::discard_user_jwt) per id. Results and
    /// policies as for [`discard_project_jwts`](Client::discard_project_jwts).
    pub fn discard_user_jwts<S: AsRef<str> + Sync>(
        &self,
        token_ids: &[S],
        parallelism: usize,
    ) -> Vec<Result<DiscardTokenResponse, Error>> {
        until_unreachable(token_ids, parallelism, |id| self.discard_user_jwt(id))
    }

    /// What this client and its clones have met of the API's rate limit
    /// since it was built: 429s, the time requests were held back, and
    /// whether they are held back now.
    pub fn rate_limit_stats(&self) -> RateLimitStats {
        let throttle = &self.inner.throttle;
        throttle.lock().stats(throttle.now())
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

    pub(crate) fn fetch_tokens(
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
