//! The fake's JWT service: its state, the routes, token minting, and what
//! faults, latency and the request log do to a request read in full.

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use super::encode::{base64url, latest_time, percent_decode, random_u64, unix_seconds};
use super::http::{excerpt, reason, write_answer, Answer};
use super::read::Request;
use super::{FakeFault, FakeRequest, Shared};
use crate::models::MAX_TEXT_CHARS;
use crate::time::format_rfc3339;
use crate::AccessToken;

/// The page size of a list that names no `limit`.
const DEFAULT_LIMIT: usize = 25;
/// The largest `limit` the fake accepts; a larger one is answered 422.
const MAX_LIMIT: usize = 100;

pub(super) struct State {
    pub(super) now: SystemTime,
    pub(super) latency: Duration,
    pub(super) tokens: Vec<Token>,
    pub(super) by_id: HashMap<String, usize>,
    pub(super) by_value: HashMap<String, usize>,
    pub(super) faults: VecDeque<(usize, FakeFault)>,
    pub(super) requests: Vec<FakeRequest>,
    pub(super) minted: u64,
    pub(super) random: std::collections::hash_map::RandomState,
}

pub(super) struct Token {
    id: String,
    name: Option<String>,
    // `None` for a project token.
    pub(super) user: Option<User>,
    created_at: SystemTime,
    expires_at: Option<SystemTime>,
    discarded_at: Option<SystemTime>,
}

pub(super) struct User {
    email: Option<String>,
    external_id: Option<String>,
}

impl Token {
    pub(super) fn access_token(&self) -> AccessToken {
        AccessToken {
            created_at: format_rfc3339(self.created_at),
            discarded_at: self.discarded_at.map(format_rfc3339),
            expires_at: self.expires_at.map(format_rfc3339),
            id: Some(self.id.clone()),
            name: self.name.clone(),
        }
    }

    fn json(&self) -> Value {
        // Absent optional fields are left out, as the spec declares them.
        let mut object = Map::new();
        object.insert("id".into(), json!(self.id));
        if let Some(name) = &self.name {
            object.insert("name".into(), json!(name));
        }
        object.insert("created_at".into(), json!(format_rfc3339(self.created_at)));
        if let Some(at) = self.expires_at {
            object.insert("expires_at".into(), json!(format_rfc3339(at)));
        }
        if let Some(at) = self.discarded_at {
            object.insert("discarded_at".into(), json!(format_rfc3339(at)));
        }
        Value::Object(object)
    }

    pub(super) fn belongs_to(&self, user: &str) -> bool {
        self.user.as_ref().is_some_and(|u| {
            u.email.as_deref() == Some(user) || u.external_id.as_deref() == Some(user)
        })
    }
}
/// Answers one request; false when the connection must close.
pub(super) fn handle(
    stream: &mut TcpStream,
    request: Request,
    shared: &Shared,
    addr: SocketAddr,
) -> bool {
    // The unit tests' stand-in for a bug outside answering.
    #[cfg(test)]
    if request.target == "/test/panic-outside" {
        panic!("the panic a unit test asked for");
    }
    let (latency, fault) = {
        let mut state = shared.lock();
        let fault = match state.faults.front_mut() {
            Some((times, fault)) => {
                let fault = fault.clone();
                *times -= 1;
                if *times == 0 {
                    state.faults.pop_front();
                }
                Some(fault)
            }
            None => None,
        };
        (state.latency, fault)
    };
    // The request takes effect and is logged at once; only what leaves the
    // fake (the answer, or the close) waits, as behind a slow network after
    // the server acted. A client that times out meanwhile, or a Drop during
    // the wait, loses the answer but not the change.
    let (answer, wait) = match fault {
        Some(FakeFault::Close) => {
            record(shared, request.method, request.target, None);
            shared.sleep(latency);
            return false;
        }
        Some(FakeFault::Status(status)) => (fault_answer(status), latency),
        Some(FakeFault::RetryAfter(status, secs)) => (
            fault_answer(status).with_header("retry-after", secs.to_string()),
            latency,
        ),
        Some(FakeFault::Delay(delay)) => (
            route_caught(&request, shared, addr),
            latency.saturating_add(delay),
        ),
        None => (route_caught(&request, shared, addr), latency),
    };
    // Logged before the answer is written: a client that has its answer
    // finds its request in `requests()`.
    record(
        shared,
        request.method.clone(),
        request.target.clone(),
        Some(answer.status),
    );
    if !shared.sleep(wait) {
        return false;
    }
    let close = request.close || answer.close;
    write_answer(stream, &answer, &request.method, close).is_ok() && !close
}

