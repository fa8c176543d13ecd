//! The fake's state (tokens, users, clock, faults, rate limit, request log)
//! and what the JWT service does to it: authorize, list, create, discard.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};

use super::answer::{excerpt, Answer};
use super::clock::{latest_time, unix_seconds, Clock};
use super::encoding::{base64url, percent_decode};
use super::faults::Faults;
use super::log::RequestLog;
use super::random::random_u64;
use super::rate_limit::RateLimit;
use super::token_id::{format_id, parse_id, token_id};
use crate::models::MAX_TEXT_CHARS;
use crate::time::format_rfc3339;
use crate::AccessToken;

/// The page size of a list that names no `limit`.
const DEFAULT_LIMIT: usize = 25;
/// The largest `limit` the fake accepts; a larger one is answered 422.
const MAX_LIMIT: usize = 100;

pub(super) struct State {
    pub(super) clock: Clock,
    pub(super) latency: Duration,
    pub(super) tokens: Vec<Token>,
    /// Every project token's index in `tokens`, oldest first: a page is a
    /// slice of it, found without looking at the other tokens.
    pub(super) project: Vec<usize>,
    /// The same for each user, under their email and their external id.
    pub(super) users: HashMap<String, Vec<usize>>,
    pub(super) by_id: HashMap<u128, usize>,
    pub(super) by_value: HashMap<String, usize>,
    pub(super) faults: Faults,
    pub(super) rate: Option<RateLimit>,
    /// Send `RateLimit-*` headers while a rate limit is set.
    pub(super) rate_headers: bool,
    pub(super) log: RequestLog,
    pub(super) minted: u64,
    /// Random numbers drawn so far: each draw hashes the next count.
    pub(super) drawn: u64,
    pub(super) random: RandomState,
}

/// A token as the fake holds it: some 200 bytes with its place in the
/// indexes (a million seeded over 100,000 users take 190 MB), and its
/// value's 300 or so more for one minted by a request.
pub(super) struct Token {
    id: u128,
    /// Shared by the tokens seeded together.
    name: Option<Arc<str>>,
    pub(super) is_user: bool,
    created_at: SystemTime,
    expires_at: Option<SystemTime>,
    discarded_at: Option<SystemTime>,
}

