//! Where a client's requests go, as it tells its callers: the address, the
//! proxy, and why a connection failed as a typed value.

use std::io::ErrorKind;
use std::net::TcpListener;

use magicbell_jwt::{Client, Error, FetchProjectTokensParams};
use magicbell_jwt_test_support::TOKEN;

fn built(base_url: &str) -> Client {
    Client::builder(TOKEN)
        .base_url(base_url)
        .no_proxy()
        .build()
        .unwrap()
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_address_is_the_base_url_s_host_and_port_with_the_scheme_s_port_when_none_is_written() {
    let default = Client::builder(TOKEN).no_proxy().build().unwrap();
    assert_eq!(default.address(), "api.magicbell.com:443");
    assert_eq!(built("http://127.0.0.1:9/v2").address(), "127.0.0.1:9");
    assert_eq!(built("http://[::1]:8080/v2").address(), "[::1]:8080");
    assert_eq!(built("https://[::1]/v2").address(), "[::1]:443");
    assert_eq!(built("https://example.com/v2").address(), "example.com:443");
    // Credentials in the base URL never get as far as an address.
    assert!(Client::builder(TOKEN)
        .base_url("https://user:pw@example.com/v2")
        .build()
        .is_err());
}

#[test]
fn the_proxy_is_the_one_set_without_its_credentials_and_none_without_one() {
    let proxied = Client::builder(TOKEN)
        .base_url("https://example.com/v2")
        .proxy("http://user:secret@proxy.example:3128")
        .build()
        .unwrap();
    assert_eq!(proxied.proxy(), Some("http://proxy.example:3128"));
    assert_eq!(built("https://example.com/v2").proxy(), None);
}

#[test]
fn a_refused_connection_has_the_io_error_kind_connection_refused() {
    let client = Client::builder(TOKEN)
        .base_url(format!("http://127.0.0.1:{}/v2", closed_port()))
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap();

    let err = client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap_err();

    let Error::Transport(transport) = err else {
        panic!("expected a transport error, got {err:?}");
    };
    assert_eq!(
        transport.io_error_kind(),
        Some(ErrorKind::ConnectionRefused)
    );
}

#[test]
fn an_answer_that_is_not_http_has_no_io_error_kind() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let garbage = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0; 1024];
        let _ = stream.read(&mut buf);
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
    });
    let client = Client::builder(TOKEN)
        .base_url(format!("http://127.0.0.1:{port}/v2"))
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap();

    let err = client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap_err();
    garbage.join().unwrap();

    let Error::Transport(transport) = err else {
        panic!("expected a transport error, got {err:?}");
    };
    assert_eq!(transport.io_error_kind(), None, "{transport}");
}
