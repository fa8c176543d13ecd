//! `Error` and the errors it carries, `ApiError` and `TransportError`, with their messages.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use ureq::http;

use crate::endpoint::Endpoint;
use crate::reach::{is_name_lookup, status_reach, Effect, Reach, TlsFailure, TlsProblem};
use crate::redact;
use crate::time::parse_retry_after;
// Named only in docs.
#[cfg(doc)]
use crate::{Client, ClientBuilder, Paginator};

/// Everything that can go wrong with a call.
///
/// `Display` is one line that includes the server's own message where there is
/// one; it never holds the bearer token or a created token's value. Where the
/// failure came from below (the network, TLS, a proxy), `source()` is the
/// underlying error.
///
/// A call that was retried speaks for every attempt: [`Error::attempts`]
/// counts them, [`Error::may_have_been_processed`] is `true` when any of
/// them may have reached the server, and the message says so when the last
/// attempt alone would not (`could not connect to 127.0.0.1:8080: connection
/// refused (after 3 attempts; an earlier attempt may have been processed)`).
/// The rest of the error (its variant, status, [`TransportError::is_connect`])
/// describes the last attempt.
///
/// ```no_run
/// use magicbell_jwt::Error;
/// # let client = magicbell_jwt::Client::new("token")?;
///
/// match client.discard_project_jwt("3f1c") {
///     Ok(discarded) => println!("revoked at {}", discarded.discarded_at),
///     Err(Error::Api(e)) if e.status() == 404 => println!("no such token"),
///     Err(e @ Error::Transport(_)) => eprintln!("network trouble: {e}"),
///     Err(Error::InvalidInput { reason, .. }) => eprintln!("not sent: {reason}"),
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), magicbell_jwt::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a status outside 200–299 (redirects included:
    /// they are never followed).
    Api(Box<ApiError>),
    /// The request got no usable answer: the connection could not be made,
    /// timed out or was cut, or what came back was not HTTP.
    Transport(Box<TransportError>),
    /// A 2xx answer whose body does not match the documented model.
    #[non_exhaustive]
    Decode {
        /// The answer's status.
        status: u16,
        /// What did not match, naming the field where serde could tell.
        message: String,
    },
    /// A 2xx answer whose body is larger than
    /// [`ClientBuilder::max_response_bytes`].
    #[non_exhaustive]
    ResponseTooLarge {
        /// The answer's status.
        status: u16,
        /// The bound, in bytes.
        limit: u64,
    },
    /// An argument refused before anything was sent.
    #[non_exhaustive]
    InvalidInput {
        /// What was wrong.
        reason: String,
    },
    /// An id of a bulk call ([`Client::discard_project_jwts`],
    /// [`Client::discard_user_jwts`]) that was not sent, because the batch
    /// had stopped: 8 revokes in a row could not reach the server
    /// ([`TransportError::is_connect`]). Nothing was sent for it, so it is
    /// safe to send again once the server is back.
    #[non_exhaustive]
    NotAttempted {
        /// Why the batch stopped, naming the last failure.
        reason: String,
    },
    /// A page said more tokens follow, but gave a [`Paginator`] no cursor to
    /// fetch them with: no `starting_after` (`ending_before`) in its link and
    /// no `id` on its edge token. The walk stops instead of dropping them
    /// silently.
    MissingCursor,
    /// A [`Paginator`] was handed a cursor it had already used; the walk
    /// stops instead of looping.
    #[non_exhaustive]
    RepeatedCursor {
        /// The repeated cursor.
        cursor: String,
    },
}

