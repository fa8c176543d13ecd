//! The fake's control API under `/_fake/` (documented on
//! [`FakeServer`](crate::FakeServer)): its paths, reading their JSON, and the
//! same operations on the state as the handle's methods.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::answer::{excerpt, Answer};
use super::clock::latest_time;
use super::faults::{check_rule, check_status, FakeFault};
use super::request::{json_body, FakeRequest, Request};
use super::routes::FakeRoute;
use super::shared::Shared;
use crate::time::format_rfc3339;

/// The control API's paths and the methods each takes.
const PATHS: [(&str, &str); 5] = [
    ("/_fake/faults", "POST, DELETE"),
    ("/_fake/rate_limit", "PUT, DELETE"),
    ("/_fake/clock", "POST"),
    ("/_fake/requests", "GET, DELETE"),
    ("/_fake/reset", "POST"),
];

/// The answer to `request` if it is a control request (its path is under
/// `/_fake/`); `None` for any other, which the JWT service answers.
pub(super) fn serve(request: &Request, shared: &Shared) -> Option<Answer> {
    let path = request.target.split('?').next().unwrap_or_default();
    if path != "/_fake" && !path.starts_with("/_fake/") {
        return None;
    }
    let Some(&(path, allowed)) = PATHS.iter().find(|(p, _)| *p == path) else {
        let paths: Vec<&str> = PATHS.iter().map(|(p, _)| *p).collect();
        return Some(Answer::error(
            404,
            "not_found",
            format!("no such control path: {}", excerpt(path)),
            &format!("the control API serves {}", paths.join(", ")),
        ));
    };
    let method = request.method.as_str();
    if !allowed.split(", ").any(|m| m == method) {
        return Some(
            Answer::error(
                405,
                "method_not_allowed",
                format!("{path} does not take {}", excerpt(method)),
                &format!("use {allowed}"),
            )
            .with_header("allow", allowed),
        );
    }
    if !is_admin(request.header("authorization"), &shared.admin_token) {
        return Some(Answer::error(
            401,
            "unauthorized",
            "the control API answers only the fake's admin token",
            "send Authorization: Bearer with the fake's admin token (MAGICBELL_TOKEN)",
        ));
    }
    Some(match (method, path) {
        ("POST", "/_fake/faults") => add_fault(request, shared),
        ("DELETE", "/_fake/faults") => {
            let cleared = shared.lock().faults.clear();
            Answer::ok(200, json!({ "cleared": cleared }))
        }
        ("PUT", "/_fake/rate_limit") => set_rate_limit(request, shared),
        ("DELETE", "/_fake/rate_limit") => {
            shared.lock().clear_rate_limit();
            Answer::ok(200, json!({ "rate_limit": null }))
        }
        ("POST", "/_fake/clock") => advance(request, shared),
        ("GET", "/_fake/requests") => {
            let requests = shared.lock().log.entries();
            let listed: Vec<Value> = requests.iter().map(request_json).collect();
            Answer::ok(200, json!({ "requests": listed }))
        }
        ("DELETE", "/_fake/requests") => {
            let cleared = shared.lock().log.clear();
            Answer::ok(200, json!({ "cleared": cleared }))
        }
        _ => {
            shared.lock().reset();
            Answer::ok(200, json!({ "reset": true }))
        }
    })
}

fn is_admin(header: Option<&str>, admin: &str) -> bool {
    header
        .and_then(|h| h.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token.trim() == admin
        })
}

/// `POST /_fake/faults`.
fn add_fault(request: &Request, shared: &Shared) -> Answer {
    let rule = json_body(request).and_then(|body| {
        only(&body, &["route", "skip", "times", "fault"])?;
        let route = match body.get("route") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) if name == "any" => None,
            Some(Value::String(name)) => Some(name.parse::<FakeRoute>().map_err(invalid)?),
            Some(_) => return Err(invalid("route is not a string")),
        };
        let skip = count(&body, "skip")?.unwrap_or(0);
        let times = count(&body, "times")?
            .ok_or_else(|| invalid("times is missing; it says how many requests meet the fault"))?;
        let fault = fault(body.get("fault"))?;
        check_rule(route, skip, times).map_err(invalid)?;
        Ok((route, skip, times, fault))
    });
    let (route, skip, times, fault) = match rule {
        Ok(rule) => rule,
        Err(answer) => return answer,
    };
    let echo = json!({
        "route": route.map(|r| r.to_string()),
        "skip": skip,
        "times": times,
        "fault": fault_json(&fault),
    });
    let mut state = shared.lock();
    match route {
        Some(route) => state.faults.inject_on(route, skip, times, fault),
        None => state.faults.inject(times, fault),
    }
    Answer::ok(201, echo)
}

