//! `Error`, and `ApiError`, the server's answer it carries, with their messages.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use ureq::http;

use crate::reach::{status_reach, write_attempts, Effect, Reach};
use crate::redact;
use crate::time::parse_retry_after;
use crate::TransportError;

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
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes).
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
    /// An id of a bulk call that was not sent, because the batch had stopped
    /// when the server could not be reached (when that is, says
    /// [`Client::discard_project_jwts`](crate::Client::discard_project_jwts)).
    /// Nothing was sent for it, so it is safe to send again once the server
    /// is back.
    #[non_exhaustive]
    NotAttempted {
        /// Why the batch stopped, naming the last failure.
        reason: String,
    },
    /// A page said more tokens follow, but gave a [`Paginator`](crate::Paginator) no cursor to
    /// fetch them with: no `starting_after` (`ending_before`) in its link and
    /// no `id` on its edge token. The walk stops instead of dropping them
    /// silently.
    MissingCursor,
    /// A [`Paginator`](crate::Paginator) was handed a cursor it had already used; the walk
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
    /// an attempt may have been processed
    /// ([`ClientBuilder::max_retries`](crate::ClientBuilder::max_retries)), so
    /// for a create the last attempt decides.
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
    /// (`Sun Nov  6 08:49:37 1994`), each on the server's clock: against the
    /// answer's `Date` header when it has one, else this machine's clock. A
    /// date already past is a zero wait, and a value that is none of these
    /// is ignored. It is what the server said, however long: more seconds
    /// than a `u64` holds are `u64::MAX` of them, so add it to an `Instant`
    /// with `checked_add`.
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

    /// The error an answer made at `now` (its time, see
    /// [`answer_time`](crate::time::answer_time)) makes, with any echo of
    /// `secret` (the bearer token), and anything shaped like a JWT, blanked
    /// out of every value it keeps.
    pub(crate) fn from_answer(
        status: u16,
        headers: &http::HeaderMap,
        body: &[u8],
        secret: &str,
        now: SystemTime,
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
                .and_then(|v| parse_retry_after(&v, now)),
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

fn header_str(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// An answer with `status` (and `Retry-After`, in seconds) as one attempt's
/// error, for unit tests.
#[cfg(test)]
pub(crate) fn api(status: u16, retry_after: Option<u64>) -> Error {
    let mut error = ApiError::from_answer(
        status,
        &http::HeaderMap::new(),
        b"",
        "secret",
        SystemTime::now(),
    );
    error.retry_after = retry_after.map(Duration::from_secs);
    Error::Api(Box::new(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::policy;
    use crate::transport_error::transport;
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
}
