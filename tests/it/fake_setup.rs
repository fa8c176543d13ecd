//! What a test sets `FakeServer` up to do and reads back from it: faults
//! aimed at one call or met over raw HTTP, rate limits, a clock that runs,
//! pages over many tokens, and the request log.

use std::io::{Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::util::fake::start;
use crate::util::fake::{assert_still_serving, req, request};
use magicbell_jwt::{
    Client, CreateProjectTokenRequest, CreateUserTokenRequest, Error, FakeFault, FakeRoute,
    FakeServer, FetchProjectTokensParams, FetchTokensParams,
};
use magicbell_jwt_test_support::raw_http::{closed, connect, read_answer, send, Answer};
use serde_json::json;

fn statuses(fake: &FakeServer, method: &str) -> Vec<Option<u16>> {
    let log = fake.requests().into_iter().filter(|r| r.method == method);
    log.map(|r| r.status).collect()
}

#[track_caller]
fn client_with(fake: &FakeServer, retries: u32) -> Client {
    Client::builder(fake.admin_token())
        .base_url(fake.base_url())
        .no_proxy()
        .retry_delay(Duration::from_millis(1))
        .max_retries(retries)
        .build()
        .unwrap()
}

#[track_caller]
fn create(client: &Client, name: &str) -> String {
    let request = CreateProjectTokenRequest::new(name);
    client.create_project_jwt(&request).unwrap().token_id
}

fn get(fake: &FakeServer, path: &str) -> Answer {
    let head = format!(
        "GET {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\r\n",
        fake.admin_token()
    );
    send(&fake.base_url(), head.as_bytes())
}

// --- Faults aimed at a call ----------------------------------------------------------

#[test]
fn inject_on_fails_the_third_revoke_of_a_job_and_no_other_request() {
    let fake = start();
    let client = fake.client();
    let old: Vec<String> = (0..5).map(|_| create(&client, "deploy")).collect();
    // Three times: the first attempt and the client's two retries.
    fake.inject_on(FakeRoute::DiscardProjectToken, 2, 3, FakeFault::Status(500));
    let new = create(&client, "deploy");
    let listed = client.fetch_project_tokens(&FetchProjectTokensParams::default());
    assert_eq!(listed.unwrap().data.len(), 6);
    let results: Vec<_> = old
        .iter()
        .rev()
        .map(|id| client.discard_project_jwt(id))
        .collect();
    let failed = results[2].as_ref().unwrap_err();
    assert_eq!((failed.status(), failed.attempts()), (Some(500), Some(3)));
    assert!(results
        .iter()
        .enumerate()
        .all(|(i, r)| r.is_ok() == (i != 2)));
    assert_eq!(
        statuses(&fake, "DELETE"),
        [200, 200, 500, 500, 500, 200, 200].map(Some)
    );
    let live: Vec<String> = fake
        .project_tokens()
        .into_iter()
        .filter(|t| !t.is_discarded())
        .filter_map(|t| t.id)
        .collect();
    assert_eq!(live, [new, old[2].clone()]);
}

#[test]
fn each_route_is_the_call_its_method_and_path_name() {
    let fake = start();
    let admin = fake.client();
    let project = create(&admin, "p");
    let user = admin
        .create_user_jwt(&CreateUserTokenRequest::for_email("u@x.io"))
        .unwrap()
        .token_id;
    let routes = [
        FakeRoute::ListProjectTokens,
        FakeRoute::CreateProjectToken,
        FakeRoute::DiscardProjectToken,
        FakeRoute::ListUserTokens,
        FakeRoute::CreateUserToken,
        FakeRoute::DiscardUserToken,
    ];
    // 418 is retried by nothing: one request a call.
    let client = fake.client();
    let calls = |client: &Client| -> Vec<Option<u16>> {
        let status = |r: Result<(), Error>| r.err().and_then(|e| e.status());
        vec![
            status(client.fetch_project_tokens(&Default::default()).map(drop)),
            status(
                client
                    .create_project_jwt(&CreateProjectTokenRequest::new("c"))
                    .map(drop),
            ),
            status(
                client
                    .discard_project_jwt("no-such-id")
                    .map(drop)
                    .or_else(|e| {
                        // Not the fault: the fake's own 404 for an unknown id.
                        if e.status() == Some(404) {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    }),
            ),
            status(
                client
                    .fetch_user_tokens("u@x.io", &FetchTokensParams::default())
                    .map(drop),
            ),
            status(
                client
                    .create_user_jwt(&CreateUserTokenRequest::for_email("v@x.io"))
                    .map(drop),
            ),
            status(
                client
                    .discard_user_jwt("no-such-id")
                    .map(drop)
                    .or_else(|e| {
                        if e.status() == Some(404) {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    }),
            ),
        ]
    };
    for (i, route) in routes.into_iter().enumerate() {
        fake.inject_on(route, 0, 1, FakeFault::Status(418));
        let mut expected = vec![None; 6];
        expected[i] = Some(418);
        assert_eq!(calls(&client), expected, "{route:?}");
    }
    // HEAD is its path's list; an absolute-form target is its path's call.
    let port = &fake.base_url()["http://127.0.0.1:".len()..fake.base_url().len() - 3];
    fake.inject_on(FakeRoute::ListUserTokens, 0, 2, FakeFault::Status(418));
    let head = format!(
        "HEAD /v2/jwt/user/u%40x.io HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\r\n",
        fake.admin_token()
    );
    let mut stream = connect(&fake.base_url());
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = std::io::Read::read_to_end(&mut stream, &mut Vec::new());
    let absolute = get(
        &fake,
        &format!("http://127.0.0.1:{port}/v2/jwt/user/u%40x.io"),
    );
    assert_eq!(absolute.status, 418);
    let log = fake.requests();
    assert_eq!(log[log.len() - 2].status, Some(418));
    // Paths and methods the service lacks are no call.
    fake.inject_on(FakeRoute::ListProjectTokens, 0, 1, FakeFault::Status(418));
    assert_eq!(get(&fake, "/v2/jwt/projects").status, 404);
    assert_eq!(get(&fake, "/v2/jwt/project/x").status, 405);
    assert_eq!(get(&fake, "/v2/jwt/project").status, 418);
    // Nothing was revoked by the faulted calls.
    assert!(!fake
        .project_tokens()
        .iter()
        .any(|t| t.id == Some(project.clone()) && t.is_discarded()));
    assert!(!fake
        .user_tokens("u@x.io")
        .iter()
        .any(|t| t.id == Some(user.clone()) && t.is_discarded()));
}

#[test]
fn one_aimed_fault_is_retried_away_unless_retries_are_off_and_creates_are_not_retried() {
    let fake = start();
    let client = fake.client();
    let id = create(&client, "a");
    // client() retries a discard twice: one 503 is hidden.
    fake.inject_on(FakeRoute::DiscardProjectToken, 0, 1, FakeFault::Status(503));
    client.discard_project_jwt(&id).unwrap();
    assert_eq!(statuses(&fake, "DELETE"), [Some(503), Some(200)]);
    // With retries off, it sticks.
    let id = create(&client, "b");
    fake.inject_on(FakeRoute::DiscardProjectToken, 0, 1, FakeFault::Status(503));
    let failed = client_with(&fake, 0).discard_project_jwt(&id).unwrap_err();
    assert_eq!((failed.status(), failed.attempts()), (Some(503), Some(1)));
    // A create that may have been processed is never sent again.
    fake.inject_on(FakeRoute::CreateProjectToken, 0, 1, FakeFault::Status(500));
    let failed = client
        .create_project_jwt(&CreateProjectTokenRequest::new("c"))
        .unwrap_err();
    assert!(failed.may_have_been_processed());
    assert_eq!(failed.attempts(), Some(1));
    // The queue of `inject` waits while an aimed fault is met.
    fake.inject(1, FakeFault::Status(418));
    fake.inject_on(FakeRoute::ListProjectTokens, 0, 1, FakeFault::Close);
    let listed = client_with(&fake, 0).fetch_project_tokens(&Default::default());
    assert!(matches!(listed, Err(Error::Transport(_))), "{listed:?}");
    let created = client.create_project_jwt(&CreateProjectTokenRequest::new("d"));
    assert_eq!(created.unwrap_err().status(), Some(418));
    assert_eq!(fake.project_tokens().len(), 2);
}

// --- Rate limits ------------------------------------------------------------------------

#[test]
fn past_the_rate_limit_requests_get_429_with_retry_after_and_change_nothing() {
    let fake = start();
    let set = Instant::now();
    fake.set_rate_limit(2, Duration::from_secs(3600));
    assert_eq!(get(&fake, "/v2/jwt/project").status, 200);
    // Any request counts: an unknown path too.
    assert_eq!(get(&fake, "/nowhere").status, 404);
    // Over it: not even a fault is used, nor is anything created.
    fake.inject(1, FakeFault::Status(503));
    let body = r#"{"name":"x"}"#;
    let post = format!(
        "POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-length: {}\r\n\r\n{body}",
        fake.admin_token(),
        body.len()
    );
    let answer = send(&fake.base_url(), post.as_bytes());
    let waited = set.elapsed();
    assert_eq!(answer.status, 429);
    // The seconds left in the window, rounded up: 3600 unless a second passed.
    let retry_after: u64 = answer.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (3600 - waited.as_secs()..=3600).contains(&retry_after),
        "{retry_after}"
    );
    assert_eq!(
        answer.error(),
        (
            "too_many_requests",
            format!(
                "the fake's rate limit allows 2 requests a window; this window ends in {retry_after} s"
            )
            .as_str()
        )
    );
    assert_eq!(answer.header("ratelimit-limit"), None);
    assert!(fake.project_tokens().is_empty());
    assert_eq!(statuses(&fake, "POST"), [Some(429)]);
    // Cleared: answered again, and the fault waiting is met now.
    fake.clear_rate_limit();
    assert_eq!(get(&fake, "/v2/jwt/project").status, 503);
    assert_eq!(get(&fake, "/v2/jwt/project").status, 200);
    assert_eq!(fake.requests().len(), 5);
}

#[test]
fn rate_limit_headers_are_on_every_answer_while_a_limit_is_set_and_asked_for() {
    let fake = start();
    fake.set_rate_limit_headers(true);
    // No limit: no headers.
    assert_eq!(
        get(&fake, "/v2/jwt/project").header("ratelimit-limit"),
        None
    );
    fake.set_rate_limit(2, Duration::from_secs(3600));
    let set = Instant::now();
    let shown = |answer: &Answer| {
        let header = |name| answer.header(name).map(str::to_owned);
        (
            answer.status,
            header("ratelimit-limit"),
            header("ratelimit-remaining"),
            header("ratelimit-reset").map(|r| r.parse::<u64>().unwrap()),
        )
    };
    let two = |s: &str| Some(s.to_owned());
    let answers: Vec<_> = (0..3)
        .map(|_| shown(&get(&fake, "/v2/jwt/project")))
        .collect();
    let reset = 3600 - set.elapsed().as_secs();
    for (i, (status, limit, remaining, left)) in answers.into_iter().enumerate() {
        let expected = [(200, "1"), (200, "0"), (429, "0")][i];
        assert_eq!(
            (status, limit, remaining),
            (expected.0, two("2"), two(expected.1))
        );
        assert!((reset..=3600).contains(&left.unwrap()), "{left:?}");
    }
    // A fault's answer carries them too.
    fake.set_rate_limit(5, Duration::from_secs(60));
    fake.inject(1, FakeFault::Status(502));
    let answer = get(&fake, "/v2/jwt/project");
    assert_eq!(
        (answer.status, answer.header("ratelimit-remaining")),
        (502, Some("4"))
    );
    // Turned off: none.
    fake.set_rate_limit_headers(false);
    assert_eq!(
        get(&fake, "/v2/jwt/project").header("ratelimit-limit"),
        None
    );
}

#[test]
fn a_client_waits_out_the_rate_limit_and_its_next_window_answers() {
    let fake = start();
    fake.set_rate_limit(1, Duration::from_secs(1));
    let client = fake.client();
    client.fetch_project_tokens(&Default::default()).unwrap();
    // The window's second request: 429 with `Retry-After: 1`, waited out,
    // then answered in the next window.
    let began = Instant::now();
    client.fetch_project_tokens(&Default::default()).unwrap();
    assert!(began.elapsed() < Duration::from_secs(5));
    assert_eq!(statuses(&fake, "GET"), [200, 429, 200].map(Some));
    // A client that does not retry gets the 429 and how long to wait.
    fake.set_rate_limit(0, Duration::from_secs(30));
    let refused = client_with(&fake, 0)
        .fetch_project_tokens(&Default::default())
        .unwrap_err();
    assert_eq!(refused.status(), Some(429));
    match refused {
        Error::Api(e) => {
            let wait = e.retry_after().unwrap();
            assert!(
                wait <= Duration::from_secs(30) && wait >= Duration::from_secs(29),
                "{wait:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A window of zero is no limit.
    fake.set_rate_limit(0, Duration::ZERO);
    client.fetch_project_tokens(&Default::default()).unwrap();
}

// --- The clock ------------------------------------------------------------------------

/// `time` in whole seconds since the epoch.
#[track_caller]
fn secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn a_running_clock_dates_tokens_now_and_judges_expiry_by_it() {
    let fake = start();
    let started = secs(fake.now());
    fake.set_clock_running(true);
    // Into the next second: a frozen clock would still show the start.
    while secs(SystemTime::now()) == started {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(secs(fake.now()) > started);
    let client = fake.client();
    let before = secs(SystemTime::now());
    let created = client
        .create_project_jwt(&CreateProjectTokenRequest::new("r").expiry(60))
        .unwrap();
    let after = secs(SystemTime::now());
    let token = fake.project_tokens().remove(0);
    let at = secs(token.created_at_time().unwrap());
    assert!((before..=after).contains(&at), "{before} {at} {after}");
    assert_eq!(secs(token.expires_at_time().unwrap()), at + 60);
    assert!((before..=after).contains(&secs(fake.now())));
    // advance moves a running clock on too: past the expiry.
    fake.advance(Duration::from_secs(61));
    let as_token = Client::builder(created.token)
        .base_url(fake.base_url())
        .no_proxy()
        .build()
        .unwrap();
    let refused = as_token.fetch_project_tokens(&Default::default());
    assert_eq!(refused.unwrap_err().status(), Some(401));
    client.discard_project_jwt(&created.token_id).unwrap();
    let discarded = fake.project_tokens().remove(0);
    let discarded_at = secs(discarded.discarded_at_time().unwrap());
    assert!((before + 61..=secs(SystemTime::now()) + 61).contains(&discarded_at));
    // Frozen again, where it stood.
    fake.set_clock_running(false);
    let frozen = fake.now();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(fake.now(), frozen);
}

// --- Pages ---------------------------------------------------------------------------------

#[test]
fn limit_1_walks_over_interleaved_project_and_user_tokens_yield_each_once_both_ways() {
    let fake = start();
    let client = fake.client();
    let mut project = Vec::new();
    let mut by_email = Vec::new();
    let mut same = Vec::new();
    for i in 0..60 {
        project.push(create(&client, &format!("p{i}")));
        let user = match i % 3 {
            0 => CreateUserTokenRequest::for_email("a@x.io"),
            1 => CreateUserTokenRequest::for_email("a@x.io").external_id("ext-a"),
            // The same text as email and external id: listed once.
            _ => CreateUserTokenRequest::for_email("same").external_id("same"),
        };
        let id = client.create_user_jwt(&user).unwrap().token_id;
        if i % 3 == 2 {
            same.push(id);
        } else {
            by_email.push(id);
        }
    }
    let walk = |user: Option<&str>, before: Option<&str>| -> Vec<String> {
        match user {
            None => {
                let mut params = FetchProjectTokensParams::default().limit(1);
                if let Some(id) = before {
                    params = params.ending_before(id);
                }
                client
                    .project_tokens(params)
                    .map(|t| t.unwrap().id.unwrap())
                    .collect()
            }
            Some(user) => {
                let mut params = FetchTokensParams::default().limit(1);
                if let Some(id) = before {
                    params = params.ending_before(id);
                }
                client
                    .user_tokens(user, params)
                    .map(|t| t.unwrap().id.unwrap())
                    .collect()
            }
        }
    };
    let newest_first = |ids: &[String]| ids.iter().rev().cloned().collect::<Vec<_>>();
    assert_eq!(walk(None, None), newest_first(&project));
    assert_eq!(walk(Some("a@x.io"), None), newest_first(&by_email));
    assert_eq!(walk(Some("same"), None), newest_first(&same));
    let with_ext: Vec<String> = by_email.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(walk(Some("ext-a"), None), newest_first(&with_ext));
    assert_eq!(fake.user_tokens("same").len(), 20);
    // Backwards from the oldest: nearest the cursor first.
    assert_eq!(walk(None, Some(&project[0])), project[1..]);
    assert_eq!(walk(Some("a@x.io"), Some(&by_email[0])), by_email[1..]);
    // A cursor from another list is no token of this one.
    let page = client.fetch_user_tokens(
        "same",
        &FetchTokensParams::default().starting_after(&by_email[0]),
    );
    assert_eq!(page.unwrap_err().status(), Some(422));
    assert!(walk(Some("nobody"), None).is_empty());
}

#[test]
fn a_page_past_either_end_is_empty_with_no_links() {
    let fake = start();
    let client = fake.client();
    let ids: Vec<String> = (0..3).map(|i| create(&client, &format!("t{i}"))).collect();
    let before_newest = FetchProjectTokensParams::default().ending_before(&ids[2]);
    let after_oldest = FetchProjectTokensParams::default().starting_after(&ids[0]);
    for params in [before_newest, after_oldest] {
        let page = client.fetch_project_tokens(&params).unwrap();
        assert!(page.data.is_empty());
        let links = page.links.unwrap();
        assert_eq!((links.next, links.prev), (None, None));
    }
}

// --- Faults over raw HTTP --------------------------------------------------------------

#[test]
fn faults_meet_any_request_read_in_full_but_not_a_refused_one() {
    let fake = start();
    fake.inject(1, FakeFault::RetryAfter(503, 7));
    // Refused for its size: uses no fault.
    let big = format!(
        "GET /v2/jwt/project HTTP/1.1\r\nx: {}\r\n\r\n",
        "p".repeat(17_000)
    );
    assert_eq!(send(&fake.base_url(), big.as_bytes()).status, 431);
    // No bearer and an unknown path: the fault answers all the same.
    let answer = send(
        &fake.base_url(),
        b"GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n",
    );
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("7"));
    assert_eq!(answer.error().0, "service_unavailable");
    assert_eq!(
        send(
            &fake.base_url(),
            b"GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n"
        )
        .status,
        404
    );
}

#[test]
fn a_status_fault_outside_200_to_599_is_answered_500() {
    let fake = start();
    fake.inject(2, FakeFault::Status(100));
    assert_eq!(
        send(
            &fake.base_url(),
            &request(&fake, "GET", "/v2/jwt/project", "")
        )
        .status,
        500
    );
    fake.inject(1, FakeFault::Status(1000));
    assert_eq!(
        send(
            &fake.base_url(),
            &request(&fake, "GET", "/v2/jwt/project", "")
        )
        .status,
        500
    );
    assert_eq!(
        send(
            &fake.base_url(),
            &request(&fake, "GET", "/v2/jwt/project", "")
        )
        .status,
        500
    );
    assert_still_serving(&fake);
}

#[test]
fn a_head_sent_a_byte_at_a_time_is_read() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    stream.set_nodelay(true).unwrap();
    for byte in request(&fake, "GET", "/v2/jwt/project?limit=3", "") {
        stream.write_all(&[byte]).unwrap();
    }
    assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 200);
    assert_eq!(
        fake.requests(),
        [req("GET", "/v2/jwt/project?limit=3", Some(200))]
    );
}

#[test]
fn a_204_fault_sends_no_body_and_the_connection_stays_usable() {
    let fake = start();
    fake.inject(1, FakeFault::Status(204));
    let mut stream = connect(&fake.base_url());
    let mut two = request(&fake, "GET", "/v2/jwt/project", "");
    two.extend(request(&fake, "GET", "/v2/jwt/project", ""));
    stream.write_all(&two).unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 204 "), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
    let next = read_answer(&mut stream, &mut Vec::new());
    assert_eq!(next.status, 200);
    assert_eq!(next.body["data"], json!([]));
}

// --- The request log ---------------------------------------------------------------

#[test]
fn a_request_is_in_the_log_by_the_time_its_answer_arrives() {
    // The fake records a request before it writes the answer, on every path:
    // answered, faulted, refused (then closed), and closed by a fault.
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let mut buffer = Vec::new();
    for i in 0..100 {
        let path = format!("/v2/jwt/project?limit={}", i + 1);
        stream.write_all(&request(&fake, "GET", &path, "")).unwrap();
        assert_eq!(read_answer(&mut stream, &mut buffer).status, 200);
        let log = fake.requests();
        assert_eq!(log.len(), i + 1);
        assert_eq!(log[i], req("GET", &path, Some(200)));
    }
    fake.inject(1, FakeFault::Status(502));
    stream
        .write_all(&request(&fake, "GET", "/v2/jwt/project", ""))
        .unwrap();
    assert_eq!(read_answer(&mut stream, &mut buffer).status, 502);
    assert_eq!(
        fake.requests().last(),
        Some(&req("GET", "/v2/jwt/project", Some(502)))
    );
    assert_eq!(send(&fake.base_url(), b"GET /x HTTP/9\r\n\r\n").status, 400);
    assert_eq!(fake.requests().last(), Some(&req("GET", "/x", Some(400))));
    fake.inject(1, FakeFault::Close);
    stream
        .write_all(&request(&fake, "DELETE", "/v2/jwt/project/gone", ""))
        .unwrap();
    assert!(closed(&mut stream));
    assert_eq!(
        fake.requests().last(),
        Some(&req("DELETE", "/v2/jwt/project/gone", None))
    );
    assert_eq!(fake.requests().len(), 103);
}

#[test]
fn requests_from_several_threads_are_each_logged_before_their_answers() {
    let fake = start();
    let fake = &*fake;
    let answered: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                s.spawn(move || {
                    let mut stream = connect(&fake.base_url());
                    let mut buffer = Vec::new();
                    for i in 0..50 {
                        let path = format!("/v2/jwt/project?limit=1&thread={t}&i={i}");
                        stream.write_all(&request(fake, "GET", &path, "")).unwrap();
                        assert_eq!(read_answer(&mut stream, &mut buffer).status, 200);
                        assert!(
                            fake.requests().contains(&req("GET", &path, Some(200))),
                            "{path} answered but not logged"
                        );
                    }
                    50
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a sending thread panicked"))
            .collect()
    });
    assert_eq!(answered, [50; 4]);
    assert_eq!(fake.requests().len(), 200);
}
