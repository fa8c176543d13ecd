//! Proxies: an explicit `proxy(url)` through a local `CONNECT` proxy, its
//! refusals, and what errors say about it. (The environment's proxy
//! variables are tested alone in `tests/proxy_env.rs`, since they are
//! process-wide.)

use std::net::TcpListener;

use crate::util::{reason, shown, TOKEN};
use magicbell_jwt::{Client, Error, FetchProjectTokensParams};
use magicbell_jwt_test_support::{json, FaultServer};
use magicbell_jwt_test_support::{ConnectProxy, Tunnel};

const PAGE: &str =
    r#"{"data":[{"id":"t1","created_at":"2026-01-01T00:00:00Z"}],"links":{"next":null}}"#;

fn list(client: &Client) -> Result<magicbell_jwt::AccessTokenCollection, Error> {
    let result = client.fetch_project_tokens(&FetchProjectTokensParams::default());
    shown(&result);
    result
}

fn server() -> FaultServer {
    FaultServer::start(|_, _| json(200, PAGE))
}

/// `127.0.0.1:PORT` of a server's base URL.
fn authority(server: &FaultServer) -> String {
    server.url()["http://".len()..]
        .trim_end_matches("/v2")
        .to_owned()
}

#[test]
fn proxy_sends_the_call_through_the_proxy() {
    let (server, proxy) = (server(), ConnectProxy::start());
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .proxy(proxy.url())
        .build()
        .unwrap();

    let page = list(&client).unwrap();

    assert_eq!(page.data.len(), 1);
    assert_eq!(
        proxy.tunnels(),
        [Tunnel {
            target: authority(&server),
            authorization: None
        }]
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn proxy_credentials_go_to_the_proxy_and_never_into_output() {
    let (server, proxy) = (server(), ConnectProxy::start());
    let url = proxy.url().replace("http://", "http://ops:hunter2@");
    let builder = Client::builder(TOKEN).base_url(server.url()).proxy(&url);

    let shown = format!("{builder:?}");
    list(&builder.build().unwrap()).unwrap();

    assert!(!shown.contains("hunter2"), "{shown}");
    // Basic ops:hunter2
    assert_eq!(
        proxy.tunnels()[0].authorization.as_deref(),
        Some("Basic b3BzOmh1bnRlcjI=")
    );
}

#[test]
fn a_malformed_proxy_url_is_refused_by_build() {
    for url in [
        "ftp://proxy.example",
        "http://proxy.example:port",
        "proxy example",
    ] {
        let err = Client::builder(TOKEN).proxy(url).build().unwrap_err();

        assert_eq!(
            reason(err),
            format!("proxy URL {url:?} does not parse; expected such as http://proxy.example:3128")
        );
    }
}

#[test]
fn a_proxy_that_refuses_the_tunnel_is_named_in_the_error() {
    let (server, proxy) = (server(), ConnectProxy::refusing());
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .proxy(proxy.url())
        .build()
        .unwrap();

    let err = list(&client).unwrap_err();

    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "no usable answer from the server: the proxy {} did not open a tunnel to 127.0.0.1: ",
            proxy.url()
        )),
        "{text}"
    );
    // A refusal is not asked again.
    assert_eq!(err.attempts(), Some(1));
    assert_eq!(server.requests(), 0);
}

#[test]
fn a_proxy_that_is_not_there_is_named_in_the_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(TOKEN)
        .base_url("http://127.0.0.1:9/v2")
        .proxy(format!("http://127.0.0.1:{port}"))
        .max_retries(0)
        .build()
        .unwrap();

    let err = list(&client).unwrap_err();

    assert_eq!(
        err.to_string(),
        format!("no usable answer from the server: could not connect to the proxy http://127.0.0.1:{port}: connection refused")
    );
}
