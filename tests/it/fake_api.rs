//! `FakeServer` through the crate's own `Client`: state, pagination, auth,
//! errors and faults. Raw HTTP cases are in the `fake_http_*` modules.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::util::fake::{req, start};
use magicbell_jwt::{
    AccessToken, Client, CreateProjectTokenRequest, CreateUserTokenRequest, Error, FakeFault,
    FakeRequest, FakeServer, FetchProjectTokensParams, FetchTokensParams,
};
use serde_json::Value;

/// `n` project tokens named `t0`..; their ids, oldest first.
#[track_caller]
fn mint(fake: &FakeServer, n: usize) -> Vec<String> {
    let client = fake.client();
    (0..n)
        .map(|i| {
            client
                .create_project_jwt(&CreateProjectTokenRequest::new(format!("t{i}")))
                .expect("create")
                .token_id
        })
        .collect()
}

#[track_caller]
fn ids(tokens: &[AccessToken]) -> Vec<String> {
    tokens.iter().map(|t| t.id.clone().expect("id")).collect()
}

#[track_caller]
fn api_error(result: Result<impl std::fmt::Debug, Error>) -> Box<magicbell_jwt::ApiError> {
    match result {
        Err(Error::Api(e)) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[track_caller]
fn client_for(fake: &FakeServer, token: &str) -> Client {
    Client::builder(token)
        .base_url(fake.base_url())
        .no_proxy()
        .build()
        .expect("client")
}

#[track_caller]
fn claims(jwt: &str) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "three parts: {jwt}");
    serde_json::from_slice(&base64url_decode(parts[1])).expect("claims are JSON")
}

#[track_caller]
fn base64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let values: Vec<u32> = text
        .bytes()
        .map(|c| ALPHABET.iter().position(|a| *a == c).expect("base64url") as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in values.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0, |n, (i, v)| n | (v << (18 - 6 * i)));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

// --- Create ------------------------------------------------------------------

#[test]
fn create_returns_a_jwt_whose_claims_name_the_token_and_its_expiry() {
    let fake = start();
    let created = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("ci").expiry(3600))
        .unwrap();
    let claims = claims(&created.token);
    let now = fake.now();
    assert_eq!(created.created_at_time(), Some(now));
    assert_eq!(
        created.expires_at_time(),
        Some(now + Duration::from_secs(3600))
    );
    assert_eq!(claims["jti"], created.token_id.as_str());
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(
        Some(std::time::UNIX_EPOCH + Duration::from_secs(iat)),
        created.created_at_time()
    );
    assert_eq!(claims["exp"].as_u64(), Some(iat + 3600));
    assert!(created.token.starts_with("eyJ"));
}

#[test]
fn create_without_expiry_has_no_expires_at_and_no_exp_claim() {
    let fake = start();
    let created = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("forever"))
        .unwrap();
    assert_eq!(created.expires_at, None);
    assert_eq!(claims(&created.token).get("exp"), None);
    assert_eq!(fake.project_tokens()[0].expires_at, None);
}

#[test]
fn token_ids_are_uuid_shaped_and_distinct() {
    let fake = start();
    let ids = mint(&fake, 50);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 50);
    for id in &ids {
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
    }
    // Their random part and the values' signatures differ too, each drawn
    // afresh (the counter alone keeps the ids apart).
    let client = fake.client();
    let created: Vec<_> = (0..50)
        .map(|_| {
            client
                .create_project_jwt(&CreateProjectTokenRequest::new("r"))
                .unwrap()
        })
        .collect();
    let random: HashSet<&str> = created.iter().map(|c| &c.token_id[..23]).collect();
    let signatures: HashSet<&str> = created
        .iter()
        .map(|c| c.token.rsplit('.').next().unwrap())
        .collect();
    assert_eq!((random.len(), signatures.len()), (50, 50));
}

#[test]
fn a_created_token_is_listed_newest_first_with_its_metadata() {
    let fake = start();
    let client = fake.client();
    let first = mint(&fake, 1).remove(0);
    fake.advance(Duration::from_secs(90));
    let second = client
        .create_project_jwt(&CreateProjectTokenRequest::new("second").expiry(60))
        .unwrap();
    let page = client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap();
    assert_eq!(ids(&page.data), [second.token_id.clone(), first]);
    assert_eq!(page.data, fake.project_tokens());
    let listed = &page.data[0];
    assert_eq!(listed.name.as_deref(), Some("second"));
    assert_eq!(listed.created_at, second.created_at);
    assert_eq!(listed.expires_at, second.expires_at);
    assert_eq!(listed.discarded_at, None);
}

