//! Revoking many tokens at once, and one `Retry-After` for a whole client:
//! order and per-id errors, how many requests are in flight, and the shared
//! wait across threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{reason, TOKEN};
use httpmock::prelude::*;
use magicbell_jwt::{Client, Error, FetchProjectTokensParams};
use magicbell_jwt_test_support::{dies_after, json, respond, FaultServer, Reply};

fn discarded(id: &str) -> String {
    format!(r#"{{"token_id":"{id}","discarded_at":"2026-01-02T00:00:00Z"}}"#)
}

fn fault_client(server: &FaultServer) -> Client {
    Client::builder(TOKEN)
        .base_url(server.url())
        .retry_delay(Duration::from_millis(1))
        .build()
        .unwrap()
}

/// A server that answers each revoke only once `wanted` requests are in
/// flight together (or `patience` has passed), recording the most it ever
/// held at once and the order requests arrived in.
struct Concurrency {
    server: FaultServer,
    most: Arc<AtomicUsize>,
    order: Arc<Mutex<Vec<String>>>,
}

fn concurrency_server(wanted: usize, patience: Duration) -> Concurrency {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let (most2, order2) = (most.clone(), order.clone());
    let server = FaultServer::start(move |_, request| {
        order2.lock().unwrap().push(request.target.clone());
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        most2.fetch_max(now, Ordering::SeqCst);
        let started = Instant::now();
        while in_flight.load(Ordering::SeqCst) < wanted && started.elapsed() < patience {
            thread::sleep(Duration::from_millis(1));
        }
        // Let the others of this round see the full count before leaving.
        thread::sleep(Duration::from_millis(5));
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let id = request
            .target
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        json(200, &discarded(&id))
    });
    Concurrency {
        server,
        most,
        order,
    }
}

#[test]
fn results_come_in_the_order_of_the_ids_with_each_ids_own_error() {
    let server = MockServer::start();
    let ok: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|id| {
            server.mock(|when, then| {
                when.method(DELETE)
                    .path(format!("/v2/jwt/project/{id}"))
                    .header("authorization", format!("Bearer {TOKEN}"));
                then.status(200)
                    .header("content-type", "application/json")
                    .body(discarded(id));
            })
        })
        .collect();
    let missing = server.mock(|when, then| {
        when.method(DELETE).path("/v2/jwt/project/missing");
        then.status(404)
            .header("content-type", "application/json")
            .body(r#"{"errors":[{"code":"not_found","message":"no such token"}]}"#);
    });
    let client = crate::util::client(&server);

    let results = client.discard_project_jwts(&["a", "", "b", "missing", "..", "c"], 4);

    assert_eq!(results.len(), 6);
    let ids: Vec<Option<&str>> = results
        .iter()
        .map(|r| r.as_ref().ok().map(|d| d.token_id.as_str()))
        .collect();
    assert_eq!(ids, [Some("a"), None, Some("b"), None, None, Some("c")]);
    let mut results = results.into_iter();
    let refused = results.nth(1).unwrap().unwrap_err();
    assert_eq!(reason(refused), "token_id is empty");
    let not_found = results.nth(1).unwrap().unwrap_err();
    assert_eq!(not_found.status(), Some(404));
    assert_eq!(not_found.attempts(), Some(1));
    assert!(matches!(
        results.next(),
        Some(Err(Error::InvalidInput { .. }))
    ));
    for mock in ok {
        mock.assert_calls(1);
    }
    missing.assert_calls(1);
}

#[test]
fn user_tokens_are_revoked_at_their_own_path_in_order() {
    let server = MockServer::start();
    let mocks: Vec<_> = ["u1", "u/2"]
        .iter()
        .map(|id| {
            let path = format!("/v2/jwt/user/{}", id.replace('/', "%2F"));
            server.mock(|when, then| {
                when.method(DELETE).path(path);
                then.status(200)
                    .header("content-type", "application/json")
                    .body(discarded(id));
            })
        })
        .collect();

    let results =
        crate::util::client(&server).discard_user_jwts(&["u1".to_owned(), "u/2".to_owned()], 2);

    let ids: Vec<String> = results.into_iter().map(|r| r.unwrap().token_id).collect();
    assert_eq!(ids, ["u1", "u/2"]);
    for mock in mocks {
        mock.assert_calls(1);
    }
}

#[test]
fn no_more_than_parallelism_requests_are_in_flight_and_that_many_are_reached() {
    for parallelism in [2, 4, 8] {
        let c = concurrency_server(parallelism, Duration::from_secs(2));
        let ids: Vec<String> = (0..parallelism * 3).map(|i| format!("t{i}")).collect();

        let results = fault_client(&c.server).discard_project_jwts(&ids, parallelism);

        assert!(results.iter().all(Result::is_ok));
        assert_eq!(c.most.load(Ordering::SeqCst), parallelism);
        assert_eq!(c.server.requests(), parallelism * 3);
    }
}

#[test]
fn parallelism_1_sends_strictly_one_after_another_in_order() {
    for parallelism in [1, 0] {
        // Each request is held 50 ms: a second one sent alongside would be seen.
        let c = concurrency_server(2, Duration::from_millis(50));
        let ids = ["t0", "t1", "t2", "t3"];

        let results = fault_client(&c.server).discard_project_jwts(&ids, parallelism);

        assert!(results.iter().all(Result::is_ok));
        assert_eq!(c.most.load(Ordering::SeqCst), 1);
        let order = c.order.lock().unwrap().clone();
        assert_eq!(
            order,
            [
                "/v2/jwt/project/t0",
                "/v2/jwt/project/t1",
                "/v2/jwt/project/t2",
                "/v2/jwt/project/t3"
            ]
        );
    }
}

#[test]
fn a_batch_reuses_its_connections() {
    let c = concurrency_server(16, Duration::from_secs(2));
    let client = fault_client(&c.server);
    let ids: Vec<String> = (0..64).map(|i| format!("t{i}")).collect();

    let first = client.discard_project_jwts(&ids, 16);
    let second = client.discard_project_jwts(&ids, 16);

    assert!(first.iter().chain(&second).all(Result::is_ok));
    assert_eq!(c.server.requests(), 128);
    // Sixteen, the most the docs recommend, stay pooled between batches.
    assert_eq!(c.server.connections(), 16);
}

#[test]
fn results_keep_the_ids_order_when_early_ids_finish_last() {
    // The earlier the id, the longer its answer takes: completion order is
    // the reverse of the ids.
    let server = FaultServer::start(|_, request| {
        let id = request
            .target
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let n: u64 = id.trim_start_matches('t').parse().unwrap_or(0);
        thread::sleep(Duration::from_millis(10 * (8 - n.min(8))));
        json(200, &discarded(&id))
    });
    let ids: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();

    let results = fault_client(&server).discard_project_jwts(&ids, 8);

    let got: Vec<String> = results.into_iter().map(|r| r.unwrap().token_id).collect();
    assert_eq!(got, ids);
}

#[test]
fn parallelism_beyond_the_ids_or_the_cap_still_revokes_each_id_once() {
    let c = concurrency_server(3, Duration::from_millis(200));
    let ids = ["t0", "t1", "t2"];

    let results = fault_client(&c.server).discard_project_jwts(&ids, usize::MAX);

    assert!(results.iter().all(Result::is_ok));
    assert_eq!(c.server.requests(), 3);
    // The first id goes alone; the other two together.
    assert_eq!(c.most.load(Ordering::SeqCst), 2);
}

#[test]
fn an_empty_batch_sends_nothing() {
    let server = FaultServer::start(|_, _| json(500, "{}"));
    let none: [&str; 0] = [];

    assert!(fault_client(&server)
        .discard_project_jwts(&none, 8)
        .is_empty());
    assert_eq!(server.requests(), 0);
}

#[test]
fn a_batch_stops_soon_after_the_server_is_gone_and_names_each_id_it_did_not_send() {
    // The pause lets the last answers be counted before any failure, so
    // the run of failures starts after them.
    let (port, server) = dies_after(20, Duration::from_millis(100), |request| {
        discarded(request.target.rsplit('/').next().unwrap_or_default())
    });
    let client = Client::builder(TOKEN)
        .base_url(format!("http://127.0.0.1:{port}/v2"))
        .retry_delay(Duration::from_millis(5))
        .build()
        .unwrap();
    let ids: Vec<String> = (0..300).map(|i| format!("t{i}")).collect();

    let started = Instant::now();
    let results = client.discard_project_jwts(&ids, 8);
    let took = started.elapsed();

    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(server.join().unwrap(), 20);
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let tried: Vec<&Error> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| !matches!(e, Error::NotAttempted { .. }))
        .collect();
    let not_sent = format!(
        "not sent: the batch stopped after 8 revokes in a row could not reach the server (the last: could not connect to 127.0.0.1:{port}: connection refused)"
    );
    let not_attempted = results
        .iter()
        .filter(|r| matches!(r, Err(e @ Error::NotAttempted { .. }) if e.to_string() == not_sent))
        .count();
    assert_eq!(ok, 20);
    // 8 in a row stop the batch; up to 7 more were in flight by then.
    assert!((8..=15).contains(&tried.len()), "{}", tried.len());
    for e in &tried {
        assert!(matches!(e, Error::Transport(t) if t.is_connect()), "{e}");
        assert_eq!(e.attempts(), Some(3), "{e}");
    }
    assert_eq!(not_attempted, 300 - 20 - tried.len());
    for result in &results {
        if let Err(e @ Error::NotAttempted { .. }) = result {
            assert!(!e.may_have_been_processed());
            assert_eq!((e.status(), e.attempts()), (None, None));
        }
    }
}

