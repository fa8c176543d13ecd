//! `FakeServer`'s control API over HTTP (`/_fake/...`): each endpoint, who
//! may call it, what it refuses, and that control requests stay out of the
//! API's way (no log, no rate limit, no fault).

use std::time::Duration;

use magicbell_jwt::{
    Client, CreateProjectTokenRequest, FakeFault, FakeRequest, FakeRoute, FakeServer,
    FetchProjectTokensParams,
};
use magicbell_jwt_test_support::raw_http::{send, Answer};
use serde_json::{json, Value};

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn start() -> FakeServer {
    FakeServer::start().expect("a fake starts")
}

/// `method path` with `body` (JSON, if any), as `bearer`.
fn call_as(
    fake: &FakeServer,
    bearer: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Answer {
    let body = body.unwrap_or_default();
    let bytes = format!(
        "{method} {path} HTTP/1.1\r\nhost: fake\r\nauthorization: Bearer {bearer}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    send(&fake.base_url(), bytes.as_bytes())
}

/// `method path` with `body`, as the fake's admin.
fn call(fake: &FakeServer, method: &str, path: &str, body: Option<&str>) -> Answer {
    call_as(fake, fake.admin_token(), method, path, body)
}

/// A client that sends each request once, so that a fault it meets stays.
fn once(fake: &FakeServer) -> Client {
    Client::builder(fake.admin_token())
        .base_url(fake.base_url())
        .no_proxy()
        .max_retries(0)
        .build()
        .expect("a client")
}

#[track_caller]
fn assert_answer(answer: &Answer, status: u16, body: Value) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.body, body);
}

/// A 422 whose message is `message`.
#[track_caller]
fn assert_refused(answer: &Answer, message: &str) {
    assert_eq!(answer.status, 422, "{:?}", answer.body);
    assert_eq!(answer.error(), ("unprocessable_entity", message));
}

fn statuses(fake: &FakeServer) -> Vec<Option<u16>> {
    fake.requests().iter().map(|r| r.status).collect()
}

fn create(client: &Client, name: &str) -> String {
    client
        .create_project_jwt(&CreateProjectTokenRequest::new(name))
        .expect("a create")
        .token_id
}

// --- Faults ----------------------------------------------------------------------------

#[test]
fn a_fault_aimed_at_a_route_skips_then_meets_its_requests() -> Outcome {
    let fake = start();
    let client = once(&fake);
    let ids: Vec<String> = (0..4).map(|i| create(&client, &format!("t{i}"))).collect();
    let body =
        r#"{"route": "discard_project_token", "skip": 1, "times": 2, "fault": {"status": 500}}"#;
    let answer = call(&fake, "POST", "/_fake/faults", Some(body));
    assert_answer(
        &answer,
        201,
        json!({"route": "discard_project_token", "skip": 1, "times": 2, "fault": {"status": 500}}),
    );
    // Lists are not its route.
    client.fetch_project_tokens(&FetchProjectTokensParams::default())?;
    let results = client.discard_project_jwts(&ids, 1);
    let got: Vec<Option<u16>> = results
        .iter()
        .map(|r| r.as_ref().err().and_then(|e| e.status()))
        .collect();
    assert_eq!(got, [None, Some(500), Some(500), None]);
    Ok(())
}

#[test]
fn a_fault_for_any_request_queues_as_inject_does_with_each_shape() -> Outcome {
    let fake = start();
    let client = once(&fake);
    for (body, echo) in [
        (
            r#"{"times": 1, "fault": {"status": 429, "retry_after": 2}}"#,
            json!({"route": null, "skip": 0, "times": 1, "fault": {"status": 429, "retry_after": 2}}),
        ),
        (
            r#"{"route": "any", "times": 1, "fault": {"delay_ms": 50}}"#,
            json!({"route": null, "skip": 0, "times": 1, "fault": {"delay_ms": 50}}),
        ),
        (
            r#"{"route": null, "skip": 0, "times": 1, "fault": "close"}"#,
            json!({"route": null, "skip": 0, "times": 1, "fault": "close"}),
        ),
    ] {
        assert_answer(&call(&fake, "POST", "/_fake/faults", Some(body)), 201, echo);
    }
    let list = || client.fetch_project_tokens(&FetchProjectTokensParams::default());
    let limited = list().unwrap_err();
    assert_eq!(limited.status(), Some(429));
    match &limited {
        magicbell_jwt::Error::Api(e) => assert_eq!(e.retry_after(), Some(Duration::from_secs(2))),
        other => panic!("expected a 429, got {other:?}"),
    }
    let began = std::time::Instant::now();
    list()?;
    assert!(began.elapsed() >= Duration::from_millis(50));
    assert_eq!(list().unwrap_err().status(), None);
    list()?;
    assert_eq!(statuses(&fake), [Some(429), Some(200), None, Some(200)]);
    Ok(())
}

