//! Connections: a kept-alive connection the server closed as a request
//! arrived, and one client shared by many threads over its pool.

use std::thread;
use std::time::Duration;

use crate::util::scripted::{
    builder, client, create, created, list, without_hanging, DISCARDED, PAGE,
};
use magicbell_jwt_test_support::{json, FaultServer, Reply};

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
        // A loaded machine must not time out an attempt into that backoff.
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(30))
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
        // A loaded machine must not time out an attempt into that backoff.
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(30))
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
