//! A loopback HTTPS server for the TLS tests: rustls over a std
//! `TcpListener`, serving the certificates in `test-support/fixtures/tls`
//! (made by `make.sh` there) and answering every request with one JSON body.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::{answer_bytes, read_request};

/// The folder of the certificates and keys.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls/");

/// An HTTPS server on 127.0.0.1 with a certificate from the fixtures.
pub struct TlsServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl TlsServer {
    /// The test CA that signs every fixture certificate.
    pub const CA: &'static str = include_str!("../fixtures/tls/ca.pem");

    /// The text of the fixture `file` (`localhost.key`, `other-name.pem`...).
    #[track_caller]
    pub fn fixture(file: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}{file}")).expect("fixture file")
    }

    /// Serves `fixtures/tls/{name}.pem` and `.key` on 127.0.0.1,
    /// answering each request with `200` and `body`.
    #[track_caller]
    pub fn start(name: &str, body: &'static str) -> TlsServer {
        let dir = FIXTURES;
        let certs = CertificateDer::pem_file_iter(format!("{dir}{name}.pem"))
            .expect("certificate file")
            .collect::<Result<Vec<_>, _>>()
            .expect("certificate PEM");
        let key = PrivateKeyDer::from_pem_file(format!("{dir}{name}.key")).expect("key PEM");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (config, counter) = (config.clone(), counter.clone());
                thread::spawn(move || {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut reader = BufReader::new(rustls::StreamOwned::new(conn, stream));
                    // A client that refuses the certificate ends the
                    // handshake, and with it this loop, before any request.
                    while read_request(&mut reader).is_some() {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let answer = answer_bytes(
                            200,
                            &[("content-type", "application/json")],
                            body.as_bytes(),
                        );
                        let stream = reader.get_mut();
                        if stream
                            .write_all(&answer)
                            .and_then(|_| stream.flush())
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        TlsServer { addr, requests }
    }

    /// The base URL, by the name the certificates are for.
    pub fn url(&self) -> String {
        format!("https://localhost:{}/v2", self.addr.port())
    }

    /// Whole requests read so far (after a completed handshake).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
