//! Fault injection: retries that never duplicate a token, timeouts, limits, and
//! answers no well-behaved server would give. Every outcome is also checked to
//! hold neither secret.

mod common;

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::fault_server::{json, respond, FaultServer, Reply};
use common::{shown, MINTED, TOKEN};
use magicbell_jwt::{
    Client, ClientBuilder, CreateProjectTokenRequest, Error, FetchProjectTokensParams,
};

const PAGE: &str =
    r#"{"data":[{"id":"t1","created_at":"2026-01-01T00:00:00Z"}],"links":{"next":null}}"#;
const DISCARDED: &str = r#"{"token_id":"t1","discarded_at":"2026-01-02T00:00:00Z"}"#;
const HTML_502: &str = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>";

fn created() -> String {
    format!(r#"{{"token":"{MINTED}","token_id":"t9","created_at":"2026-01-01T00:00:00Z"}}"#)
}

/// Short timeouts and waits, so the suite stays quick; the policies are the defaults.
fn builder(url: &str) -> ClientBuilder {
    Client::builder(TOKEN)
        .base_url(url)
        .retry_delay(Duration::from_millis(5))
        .timeout(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(300))
}

fn client(server: &FaultServer) -> Client {
    builder(&server.url()).build().unwrap()
}

fn list(client: &Client) -> Result<magicbell_jwt::AccessTokenCollection, Error> {
    let result = client.fetch_project_tokens(&FetchProjectTokensParams::default());
    shown(&result);
    result
}

fn create(client: &Client) -> Result<magicbell_jwt::CreateTokenResponse, Error> {
    let result = client.create_project_jwt(&CreateProjectTokenRequest::new("ci"));
    shown(&result);
    result
}

/// The error of a list call, failing the test instead of hanging if the call
/// has not returned in 20 s.
fn list_error_without_hanging(client: Client) -> Error {
    without_hanging(move || list(&client).unwrap_err())
}

/// Runs `call` on another thread, failing the test instead of hanging past 20 s
/// (what an unbounded stall, or a backoff of an hour, would do).
fn without_hanging<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(call()));
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the call hung")
}

// --- Retries -----------------------------------------------------------------

#[test]
fn list_succeeds_after_two_503s() {
    let server = FaultServer::start(|n, _| {
        if n < 2 {
            json(503, "{}")
        } else {
            json(200, PAGE)
        }
    });

    let page = list(&client(&server)).unwrap();

    assert_eq!(page.data.len(), 1);
    assert_eq!(server.requests(), 3);
}

#[test]
fn with_retries_off_a_503_is_one_request_and_an_error() {
    let server = FaultServer::start(|_, _| json(503, "{}"));

    let err = list(&builder(&server.url()).max_retries(0).build().unwrap()).unwrap_err();

    assert_eq!(err.status(), Some(503));
    assert_eq!(err.attempts(), Some(1));
    assert_eq!(server.requests(), 1);
}

#[test]
fn after_the_last_attempt_the_error_says_how_many_were_made() {
    let server = FaultServer::start(|_, _| {
        respond(
            503,
            &[("x-request-id", "req_42")],
            r#"{"errors":[{"code":"unavailable","message":"try later"}]}"#,
        )
    });

    let err = list(&client(&server)).unwrap_err();

    assert_eq!(server.requests(), 3);
    assert_eq!(err.attempts(), Some(3));
    assert_eq!(
        err.to_string(),
        "server answered 503 Service Unavailable: unavailable: try later [request id req_42] (after 3 attempts)"
    );
    let Error::Api(api) = err else { panic!() };
    assert_eq!(api.request_id(), Some("req_42"));
    assert_eq!(api.attempts(), 3);
}

#[test]
fn every_retryable_status_is_retried_for_a_list() {
    for status in [408, 429, 500, 502, 503, 504] {
        let server = FaultServer::start(move |n, _| {
            if n == 0 {
                json(status, "{}")
            } else {
                json(200, PAGE)
            }
        });

        list(&client(&server)).unwrap();

        assert_eq!(server.requests(), 2, "status {status}");
    }
}

#[test]
fn other_statuses_are_not_retried() {
    for status in [400, 401, 403, 404, 422, 501] {
        let server = FaultServer::start(move |_, _| json(status, "{}"));

        let err = list(&client(&server)).unwrap_err();

        assert_eq!((err.status(), server.requests()), (Some(status), 1));
    }
}

#[test]
fn retry_after_in_seconds_is_waited_out() {
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            respond(429, &[("retry-after", "1")], "{}")
        } else {
            json(200, PAGE)
        }
    });
    let client = client(&server);

    let started = Instant::now();
    list(&client).unwrap();

    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(server.requests(), 2);
}

