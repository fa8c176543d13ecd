//! `FakeServer` over raw TCP: what the crate's `Client` refuses to send
//! (bad JSON, bad fields, oversized heads and bodies, unknown paths, wrong
//! methods, garbage), and HTTP framing (keep-alive, pipelining, `Expect`).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::fake::start;
use magicbell_jwt::CreateUserTokenRequest;
use magicbell_jwt::{FakeFault, FakeRequest, FakeServer};
use magicbell_jwt_test_support::raw_http::{closed, connect, read_answer, send};
use serde_json::json;

fn request(fake: &FakeServer, method: &str, path: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        fake.admin_token(),
        body.len()
    )
    .into_bytes()
}

fn req(method: &str, path: &str, status: Option<u16>) -> FakeRequest {
    FakeRequest {
        method: method.into(),
        path: path.into(),
        status,
    }
}

/// The fake still serves a normal request on a new connection.
fn assert_still_serving(fake: &FakeServer) {
    let answer = send(
        &fake.base_url(),
        &request(fake, "GET", "/v2/jwt/project", ""),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

// --- Bodies ------------------------------------------------------------------------

#[test]
fn a_body_that_is_not_json_is_400() {
    let fake = start();
    let answer = send(
        &fake.base_url(),
        &request(&fake, "POST", "/v2/jwt/project", "{\"name\": "),
    );
    assert_eq!(answer.status, 400);
    let (code, message) = answer.error();
    assert_eq!(code, "invalid_json");
    assert!(message.starts_with("the body is not JSON: "), "{message}");
    let entry = answer.body["errors"][0].as_object().unwrap();
    let mut fields: Vec<&str> = entry.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["code", "help_link", "message", "suggestion"]);
    assert!(fake.project_tokens().is_empty());
    assert_eq!(fake.requests(), [req("POST", "/v2/jwt/project", Some(400))]);
}

#[test]
fn a_body_with_a_content_type_other_than_json_is_415() {
    let fake = start();
    let with = |path: &str, content_type: &str, body: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n{content_type}content-length: {}\r\n\r\n{body}",
            fake.admin_token(),
            body.len()
        )
    };
    let name = r#"{"name":"n"}"#;
    for (path, content_type, body) in [
        ("/v2/jwt/project", "content-type: text/plain\r\n", name),
        (
            "/v2/jwt/project",
            "content-type: application/x-www-form-urlencoded\r\n",
            "name=n",
        ),
        (
            "/v2/jwt/project",
            "content-type: application/jsonx\r\n",
            name,
        ),
        (
            "/v2/jwt/user",
            "content-type: text/json\r\n",
            r#"{"email":"a@x.io"}"#,
        ),
    ] {
        let answer = send(&fake.base_url(), with(path, content_type, body).as_bytes());
        assert_eq!(answer.status, 415, "{content_type}");
        let given = content_type["content-type: ".len()..].trim_end();
        assert_eq!(
            answer.error(),
            (
                "unsupported_media_type",
                format!("the body is {given:?}; the fake reads application/json").as_str()
            )
        );
    }
    assert!(fake.project_tokens().is_empty());
    // JSON with parameters or in capitals, or no Content-Type at all (as
    // a client may send): read.
    for content_type in [
        "content-type: application/json; charset=utf-8\r\n",
        "Content-Type: Application/JSON\r\n",
        "",
    ] {
        let answer = send(
            &fake.base_url(),
            with("/v2/jwt/project", content_type, name).as_bytes(),
        );
        assert_eq!(answer.status, 201, "{content_type}");
    }
    // The bearer is checked first.
    let anonymous =
        "POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi";
    assert_eq!(send(&fake.base_url(), anonymous.as_bytes()).status, 401);
}

#[test]
fn texts_of_255_characters_are_read() {
    let fake = start();
    let most = "é".repeat(255);
    for (path, body) in [
        ("/v2/jwt/project", json!({"name": most})),
        (
            "/v2/jwt/user",
            json!({"email": most, "external_id": most, "name": most}),
        ),
    ] {
        let answer = send(
            &fake.base_url(),
            &request(&fake, "POST", path, &body.to_string()),
        );
        assert_eq!(answer.status, 201, "{path}");
    }
    assert_eq!(
        fake.project_tokens()[0].name.as_deref(),
        Some(most.as_str())
    );
}

