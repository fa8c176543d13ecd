//! The user-level calls: exact requests, decoding, errors, refusals, and the
//! shared Paginator over a user's tokens.

use crate::util::{
    catch_all, client, client_with, error_body, query_is, reason, shown, token, MINTED, TOKEN,
};
use httpmock::Method::{DELETE, GET, POST};
use httpmock::MockServer;
use magicbell_jwt::{CreateUserTokenRequest, Error, FetchTokensParams};
use serde_json::json;

fn user_page(ids: &[&str], next: Option<&str>) -> serde_json::Value {
    json!({
        "data": ids.iter().map(|id| token(id)).collect::<Vec<_>>(),
        "links": {"next": next.map(|c| format!("https://api.magicbell.com/v2/jwt/user/u1?starting_after={c}"))}
    })
}

#[test]
fn create_user_jwt_posts_every_set_field() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/v2/jwt/user")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .is_true(query_is(None))
            .json_body(json!({"email": "ada@example.com", "external_id": "u-8812", "name": "inbox", "expiry": 86400}));
        then.status(201).json_body(json!({
            "token": MINTED, "token_id": "ut_1", "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z"
        }));
    });

    let request = CreateUserTokenRequest::for_email("ada@example.com")
        .external_id("u-8812")
        .name("inbox")
        .expiry(86400);
    let result = client(&server).create_user_jwt(&request);
    shown(&result);
    let created = result.unwrap();

    mock.assert_calls(1);
    assert_eq!(created.token, MINTED);
    assert_eq!(created.token_id, "ut_1");
    assert_eq!(created.expires_at.as_deref(), Some("2026-01-02T00:00:00Z"));
}

#[test]
fn create_user_jwt_leaves_unset_fields_out() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/v2/jwt/user")
            .body(r#"{"external_id":"u-8812"}"#);
        then.status(201).json_body(
            json!({"token": MINTED, "token_id": "ut_2", "created_at": "2026-01-01T00:00:00Z"}),
        );
    });

    let created = client(&server)
        .create_user_jwt(&CreateUserTokenRequest::for_external_id("u-8812"))
        .unwrap();

    mock.assert_calls(1);
    assert_eq!(created.expires_at, None);
}

#[test]
fn create_user_jwt_without_email_or_external_id_is_refused_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);

    let err = client(&server)
        .create_user_jwt(&CreateUserTokenRequest::default().name("inbox"))
        .unwrap_err();

    assert_eq!(
        reason(err),
        "a user token needs email or external_id to name its user; neither is set"
    );
    any.assert_calls(0);
}

#[test]
fn create_user_jwt_refuses_bad_fields_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);
    let client = client(&server);

    for (request, expected) in [
        (
            CreateUserTokenRequest::for_email("x".repeat(256)),
            "email is 256 characters; the API allows at most 255",
        ),
        (
            CreateUserTokenRequest::for_external_id("x".repeat(300)),
            "external_id is 300 characters; the API allows at most 255",
        ),
        (
            CreateUserTokenRequest::for_email("a@b.c").name("n".repeat(256)),
            "name is 256 characters; the API allows at most 255",
        ),
        (CreateUserTokenRequest::for_email(""), "email is empty"),
        (
            CreateUserTokenRequest::for_email("a@b.c").expiry(0),
            "expiry is 0 seconds; the API needs at least 1",
        ),
    ] {
        assert_eq!(
            reason(client.create_user_jwt(&request).unwrap_err()),
            expected
        );
    }
    any.assert_calls(0);
}

#[test]
fn create_user_jwt_is_not_retried_on_500() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/user");
        then.status(500).json_body(error_body("internal", "boom"));
    });

    let err = client(&server)
        .create_user_jwt(&CreateUserTokenRequest::for_email("ada@example.com"))
        .unwrap_err();

    mock.assert_calls(1);
    assert_eq!(
        err.to_string(),
        "server answered 500 Internal Server Error: internal: boom (check the request)"
    );
}

#[test]
fn discard_user_jwt_sends_delete_with_the_id_as_one_segment() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(DELETE)
            .header("authorization", format!("Bearer {TOKEN}"))
            .is_true(|req| {
                req.uri().path() == "/v2/jwt/user/ut%2F1" && req.uri().query().is_none()
            });
        then.status(200)
            .json_body(json!({"token_id": "ut/1", "discarded_at": "2026-01-02T00:00:00Z"}));
    });

    let discarded = client(&server).discard_user_jwt("ut/1").unwrap();

    mock.assert_calls(1);
    assert_eq!(discarded.token_id, "ut/1");
}

