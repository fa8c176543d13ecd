//! Reading one request off a connection: the head, the body, and the
//! limits on their size and arrival time.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::answer::{excerpt, Answer};
use super::limits::{MAX_BODY_BYTES, MAX_HEAD_BYTES};
use super::request::Request;
use super::shared::Shared;

/// What reading the next request from a connection gave.
pub(super) enum Incoming {
    Request(Request),
    /// A request the fake cannot read: answer this, then close.
    Refused {
        method: String,
        path: String,
        answer: Answer,
    },
    /// The peer closed, the connection failed, or the fake is stopping.
    Gone,
}

/// How [`fill`] ended.
enum Filled {
    Done,
    /// The peer left, the connection failed, or the fake is stopping.
    Gone,
    /// The deadline passed first.
    Late,
}

/// Reads bytes into `buffer` until it holds `wanted`, or `deadline` passes.
fn fill(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    shared: &Shared,
    wanted: usize,
    deadline: Instant,
) -> Filled {
    let mut chunk = [0u8; 8192];
    while buffer.len() < wanted {
        if shared.stopping() {
            return Filled::Gone;
        }
        if Instant::now() >= deadline {
            return Filled::Late;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Filled::Gone,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return Filled::Gone,
        }
    }
    Filled::Done
}

pub(super) fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    shared: &Shared,
) -> Incoming {
    let limits = shared.limits;
    // Until a byte of the request arrives the connection is idle; from then
    // on the whole request has a deadline.
    let idle_since = Instant::now();
    let mut started = (!buffer.is_empty()).then_some(idle_since);
    // The head: up to the blank line, bounded. Bytes already searched are
    // not searched again, so a head sent a byte at a time costs no more.
    let mut searched: usize = 0;
    let head_end = loop {
        // Blank lines before a request line are allowed (RFC 9112, 2.2).
        let blank = buffer
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        buffer.drain(..blank);
        searched = searched.saturating_sub(blank);
        if let Some(first) = buffer.first() {
            if !first.is_ascii_alphabetic() {
                // Not a request line (binary noise, a TLS handshake): no wait
                // for a blank line that will never come.
                return refused_garbage(buffer);
            }
        }
        if let Some(end) = find_head_end(buffer, searched) {
            if end > MAX_HEAD_BYTES {
                return refused_head(buffer);
            }
            break end;
        }
        // Not ended within the limit: it cannot fit, whatever comes next.
        if buffer.len() >= MAX_HEAD_BYTES {
            return refused_head(buffer);
        }
        // A terminator may straddle what was searched and what comes next.
        searched = buffer.len().saturating_sub(3);
        let wanted = buffer.len() + 1;
        let deadline = match started {
            Some(at) => at + limits.request_deadline,
            None => idle_since + limits.idle_timeout,
        };
        match fill(stream, buffer, shared, wanted, deadline) {
            Filled::Done => {
                started.get_or_insert_with(Instant::now);
            }
            Filled::Gone => return Incoming::Gone,
            Filled::Late if started.is_none() => return Incoming::Gone,
            Filled::Late => return refused_late(buffer, limits.request_deadline),
        }
    };
    let started = started.unwrap_or(idle_since);
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let parts: Vec<&str> = request_line.split(' ').collect();
    let (method, target, version) = match parts.as_slice() {
        [method, target, version] => (method.to_string(), target.to_string(), Some(*version)),
        [method, target, ..] => (method.to_string(), target.to_string(), None),
        [method] => (method.to_string(), String::new(), None),
        [] => (String::new(), String::new(), None),
    };
    let refuse = |answer: Answer| Incoming::Refused {
        method: method.clone(),
        path: target.clone(),
        answer,
    };
    let version = match version {
        Some(v @ ("HTTP/1.1" | "HTTP/1.0")) => v,
        _ => {
            return refuse(bad_request(format!(
                "the request line {:?} is not METHOD TARGET HTTP/1.1",
                excerpt(request_line)
            )))
        }
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || target.is_empty() {
        return refuse(bad_request(format!(
            "the request line {:?} is not METHOD TARGET HTTP/1.1",
            excerpt(request_line)
        )));
    }
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return refuse(bad_request(format!(
                "the header line {:?} has no colon",
                excerpt(line)
            )));
        };
        if name.is_empty() || name.ends_with(char::is_whitespace) {
            return refuse(bad_request(format!(
                "the header line {:?} has no valid name",
                excerpt(line)
            )));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    let codings = header("transfer-encoding").join(",");
    let chunked = !codings.is_empty();
    if chunked {
        if let Some(answer) = unreadable_codings(&codings) {
            return refuse(answer);
        }
    }
    // Both would let two readers split the stream in different places
    // (RFC 9112, 6.3): refused, and the connection closed.
    if chunked && !header("content-length").is_empty() {
        return refuse(bad_request(
            "Transfer-Encoding and Content-Length are both sent",
        ));
    }
    let length = match header("content-length").as_slice() {
        [] => 0,
        // Digits only (RFC 9110, 8.6): `+13` or ` 1 3` is no length.
        [value] if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
            // More digits than a u64 holds is more than the cap, too.
            value.parse::<u64>().unwrap_or(u64::MAX)
        }
        [value] => {
            return refuse(bad_request(format!(
                "Content-Length {:?} is not a number",
                excerpt(value)
            )))
        }
        _ => return refuse(bad_request("Content-Length is sent more than once")),
    };
    if length > MAX_BODY_BYTES as u64 {
        return refuse(Answer::error(
            413,
            "payload_too_large",
            format!("the body is {length} bytes; the fake reads at most {MAX_BODY_BYTES}"),
            "send a smaller body",
        ));
    }
    // RFC 9112, 3.2: exactly one Host (an HTTP/1.0 request may have none).
    match header("host").len() {
        0 if version == "HTTP/1.1" => return refuse(bad_request("the request has no Host header")),
        0 | 1 => {}
        n => {
            return refuse(bad_request(format!(
                "the request has {n} Host headers; it must have one"
            )))
        }
    }
    let connection = header("connection").join(",").to_ascii_lowercase();
    let close = connection.contains("close")
        || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
    let expects_continue = header("expect")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("100-continue"));
    buffer.drain(..head_end);
    let length = length as usize;
    // A chunked body has at least one byte to wait for.
    if expects_continue && buffer.len() < length.max(usize::from(chunked)) {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let deadline = started + limits.request_deadline;
    let body = if chunked {
        match read_chunked(stream, buffer, shared, deadline, limits.request_deadline) {
            Ok(body) => body,
            Err(Some(answer)) => return refuse(answer),
            Err(None) => return Incoming::Gone,
        }
    } else {
        match fill(stream, buffer, shared, length, deadline) {
            Filled::Done => {}
            Filled::Gone => return Incoming::Gone,
            Filled::Late => return refuse(late(limits.request_deadline)),
        }
        buffer.drain(..length).collect()
    };
    Incoming::Request(Request {
        method,
        target,
        headers,
        body,
        close,
    })
}