#[test]
fn a_body_breaking_a_rule_is_422_naming_the_field() {
    let fake = start();
    let long = "n".repeat(256);
    let cases = [
        (
            "/v2/jwt/project",
            json!([1]),
            "the body is JSON but not an object",
        ),
        (
            "/v2/jwt/project",
            json!({}),
            "name is missing; a project token needs one",
        ),
        ("/v2/jwt/project", json!({"name": ""}), "name is empty"),
        (
            "/v2/jwt/project",
            json!({"name": long}),
            "name is 256 characters; at most 255 are allowed",
        ),
        (
            "/v2/jwt/project",
            json!({"name": 7}),
            "name is not a string",
        ),
        (
            "/v2/jwt/project",
            json!({"name": "x", "expiry": 0}),
            "expiry is 0; it must be a whole number of seconds, at least 1",
        ),
        (
            "/v2/jwt/project",
            json!({"name": "x", "expiry": -5}),
            "expiry is -5; it must be a whole number of seconds, at least 1",
        ),
        (
            "/v2/jwt/project",
            json!({"name": "x", "expiry": 1.5}),
            "expiry is 1.5; it must be a whole number of seconds, at least 1",
        ),
        (
            "/v2/jwt/project",
            json!({"name": "x", "expiry": "60"}),
            "expiry is not a number; it must be a whole number of seconds, at least 1",
        ),
        (
            "/v2/jwt/user",
            json!({"name": "inbox"}),
            "email and external_id are both missing; a user token needs one to name its user",
        ),
        (
            "/v2/jwt/user",
            json!({"email": long}),
            "email is 256 characters; at most 255 are allowed",
        ),
        (
            "/v2/jwt/user",
            json!({"external_id": ""}),
            "external_id is empty",
        ),
    ];
    for (path, body, expected) in &cases {
        let answer = send(
            &fake.base_url(),
            &request(&fake, "POST", path, &body.to_string()),
        );
        assert_eq!(answer.status, 422, "{body}");
        assert_eq!(
            answer.error(),
            ("unprocessable_entity", *expected),
            "{body}"
        );
    }
    assert!(fake.project_tokens().is_empty());
    assert_eq!(fake.requests().len(), cases.len());
}

#[test]
fn the_token_value_is_in_no_list_and_absent_fields_are_left_out() {
    let fake = start();
    let created = send(
        &fake.base_url(),
        &request(&fake, "POST", "/v2/jwt/project", r#"{"name":"ci"}"#),
    );
    assert_eq!(created.status, 201);
    let value = created.body["token"].as_str().unwrap().to_owned();
    assert_eq!(created.body.get("expires_at"), None);
    let mut stream = connect(&fake.base_url());
    stream
        .write_all(&request(&fake, "GET", "/v2/jwt/project", ""))
        .unwrap();
    let list = read_answer(&mut stream, &mut Vec::new());
    assert!(!list.body.to_string().contains(&value));
    let token = list.body["data"][0].as_object().unwrap();
    let mut fields: Vec<&str> = token.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["created_at", "id", "name"]);
    assert_eq!(list.header("content-type"), Some("application/json"));
}

#[test]
fn a_query_value_that_does_not_decode_is_422() {
    let fake = start();
    let answer = send(
        &fake.base_url(),
        &request(&fake, "GET", "/v2/jwt/project?starting_after=%zz", ""),
    );
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.error().1,
        "starting_after is not valid percent-encoded UTF-8"
    );
    // `%` wants two hex digits: `%+f` is no byte, though `+f` parses as hex.
    let answer = send(
        &fake.base_url(),
        &request(&fake, "GET", "/v2/jwt/project?ending_before=%+f", ""),
    );
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.error().1,
        "ending_before is not valid percent-encoded UTF-8"
    );
    for limit in ["0", "ten", "-1", "100000000000000000000"] {
        let path = format!("/v2/jwt/project?limit={limit}");
        assert_eq!(
            send(&fake.base_url(), &request(&fake, "GET", &path, "")).status,
            422,
            "{limit}"
        );
    }
}

#[test]
fn a_plus_in_a_path_is_a_plus_and_in_a_query_value_a_space() {
    let fake = start();
    let created = fake
        .client()
        .create_user_jwt(&CreateUserTokenRequest::for_email("a+b@example.com"))
        .unwrap();
    let list = send(
        &fake.base_url(),
        &request(&fake, "GET", "/v2/jwt/user/a+b@example.com", ""),
    );
    assert_eq!(list.status, 200);
    assert_eq!(list.body["data"][0]["id"], created.token_id.as_str());
    let deleted = send(
        &fake.base_url(),
        &request(&fake, "DELETE", "/v2/jwt/user/a+b@example.com", ""),
    );
    assert_eq!(
        deleted.error().1,
        "no live user token has the id \"a+b@example.com\""
    );
    let answer = send(
        &fake.base_url(),
        &request(&fake, "GET", "/v2/jwt/project?starting_after=no+such", ""),
    );
    assert_eq!(
        answer.error().1,
        "starting_after \"no such\" is no token of this list"
    );
}

#[test]
fn a_path_segment_with_a_percent_not_followed_by_two_hex_digits_is_404() {
    let fake = start();
    for path in ["/v2/jwt/user/%+f", "/v2/jwt/user/%4", "/v2/jwt/project/%zz"] {
        let method = if path.contains("project") {
            "DELETE"
        } else {
            "GET"
        };
        let answer = send(&fake.base_url(), &request(&fake, method, path, ""));
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.error().0, "not_found", "{path}");
    }
}

