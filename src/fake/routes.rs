//! The JWT service's six calls ([`FakeRoute`]) and which call a request
//! makes, by its method and path.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use super::answer::{excerpt, Answer};
use super::encoding::percent_decode;
use super::request::Request;

/// One of the six calls of the JWT service, to aim a fault at with
/// [`FakeServer::inject_on`](crate::FakeServer::inject_on); each says what
/// the fake answers to it.
///
/// A request is a call by its method and path alone, whatever its bearer,
/// query or body: `DELETE /v2/jwt/project/{id}` is a
/// [`DiscardProjectToken`](FakeRoute::DiscardProjectToken) even for an
/// unknown id. `HEAD` is the list call of its path, as `GET` is, and answers
/// its headers without the body; a path or method the service does not have
/// is no call. `GET` on `/v2/jwt/user/{x}` lists a user's tokens and `DELETE`
/// on it revokes a token: the two calls share the path's prefix.
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FakeRoute {
    /// `GET /v2/jwt/project`: [`Client::fetch_project_tokens`](crate::Client::fetch_project_tokens),
    /// each page of [`Client::project_tokens`](crate::Client::project_tokens).
    ///
    /// Lists the project tokens, newest first, revoked ones included with
    /// `discarded_at` set. `limit` is 1 to 100 (default 25; 0, more than 100
    /// or not a number is answered 422, never clamped). `starting_after` and
    /// `ending_before` take a token id of that list (any other id is answered
    /// 422, and so is setting both). `links.first`, `links.next` and
    /// `links.prev` are full URLs on the fake's base URL carrying `limit` and
    /// the cursor (`http://127.0.0.1:PORT/v2/jwt/project?limit=25&starting_after=ID`);
    /// `next` is `null` on the last page and `prev` on the first (and both on
    /// an empty page). Unknown query parameters are ignored, as by most APIs.
    /// A page costs its own tokens' time, however many the fake holds.
    ListProjectTokens,
    /// `POST /v2/jwt/project`: [`Client::create_project_jwt`](crate::Client::create_project_jwt).
    ///
    /// Answers 201 with a new token. Ids are UUID-shaped (random, with a
    /// counter in the last group, so never repeated within one fake). The
    /// value is JWT-shaped, three base64url parts whose middle one holds
    /// `iat`, `jti` (the token id) and `exp` when an expiry was given; its
    /// signature verifies against nothing. `created_at` is the fake's
    /// [`now`](crate::FakeServer::now), and `expires_at` is `created_at` plus
    /// `expiry` (absent without one: such a token never expires).
    ///
    /// The body is read as JSON when its `Content-Type` is `application/json`
    /// or absent. A field missing, empty, of another type or breaking its
    /// rule on [`CreateProjectTokenRequest`](crate::CreateProjectTokenRequest)
    /// is answered 422, and so is an `expiry` that ends after the year 9999.
    CreateProjectToken,
    /// `DELETE /v2/jwt/project/{token_id}`: [`Client::discard_project_jwt`](crate::Client::discard_project_jwt),
    /// each revoke of [`Client::discard_project_jwts`](crate::Client::discard_project_jwts).
    ///
    /// Sets `discarded_at` and answers 200 `{"token_id", "discarded_at"}`; an
    /// id unknown to this call (a user token's id, too) or already revoked is
    /// answered 404.
    DiscardProjectToken,
    /// `GET /v2/jwt/user/{user_id}`: [`Client::fetch_user_tokens`](crate::Client::fetch_user_tokens),
    /// each page of [`Client::user_tokens`](crate::Client::user_tokens).
    ///
    /// As [`ListProjectTokens`](FakeRoute::ListProjectTokens), for the tokens
    /// created with this email or this external id.
    ListUserTokens,
    /// `POST /v2/jwt/user`: [`Client::create_user_jwt`](crate::Client::create_user_jwt).
    ///
    /// As [`CreateProjectToken`](FakeRoute::CreateProjectToken), with the
    /// rules of [`CreateUserTokenRequest`](crate::CreateUserTokenRequest)
    /// (`name` optional; neither `email` nor `external_id` given is answered
    /// 422), and the value's middle part holding `user_email` and
    /// `user_external_id` too.
    CreateUserToken,
    /// `DELETE /v2/jwt/user/{token_id}`: [`Client::discard_user_jwt`](crate::Client::discard_user_jwt),
    /// each revoke of [`Client::discard_user_jwts`](crate::Client::discard_user_jwts).
    ///
    /// As [`DiscardProjectToken`](FakeRoute::DiscardProjectToken), for user
    /// tokens.
    DiscardUserToken,
}

impl FakeRoute {
    /// Every call, in the order of MagicBell's reference.
    const ALL: [FakeRoute; 6] = [
        FakeRoute::ListProjectTokens,
        FakeRoute::CreateProjectToken,
        FakeRoute::DiscardProjectToken,
        FakeRoute::ListUserTokens,
        FakeRoute::CreateUserToken,
        FakeRoute::DiscardUserToken,
    ];

