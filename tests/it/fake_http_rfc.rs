//! `FakeServer` over raw TCP against RFC 9110 and RFC 9112: how a request's
//! body is framed, its `Host`, the `WWW-Authenticate` of a 401, and when a
//! request is logged.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use magicbell_jwt::{FakeFault, FakeRequest, FakeServer};
use magicbell_jwt_test_support::raw_http::{closed, connect, read_answer, send, Answer};

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn start() -> FakeServer {
    FakeServer::start().expect("a fake starts")
}

/// A list of the project tokens with `headers` (each ending in CRLF) after
/// the request line and the admin bearer.
fn get_with(fake: &FakeServer, version: &str, headers: &str) -> Vec<u8> {
    format!(
        "GET /v2/jwt/project {version}\r\nauthorization: Bearer {}\r\n{headers}\r\n",
        fake.admin_token()
    )
    .into_bytes()
}

/// A create with the body `{"name":"n"}` sent with `framing` (the headers
/// saying how long the body is) and `body` as the bytes after the head.
fn create_with(fake: &FakeServer, framing: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\n{framing}\r\n{body}",
        fake.admin_token()
    )
    .into_bytes()
}

/// Sends `bytes` on a new connection; the answer must be a 400 saying
/// `message`, followed by the close.
#[track_caller]
fn assert_refused(fake: &FakeServer, bytes: &[u8], message: &str) {
    let mut stream = connect(&fake.base_url());
    stream.write_all(bytes).expect("write");
    let answer = read_answer(&mut stream, &mut Vec::new());
    assert_eq!(answer.status, 400, "{message}: {:?}", answer.body);
    assert_eq!(answer.error(), ("bad_request", message));
    assert_eq!(answer.header("connection"), Some("close"), "{message}");
    assert!(closed(&mut stream), "{message}");
}

fn entry(method: &str, path: &str, status: Option<u16>) -> FakeRequest {
    FakeRequest {
        method: method.into(),
        path: path.into(),
        status,
    }
}

// --- Framing (RFC 9112, 6) -----------------------------------------------------------

#[test]
fn a_final_transfer_coding_other_than_chunked_is_400_and_closes() {
    let fake = start();
    let body = "c\r\n{\"name\":\"n\"}\r\n0\r\n\r\n";
    for (codings, message) in [
        (
            "transfer-encoding: chunked, gzip\r\n",
            "the final transfer coding is \"gzip\", not chunked: the body's end cannot be found",
        ),
        (
            "transfer-encoding: chunked\r\ntransfer-encoding: gzip\r\n",
            "the final transfer coding is \"gzip\", not chunked: the body's end cannot be found",
        ),
        (
            "transfer-encoding: gzip\r\n",
            "the final transfer coding is \"gzip\", not chunked: the body's end cannot be found",
        ),
        (
            "transfer-encoding: chunked, chunked\r\n",
            "the body is chunked more than once",
        ),
        (
            "transfer-encoding: ,\r\n",
            "Transfer-Encoding names no coding",
        ),
    ] {
        assert_refused(&fake, &create_with(&fake, codings, body), message);
    }
    // A coding the fake does not know, before a final chunked: 501.
    let answer = send(
        &fake.base_url(),
        &create_with(&fake, "transfer-encoding: gzip, chunked\r\n", body),
    );
    assert_eq!(answer.status, 501);
    // Chunked alone, in any case, is read.
    let answer = send(
        &fake.base_url(),
        &create_with(&fake, "transfer-encoding: Chunked\r\n", body),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(fake.project_tokens().len(), 1);
}

#[test]
fn a_content_length_that_is_not_all_digits_is_400_and_closes() {
    let fake = start();
    let body = r#"{"name":"n"}"#;
    for value in ["+12", "-12", "0x0c", "1_2", "12.0", "12, 12", "1 2", ""] {
        let framing = format!("content-length: {value}\r\n");
        let message = format!("Content-Length {value:?} is not a number");
        assert_refused(&fake, &create_with(&fake, &framing, body), &message);
    }
    assert!(fake.project_tokens().is_empty());
    // Digits only, leading zeros too, are a length.
    let answer = send(
        &fake.base_url(),
        &create_with(&fake, "content-length: 0012\r\n", body),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
}

// --- Host (RFC 9112, 3.2) -------------------------------------------------------------

#[test]
fn an_http_1_1_request_without_a_host_or_with_two_is_400_and_closes() {
    let fake = start();
    assert_refused(
        &fake,
        &get_with(&fake, "HTTP/1.1", ""),
        "the request has no Host header",
    );
    for hosts in [
        "host: a\r\nhost: b\r\n",
        "host: x\r\nHost: x\r\n",
        "Host: x\r\nx-other: 1\r\nHOST: x\r\n",
    ] {
        assert_refused(
            &fake,
            &get_with(&fake, "HTTP/1.1", hosts),
            "the request has 2 Host headers; it must have one",
        );
    }
    assert_refused(
        &fake,
        &get_with(&fake, "HTTP/1.0", "host: a\r\nhost: a\r\n"),
        "the request has 2 Host headers; it must have one",
    );
    // One Host, whatever it names (the fake has one name); HTTP/1.0 may
    // send none.
    for (version, hosts) in [
        ("HTTP/1.1", "host: 127.0.0.1\r\n"),
        ("HTTP/1.1", "HOST: elsewhere.example:8080\r\n"),
        ("HTTP/1.0", ""),
    ] {
        let answer = send(&fake.base_url(), &get_with(&fake, version, hosts));
        assert_eq!(answer.status, 200, "{version} {hosts:?}");
    }
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 400, 400, 400, 400, 200, 200, 200].map(Some));
}

