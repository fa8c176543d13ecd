//! Did the server see it? How far a failed request got, what a TLS failure was, and the attempts note of messages.

use std::fmt;

/// How far a failed request got: the one answer that retries,
/// [`TransportError::is_connect`](crate::TransportError::is_connect), the messages and
/// [`Error::may_have_been_processed`](crate::Error::may_have_been_processed) read.
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

/// ` (after 3 attempts)`, with `; an earlier attempt may have been
/// processed` inside when `say_processed`: where the last attempt's own
/// words would read as "not acted on".
pub(crate) fn write_attempts(
    f: &mut fmt::Formatter<'_>,
    attempts: u32,
    say_processed: bool,
) -> fmt::Result {
    if attempts > 1 {
        write!(f, " (after {attempts} attempts")?;
        if say_processed {
            f.write_str("; an earlier attempt may have been processed")?;
        }
        f.write_str(")")?;
    }
    Ok(())
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
pub(crate) fn rustls_failure(e: &rustls::Error) -> TlsFailure {
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
pub(crate) fn tls_problem_from_text(text: &str) -> TlsProblem {
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

#[cfg(all(test, feature = "rustls"))]
mod tests {
    use super::*;

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
}