/// [`route`], with a panic (a bug in the fake) counted and answered 500.
fn route_caught(request: &Request, shared: &Shared, addr: SocketAddr) -> Answer {
    match panic::catch_unwind(AssertUnwindSafe(|| route(request, shared, addr))) {
        Ok(answer) => answer,
        Err(_) => {
            shared.panics.fetch_add(1, Ordering::SeqCst);
            let mut answer = Answer::error(
                500,
                "internal_server_error",
                "the fake panicked answering this request: a bug in the fake",
                "report it with the request; the fake serves other connections on",
            );
            answer.close = true;
            answer
        }
    }
}

fn fault_answer(status: u16) -> Answer {
    let status = if (200..=599).contains(&status) {
        status
    } else {
        500
    };
    Answer::error(
        status,
        &reason(status).to_ascii_lowercase().replace(' ', "_"),
        format!("a fault injected into the fake: status {status}"),
        "FakeServer::inject set this answer up; the next requests are answered normally once it is used",
    )
}

pub(super) fn record(shared: &Shared, method: String, path: String, status: Option<u16>) {
    shared.lock().requests.push(FakeRequest {
        method,
        path,
        status,
    });
}

// --- The API ---------------------------------------------------------------------

enum Route {
    ProjectTokens,
    ProjectToken(String),
    UserTokens,
    UserTokenOrUser(String),
}

fn route(request: &Request, shared: &Shared, addr: SocketAddr) -> Answer {
    // The unit tests' stand-in for a bug: a panic holding the state's lock.
    #[cfg(test)]
    if request.target == "/test/panic" {
        let _state = shared.lock();
        panic!("the panic a unit test asked for");
    }
    let (path, query) = match request.target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (request.target.as_str(), ""),
    };
    let not_found = || {
        Answer::error(
            404,
            "not_found",
            format!("no such path: {}", excerpt(path)),
            "the fake serves /v2/jwt/project and /v2/jwt/user",
        )
    };
    let segment = |raw: &str| percent_decode(raw, false).filter(|s| !s.is_empty());
    let (route, allowed) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["", "v2", "jwt", "project"] => (Route::ProjectTokens, "GET, POST"),
        ["", "v2", "jwt", "project", id] => match segment(id) {
            Some(id) => (Route::ProjectToken(id), "DELETE"),
            None => return not_found(),
        },
        ["", "v2", "jwt", "user"] => (Route::UserTokens, "POST"),
        ["", "v2", "jwt", "user", id] => match segment(id) {
            Some(id) => (Route::UserTokenOrUser(id), "GET, DELETE"),
            None => return not_found(),
        },
        _ => return not_found(),
    };
    let method = request.method.as_str();
    if !allowed.split(", ").any(|m| m == method) {
        return Answer::error(
            405,
            "method_not_allowed",
            format!("{} does not take {}", excerpt(path), excerpt(method)),
            &format!("use {allowed}"),
        )
        .with_header("allow", allowed);
    }

    let mut state = shared.lock();
    if !state.authorized(request.header("authorization"), &shared.admin_token) {
        return Answer::error(
            401,
            "unauthorized",
            "the bearer token is missing, unknown, revoked or expired",
            "send Authorization: Bearer with the fake's admin token or a live project token",
        );
    }
    match (route, method) {
        (Route::ProjectTokens, "GET") => {
            let url = format!("http://{addr}/v2/jwt/project");
            state.list(query, &url, |_| true, true)
        }
        (Route::ProjectTokens, _) => match json_body(&request.body) {
            Ok(body) => state.create_project(&body),
            Err(answer) => answer,
        },
        (Route::UserTokens, _) => match json_body(&request.body) {
            Ok(body) => state.create_user(&body),
            Err(answer) => answer,
        },
        (Route::ProjectToken(id), _) => state.discard(&id, false),
        (Route::UserTokenOrUser(user), "GET") => {
            let url = format!(
                "http://{addr}/v2/jwt/user/{}",
                crate::url::percent_encode(&user)
            );
            state.list(query, &url, |t| t.belongs_to(&user), false)
        }
        (Route::UserTokenOrUser(id), _) => state.discard(&id, true),
    }
}