#[test]
fn discard_user_jwt_maps_a_404() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(DELETE).path("/v2/jwt/user/gone");
        then.status(404)
            .json_body(error_body("not_found", "no such token"));
    });

    let err = client(&server).discard_user_jwt("gone").unwrap_err();

    assert_eq!(err.status(), Some(404));
    let Error::Api(api) = err else { panic!() };
    assert_eq!(api.code(), Some("not_found"));
}

#[test]
fn empty_path_parameters_are_refused_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);
    let client = client(&server);

    assert_eq!(
        reason(client.discard_user_jwt("").unwrap_err()),
        "token_id is empty"
    );
    assert_eq!(
        reason(
            client
                .fetch_user_tokens("", &FetchTokensParams::default())
                .unwrap_err()
        ),
        "user_id is empty"
    );
    let mut walk = client.user_tokens("", FetchTokensParams::default());
    assert_eq!(
        reason(walk.next().unwrap().unwrap_err()),
        "user_id is empty"
    );
    assert!(walk.next().is_none());
    any.assert_calls(0);
}

#[test]
fn fetch_user_tokens_sends_the_user_id_as_one_segment_with_the_query() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(GET)
            .header("authorization", format!("Bearer {TOKEN}"))
            .is_true(|req| {
                req.uri().path() == "/v2/jwt/user/ada%40example.com%2Fx"
                    && req.uri().query() == Some("limit=2&starting_after=ut_1&ending_before=ut_9")
            });
        then.status(200).json_body(user_page(&["ut_2"], None));
    });

    let page = client(&server)
        .fetch_user_tokens(
            "ada@example.com/x",
            &FetchTokensParams::default()
                .limit(2)
                .starting_after("ut_1")
                .ending_before("ut_9"),
        )
        .unwrap();

    mock.assert_calls(1);
    assert_eq!(page.data[0].id.as_deref(), Some("ut_2"));
    assert_eq!(page.data[0].name.as_deref(), Some("token ut_2"));
}

#[test]
fn fetch_user_tokens_decodes_a_minimal_body_and_maps_errors() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/user/u1");
        then.status(200)
            .json_body(json!({"data": [{"created_at": "2026-01-01T00:00:00Z", "extra": 1}]}));
    });
    server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/user/u2");
        then.status(401)
            .json_body(error_body("unauthorized", "bad token"));
    });
    let client = client_with(&server, |b| b.max_retries(0));

    let page = client
        .fetch_user_tokens("u1", &FetchTokensParams::default())
        .unwrap();
    let err = client
        .fetch_user_tokens("u2", &FetchTokensParams::default())
        .unwrap_err();

    assert_eq!(page.data[0].id, None);
    assert_eq!(page.links, None);
    assert_eq!(
        err.to_string(),
        "server answered 401 Unauthorized: unauthorized: bad token (check the request)"
    );
}

#[test]
fn user_tokens_walks_every_page_lazily() {
    let server = MockServer::start();
    let serve = |query: Option<&'static str>, body| {
        server.mock(move |when, then| {
            when.method(GET)
                .path("/v2/jwt/user/u1")
                .is_true(query_is(query));
            then.status(200).json_body(body);
        })
    };
    let p1 = serve(Some("limit=2"), user_page(&["a", "b"], Some("b")));
    let p2 = serve(
        Some("limit=2&starting_after=b"),
        user_page(&["c", "d"], Some("d")),
    );
    let p3 = serve(Some("limit=2&starting_after=d"), user_page(&["e"], None));
    let client = client(&server);

    let mut walk = client.user_tokens("u1", FetchTokensParams::default().limit(2));
    assert_eq!(p1.calls(), 0);
    assert_eq!(walk.next().unwrap().unwrap().id.as_deref(), Some("a"));
    assert_eq!((p1.calls(), p2.calls()), (1, 0));
    let rest: Vec<_> = walk.map(|t| t.unwrap().id.unwrap()).collect();

    assert_eq!(rest, ["b", "c", "d", "e"]);
    p1.assert_calls(1);
    p2.assert_calls(1);
    p3.assert_calls(1);
}

#[test]
fn user_tokens_stops_on_a_repeated_cursor() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/user/u1");
        then.status(200).json_body(user_page(&["a"], Some("a")));
    });

    let got: Vec<_> = client(&server)
        .user_tokens("u1", FetchTokensParams::default())
        .take(10)
        .collect();

    assert_eq!(got.len(), 2);
    assert!(matches!(&got[1], Err(Error::RepeatedCursor { cursor, .. }) if cursor == "a"));
}
