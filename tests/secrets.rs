//! The bearer token and a minted token's value never show in Debug or Display.

mod common;

use common::{client, MINTED, TOKEN};
use httpmock::Method::{DELETE, POST};
use httpmock::MockServer;
use magicbell_jwt::{Client, CreateProjectTokenRequest};
use serde_json::json;

fn assert_hidden(text: &str) {
    assert!(!text.contains(TOKEN), "bearer token leaked: {text}");
    assert!(!text.contains(MINTED), "minted token leaked: {text}");
    assert!(
        !text.contains("minted-secret"),
        "part of the minted token leaked: {text}"
    );
}

#[test]
fn client_and_builder_debug_redact_the_bearer_token() {
    let builder = Client::builder(TOKEN).base_url("http://127.0.0.1:9/v2");
    let client = builder.clone().build().unwrap();

    let shown = format!("{builder:?} {client:?} {client:#?}");

    assert_hidden(&shown);
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(shown.contains("http://127.0.0.1:9/v2"), "{shown}");
}

#[test]
fn create_response_debug_redacts_the_new_token_but_the_field_holds_it() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(201).json_body(json!({
            "token": MINTED, "token_id": "tok_1", "created_at": "2026-01-01T00:00:00Z"
        }));
    });

    let created = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("x"))
        .unwrap();

    assert_eq!(created.token, MINTED);
    let shown = format!("{created:?} {created:#?}");
    assert_hidden(&shown);
    assert!(
        shown.contains("tok_1") && shown.contains("[redacted]"),
        "{shown}"
    );
}

#[test]
fn a_create_answer_of_the_wrong_shape_keeps_the_token_out_of_the_error() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(201).json_body(json!(MINTED));
    });

    let err = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("x"))
        .unwrap_err();

    let shown = format!("{err} {err:?}");
    assert_hidden(&shown);
    assert!(
        shown.contains("invalid type: string [redacted], expected"),
        "{shown}"
    );
}

#[test]
fn errors_from_the_server_do_not_show_the_bearer_token() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(401)
            .json_body(common::error_body("unauthorized", "bad token"));
    });

    let err = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("x"))
        .unwrap_err();

    assert_hidden(&format!("{err} {err:?}"));
}

#[test]
fn a_server_that_echoes_the_bearer_token_has_it_blanked_out() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(401)
            .header("location", format!("https://login.example/?t={TOKEN}"))
            .json_body(common::error_body(
                "unauthorized",
                &format!("token {TOKEN} is not valid"),
            ));
    });
    server.mock(|when, then| {
        when.method(DELETE).path("/v2/jwt/project/x");
        then.status(403)
            .body(format!("<html>Forbidden for Bearer {TOKEN}</html>"));
    });
    let client = client(&server);

    let json_err = client
        .create_project_jwt(&CreateProjectTokenRequest::new("x"))
        .unwrap_err();
    let html_err = client.discard_project_jwt("x").unwrap_err();

    assert_hidden(&format!("{json_err} {json_err:?} {html_err} {html_err:?}"));
    assert!(
        json_err
            .to_string()
            .contains("unauthorized: token [redacted] is not valid"),
        "{json_err}"
    );
    assert!(
        html_err
            .to_string()
            .ends_with("<html>Forbidden for Bearer [redacted]</html>"),
        "{html_err}"
    );
}