fn json_body(body: &[u8]) -> Result<Map<String, Value>, Answer> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Answer::invalid("the body is JSON but not an object")),
        Err(e) => Err(Answer::error(
            400,
            "invalid_json",
            format!("the body is not JSON: {e}"),
            "send a JSON object with Content-Type: application/json",
        )),
    }
}

/// The optional text field `field`: `Ok(None)` when absent or null.
fn text_field(body: &Map<String, Value>, field: &str) -> Result<Option<String>, Answer> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(Answer::invalid(format!("{field} is empty"))),
        Some(Value::String(s)) if s.chars().count() > MAX_TEXT_CHARS => {
            Err(Answer::invalid(format!(
                "{field} is {} characters; at most {MAX_TEXT_CHARS} are allowed",
                s.chars().count()
            )))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Answer::invalid(format!("{field} is not a string"))),
    }
}

impl State {
    fn authorized(&self, header: Option<&str>, admin: &str) -> bool {
        let Some(bearer) = header.and_then(|h| {
            let (scheme, token) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        }) else {
            return false;
        };
        if bearer == admin {
            return true;
        }
        self.by_value
            .get(bearer)
            .and_then(|&i| self.tokens.get(i))
            .is_some_and(|t| {
                t.user.is_none()
                    && t.discarded_at.is_none()
                    && t.expires_at.is_none_or(|at| self.now < at)
            })
    }