// --- Pagination ----------------------------------------------------------------

#[test]
fn a_forward_walk_over_hundreds_of_tokens_yields_each_once_newest_first() {
    let fake = start();
    let mut minted = mint(&fake, 250);
    minted.reverse();
    let walked: Vec<String> = fake
        .client()
        .project_tokens(FetchProjectTokensParams::default().limit(7))
        .map(|t| t.unwrap().id.unwrap())
        .collect();
    assert_eq!(walked, minted);
    // 250 tokens at 7 a page: 36 pages, the last one holding 5.
    let lists = fake.requests().iter().filter(|r| r.method == "GET").count();
    assert_eq!(lists, 36);
}

#[test]
fn a_backward_walk_yields_every_token_before_the_cursor_once() {
    let fake = start();
    let mut newest_first = mint(&fake, 250);
    newest_first.reverse();
    let oldest = newest_first.pop().unwrap();
    let pages: Vec<Vec<String>> = fake
        .client()
        .project_tokens(
            FetchProjectTokensParams::default()
                .limit(7)
                .ending_before(&oldest),
        )
        .pages()
        .map(|p| ids(&p.unwrap().data))
        .collect();
    // Pages come nearest the cursor first, each in the server's order.
    let expected: Vec<Vec<String>> = newest_first.rchunks(7).map(<[String]>::to_vec).collect();
    assert_eq!(pages, expected);
    assert_eq!(pages.concat().len(), 249);
}

#[test]
fn pages_carry_full_links_on_the_fakes_base_url() {
    let fake = start();
    let mut newest_first = mint(&fake, 60);
    newest_first.reverse();
    let client = fake.client();
    let list = format!("{}/jwt/project", fake.base_url());

    let first = client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap();
    assert_eq!(ids(&first.data), newest_first[..25]);
    let links = first.links.unwrap();
    assert_eq!(links.first.as_deref(), Some(&*format!("{list}?limit=25")));
    assert_eq!(
        links.next,
        Some(format!(
            "{list}?limit=25&starting_after={}",
            newest_first[24]
        ))
    );
    assert_eq!(links.prev, None);

    let last = client
        .fetch_project_tokens(
            &FetchProjectTokensParams::default().starting_after(&newest_first[49]),
        )
        .unwrap();
    assert_eq!(ids(&last.data), newest_first[50..]);
    let links = last.links.unwrap();
    assert_eq!(links.next, None);
    assert_eq!(
        links.prev,
        Some(format!(
            "{list}?limit=25&ending_before={}",
            newest_first[50]
        ))
    );
}

#[test]
fn limit_is_honoured_from_1_to_100_and_refused_above() {
    let fake = start();
    mint(&fake, 120);
    let client = fake.client();
    for limit in [1, 37, 100] {
        let page = client
            .fetch_project_tokens(&FetchProjectTokensParams::default().limit(limit))
            .unwrap();
        assert_eq!(page.data.len(), limit as usize);
    }
    let refused =
        api_error(client.fetch_project_tokens(&FetchProjectTokensParams::default().limit(101)));
    assert_eq!(refused.status(), 422);
    assert_eq!(
        refused.message(),
        Some("limit is \"101\"; the fake allows 1 to 100")
    );
}

#[test]
fn a_cursor_naming_no_token_of_the_list_is_refused() {
    let fake = start();
    let project = mint(&fake, 1).remove(0);
    let client = fake.client();
    let e = api_error(
        client.fetch_project_tokens(&FetchProjectTokensParams::default().starting_after("nope")),
    );
    assert_eq!(e.status(), 422);
    assert_eq!(
        e.message(),
        Some("starting_after \"nope\" is no token of this list")
    );
    // A project token's id is no cursor in a user's list.
    let e = api_error(client.fetch_user_tokens(
        "ada@example.com",
        &FetchTokensParams::default().ending_before(&project),
    ));
    assert_eq!(e.status(), 422);
}

