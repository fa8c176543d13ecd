//! The fake's answers: MagicBell's error shape, the reason phrases, and
//! writing an answer on a connection.

use std::io::{self, Write};
use std::net::TcpStream;

use serde_json::{json, Value};
use ureq::http::StatusCode;

/// Where every error entry points: the fake's own documentation.
const HELP_LINK: &str = "https://docs.rs/magicbell-jwt/latest/magicbell_jwt/struct.FakeServer.html";

pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Value,
    headers: Vec<(&'static str, String)>,
    /// Close the connection after this answer.
    pub(super) close: bool,
}

impl Answer {
    pub(super) fn ok(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body,
            headers: Vec::new(),
            close: false,
        }
    }

    pub(super) fn error(
        status: u16,
        code: &str,
        message: impl Into<String>,
        suggestion: &str,
    ) -> Answer {
        Answer::ok(
            status,
            json!({"errors": [{
                "code": code,
                "message": message.into(),
                "suggestion": suggestion,
                "help_link": HELP_LINK,
            }]}),
        )
    }

    pub(super) fn invalid(message: impl Into<String>) -> Answer {
        Answer::error(
            422,
            "unprocessable_entity",
            message,
            "fix the field named in the message and send the request again",
        )
    }

    pub(super) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }
}

/// At most 60 characters of `text`, for a message.
pub(super) fn excerpt(text: &str) -> String {
    text.chars().take(60).collect()
}

pub(super) fn write_answer(
    stream: &mut TcpStream,
    answer: &Answer,
    method: &str,
    close: bool,
) -> io::Result<()> {
    stream.write_all(&render(answer, method, close))?;
    stream.flush()
}

/// The bytes of `answer` to a request with `method`, with `connection:
/// close` when `close`.
pub(super) fn render(answer: &Answer, method: &str, close: bool) -> Vec<u8> {
    // 204 and 304 answers have no body (RFC 9110, 15.3.5 and 15.4.5).
    let bodiless = matches!(answer.status, 204 | 304);
    let body = if bodiless {
        String::new()
    } else {
        answer.body.to_string()
    };
    let mut out = format!("HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
    if !bodiless {
        // A HEAD answer says how long the GET's body would be, and sends none.
        out.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        ));
    }
    // Every 401 names the scheme the fake takes (RFC 9110, 11.6.1).
    if answer.status == 401 {
        out.push_str("www-authenticate: Bearer\r\n");
    }
    for (name, value) in &answer.headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    if method != "HEAD" {
        out.push_str(&body);
    }
    out.into_bytes()
}

/// The reason phrase of `status`: `http`'s canonical one, or `Status` for a
/// code it does not name (an injected fault may use any from 200 to 599).
pub(super) fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Status")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_are_the_canonical_ones_and_status_for_unnamed_codes() {
        // The fake's own answers, then other codes a fault may use.
        let phrases = [
            (200, "OK"),
            (201, "Created"),
            (400, "Bad Request"),
            (401, "Unauthorized"),
            (404, "Not Found"),
            (405, "Method Not Allowed"),
            (408, "Request Timeout"),
            (411, "Length Required"),
            (413, "Payload Too Large"),
            (415, "Unsupported Media Type"),
            (421, "Misdirected Request"),
            (422, "Unprocessable Entity"),
            (429, "Too Many Requests"),
            (431, "Request Header Fields Too Large"),
            (500, "Internal Server Error"),
            (501, "Not Implemented"),
            (503, "Service Unavailable"),
            (403, "Forbidden"),
            (409, "Conflict"),
            (502, "Bad Gateway"),
            (504, "Gateway Timeout"),
        ];
        for (status, phrase) in phrases {
            assert_eq!(reason(status), phrase, "{status}");
        }
        // A code `http` does not name.
        assert_eq!(reason(299), "Status");
        assert_eq!(reason(599), "Status");
    }
}
