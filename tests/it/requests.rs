//! The exact request each call puts on the wire.

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

use crate::util::scripted::{builder, list, PAGE};
use crate::util::{client, page, query_is, TOKEN};
use httpmock::Method::{DELETE, GET, POST};
use httpmock::MockServer;
use magicbell_jwt::{ClientBuilder, CreateProjectTokenRequest, FetchProjectTokensParams};
use magicbell_jwt_test_support::{json as answer, FaultServer};
use serde_json::json;

const USER_AGENT: &str = concat!("magicbell-jwt/", env!("CARGO_PKG_VERSION"));

#[test]
fn fetch_sends_get_with_bearer_accept_and_no_query_by_default() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(GET)
            .path("/v2/jwt/project")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("accept", "application/json")
            .header("user-agent", USER_AGENT)
            .header_missing("content-type")
            .is_true(query_is(None));
        then.status(200).json_body(page(&["a"], None));
    });

    let page = client(&server)
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap();

    mock.assert_calls(1);
    assert_eq!(page.data.len(), 1);
}

#[test]
fn fetch_sends_every_set_parameter_in_snake_case() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(GET)
            .path("/v2/jwt/project")
            .is_true(query_is(Some(
                "limit=4&starting_after=tok_1&ending_before=tok_9",
            )));
        then.status(200).json_body(page(&[], None));
    });

    let params = FetchProjectTokensParams::default()
        .limit(4)
        .starting_after("tok_1")
        .ending_before("tok_9");
    client(&server).fetch_project_tokens(&params).unwrap();

    mock.assert_calls(1);
}

#[test]
fn fetch_percent_encodes_cursor_values() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(GET)
            .path("/v2/jwt/project")
            .is_true(query_is(Some("starting_after=a%26b%3Dc%20d")))
            .query_param("starting_after", "a&b=c d");
        then.status(200).json_body(page(&[], None));
    });

    client(&server)
        .fetch_project_tokens(&FetchProjectTokensParams::default().starting_after("a&b=c d"))
        .unwrap();

    mock.assert_calls(1);
}

#[test]
fn create_posts_json_name_and_expiry() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/v2/jwt/project")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .is_true(query_is(None))
            .json_body(json!({"name": "deploy bot", "expiry": 3600}));
        then.status(201).json_body(json!({
            "token": "jwt", "token_id": "tok_1", "created_at": "2026-01-01T00:00:00Z", "expires_at": null
        }));
    });

    let created = client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("deploy bot").expiry(3600))
        .unwrap();

    mock.assert_calls(1);
    assert_eq!(created.token_id, "tok_1");
}

#[test]
fn create_without_expiry_leaves_the_field_out() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/v2/jwt/project")
            .body(r#"{"name":"ci"}"#);
        then.status(201).json_body(json!({
            "token": "jwt", "token_id": "tok_2", "created_at": "2026-01-01T00:00:00Z"
        }));
    });

    client(&server)
        .create_project_jwt(&CreateProjectTokenRequest::new("ci"))
        .unwrap();

    mock.assert_calls(1);
}

#[test]
fn discard_sends_delete_to_the_token_path_without_a_body() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(DELETE)
            .path("/v2/jwt/project/tok_1")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header_missing("content-type")
            .is_true(query_is(None))
            .body("");
        then.status(200)
            .json_body(json!({"token_id": "tok_1", "discarded_at": "2026-01-02T00:00:00Z"}));
    });

    let discarded = client(&server).discard_project_jwt("tok_1").unwrap();

    mock.assert_calls(1);
    assert_eq!(discarded.token_id, "tok_1");
    assert_eq!(discarded.discarded_at, "2026-01-02T00:00:00Z");
}

#[test]
fn discard_encodes_token_id_as_one_segment() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(DELETE).is_true(|req| {
            req.uri().path() == "/v2/jwt/project/a%2Fb%3Fc%20%23d" && req.uri().query().is_none()
        });
        then.status(200)
            .json_body(json!({"token_id": "a/b?c #d", "discarded_at": "2026-01-02T00:00:00Z"}));
    });

    client(&server).discard_project_jwt("a/b?c #d").unwrap();

    mock.assert_calls(1);
}