impl Error {
    /// The HTTP status of the answer behind this error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } | Error::ResponseTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How many times the request was sent, retries included, for errors
    /// that came from sending it.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Error::Api(e) => Some(e.attempts),
            Error::Transport(e) => Some(e.attempts),
            _ => None,
        }
    }

    /// Whether the server may have acted on the request on any attempt, so
    /// that sending it again could act twice: after a failed create, `true`
    /// means a token may have been minted that nobody holds (list the tokens
    /// before creating another), `false` means it surely was not; after a
    /// failed revoke, `true` means the token may be revoked already.
    ///
    /// A retried call is `true` when any attempt was, whatever the last one
    /// met: a revoke whose first attempt was read and cut, and whose retries
    /// then found the port closed, is `true`, though
    /// [`TransportError::is_connect`] (which describes the last attempt) is
    /// `true` too; its message then ends `(after 3 attempts; an earlier
    /// attempt may have been processed)`. A create is never sent again once
    /// an attempt may have been processed, so for a create the last attempt
    /// decides.
    ///
    /// Each attempt counts as:
    ///
    /// - `true`: the request was written and then no usable answer came (a
    ///   timeout once sent, a cut connection, an answer that was not HTTP); a
    ///   5xx answer; a 3xx other than 307 and 308 (a 303 is the usual answer
    ///   to a POST that was processed); a 2xx answer that could not be used
    ///   (its body cut off, [`Error::Decode`], [`Error::ResponseTooLarge`],
    ///   and the walk errors [`Error::MissingCursor`] and
    ///   [`Error::RepeatedCursor`]).
    /// - `false`: refused before sending ([`Error::InvalidInput`],
    ///   [`Error::NotAttempted`]); never sent (no connection, the name
    ///   lookup failed, the TLS library refused the handshake, the proxy
    ///   refused the tunnel: [`TransportError::is_connect`]); or answered
    ///   with a 1xx, 307, 308 or 4xx status, 408 and 429 included.
    ///
    /// Where the error does not tell, the answer is `true`: a connection cut
    /// or reset during the TLS handshake looks the same as one cut after the
    /// request was written, so it counts as maybe processed (and a create is
    /// not sent again).
    ///
    /// ```no_run
    /// use magicbell_jwt::{CreateProjectTokenRequest, Error};
    /// # let client = magicbell_jwt::Client::new("token")?;
    ///
    /// match client.create_project_jwt(&CreateProjectTokenRequest::new("deploy bot")) {
    ///     Ok(created) => println!("store {}", created.token_id),
    ///     Err(e) if e.may_have_been_processed() => {
    ///         eprintln!("{e}: list the tokens named \"deploy bot\" before creating another");
    ///     }
    ///     Err(e) => eprintln!("{e}: nothing was created; safe to try again"),
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn may_have_been_processed(&self) -> bool {
        let before = match self {
            Error::Api(e) => e.processed_before,
            Error::Transport(e) => e.processed_before,
            _ => false,
        };
        before || matches!(self.reach(), Reach::MaybeProcessed | Reach::Processed)
    }

    /// The error of attempt number `attempts`: with that count, whether an
    /// attempt before it may have been processed, and what the request would
    /// have done, for the message.
    pub(crate) fn finish(mut self, attempts: u32, effect: Effect, processed_before: bool) -> Error {
        match &mut self {
            Error::Api(e) => {
                e.attempts = attempts;
                e.processed_before = processed_before;
            }
            Error::Transport(e) => {
                e.attempts = attempts;
                e.processed_before = processed_before;
                e.creates = effect == Effect::Creates;
            }
            _ => {}
        }
        self
    }

    /// A few words for a log line: the status, or what failed.
    pub(crate) fn summary(&self) -> String {
        match self {
            Error::Api(e) => format!("status {}", e.status),
            Error::Transport(e) => e.what(),
            other => other.to_string(),
        }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Error {
        Error::InvalidInput {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => e.fmt(f),
            Error::Transport(e) => e.fmt(f),
            Error::Decode { status, message } => {
                write!(f, "the {status} answer does not match the API's model: {message}")
            }
            Error::ResponseTooLarge { status, limit } => write!(
                f,
                "the {status} answer's body is larger than the {limit}-byte limit"
            ),
            Error::InvalidInput { reason } => write!(f, "invalid input: {reason}"),
            Error::NotAttempted { reason } => write!(f, "not sent: {reason}"),
            Error::MissingCursor => f.write_str(
                "the server's page says more tokens follow but gives no cursor to fetch them; the walk stopped",
            ),
            Error::RepeatedCursor { cursor } => write!(
                f,
                "the server repeated the page cursor {cursor:?}; the walk stopped instead of looping"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(&e.source),
            _ => None,
        }
    }
}

/// An answer from the server with a status outside 200–299.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub(crate) status: u16,
    errors: Vec<ApiErrorEntry>,
    body_excerpt: Option<String>,
    location: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    request_id: Option<String>,
    attempts: u32,
    // An attempt before the last may have been processed.
    pub(crate) processed_before: bool,
}