/// The answer to a request whose `Transfer-Encoding` is `codings` (its
/// lines joined with commas), unless it is `chunked` alone: 400 when the
/// final coding is not `chunked` (the body's end cannot be found: RFC 9112,
/// 6.3) or `chunked` comes twice, 501 for any other coding before it.
fn unreadable_codings(codings: &str) -> Option<Answer> {
    let list: Vec<&str> = codings
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let is_chunked = |c: &&str| c.eq_ignore_ascii_case("chunked");
    match list.split_last() {
        Some((last, _)) if !is_chunked(last) => Some(bad_request(format!(
            "the final transfer coding is {:?}, not chunked: the body's end cannot be found",
            excerpt(last)
        ))),
        Some((_, before)) if before.iter().any(is_chunked) => {
            Some(bad_request("the body is chunked more than once"))
        }
        Some((_, [])) => None,
        None => Some(bad_request("Transfer-Encoding names no coding")),
        Some(_) => Some(Answer::error(
            501,
            "not_implemented",
            format!(
                "the fake reads no transfer coding but chunked, not {:?}",
                excerpt(codings)
            ),
            "send the body chunked, or with a Content-Length",
        )),
    }
}

/// A chunked body (RFC 9112, 7.1), decoded: at most [`MAX_BODY_BYTES`] of
/// data, by `deadline` (`allowed` after the request's first byte); chunk
/// extensions and trailer fields are read and dropped. `Err(None)` when the
/// peer left or the fake is stopping, `Err(Some(answer))` for a body refused.
fn read_chunked(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    shared: &Shared,
    deadline: Instant,
    allowed: Duration,
) -> Result<Vec<u8>, Option<Answer>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buffer, shared, deadline, allowed)?;
        let digits = line.split(';').next().unwrap_or_default();
        let digits = digits.trim_end_matches([' ', '\t']);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Some(bad_request(format!(
                "the chunk size {:?} is not a hexadecimal number",
                excerpt(digits)
            ))));
        }
        // More digits than a u64 holds is more than the cap, too.
        let size = u64::from_str_radix(digits, 16).unwrap_or(u64::MAX);
        if size == 0 {
            break;
        }
        if size > (MAX_BODY_BYTES - body.len()) as u64 {
            return Err(Some(Answer::error(
                413,
                "payload_too_large",
                format!(
                    "the chunked body runs past {MAX_BODY_BYTES} bytes, the most the fake reads"
                ),
                "send a smaller body",
            )));
        }
        let size = size as usize;
        arrived(fill(stream, buffer, shared, size + 2, deadline), allowed)?;
        if buffer[size..size + 2] != *b"\r\n" {
            return Err(Some(bad_request(
                "a chunk's data does not end with CRLF where its size says",
            )));
        }
        body.extend(buffer.drain(..size));
        buffer.drain(..2);
    }
    // The trailer section, up to its blank line.
    while !read_line(stream, buffer, shared, deadline, allowed)?.is_empty() {}
    Ok(body)
}