#[test]
fn retry_after_as_a_past_http_date_retries_at_once() {
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            respond(
                503,
                &[("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT")],
                "{}",
            )
        } else {
            json(200, PAGE)
        }
    });
    // A computed wait would take an hour: only the date's zero wait finishes.
    let patient = builder(&server.url())
        .retry_delay(Duration::from_secs(3600))
        .max_retry_delay(Duration::from_secs(3600))
        .build()
        .unwrap();

    without_hanging(move || list(&patient).unwrap());

    assert_eq!(server.requests(), 2);
    let past = FaultServer::start(|_, _| {
        respond(
            503,
            &[("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT")],
            "{}",
        )
    });
    let once = builder(&past.url()).max_retries(0).build().unwrap();
    let Error::Api(api) = list(&once).unwrap_err() else {
        panic!("expected an API error")
    };
    assert_eq!(api.retry_after(), Some(Duration::ZERO));
}

#[test]
fn retry_after_beyond_the_cap_is_returned_at_once_with_the_wait() {
    let server = FaultServer::start(|_, _| respond(429, &[("retry-after", "120")], "{}"));

    let err = list(&client(&server)).unwrap_err();

    assert_eq!(server.requests(), 1);
    let Error::Api(api) = err else { panic!() };
    assert_eq!(api.retry_after(), Some(Duration::from_secs(120)));
}

#[test]
fn retry_after_as_a_future_http_date_is_read() {
    let server = FaultServer::start(|_, _| {
        respond(
            429,
            &[("retry-after", "Fri, 01 Jan 2100 00:00:00 GMT")],
            "{}",
        )
    });

    let err = list(&client(&server)).unwrap_err();

    let Error::Api(api) = err else { panic!() };
    let wait = api.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(60 * 60 * 24 * 365 * 70),
        "{wait:?}"
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_malformed_retry_after_falls_back_to_the_computed_wait() {
    for value in [
        "soon",
        "-5",
        "1.5",
        "Sun, 06 Nov 99999999999999999 08:49:37 GMT",
        "Sun, 32 Nov 2026 99:99:99 GMT",
        "Sun, 06 Foo 2026 08:49:37 GMT",
        "Sun, 06 Nov 2026 08:49:37 PST",
    ] {
        let server = FaultServer::start(move |n, _| {
            if n == 0 {
                respond(503, &[("retry-after", value)], "{}")
            } else {
                json(200, PAGE)
            }
        });

        list(&client(&server)).unwrap();

        assert_eq!(server.requests(), 2, "{value}");
        let answer = FaultServer::start(move |_, _| respond(503, &[("retry-after", value)], "{}"));
        let once = builder(&answer.url()).max_retries(0).build().unwrap();
        let Error::Api(api) = list(&once).unwrap_err() else {
            panic!("expected an API error")
        };
        assert_eq!(api.retry_after(), None, "{value}");
    }
}

// --- Creates are never sent twice unless the server provably did not process them

#[test]
fn create_is_not_retried_on_500() {
    let server = FaultServer::start(|_, _| json(500, "{}"));

    let err = create(&client(&server)).unwrap_err();

    assert_eq!(err.status(), Some(500));
    assert!(err.may_have_been_processed());
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_503_on_a_create_may_have_been_processed_and_is_not_retried() {
    let server = FaultServer::start(|_, _| respond(503, &[("retry-after", "0")], "{}"));

    let err = create(&client(&server)).unwrap_err();

    assert_eq!(err.status(), Some(503));
    assert!(err.may_have_been_processed());
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_422_on_a_create_was_not_processed_and_is_not_retried() {
    let server = FaultServer::start(|_, _| {
        json(
            422,
            r#"{"errors":[{"code":"invalid","message":"name is taken"}]}"#,
        )
    });

    let err = create(&client(&server)).unwrap_err();

    assert_eq!(err.status(), Some(422));
    assert!(!err.may_have_been_processed());
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_429_on_every_attempt_of_a_create_was_not_processed() {
    let server = FaultServer::start(|_, _| json(429, "{}"));
    // A 429 is waited out within the rate-limit budget, not counted against
    // max_retries: a short budget ends the call.
    let client = builder(&server.url())
        .max_rate_limit_wait(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = create(&client).unwrap_err();

    assert_eq!(err.status(), Some(429));
    assert!(!err.may_have_been_processed());
    let attempts = err.attempts().unwrap();
    assert!(attempts > 3, "{attempts} attempts");
    assert_eq!(server.requests(), attempts as usize);
}

#[test]
fn a_create_answered_408_was_not_processed_and_is_sent_again() {
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            json(408, "{}")
        } else {
            json(201, &created())
        }
    });

    let token = create(&client(&server)).unwrap();

    assert_eq!(token.token_id, "t9");
    assert_eq!(server.requests(), 2);
}

#[test]
fn create_is_not_retried_after_the_connection_is_cut_once_the_request_was_read() {
    let server = FaultServer::start(|_, _| Reply::Close);

    let err = create(&client(&server)).unwrap_err();

    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert!(!transport.is_connect());
    assert!(!transport.is_timeout());
    assert!(err.may_have_been_processed());
    assert_eq!(err.attempts(), Some(1));
    assert_eq!(server.requests(), 1);
}

#[test]
fn create_is_not_retried_after_a_stall_past_the_timeout() {
    let server = FaultServer::start(|_, _| Reply::Stall(Duration::from_secs(3)));

    let err = create(&client(&server)).unwrap_err();

    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert!(transport.is_timeout());
    assert!(!transport.is_connect());
    assert!(err.may_have_been_processed());
    assert_eq!(
        err.to_string(),
        "no usable answer from the server: the server did not answer in time; the server may or may not have processed the create, so it was not sent again (list the tokens to check)"
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn create_is_retried_when_the_connection_is_refused() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = builder(&format!("http://127.0.0.1:{port}/v2"))
        .build()
        .unwrap();

    let err = create(&client).unwrap_err();

    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert!(transport.is_connect());
    assert!(!transport.is_timeout());
    assert!(!err.may_have_been_processed());
    assert_eq!(transport.attempts(), 3);
    assert_eq!(
        err.to_string(),
        format!("no usable answer from the server: could not connect to 127.0.0.1:{port}: connection refused (after 3 attempts)")
    );
}

#[test]
fn create_is_retried_on_429() {
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            json(429, "{}")
        } else {
            json(201, &created())
        }
    });

    let token = create(&client(&server)).unwrap();

    assert_eq!(token.token_id, "t9");
    assert_eq!(server.requests(), 2);
}