// --- User tokens -----------------------------------------------------------------

#[test]
fn a_users_list_holds_only_their_tokens_found_by_email_or_external_id() {
    let fake = start();
    let client = fake.client();
    let ada = client
        .create_user_jwt(&CreateUserTokenRequest::for_email("ada@example.com").external_id("u-1"))
        .unwrap();
    let by_id = client
        .create_user_jwt(&CreateUserTokenRequest::for_external_id("u-1").name("inbox"))
        .unwrap();
    client
        .create_user_jwt(&CreateUserTokenRequest::for_email("bob@example.com"))
        .unwrap();
    mint(&fake, 1);

    let by_email: Vec<String> = client
        .user_tokens("ada@example.com", FetchTokensParams::default())
        .map(|t| t.unwrap().id.unwrap())
        .collect();
    assert_eq!(by_email, [ada.token_id.as_str()]);
    let by_external_id: Vec<String> = client
        .user_tokens("u-1", FetchTokensParams::default().limit(1))
        .map(|t| t.unwrap().id.unwrap())
        .collect();
    assert_eq!(
        by_external_id,
        [by_id.token_id.clone(), ada.token_id.clone()]
    );
    assert_eq!(ids(&fake.user_tokens("u-1")), by_external_id);
    assert!(fake.user_tokens("nobody").is_empty());
    assert_eq!(fake.project_tokens().len(), 1);
    let claims = claims(&ada.token);
    assert_eq!(claims["user_email"], "ada@example.com");
    assert_eq!(claims["user_external_id"], "u-1");
}

#[test]
fn user_tokens_are_revoked_by_id_on_the_shared_prefix() {
    let fake = start();
    let client = fake.client();
    let created = client
        .create_user_jwt(&CreateUserTokenRequest::for_email("ada@example.com"))
        .unwrap();
    let discarded = client.discard_user_jwt(&created.token_id).unwrap();
    assert_eq!(discarded.token_id, created.token_id);
    assert_eq!(discarded.discarded_at_time(), Some(fake.now()));
    assert!(fake.user_tokens("ada@example.com")[0].is_discarded());
    assert_eq!(
        fake.requests()[1],
        req(
            "DELETE",
            &format!("/v2/jwt/user/{}", created.token_id),
            Some(200)
        )
    );
}

#[test]
fn each_endpoint_revokes_only_its_own_kind_of_token() {
    let fake = start();
    let client = fake.client();
    let project = mint(&fake, 1).remove(0);
    let user = client
        .create_user_jwt(&CreateUserTokenRequest::for_email("ada@example.com"))
        .unwrap()
        .token_id;
    assert_eq!(api_error(client.discard_user_jwt(&project)).status(), 404);
    assert_eq!(api_error(client.discard_project_jwt(&user)).status(), 404);
    assert!(!fake.project_tokens()[0].is_discarded());
    assert!(!fake.user_tokens("ada@example.com")[0].is_discarded());
}

// --- Discard -----------------------------------------------------------------------

#[test]
fn discard_sets_discarded_at_from_the_fakes_clock_and_keeps_the_token_listed() {
    let fake = start();
    let id = mint(&fake, 1).remove(0);
    fake.advance(Duration::from_secs(3600));
    let discarded = fake.client().discard_project_jwt(&id).unwrap();
    assert_eq!(discarded.discarded_at_time(), Some(fake.now()));
    let listed = fake.project_tokens();
    assert_eq!(ids(&listed), [id]);
    assert_eq!(listed[0].discarded_at, Some(discarded.discarded_at));
}

#[test]
fn discarding_twice_or_an_unknown_id_is_404() {
    let fake = start();
    let id = mint(&fake, 1).remove(0);
    let client = fake.client();
    client.discard_project_jwt(&id).unwrap();
    let again = api_error(client.discard_project_jwt(&id));
    assert_eq!(again.status(), 404);
    assert_eq!(again.code(), Some("not_found"));
    assert_eq!(
        again.message(),
        Some(&*format!("no live project token has the id {id:?}"))
    );
    assert_eq!(api_error(client.discard_project_jwt("a/b?c")).status(), 404);
    assert_eq!(
        fake.requests().last(),
        Some(&req("DELETE", "/v2/jwt/project/a%2Fb%3Fc", Some(404)))
    );
}

