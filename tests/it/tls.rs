//! TLS over loopback: a rustls HTTPS server with certificates signed by a
//! test CA (test-support/fixtures/tls, made by make.sh there).

use crate::util::{reason, shown, TOKEN};
use magicbell_jwt::{
    Client, ClientBuilder, CreateProjectTokenRequest, Error, FetchProjectTokensParams,
};
use magicbell_jwt_test_support::TlsServer;

const CA: &str = TlsServer::CA;

const PAGE: &str =
    r#"{"data":[{"id":"t1","created_at":"2026-01-01T00:00:00Z"}],"links":{"next":null}}"#;

fn builder(server: &TlsServer) -> ClientBuilder {
    // The environment's proxy, if any, has no business with loopback tests.
    // A generous connect timeout: a cold first handshake (the platform
    // verifier loading the system's roots) must not be retried as a timeout.
    Client::builder(TOKEN)
        .base_url(server.url())
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(120))
}

#[track_caller]
fn list_error(client: &Client) -> Error {
    let result = client.fetch_project_tokens(&FetchProjectTokensParams::default());
    shown(&result);
    result.unwrap_err()
}

#[test]
fn with_the_ca_from_root_certificates_pem_a_call_succeeds() {
    let server = TlsServer::start("localhost", PAGE);
    let client = builder(&server).root_certificates_pem(CA).build().unwrap();

    let page = client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap();

    assert_eq!(page.data[0].id.as_deref(), Some("t1"));
    assert_eq!(server.requests(), 1);
}

#[test]
fn without_the_ca_the_error_says_the_certificate_is_not_trusted() {
    let server = TlsServer::start("localhost", PAGE);
    let client = builder(&server).build().unwrap();

    let err = list_error(&client);

    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no usable answer from the server: TLS with localhost failed: the server's certificate is not trusted: its issuer is not among the trusted roots (behind a TLS-inspecting proxy, trust its CA with root_certificates_pem)"
    );
    // A refused certificate is not tried again.
    assert_eq!(err.attempts(), Some(1));
    assert_eq!(server.requests(), 0);
}

#[test]
fn a_create_whose_certificate_is_refused_was_not_processed_and_is_not_sent_again() {
    let server = TlsServer::start("localhost", PAGE);
    let client = builder(&server).build().unwrap();

    let result = client.create_project_jwt(&CreateProjectTokenRequest::new("ci"));
    shown(&result);
    let err = result.unwrap_err();

    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert!(transport.is_connect());
    assert!(!err.may_have_been_processed());
    // The policy for a refused certificate: it would be refused again.
    assert_eq!(err.attempts(), Some(1));
    assert!(!err.to_string().contains("may or may not"), "{err}");
    assert_eq!(server.requests(), 0);
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let server = TlsServer::start("other-name", PAGE);
    let client = builder(&server).root_certificates_pem(CA).build().unwrap();

    let err = list_error(&client);

    assert_eq!(
        err.to_string(),
        "no usable answer from the server: TLS with localhost failed: the server's certificate is for another name than localhost"
    );
    assert_eq!(server.requests(), 0);
}

#[test]
fn an_expired_certificate_is_refused_as_expired() {
    let server = TlsServer::start("expired", PAGE);
    let client = builder(&server).root_certificates_pem(CA).build().unwrap();

    let err = list_error(&client);

    assert_eq!(
        err.to_string(),
        "no usable answer from the server: TLS with localhost failed: the server's certificate has expired"
    );
    assert_eq!(server.requests(), 0);
}

#[test]
fn a_bundle_with_no_certificate_is_refused_by_build() {
    for pem in [
        "",
        "not a certificate",
        TlsServer::fixture("localhost.key").as_str(),
    ] {
        let err = Client::builder(TOKEN)
            .root_certificates_pem(pem)
            .build()
            .unwrap_err();

        assert_eq!(
            reason(err),
            "the root certificate bundle holds no certificate (no -----BEGIN CERTIFICATE----- section)"
        );
    }
}

#[test]
fn a_bundle_among_other_certificates_trusts_each_of_them() {
    let server = TlsServer::start("localhost", PAGE);
    // A system bundle holds many roots; the test CA among unrelated ones.
    let bundle = format!("{}\n{CA}", TlsServer::fixture("other-name.pem"));
    let client = builder(&server)
        .root_certificates_pem(bundle)
        .build()
        .unwrap();

    assert!(client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .is_ok());
}

#[test]
fn the_bundle_shows_in_debug_by_size_only() {
    let builder = Client::builder(TOKEN).root_certificates_pem(CA);

    let shown = format!("{builder:?}");

    assert!(
        shown.contains(&format!("PemBundle({} bytes)", CA.len())),
        "{shown}"
    );
    assert!(!shown.contains("BEGIN CERTIFICATE"));
}

/// A listener that reads each ClientHello and closes the connection: a
/// handshake cut short, which no TLS library can tell from a cut after the
/// request was written. Returns the base URL and the connection count.
#[track_caller]
fn cutting_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/v2", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = stream.read(&mut [0; 512]);
        }
    });
    (url, count)
}

#[test]
fn a_handshake_cut_short_counts_as_maybe_processed_so_a_create_is_not_sent_again() {
    let (url, connections) = cutting_server();
    let client = Client::builder(TOKEN)
        .base_url(url)
        .no_proxy()
        .retry_delay(std::time::Duration::from_millis(1))
        .build()
        .unwrap();

    let err = client
        .create_project_jwt(&CreateProjectTokenRequest::new("ci"))
        .unwrap_err();

    assert!(err.may_have_been_processed(), "{err:?}");
    assert_eq!(err.attempts(), Some(1));
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    // A list is repeatable: it is sent again.
    let err = list_error(&client);
    assert_eq!(err.attempts(), Some(3));
}

/// A plain HTTP server on the port an `https` URL names: it answers the
/// ClientHello with a 400, as HTTP servers do with bytes that are not HTTP.
#[track_caller]
fn plain_http_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/v2", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            // The whole ClientHello record (a 5-byte header, then its
            // length), then the answer; then, rather than closing with
            // unread bytes (a reset that could overtake the answer), read
            // until the client hangs up.
            let mut header = [0; 5];
            if stream.read_exact(&mut header).is_err() {
                continue;
            }
            let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
            let _ = stream.read_exact(&mut vec![0; length]);
            let _ = stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let _ = stream.read_to_end(&mut Vec::new());
        }
    });
    url
}

#[test]
fn an_https_url_to_a_plain_http_server_is_a_tls_failure_with_the_library_s_reason() {
    let client = Client::builder(TOKEN)
        .base_url(plain_http_server())
        .no_proxy()
        .build()
        .unwrap();

    let err = list_error(&client);

    // Not a problem that would pass on a second try.
    assert_eq!(err.attempts(), Some(1));
    let shown = err.to_string();
    if cfg!(feature = "native-tls") {
        // The system library's own words (OpenSSL's "wrong version number",
        // SChannel's, Security.framework's) vary: the wording around them
        // does not.
        let prefix = "no usable answer from the server: TLS with 127.0.0.1 failed: the TLS handshake failed (";
        let reason = shown
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'));
        assert!(reason.is_some_and(|r| !r.is_empty()), "{shown}");
    } else {
        // rustls raises this error on a live session too, so it cannot be
        // told from one after the request was written.
        assert_eq!(
            shown,
            "no usable answer from the server: TLS with 127.0.0.1 failed: the TLS session failed during or after the handshake (received corrupt message of type InvalidContentType)"
        );
    }
}