/// The next line of a chunked body, drained from `buffer` (read into as
/// needed) without its LF or CRLF; one over [`MAX_HEAD_BYTES`] is refused
/// 400. Errors as [`read_chunked`]'s.
fn read_line(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    shared: &Shared,
    deadline: Instant,
    allowed: Duration,
) -> Result<String, Option<Answer>> {
    let mut searched = 0;
    loop {
        let end = buffer[searched..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|at| searched + at);
        if end.unwrap_or(buffer.len()) > MAX_HEAD_BYTES {
            return Err(Some(bad_request(format!(
                "a line of the chunked body is over {MAX_HEAD_BYTES} bytes"
            ))));
        }
        if let Some(end) = end {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let line = &line[..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return Ok(String::from_utf8_lossy(line).into_owned());
        }
        searched = buffer.len();
        arrived(
            fill(stream, buffer, shared, searched + 1, deadline),
            allowed,
        )?;
    }
}

/// [`fill`]'s outcome as [`read_chunked`] returns it.
fn arrived(filled: Filled, allowed: Duration) -> Result<(), Option<Answer>> {
    match filled {
        Filled::Done => Ok(()),
        Filled::Gone => Err(None),
        Filled::Late => Err(Some(late(allowed))),
    }
}

/// The length of the head including its blank line, if it is all there;
/// `from` is where to start looking (no blank line ends before it).
fn find_head_end(buffer: &[u8], from: usize) -> Option<usize> {
    let rest = buffer.get(from..)?;
    let crlf = rest
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| from + i + 4);
    let lf = rest
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| from + i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn first_words(buffer: &[u8]) -> (String, String) {
    let line_end = buffer
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(buffer.len())
        .min(256);
    let line = String::from_utf8_lossy(&buffer[..line_end]);
    let mut parts = line.trim_end().splitn(3, ' ');
    (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    )
}

fn refused_head(buffer: &[u8]) -> Incoming {
    let (method, path) = first_words(buffer);
    Incoming::Refused {
        method,
        path,
        answer: Answer::error(
            431,
            "request_header_fields_too_large",
            format!("the request head is over {MAX_HEAD_BYTES} bytes"),
            "send fewer or shorter headers",
        ),
    }
}

fn refused_late(buffer: &[u8], deadline: Duration) -> Incoming {
    let (method, path) = first_words(buffer);
    Incoming::Refused {
        method,
        path,
        answer: late(deadline),
    }
}

fn late(deadline: Duration) -> Answer {
    Answer::error(
        408,
        "request_timeout",
        format!(
            "the request did not arrive in full within {} ms of its first byte",
            deadline.as_millis()
        ),
        "send the whole request at once",
    )
}

fn refused_garbage(buffer: &[u8]) -> Incoming {
    Incoming::Refused {
        method: String::new(),
        path: String::new(),
        answer: bad_request(format!(
            "the connection sent {} bytes that do not start an HTTP request",
            buffer.len()
        )),
    }
}

fn bad_request(message: impl Into<String>) -> Answer {
    Answer::error(
        400,
        "bad_request",
        message,
        "send HTTP/1.1 with a JSON body and a Content-Length",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_ends_at_the_first_blank_line() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nrest", 0), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\nrest", 0), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n", 0), None);
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n", 14), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n", 15), None);
    }
}