// --- Auth ------------------------------------------------------------------------------

#[test]
fn a_minted_project_token_works_as_a_bearer_until_revoked() {
    let fake = start();
    let created = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("app"))
        .unwrap();
    let app = client_for(&fake, &created.token);
    assert_eq!(
        app.fetch_project_tokens(&FetchProjectTokensParams::default())
            .unwrap()
            .data
            .len(),
        1
    );
    // A token may revoke itself; after that it is refused.
    app.discard_project_jwt(&created.token_id).unwrap();
    let refused = api_error(app.fetch_project_tokens(&FetchProjectTokensParams::default()));
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.code(), Some("unauthorized"));
    assert_eq!(
        refused.message(),
        Some("the bearer token is missing, unknown, revoked or expired")
    );
}

#[test]
fn a_token_is_refused_once_the_clock_reaches_its_expiry() {
    let fake = start();
    let created = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("short").expiry(60))
        .unwrap();
    let app = client_for(&fake, &created.token);
    fake.advance(Duration::from_secs(59));
    assert!(app
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .is_ok());
    fake.advance(Duration::from_secs(1));
    let refused = api_error(app.fetch_project_tokens(&FetchProjectTokensParams::default()));
    assert_eq!(refused.status(), 401);
    assert!(fake.project_tokens()[0].is_expired_at(fake.now()));
}

#[test]
fn user_tokens_and_unknown_values_are_refused_as_bearers() {
    let fake = start();
    let user = fake
        .client()
        .create_user_jwt(&CreateUserTokenRequest::for_email("ada@example.com"))
        .unwrap();
    for bearer in [user.token.as_str(), "not-a-token", "fake-admin-0"] {
        let client = client_for(&fake, bearer);
        let e = api_error(client.create_project_jwt(&CreateProjectTokenRequest::new("x")));
        assert_eq!(e.status(), 401, "{bearer}");
    }
    assert!(fake.project_tokens().is_empty());
}

#[test]
fn the_admin_token_is_not_jwt_shaped_and_never_in_debug() {
    let fake = start();
    let admin = fake.admin_token();
    assert!(admin.starts_with("fake-admin-") && !admin.contains('.'));
    let debug = format!("{:?}", *fake);
    assert!(!debug.contains(admin), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
    assert!(debug.contains(&fake.base_url()), "{debug}");
    assert_ne!(start().admin_token(), admin);
}

// --- Validation --------------------------------------------------------------------

#[test]
fn an_expiry_past_the_year_9999_is_422_naming_the_field() {
    let fake = start();
    let e = api_error(
        fake.client()
            .create_project_jwt(&CreateProjectTokenRequest::new("x").expiry(u64::MAX)),
    );
    assert_eq!(e.status(), 422);
    assert_eq!(
        e.message(),
        Some("expiry is 18446744073709551615 seconds, which ends after the year 9999")
    );
    assert!(fake.project_tokens().is_empty());
}

// --- Faults ----------------------------------------------------------------------------

#[test]
fn a_status_fault_answers_with_a_magicbell_error_and_changes_nothing() {
    let fake = start();
    fake.inject(1, FakeFault::Status(500));
    let e = api_error(
        fake.client()
            .create_project_jwt(&CreateProjectTokenRequest::new("x")),
    );
    assert_eq!(e.status(), 500);
    assert_eq!(e.attempts(), 1, "a create is not retried after a 500");
    assert_eq!(e.code(), Some("internal_server_error"));
    assert_eq!(
        e.message(),
        Some("a fault injected into the fake: status 500")
    );
    assert!(fake.project_tokens().is_empty());
    assert_eq!(fake.requests(), [req("POST", "/v2/jwt/project", Some(500))]);
}

#[test]
fn status_faults_are_used_up_in_order_then_answers_are_normal() {
    let fake = start();
    mint(&fake, 3);
    fake.inject(1, FakeFault::Status(503));
    fake.inject(1, FakeFault::Status(502));
    let page = fake
        .client()
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap();
    assert_eq!(page.data.len(), 3);
    let lists: Vec<Option<u16>> = fake.requests()[3..].iter().map(|r| r.status).collect();
    assert_eq!(lists, [Some(503), Some(502), Some(200)]);
}

#[test]
fn a_retry_after_fault_sends_the_header() {
    let fake = start();
    fake.inject(1, FakeFault::RetryAfter(429, 120));
    let e = api_error(
        fake.client()
            .fetch_project_tokens(&FetchProjectTokensParams::default()),
    );
    // Longer than the client's 60 s bound: returned at once, not waited out.
    assert_eq!(e.status(), 429);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(e.attempts(), 1);
    fake.inject(2, FakeFault::RetryAfter(429, 0));
    let created = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("x"))
        .unwrap();
    assert_eq!(ids(&fake.project_tokens()), [created.token_id]);
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(429), Some(429), Some(429), Some(201)]);
}

