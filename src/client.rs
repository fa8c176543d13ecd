//! The client: its state, made from checked settings, and its calls (constructors in builder.rs, walks in paginate.rs, sending in request.rs).

use std::fmt;
use std::sync::Arc;

use ureq::http::{HeaderValue, Method};

use crate::bulk::until_unreachable;
use crate::endpoint::Endpoint;
use crate::net::{check_base_url, parse_proxy, tls_config};
use crate::reach::Effect;
use crate::redact::REDACTED;
use crate::settings::{ProxySetting, RetryPolicy, Settings};
use crate::throttle::{RateLimitStats, Throttle};
use crate::url::{path_segment, user_tokens_path};
use crate::{
    AccessTokenCollection, CreateProjectTokenRequest, CreateTokenResponse, CreateUserTokenRequest,
    DiscardTokenResponse, Error, FetchProjectTokensParams, FetchTokensParams,
};

const USER_AGENT: &str = concat!("magicbell-jwt/", env!("CARGO_PKG_VERSION"));
// Idle connections kept for the one host a client talks to: at least the
// largest parallelism the docs recommend, so a batch reuses its connections.
const MAX_IDLE_CONNECTIONS: usize = 16;

/// A blocking client for MagicBell's JWT service.
///
/// Cheap to clone and safe to share between threads: clones share one
/// connection pool, and one view of the API's rate limit: when the server
/// asks any of them to wait (see [`ClientBuilder::max_retry_after`](crate::ClientBuilder::max_retry_after)), all of
/// them do, and after a 429 they pace their requests together (see
/// [`ClientBuilder::max_rate_limit_wait`](crate::ClientBuilder::max_rate_limit_wait)).
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

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("token", &REDACTED)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The client `settings` make: checked, with its connection pool and
    /// TLS set up. Sends nothing.
    pub(crate) fn from_settings(token: String, settings: Settings) -> Result<Client, Error> {
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
        } = settings;
        if token.is_empty() {
            return Err(Error::invalid("token is empty"));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "token holds whitespace or control characters",
            ));
        }
        let (base_url, target) = check_base_url(&base_url, allow_insecure_http)?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
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
        let endpoint = Arc::new(Endpoint::new(&target, proxy.as_ref()));
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
    /// With [`ClientBuilder::proxy`](crate::ClientBuilder::proxy) it is that proxy, and with
    /// [`ClientBuilder::no_proxy`](crate::ClientBuilder::no_proxy) `None`. Otherwise it is the proxy the
    /// environment names for the API's host, as
    /// [`ClientBuilder::proxy`](crate::ClientBuilder::proxy) says.
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
    ///
    /// ```no_run
    /// use magicbell_jwt::Error;
    /// # let client = magicbell_jwt::Client::new("token")?;
    /// match client.discard_project_jwt("3f1c") {
    ///     Ok(_) => println!("revoked"),
    ///     // A 404 after an attempt that may have acted: that attempt revoked it.
    ///     Err(e) if e.may_have_been_processed() => eprintln!("may have been revoked: {e}"),
    ///     Err(Error::Api(e)) if e.status() == 404 => println!("no such token"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok::<(), magicbell_jwt::Error>(())
    /// ```
    pub fn discard_project_jwt(&self, token_id: &str) -> Result<DiscardTokenResponse, Error> {
        let path = format!("/jwt/project/{}", path_segment("token_id", token_id)?);
        self.send(Method::DELETE, &path, None::<&()>, Effect::Repeatable)
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
    /// for a request. Like a project create, it is sent again only where the
    /// server surely did not process it
    /// ([`ClientBuilder::max_retries`](crate::ClientBuilder::max_retries)); after a failure,
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
    /// the server is gone.
    ///
    /// The stop when the server is gone (for both bulk calls): once
    /// [`STOP_AFTER_UNREACHABLE`](crate::STOP_AFTER_UNREACHABLE) (8) revokes in a row (in the order they end, across threads) failed
    /// without reaching it (a refused connection, a failed name lookup or
    /// TLS handshake:
    /// [`TransportError::is_connect`](crate::TransportError::is_connect) of
    /// the last attempt), the ids not yet sent are not sent, and each gets
    /// [`Error::NotAttempted`], naming the last failure, to send again
    /// later. Any answer, and any other failure, starts the count again; an
    /// id refused before sending leaves it as it is. So a server that dies
    /// part-way costs one round of retries, not one per id left.
    ///
    /// `parallelism` 0 counts as 1, and 1 revokes one at a time on the
    /// calling thread; more than [`MAX_PARALLELISM`](crate::MAX_PARALLELISM) counts as that.
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
    /// [`ClientBuilder::max_rate_limit_wait`](crate::ClientBuilder::max_rate_limit_wait)).
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
    ///
    /// ```no_run
    /// # let client = magicbell_jwt::Client::new("token")?;
    /// let leaked: Vec<String> = vec!["3f1c".into(), "9a2e".into(), "77b0".into()];
    /// let results = client.discard_user_jwts(&leaked, 8);
    /// for (id, result) in leaked.iter().zip(&results) {
    ///     if let Err(e) = result {
    ///         eprintln!("failed to revoke {id}: {e}");
    ///     }
    /// }
    /// # Ok::<(), magicbell_jwt::Error>(())
    /// ```
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