/// Whom a user token was created for; only its list keeps the names.
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
            id: Some(format_id(self.id)),
            name: self.name.as_deref().map(str::to_owned),
        }
    }

    fn json(&self) -> Value {
        // Absent optional fields are left out, as the spec declares them.
        let mut object = Map::new();
        object.insert("id".into(), json!(format_id(self.id)));
        if let Some(name) = self.name.as_deref() {
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
    pub(super) fn new(clock: Clock, random: RandomState) -> State {
        State {
            clock,
            latency: Duration::ZERO,
            tokens: Vec::new(),
            project: Vec::new(),
            users: HashMap::new(),
            by_id: HashMap::new(),
            by_value: HashMap::new(),
            faults: Faults::default(),
            rate: None,
            rate_headers: false,
            log: RequestLog::default(),
            minted: 0,
            drawn: 0,
            random,
        }
    }

    /// At most `requests` answered in each window of `per` from now; no
    /// limit for a `per` of zero.
    pub(super) fn set_rate_limit(&mut self, requests: u32, per: Duration) {
        self.rate = RateLimit::new(requests, per, Instant::now());
    }

    pub(super) fn clear_rate_limit(&mut self) {
        self.rate = None;
    }

    /// No tokens, no faults, no rate limit (nor its headers), no logged
    /// requests. The clock, the latency and the log's feed stay, and so
    /// does the mint count: an id is never given twice.
    pub(super) fn reset(&mut self) {
        self.tokens = Vec::new();
        self.project = Vec::new();
        self.users = HashMap::new();
        self.by_id = HashMap::new();
        self.by_value = HashMap::new();
        self.faults = Faults::default();
        self.clear_rate_limit();
        self.rate_headers = false;
        self.log.clear();
    }

    /// The fake's clock's time now.
    pub(super) fn now(&self) -> SystemTime {
        self.clock.now(SystemTime::now())
    }

    pub(super) fn authorized(&self, header: Option<&str>, admin: &str) -> bool {
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
                !t.is_user
                    && t.discarded_at.is_none()
                    && t.expires_at.is_none_or(|at| self.now() < at)
            })
    }

    /// A page of the list whose tokens are `list` (indexes into `tokens`,
    /// oldest first), newest first: it costs the page, a lookup in `by_id`
    /// and a binary search, whatever the list's length.
    pub(super) fn list(&self, query: &str, url: &str, list: &[usize]) -> Answer {
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
        let len = list.len();
        // The token at position `p` of the list, newest first.
        let at = |p: usize| &self.tokens[list[len - 1 - p]];
        let position = |name: &str, id: &str| {
            parse_id(id)
                .and_then(|id| self.by_id.get(&id))
                .and_then(|i| list.binary_search(i).ok())
                .map(|q| len - 1 - q)
                .ok_or_else(|| {
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
                Ok(i) => i + 1..(i + 1 + limit).min(len),
                Err(answer) => return answer,
            },
            (None, Some(id)) => match position("ending_before", id) {
                Ok(i) => i.saturating_sub(limit)..i,
                Err(answer) => return answer,
            },
            (None, None) => 0..limit.min(len),
        };
        let link = |cursor: &str, id: &str| {
            Value::String(format!(
                "{url}?limit={limit}&{cursor}={}",
                crate::url::percent_encode(id)
            ))
        };
        let next = match range.end {
            end if end > range.start && end < len => {
                link("starting_after", &format_id(at(end - 1).id))
            }
            _ => Value::Null,
        };
        let prev = match range.start {
            start if start > 0 && start < range.end => {
                link("ending_before", &format_id(at(start).id))
            }
            _ => Value::Null,
        };
        Answer::ok(
            200,
            json!({
                "data": range.map(|p| at(p).json()).collect::<Vec<_>>(),
                "links": {"first": format!("{url}?limit={limit}"), "next": next, "prev": prev},
            }),
        )
    }

    pub(super) fn create_project(&mut self, body: &Map<String, Value>) -> Answer {
        let name = match text_field(body, "name") {
            Ok(Some(name)) => name,
            Ok(None) => return Answer::invalid("name is missing; a project token needs one"),
            Err(answer) => return answer,
        };
        self.create(body, Some(name), None)
    }

    pub(super) fn create_user(&mut self, body: &Map<String, Value>) -> Answer {
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
        let created_at = self.now();
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
        let text_id = format_id(id);
        let iat = unix_seconds(created_at);
        let mut claims = Map::new();
        claims.insert("iat".into(), json!(iat));
        claims.insert("jti".into(), json!(text_id));
        if let Some(at) = expires_at {
            claims.insert("exp".into(), json!(unix_seconds(at)));
        }
        if let Some(user) = &user {
            claims.insert("user_email".into(), json!(user.email));
            claims.insert("user_external_id".into(), json!(user.external_id));
        }
        let mut signature = Vec::with_capacity(32);
        for _ in 0..4 {
            signature.extend_from_slice(&self.next_random().to_le_bytes());
        }
        let value = format!(
            "{}.{}.{}",
            base64url(br#"{"alg":"HS256","typ":"JWT"}"#),
            base64url(Value::Object(claims).to_string().as_bytes()),
            base64url(&signature)
        );
        let token = Token {
            id,
            name: name.map(Arc::from),
            is_user: user.is_some(),
            created_at,
            expires_at,
            discarded_at: None,
        };
        let mut answer = Map::new();
        answer.insert("token".into(), json!(value));
        self.insert(token, Some(value), user.as_ref());
        answer.insert("token_id".into(), json!(text_id));
        answer.insert("created_at".into(), json!(format_rfc3339(created_at)));
        if let Some(at) = expires_at {
            answer.insert("expires_at".into(), json!(format_rfc3339(at)));
        }
        Answer::ok(201, Value::Object(answer))
    }

    /// Adds `token`, found by its id, by `value` if it has one, and in its
    /// project's list or `user`'s.
    fn insert(&mut self, token: Token, value: Option<String>, user: Option<&User>) {
        let index = self.tokens.len();
        self.by_id.insert(token.id, index);
        if let Some(value) = value {
            self.by_value.insert(value, index);
        }
        match user {
            None => self.project.push(index),
            Some(User { email, external_id }) => {
                // Once, when the email and the external id are the same text.
                let other = external_id.as_ref().filter(|x| Some(*x) != email.as_ref());
                let names = [email.as_ref(), other];
                for name in names.into_iter().flatten() {
                    match self.users.get_mut(name.as_str()) {
                        Some(list) => list.push(index),
                        None => {
                            self.users.insert(name.clone(), vec![index]);
                        }
                    }
                }
            }
        }
        self.tokens.push(token);
    }

    /// `count` new tokens, created now and never expiring, with no value:
    /// project tokens named `seeded`, or tokens of the user with the
    /// external id `user`. Their ids, oldest first.
    pub(super) fn seed(&mut self, user: Option<&str>, count: usize) -> Vec<String> {
        let created_at = self.now();
        let name: Option<Arc<str>> = user.is_none().then(|| Arc::from("seeded"));
        let user = user.map(|user| User {
            email: None,
            external_id: Some(user.to_owned()),
        });
        let mut ids = Vec::with_capacity(count);
        self.tokens.reserve(count);
        self.by_id.reserve(count);
        for _ in 0..count {
            self.minted += 1;
            let id = self.token_id();
            let token = Token {
                id,
                name: name.clone(),
                is_user: user.is_some(),
                created_at,
                expires_at: None,
                discarded_at: None,
            };
            self.insert(token, None, user.as_ref());
            ids.push(format_id(id));
        }
        ids
    }

    /// A random number never drawn before in this fake: the admin token,
    /// token ids and signatures each take their own.
    pub(super) fn next_random(&mut self) -> u64 {
        self.drawn += 1;
        random_u64(&self.random, self.drawn)
    }

    /// A new token's id: random, and never one this fake gave before.
    fn token_id(&mut self) -> u128 {
        let random = self.next_random();
        token_id(random, self.minted)
    }

    pub(super) fn discard(&mut self, id: &str, user: bool) -> Answer {
        let now = self.now();
        let token = parse_id(id)
            .and_then(|id| self.by_id.get(&id).copied())
            .and_then(|i| self.tokens.get_mut(i))
            .filter(|t| t.is_user == user && t.discarded_at.is_none());
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
            json!({"token_id": format_id(token.id), "discarded_at": format_rfc3339(now)}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run with `cargo test --lib --features fake -- --ignored walk`: a page
    /// costs the page, not every token held. The service alone, without
    /// HTTP, whose round trips on loopback cost more than the page.
    #[test]
    #[ignore = "a measurement"]
    fn a_limit_1_walk_over_20_000_tokens_takes_under_a_second() {
        let mut state = State::new(Clock::frozen_at(SystemTime::now()), RandomState::new());
        for i in 0..20_000 {
            let body = json!({"name": format!("t{i}")});
            let Value::Object(body) = body else {
                unreachable!()
            };
            assert_eq!(state.create_project(&body).status, 201);
        }
        let url = "http://127.0.0.1:1/v2/jwt/project";
        let began = std::time::Instant::now();
        let mut query = "limit=1".to_owned();
        let mut pages = 0;
        loop {
            let answer = state.list(&query, url, &state.project);
            pages += 1;
            match answer.body["links"]["next"].as_str() {
                Some(next) => query = next[url.len() + 1..].to_owned(),
                None => break,
            }
        }
        let took = began.elapsed();
        println!("a limit-1 walk over {pages} pages took {took:?}");
        assert_eq!(pages, 20_000);
        assert!(took < Duration::from_secs(1), "{took:?}");
    }
}
