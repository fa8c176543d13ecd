//! Did the server see it? How far a failed request got, and what a TLS failure was.

use crate::{Error, TransportError};

/// How far a failed request got: the one answer that retries,
/// [`TransportError::is_connect`], the messages and
/// [`Error::may_have_been_processed`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Nothing reached the server: refused before sending, or no connection
    /// (name lookup, TCP, the TLS handshake or the proxy's tunnel failed).
    NotSent,
    /// The server answered without acting on it: a 1xx, 307, 308 or 4xx status.
    Declined,
    /// Sent, and then no usable answer (a timeout, a cut connection, an
    /// answer that was not HTTP), or a 5xx status: it may have acted.
    MaybeProcessed,
    /// The server acted: a 2xx answer that could not be used.
    Processed,
}

/// What sending a request twice would do; each call site says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Reading or revoking: a second send leaves the same state.
    Repeatable,
    /// Creating: a second send after the first was processed mints a second
    /// live token that nobody holds.
    Creates,
}

/// A TLS failure: what went wrong, and whether the handshake is where it
/// happened (so no request was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TlsFailure {
    pub(crate) problem: TlsProblem,
    pub(crate) in_handshake: bool,
}

/// What went wrong in a TLS session, as far as the error tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsProblem {
    Untrusted,
    Expired,
    OtherName,
    Other,
}

impl Error {
    /// How far the failed request's last attempt got.
    pub(crate) fn reach(&self) -> Reach {
        match self {
            Error::Api(e) => status_reach(e.status),
            Error::Transport(e) => e.reach(),
            Error::InvalidInput { .. } | Error::NotAttempted { .. } => Reach::NotSent,
            Error::Decode { .. }
            | Error::ResponseTooLarge { .. }
            | Error::MissingCursor
            | Error::RepeatedCursor { .. } => Reach::Processed,
        }
    }
}

/// How far a request answered with `status` (outside 200–299) got.
pub(crate) fn status_reach(status: u16) -> Reach {
    match status {
        500.. => Reach::MaybeProcessed,
        // 307 and 308 ask for the same request elsewhere: not acted on. A
        // 303 is the usual answer to a POST that was processed.
        300..400 if !matches!(status, 307 | 308) => Reach::MaybeProcessed,
        _ => Reach::Declined,
    }
}

impl TransportError {
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
}

/// Whether an I/O error is a failed host name lookup. std gives it no kind of
/// its own (it is the unstable `Uncategorized`) and no OS error code on Unix;
/// its fixed English prefix, std's own and not the OS's, is the only mark.
pub(crate) fn is_name_lookup(e: &std::io::Error) -> bool {
    // On Windows it is a Winsock code: WSAHOST_NOT_FOUND to WSANO_DATA.
    if cfg!(windows) {
        return matches!(e.raw_os_error(), Some(11001..=11004));
    }
    e.raw_os_error().is_none() && e.to_string().starts_with("failed to lookup address")
}

/// What a rustls error says, and whether only a handshake raises it: the
/// server's certificate is checked, and versions and ciphers agreed, there
/// alone. Anything else may have come after the request was written
/// (rustls raises `InappropriateHandshakeMessage` on a live session too, and a
/// `handshake_failure` alert can answer a post-handshake message), so it
/// counts as maybe processed.
#[cfg(feature = "rustls")]
fn rustls_failure(e: &rustls::Error) -> TlsFailure {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    let problem = match e {
        E::InvalidCertificate(C::UnknownIssuer) => TlsProblem::Untrusted,
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => TlsProblem::Expired,
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            TlsProblem::OtherName
        }
        _ => TlsProblem::Other,
    };
    let in_handshake = matches!(
        e,
        E::InvalidCertificate(_)
            | E::NoCertificatesPresented
            | E::UnsupportedNameType
            | E::PeerIncompatible(_)
            | E::NoApplicationProtocol
            | E::AlertReceived(
                A::ProtocolVersion
                    | A::InsufficientSecurity
                    | A::UnrecognisedName
                    | A::NoApplicationProtocol
                    | A::InappropriateFallback
            )
    );
    TlsFailure {
        problem,
        in_handshake,
    }
}

