//! A create is never sent twice unless the server provably did not process
//! it; a revoke says when an earlier attempt may have been processed.

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::util::scripted::{builder, client, create, created, without_hanging, DISCARDED};
use crate::util::shown;
use magicbell_jwt::Error;
use magicbell_jwt_test_support::{json, respond, FaultServer, Reply};

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
        let request =
            magicbell_jwt_test_support::read_request(&mut std::io::BufReader::new(&stream));
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
