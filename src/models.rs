//! The requests and answers of the JWT service, and the checks made before sending.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::redact::REDACTED;
use crate::time::parse_rfc3339;
use crate::url::with_query;
use crate::Error;

/// The most characters (not bytes) the API takes in a token's name and a
/// user's email or external id; longer is refused before sending. Shared, so
/// that whatever else enforces the limit (the fake) enforces this one.
pub(crate) const MAX_TEXT_CHARS: usize = 255;

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

/// The parameters of [`Client::fetch_project_tokens`](crate::Client::fetch_project_tokens) and
/// [`Client::project_tokens`](crate::Client::project_tokens); another name for [`FetchTokensParams`].
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
    pub(crate) fn append_query(&self, path: &str) -> Result<String, Error> {
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

/// The body of [`Client::create_project_jwt`](crate::Client::create_project_jwt).
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

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.name.is_empty() {
            return Err(Error::invalid("name is empty; the API requires one"));
        }
        check_length("name", Some(&self.name))?;
        check_expiry(self.expiry)
    }
}

/// The body of [`Client::create_user_jwt`](crate::Client::create_user_jwt): a token for one user, named by
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

    pub(crate) fn validate(&self) -> Result<(), Error> {
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

/// A token's metadata, as a list gives it. Token values are never listed.
///
/// Times (`created_at`, `expires_at`, `discarded_at`, here and in
/// [`CreateTokenResponse`] and [`DiscardTokenResponse`]) are kept as the
/// strings the server sent, RFC 3339 such as `2026-01-01T00:00:00Z`. Each
/// `*_time` method reads its field as a [`SystemTime`]: `None` when the
/// field is missing (the token does not expire, or was not revoked) or does
/// not parse. The `is_*` methods answer whether the token is expired,
/// revoked or active at a time.
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
    /// When the token was created.
    pub created_at: String,
    /// When the token was revoked, if it was.
    #[serde(default)]
    pub discarded_at: Option<String>,
    /// When the token expires, if it does.
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
    /// `created_at` as a time.
    pub fn created_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(&self.created_at)
    }

    /// `expires_at` as a time.
    pub fn expires_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(self.expires_at.as_deref()?)
    }

    /// `discarded_at` as a time.
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
/// Times are read as [`AccessToken`] says.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateTokenResponse {
    /// The JWT itself. It cannot be retrieved again: store it now.
    pub token: String,
    /// The new token's id, used to revoke it.
    pub token_id: String,
    /// When the token was created.
    pub created_at: String,
    /// When the token expires, if it does.
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
    /// `created_at` as a time.
    pub fn created_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(&self.created_at)
    }

    /// `expires_at` as a time.
    pub fn expires_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(self.expires_at.as_deref()?)
    }
}

/// The answer to a revoke. Its time is read as [`AccessToken`] says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DiscardTokenResponse {
    /// The revoked token's id.
    pub token_id: String,
    /// When it was revoked.
    pub discarded_at: String,
}

impl DiscardTokenResponse {
    /// `discarded_at` as a time.
    pub fn discarded_at_time(&self) -> Option<SystemTime> {
        parse_rfc3339(&self.discarded_at)
    }
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
