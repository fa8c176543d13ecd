//! Rate limits: a batch against a server that allows a few requests a
//! window finishes without failures, meeting few 429s; a call under a rate
//! limit waits within `max_rate_limit_wait`; `rate_limit_stats` counts what
//! was met; one `Retry-After` holds back the whole client, across threads.
//! Counts are asserted exactly or bounded; times only generously.

use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::TOKEN;
use magicbell_jwt::{Client, FetchProjectTokensParams};
use magicbell_jwt_test_support::{json, respond, FaultServer, RateLimitedServer, Reply, Windows};

/// Windows of one second from the server's start: the test's first window
/// is a whole one, wherever in the wall-clock second it starts.
fn ten_a_second(headers: bool) -> RateLimitedServer {
    RateLimitedServer::builder(10)
        .windows(Windows::FromStart(Duration::from_secs(1)))
        .headers(headers)
        .start()
}

/// A client with the default settings.
#[track_caller]
fn client(url: &str) -> Client {
    Client::builder(TOKEN).base_url(url).build().unwrap()
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{i}")).collect()
}

#[test]
fn a_rate_limited_batch_finishes_with_no_failure_and_few_429s() {
    let server = ten_a_second(false);
    let client = client(&server.url());
    let ids = ids(20);
    let started = Instant::now();

    let results = client.discard_project_jwts(&ids, 8);

    let revoked: Vec<String> = results.into_iter().map(|r| r.unwrap().token_id).collect();
    assert_eq!(revoked, ids);
    // Every id answered once; each 429 was sent again and answered later.
    assert_eq!(server.answered(), 20);
    let refused = server.refused();
    assert_eq!(server.requests(), 20 + refused);
    // The 7 sent with the first window's tenth meet its end at most, and
    // the paced rate meets at most a few more.
    // Bounds a loaded machine meets too; the pacer's exact counts are the
    // simulation's (src/throttle/simulation.rs), on a simulated clock.
    assert!(refused <= 16, "{refused} 429s: {:?}", server.windows());
    let stats = client.rate_limit_stats();
    assert_eq!(stats.throttled, refused as u64);
    assert_eq!(stats.held_for, None);
    // Two windows' worth: over one second, and well under ten.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[test]
fn with_rate_limit_headers_a_batch_is_held_back_before_it_is_refused() {
    let server = ten_a_second(true);
    let client = client(&server.url());
    let ids = ids(20);

    let results = client.discard_project_jwts(&ids, 8);

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(server.answered(), 20);
    let refused = server.refused();
    // Bounded, not zero: requests already on the wire when the client
    // learns the window's limit can still be refused.
    // (At most one batch in flight; the exact count is the simulation's.)
    assert!(refused <= 8, "{refused} 429s: {:?}", server.windows());
    let stats = client.rate_limit_stats();
    assert_eq!(stats.throttled, refused as u64);
    // The first window's ten were spent: the rest waited for its reset.
    assert!(stats.held > Duration::ZERO, "{stats:?}");
}

#[test]
fn a_call_refused_on_every_attempt_ends_once_its_rate_limit_wait_is_spent() {
    let server = FaultServer::start(|_, _| respond(429, &[("retry-after", "1")], "{}"));
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .max_rate_limit_wait(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = Instant::now();

    let err = client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap_err();

    // Two waits of (just under) a second fit in the 2 s: at least three
    // sends, none of them counted against max_retries (2). The exact count
    // is a pure function's, tested in the send loop's unit tests.
    assert_eq!(err.status(), Some(429));
    let attempts = err.attempts().unwrap();
    assert!(attempts >= 3, "{attempts} attempts");
    assert_eq!(server.requests(), attempts as usize);
    assert_eq!(client.rate_limit_stats().throttled, u64::from(attempts));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[test]
fn a_429_without_retry_after_is_waited_out_past_max_retries() {
    let server = FaultServer::start(|_, _| respond(429, &[], "{}"));
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .retry_delay(Duration::from_millis(1))
        .max_retries(2)
        .max_rate_limit_wait(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap_err();

    // Backed off from the retry delay until the budget was spent: more
    // sends than max_retries allows failures.
    assert_eq!(err.status(), Some(429));
    let attempts = err.attempts().unwrap();
    assert!(attempts > 3, "{attempts} attempts");
    assert_eq!(server.requests(), attempts as usize);
    assert_eq!(client.rate_limit_stats().throttled, u64::from(attempts));
}

#[test]
fn rate_limit_stats_count_the_429s_met_and_the_pause_waited_out() {
    let server = FaultServer::start(|n, _| match n {
        0 => respond(429, &[("retry-after", "1")], "{}"),
        _ => json(200, r#"{"data":[],"links":{"next":null}}"#),
    });
    let client = client(&server.url());
    assert_eq!(client.rate_limit_stats(), Default::default());

    let page = client.fetch_project_tokens(&FetchProjectTokensParams::default());

    assert!(page.is_ok(), "{page:?}");
    assert_eq!(server.requests(), 2);
    let stats = client.rate_limit_stats();
    assert_eq!(stats.throttled, 1);
    // Held counts only time a request waited: some of the pause's second,
    // less however long the call took to begin waiting.
    assert!(
        stats.held > Duration::ZERO && stats.held <= Duration::from_secs(1),
        "{stats:?}"
    );
    assert_eq!(stats.held_for, None);
    // A clone shares them.
    assert_eq!(client.clone().rate_limit_stats(), stats);
}

#[test]
fn the_rate_limited_server_counts_each_window() {
    // A window long enough that the three calls fall in it on any machine.
    let server = RateLimitedServer::builder(2)
        .windows(Windows::FromStart(Duration::from_secs(60)))
        .latency(Duration::ZERO)
        .headers(true)
        .start();
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .max_retries(0)
        .build()
        .unwrap();
    let list = || client.fetch_project_tokens(&FetchProjectTokensParams::default());

    let first = list().unwrap();
    list().unwrap();
    let refused = list().unwrap_err();

    assert_eq!(first.data.len(), 5);
    assert_eq!(refused.status(), Some(429));
    let asked = match &refused {
        magicbell_jwt::Error::Api(e) => e.retry_after(),
        other => panic!("{other:?}"),
    };
    assert!(
        asked.is_some_and(|wait| wait > Duration::ZERO && wait <= Duration::from_secs(60)),
        "{asked:?}"
    );
    let windows = server.windows();
    assert_eq!(windows.len(), 1);
    assert_eq!((windows[0].answered, windows[0].refused), (2, 1));
    assert_eq!((server.answered(), server.refused()), (2, 1));
}

#[test]
fn with_no_budget_for_rate_limits_a_429_is_final_at_once() {
    let server = FaultServer::start(|_, _| respond(429, &[("retry-after", "0")], "{}"));
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .max_rate_limit_wait(Duration::ZERO)
        .build()
        .unwrap();

    let err = list(&client).unwrap_err();

    assert_eq!(err.status(), Some(429));
    assert_eq!(err.attempts(), Some(1));
    assert_eq!(server.requests(), 1);
    assert_eq!(client.rate_limit_stats().throttled, 1);
}

#[test]
fn a_reset_a_day_away_holds_a_call_back_no_longer_than_its_budget() {
    let server = FaultServer::start(|n, _| {
        let headers: &[(&str, &str)] = if n == 0 {
            &[("ratelimit", "\"default\";r=0;t=86400")]
        } else {
            &[]
        };
        respond(200, headers, r#"{"data":[]}"#)
    });
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .max_rate_limit_wait(Duration::from_millis(300))
        .build()
        .unwrap();
    list(&client).unwrap();
    let started = Instant::now();

    list(&client).unwrap();

    // Held back for its budget, then sent: not for a day.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests(), 2);
}

#[test]
fn a_429_past_max_retry_after_is_counted_though_not_waited_out() {
    let server = FaultServer::start(|_, _| respond(429, &[("retry-after", "3600")], "{}"));
    let client = client(&server.url());

    assert_eq!(list(&client).unwrap_err().attempts(), Some(1));

    let stats = client.rate_limit_stats();
    assert_eq!((stats.throttled, stats.held_for), (1, None));
}

fn list(client: &Client) -> Result<(), magicbell_jwt::Error> {
    client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .map(|_| ())
}

// --- One Retry-After for a whole client ----------------------------------------

/// A server that answers 429 with `Retry-After: 1` to the first request and
/// to any other arriving within that second, and 200 after it; it records
/// each status and tells `first` when the first 429 has gone out.
#[track_caller]
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
    let (server, statuses, first) = one_second_limit();
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
    first.recv().unwrap();

    let err = list(&other).unwrap_err();

    assert_eq!(err.status(), Some(429));
    // Held back for no time at all: what it waited, not how long it took.
    assert_eq!(other.rate_limit_stats().held, Duration::ZERO);
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
    assert_eq!(list(&client).unwrap_err().status(), Some(429));

    // It met them: counted, though not waited out.
    let stats = client.rate_limit_stats();
    assert_eq!((stats.throttled, stats.held), (2, Duration::ZERO));
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