/// A server that answers 429 with `Retry-After: 1` to the first request and
/// to any other arriving within that second, and 200 after it; it records
/// each status and tells `first` when the first 429 has gone out.
fn one_second_limit() -> (FaultServer, Arc<Mutex<Vec<u16>>>, mpsc::Receiver<()>) {
    const PAGE: &str = r#"{"data":[],"links":{"next":null}}"#;
    let first_429: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let (tx, first) = mpsc::channel();
    let tx = Mutex::new(tx);
    let log = statuses.clone();
    let server = FaultServer::start(move |_, _| {
        let mut at = first_429.lock().unwrap();
        let within = at.is_none_or(|at| at.elapsed() < Duration::from_secs(1));
        if within {
            log.lock().unwrap().push(429);
            if at.is_none() {
                *at = Some(Instant::now());
                let _ = tx.lock().unwrap().send(());
            }
            respond(429, &[("retry-after", "1")], "{}")
        } else {
            log.lock().unwrap().push(200);
            Reply::Raw(magicbell_jwt_test_support::answer_bytes(
                200,
                &[("content-type", "application/json")],
                PAGE.as_bytes(),
            ))
        }
    });
    (server, statuses, first)
}

fn list(client: &Client) -> Result<(), Error> {
    client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .map(|_| ())
}

