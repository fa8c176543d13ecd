//! Clients and bodies for the tests against a scripted `FaultServer`: short
//! timeouts and waits, and calls whose outcome is checked to hold neither
//! secret.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::util::{shown, MINTED, TOKEN};
use magicbell_jwt::{
    Client, ClientBuilder, CreateProjectTokenRequest, Error, FetchProjectTokensParams,
};
use magicbell_jwt_test_support::FaultServer;

pub const PAGE: &str =
    r#"{"data":[{"id":"t1","created_at":"2026-01-01T00:00:00Z"}],"links":{"next":null}}"#;
pub const DISCARDED: &str = r#"{"token_id":"t1","discarded_at":"2026-01-02T00:00:00Z"}"#;
pub const HTML_502: &str = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>";

pub fn created() -> String {
    format!(r#"{{"token":"{MINTED}","token_id":"t9","created_at":"2026-01-01T00:00:00Z"}}"#)
}

/// Short timeouts and waits, so the suite stays quick; the policies are the defaults.
pub fn builder(url: &str) -> ClientBuilder {
    Client::builder(TOKEN)
        .base_url(url)
        .retry_delay(Duration::from_millis(5))
        .timeout(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(300))
}

#[track_caller]
pub fn client(server: &FaultServer) -> Client {
    builder(&server.url()).build().unwrap()
}

pub fn list(client: &Client) -> Result<magicbell_jwt::AccessTokenCollection, Error> {
    let result = client.fetch_project_tokens(&FetchProjectTokensParams::default());
    shown(&result);
    result
}

pub fn create(client: &Client) -> Result<magicbell_jwt::CreateTokenResponse, Error> {
    let result = client.create_project_jwt(&CreateProjectTokenRequest::new("ci"));
    shown(&result);
    result
}

/// The error of a list call, failing the test instead of hanging if the call
/// has not returned in 20 s.
#[track_caller]
pub fn list_error_without_hanging(client: Client) -> Error {
    without_hanging(move || list(&client).unwrap_err())
}

/// Runs `call` on another thread, failing the test instead of hanging past 20 s
/// (what an unbounded stall, or a backoff of an hour, would do).
#[track_caller]
pub fn without_hanging<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(call()));
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the call hung")
}