#[test]
fn a_close_fault_gets_no_answer_and_a_list_is_sent_again() {
    let fake = start();
    mint(&fake, 2);
    fake.inject(1, FakeFault::Close);
    let page = fake
        .client()
        .fetch_project_tokens(&FetchProjectTokensParams::default().limit(5))
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!(
        fake.requests()[2..],
        [
            req("GET", "/v2/jwt/project?limit=5", None),
            req("GET", "/v2/jwt/project?limit=5", Some(200)),
        ]
    );
}

#[test]
fn a_create_that_meets_a_close_mints_nothing_and_is_not_sent_again() {
    let fake = start();
    fake.inject(1, FakeFault::Close);
    let result = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("x"));
    assert!(matches!(result, Err(Error::Transport(_))), "{result:?}");
    assert!(fake.project_tokens().is_empty());
    assert_eq!(fake.requests(), [req("POST", "/v2/jwt/project", None)]);
}

#[test]
fn a_delay_fault_answers_normally_after_the_delay() {
    let fake = start();
    fake.inject(1, FakeFault::Delay(Duration::from_millis(300)));
    let began = Instant::now();
    let created = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("slow"))
        .unwrap();
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert_eq!(ids(&fake.project_tokens()), [created.token_id]);
    assert_eq!(fake.requests(), [req("POST", "/v2/jwt/project", Some(201))]);
}

#[test]
fn a_create_that_times_out_under_a_delay_has_minted_already() {
    let fake = start();
    fake.inject(1, FakeFault::Delay(Duration::from_secs(30)));
    let impatient = Client::builder(fake.admin_token())
        .base_url(fake.base_url())
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .max_retries(0)
        .build()
        .unwrap();
    let error = impatient
        .create_project_jwt(&CreateProjectTokenRequest::new("deploy"))
        .unwrap_err();
    match &error {
        Error::Transport(e) => assert!(e.is_timeout(), "{e}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(error.may_have_been_processed());
    // The fake acted before its answer was held back: the token exists as
    // the client gives up, and the request is logged only once its answer
    // leaves.
    let tokens = fake.project_tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].name.as_deref(), Some("deploy"));
    assert!(fake.requests().is_empty());
    // So code that creates again after the timeout mints a second token.
    fake.client()
        .create_project_jwt(&CreateProjectTokenRequest::new("deploy"))
        .unwrap();
    assert_eq!(fake.project_tokens().len(), 2);
}

