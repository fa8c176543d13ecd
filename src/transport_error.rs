//! `TransportError`: a request that got no usable answer, how far it got, and its message.

use std::fmt;
use std::sync::Arc;

use crate::endpoint::Endpoint;
#[cfg(feature = "rustls")]
use crate::reach::rustls_failure;
#[cfg(feature = "native-tls")]
use crate::reach::tls_problem_from_text;
use crate::reach::{is_name_lookup, write_attempts, Reach, TlsFailure, TlsProblem};

/// A request that got no usable answer.
#[derive(Debug)]
pub struct TransportError {
    pub(crate) source: ureq::Error,
    pub(crate) attempts: u32,
    pub(crate) endpoint: Arc<Endpoint>,
    // The request was a create: a failure after sending may have minted a
    // token, which the message says.
    pub(crate) creates: bool,
    // The 2xx status whose body could not be read: the server acted.
    pub(crate) answered: Option<u16>,
    // An attempt before the last may have been processed.
    pub(crate) processed_before: bool,
}

impl TransportError {
    /// How many times the request was sent, retries included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether a timeout ended the request: connecting, or waiting for the
    /// answer.
    pub fn is_timeout(&self) -> bool {
        matches!(self.source, ureq::Error::Timeout(_))
            || matches!(&self.source, ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
    }

    /// Whether the last attempt never reached the server: the name lookup,
    /// the connection, the TLS handshake or the proxy's tunnel failed.
    ///
    /// It describes the last attempt only: an earlier one may have reached
    /// the server (read, then cut) before the retries found it gone, and
    /// [`Error::may_have_been_processed`](crate::Error::may_have_been_processed), which speaks for every attempt,
    /// is then `true`. A call that was not retried is `false` there
    /// whenever this is `true`.
    pub fn is_connect(&self) -> bool {
        self.reach() == Reach::NotSent
    }

    /// The kind of the I/O error that ended the last attempt, such as
    /// [`ConnectionRefused`](std::io::ErrorKind::ConnectionRefused), or
    /// `None` when something else did (a TLS problem, a timeout of the
    /// client's own, an answer that was not HTTP).
    pub fn io_error_kind(&self) -> Option<std::io::ErrorKind> {
        match &self.source {
            ureq::Error::Io(e) => Some(e.kind()),
            _ => None,
        }
    }

    /// How far the last attempt got, from ureq's error variant, the I/O error's
    /// kind and, for TLS, the TLS library's own error.
    pub(crate) fn reach(&self) -> Reach {
        use std::io::ErrorKind as K;
        if self.answered.is_some() {
            return Reach::Processed;
        }
        match &self.source {
            // Raised while resolving, connecting or setting up TLS, before
            // any byte of the request is written.
            ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::ConnectProxyFailed(_)
            | ureq::Error::Tls(_)
            | ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::RequireHttpsOnly(_)
            | ureq::Error::TlsRequired => Reach::NotSent,
            #[cfg(feature = "rustls")]
            ureq::Error::Rustls(_) => Reach::NotSent,
            // ureq reports native-tls errors by this variant only from the
            // handshake; later failures come as I/O.
            #[cfg(feature = "native-tls")]
            ureq::Error::NativeTls(_) | ureq::Error::Der(_) => Reach::NotSent,
            ureq::Error::Io(e) => match e.kind() {
                K::ConnectionRefused
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::AddrNotAvailable => Reach::NotSent,
                _ if is_name_lookup(e) => Reach::NotSent,
                _ if self.tls_failure().is_some_and(|t| t.in_handshake) => Reach::NotSent,
                _ => Reach::MaybeProcessed,
            },
            _ => Reach::MaybeProcessed,
        }
    }

    /// Whether the same request may fare better sent again: the connection
    /// failed, not a check that would fail the same way (a certificate, a
    /// proxy refusing the tunnel, a setting).
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self.source,
            ureq::Error::Io(_)
                | ureq::Error::Timeout(_)
                | ureq::Error::HostNotFound
                | ureq::Error::ConnectionFailed
        ) && self.tls_failure().is_none()
    }

    /// Whether the connection closed under the request before any answer:
    /// what a server does when its keep-alive timeout fires as a request
    /// arrives on a pooled connection.
    pub(crate) fn is_closed_connection(&self) -> bool {
        use std::io::ErrorKind as K;
        matches!(&self.source, ureq::Error::Io(io) if matches!(
            io.kind(),
            K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
        ))
    }

    /// The TLS failure behind this error, if it is one.
    pub(crate) fn tls_failure(&self) -> Option<TlsFailure> {
        let handshake = |problem| {
            Some(TlsFailure {
                problem,
                in_handshake: true,
            })
        };
        match &self.source {
            ureq::Error::Tls(_) => handshake(TlsProblem::Other),
            #[cfg(feature = "rustls")]
            ureq::Error::Rustls(e) => Some(rustls_failure(e)),
            // rustls reports the handshake, and the session after it, through
            // the stream's I/O errors.
            #[cfg(feature = "rustls")]
            ureq::Error::Io(e) => e
                .get_ref()?
                .downcast_ref::<rustls::Error>()
                .map(rustls_failure),
            // native-tls's error is opaque: its text (OpenSSL's, SChannel's or
            // Security.framework's message) is all there is to read the
            // problem from. That it is a handshake failure, the variant says.
            #[cfg(feature = "native-tls")]
            ureq::Error::NativeTls(e) => handshake(tls_problem_from_text(&format!("{e:?} {e}"))),
            _ => None,
        }
    }

    /// The TLS library's message, where it gives one.
    pub(crate) fn tls_detail(&self) -> Option<String> {
        match &self.source {
            ureq::Error::Tls(what) => Some((*what).to_owned()),
            #[cfg(feature = "rustls")]
            ureq::Error::Rustls(e) => Some(e.to_string()),
            #[cfg(feature = "rustls")]
            ureq::Error::Io(e) => e
                .get_ref()?
                .downcast_ref::<rustls::Error>()
                .map(ToString::to_string),
            #[cfg(feature = "native-tls")]
            ureq::Error::NativeTls(e) => Some(e.to_string()),
            _ => None,
        }
    }

    /// What failed, naming the host or proxy; no secret is ever part of it.
    pub(crate) fn what(&self) -> String {
        use std::io::ErrorKind as K;
        let host = &self.endpoint.host;
        let proxy = self.endpoint.proxy.as_deref();
        if let Some(TlsFailure {
            problem,
            in_handshake,
        }) = self.tls_failure()
        {
            let why = match problem {
                TlsProblem::Untrusted => "the server's certificate is not trusted: its issuer is not among the trusted roots (behind a TLS-inspecting proxy, trust its CA with root_certificates_pem)".to_owned(),
                TlsProblem::Expired => "the server's certificate has expired".to_owned(),
                TlsProblem::OtherName => format!("the server's certificate is for another name than {host}"),
                TlsProblem::Other if in_handshake => "the TLS handshake failed".to_owned(),
                TlsProblem::Other => "the TLS session failed during or after the handshake".to_owned(),
            };
            // The TLS library's own reason, when it is not one named above.
            if let (TlsProblem::Other, Some(detail)) = (problem, self.tls_detail()) {
                return format!("TLS with {host} failed: {why} ({detail})");
            }
            return format!("TLS with {host} failed: {why}");
        }
        if matches!(&self.source, ureq::Error::HostNotFound)
            || matches!(&self.source, ureq::Error::Io(e) if is_name_lookup(e))
        {
            // Through a proxy, the client looks up only the proxy's name.
            return match proxy {
                Some(proxy) => format!("the proxy {proxy}: its host name could not be resolved"),
                None => format!("the host name {host} could not be resolved"),
            };
        }
        match (&self.source, proxy) {
            (ureq::Error::Timeout(ureq::Timeout::Resolve), _) => {
                format!("looking up the host name {host} timed out")
            }
            (ureq::Error::Timeout(ureq::Timeout::Connect), Some(proxy)) => {
                format!("connecting to {host} through the proxy {proxy} timed out")
            }
            (ureq::Error::Timeout(ureq::Timeout::Connect), None) => {
                format!("connecting to {host} timed out")
            }
            (ureq::Error::Timeout(_), _) => "the server did not answer in time".to_owned(),
            (ureq::Error::ConnectProxyFailed(why), proxy) => format!(
                "the proxy {} did not open a tunnel to {host}: {why}",
                proxy.unwrap_or("in use")
            ),
            (ureq::Error::ConnectionFailed, Some(proxy)) => {
                format!("could not connect to the proxy {proxy}")
            }
            (ureq::Error::ConnectionFailed, None) => {
                format!("could not connect to {}", self.endpoint.address)
            }
            (ureq::Error::Protocol(_), _) => "the answer was not valid HTTP".to_owned(),
            (ureq::Error::Io(e), proxy) => match (e.kind(), proxy) {
                (K::ConnectionRefused, Some(proxy)) => {
                    format!("could not connect to the proxy {proxy}: connection refused")
                }
                (K::ConnectionRefused, None) => format!(
                    "could not connect to {}: connection refused",
                    self.endpoint.address
                ),
                (
                    K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof,
                    _,
                ) => "the connection closed before a whole answer arrived".to_owned(),
                (K::TimedOut | K::WouldBlock, _) => "the server did not answer in time".to_owned(),
                (K::HostUnreachable | K::NetworkUnreachable, Some(proxy)) => {
                    format!("could not reach the proxy {proxy}: no route to it")
                }
                (K::HostUnreachable | K::NetworkUnreachable, None) => {
                    format!("could not reach {}: no route to it", self.endpoint.address)
                }
                _ => format!("the connection to {host} failed"),
            },
            _ => "the request failed".to_owned(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no usable answer from the server: {}", self.what())?;
        if let (true, Some(status)) = (self.creates, self.answered) {
            write!(
                f,
                "; the server answered {status}, so the token was created, but its value did not arrive (list the tokens to find it and revoke it)"
            )?;
        } else if self.creates && self.reach() == Reach::MaybeProcessed {
            f.write_str(
                "; the server may or may not have processed the create, so it was not sent again (list the tokens to check)",
            )?;
        }
        let acted = self.reach() != Reach::NotSent;
        write_attempts(f, self.attempts, self.processed_before && !acted)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A transport error of one attempt to `api.example:443`, for unit tests.
#[cfg(test)]
pub(crate) fn transport(source: ureq::Error) -> TransportError {
    TransportError {
        source,
        attempts: 1,
        endpoint: Arc::new(Endpoint {
            host: "api.example".to_owned(),
            address: "api.example:443".to_owned(),
            proxy: None,
        }),
        creates: false,
        answered: None,
        processed_before: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error as IoError, ErrorKind};

    #[test]
    fn unreachable_hosts_are_named_with_their_port() {
        let e = transport(ureq::Error::Io(IoError::from(ErrorKind::HostUnreachable)));
        assert_eq!(e.what(), "could not reach api.example:443: no route to it");
        let mut proxied = transport(ureq::Error::Io(IoError::from(
            ErrorKind::NetworkUnreachable,
        )));
        proxied.endpoint = Arc::new(Endpoint {
            host: "api.example".to_owned(),
            address: "api.example:443".to_owned(),
            proxy: Some("http://proxy.example:3128".to_owned()),
        });
        assert_eq!(
            proxied.what(),
            "could not reach the proxy http://proxy.example:3128: no route to it"
        );
    }

    #[test]
    fn each_transport_failure_is_named_for_what_failed() {
        let proxied = |source| {
            let mut e = transport(source);
            e.endpoint = Arc::new(Endpoint {
                host: "api.example".to_owned(),
                address: "api.example:443".to_owned(),
                proxy: Some("http://proxy.example:3128".to_owned()),
            });
            e
        };
        let io = |kind| ureq::Error::Io(IoError::from(kind));
        let cases = [
            (
                transport(ureq::Error::Timeout(ureq::Timeout::Resolve)),
                "looking up the host name api.example timed out",
            ),
            (
                proxied(ureq::Error::Timeout(ureq::Timeout::Resolve)),
                "looking up the host name api.example timed out",
            ),
            (
                transport(ureq::Error::Timeout(ureq::Timeout::Connect)),
                "connecting to api.example timed out",
            ),
            (
                proxied(ureq::Error::Timeout(ureq::Timeout::Connect)),
                "connecting to api.example through the proxy http://proxy.example:3128 timed out",
            ),
            (
                transport(ureq::Error::Timeout(ureq::Timeout::RecvResponse)),
                "the server did not answer in time",
            ),
            (
                transport(ureq::Error::ConnectionFailed),
                "could not connect to api.example:443",
            ),
            (
                proxied(ureq::Error::ConnectionFailed),
                "could not connect to the proxy http://proxy.example:3128",
            ),
            (
                transport(io(ErrorKind::TimedOut)),
                "the server did not answer in time",
            ),
            (
                transport(io(ErrorKind::WouldBlock)),
                "the server did not answer in time",
            ),
            (
                transport(io(ErrorKind::Other)),
                "the connection to api.example failed",
            ),
            // ureq's own TLS error, raised before the handshake starts.
            (
                transport(ureq::Error::Tls("Rustls invalid dns name error")),
                "TLS with api.example failed: the TLS handshake failed (Rustls invalid dns name error)",
            ),
        ];
        for (error, want) in cases {
            assert_eq!(error.what(), want, "{:?}", error.source);
        }
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_rustls_error_from_ureq_is_named_as_a_tls_failure() {
        let expired = transport(ureq::Error::Rustls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired,
        )));
        assert_eq!(
            expired.what(),
            "TLS with api.example failed: the server's certificate has expired"
        );
        // Another problem: the TLS library's own words are added.
        let other = transport(ureq::Error::Rustls(rustls::Error::General(
            "no provider".into(),
        )));
        assert_eq!(
            other.what(),
            "TLS with api.example failed: the TLS session failed during or after the handshake (unexpected error: no provider)"
        );
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_refused_certificate_is_not_sent_but_a_later_alert_may_have_been_processed() {
        use rustls::{AlertDescription, CertificateError};
        let tls =
            |e: rustls::Error| transport(ureq::Error::Io(IoError::new(ErrorKind::InvalidData, e)));
        let refused = tls(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        assert_eq!(refused.reach(), Reach::NotSent);
        assert_eq!(
            refused.tls_failure(),
            Some(TlsFailure {
                problem: TlsProblem::Untrusted,
                in_handshake: true
            })
        );
        assert!(refused.is_connect());
        assert!(!refused.is_transient());

        // A fatal alert once the session is up: the create may have landed.
        let later = tls(rustls::Error::AlertReceived(
            AlertDescription::InternalError,
        ));
        assert_eq!(later.reach(), Reach::MaybeProcessed);
        assert!(!later.is_connect());
        assert_eq!(later.tls_failure().map(|t| t.in_handshake), Some(false));

        let handshake = tls(rustls::Error::AlertReceived(
            AlertDescription::ProtocolVersion,
        ));
        assert_eq!(handshake.reach(), Reach::NotSent);
        // Raised on a live session too: it may come after the request.
        let either = tls(rustls::Error::AlertReceived(
            AlertDescription::HandshakeFailure,
        ));
        assert_eq!(either.reach(), Reach::MaybeProcessed);
        let message = tls(rustls::Error::InappropriateHandshakeMessage {
            expect_types: vec![],
            got_type: rustls::HandshakeType::KeyUpdate,
        });
        assert_eq!(message.reach(), Reach::MaybeProcessed);
        assert_eq!(
            message.what(),
            "TLS with api.example failed: the TLS session failed during or after the handshake (received unexpected handshake message: got KeyUpdate when expecting )"
        );
    }

    #[test]
    fn only_a_connection_closed_before_any_answer_is_a_closed_connection() {
        for kind in [
            ErrorKind::UnexpectedEof,
            ErrorKind::ConnectionReset,
            ErrorKind::ConnectionAborted,
            ErrorKind::BrokenPipe,
        ] {
            assert!(transport(ureq::Error::Io(IoError::from(kind))).is_closed_connection());
        }
        for source in [
            ureq::Error::Io(IoError::from(ErrorKind::ConnectionRefused)),
            ureq::Error::Io(IoError::from(ErrorKind::TimedOut)),
            ureq::Error::Timeout(ureq::Timeout::RecvResponse),
            ureq::Error::ConnectionFailed,
        ] {
            assert!(!transport(source).is_closed_connection());
        }
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_rustls_error_from_setting_up_the_session_is_not_sent() {
        let e = transport(ureq::Error::Rustls(rustls::Error::General(
            "no provider".into(),
        )));
        assert_eq!(e.reach(), Reach::NotSent);
        assert!(!e.is_transient());
    }
}