#[test]
fn both_cursors_at_once_are_422() {
    let fake = start();
    let answer = send(
        &fake.base_url(),
        &request(
            &fake,
            "GET",
            "/v2/jwt/project?starting_after=a&ending_before=b",
            "",
        ),
    );
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.error().1,
        "starting_after and ending_before are both set; a page goes one way"
    );
}

// --- Sizes -------------------------------------------------------------------------

#[test]
fn a_head_over_16_kib_is_431_and_the_connection_closes() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let head = format!(
        "GET /v2/jwt/project HTTP/1.1\r\nx-padding: {}\r\n\r\n",
        "p".repeat(16 * 1024)
    );
    stream.write_all(head.as_bytes()).unwrap();
    let answer = read_answer(&mut stream, &mut Vec::new());
    assert_eq!(answer.status, 431);
    assert_eq!(
        answer.error(),
        (
            "request_header_fields_too_large",
            "the request head is over 16384 bytes"
        )
    );
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(closed(&mut stream));
    assert_eq!(fake.requests(), [req("GET", "/v2/jwt/project", Some(431))]);
    assert_still_serving(&fake);
}

#[test]
fn a_head_of_exactly_16_kib_is_read() {
    let fake = start();
    let start = format!(
        "GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\nx-padding: ",
        fake.admin_token()
    );
    let padding = 16 * 1024 - start.len() - 4;
    let head = format!("{start}{}\r\n\r\n", "p".repeat(padding));
    assert_eq!(head.len(), 16 * 1024);
    assert_eq!(send(&fake.base_url(), head.as_bytes()).status, 200);
}

#[test]
fn a_body_over_64_kib_is_413_without_reading_it() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let head = format!(
        "POST /v2/jwt/project HTTP/1.1\r\nauthorization: Bearer {}\r\ncontent-length: 65537\r\n\r\n",
        fake.admin_token()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let answer = read_answer(&mut stream, &mut Vec::new());
    assert_eq!(answer.status, 413);
    assert_eq!(
        answer.error(),
        (
            "payload_too_large",
            "the body is 65537 bytes; the fake reads at most 65536"
        )
    );
    assert!(closed(&mut stream));
    assert!(fake.project_tokens().is_empty());
    assert_still_serving(&fake);
}

#[test]
fn a_body_of_exactly_64_kib_is_read() {
    let fake = start();
    let skeleton = r#"{"name":"big","pad":""}"#;
    let body = format!(
        r#"{{"name":"big","pad":"{}"}}"#,
        "p".repeat(64 * 1024 - skeleton.len())
    );
    assert_eq!(body.len(), 64 * 1024);
    let answer = send(
        &fake.base_url(),
        &request(&fake, "POST", "/v2/jwt/project", &body),
    );
    assert_eq!(answer.status, 201);
    assert_eq!(fake.project_tokens().len(), 1);
}

// --- Paths and methods -----------------------------------------------------------

#[test]
fn unknown_paths_are_404_even_without_a_bearer() {
    let fake = start();
    for path in [
        "/",
        "/v2",
        "/v2/jwt",
        "/v2/jwt/project/",
        "/v2/jwt/user/",
        "/v2/jwt/project/a/b",
        "/v2/jwt/user/a/b",
        "/v3/jwt/project",
        "/v2/jwt/projects",
        "*",
        "v2/jwt/project",
    ] {
        let answer = send(
            &fake.base_url(),
            format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes(),
        );
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.error().0, "not_found", "{path}");
    }
}

#[test]
fn a_method_a_path_does_not_have_is_405_with_allow() {
    let fake = start();
    let cases = [
        ("PUT", "/v2/jwt/project", "GET, HEAD, POST"),
        ("DELETE", "/v2/jwt/project", "GET, HEAD, POST"),
        ("GET", "/v2/jwt/project/abc", "DELETE"),
        ("HEAD", "/v2/jwt/project/abc", "DELETE"),
        ("GET", "/v2/jwt/user", "POST"),
        ("HEAD", "/v2/jwt/user", "POST"),
        ("POST", "/v2/jwt/user/abc", "GET, HEAD, DELETE"),
        ("PATCH", "/v2/jwt/user/abc", "GET, HEAD, DELETE"),
    ];
    for (method, path, allow) in cases {
        let mut stream = connect(&fake.base_url());
        stream.write_all(&request(&fake, method, path, "")).unwrap();
        // A HEAD answer has no body: its head, then the connection's end.
        let (status, head) = if method == "HEAD" {
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            let head = read_head(&mut stream);
            assert!(closed(&mut stream), "{method} {path}");
            (head[9..12].parse().unwrap(), head)
        } else {
            let answer = read_answer(&mut stream, &mut Vec::new());
            assert_eq!(answer.error().0, "method_not_allowed");
            (answer.status, answer.head)
        };
        assert_eq!(status, 405, "{method} {path}");
        assert!(head.contains(&format!("\r\nallow: {allow}\r\n")), "{head}");
    }
    let log = fake.requests();
    assert_eq!(log[0], req("PUT", "/v2/jwt/project", Some(405)));
    assert_eq!(log.len(), cases.len());
}