#[test]
fn a_retried_discard_that_meets_a_404_reports_it() {
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            Reply::Close
        } else {
            json(404, r#"{"errors":[{"code":"not_found"}]}"#)
        }
    });

    let result = client(&server).discard_project_jwt("t1");
    shown(&result);
    let err = result.unwrap_err();

    assert_eq!(err.status(), Some(404));
    assert_eq!(err.attempts(), Some(2));
    // The first attempt was read before the cut: it may have revoked the
    // token, which is why the second found none.
    assert!(err.may_have_been_processed());
    assert_eq!(
        err.to_string(),
        "server answered 404 Not Found: not_found (after 2 attempts; an earlier attempt may have been processed)"
    );
    assert_eq!(server.requests(), 2);
}

#[test]
fn a_discard_read_and_cut_then_refused_may_have_been_processed_and_says_so() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (read, was_read) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let request = common::fault_server::read_request(&mut std::io::BufReader::new(&stream));
        // The port closes before the connection is cut: every retry is
        // refused.
        drop(listener);
        let _ = read.send(request.map(|r| (r.method, r.target)));
        drop(stream);
    });
    let client = builder(&format!("http://127.0.0.1:{port}/v2"))
        .build()
        .unwrap();

    let result = without_hanging(move || client.discard_project_jwt("t1"));
    shown(&result);
    let err = result.unwrap_err();

    assert_eq!(
        was_read.recv().unwrap(),
        Some(("DELETE".to_owned(), "/v2/jwt/project/t1".to_owned()))
    );
    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    // The last attempt never reached the server; the first did.
    assert!(transport.is_connect());
    assert!(err.may_have_been_processed());
    assert_eq!(err.attempts(), Some(3));
    assert_eq!(
        err.to_string(),
        format!("no usable answer from the server: could not connect to 127.0.0.1:{port}: connection refused (after 3 attempts; an earlier attempt may have been processed)")
    );
}

#[test]
fn discard_is_retried_on_a_cut_connection() {
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            Reply::Close
        } else {
            json(200, DISCARDED)
        }
    });

    let result = client(&server).discard_project_jwt("t1");
    shown(&result);

    assert_eq!(result.unwrap().token_id, "t1");
    assert_eq!(server.requests(), 2);
}

// --- Connections the server closed as a request arrived ---------------------

