//! Which calls are sent again, how often and after what wait: statuses,
//! `Retry-After`, and the error after the last attempt. Every outcome is
//! also checked to hold neither secret.

use std::time::{Duration, Instant};

use crate::util::scripted::{builder, client, list, without_hanging, PAGE};
use magicbell_jwt::Error;
use magicbell_jwt_test_support::{json, respond, FaultServer};

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
        // A loaded machine must not time out an attempt into that backoff.
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(30))
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
    // More seconds than a u64 holds is the longest wait, not none.
    for (value, wait) in [("120", 120), ("99999999999999999999", u64::MAX)] {
        let server = FaultServer::start(move |_, _| respond(429, &[("retry-after", value)], "{}"));

        let err = list(&client(&server)).unwrap_err();

        assert_eq!(server.requests(), 1, "{value}");
        let Error::Api(api) = err else { panic!() };
        assert_eq!(api.retry_after(), Some(Duration::from_secs(wait)));
    }
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