/// An answer's status line and headers, up to the blank line, read a byte
/// at a time so that nothing after them is taken.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn head_answers_wherever_get_does_with_the_get_s_headers_and_no_body() {
    let fake = start();
    fake.client()
        .create_user_jwt(&CreateUserTokenRequest::for_email("a@x.io"))
        .unwrap();
    for path in ["/v2/jwt/project?limit=5", "/v2/jwt/user/a%40x.io"] {
        let mut stream = connect(&fake.base_url());
        let mut buffer = Vec::new();
        stream.write_all(&request(&fake, "GET", path, "")).unwrap();
        let get = read_answer(&mut stream, &mut buffer);
        // HEAD, then GET pipelined: the HEAD answer's head is followed at
        // once by the GET's answer, so it carried no body.
        let mut two = request(&fake, "HEAD", path, "");
        two.extend(request(&fake, "GET", path, ""));
        stream.write_all(&two).unwrap();
        let head = read_head(&mut stream);
        let length = format!(
            "content-length: {}\r\n",
            get.header("content-length").unwrap()
        );
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains("content-type: application/json\r\n"),
            "{head}"
        );
        assert!(head.contains(&length), "{head} {length}");
        let again = read_answer(&mut stream, &mut buffer);
        assert_eq!((again.status, again.body), (200, get.body));
    }
    // Refused as a GET would be, without the body.
    for (bytes, status) in [
        ("HEAD /v2/jwt/project HTTP/1.1\r\nhost: x\r\n\r\n", "401"),
        ("HEAD /v2/jwt/nothing HTTP/1.1\r\nhost: x\r\n\r\n", "404"),
    ] {
        let mut stream = connect(&fake.base_url());
        stream.write_all(bytes.as_bytes()).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(&read_head(&mut stream)[9..12], status);
        assert!(closed(&mut stream));
    }
    let log: Vec<(String, Option<u16>)> = fake
        .requests()
        .into_iter()
        .map(|r| (r.method, r.status))
        .filter(|(method, _)| method == "HEAD")
        .collect();
    let head = |status| ("HEAD".to_owned(), Some(status));
    assert_eq!(log, [head(200), head(200), head(401), head(404)]);
}

// --- Targets ------------------------------------------------------------------------

#[test]
fn an_absolute_form_target_naming_the_fake_is_served_as_its_path() {
    let fake = start();
    let port = fake.base_url()["http://127.0.0.1:".len()..]
        .trim_end_matches("/v2")
        .to_owned();
    let created = send(
        &fake.base_url(),
        &request(
            &fake,
            "POST",
            &format!("http://127.0.0.1:{port}/v2/jwt/project"),
            r#"{"name":"proxied"}"#,
        ),
    );
    assert_eq!(created.status, 201);
    let id = created.body["token_id"].as_str().unwrap().to_owned();
    let listed = send(
        &fake.base_url(),
        &request(
            &fake,
            "GET",
            &format!("HTTP://LocalHost:{port}/v2/jwt/project?limit=1"),
            "",
        ),
    );
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
    let target = format!("http://localhost:{port}/v2/jwt/project/{id}");
    let revoked = send(&fake.base_url(), &request(&fake, "DELETE", &target, ""));
    assert_eq!(revoked.status, 200);
    // No path: the root, which the fake does not serve.
    let root = send(
        &fake.base_url(),
        &request(&fake, "GET", &format!("http://127.0.0.1:{port}"), ""),
    );
    assert_eq!(root.error(), ("not_found", "no such path: /"));
    let query = send(
        &fake.base_url(),
        &request(
            &fake,
            "GET",
            &format!("http://127.0.0.1:{port}?limit=1"),
            "",
        ),
    );
    assert_eq!(query.error(), ("not_found", "no such path: /"));
    // An origin-form target with a URL in its query is still origin-form.
    let with_url = "/v2/jwt/project?next=http://elsewhere:1/v2";
    let answer = send(&fake.base_url(), &request(&fake, "GET", with_url, ""));
    assert_eq!(answer.status, 200);
    // Logged as sent.
    assert_eq!(fake.requests()[2], req("DELETE", &target, Some(200)));
    assert!(fake.project_tokens()[0].is_discarded());
}

#[test]
fn an_absolute_form_target_naming_another_server_is_421() {
    let fake = start();
    let port = fake.base_url()["http://127.0.0.1:".len()..]
        .trim_end_matches("/v2")
        .to_owned();
    let other = if port == "1" { "2" } else { "1" };
    for target in [
        format!("http://127.0.0.1:{other}/v2/jwt/project"),
        "http://127.0.0.1/v2/jwt/project".to_owned(),
        format!("https://127.0.0.1:{port}/v2/jwt/project"),
        format!("http://api.magicbell.com:{port}/v2/jwt/project"),
        format!("http://user@127.0.0.1:{port}/v2/jwt/project"),
    ] {
        let answer = send(&fake.base_url(), &request(&fake, "GET", &target, ""));
        assert_eq!(answer.status, 421, "{target}");
        let authority = target.split('/').take(3).collect::<Vec<_>>().join("/");
        assert_eq!(
            answer.error(),
            (
                "misdirected_request",
                format!("the fake is http://127.0.0.1:{port}, not {authority}").as_str()
            )
        );
    }
    assert_still_serving(&fake);
}

