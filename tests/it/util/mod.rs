//! Shared helpers for the integration tests: a client pointed at a mock, and
//! the bodies MagicBell answers with.

use httpmock::{Mock, MockServer};
use std::time::Duration;

use magicbell_jwt::{Client, ClientBuilder};
use serde_json::{json, Value};

pub use magicbell_jwt_test_support::{MINTED, TOKEN};

/// A client for `server`, under the path prefix `/v2` like the real API, with
/// the default policies but millisecond retry waits.
pub fn client(server: &MockServer) -> Client {
    client_with(server, |b| b)
}

/// [`client`] with more settings.
#[track_caller]
pub fn client_with(
    server: &MockServer,
    settings: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Client {
    settings(
        Client::builder(TOKEN)
            .base_url(server.url("/v2"))
            .retry_delay(Duration::from_millis(1)),
    )
    .build()
    .expect("the test client builds")
}

/// A token as the list call returns it.
pub fn token(id: &str) -> Value {
    json!({
        "id": id,
        "name": format!("token {id}"),
        "created_at": "2026-01-01T00:00:00Z",
        "expires_at": "2026-02-01T00:00:00Z",
        "discarded_at": null
    })
}

/// A page holding tokens `ids`, with `links.next` set to `next` (a cursor) or null.
pub fn page(ids: &[&str], next: Option<&str>) -> Value {
    json!({
        "data": ids.iter().map(|id| token(id)).collect::<Vec<_>>(),
        "links": {
            "first": "https://api.magicbell.com/v2/jwt/project",
            "next": next.map(|c| format!("https://api.magicbell.com/v2/jwt/project?starting_after={c}")),
            "prev": null
        }
    })
}

/// MagicBell's error body.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({"errors": [{
        "code": code,
        "message": message,
        "suggestion": "check the request",
        "help_link": "https://www.magicbell.com/docs"
    }]})
}

/// A mock that answers anything with 599, to prove that nothing was sent.
pub fn catch_all(server: &MockServer) -> Mock<'_> {
    server.mock(|when, then| {
        when.any_request();
        then.status(599);
    })
}

/// The raw query string of a request, for exact comparisons.
pub fn query_is(
    expected: Option<&'static str>,
) -> impl Fn(&httpmock::HttpMockRequest) -> bool + Send + Sync + 'static {
    move |req| req.uri().query() == expected
}

pub mod fake;
pub mod scripted;

/// Debug and Display of a result, checked to hold neither secret.
#[track_caller]
pub fn shown<T: std::fmt::Debug>(result: &Result<T, magicbell_jwt::Error>) -> String {
    let text = match result {
        Ok(value) => format!("{value:?} {value:#?}"),
        Err(e) => format!(
            "{e} {e:?} {e:#?} {:?}",
            std::error::Error::source(e).map(|s| s.to_string())
        ),
    };
    assert!(!text.contains(TOKEN), "bearer token leaked: {text}");
    assert!(
        !text.contains("minted-secret"),
        "minted token leaked: {text}"
    );
    text
}

/// The reason of an [`magicbell_jwt::Error::InvalidInput`]; any other error fails the test.
#[track_caller]
pub fn reason(err: magicbell_jwt::Error) -> String {
    match err {
        magicbell_jwt::Error::InvalidInput { reason, .. } => reason,
        other => panic!("expected Error::InvalidInput, got {other:?}"),
    }
}
