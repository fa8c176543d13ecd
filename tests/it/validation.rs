//! Bad input is refused with a clear error, and nothing is sent.

use crate::util::{catch_all, client, reason, TOKEN};
use httpmock::MockServer;
use magicbell_jwt::{Client, CreateProjectTokenRequest, FetchProjectTokensParams};

#[test]
fn an_empty_token_is_refused() {
    assert_eq!(reason(Client::new("").unwrap_err()), "token is empty");
}

#[test]
fn a_token_with_white_space_is_refused_without_showing_it() {
    let err = Client::new(format!("{TOKEN}\n")).unwrap_err();

    assert_eq!(
        err.to_string(),
        "invalid input: token holds whitespace or control characters"
    );
}

#[test]
fn a_token_with_a_space_or_a_control_character_is_refused() {
    // A space and a no-break space are white space but not control
    // characters; DEL and NUL are control characters but not white space.
    for token in [
        "sk-test bearer",
        "sk-test\u{a0}bearer",
        "sk-test\u{7f}bearer",
        "sk-test\0",
    ] {
        let err = Client::new(token).unwrap_err();

        assert_eq!(
            err.to_string(),
            "invalid input: token holds whitespace or control characters",
            "{token:?}"
        );
    }
}

#[test]
fn base_urls_that_are_not_absolute_http_urls_are_refused() {
    for (url, why) in [
        (
            "api.magicbell.com/v2",
            "is not an absolute http or https URL",
        ),
        (
            "ftp://api.magicbell.com/v2",
            "is not an absolute http or https URL",
        ),
        ("", "is not an absolute http or https URL"),
        ("https://", "has no host"),
        ("https:///v2", "has no host"),
        (
            "https://api.magicbell.com/v2?x=1",
            "has a query or fragment",
        ),
        (
            "https://user:pw@api.magicbell.com/v2",
            "holds credentials; the token is sent as a header",
        ),
        ("https://api.magic bell.com", "holds white space"),
    ] {
        let err = Client::builder(TOKEN).base_url(url).build().unwrap_err();
        assert_eq!(reason(err), format!("base URL {url:?} {why}"));
    }
}

#[test]
fn a_name_over_255_characters_is_refused_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);

    let err = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("é".repeat(256)))
        .unwrap_err();

    assert_eq!(
        reason(err),
        "name is 256 characters; the API allows at most 255"
    );
    any.assert_calls(0);
}

#[test]
fn a_name_of_255_characters_is_sent() {
    let server = MockServer::start();
    let ok = server.mock(|when, then| {
        when.path("/v2/jwt/project")
            .json_body(serde_json::json!({"name": "é".repeat(255)}));
        then.status(201).json_body(serde_json::json!({
            "token": "t", "token_id": "i", "created_at": "2026-01-01T00:00:00Z"
        }));
    });

    client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("é".repeat(255)))
        .unwrap();

    ok.assert_calls(1);
}

#[test]
fn an_empty_name_is_refused_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);

    let err = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new(""))
        .unwrap_err();

    assert_eq!(reason(err), "name is empty; the API requires one");
    any.assert_calls(0);
}

#[test]
fn an_expiry_of_zero_is_refused_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);

    let err = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("ci").expiry(0))
        .unwrap_err();

    assert_eq!(reason(err), "expiry is 0 seconds; the API needs at least 1");
    any.assert_calls(0);
}

#[test]
fn an_empty_token_id_is_refused_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);

    let err = client(&server).discard_project_jwt("").unwrap_err();

    assert_eq!(err.to_string(), "invalid input: token_id is empty");
    assert_eq!(err.status(), None);
    any.assert_calls(0);
}

#[test]
fn a_limit_of_zero_is_refused_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);
    let client = client(&server);

    let err = client
        .fetch_project_tokens(&FetchProjectTokensParams::default().limit(0))
        .unwrap_err();
    assert_eq!(reason(err), "limit is 0; the API needs at least 1");

    let mut walk = client.project_tokens(FetchProjectTokensParams::default().limit(0));
    assert_eq!(
        reason(walk.next().unwrap().unwrap_err()),
        "limit is 0; the API needs at least 1"
    );
    assert!(walk.next().is_none());

    any.assert_calls(0);
}

#[test]
fn an_empty_cursor_is_refused_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);

    let err = client(&server)
        .fetch_project_tokens(&FetchProjectTokensParams::default().starting_after(""))
        .unwrap_err();

    assert_eq!(reason(err), "starting_after is empty");
    any.assert_calls(0);
}

#[test]
fn dot_segments_and_empty_ids_are_refused_for_every_id_before_sending() {
    use magicbell_jwt::FetchTokensParams;
    let server = MockServer::start();
    let any = catch_all(&server);
    let client = client(&server);

    for id in ["", ".", ".."] {
        let refusals = [
            ("token_id", client.discard_project_jwt(id).map(|_| ())),
            ("token_id", client.discard_user_jwt(id).map(|_| ())),
            (
                "user_id",
                client
                    .fetch_user_tokens(id, &FetchTokensParams::default())
                    .map(|_| ()),
            ),
            (
                "user_id",
                client
                    .user_tokens(id, FetchTokensParams::default())
                    .next()
                    .unwrap()
                    .map(|_| ()),
            ),
        ];
        for (name, result) in refusals {
            let expected = if id.is_empty() {
                format!("{name} is empty")
            } else {
                let means = if id == "." {
                    "\"this folder\""
                } else {
                    "\"the parent folder\""
                };
                format!("{name} {id:?} cannot be sent: in a URL path it means {means}, so the request would reach another resource")
            };
            assert_eq!(reason(result.unwrap_err()), expected);
        }
    }
    any.assert_calls(0);
}

#[test]
fn ids_that_merely_hold_dots_are_sent_as_one_segment() {
    let server = MockServer::start();
    let discard = server.mock(|when, then| {
        when.method(httpmock::Method::DELETE)
            .path("/v2/jwt/project/...");
        then.status(200).json_body(
            serde_json::json!({"token_id": "...", "discarded_at": "2026-01-01T00:00:00Z"}),
        );
    });

    client(&server).discard_project_jwt("...").unwrap();

    discard.assert_calls(1);
}

#[test]
fn plain_http_is_refused_for_hosts_that_are_not_loopback() {
    let err = Client::builder(TOKEN)
        .base_url("http://api.magicbell.com/v2")
        .build()
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "invalid input: base URL \"http://api.magicbell.com/v2\" would send the token in clear text to a host that is not loopback; use https, or a loopback host such as 127.0.0.1"
    );
    for url in [
        "http://localhost:8080",
        "http://127.0.0.9/v2",
        "http://[::1]:3000/v2",
    ] {
        assert!(
            Client::builder(TOKEN).base_url(url).build().is_ok(),
            "{url}"
        );
    }
    assert!(Client::builder(TOKEN)
        .base_url("http://magicbell.internal/v2")
        .allow_insecure_http(true)
        .build()
        .is_ok());
}
