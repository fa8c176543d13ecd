//! `FakeServer` over raw TCP, where a request goes: unknown paths, wrong
//! methods, `HEAD`, absolute-form targets and the `Authorization` header.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::util::fake::{assert_still_serving, req, request, start};
use magicbell_jwt::CreateUserTokenRequest;
use magicbell_jwt_test_support::raw_http::{closed, connect, read_answer, send};

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
#[track_caller]
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
