//! `FakeServer` over raw TCP, the bodies the crate's `Client` refuses to send:
//! bad JSON, bad fields, bad query values, and heads and bodies past the
//! fake's sizes.

use std::io::Write;

use crate::util::fake::{assert_still_serving, req, request, start};
use magicbell_jwt::CreateUserTokenRequest;
use magicbell_jwt_test_support::raw_http::{closed, connect, read_answer, send};
use serde_json::json;

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