    fn list(
        &self,
        query: &str,
        url: &str,
        include: impl Fn(&Token) -> bool,
        project: bool,
    ) -> Answer {
        let mut limit = None;
        let mut after = None;
        let mut before = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "limit" => &mut limit,
                "starting_after" => &mut after,
                "ending_before" => &mut before,
                _ => continue,
            };
            match percent_decode(raw, true) {
                Some(value) => *slot = Some(value),
                None => {
                    return Answer::invalid(format!("{name} is not valid percent-encoded UTF-8"))
                }
            }
        }
        let limit = match limit.as_deref().map(str::parse::<usize>) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                return Answer::invalid(format!(
                    "limit is {:?}; the fake allows 1 to {MAX_LIMIT}",
                    excerpt(limit.as_deref().unwrap_or_default())
                ))
            }
        };
        let items: Vec<&Token> = self
            .tokens
            .iter()
            .rev()
            .filter(|t| (t.user.is_none()) == project && include(t))
            .collect();
        let position = |name: &str, id: &str| {
            items.iter().position(|t| t.id == id).ok_or_else(|| {
                Answer::invalid(format!("{name} {:?} is no token of this list", excerpt(id)))
            })
        };
        let range = match (&after, &before) {
            (Some(_), Some(_)) => {
                return Answer::invalid(
                    "starting_after and ending_before are both set; a page goes one way",
                )
            }
            (Some(id), None) => match position("starting_after", id) {
                Ok(i) => i + 1..(i + 1 + limit).min(items.len()),
                Err(answer) => return answer,
            },
            (None, Some(id)) => match position("ending_before", id) {
                Ok(i) => i.saturating_sub(limit)..i,
                Err(answer) => return answer,
            },
            (None, None) => 0..limit.min(items.len()),
        };
        let page = &items[range.clone()];
        let link = |cursor: &str, id: &str| {
            Value::String(format!(
                "{url}?limit={limit}&{cursor}={}",
                crate::url::percent_encode(id)
            ))
        };
        let next = match page.last() {
            Some(last) if range.end < items.len() => link("starting_after", &last.id),
            _ => Value::Null,
        };
        let prev = match page.first() {
            Some(first) if range.start > 0 => link("ending_before", &first.id),
            _ => Value::Null,
        };
        Answer::ok(
            200,
            json!({
                "data": page.iter().map(|t| t.json()).collect::<Vec<_>>(),
                "links": {"first": format!("{url}?limit={limit}"), "next": next, "prev": prev},
            }),
        )
    }

    fn create_project(&mut self, body: &Map<String, Value>) -> Answer {
        let name = match text_field(body, "name") {
            Ok(Some(name)) => name,
            Ok(None) => return Answer::invalid("name is missing; a project token needs one"),
            Err(answer) => return answer,
        };
        self.create(body, Some(name), None)
    }

    fn create_user(&mut self, body: &Map<String, Value>) -> Answer {
        let fields = ["email", "external_id", "name"].map(|f| text_field(body, f));
        let [email, external_id, name] = match fields {
            [Ok(email), Ok(external_id), Ok(name)] => [email, external_id, name],
            [Err(answer), ..] | [_, Err(answer), _] | [_, _, Err(answer)] => return answer,
        };
        if email.is_none() && external_id.is_none() {
            return Answer::invalid(
                "email and external_id are both missing; a user token needs one to name its user",
            );
        }
        self.create(body, name, Some(User { email, external_id }))
    }

    fn create(
        &mut self,
        body: &Map<String, Value>,
        name: Option<String>,
        user: Option<User>,
    ) -> Answer {
        let expiry = match body.get("expiry") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(secs) if secs >= 1 => Some(secs),
                _ => {
                    return Answer::invalid(format!(
                        "expiry is {n}; it must be a whole number of seconds, at least 1"
                    ))
                }
            },
            Some(_) => {
                return Answer::invalid(
                    "expiry is not a number; it must be a whole number of seconds, at least 1",
                )
            }
        };
        let created_at = self.now;
        let expires_at = match expiry {
            None => None,
            Some(secs) => match created_at
                .checked_add(Duration::from_secs(secs))
                .filter(|t| *t <= latest_time())
            {
                Some(at) => Some(at),
                None => {
                    return Answer::invalid(format!(
                        "expiry is {secs} seconds, which ends after the year 9999"
                    ))
                }
            },
        };
        self.minted += 1;
        let id = self.token_id();
        let iat = unix_seconds(created_at);
        let mut claims = Map::new();
        claims.insert("iat".into(), json!(iat));
        claims.insert("jti".into(), json!(id));
        if let Some(at) = expires_at {
            claims.insert("exp".into(), json!(unix_seconds(at)));
        }
        if let Some(user) = &user {
            claims.insert("user_email".into(), json!(user.email));
            claims.insert("user_external_id".into(), json!(user.external_id));
        }
        let mut signature = Vec::with_capacity(32);
        for i in 0..4 {
            signature
                .extend_from_slice(&random_u64(&self.random, self.minted * 8 + i).to_le_bytes());
        }
        let value = format!(
            "{}.{}.{}",
            base64url(br#"{"alg":"HS256","typ":"JWT"}"#),
            base64url(Value::Object(claims).to_string().as_bytes()),
            base64url(&signature)
        );
        let token = Token {
            id: id.clone(),
            name,
            user,
            created_at,
            expires_at,
            discarded_at: None,
        };
        let index = self.tokens.len();
        self.by_id.insert(id.clone(), index);
        self.by_value.insert(value.clone(), index);
        self.tokens.push(token);
        let mut answer = Map::new();
        answer.insert("token".into(), json!(value));
        answer.insert("token_id".into(), json!(id));
        answer.insert("created_at".into(), json!(format_rfc3339(created_at)));
        if let Some(at) = expires_at {
            answer.insert("expires_at".into(), json!(format_rfc3339(at)));
        }
        Answer::ok(201, Value::Object(answer))
    }

    /// A UUID-shaped id (version 4 layout): random, with the mint counter in
    /// the last group so that no two of one fake are equal.
    fn token_id(&self) -> String {
        let a = random_u64(&self.random, self.minted * 8 + 5);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((a >> 4) & 0x3fff),
            self.minted & 0xffff_ffff_ffff
        )
    }

    fn discard(&mut self, id: &str, user: bool) -> Answer {
        let now = self.now;
        let token = self
            .by_id
            .get(id)
            .copied()
            .and_then(|i| self.tokens.get_mut(i))
            .filter(|t| t.user.is_some() == user && t.discarded_at.is_none());
        let Some(token) = token else {
            let kind = if user { "user" } else { "project" };
            return Answer::error(
                404,
                "not_found",
                format!("no live {kind} token has the id {:?}", excerpt(id)),
                "list the tokens to find the id; a revoked token cannot be revoked again",
            );
        };
        token.discarded_at = Some(now);
        Answer::ok(
            200,
            json!({"token_id": token.id, "discarded_at": format_rfc3339(now)}),
        )
    }
}
