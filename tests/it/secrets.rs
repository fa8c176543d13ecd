//! The bearer token and a minted token's value never show in Debug or Display.

use crate::util::{client, MINTED, TOKEN};
use httpmock::Method::{DELETE, POST};
use httpmock::MockServer;
use magicbell_jwt::{Client, CreateProjectTokenRequest};
use serde_json::json;

#[track_caller]
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
            .json_body(crate::util::error_body("unauthorized", "bad token"));
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
            .json_body(crate::util::error_body(
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

// --- Whatever field an echo comes back in ------------------------------------

/// The error a 401 with this body and these headers makes, checked to show
/// neither secret.
#[track_caller]
fn error_for(body: &str, headers: &[(&str, String)]) -> magicbell_jwt::Error {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(DELETE).path("/v2/jwt/project/x");
        let mut then = then.status(401).body(body);
        for (name, value) in headers {
            then = then.header(*name, value);
        }
    });
    let err = client(&server).discard_project_jwt("x").unwrap_err();
    assert_hidden(&format!("{err} {err:?} {err:#?}"));
    err
}

/// `TOKEN` with its first character JSON-escaped, as `\u0073k-test…`.
#[track_caller]
fn escaped_token() -> String {
    let first = TOKEN.chars().next().unwrap();
    format!("\\u{:04x}{}", first as u32, &TOKEN[1..])
}

#[test]
fn a_bearer_token_echoed_in_the_request_id_is_blanked_out() {
    for header in ["x-request-id", "request-id"] {
        let err = error_for("{}", &[(header, format!("req-{TOKEN}"))]);

        let magicbell_jwt::Error::Api(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(api.request_id(), Some("req-[redacted]"));
        assert!(
            err.to_string().ends_with("[request id req-[redacted]]"),
            "{err}"
        );
    }
}

#[test]
fn a_bearer_token_echoed_in_location_is_blanked_out() {
    let err = error_for("", &[("location", format!("https://x.example/?t={TOKEN}"))]);

    let magicbell_jwt::Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.location(), Some("https://x.example/?t=[redacted]"));
}

#[test]
fn a_json_escaped_bearer_token_in_the_errors_is_blanked_out_after_decoding() {
    let body = format!(
        r#"{{"errors":[{{"code":"c {0}","message":"m {0}","suggestion":"s {0}","help_link":"h {0}"}}]}}"#,
        escaped_token()
    );

    let err = error_for(&body, &[]);

    let magicbell_jwt::Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    let entry = &api.errors()[0];
    assert_eq!(entry.code.as_deref(), Some("c [redacted]"));
    assert_eq!(entry.message.as_deref(), Some("m [redacted]"));
    assert_eq!(entry.suggestion.as_deref(), Some("s [redacted]"));
    assert_eq!(entry.help_link.as_deref(), Some("h [redacted]"));
}

#[test]
fn a_json_escaped_bearer_token_in_a_body_excerpt_is_blanked_out() {
    let body = format!(r#"{{"error":"bad token {}"}}"#, escaped_token());

    let err = error_for(&body, &[]);

    let magicbell_jwt::Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        api.body_excerpt(),
        Some(r#"{"error":"bad token [redacted]"}"#)
    );
}

#[test]
fn a_jwt_in_an_error_body_is_blanked_out() {
    // A server that minted the token, then failed: the 500 carries it.
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(500)
            .body(format!(r#"<pre>created {jwt} then failed</pre>"#));
    });
    server.mock(|when, then| {
        when.method(DELETE).path("/v2/jwt/project/x");
        then.status(500).json_body(crate::util::error_body(
            "internal",
            &format!("lost token {MINTED}"),
        ));
    });
    let client = client(&server);

    let excerpt_err = client
        .create_project_jwt(&CreateProjectTokenRequest::new("x"))
        .unwrap_err();
    let message_err = client.discard_project_jwt("x").unwrap_err();

    let shown = format!("{excerpt_err} {excerpt_err:?} {message_err} {message_err:?}");
    assert_hidden(&shown);
    assert!(!shown.contains(jwt), "{shown}");
    assert!(
        excerpt_err
            .to_string()
            .ends_with("<pre>created [redacted] then failed</pre>"),
        "{excerpt_err}"
    );
    assert!(
        message_err
            .to_string()
            .contains("internal: lost token [redacted]"),
        "{message_err}"
    );
}

#[test]
fn debug_of_a_client_shows_the_base_url_and_hides_the_token() {
    let client = Client::builder(TOKEN)
        .base_url("http://127.0.0.1:9/v2/")
        .build()
        .unwrap();

    assert_eq!(
        format!("{client:?}"),
        r#"Client { base_url: "http://127.0.0.1:9/v2", token: "[redacted]", .. }"#
    );
}

#[test]
fn debug_of_a_builder_shows_its_settings_and_the_proxy_without_its_password() {
    let builder = Client::builder(TOKEN).base_url("http://127.0.0.1:9/v2");
    let shown = |proxy: &str| {
        format!(
            "ClientBuilder {{ token: \"[redacted]\", settings: Settings {{ \
             base_url: \"http://127.0.0.1:9/v2\", timeout: 30s, connect_timeout: 10s, \
             max_response_bytes: 4194304, retry: RetryPolicy {{ max_retries: 2, \
             base_delay: 500ms, max_delay: 8s, max_retry_after: 60s, max_rate_limit_wait: 120s }}, \
             user_agent_suffix: None, allow_insecure_http: false, \
             root_certificates: None, proxy: {proxy} }} }}"
        )
    };

    assert_eq!(format!("{builder:?}"), shown("FromEnv"));
    assert_eq!(format!("{:?}", builder.clone().no_proxy()), shown("Off"));
    assert_eq!(
        format!(
            "{:?}",
            builder.proxy("http://ops:hunter2@proxy.example:3128")
        ),
        shown(r#"Url("http://proxy.example:3128")"#)
    );
}