    fn name(self) -> &'static str {
        match self {
            FakeRoute::ListProjectTokens => "list_project_tokens",
            FakeRoute::CreateProjectToken => "create_project_token",
            FakeRoute::DiscardProjectToken => "discard_project_token",
            FakeRoute::ListUserTokens => "list_user_tokens",
            FakeRoute::CreateUserToken => "create_user_token",
            FakeRoute::DiscardUserToken => "discard_user_token",
        }
    }
}

/// The call's name in snake case, as [`FromStr`] reads it:
/// `list_project_tokens`, `create_project_token`, `discard_project_token`,
/// `list_user_tokens`, `create_user_token`, `discard_user_token`.
impl fmt::Display for FakeRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A call by its snake-case name (as [`Display`](fmt::Display) writes it),
/// as the fake's control API and `magicbell-jwt fake --fault` take it.
///
/// ```
/// use magicbell_jwt::FakeRoute;
///
/// let route: FakeRoute = "discard_project_token".parse()?;
/// assert_eq!(route, FakeRoute::DiscardProjectToken);
/// assert_eq!(route.to_string(), "discard_project_token");
/// let unknown = "revoke".parse::<FakeRoute>().unwrap_err();
/// assert!(unknown.starts_with("unknown route \"revoke\"; a route is one of list_project_tokens,"));
/// # Ok::<(), String>(())
/// ```
impl FromStr for FakeRoute {
    /// What was wrong, in a sentence naming the value.
    type Err = String;

    fn from_str(s: &str) -> Result<FakeRoute, String> {
        FakeRoute::ALL
            .into_iter()
            .find(|route| route.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = FakeRoute::ALL.iter().map(|r| r.name()).collect();
                format!(
                    "unknown route {:?}; a route is one of {}",
                    excerpt(s),
                    names.join(", ")
                )
            })
    }
}

/// A request the service has a route for: its call, the token or user id of
/// its path, and its query.
pub(super) struct Call {
    pub(super) route: FakeRoute,
    pub(super) id: String,
    pub(super) query: String,
}

/// The call `request` makes, or the answer to a request that makes none:
/// 421 for an absolute-form target naming another server, 404 for a path
/// the service lacks, 405 (with `Allow`) for a method its path lacks. `HEAD`
/// is routed wherever `GET` is.
pub(super) fn resolve(request: &Request, addr: SocketAddr) -> Result<Call, Answer> {
    let target = origin_form(&request.target, addr)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let not_found = || {
        Answer::error(
            404,
            "not_found",
            format!("no such path: {}", excerpt(path)),
            "the fake serves /v2/jwt/project and /v2/jwt/user",
        )
    };
    let segment = |raw: &str| percent_decode(raw, false).ok_or_else(not_found);
    let (id, allowed, routes) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["", "v2", "jwt", "project"] => (
            String::new(),
            "GET, HEAD, POST",
            [FakeRoute::ListProjectTokens, FakeRoute::CreateProjectToken],
        ),
        ["", "v2", "jwt", "project", id] if !id.is_empty() => {
            (segment(id)?, "DELETE", [FakeRoute::DiscardProjectToken; 2])
        }
        ["", "v2", "jwt", "user"] => (String::new(), "POST", [FakeRoute::CreateUserToken; 2]),
        ["", "v2", "jwt", "user", id] if !id.is_empty() => (
            segment(id)?,
            "GET, HEAD, DELETE",
            [FakeRoute::ListUserTokens, FakeRoute::DiscardUserToken],
        ),
        _ => return Err(not_found()),
    };
    let method = request.method.as_str();
    if !allowed.split(", ").any(|m| m == method) {
        return Err(Answer::error(
            405,
            "method_not_allowed",
            format!("{} does not take {}", excerpt(path), excerpt(method)),
            &format!("use {allowed}"),
        )
        .with_header("allow", allowed));
    }
    // Each path has at most two calls: reading (GET, HEAD) first.
    let route = match method {
        "GET" | "HEAD" => routes[0],
        _ => routes[1],
    };
    Ok(Call {
        route,
        id,
        query: query.to_owned(),
    })
}

/// `target` in origin-form (`/v2/...`): as sent, or the path and query of an
/// absolute-form target naming the fake (`http://127.0.0.1:PORT/v2/...`, what
/// a client sends through a forward proxy; RFC 9112, 3.2.2). One naming
/// another server is answered 421.
fn origin_form(target: &str, addr: SocketAddr) -> Result<String, Answer> {
    let absolute = (!target.starts_with('/'))
        .then(|| target.split_once("://"))
        .flatten();
    let Some((scheme, rest)) = absolute else {
        return Ok(target.to_owned());
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let port = addr.port();
    let ours = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    if !scheme.eq_ignore_ascii_case("http")
        || !ours.iter().any(|o| o.eq_ignore_ascii_case(authority))
    {
        return Err(Answer::error(
            421,
            "misdirected_request",
            format!(
                "the fake is http://{addr}, not {}",
                excerpt(&format!("{scheme}://{authority}"))
            ),
            &format!("send the path alone (/v2/...), or a URL on http://{addr}"),
        ));
    }
    Ok(match path.strip_prefix('/') {
        Some(_) => path.to_owned(),
        None => format!("/{path}"),
    })
}