// --- Auth ---------------------------------------------------------------------------

#[test]
fn a_missing_or_non_bearer_authorization_is_401() {
    let fake = start();
    let admin = fake.admin_token().to_owned();
    for auth in [
        String::new(),
        format!("authorization: Basic {admin}\r\n"),
        format!("authorization: {admin}\r\n"),
        "authorization: Bearer\r\n".to_owned(),
        format!("authorization: Bearer {admin}x\r\n"),
    ] {
        let answer = send(
            &fake.base_url(),
            format!("GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\n{auth}\r\n").as_bytes(),
        );
        assert_eq!(answer.status, 401, "{auth:?}");
        assert_eq!(answer.error().0, "unauthorized");
    }
    // The scheme is case-insensitive.
    let answer = send(
        &fake.base_url(),
        format!("GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\nAuthorization: bearer {admin}\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(answer.status, 200);
}

// --- Garbage and framing ------------------------------------------------------------

#[test]
fn garbage_bytes_get_400_and_the_next_connection_is_served() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    stream.write_all(&[0x16, 0x03, 0x01, 0x00, 0xff]).unwrap(); // a TLS handshake
    let answer = read_answer(&mut stream, &mut Vec::new());
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error(),
        (
            "bad_request",
            "the connection sent 5 bytes that do not start an HTTP request"
        )
    );
    assert!(closed(&mut stream));
    let cases: [(&[u8], u16, &str); 11] = [
        (
            b"GET\r\n\r\n",
            400,
            "the request line \"GET\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"GET /v2/jwt/project\r\n\r\n",
            400,
            "the request line \"GET /v2/jwt/project\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"GET /v2/jwt/project HTTP/2\r\n\r\n",
            400,
            "the request line \"GET /v2/jwt/project HTTP/2\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"get /v2/jwt/project HTTP/1.1\r\n\r\n",
            400,
            "the request line \"get /v2/jwt/project HTTP/1.1\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"GET /v2/jwt/project HTTP/1.1 extra\r\n\r\n",
            400,
            "the request line \"GET /v2/jwt/project HTTP/1.1 extra\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"GET /v2/jwt/project HTTP/1.1\r\nno colon here\r\n\r\n",
            400,
            "the header line \"no colon here\" has no colon",
        ),
        (
            b"GET /v2/jwt/project HTTP/1.1\r\n: no name\r\n\r\n",
            400,
            "the header line \": no name\" has no valid name",
        ),
        (
            b"GET /v2/jwt/project HTTP/1.1\r\nname : x\r\n\r\n",
            400,
            "the header line \"name : x\" has no valid name",
        ),
        (
            b"POST /v2/jwt/project HTTP/1.1\r\ncontent-length: lots\r\n\r\n",
            400,
            "Content-Length \"lots\" is not a number",
        ),
        (
            b"POST /v2/jwt/project HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
            400,
            "Content-Length is sent more than once",
        ),
        // Not UTF-8: read with replacement characters, a path the fake lacks.
        (
            b"GET /v2/jwt/\xff\xfe HTTP/1.1\r\nhost: x\r\n\r\n",
            404,
            "no such path: /v2/jwt/\u{fffd}\u{fffd}",
        ),
    ];
    for (bad, status, message) in cases {
        let answer = send(&fake.base_url(), bad);
        let shown = String::from_utf8_lossy(bad);
        assert_eq!(answer.status, status, "{shown:?}");
        let code = if status == 400 {
            "bad_request"
        } else {
            "not_found"
        };
        assert_eq!(answer.error(), (code, message), "{shown:?}");
    }
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    let mut expected = vec![Some(400)];
    expected.extend(cases.iter().map(|(_, status, _)| Some(*status)));
    assert_eq!(statuses, expected);
    assert_eq!(fake.requests()[0], req("", "", Some(400)));
    assert_still_serving(&fake);
}

/// A request head for a chunked body on `path`, with `headers` added.
fn chunked_head(fake: &FakeServer, path: &str, headers: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n{headers}\r\n",
        fake.admin_token()
    )
}

