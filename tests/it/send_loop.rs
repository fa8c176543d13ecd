//! The send loop over a local server: which answers (429s above all)
//! are waited out and sent again, counted by the server, not timed.

use std::time::Duration;

use magicbell_jwt_test_support::{json, respond, FaultServer, Reply};

use magicbell_jwt::{Client, CreateProjectTokenRequest, Error, FetchProjectTokensParams};

const PAGE: &str = r#"{"data":[],"links":{"next":null}}"#;

/// 429s asking for no wait to the first `refusals` requests, then a page.
fn refusing(refusals: usize) -> FaultServer {
    FaultServer::start(move |n, _| {
        if n < refusals {
            respond(429, &[("retry-after", "0")], "{}")
        } else {
            json(200, PAGE)
        }
    })
}

fn client(server: &FaultServer, max_retries: u32) -> Client {
    Client::builder("t")
        .base_url(server.url())
        .retry_delay(Duration::from_millis(1))
        .max_retries(max_retries)
        .build()
        .unwrap()
}

fn list(client: &Client) -> Result<(), Error> {
    client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .map(|_| ())
}

#[test]
fn refusals_are_sent_again_past_max_retries_and_counted_as_attempts() {
    let server = refusing(4);
    let client = client(&server, 2);

    list(&client).unwrap();

    assert_eq!(server.requests(), 5);
    assert_eq!(client.rate_limit_stats().throttled, 4);
}

#[test]
fn a_client_that_never_retries_returns_the_first_429() {
    let server = refusing(1);
    let client = client(&server, 0);

    let err = list(&client).unwrap_err();

    assert_eq!((err.status(), err.attempts()), (Some(429), Some(1)));
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_429_after_an_attempt_that_may_have_acted_is_sent_again_for_a_list() {
    let server = FaultServer::start(|n, _| match n {
        0 => json(500, "{}"),
        1 => respond(429, &[("retry-after", "0")], "{}"),
        _ => json(200, PAGE),
    });
    let client = client(&server, 2);

    list(&client).unwrap();

    assert_eq!(server.requests(), 3);
}

#[test]
fn a_429_to_a_create_that_never_acted_is_sent_again() {
    let server = FaultServer::start(|n, _| match n {
        0 => respond(429, &[("retry-after", "0")], "{}"),
        _ => json(
            201,
            r#"{"token":"a.b.c","token_id":"t9","created_at":"2026-01-01T00:00:00Z","expires_at":null}"#,
        ),
    });
    let client = client(&server, 2);

    let token = client.create_project_jwt(&CreateProjectTokenRequest::new("n"));

    assert_eq!(token.unwrap().token_id, "t9");
    assert_eq!(server.requests(), 2);
}

#[test]
fn with_no_budget_a_429_ends_the_call_though_the_next_would_succeed() {
    let server = refusing(1);
    let client = Client::builder("t")
        .base_url(server.url())
        .max_rate_limit_wait(Duration::ZERO)
        .build()
        .unwrap();

    let err = list(&client).unwrap_err();

    assert_eq!(err.status(), Some(429));
    assert_eq!(server.requests(), 1);
}

#[test]
fn failures_count_against_max_retries_and_every_send_is_an_attempt() {
    let server = FaultServer::start(|_, _| json(503, "{}"));
    let client = client(&server, 2);

    let err = list(&client).unwrap_err();

    assert_eq!((err.status(), err.attempts()), (Some(503), Some(3)));
    assert_eq!(server.requests(), 3);
}

#[test]
fn only_a_503_s_retry_after_pauses_the_client_when_no_429_came() {
    // Creates are not sent again after a 5xx: the call ends at once, and
    // what the answer did to the throttle shows in the stats.
    let create = |status: u16| {
        let server =
            FaultServer::start(move |_, _| respond(status, &[("retry-after", "30")], "{}"));
        let client = client(&server, 2);
        let err = client
            .create_project_jwt(&CreateProjectTokenRequest::new("n"))
            .unwrap_err();
        assert_eq!(err.status(), Some(status));
        client.rate_limit_stats().held_for
    };
    let held = create(503).expect("a 503's Retry-After pauses the client");
    assert!(held <= Duration::from_secs(30), "{held:?}");
    assert_eq!(create(500), None);
    // A Retry-After past max_retry_after pauses nobody.
    let server = FaultServer::start(|_, _| respond(503, &[("retry-after", "3600")], "{}"));
    let client = client(&server, 2);
    client
        .create_project_jwt(&CreateProjectTokenRequest::new("n"))
        .unwrap_err();
    assert_eq!(client.rate_limit_stats().held_for, None);
}

#[test]
fn a_closed_kept_alive_connection_is_tried_again_at_once_only_once_a_call() {
    // Every request after the first is met by a close: the second attempt
    // goes at once, the third after a backoff, then the call gives up.
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            json(200, PAGE)
        } else {
            Reply::Close
        }
    });
    let client = Client::builder("t")
        .base_url(server.url())
        .retry_delay(Duration::from_millis(300))
        .build()
        .unwrap();
    list(&client).unwrap();
    let started = std::time::Instant::now();

    let err = list(&client).unwrap_err();

    assert_eq!(err.attempts(), Some(3));
    assert_eq!(server.requests(), 4);
    // A lower bound only: the one backoff (half of 300 ms at least) was
    // waited; a busy machine makes it longer, never shorter.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_list_on_a_closed_kept_alive_connection_is_sent_again_at_once() {
    // The first request on each connection is answered, the next closed.
    let server = FaultServer::start(|_, request| {
        if request.on_connection == 0 {
            json(200, PAGE)
        } else {
            Reply::Close
        }
    });
    // Any backoff would take an hour: only the immediate resend finishes.
    let client = Client::builder("t")
        .base_url(server.url())
        .retry_delay(Duration::from_secs(3600))
        .max_retry_delay(Duration::from_secs(3600))
        .build()
        .unwrap();
    list(&client).unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(list(&client)));
    let second = rx.recv_timeout(Duration::from_secs(20));

    assert!(matches!(second, Ok(Ok(()))), "{second:?}");
    assert_eq!((server.requests(), server.connections()), (3, 2));
}