#[test]
fn a_retry_after_met_on_one_thread_holds_back_a_request_started_on_another() {
    let (server, statuses, first) = one_second_limit();
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .build()
        .unwrap();

    // Thread A meets the 429 and waits it out to retry.
    let a = {
        let client = client.clone();
        thread::spawn(move || list(&client))
    };
    first.recv_timeout(Duration::from_secs(10)).unwrap();
    // B starts once A has read its 429, while A is still waiting it out.
    let polling = Instant::now();
    while client.rate_limit_stats().throttled == 0 {
        assert!(
            polling.elapsed() < Duration::from_secs(10),
            "A's 429 was not recorded"
        );
        thread::sleep(Duration::from_millis(1));
    }
    let started = Instant::now();
    let held_for = client.rate_limit_stats().held_for.expect("A is waiting");
    let b = {
        let client = client.clone();
        thread::spawn(move || list(&client))
    };
    let (a, b) = (a.join().unwrap(), b.join().unwrap());

    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    // B went no sooner than A's pause, as it stood when B started, ended.
    assert!(
        started.elapsed() >= held_for,
        "B was answered after {:?}, the pause had {held_for:?} left",
        started.elapsed()
    );
    // B was held back, not answered 429: the one 429 is A's.
    assert_eq!(*statuses.lock().unwrap(), [429, 200, 200]);
}

#[test]
fn another_client_is_not_held_back_by_this_ones_retry_after() {
    let (server, statuses, _first) = one_second_limit();
    let paused = Client::builder(TOKEN)
        .base_url(server.url())
        .max_retries(1)
        .max_retry_after(Duration::from_secs(5))
        .build()
        .unwrap();
    let other = Client::builder(TOKEN)
        .base_url(server.url())
        .max_retries(0)
        .build()
        .unwrap();
    // `paused` meets the 429 on a thread of its own and waits to retry.
    let waiting = thread::spawn(move || list(&paused));
    thread::sleep(Duration::from_millis(200));

    let started = Instant::now();
    let err = list(&other).unwrap_err();

    assert_eq!(err.status(), Some(429));
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    waiting.join().unwrap().unwrap();
    assert_eq!(*statuses.lock().unwrap(), [429, 429, 200]);
}

#[test]
fn a_client_that_never_retries_never_holds_back_either() {
    let (server, statuses, _first) = one_second_limit();
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .max_retries(0)
        .build()
        .unwrap();

    assert_eq!(list(&client).unwrap_err().status(), Some(429));
    let started = Instant::now();
    assert_eq!(list(&client).unwrap_err().status(), Some(429));

    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(*statuses.lock().unwrap(), [429, 429]);
}

#[test]
fn a_retry_after_beyond_max_retry_after_holds_nobody_back() {
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            respond(429, &[("retry-after", "3600")], "{}")
        } else {
            json(200, r#"{"data":[]}"#)
        }
    });
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .max_retries(0)
        .build()
        .unwrap();
    let list = |c: &Client| c.fetch_project_tokens(&FetchProjectTokensParams::default());

    assert_eq!(list(&client).unwrap_err().status(), Some(429));
    // Waiting out the hour would fail here rather than hang the suite.
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || tx.send(list(&client).map(|_| ())));
    let second = rx.recv_timeout(Duration::from_secs(10));

    assert!(matches!(second, Ok(Ok(()))), "{second:?}");
    assert_eq!(server.requests(), 2);
}