#[test]
fn a_chunked_body_is_read_with_its_extensions_and_trailers_and_the_next_request_follows() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let mut buffer = Vec::new();
    // Three chunks (upper- and lower-case hex, an extension, a bare LF after
    // a size), an empty trailer section...
    let first = chunked_head(&fake, "/v2/jwt/project", "")
        + "8\r\n{\"name\":\r\nA;ext=1\r\n\"chunked\",\r\nc\n\"expiry\":60}\r\n0\r\n\r\n";
    // ...then a trailer field, and a zero-size line with an extension.
    let second = chunked_head(&fake, "/v2/jwt/user", "")
        + "12\r\n{\"email\":\"a@x.io\"}\r\n0;last\r\nx-checksum: 1\r\n\r\n";
    let mut all = first.into_bytes();
    all.extend(second.as_bytes());
    all.extend(request(&fake, "GET", "/v2/jwt/project", ""));
    stream.write_all(&all).unwrap();
    let created = read_answer(&mut stream, &mut buffer);
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(read_answer(&mut stream, &mut buffer).status, 201);
    let listed = read_answer(&mut stream, &mut buffer);
    assert_eq!(listed.body["data"][0]["name"], "chunked");
    assert!(listed.body["data"][0]["expires_at"].is_string());
    assert_eq!(fake.user_tokens("a@x.io").len(), 1);
}

#[test]
fn a_chunked_body_of_64_kib_is_read_and_one_byte_more_is_413() {
    let fake = start();
    let skeleton = r#"{"name":"big","pad":""}"#;
    let body = format!(
        r#"{{"name":"big","pad":"{}"}}"#,
        "p".repeat(64 * 1024 - skeleton.len())
    );
    let chunks = |body: &str| {
        let (a, b) = body.split_at(40_000);
        format!("{:x}\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\n\r\n", a.len(), b.len())
    };
    let head = chunked_head(&fake, "/v2/jwt/project", "");
    let answer = send(&fake.base_url(), (head.clone() + &chunks(&body)).as_bytes());
    assert_eq!(answer.status, 201);
    let over = body.replacen("big", "bigg", 1);
    for bytes in [
        head.clone() + &chunks(&over),
        // A size past what a u64 holds.
        head.clone() + "10000000000000000000\r\n",
    ] {
        let mut stream = connect(&fake.base_url());
        stream.write_all(bytes.as_bytes()).unwrap();
        let answer = read_answer(&mut stream, &mut Vec::new());
        assert_eq!(
            answer.error(),
            (
                "payload_too_large",
                "the chunked body runs past 65536 bytes, the most the fake reads"
            )
        );
        assert!(closed(&mut stream));
    }
    assert_eq!(fake.project_tokens().len(), 1);
}

#[test]
fn chunked_framing_the_fake_cannot_follow_is_refused_and_the_connection_closed() {
    let fake = start();
    let head = chunked_head(&fake, "/v2/jwt/project", "");
    // A line of 16 KiB and a byte, its CR counted (not its LF); one of 16
    // KiB is read (below), arriving in two parts.
    let long = format!("5;{}\r\n", "x".repeat(16 * 1024 - 2));
    let cases: [(String, u16, &str); 7] = [
        (head.clone() + "zz\r\n", 400, "the chunk size \"zz\" is not a hexadecimal number"),
        (head.clone() + "+5\r\nhello\r\n", 400, "the chunk size \"+5\" is not a hexadecimal number"),
        (head.clone() + ";x\r\n", 400, "the chunk size \"\" is not a hexadecimal number"),
        (head.clone() + "5\r\nhello!\r\n", 400, "a chunk's data does not end with CRLF where its size says"),
        (head.clone() + &long, 400, "a line of the chunked body is over 16384 bytes"),
        (
            chunked_head(&fake, "/v2/jwt/project", "content-length: 5\r\n") + "5\r\nhello\r\n0\r\n\r\n",
            400,
            "Transfer-Encoding and Content-Length are both sent",
        ),
        (
            "POST /v2/jwt/project HTTP/1.1\r\ntransfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n".to_owned(),
            501,
            "the fake reads no transfer coding but chunked, not \"gzip,chunked\"",
        ),
    ];
    for (bytes, status, message) in cases {
        let mut stream = connect(&fake.base_url());
        stream.write_all(bytes.as_bytes()).unwrap();
        let answer = read_answer(&mut stream, &mut Vec::new());
        assert_eq!(answer.status, status, "{message}");
        assert_eq!(answer.error().1, message);
        assert!(closed(&mut stream), "{message}");
    }
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 400, 400, 400, 400, 400, 501].map(Some));
    assert!(fake.project_tokens().is_empty());
    let mut stream = connect(&fake.base_url());
    let longest = format!("c;{}", "x".repeat(16 * 1024 - 3));
    stream
        .write_all((head.clone() + &longest[..9000]).as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let rest = format!("{}\r\n{{\"name\":\"x\"}}\r\n0\r\n\r\n", &longest[9000..]);
    stream.write_all(rest.as_bytes()).unwrap();
    assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 201);
}

