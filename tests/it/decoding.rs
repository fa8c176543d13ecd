//! How answers decode into the models.

use crate::util::{client, MINTED};
use httpmock::Method::{DELETE, GET, POST};
use httpmock::MockServer;
use magicbell_jwt::{CreateProjectTokenRequest, Error, FetchProjectTokensParams};
use serde_json::json;

fn list_answer(body: serde_json::Value) -> Result<magicbell_jwt::AccessTokenCollection, Error> {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/project");
        then.status(200).json_body(body);
    });
    client(&server).fetch_project_tokens(&FetchProjectTokensParams::default())
}

#[test]
fn list_decodes_a_full_body() {
    let page = list_answer(json!({
        "data": [{
            "id": "tok_1", "name": "deploy bot", "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-02-01T00:00:00Z", "discarded_at": "2026-01-15T00:00:00Z"
        }],
        "links": {"first": "https://x/first", "next": "https://x/next", "prev": "https://x/prev"}
    }))
    .unwrap();

    let token = &page.data[0];
    assert_eq!(token.id.as_deref(), Some("tok_1"));
    assert_eq!(token.name.as_deref(), Some("deploy bot"));
    assert_eq!(token.created_at, "2026-01-01T00:00:00Z");
    assert_eq!(token.expires_at.as_deref(), Some("2026-02-01T00:00:00Z"));
    assert_eq!(token.discarded_at.as_deref(), Some("2026-01-15T00:00:00Z"));
    let links = page.links.unwrap();
    assert_eq!(links.first.as_deref(), Some("https://x/first"));
    assert_eq!(links.next.as_deref(), Some("https://x/next"));
    assert_eq!(links.prev.as_deref(), Some("https://x/prev"));
}

#[test]
fn list_decodes_a_minimal_body() {
    let page = list_answer(json!({"data": [{"created_at": "2026-01-01T00:00:00Z"}]})).unwrap();

    let token = &page.data[0];
    assert_eq!(token.created_at, "2026-01-01T00:00:00Z");
    assert_eq!(token.id, None);
    assert_eq!(token.name, None);
    assert_eq!(token.expires_at, None);
    assert_eq!(token.discarded_at, None);
    assert_eq!(page.links, None);
}

#[test]
fn list_decodes_an_empty_object_as_an_empty_page() {
    let page = list_answer(json!({})).unwrap();

    assert!(page.data.is_empty());
    assert_eq!(page.links, None);
}

#[test]
fn list_decodes_nulls_as_none() {
    let page = list_answer(json!({
        "data": [{"id": "t", "name": null, "created_at": "2026-01-01T00:00:00Z", "discarded_at": null}],
        "links": {"first": null, "next": null, "prev": null}
    }))
    .unwrap();

    assert_eq!(page.data[0].name, None);
    assert_eq!(page.data[0].discarded_at, None);
    assert_eq!(page.links.unwrap().next, None);
}

#[test]
fn list_ignores_unknown_fields() {
    let page = list_answer(json!({
        "data": [{"id": "t", "created_at": "2026-01-01T00:00:00Z", "last_used_at": "2026-01-03T00:00:00Z", "scopes": ["a"]}],
        "links": {"next": null, "last": "https://x/last"},
        "meta": {"total": 1}
    }))
    .unwrap();

    assert_eq!(page.data[0].id.as_deref(), Some("t"));
}

#[test]
fn list_missing_created_at_is_a_decode_error_naming_the_field() {
    let err = list_answer(json!({"data": [{"id": "t"}]})).unwrap_err();

    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
    assert!(
        err.to_string().contains("missing field `created_at`"),
        "{err}"
    );
    assert_eq!(err.status(), Some(200));
}

#[test]
fn create_decodes_full_and_minimal_bodies() {
    let server = MockServer::start();
    let full = server.mock(|when, then| {
        when.method(POST)
            .path("/v2/jwt/project")
            .json_body(json!({"name": "full"}));
        then.status(201).json_body(json!({
            "token": MINTED, "token_id": "tok_1", "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-02-01T00:00:00Z", "extra": true
        }));
    });
    let minimal = server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project").json_body(json!({"name": "minimal"}));
        then.status(201).json_body(json!({
            "token": MINTED, "token_id": "tok_2", "created_at": "2026-01-01T00:00:00Z", "expires_at": null
        }));
    });
    let client = client(&server);

    let a = client
        .create_project_jwt(&CreateProjectTokenRequest::new("full"))
        .unwrap();
    let b = client
        .create_project_jwt(&CreateProjectTokenRequest::new("minimal"))
        .unwrap();

    full.assert_calls(1);
    minimal.assert_calls(1);
    assert_eq!(a.token, MINTED);
    assert_eq!(a.expires_at.as_deref(), Some("2026-02-01T00:00:00Z"));
    assert_eq!(b.token_id, "tok_2");
    assert_eq!(b.expires_at, None);
}

#[test]
fn create_accepts_any_2xx_status() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(200).json_body(json!({
            "token": MINTED, "token_id": "tok_1", "created_at": "2026-01-01T00:00:00Z"
        }));
    });

    let created = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("x"))
        .unwrap();

    assert_eq!(created.token_id, "tok_1");
}

#[test]
fn create_missing_token_id_is_a_decode_error_naming_the_field() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(201)
            .body(format!(r#"{{"token":"{MINTED}","created_at":"2026"}}"#));
    });

    let err = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("x"))
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "the 201 answer does not match the API's model: missing field `token_id` at line 1 column 70"
    );
}

#[test]
fn discard_missing_discarded_at_is_a_decode_error() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(DELETE).path("/v2/jwt/project/tok_1");
        then.status(200).json_body(json!({"token_id": "tok_1"}));
    });

    let err = client(&server).discard_project_jwt("tok_1").unwrap_err();

    assert!(
        err.to_string().contains("missing field `discarded_at`"),
        "{err}"
    );
}

#[test]
fn an_empty_2xx_body_is_a_decode_error() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/project");
        then.status(200);
    });

    let err = client(&server)
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "the 200 answer does not match the API's model: the body is empty"
    );
}
