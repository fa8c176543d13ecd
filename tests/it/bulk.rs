//! Revoking many tokens at once: order and per-id errors, how many requests
//! are in flight, connections reused, and the stop once the server is gone.

use std::thread;
use std::time::{Duration, Instant};

use crate::util::{reason, TOKEN};
use httpmock::prelude::*;
use magicbell_jwt::{Client, Error};
use magicbell_jwt_test_support::{dies_after, json, FaultServer, InFlightServer};

fn discarded(id: &str) -> String {
    format!(r#"{{"token_id":"{id}","discarded_at":"2026-01-02T00:00:00Z"}}"#)
}

#[track_caller]
fn fault_client(url: &str) -> Client {
    Client::builder(TOKEN)
        .base_url(url)
        .retry_delay(Duration::from_millis(1))
        .build()
        .unwrap()
}

/// A server that answers each revoke only once `wanted` requests are in
/// flight together (or `patience` has passed), noting the most it ever
/// held at once and the order requests arrived in.
fn concurrency_server(wanted: usize, patience: Duration) -> InFlightServer {
    InFlightServer::builder(wanted, patience).start(|request| {
        let id = request
            .target
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        json(200, &discarded(&id))
    })
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

        let results = fault_client(&c.url()).discard_project_jwts(&ids, parallelism);

        assert!(results.iter().all(Result::is_ok));
        assert_eq!(c.most("DELETE"), parallelism);
        assert_eq!(c.requests(), parallelism * 3);
    }
}

#[test]
fn parallelism_1_sends_strictly_one_after_another_in_order() {
    for parallelism in [1, 0] {
        // Each request is held 50 ms: a second one sent alongside would be seen.
        let c = concurrency_server(2, Duration::from_millis(50));
        let ids = ["t0", "t1", "t2", "t3"];

        let results = fault_client(&c.url()).discard_project_jwts(&ids, parallelism);

        assert!(results.iter().all(Result::is_ok));
        assert_eq!(c.most("DELETE"), 1);
        let order = c.order();
        assert_eq!(
            order,
            [
                "DELETE /v2/jwt/project/t0",
                "DELETE /v2/jwt/project/t1",
                "DELETE /v2/jwt/project/t2",
                "DELETE /v2/jwt/project/t3"
            ]
        );
    }
}

#[test]
fn a_batch_reuses_its_connections() {
    let c = concurrency_server(16, Duration::from_secs(2));
    let client = fault_client(&c.url());
    let ids: Vec<String> = (0..64).map(|i| format!("t{i}")).collect();

    let first = client.discard_project_jwts(&ids, 16);
    let second = client.discard_project_jwts(&ids, 16);

    assert!(first.iter().chain(&second).all(Result::is_ok));
    assert_eq!(c.requests(), 128);
    // Sixteen, the most the docs recommend, stay pooled between batches.
    assert_eq!(c.connections(), 16);
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

    let results = fault_client(&server.url()).discard_project_jwts(&ids, 8);

    let got: Vec<String> = results.into_iter().map(|r| r.unwrap().token_id).collect();
    assert_eq!(got, ids);
}

#[test]
fn parallelism_beyond_the_ids_or_the_cap_still_revokes_each_id_once() {
    let c = concurrency_server(3, Duration::from_millis(200));
    let ids = ["t0", "t1", "t2"];

    let results = fault_client(&c.url()).discard_project_jwts(&ids, usize::MAX);

    assert!(results.iter().all(Result::is_ok));
    assert_eq!(c.requests(), 3);
    // The first id goes alone; the other two together.
    assert_eq!(c.most("DELETE"), 2);
}

#[test]
fn an_empty_batch_sends_nothing() {
    let server = FaultServer::start(|_, _| json(500, "{}"));
    let none: [&str; 0] = [];

    assert!(fault_client(&server.url())
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