#[test]
fn a_chunked_body_cut_off_is_not_logged_and_one_sent_with_expect_gets_100_continue() {
    let fake = start();
    for cut in ["", "5\r\nhel", "5\r\nhello\r\n", "0\r\nx-trailer: 1\r\n"] {
        let mut stream = connect(&fake.base_url());
        let bytes = chunked_head(&fake, "/v2/jwt/project", "") + cut;
        stream.write_all(bytes.as_bytes()).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(closed(&mut stream), "{cut:?}");
    }
    assert!(fake.requests().is_empty());
    let mut stream = connect(&fake.base_url());
    let head = chunked_head(&fake, "/v2/jwt/project", "expect: 100-continue\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream
        .write_all(b"c\r\n{\"name\":\"e\"}\r\n0\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 201);
}

#[test]
fn a_request_cut_off_midway_is_not_logged_and_stops_nothing() {
    let fake = start();
    {
        let mut stream = connect(&fake.base_url());
        stream
            .write_all(
                b"POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"na",
            )
            .unwrap();
    }
    {
        let mut stream = connect(&fake.base_url());
        stream.write_all(b"GET /v2/jwt/pro").unwrap();
    }
    assert_still_serving(&fake);
    assert_eq!(fake.requests(), [req("GET", "/v2/jwt/project", Some(200))]);
}

#[test]
fn mutated_and_random_requests_never_stop_the_fake() {
    let fake = start();
    let valid = request(
        &fake,
        "POST",
        "/v2/jwt/project",
        r#"{"name":"fuzz","expiry":60}"#,
    );
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        let mut bytes = if round % 4 == 0 {
            (0..(next() % 300))
                .map(|_| next() as u8)
                .collect::<Vec<u8>>()
        } else {
            valid.clone()
        };
        for _ in 0..(next() % 4) {
            if bytes.is_empty() {
                break;
            }
            let i = (next() as usize) % bytes.len();
            match next() % 3 {
                0 => bytes[i] = next() as u8,
                1 => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i, next() as u8),
            }
        }
        let mut stream = connect(&fake.base_url());
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
    assert_still_serving(&fake);
    for request in fake.requests() {
        assert!(request.status.is_some(), "{request:?}");
    }
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection_even_pipelined() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let mut buffer = Vec::new();
    stream
        .write_all(&request(
            &fake,
            "POST",
            "/v2/jwt/project",
            r#"{"name":"a"}"#,
        ))
        .unwrap();
    assert_eq!(read_answer(&mut stream, &mut buffer).status, 201);
    let mut two = request(&fake, "POST", "/v2/jwt/project", r#"{"name":"b"}"#);
    two.extend(request(&fake, "GET", "/v2/jwt/project?limit=1", ""));
    stream.write_all(&two).unwrap();
    assert_eq!(read_answer(&mut stream, &mut buffer).status, 201);
    let list = read_answer(&mut stream, &mut buffer);
    assert_eq!(list.body["data"][0]["name"], "b");
    assert_eq!(fake.project_tokens().len(), 2);
}

#[test]
fn http_1_0_and_connection_close_end_the_connection_after_the_answer() {
    let fake = start();
    let admin = fake.admin_token().to_owned();
    for head in [
        format!("GET /v2/jwt/project HTTP/1.0\r\nauthorization: Bearer {admin}\r\n\r\n"),
        format!("GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer {admin}\r\n\r\n"),
    ] {
        let mut stream = connect(&fake.base_url());
        stream.write_all(head.as_bytes()).unwrap();
        let answer = read_answer(&mut stream, &mut Vec::new());
        assert_eq!(answer.status, 200);
        assert!(closed(&mut stream), "{head}");
    }
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let body = r#"{"name":"curl"}"#;
    let head = format!(
        "POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        fake.admin_token(),
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).unwrap();
    assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 201);
    // With the whole body sent already, no 100 Continue: the answer comes first.
    let whole = format!(
        "POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n{body}",
        fake.admin_token(),
        body.len()
    );
    stream.write_all(whole.as_bytes()).unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 201");
}

// --- Faults over raw HTTP --------------------------------------------------------------

#[test]
fn faults_meet_any_request_read_in_full_but_not_a_refused_one() {
    let fake = start();
    fake.inject(1, FakeFault::RetryAfter(503, 7));
    // Refused for its size: uses no fault.
    let big = format!(
        "GET /v2/jwt/project HTTP/1.1\r\nx: {}\r\n\r\n",
        "p".repeat(17_000)
    );
    assert_eq!(send(&fake.base_url(), big.as_bytes()).status, 431);
    // No bearer and an unknown path: the fault answers all the same.
    let answer = send(
        &fake.base_url(),
        b"GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n",
    );
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("7"));
    assert_eq!(answer.error().0, "service_unavailable");
    assert_eq!(
        send(
            &fake.base_url(),
            b"GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n"
        )
        .status,
        404
    );
}

