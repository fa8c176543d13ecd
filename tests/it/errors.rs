//! How non-2xx answers map to `Error`.

use crate::util::{client, client_with, error_body};
use httpmock::Method::{DELETE, POST};
use httpmock::MockServer;
use magicbell_jwt::{CreateProjectTokenRequest, Error};
use magicbell_jwt_test_support::{json, FaultServer};
use serde_json::json;

const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

#[track_caller]
fn discard_answered(status: u16, body: &str, content_type: &str) -> Error {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(DELETE).path("/v2/jwt/project/tok_1");
        then.status(status)
            .header("content-type", content_type)
            .body(body);
    });
    let err = client_with(&server, |b| b.max_retries(0))
        .discard_project_jwt("tok_1")
        .unwrap_err();
    mock.assert_calls(1);
    err
}

#[test]
fn every_error_status_keeps_magicbell_s_error_entry() {
    for (status, reason) in [
        (400, "Bad Request"),
        (401, "Unauthorized"),
        (404, "Not Found"),
        (422, "Unprocessable Entity"),
        (429, "Too Many Requests"),
        (500, "Internal Server Error"),
    ] {
        let body = error_body("some_code", "the server's own words").to_string();
        let err = discard_answered(status, &body, "application/json");

        assert_eq!(err.status(), Some(status));
        assert_eq!(
            err.to_string(),
            format!("server answered {status} {reason}: some_code: the server's own words (check the request)")
        );
        let Error::Api(api) = err else {
            panic!("expected Error::Api for {status}")
        };
        assert_eq!(api.status(), status);
        assert_eq!(api.code(), Some("some_code"));
        assert_eq!(api.message(), Some("the server's own words"));
        assert_eq!(
            api.errors()[0].suggestion.as_deref(),
            Some("check the request")
        );
        assert_eq!(
            api.errors()[0].help_link.as_deref(),
            Some("https://www.magicbell.com/docs")
        );
        assert_eq!(api.body_excerpt(), None);
    }
}

#[test]
fn every_error_status_with_an_html_body_keeps_an_excerpt() {
    for status in [400, 401, 404, 422, 429, 500, 502] {
        let err = discard_answered(status, HTML_502, "text/html");

        assert_eq!(err.status(), Some(status));
        let Error::Api(api) = &err else {
            panic!("expected Error::Api for {status}")
        };
        assert!(api.errors().is_empty());
        assert_eq!(
            api.body_excerpt(),
            Some("<html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway</h1></center> </body> </html>")
        );
        assert!(err.to_string().ends_with(": <html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway</h1></center> </body> </html>"), "{err}");
    }
}

#[test]
fn every_errors_entry_is_kept_and_shown() {
    let body = json!({"errors": [
        {"code": "invalid_name", "message": "name is too long"},
        {"message": "expiry must be positive"}
    ]});
    let err = discard_answered(422, &body.to_string(), "application/json");

    assert_eq!(
        err.to_string(),
        "server answered 422 Unprocessable Entity: invalid_name: name is too long; expiry must be positive"
    );
    let Error::Api(api) = err else { panic!() };
    assert_eq!(api.errors().len(), 2);
    assert_eq!(api.errors()[1].code, None);
}

#[test]
fn an_error_json_of_another_shape_is_kept_as_an_excerpt() {
    let err = discard_answered(404, r#"{"error":"not found"}"#, "application/json");

    assert_eq!(
        err.to_string(),
        r#"server answered 404 Not Found: {"error":"not found"}"#
    );
}

#[test]
fn an_empty_error_body_gives_the_status_alone() {
    let err = discard_answered(401, "", "text/plain");

    assert_eq!(err.to_string(), "server answered 401 Unauthorized");
}

#[test]
fn a_long_error_body_is_cut_to_an_excerpt() {
    let body = "x".repeat(10_000);
    let err = discard_answered(500, &body, "text/plain");

    let Error::Api(api) = err else { panic!() };
    assert_eq!(
        api.body_excerpt(),
        Some(format!("{}…", "x".repeat(200)).as_str())
    );
}

#[test]
fn a_redirect_is_not_followed_and_names_the_location() {
    let server = MockServer::start();
    let redirect = server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(301)
            .header("location", "https://elsewhere.example/v2/jwt/project");
    });

    let err = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("x"))
        .unwrap_err();

    redirect.assert_calls(1);
    assert_eq!(
        err.to_string(),
        "server answered 301 Moved Permanently redirecting to https://elsewhere.example/v2/jwt/project; redirects are not followed"
    );
    let Error::Api(api) = err else { panic!() };
    assert_eq!(
        api.location(),
        Some("https://elsewhere.example/v2/jwt/project")
    );
}

#[test]
fn a_failed_name_lookup_names_the_host() {
    // A 64-character label is refused by the resolver itself: no query
    // leaves the machine.
    let host = format!("{}.example", "a".repeat(64));
    let client = magicbell_jwt::Client::builder(crate::util::TOKEN)
        .base_url(format!("https://{host}/v2"))
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap();

    let err = client.discard_project_jwt("tok_1").unwrap_err();

    assert_eq!(
        err.to_string(),
        format!("no usable answer from the server: the host name {host} could not be resolved")
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "ureq's error is the source"
    );
}

#[test]
fn an_error_answer_is_read_up_to_64_kib_and_no_further() {
    // MagicBell's error JSON, padded to `len` bytes.
    let head = r#"{"errors":[{"code":"too_long","message":"the answer is long"}],"pad":""#;
    let padded = |len: usize| {
        let body = format!("{head}{}\"}}", "x".repeat(len - head.len() - 2));
        assert_eq!(body.len(), len);
        body
    };

    // 64 KiB exactly: read whole, so the JSON decodes.
    let err = discard_answered(422, &padded(64 * 1024), "application/json");
    assert_eq!(
        err.to_string(),
        "server answered 422 Unprocessable Entity: too_long: the answer is long"
    );

    // One byte more: the closing brace is never read, so what was read is
    // shown as an excerpt rather than decoded.
    let err = discard_answered(422, &padded(64 * 1024 + 1), "application/json");
    let Error::Api(api) = err else { panic!() };
    assert!(api.errors().is_empty());
    assert_eq!(
        api.body_excerpt(),
        Some(format!("{head}{}…", "x".repeat(200 - head.len())).as_str())
    );
}

#[test]
fn error_bodies_are_read_to_64_kib_a_body_to_its_limit_and_the_token_blanked() {
    // The message's end lies past the first 40,000 bytes of the body.
    let padded = format!(
        r#"{{"errors":[{{"code":"invalid","message":"{}sk-secret-token end"}}]}}"#,
        " ".repeat(40_000),
    );
    let page = r#"{"data":[],"links":{"next":null}}"#;
    let server = FaultServer::start(move |n, _| match n {
        0 => json(422, &padded),
        _ => json(200, page),
    });
    let client = magicbell_jwt::Client::builder("sk-secret-token")
        .base_url(server.url())
        .max_response_bytes(page.len() as u64)
        .build()
        .unwrap();
    let list = || client.fetch_project_tokens(&magicbell_jwt::FetchProjectTokensParams::default());

    let err = list().unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    let message = api.message().unwrap_or_default();
    assert!(message.ends_with(" end"), "{message:?}");
    assert!(!message.contains("sk-secret-token"), "{message:?}");
    assert!(!err.to_string().contains("sk-secret-token"));
    // A body exactly as long as the limit is read.
    assert!(list().is_ok());
}