/// Answers the first request on each connection, then closes it as the next
/// one arrives, unanswered: a keep-alive timeout firing as a request comes in.
fn closes_reused_connections(answer: &'static str) -> FaultServer {
    FaultServer::start(move |_, request| {
        if request.on_connection == 0 {
            json(200, answer)
        } else {
            Reply::Close
        }
    })
}

#[test]
fn a_list_on_a_closed_kept_alive_connection_is_sent_again_at_once_on_a_new_one() {
    let server = closes_reused_connections(PAGE);
    // Any backoff would take an hour: only the immediate resend finishes.
    let client = builder(&server.url())
        .retry_delay(Duration::from_secs(3600))
        .max_retry_delay(Duration::from_secs(3600))
        .build()
        .unwrap();
    list(&client).unwrap();

    let page = without_hanging(move || list(&client));

    assert_eq!(page.unwrap().data.len(), 1);
    // First list; the second on the old connection (closed), then on a new one.
    assert_eq!((server.requests(), server.connections()), (3, 2));
}

#[test]
fn a_discard_on_a_closed_kept_alive_connection_is_sent_again_at_once() {
    let server = closes_reused_connections(DISCARDED);
    // Any backoff would take an hour: only the immediate resend finishes.
    let client = builder(&server.url())
        .retry_delay(Duration::from_secs(3600))
        .max_retry_delay(Duration::from_secs(3600))
        .build()
        .unwrap();
    client.discard_project_jwt("t1").unwrap();

    let discarded = without_hanging(move || client.discard_project_jwt("t1"));

    assert_eq!(discarded.unwrap().token_id, "t1");
    assert_eq!((server.requests(), server.connections()), (3, 2));
}

#[test]
fn the_send_on_a_new_connection_counts_toward_max_retries() {
    let server = closes_reused_connections(PAGE);
    let client = builder(&server.url()).max_retries(0).build().unwrap();
    list(&client).unwrap();

    let err = list(&client).unwrap_err();

    assert_eq!(
        err.to_string(),
        "no usable answer from the server: the connection closed before a whole answer arrived"
    );
    assert_eq!(server.requests(), 2);
}

#[test]
fn only_the_first_closed_connection_of_a_call_skips_the_backoff() {
    // Every request after the first is met by a close: the second attempt
    // goes at once, the third waits out the (short) backoff, then it gives up.
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            json(200, PAGE)
        } else {
            Reply::Close
        }
    });
    let client = client(&server);
    list(&client).unwrap();

    let err = list(&client).unwrap_err();

    assert_eq!(err.attempts(), Some(3));
    assert_eq!(server.requests(), 4);
}

#[test]
fn a_create_on_a_closed_kept_alive_connection_is_not_sent_again_and_says_so() {
    let created = created();
    let server = FaultServer::start(move |_, request| {
        if request.on_connection == 0 {
            json(201, &created)
        } else {
            Reply::Close
        }
    });
    let client = client(&server);
    create(&client).unwrap();

    let err = create(&client).unwrap_err();

    assert_eq!(
        err.to_string(),
        "no usable answer from the server: the connection closed before a whole answer arrived; the server may or may not have processed the create, so it was not sent again (list the tokens to check)"
    );
    assert_eq!(err.attempts(), Some(1));
    assert_eq!(server.requests(), 2);
}

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

// --- Sharing -----------------------------------------------------------------

#[test]
fn eight_threads_share_one_client_and_its_connections() {
    let server = FaultServer::start(|_, _| json(200, PAGE));
    let client = client(&server);

    let threads: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            thread::spawn(move || (0..50).filter(|_| list(&client).is_ok()).count())
        })
        .collect();
    let ok: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();

    assert_eq!(ok, 400);
    assert_eq!(server.requests(), 400);
    assert!(
        server.connections() <= 16,
        "{} connections for 400 requests",
        server.connections()
    );
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
        json(200, PAGE)
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

#[test]
fn plain_http_is_refused_for_hosts_that_are_not_loopback() {
    let err = Client::builder(TOKEN)
        .base_url("http://api.magicbell.com/v2")
        .build()
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "invalid input: base URL \"http://api.magicbell.com/v2\" would send the token in clear text to a host that is not loopback; use https, or a loopback host such as 127.0.0.1"
    );
    for url in [
        "http://localhost:8080",
        "http://127.0.0.9/v2",
        "http://[::1]:3000/v2",
    ] {
        assert!(
            Client::builder(TOKEN).base_url(url).build().is_ok(),
            "{url}"
        );
    }
    assert!(Client::builder(TOKEN)
        .base_url("http://magicbell.internal/v2")
        .allow_insecure_http(true)
        .build()
        .is_ok());
}