/// One entry of the `errors` array of MagicBell's error answers. Every field
/// may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ApiErrorEntry {
    /// A machine-readable code, such as `unauthorized`.
    pub code: Option<String>,
    /// What went wrong, for people.
    pub message: Option<String>,
    /// What to do about it.
    pub suggestion: Option<String>,
    /// Where to read more.
    pub help_link: Option<String>,
}

impl ApiError {
    /// The HTTP status, such as 401 or 404.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Every entry of the answer's `errors` array; empty when the body was
    /// not MagicBell's error JSON.
    pub fn errors(&self) -> &[ApiErrorEntry] {
        &self.errors
    }

    /// The first entry's `code`, when there is one.
    pub fn code(&self) -> Option<&str> {
        self.errors.first()?.code.as_deref()
    }

    /// The first entry's `message`, when there is one.
    pub fn message(&self) -> Option<&str> {
        self.errors.first()?.message.as_deref()
    }

    /// The start of the raw body (at most 200 characters, white space
    /// folded) when it was not MagicBell's error JSON, such as a proxy's HTML
    /// page.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.body_excerpt.as_deref()
    }

    /// The `Location` of a redirect answer; redirects are not followed.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// How long the server asked to wait (`Retry-After`, in seconds or as an
    /// HTTP date), when it did. All three date forms RFC 9110 asks for are
    /// read: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
    /// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
    /// (`Sun Nov  6 08:49:37 1994`); a date already past is a zero wait, and a
    /// value that is none of these is ignored.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The server's id for the request (`X-Request-Id` or `Request-Id`),
    /// worth quoting to MagicBell's support.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// How many times the request was sent, retries included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The error an answer makes, with any echo of `secret` (the bearer
    /// token), and anything shaped like a JWT, blanked out of every value it
    /// keeps.
    pub(crate) fn from_answer(
        status: u16,
        headers: &http::HeaderMap,
        body: &[u8],
        secret: &str,
    ) -> ApiError {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            errors: Vec<ApiErrorEntry>,
        }
        // Fields are blanked after decoding, so an escaped echo
        // (`\u0073k_live…`) is caught as well as a literal one.
        let redact_opt = |text: &mut Option<String>| {
            if let Some(text) = text {
                *text = redact::text(text, secret);
            }
        };
        let errors = serde_json::from_slice::<Body>(body)
            .map(|b| b.errors)
            .unwrap_or_default()
            .into_iter()
            .map(|mut entry| {
                redact_opt(&mut entry.code);
                redact_opt(&mut entry.message);
                redact_opt(&mut entry.suggestion);
                redact_opt(&mut entry.help_link);
                entry
            })
            .collect::<Vec<_>>();
        let body_excerpt = if errors.is_empty() {
            redact::excerpt(&redact::body(body, secret))
        } else {
            None
        };
        let header =
            |name: &str| header_str(headers, name).map(|value| redact::text(&value, secret));
        ApiError {
            status,
            errors,
            body_excerpt,
            location: header("location"),
            retry_after: header_str(headers, "retry-after")
                .and_then(|v| parse_retry_after(&v, SystemTime::now())),
            request_id: header("x-request-id").or_else(|| header("request-id")),
            attempts: 1,
            processed_before: false,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server answered {}", self.status)?;
        if let Some(reason) = http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            write!(f, " {reason}")?;
        }
        if let Some(location) = &self.location {
            write!(f, " redirecting to {location}; redirects are not followed")?;
        }
        for (i, entry) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            let parts = [&entry.code, &entry.message];
            let mut parts = parts.iter().filter_map(|p| p.as_deref());
            if let Some(first) = parts.next() {
                f.write_str(first)?;
            }
            for part in parts {
                write!(f, ": {part}")?;
            }
            if let Some(suggestion) = &entry.suggestion {
                write!(f, " ({suggestion})")?;
            }
        }
        if let Some(body) = &self.body_excerpt {
            write!(f, ": {body}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        let acted = status_reach(self.status) == Reach::MaybeProcessed;
        write_attempts(f, self.attempts, self.processed_before && !acted)
    }
}