#[test]
fn a_status_fault_outside_200_to_599_is_answered_500() {
    let fake = start();
    fake.inject(2, FakeFault::Status(100));
    assert_eq!(
        send(
            &fake.base_url(),
            &request(&fake, "GET", "/v2/jwt/project", "")
        )
        .status,
        500
    );
    fake.inject(1, FakeFault::Status(1000));
    assert_eq!(
        send(
            &fake.base_url(),
            &request(&fake, "GET", "/v2/jwt/project", "")
        )
        .status,
        500
    );
    assert_eq!(
        send(
            &fake.base_url(),
            &request(&fake, "GET", "/v2/jwt/project", "")
        )
        .status,
        500
    );
    assert_still_serving(&fake);
}

#[test]
fn a_head_sent_a_byte_at_a_time_is_read() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    stream.set_nodelay(true).unwrap();
    for byte in request(&fake, "GET", "/v2/jwt/project?limit=3", "") {
        stream.write_all(&[byte]).unwrap();
    }
    assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 200);
    assert_eq!(
        fake.requests(),
        [req("GET", "/v2/jwt/project?limit=3", Some(200))]
    );
}

#[test]
fn a_204_fault_sends_no_body_and_the_connection_stays_usable() {
    let fake = start();
    fake.inject(1, FakeFault::Status(204));
    let mut stream = connect(&fake.base_url());
    let mut two = request(&fake, "GET", "/v2/jwt/project", "");
    two.extend(request(&fake, "GET", "/v2/jwt/project", ""));
    stream.write_all(&two).unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 204 "), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
    let next = read_answer(&mut stream, &mut Vec::new());
    assert_eq!(next.status, 200);
    assert_eq!(next.body["data"], json!([]));
}

// --- The request log ---------------------------------------------------------------

#[test]
fn a_request_is_in_the_log_by_the_time_its_answer_arrives() {
    // The fake records a request before it writes the answer, on every path:
    // answered, faulted, refused (then closed), and closed by a fault.
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let mut buffer = Vec::new();
    for i in 0..100 {
        let path = format!("/v2/jwt/project?limit={}", i + 1);
        stream.write_all(&request(&fake, "GET", &path, "")).unwrap();
        assert_eq!(read_answer(&mut stream, &mut buffer).status, 200);
        let log = fake.requests();
        assert_eq!(log.len(), i + 1);
        assert_eq!(log[i], req("GET", &path, Some(200)));
    }
    fake.inject(1, FakeFault::Status(502));
    stream
        .write_all(&request(&fake, "GET", "/v2/jwt/project", ""))
        .unwrap();
    assert_eq!(read_answer(&mut stream, &mut buffer).status, 502);
    assert_eq!(
        fake.requests().last(),
        Some(&req("GET", "/v2/jwt/project", Some(502)))
    );
    assert_eq!(send(&fake.base_url(), b"GET /x HTTP/9\r\n\r\n").status, 400);
    assert_eq!(fake.requests().last(), Some(&req("GET", "/x", Some(400))));
    fake.inject(1, FakeFault::Close);
    stream
        .write_all(&request(&fake, "DELETE", "/v2/jwt/project/gone", ""))
        .unwrap();
    assert!(closed(&mut stream));
    assert_eq!(
        fake.requests().last(),
        Some(&req("DELETE", "/v2/jwt/project/gone", None))
    );
    assert_eq!(fake.requests().len(), 103);
}

#[test]
fn requests_from_several_threads_are_each_logged_before_their_answers() {
    let fake = start();
    let fake = &*fake;
    let answered: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                s.spawn(move || {
                    let mut stream = connect(&fake.base_url());
                    let mut buffer = Vec::new();
                    for i in 0..50 {
                        let path = format!("/v2/jwt/project?limit=1&thread={t}&i={i}");
                        stream.write_all(&request(fake, "GET", &path, "")).unwrap();
                        assert_eq!(read_answer(&mut stream, &mut buffer).status, 200);
                        assert!(
                            fake.requests().contains(&req("GET", &path, Some(200))),
                            "{path} answered but not logged"
                        );
                    }
                    50
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a sending thread panicked"))
            .collect()
    });
    assert_eq!(answered, [50; 4]);
    assert_eq!(fake.requests().len(), 200);
}

// --- Lifetime --------------------------------------------------------------------------

#[test]
fn clients_that_never_send_or_stop_halfway_do_not_hold_drop_up() {
    let fake = start();
    let mut silent = connect(&fake.base_url());
    let mut half = connect(&fake.base_url());
    half.write_all(b"POST /v2/jwt/project HTTP/1.1\r\ncontent-le")
        .unwrap();
    // Both connections are being served (the fake accepted them) once a
    // third one's request is answered after they were opened.
    assert_still_serving(&fake);
    let addr = fake.base_url()["http://".len()..]
        .trim_end_matches("/v2")
        .to_owned();
    let began = Instant::now();
    drop(fake);
    let took = began.elapsed();
    assert!(took < Duration::from_secs(2), "Drop took {took:?}");
    // Their connections were shut down, not left to time out (the reads
    // would wait out PATIENCE and fail).
    assert!(closed(&mut silent));
    assert!(closed(&mut half));
    assert!(TcpStream::connect(&addr).is_err());
}
