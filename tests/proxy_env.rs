//! The environment's proxy variables. They are process-wide, so this file
//! holds one test, and its own process (the only place the suite sets them).

use magicbell_jwt::{Client, FakeServer, FetchProjectTokensParams};
use magicbell_jwt_test_support::ConnectProxy;
use magicbell_jwt_test_support::TOKEN;
use magicbell_jwt_test_support::{json, FaultServer};

const PAGE: &str = r#"{"data":[],"links":{"next":null}}"#;

#[test]
fn all_proxy_is_honoured_unless_no_proxy_is_called_or_no_proxy_lists_the_host() {
    let (server, proxy) = (
        FaultServer::start(|_, _| json(200, PAGE)),
        ConnectProxy::start(),
    );
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("ALL_PROXY", proxy.url());
    let through_env = Client::builder(TOKEN)
        .base_url(server.url())
        .build()
        .unwrap();
    assert_eq!(through_env.proxy(), Some(proxy.url().as_str()));
    let list = |client: Client| {
        client
            .fetch_project_tokens(&FetchProjectTokensParams::default())
            .unwrap()
    };

    list(
        Client::builder(TOKEN)
            .base_url(server.url())
            .build()
            .unwrap(),
    );
    assert_eq!(proxy.tunnels().len(), 1, "the default follows ALL_PROXY");

    list(
        Client::builder(TOKEN)
            .base_url(server.url())
            .no_proxy()
            .build()
            .unwrap(),
    );
    assert_eq!(proxy.tunnels().len(), 1, "no_proxy() ignores it");

    // FakeServer's own client is built with no_proxy(): a proxy variable in
    // a developer's or CI's environment does not take its requests away.
    let fake = FakeServer::start().unwrap();
    list(fake.client());
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(proxy.tunnels().len(), 1, "FakeServer::client() ignores it");

    std::env::set_var("NO_PROXY", "127.0.0.1");
    let listed = Client::builder(TOKEN)
        .base_url(server.url())
        .build()
        .unwrap();
    assert_eq!(listed.proxy(), None, "NO_PROXY lists the host");
    list(
        Client::builder(TOKEN)
            .base_url(server.url())
            .build()
            .unwrap(),
    );
    assert_eq!(proxy.tunnels().len(), 1, "NO_PROXY lists the host");

    assert_eq!(server.requests(), 3);
}