#[test]
fn a_delay_longer_than_the_clients_timeout_is_a_timeout() {
    let fake = start();
    fake.inject(1, FakeFault::Delay(Duration::from_secs(600)));
    let client = Client::builder(fake.admin_token())
        .base_url(fake.base_url())
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .build()
        .unwrap();
    let began = Instant::now();
    match client.fetch_project_tokens(&FetchProjectTokensParams::default()) {
        Err(Error::Transport(e)) => assert!(e.is_timeout(), "{e}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The list was answered at once; only the answer was held back, and
    // the request is logged when it leaves.
    assert!(fake.requests().is_empty());
    // Dropping the fake does not wait out the 600 s delay.
    drop(fake);
    assert!(began.elapsed() < Duration::from_secs(60));
}

#[test]
fn latency_delays_every_answer() {
    let fake = start();
    fake.set_latency(Duration::from_millis(100));
    let client = fake.client();
    let began = Instant::now();
    for _ in 0..3 {
        client
            .fetch_project_tokens(&FetchProjectTokensParams::default())
            .unwrap();
    }
    assert!(began.elapsed() >= Duration::from_millis(300));
    fake.set_latency(Duration::ZERO);
    assert_eq!(fake.requests().len(), 3);
}

// --- Concurrency and lifetime --------------------------------------------------------

#[test]
fn eight_threads_creating_at_once_lose_and_duplicate_nothing() {
    let fake = start();
    let client = fake.client();
    let created: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let client = client.clone();
                s.spawn(move || {
                    (0..25)
                        .map(|i| {
                            client
                                .create_project_jwt(&CreateProjectTokenRequest::new(format!(
                                    "w{w}-{i}"
                                )))
                                .expect("create")
                                .token_id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let unique: HashSet<&String> = created.iter().collect();
    assert_eq!(unique.len(), 200);
    let held: HashSet<String> = ids(&fake.project_tokens()).into_iter().collect();
    assert_eq!(held, created.iter().cloned().collect());
    let walked: Vec<String> = client
        .project_tokens(FetchProjectTokensParams::default().limit(100))
        .map(|t| t.unwrap().id.unwrap())
        .collect();
    assert_eq!(walked, ids(&fake.project_tokens()));
}

#[test]
fn dropping_the_fake_closes_its_port_even_with_idle_connections() {
    let fake = start();
    let client = fake.client();
    client
        .fetch_project_tokens(&FetchProjectTokensParams::default())
        .unwrap(); // leaves a kept-alive connection in the client's pool
    let addr = fake.base_url()["http://".len()..]
        .trim_end_matches("/v2")
        .to_owned();
    let began = Instant::now();
    drop(fake);
    assert!(began.elapsed() < Duration::from_secs(5));
    assert!(std::net::TcpStream::connect(&addr).is_err());
    assert!(matches!(
        client.fetch_project_tokens(&FetchProjectTokensParams::default()),
        Err(Error::Transport(_))
    ));
}

#[test]
fn fake_server_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FakeServer>();
    assert_send_sync::<FakeRequest>();
    assert_send_sync::<FakeFault>();
}

#[test]
fn the_request_log_shows_a_rotation_exactly() {
    let fake = start();
    let client = fake.client();
    let old = mint(&fake, 1).remove(0);
    let new = client
        .create_project_jwt(&CreateProjectTokenRequest::new("t0"))
        .unwrap();
    client.discard_project_jwt(&old).unwrap();
    assert_eq!(
        fake.requests(),
        [
            req("POST", "/v2/jwt/project", Some(201)),
            req("POST", "/v2/jwt/project", Some(201)),
            req("DELETE", &format!("/v2/jwt/project/{old}"), Some(200)),
        ]
    );
    let live: Vec<String> = fake
        .project_tokens()
        .into_iter()
        .filter(|t| t.is_active_at(fake.now()))
        .filter_map(|t| t.id)
        .collect();
    assert_eq!(live, [new.token_id]);
}

#[test]
fn the_request_feed_gets_each_request_once_answered_in_order() {
    let fake = start();
    mint(&fake, 1);
    let feed = fake.request_feed();
    // Only what comes after it is asked for.
    assert!(feed.try_recv().is_err());
    mint(&fake, 2);
    fake.inject(1, FakeFault::Close);
    let _ = fake
        .client()
        .create_project_jwt(&CreateProjectTokenRequest::new("x"));
    // Each is in the log by the time its call returns, and in the feed
    // once its answer's last byte was written: a moment later.
    let logged = fake.requests()[1..].to_vec();
    let fed: Vec<FakeRequest> = logged
        .iter()
        .map(|_| feed.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    assert_eq!(fed, logged);
    assert_eq!(fed[2], req("POST", "/v2/jwt/project", None));
    // A second feed replaces the first, which ends; one dropped stops nothing.
    let second = fake.request_feed();
    assert!(feed.recv().is_err());
    drop(second);
    mint(&fake, 1);
    assert_eq!(fake.requests().len(), 5);
}

#[test]
fn token_ids_end_in_the_mint_count_so_they_never_collide() {
    let fake = start();
    let client = fake.client();
    let ends: Vec<String> = (0..3)
        .map(|i| {
            let created = client
                .create_project_jwt(&CreateProjectTokenRequest::new(format!("t{i}")))
                .unwrap();
            created.token_id.rsplit('-').next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ends, ["000000000001", "000000000002", "000000000003"]);
}