/// A fault as the control API reads it: `{"status": 500}`, `{"status": 429,
/// "retry_after": 2}`, `"close"` or `{"delay_ms": 300}`.
fn fault(value: Option<&Value>) -> Result<FakeFault, Answer> {
    const SHAPES: &str = "{\"status\": 500}, {\"status\": 429, \"retry_after\": 2}, \"close\" or {\"delay_ms\": 300}";
    let object = match value {
        None | Some(Value::Null) => {
            return Err(invalid(format!("fault is missing; it is one of {SHAPES}")))
        }
        Some(Value::String(s)) if s == "close" => return Ok(FakeFault::Close),
        Some(Value::Object(object)) => object,
        Some(other) => {
            return Err(invalid(format!(
                "fault is {}; it is one of {SHAPES}",
                excerpt(&other.to_string())
            )))
        }
    };
    if object.contains_key("delay_ms") {
        only(object, &["delay_ms"])?;
        let ms = count(object, "delay_ms")?.unwrap_or_default();
        return Ok(FakeFault::Delay(Duration::from_millis(ms as u64)));
    }
    only(object, &["status", "retry_after"])?;
    let Some(status) = count(object, "status")? else {
        return Err(invalid(format!(
            "fault has no status; it is one of {SHAPES}"
        )));
    };
    let status = check_status(status as u64).map_err(invalid)?;
    Ok(match count(object, "retry_after")? {
        Some(secs) => FakeFault::RetryAfter(status, secs as u64),
        None => FakeFault::Status(status),
    })
}

fn fault_json(fault: &FakeFault) -> Value {
    match fault {
        FakeFault::Status(status) => json!({ "status": status }),
        FakeFault::RetryAfter(status, secs) => json!({ "status": status, "retry_after": secs }),
        FakeFault::Close => json!("close"),
        FakeFault::Delay(delay) => json!({ "delay_ms": delay.as_millis() as u64 }),
    }
}

/// `PUT /_fake/rate_limit`.
fn set_rate_limit(request: &Request, shared: &Shared) -> Answer {
    let limit = json_body(request).and_then(|body| {
        only(&body, &["requests", "per_ms", "headers"])?;
        let requests = count(&body, "requests")?
            .ok_or_else(|| invalid("requests is missing; it is how many requests a window answers"))?;
        let requests = u32::try_from(requests)
            .map_err(|_| invalid(format!("requests is {requests}; at most {} are allowed", u32::MAX)))?;
        if requests == 0 {
            return Err(invalid(
                "requests is 0; a window answers at least 1 (DELETE /_fake/rate_limit removes the limit)",
            ));
        }
        let per_ms = match count(&body, "per_ms")? {
            None => return Err(invalid("per_ms is missing; it is the window's length in milliseconds")),
            Some(0) => {
                return Err(invalid("per_ms is 0; a window is at least 1 ms (DELETE /_fake/rate_limit removes the limit)",
                ))
            }
            Some(ms) => ms as u64,
        };
        let headers = match body.get("headers") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(on)) => *on,
            Some(_) => return Err(invalid("headers is not true or false")),
        };
        Ok((requests, per_ms, headers))
    });
    let (requests, per_ms, headers) = match limit {
        Ok(limit) => limit,
        Err(answer) => return answer,
    };
    let mut state = shared.lock();
    state.set_rate_limit(requests, Duration::from_millis(per_ms));
    state.rate_headers = headers;
    Answer::ok(
        200,
        json!({ "requests": requests, "per_ms": per_ms, "headers": headers }),
    )
}

/// `POST /_fake/clock`.
fn advance(request: &Request, shared: &Shared) -> Answer {
    let seconds = json_body(request).and_then(|body| {
        only(&body, &["advance_seconds"])?;
        count(&body, "advance_seconds")?.ok_or_else(|| {
            invalid("advance_seconds is missing; it is how far to move the clock on")
        })
    });
    let seconds = match seconds {
        Ok(seconds) => seconds as u64,
        Err(answer) => return answer,
    };
    let mut state = shared.lock();
    // Dates past 9999 cannot be written as RFC 3339, and the clock never
    // goes back: such a move would spoil every later answer.
    let later = state.now().checked_add(Duration::from_secs(seconds));
    if later.is_none_or(|later| later > latest_time()) {
        return invalid(format!(
            "advance_seconds is {seconds}; the clock would pass {}, the last time RFC 3339 can write",
            format_rfc3339(latest_time())
        ));
    }
    state.clock.advance(Duration::from_secs(seconds));
    Answer::ok(200, json!({ "now": format_rfc3339(state.now()) }))
}

fn request_json(request: &FakeRequest) -> Value {
    json!({ "method": request.method, "path": request.path, "status": request.status })
}

/// Refuses a field of `body` not among `known`.
fn only(body: &Map<String, Value>, known: &[&str]) -> Result<(), Answer> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(invalid(format!(
            "{:?} is no field here; the fields are {}",
            excerpt(unknown),
            known.join(", ")
        ))),
    }
}

/// The whole number `field` of `body`, if given (`null` is not given).
fn count(body: &Map<String, Value>, field: &str) -> Result<Option<usize>, Answer> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => Err(invalid(format!(
                "{field} is {n}; it must be a whole number, 0 or more"
            ))),
        },
        Some(_) => Err(invalid(format!(
            "{field} is not a number; it must be a whole number, 0 or more"
        ))),
    }
}

/// A 422 saying `message`, which names the field.
fn invalid(message: impl Into<String>) -> Answer {
    Answer::error(
        422,
        "unprocessable_entity",
        message,
        "fix what the message names; see FakeServer's control API for each endpoint's body",
    )
}