// --- 401 (RFC 9110, 11.6.1) ------------------------------------------------------------

#[test]
fn every_401_says_www_authenticate_bearer() {
    let fake = start();
    let token = fake.admin_token().to_owned();
    let mut answers: Vec<Answer> = [
        String::new(),
        "authorization: Basic dXNlcjpwYXNz\r\n".to_owned(),
        "authorization: Bearer not-a-token\r\n".to_owned(),
    ]
    .iter()
    .map(|auth| {
        let bytes = format!("GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\n{auth}\r\n");
        send(&fake.base_url(), bytes.as_bytes())
    })
    .collect();
    // A 401 met as an injected fault, even with the right bearer.
    fake.inject(1, FakeFault::Status(401));
    let bytes =
        format!("GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n");
    answers.push(send(&fake.base_url(), bytes.as_bytes()));
    for answer in &answers {
        assert_eq!(answer.status, 401);
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    }
    // Other answers carry none.
    let answer = send(
        &fake.base_url(),
        &get_with(&fake, "HTTP/1.1", "host: x\r\n"),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("www-authenticate"), None);
}

// --- The request log -------------------------------------------------------------------

#[test]
fn a_request_is_logged_when_its_answer_has_been_written_not_before_the_latency() -> Outcome {
    let fake = start();
    let feed = fake.request_feed();
    let latency = Duration::from_millis(400);
    fake.set_latency(latency);
    let mut stream = connect(&fake.base_url());
    let sent = Instant::now();
    stream.write_all(&get_with(&fake, "HTTP/1.1", "host: x\r\n"))?;
    thread::sleep(latency / 4);
    // Acted on, not yet answered: not logged, nothing on the feed.
    assert!(fake.requests().is_empty());
    assert!(feed.try_recv().is_err());
    assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 200);
    assert!(sent.elapsed() >= latency);
    let logged = entry("GET", "/v2/jwt/project", Some(200));
    assert_eq!(feed.recv_timeout(Duration::from_secs(10))?, logged);
    assert_eq!(fake.requests(), [logged]);
    Ok(())
}

#[test]
fn a_request_whose_answer_the_drop_cut_off_is_logged_as_unanswered() -> Outcome {
    let fake = start();
    let feed = fake.request_feed();
    fake.set_latency(Duration::from_secs(600));
    let mut stream = connect(&fake.base_url());
    stream.write_all(&create_with(
        &fake,
        "content-length: 12\r\n",
        r#"{"name":"n"}"#,
    ))?;
    // The create takes effect before the latency.
    let waited = Instant::now();
    while fake.project_tokens().is_empty() && waited.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(fake.project_tokens().len(), 1);
    assert!(feed.try_recv().is_err());
    drop(fake);
    assert!(closed(&mut stream));
    // Once the fake is dropped the feed has every entry, then ends.
    let rest: Vec<FakeRequest> = feed.iter().collect();
    assert_eq!(rest, [entry("POST", "/v2/jwt/project", None)]);
    Ok(())
}

#[test]
fn a_request_refused_unread_is_logged_after_its_answer_too() -> Outcome {
    let fake = start();
    let feed = fake.request_feed();
    let answer = send(&fake.base_url(), &get_with(&fake, "HTTP/1.1", ""));
    assert_eq!(answer.status, 400);
    let logged = entry("GET", "/v2/jwt/project", Some(400));
    assert_eq!(feed.recv_timeout(Duration::from_secs(10))?, logged);
    assert_eq!(fake.requests(), [logged]);
    Ok(())
}

#[test]
fn a_fake_dropped_right_after_an_answer_has_fed_its_entry() -> Outcome {
    // What `magicbell-jwt fake` stopped at once after its last answer
    // relies on: the drop joins every thread, each feeding what it answered.
    for _ in 0..20 {
        let fake = start();
        let feed = fake.request_feed();
        let answer = send(
            &fake.base_url(),
            &get_with(&fake, "HTTP/1.1", "host: x\r\n"),
        );
        assert_eq!(answer.status, 200);
        drop(fake);
        let fed: Vec<FakeRequest> = feed.iter().collect();
        assert_eq!(fed, [entry("GET", "/v2/jwt/project", Some(200))]);
    }
    Ok(())
}