#[test]
fn base_url_with_trailing_slash_gives_the_same_path() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/project");
        then.status(200).json_body(page(&[], None));
    });

    let client = magicbell_jwt::Client::builder(TOKEN)
        .base_url(server.url("/v2/"))
        .build()
        .unwrap();
    client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap();

    mock.assert_calls(1);
    assert_eq!(client.base_url(), server.url("/v2"));
}

#[test]
fn base_url_without_a_prefix_puts_paths_at_the_root() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(GET).path("/jwt/project");
        then.status(200).json_body(page(&[], None));
    });

    let client = magicbell_jwt::Client::builder(TOKEN)
        .base_url(server.base_url())
        .build()
        .unwrap();
    client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap();

    mock.assert_calls(1);
}

// --- Transport policy --------------------------------------------------------

#[test]
fn every_request_carries_the_user_agent_and_accept_headers() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = FaultServer::start(move |_, request| {
        let _ = tx.lock().unwrap().send((
            request.method.clone(),
            request.target.clone(),
            request.headers.clone(),
        ));
        answer(200, PAGE)
    });

    list(
        &builder(&server.url())
            .user_agent_suffix("token-rotator/2.1")
            .build()
            .unwrap(),
    )
    .unwrap();

    let (method, target, headers) = rx.recv().unwrap();
    assert_eq!(
        (method.as_str(), target.as_str()),
        ("GET", "/v2/jwt/project")
    );
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        headers.contains(&(
            "user-agent".into(),
            format!("magicbell-jwt/{version} token-rotator/2.1")
        )),
        "{headers:?}"
    );
    assert!(
        headers.contains(&("accept".into(), "application/json".into())),
        "{headers:?}"
    );
    assert!(
        headers.contains(&("authorization".into(), format!("Bearer {TOKEN}"))),
        "{headers:?}"
    );
}

/// The `User-Agent` line of the one request a list sends, byte for byte:
/// FaultServer trims header values, so this reads the raw head itself.
#[track_caller]
fn user_agent_line_sent(settings: impl FnOnce(ClientBuilder) -> ClientBuilder) -> String {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v2", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{PAGE}",
            PAGE.len()
        );
        stream.write_all(answer.as_bytes()).unwrap();
        String::from_utf8(head).unwrap()
    });
    list(&settings(builder(&url)).build().unwrap()).unwrap();
    let head = server.join().unwrap();
    let lines = head.split("\r\n");
    let mut agents = lines.filter(|l| l.to_ascii_lowercase().starts_with("user-agent:"));
    let line = agents.next().expect("a User-Agent line").to_owned();
    assert_eq!(agents.next(), None, "{head}");
    line
}

#[test]
fn an_empty_or_blank_user_agent_suffix_adds_nothing_not_even_a_space() {
    let version = env!("CARGO_PKG_VERSION");
    for suffix in ["", "   ", "\u{3000}"] {
        assert_eq!(
            user_agent_line_sent(|b| b.user_agent_suffix(suffix)),
            format!("user-agent: magicbell-jwt/{version}"),
            "{suffix:?}"
        );
    }
    // White space around a suffix is dropped; one space joins it on.
    assert_eq!(
        user_agent_line_sent(|b| b.user_agent_suffix("  token-rotator/2.1 ")),
        format!("user-agent: magicbell-jwt/{version} token-rotator/2.1")
    );
}

#[test]
fn a_user_agent_suffix_with_a_control_character_is_refused() {
    for suffix in ["app\n1.0", "app/1.0\u{7f}", "\u{1b}[31mapp", "app\r"] {
        let err = builder("http://127.0.0.1:9/v2")
            .user_agent_suffix(suffix)
            .build()
            .unwrap_err();

        assert_eq!(
            err.to_string(),
            "invalid input: user agent suffix holds control characters",
            "{suffix:?}"
        );
    }
}