impl std::error::Error for ApiError {}

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
    /// [`Error::may_have_been_processed`], which speaks for every attempt,
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

/// ` (after 3 attempts)`, with `; an earlier attempt may have been
/// processed` inside when `say_processed`: where the last attempt's own
/// words would read as "not acted on".
fn write_attempts(f: &mut fmt::Formatter<'_>, attempts: u32, say_processed: bool) -> fmt::Result {
    if attempts > 1 {
        write!(f, " (after {attempts} attempts")?;
        if say_processed {
            f.write_str("; an earlier attempt may have been processed")?;
        }
        f.write_str(")")?;
    }
    Ok(())
}

fn header_str(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{api, transport};
    use std::io::{Error as IoError, ErrorKind};

    #[test]
    fn an_error_says_when_an_earlier_attempt_may_have_been_processed() {
        let refused = || {
            Error::Transport(Box::new(transport(ureq::Error::Io(IoError::from(
                ErrorKind::ConnectionRefused,
            )))))
        };
        let cut = || {
            Error::Transport(Box::new(transport(ureq::Error::Io(IoError::from(
                ErrorKind::UnexpectedEof,
            )))))
        };
        let cases = [
            // The last attempt's own words read as "not acted on": the note.
            (
                refused().finish(3, Effect::Repeatable, true),
                true,
                "no usable answer from the server: could not connect to api.example:443: connection refused (after 3 attempts; an earlier attempt may have been processed)",
            ),
            (
                api(404, None).finish(2, Effect::Repeatable, true),
                true,
                "server answered 404 Not Found (after 2 attempts; an earlier attempt may have been processed)",
            ),
            // The last attempt says it already: no note.
            (
                api(502, None).finish(3, Effect::Repeatable, true),
                true,
                "server answered 502 Bad Gateway (after 3 attempts)",
            ),
            (
                api(303, None).finish(2, Effect::Repeatable, true),
                true,
                "server answered 303 See Other (after 2 attempts)",
            ),
            (
                cut().finish(3, Effect::Repeatable, true),
                true,
                "no usable answer from the server: the connection closed before a whole answer arrived (after 3 attempts)",
            ),
            // Nothing processed before: as the last attempt says.
            (
                refused().finish(3, Effect::Repeatable, false),
                false,
                "no usable answer from the server: could not connect to api.example:443: connection refused (after 3 attempts)",
            ),
            (
                api(404, None).finish(2, Effect::Repeatable, false),
                false,
                "server answered 404 Not Found (after 2 attempts)",
            ),
        ];
        for (error, processed, shown) in cases {
            assert_eq!(error.may_have_been_processed(), processed, "{shown}");
            assert_eq!(error.to_string(), shown);
        }
        let Error::Transport(last) = refused().finish(3, Effect::Repeatable, true) else {
            unreachable!()
        };
        // `is_connect` describes the last attempt.
        assert!(last.is_connect());
        // Errors that were never sent have no earlier attempt.
        let not_sent = Error::NotAttempted {
            reason: "the batch stopped".to_owned(),
        }
        .finish(3, Effect::Repeatable, true);
        assert!(!not_sent.may_have_been_processed());
        assert_eq!(not_sent.to_string(), "not sent: the batch stopped");
        assert_eq!((not_sent.status(), not_sent.attempts()), (None, None));
    }

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
}
