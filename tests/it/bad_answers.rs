//! Answers no well-behaved server would give: cut, garbage, oversized,
//! redirects and silence. Every outcome is also checked to hold neither
//! secret.

use std::sync::Arc;
use std::time::Duration;

use crate::util::scripted::{
    builder, client, create, list, list_error_without_hanging, without_hanging, HTML_502, PAGE,
};
use crate::util::{shown, MINTED, TOKEN};
use magicbell_jwt::{Client, CreateProjectTokenRequest, Error, FetchProjectTokensParams};
use magicbell_jwt_test_support::{json, respond, respond_bytes, FaultServer, Reply};

// --- Bad answers -------------------------------------------------------------

#[test]
fn truncated_json_is_a_decode_error() {
    let server = FaultServer::start(|_, _| json(200, r#"{"data":[{"id":"t1","crea"#));

    let err = list(&client(&server)).unwrap_err();

    assert_eq!(
        err.to_string(),
        "the 200 answer does not match the API's model: EOF while parsing a string at line 1 column 25"
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn an_empty_200_body_is_a_decode_error() {
    let server = FaultServer::start(|_, _| json(200, ""));

    let err = list(&client(&server)).unwrap_err();

    assert_eq!(
        err.to_string(),
        "the 200 answer does not match the API's model: the body is empty"
    );
}

#[test]
fn a_content_length_larger_than_the_body_is_a_transport_error() {
    let server = FaultServer::start(|_, _| {
        Reply::RawThenClose(b"HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n{\"data\":[]}".to_vec())
    });

    let err = list_error_without_hanging(client(&server));

    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no usable answer from the server: the connection closed before a whole answer arrived (after 3 attempts)"
    );
}

#[test]
fn a_201_whose_body_is_cut_was_processed_and_is_not_sent_again() {
    let server = FaultServer::start(|_, _| {
        Reply::RawThenClose(
            b"HTTP/1.1 201 Created\r\ncontent-length: 500\r\n\r\n{\"token\":\"ey".to_vec(),
        )
    });

    let err = without_hanging({
        let client = client(&server);
        move || create(&client).unwrap_err()
    });

    assert!(err.may_have_been_processed());
    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert!(!transport.is_connect());
    assert_eq!(
        err.to_string(),
        "no usable answer from the server: the connection closed before a whole answer arrived; the server answered 201, so the token was created, but its value did not arrive (list the tokens to find it and revoke it)"
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn garbage_bytes_are_a_transport_error_saying_the_answer_was_not_http() {
    let server = FaultServer::start(|_, _| {
        Reply::RawThenClose(b"\x00\xffSSH-2.0-OpenSSH_9.6\r\n\r\n garbage".to_vec())
    });

    let err = list_error_without_hanging(client(&server));

    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(err.status(), None);
    assert_eq!(
        err.to_string(),
        "no usable answer from the server: the answer was not valid HTTP"
    );
}

#[test]
fn a_50_mib_body_is_refused_by_its_content_length() {
    let server = FaultServer::start(|_, _| Reply::Huge {
        len: 50 << 20,
        announce: true,
    });

    let err = list(&client(&server)).unwrap_err();

    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                status: 200,
                limit: 4194304,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the 200 answer's body is larger than the 4194304-byte limit"
    );
}

#[test]
fn a_body_of_exactly_max_response_bytes_is_read_and_one_more_is_refused() {
    for (limit, ok) in [(PAGE.len() as u64, true), (PAGE.len() as u64 - 1, false)] {
        let server = FaultServer::start(|_, _| json(200, PAGE));
        let client = builder(&server.url())
            .max_response_bytes(limit)
            .build()
            .unwrap();

        let result = list(&client);

        match result {
            Ok(page) => assert!(ok, "{limit}: {page:?}"),
            Err(Error::ResponseTooLarge { limit: l, .. }) => {
                assert!(!ok, "{limit}");
                assert_eq!(l, limit);
            }
            Err(e) => panic!("{limit}: {e:?}"),
        }
        // Refused by its Content-Length, before the body is read, or read whole.
        assert_eq!(server.requests(), 1);
    }
}

#[test]
fn a_50_mib_body_without_a_length_stops_at_the_limit() {
    let server = FaultServer::start(|_, _| Reply::Huge {
        len: 50 << 20,
        announce: false,
    });

    let err = list_error_without_hanging(
        builder(&server.url())
            .max_response_bytes(1 << 20)
            .build()
            .unwrap(),
    );

    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                status: 200,
                limit: 1048576,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn an_html_502_page_is_an_api_error_with_an_excerpt() {
    let server =
        FaultServer::start(|_, _| respond(502, &[("content-type", "text/html")], HTML_502));

    let err = list(&client(&server)).unwrap_err();

    assert_eq!(
        err.to_string(),
        format!("server answered 502 Bad Gateway: {HTML_502} (after 3 attempts)")
    );
    assert_eq!(server.requests(), 3);
}

#[test]
fn a_301_is_not_followed() {
    let server =
        FaultServer::start(|_, _| respond(301, &[("location", "http://evil.example/steal")], ""));

    let err = list(&client(&server)).unwrap_err();

    assert_eq!(
        err.to_string(),
        "server answered 301 Moved Permanently redirecting to http://evil.example/steal; redirects are not followed"
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_server_that_never_answers_times_out_on_every_attempt() {
    let server = FaultServer::start(|_, _| Reply::Stall(Duration::from_secs(5)));

    let err = list_error_without_hanging(client(&server));

    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert!(transport.is_timeout());
    assert_eq!(transport.attempts(), 3);
    assert_eq!(server.requests(), 3);
}

// --- Mutated and truncated answers ------------------------------------------
//
// Thousands of mutated and truncated answers through the real decoding path:
// never a panic, always `Ok` or `Error::Decode`, and never a secret in the
// error.

const LIST: &str = r#"{"data":[{"id":"01JA7K3M","name":"deploy bot","created_at":"2026-01-01T00:00:00Z","expires_at":"2026-02-01T00:00:00Z","discarded_at":null},{"id":"01JA9T2W","name":null,"created_at":"2026-01-02T00:00:00Z"}],"links":{"first":"https://api.magicbell.com/v2/jwt/project","next":"https://api.magicbell.com/v2/jwt/project?starting_after=01JA9T2W","prev":null}}"#;
const DISCARD: &str = r#"{"token_id":"01JA7K3M","discarded_at":"2026-01-02T00:00:00Z"}"#;

fn create_body() -> String {
    format!(
        r#"{{"token":"{MINTED}","token_id":"01JA7K3M","created_at":"2026-01-01T00:00:00Z","expires_at":null}}"#
    )
}

/// xorshift64*: a tiny deterministic PRNG, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Every truncation of `body`, then `count` random mutations of it.
fn variants(body: &str, rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
    const NASTY: &[u8] = b"{}[]\":,\\0-1e9 \x00\xff\xc3nulltrue";
    let bytes = body.as_bytes();
    let mut out: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
    for _ in 0..count {
        let mut v = bytes.to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(v.len().max(1));
            match rng.below(4) {
                0 if !v.is_empty() => v[at] = NASTY[rng.below(NASTY.len())],
                1 => v.insert(at.min(v.len()), NASTY[rng.below(NASTY.len())]),
                2 if !v.is_empty() => {
                    v.remove(at);
                }
                _ => v.truncate(at),
            }
        }
        out.push(v);
    }
    out
}

#[track_caller]
fn check<T: std::fmt::Debug>(result: Result<T, Error>, body: &[u8]) {
    shown(&result);
    assert!(
        matches!(result, Ok(_) | Err(Error::Decode { status: 200, .. })),
        "body {:?} gave {result:?}",
        String::from_utf8_lossy(body)
    );
}

#[test]
fn mutated_and_truncated_answers_decode_or_fail_cleanly() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let create = create_body();
    let cases: Vec<(u8, Vec<u8>)> = [(0u8, LIST), (1, create.as_str()), (2, DISCARD)]
        .into_iter()
        .flat_map(|(kind, body)| {
            variants(body, &mut rng, 800)
                .into_iter()
                .map(move |v| (kind, v))
        })
        .collect();
    let cases = Arc::new(cases);
    let served = cases.clone();
    let server = FaultServer::start(move |n, _| {
        let body = served.get(n).map_or(&[][..], |(_, b)| b.as_slice());
        respond_bytes(200, &[("content-type", "application/json")], body)
    });
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .timeout(Duration::from_secs(5))
        .max_retries(0)
        .build()
        .unwrap();

    for (kind, body) in cases.iter() {
        match kind {
            0 => check(
                client.fetch_project_tokens(&FetchProjectTokensParams::default()),
                body,
            ),
            1 => check(
                client.create_project_jwt(&CreateProjectTokenRequest::new("x")),
                body,
            ),
            _ => check(client.discard_project_jwt("01JA7K3M"), body),
        }
    }

    assert!(cases.len() > 2_500, "{} variants", cases.len());
    assert_eq!(server.requests(), cases.len());
}