#[test]
fn deleting_faults_clears_every_one_not_yet_used() -> Outcome {
    let fake = start();
    fake.inject(2, FakeFault::Status(503));
    let body = r#"{"route": "list_project_tokens", "times": 3, "fault": {"status": 500}}"#;
    assert_eq!(call(&fake, "POST", "/_fake/faults", Some(body)).status, 201);
    assert_answer(
        &call(&fake, "DELETE", "/_fake/faults", None),
        200,
        json!({"cleared": 2}),
    );
    fake.client()
        .fetch_project_tokens(&FetchProjectTokensParams::default())?;
    assert_eq!(statuses(&fake), [Some(200)]);
    assert_answer(
        &call(&fake, "DELETE", "/_fake/faults", None),
        200,
        json!({"cleared": 0}),
    );
    Ok(())
}

#[test]
fn a_bad_fault_is_422_saying_what_was_wrong_and_sets_nothing_up() {
    let fake = start();
    let shapes = "{\"status\": 500}, {\"status\": 429, \"retry_after\": 2}, \"close\" or {\"delay_ms\": 300}";
    let cases: Vec<(&str, String)> = vec![
        (
            r#"{"route": "revoke", "times": 1, "fault": "close"}"#,
            "unknown route \"revoke\"; a route is one of list_project_tokens, create_project_token, \
             discard_project_token, list_user_tokens, create_user_token, discard_user_token"
                .to_owned(),
        ),
        (r#"{"route": 3, "times": 1, "fault": "close"}"#, "route is not a string".to_owned()),
        (r#"{"times": 1}"#, format!("fault is missing; it is one of {shapes}")),
        (r#"{"times": 1, "fault": "explode"}"#, format!("fault is \"explode\"; it is one of {shapes}")),
        (r#"{"times": 1, "fault": {"retry_after": 2}}"#, format!("fault has no status; it is one of {shapes}")),
        (
            r#"{"times": 1, "fault": {"status": 99}}"#,
            "status is 99; a fault's answer takes one from 200 to 599".to_owned(),
        ),
        (
            r#"{"times": 1, "fault": {"status": 600}}"#,
            "status is 600; a fault's answer takes one from 200 to 599".to_owned(),
        ),
        (
            r#"{"times": 1, "fault": {"status": 150}}"#,
            "status is 150; a fault's answer takes one from 200 to 599".to_owned(),
        ),
        (
            r#"{"times": 1, "fault": {"status": 500, "after": 1}}"#,
            "\"after\" is no field here; the fields are status, retry_after".to_owned(),
        ),
        (
            r#"{"times": 1, "fault": {"status": 429, "retry_after": -2}}"#,
            "retry_after is -2; it must be a whole number, 0 or more".to_owned(),
        ),
        (
            r#"{"times": 1, "fault": {"delay_ms": -300}}"#,
            "delay_ms is -300; it must be a whole number, 0 or more".to_owned(),
        ),
        (
            r#"{"route": "list_user_tokens", "skip": -1, "times": 1, "fault": "close"}"#,
            "skip is -1; it must be a whole number, 0 or more".to_owned(),
        ),
        (r#"{"times": -1, "fault": "close"}"#, "times is -1; it must be a whole number, 0 or more".to_owned()),
        (r#"{"times": 1.5, "fault": "close"}"#, "times is 1.5; it must be a whole number, 0 or more".to_owned()),
        (r#"{"times": "2", "fault": "close"}"#, "times is not a number; it must be a whole number, 0 or more".to_owned()),
        (r#"{"fault": "close"}"#, "times is missing; it says how many requests meet the fault".to_owned()),
        (r#"{"times": 0, "fault": "close"}"#, "times is 0; it must be at least 1".to_owned()),
        (
            r#"{"skip": 2, "times": 1, "fault": "close"}"#,
            "skip is 2, but a fault for any request takes none (it queues, as FakeServer::inject); \
             name a route to skip its first requests"
                .to_owned(),
        ),
        (
            r#"{"time": 1, "fault": "close"}"#,
            "\"time\" is no field here; the fields are route, skip, times, fault".to_owned(),
        ),
    ];
    for (body, message) in &cases {
        assert_refused(&call(&fake, "POST", "/_fake/faults", Some(body)), message);
    }
    // Nothing was set up: every request is answered normally.
    let client = once(&fake);
    for i in 0..3 {
        create(&client, &format!("t{i}"));
    }
    assert_eq!(statuses(&fake), [Some(201); 3]);
    // A body that is not JSON, or not an object, is refused as by the API.
    assert_eq!(call(&fake, "POST", "/_fake/faults", Some("{")).status, 400);
    assert_refused(
        &call(&fake, "POST", "/_fake/faults", Some("[1]")),
        "the body is JSON but not an object",
    );
}

// --- Rate limit ------------------------------------------------------------------------

#[test]
fn a_rate_limit_set_over_http_answers_429_with_its_headers_until_deleted() -> Outcome {
    let fake = start();
    let body = r#"{"requests": 1, "per_ms": 60000, "headers": true}"#;
    let answer = call(&fake, "PUT", "/_fake/rate_limit", Some(body));
    assert_answer(
        &answer,
        200,
        json!({"requests": 1, "per_ms": 60000, "headers": true}),
    );
    let client = once(&fake);
    let list = || client.fetch_project_tokens(&FetchProjectTokensParams::default());
    list()?;
    let limited = list().unwrap_err();
    assert_eq!(limited.status(), Some(429));
    let admin = fake.admin_token().to_owned();
    let raw =
        format!("GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {admin}\r\n\r\n");
    let answer = send(&fake.base_url(), raw.as_bytes());
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("ratelimit-limit"), Some("1"));
    assert_answer(
        &call(&fake, "DELETE", "/_fake/rate_limit", None),
        200,
        json!({"rate_limit": null}),
    );
    list()?;
    assert_eq!(
        statuses(&fake),
        [Some(200), Some(429), Some(429), Some(200)]
    );
    // Without headers (the default), none are sent.
    let body = r#"{"requests": 5, "per_ms": 1000}"#;
    let answer = call(&fake, "PUT", "/_fake/rate_limit", Some(body));
    assert_answer(
        &answer,
        200,
        json!({"requests": 5, "per_ms": 1000, "headers": false}),
    );
    let answer = send(&fake.base_url(), raw.as_bytes());
    assert_eq!(
        (answer.status, answer.header("ratelimit-limit")),
        (200, None)
    );
    Ok(())
}

#[test]
fn a_bad_rate_limit_is_422_and_leaves_the_limit_as_it_was() {
    let fake = start();
    fake.set_rate_limit(1, Duration::from_secs(60));
    for (body, message) in [
        (
            r#"{"per_ms": 1000}"#,
            "requests is missing; it is how many requests a window answers",
        ),
        (
            r#"{"requests": 5}"#,
            "per_ms is missing; it is the window's length in milliseconds",
        ),
        (
            r#"{"requests": 5, "per_ms": 0}"#,
            "per_ms is 0; a window is at least 1 ms (DELETE /_fake/rate_limit removes the limit)",
        ),
        (
            r#"{"requests": -5, "per_ms": 1000}"#,
            "requests is -5; it must be a whole number, 0 or more",
        ),
        (
            r#"{"requests": 5, "per_ms": -1}"#,
            "per_ms is -1; it must be a whole number, 0 or more",
        ),
        (
            r#"{"requests": 4294967296, "per_ms": 1}"#,
            "requests is 4294967296; at most 4294967295 are allowed",
        ),
        (
            r#"{"requests": 5, "per_ms": 1, "headers": "yes"}"#,
            "headers is not true or false",
        ),
        (
            r#"{"requests": 0, "per_ms": 1000}"#,
            "requests is 0; a window answers at least 1 (DELETE /_fake/rate_limit removes the limit)",
        ),
        (
            r#"{"requests": 5, "per": 1}"#,
            "\"per\" is no field here; the fields are requests, per_ms, headers",
        ),
    ] {
        assert_refused(
            &call(&fake, "PUT", "/_fake/rate_limit", Some(body)),
            message,
        );
    }
    // The limit set before still holds: one request, then 429.
    let client = once(&fake);
    let list = || client.fetch_project_tokens(&FetchProjectTokensParams::default());
    assert!(list().is_ok());
    assert_eq!(list().unwrap_err().status(), Some(429));
}

// --- Clock -----------------------------------------------------------------------------

#[test]
fn advancing_a_frozen_clock_moves_it_from_where_it_stood_and_expires_tokens() -> Outcome {
    let fake = start();
    let before = fake.now();
    let created = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("short").expiry(60))?;
    let answer = call(
        &fake,
        "POST",
        "/_fake/clock",
        Some(r#"{"advance_seconds": 3600}"#),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(fake.now(), before + Duration::from_secs(3600));
    let now = answer.body["now"].as_str().unwrap_or_default().to_owned();
    // The fake's own RFC 3339, as in its tokens' dates.
    let later = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("later"))?;
    assert_eq!(later.created_at, now);
    // The first token has expired: refused as a bearer.
    let expired = Client::builder(created.token)
        .base_url(fake.base_url())
        .no_proxy()
        .build()?;
    let refused = expired.fetch_project_tokens(&FetchProjectTokensParams::default());
    assert_eq!(refused.unwrap_err().status(), Some(401));
    // A frozen clock stays frozen: no real time passes on it.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(fake.now(), before + Duration::from_secs(3600));
    let answer = call(
        &fake,
        "POST",
        "/_fake/clock",
        Some(r#"{"advance_seconds": 0}"#),
    );
    assert_answer(&answer, 200, json!({ "now": now }));
    Ok(())
}

#[test]
fn a_bad_clock_advance_is_422_and_moves_nothing() {
    let fake = start();
    let before = fake.now();
    for (body, message) in [
        (
            "{}",
            "advance_seconds is missing; it is how far to move the clock on",
        ),
        (
            r#"{"advance_seconds": -60}"#,
            "advance_seconds is -60; it must be a whole number, 0 or more",
        ),
        (
            r#"{"advance_seconds": "1h"}"#,
            "advance_seconds is not a number; it must be a whole number, 0 or more",
        ),
        (
            r#"{"seconds": 5}"#,
            "\"seconds\" is no field here; the fields are advance_seconds",
        ),
        (
            r#"{"advance_seconds": 300000000000}"#,
            "advance_seconds is 300000000000; the clock would pass 9999-12-31T23:59:59Z, the last time RFC 3339 can write",
        ),
        (
            r#"{"advance_seconds": 18446744073709551615}"#,
            "advance_seconds is 18446744073709551615; the clock would pass 9999-12-31T23:59:59Z, the last time RFC 3339 can write",
        ),
    ] {
        assert_refused(&call(&fake, "POST", "/_fake/clock", Some(body)), message);
    }
    assert_eq!(fake.now(), before);
}

// --- Requests and reset ----------------------------------------------------------------

#[test]
fn the_requests_are_listed_in_order_and_deleting_them_clears_the_record() -> Outcome {
    let fake = start();
    let client = once(&fake);
    let id = create(&client, "a");
    client.discard_project_jwt(&id)?;
    fake.inject(1, FakeFault::Close);
    assert!(client.discard_project_jwt(&id).is_err());
    let path = format!("/v2/jwt/project/{id}");
    let listed = json!({"requests": [
        {"method": "POST", "path": "/v2/jwt/project", "status": 201},
        {"method": "DELETE", "path": path, "status": 200},
        {"method": "DELETE", "path": path, "status": null},
    ]});
    assert_answer(&call(&fake, "GET", "/_fake/requests", None), 200, listed);
    assert_answer(
        &call(&fake, "DELETE", "/_fake/requests", None),
        200,
        json!({"cleared": 3}),
    );
    assert!(fake.requests().is_empty());
    assert_answer(
        &call(&fake, "GET", "/_fake/requests", None),
        200,
        json!({"requests": []}),
    );
    // Recorded again from then on.
    create(&client, "b");
    assert_eq!(fake.requests().len(), 1);
    Ok(())
}

#[test]
fn a_reset_leaves_no_tokens_faults_limit_or_record_and_keeps_the_admin_token() -> Outcome {
    let fake = start();
    let client = fake.client();
    create(&client, "a");
    client.create_user_jwt(&magicbell_jwt::CreateUserTokenRequest::for_email("u@x.io"))?;
    fake.inject(5, FakeFault::Status(500));
    fake.inject_on(FakeRoute::ListProjectTokens, 0, 5, FakeFault::Status(502));
    fake.set_rate_limit(3, Duration::from_secs(60));
    fake.set_rate_limit_headers(true);
    let admin = fake.admin_token().to_owned();
    let now = fake.now();
    assert_answer(
        &call(&fake, "POST", "/_fake/reset", None),
        200,
        json!({"reset": true}),
    );
    assert_eq!(fake.admin_token(), admin);
    assert_eq!(fake.now(), now);
    assert!(fake.project_tokens().is_empty());
    assert!(fake.user_tokens("u@x.io").is_empty());
    assert!(fake.requests().is_empty());
    // No fault, no limit: ten requests answered, with no rate-limit headers.
    for _ in 0..10 {
        client.fetch_project_tokens(&FetchProjectTokensParams::default())?;
    }
    assert_eq!(statuses(&fake), [Some(200); 10]);
    let raw =
        format!("GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {admin}\r\n\r\n");
    assert_eq!(
        send(&fake.base_url(), raw.as_bytes()).header("ratelimit-limit"),
        None
    );
    // The same in-process.
    create(&client, "b");
    fake.reset();
    assert!(fake.project_tokens().is_empty() && fake.requests().is_empty());
    Ok(())
}

// --- Who may call, and what stays out of the API's way ----------------------------------

#[test]
fn any_bearer_but_the_admin_token_is_401_with_www_authenticate() -> Outcome {
    let fake = start();
    let project = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("live"))?
        .token;
    let endpoints = [
        (
            "POST",
            "/_fake/faults",
            Some(r#"{"times": 1, "fault": "close"}"#),
        ),
        ("DELETE", "/_fake/faults", None),
        (
            "PUT",
            "/_fake/rate_limit",
            Some(r#"{"requests": 0, "per_ms": 1000}"#),
        ),
        ("DELETE", "/_fake/rate_limit", None),
        ("POST", "/_fake/clock", Some(r#"{"advance_seconds": 60}"#)),
        ("GET", "/_fake/requests", None),
        ("DELETE", "/_fake/requests", None),
        ("POST", "/_fake/reset", None),
    ];
    let before = fake.now();
    for bearer in [project.as_str(), "nobody", ""] {
        for (method, path, body) in endpoints {
            let answer = call_as(&fake, bearer, method, path, body);
            assert_eq!(answer.status, 401, "{method} {path}");
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
            assert_eq!(
                answer.error(),
                (
                    "unauthorized",
                    "the control API answers only the fake's admin token"
                )
            );
        }
    }
    // Nothing was done: the token, the clock and the record are as they were.
    assert_eq!(fake.project_tokens().len(), 1);
    assert_eq!(fake.now(), before);
    assert_eq!(statuses(&fake), [Some(201)]);
    fake.client()
        .fetch_project_tokens(&FetchProjectTokensParams::default())?;
    Ok(())
}

#[test]
fn an_unknown_control_path_is_404_and_a_method_it_lacks_405() {
    let fake = start();
    let answer = call(&fake, "GET", "/_fake/mappings", None);
    assert_eq!(answer.status, 404);
    assert_eq!(answer.error().1, "no such control path: /_fake/mappings");
    let answer = call(&fake, "GET", "/_fake/faults", None);
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST, DELETE"));
    let answer = call(&fake, "POST", "/_fake/requests", None);
    assert_eq!(answer.header("allow"), Some("GET, DELETE"));
    assert!(fake.requests().is_empty());
}

#[test]
fn control_requests_are_not_recorded_rate_limited_or_faulted() -> Outcome {
    let fake = start();
    fake.set_rate_limit(1, Duration::from_secs(60));
    fake.inject(100, FakeFault::Close);
    fake.set_latency(Duration::from_millis(300));
    let began = std::time::Instant::now();
    for _ in 0..5 {
        let answer = call(&fake, "GET", "/_fake/requests", None);
        assert_answer(&answer, 200, json!({"requests": []}));
    }
    // No latency either.
    assert!(began.elapsed() < Duration::from_millis(300));
    assert_eq!(
        call(
            &fake,
            "POST",
            "/_fake/clock",
            Some(r#"{"advance_seconds": 1}"#)
        )
        .status,
        200
    );
    // The API's first request is still within the limit and meets the
    // first fault.
    let client = once(&fake);
    let list = client.fetch_project_tokens(&FetchProjectTokensParams::default());
    assert_eq!(list.unwrap_err().status(), None);
    assert_eq!(
        fake.requests(),
        [FakeRequest {
            method: "GET".into(),
            path: "/v2/jwt/project".into(),
            status: None
        }]
    );
    assert_eq!(
        call(&fake, "DELETE", "/_fake/faults", None).body,
        json!({"cleared": 1})
    );
    Ok(())
}

// --- The rules as `magicbell-jwt fake --fault` reads them --------------------------------

#[test]
fn fault_rules_are_read_as_the_control_api_takes_them() {
    let rule = FakeFault::parse_rule;
    assert_eq!(
        rule("create_user_token:0:2:delay=300"),
        Ok((
            Some(FakeRoute::CreateUserToken),
            0,
            2,
            FakeFault::Delay(Duration::from_millis(300))
        ))
    );
    assert_eq!(rule("any:0:1:close"), Ok((None, 0, 1, FakeFault::Close)));
    for (bad, message) in [
        (
            "any:1:500",
            "\"any:1:500\" is not ROUTE:SKIP:TIMES:FAULT (such as discard_project_token:1:3:500)",
        ),
        (
            "any:-1:1:500",
            "skip is \"-1\"; it must be a whole number, 0 or more",
        ),
        (
            "any:0:+1:500",
            "times is \"+1\"; it must be a whole number, 0 or more",
        ),
        ("any:0:0:500", "times is 0; it must be at least 1"),
        (
            "any:0:1:600",
            "status is 600; a fault's answer takes one from 200 to 599",
        ),
        (
            "any:0:1:429/soon",
            "the Retry-After \"soon\" is not a whole number",
        ),
        ("any:0:1:delay=-5", "the delay \"-5\" is not a whole number"),
        (
            "any:0:1:boom",
            "\"boom\" is no fault: give a status (500), a status and a Retry-After in seconds \
             (429/2), close, or delay= and milliseconds (delay=300)",
        ),
    ] {
        assert_eq!(rule(bad).unwrap_err(), message, "{bad}");
    }
    assert!(rule("Discard_project_token:0:1:500")
        .unwrap_err()
        .starts_with("unknown route \"Discard_project_token\""));
    // What `Display` writes, `FromStr` reads back.
    for fault in [
        FakeFault::Status(503),
        FakeFault::RetryAfter(429, 2),
        FakeFault::Close,
        FakeFault::Delay(Duration::from_millis(300)),
    ] {
        assert_eq!(fault.to_string().parse::<FakeFault>(), Ok(fault));
    }
}