/// The problem a TLS library's message names, for native-tls, whose error
/// has no typed reason.
#[cfg(feature = "native-tls")]
fn tls_problem_from_text(text: &str) -> TlsProblem {
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&[
        "local issuer",
        "self signed",
        "self-signed",
        "not trusted",
        "UnknownIssuer",
    ]) {
        TlsProblem::Untrusted
    } else if has(&["expired", "Expired"]) {
        TlsProblem::Expired
    } else if has(&["hostname mismatch", "not valid for name", "NotValidForName"]) {
        TlsProblem::OtherName
    } else {
        TlsProblem::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{api, policy, transport};
    use std::io::{Error as IoError, ErrorKind};

    #[test]
    fn transport_failures_before_the_request_was_written_are_not_sent() {
        for source in [
            ureq::Error::HostNotFound,
            ureq::Error::ConnectionFailed,
            ureq::Error::ConnectProxyFailed("403".to_owned()),
            ureq::Error::Timeout(ureq::Timeout::Resolve),
            ureq::Error::Timeout(ureq::Timeout::Connect),
            ureq::Error::Tls("Rustls invalid dns name error"),
            ureq::Error::Io(IoError::from(ErrorKind::ConnectionRefused)),
            ureq::Error::Io(IoError::from(ErrorKind::HostUnreachable)),
            ureq::Error::Io(IoError::from(ErrorKind::NetworkUnreachable)),
            ureq::Error::Io(IoError::other(
                "failed to lookup address information: Name or service not known",
            )),
        ] {
            let shown = format!("{source:?}");
            let e = transport(source);
            assert_eq!(e.reach(), Reach::NotSent, "{shown}");
            assert!(e.is_connect(), "{shown}");
            assert!(
                !Error::Transport(Box::new(e)).may_have_been_processed(),
                "{shown}"
            );
        }
    }

    #[test]
    fn transport_failures_after_the_request_was_written_may_have_been_processed() {
        for source in [
            ureq::Error::Timeout(ureq::Timeout::RecvResponse),
            ureq::Error::Timeout(ureq::Timeout::RecvBody),
            ureq::Error::Timeout(ureq::Timeout::SendBody),
            ureq::Error::Io(IoError::from(ErrorKind::UnexpectedEof)),
            ureq::Error::Io(IoError::from(ErrorKind::ConnectionReset)),
            ureq::Error::Io(IoError::from(ErrorKind::BrokenPipe)),
            ureq::Error::Io(IoError::from(ErrorKind::TimedOut)),
            // Another error whose text merely looks like a lookup failure.
            ureq::Error::Io(IoError::other("lookup failed")),
            ureq::Error::BodyStalled,
        ] {
            let shown = format!("{source:?}");
            let e = transport(source);
            assert_eq!(e.reach(), Reach::MaybeProcessed, "{shown}");
            assert!(!e.is_connect(), "{shown}");
            assert!(
                Error::Transport(Box::new(e)).may_have_been_processed(),
                "{shown}"
            );
        }
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

    #[cfg(feature = "rustls")]
    #[test]
    fn rustls_certificate_errors_name_the_problem() {
        use rustls::CertificateError as C;
        let cases = [
            (C::UnknownIssuer, TlsProblem::Untrusted),
            (C::Expired, TlsProblem::Expired),
            (C::NotValidForName, TlsProblem::OtherName),
            (C::BadSignature, TlsProblem::Other),
        ];
        for (error, want) in cases {
            let failure = rustls_failure(&rustls::Error::InvalidCertificate(error));
            assert_eq!(failure.problem, want);
            assert!(failure.in_handshake);
        }
    }

    #[test]
    fn answers_decide_by_status() {
        let cases = [
            (400, false),
            (404, false),
            (408, false),
            (422, false),
            (429, false),
            (307, false),
            (308, false),
            (301, true),
            (303, true),
            (500, true),
            (502, true),
            (503, true),
            (504, true),
        ];
        for (status, processed) in cases {
            assert_eq!(
                api(status, None).may_have_been_processed(),
                processed,
                "{status}"
            );
        }
        assert!(!Error::invalid("x").may_have_been_processed());
        assert!(Error::MissingCursor.may_have_been_processed());
        assert!(Error::Decode {
            status: 201,
            message: String::new()
        }
        .may_have_been_processed());
    }

    #[test]
    fn a_2xx_whose_body_was_cut_was_processed_and_says_the_token_exists() {
        let mut e = transport(ureq::Error::Io(IoError::from(ErrorKind::UnexpectedEof)));
        e.answered = Some(201);
        e.creates = true;
        assert_eq!(e.reach(), Reach::Processed);
        assert!(!e.is_connect());
        assert_eq!(
            e.to_string(),
            "no usable answer from the server: the connection closed before a whole answer arrived; the server answered 201, so the token was created, but its value did not arrive (list the tokens to find it and revoke it)"
        );
        // Even a kind that only connecting raises cannot undo the 201.
        let mut refused = transport(ureq::Error::Io(IoError::from(ErrorKind::ConnectionRefused)));
        refused.answered = Some(201);
        let refused = Error::Transport(Box::new(refused));
        assert!(refused.may_have_been_processed());
        assert_eq!(
            policy().wait_before_retry(&refused, Effect::Creates, 1),
            None
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
