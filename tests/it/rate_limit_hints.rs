//! Throttling over HTTP: a 429 is waited out within `max_rate_limit_wait`,
//! never counted against `max_retries`, whatever it names its wait with;
//! rate-limit headers with huge numbers neither panic nor hold a call; the
//! dates an answer names are read on its `Date` header's clock; a
//! server refusing a fixed share of requests is followed at the pace its
//! `Retry-After`s allow. Decisions are counted, not timed, except where a
//! test says why.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use magicbell_jwt::{Client, FetchProjectTokensParams};
use magicbell_jwt_test_support::{api_answer, json, respond, FaultServer};

const TOKEN: &str = "sk-test-bearer-7f3a9c";
const PAGE: &str = r#"{"data":[],"links":{"next":null}}"#;

/// A client with two retries and millisecond retry delays.
fn client(url: &str) -> Client {
    Client::builder(TOKEN)
        .base_url(url)
        .retry_delay(Duration::from_millis(1))
        .max_retries(2)
        .build()
        .unwrap()
}

fn list(client: &Client) -> Result<(), magicbell_jwt::Error> {
    client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .map(|_| ())
}

/// The first `refusals` requests answered 429 with `headers`, then a page.
fn refusing(refusals: usize, headers: Vec<(&'static str, String)>) -> FaultServer {
    FaultServer::start(move |n, _| {
        if n < refusals {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            respond(429, &headers, "{}")
        } else {
            json(200, PAGE)
        }
    })
}

#[test]
fn a_429_naming_its_wait_only_in_rate_limit_headers_is_waited_out_past_max_retries() {
    let unix_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Waits of 0 seconds (or a Unix time already past): the sends are
    // counted, and nothing depends on how long they take. Three 429s, one
    // more than max_retries (2) would allow failures; the pacer spaces the
    // sends about a second apart, so the forms run side by side.
    let forms = [
        ("x-ratelimit-reset", "0".to_owned()),
        ("x-ratelimit-reset", (unix_now - 5).to_string()),
        ("ratelimit-reset", "0".to_owned()),
        ("ratelimit", "\"default\";t=0".to_owned()),
        ("ratelimit", format!("\"default\";r=0;t={}", unix_now - 5)),
    ];
    std::thread::scope(|scope| {
        for (name, value) in forms {
            scope.spawn(move || {
                let server = refusing(3, vec![(name, value.clone())]);
                let client = client(&server.url());

                let result = list(&client);

                assert!(result.is_ok(), "{name}: {value}: {result:?}");
                assert_eq!(server.requests(), 4, "{name}: {value}");
                assert_eq!(client.rate_limit_stats().throttled, 3, "{name}: {value}");
            });
        }
    });
}

#[test]
fn a_429_naming_no_wait_is_backed_off_past_max_retries() {
    let server = refusing(5, Vec::new());
    let client = client(&server.url());

    let result = list(&client);

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(server.requests(), 6);
    assert_eq!(client.rate_limit_stats().throttled, 5);
}

#[test]
fn the_reset_a_429_names_is_waited_before_sending_again() {
    let server = refusing(1, vec![("ratelimit-reset", "1".to_owned())]);
    let client = client(&server.url());
    let started = Instant::now();

    list(&client).unwrap();

    // A lower bound only: a busy machine makes the wait longer, never shorter.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests(), 2);
}

#[test]
fn dates_and_unix_resets_a_429_names_are_read_on_the_clock_of_its_date_header() {
    // Each names a wait of 1 s by a server whose clock is far from this
    // machine's. Read on the local clock, the 2100 ones would be decades
    // away (past max_retry_after and the budget of 10 s: the 429 returned
    // at once) and the 2005 one long past (sent again at once).
    let cases = [
        (
            "Fri, 01 Jan 2100 00:00:00 GMT",
            ("x-ratelimit-reset", "4102444801"),
        ),
        (
            "Fri, 01 Jan 2100 00:00:00 GMT",
            ("retry-after", "Fri, 01 Jan 2100 00:00:01 GMT"),
        ),
        (
            "Sat, 01 Jan 2005 00:00:00 GMT",
            ("ratelimit-reset", "1104537601"),
        ),
    ];
    for (date, (name, value)) in cases {
        let server = refusing(1, vec![("date", date.to_owned()), (name, value.to_owned())]);
        let client = Client::builder(TOKEN)
            .base_url(server.url())
            .max_rate_limit_wait(Duration::from_secs(10))
            .build()
            .unwrap();
        let started = Instant::now();

        let result = list(&client);

        // A lower bound only: a busy machine makes the wait longer, never
        // shorter.
        let took = started.elapsed();
        assert!(result.is_ok(), "{name}: {value} on {date}: {result:?}");
        assert!(
            took >= Duration::from_millis(900),
            "{name}: {value}: {took:?}"
        );
        assert_eq!(server.requests(), 2);
    }
}

#[test]
fn a_429_named_past_max_retry_after_in_a_header_is_waited_only_that_long() {
    // A reset an hour away counts as max_retry_after (here 0): sent again
    // at once, until the server answers.
    let server = refusing(3, vec![("x-ratelimit-reset", "3600".to_owned())]);
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .max_retry_after(Duration::ZERO)
        .build()
        .unwrap();

    list(&client).unwrap();

    assert_eq!(server.requests(), 4);
}

#[test]
fn remaining_counts_too_large_for_u32_neither_panic_nor_hold_a_call() {
    let huge = [
        u32::MAX.to_string(),
        u64::MAX.to_string(),
        "340282366920938463463374607431768211456".to_owned(),
    ];
    for big in huge {
        let forms: [Vec<(&str, String)>; 3] = [
            vec![
                ("ratelimit-remaining", big.clone()),
                ("ratelimit-reset", "0".to_owned()),
            ],
            vec![
                ("x-ratelimit-remaining", big.clone()),
                ("x-ratelimit-reset", "0".to_owned()),
            ],
            vec![("ratelimit", format!("\"default\";r={big};t=0"))],
        ];
        for headers in forms {
            let server = FaultServer::start(move |_, _| {
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                respond(200, &headers, PAGE)
            });
            let client = client(&server.url());

            // A reset of 0: each call comes after the window the last
            // answer described, as after an idle spell.
            for _ in 0..3 {
                list(&client).unwrap();
            }

            let stats = client.rate_limit_stats();
            assert_eq!(stats.held, Duration::ZERO, "{big}: {stats:?}");
            assert_eq!(server.requests(), 3);
        }
    }
}

#[test]
fn a_limit_of_0_with_requests_remaining_holds_nothing_back() {
    let server = FaultServer::start(|_, _| {
        respond(
            200,
            &[
                ("ratelimit-limit", "0"),
                ("ratelimit-remaining", "5"),
                ("ratelimit-reset", "60"),
            ],
            PAGE,
        )
    });
    let client = client(&server.url());

    for _ in 0..20 {
        list(&client).unwrap();
    }

    assert_eq!(client.rate_limit_stats().held, Duration::ZERO);
    assert_eq!(server.requests(), 20);
}

#[test]
fn a_server_refusing_every_7th_request_is_followed_at_the_pace_its_retry_afters_allow() {
    // Real time, on purpose: this is the whole client (threads, sockets,
    // sleeps) against a server whose `Retry-After: 1` is a real second.
    // The pacer's part is decided on the simulated clock (throttle's
    // simulation). The 150 revokes' Retry-Afters alone take 21 s; the
    // bound, 45 s, is met on a loaded machine: the work per request is a
    // millisecond beside those seconds.
    let server = FaultServer::start(|n, request| {
        if (n + 1) % 7 == 0 {
            respond(429, &[("retry-after", "1")], "{}")
        } else {
            let (status, body) = api_answer(request, 5);
            json(status, &body)
        }
    });
    let client = client(&server.url());
    let ids: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
    let started = Instant::now();

    let results = client.discard_project_jwts(&ids, 16);

    let took = started.elapsed();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let refused = server.requests() - 150;
    assert_eq!(client.rate_limit_stats().throttled, refused as u64);
    assert!(took < Duration::from_secs(45), "{took:?}, {refused} 429s");
}
