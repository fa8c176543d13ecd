//! The fake's tests over raw TCP: its limits on connections, bytes and time,
//! caught panics, and a prompt drop.

use super::limits::MAX_HEAD_BYTES;
use super::*;
use magicbell_jwt_test_support::raw_http::{self, closed, connect, read_answer, PATIENCE};
use std::io::Write;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Instant;

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn start_with(limits: Limits) -> io::Result<FakeServer> {
    FakeServer::start_with(0, limits)
}

fn get(fake: &FakeServer, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\r\n",
        fake.admin_token()
    )
    .into_bytes()
}

#[test]
fn drop_is_prompt_whatever_clients_do_and_ends_every_thread() -> Outcome {
    // A writer blocked on a client that reads nothing would wait out this
    // timeout but for Drop shutting its connection down.
    let fake = start_with(Limits {
        write_timeout: Duration::from_secs(600),
        ..Limits::default()
    })?;
    let client = fake.client();
    for i in 0..100 {
        client.create_project_jwt(&crate::CreateProjectTokenRequest::new(format!("t{i}")))?;
    }
    let mut silent = connect(&fake.base_url());
    let mut half = connect(&fake.base_url());
    half.write_all(b"GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\n")?;
    // Thousands of pipelined lists of 100 tokens, never read: megabytes
    // of answers, more than the socket buffers hold. Written from a
    // thread of its own, which the fake's reads may leave blocked until
    // Drop shuts the connection down.
    let mut stuffed = connect(&fake.base_url());
    stuffed.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut backlog = Vec::new();
    for _ in 0..4000 {
        backlog.extend(get(&fake, "/v2/jwt/project?limit=100"));
    }
    let writer = thread::spawn(move || {
        let _ = stuffed.write_all(&backlog);
        stuffed
    });
    // Wait until the fake stops answering (its writes blocked), or has
    // answered everything.
    let mut seen = 0;
    let mut still = 0;
    let waited = Instant::now();
    while still < 5 && seen < 4100 && waited.elapsed() < PATIENCE {
        thread::sleep(Duration::from_millis(50));
        let now = fake.requests().len();
        still = if now == seen { still + 1 } else { 0 };
        seen = now;
    }
    let shared = fake.shared.clone();
    let addr = fake.addr;
    let (done, dropped) = mpsc::channel();
    let began = Instant::now();
    let dropper = thread::spawn(move || {
        drop(fake);
        let _ = done.send(began.elapsed());
    });
    let took = dropped.recv_timeout(Duration::from_secs(60))?;
    assert!(took < Duration::from_secs(2), "Drop took {took:?}");
    assert!(dropper.join().is_ok());
    // Every thread the fake started held a clone of this; all have ended.
    assert_eq!(Arc::strong_count(&shared), 1);
    assert!(shared.connections().is_empty());
    assert_eq!(shared.panics.load(Ordering::SeqCst), 0);
    assert!(closed(&mut silent));
    assert!(closed(&mut half));
    assert!(TcpStream::connect(addr).is_err());
    // The writer's connection is gone too (its write failed or ended).
    let began = Instant::now();
    assert!(writer.join().is_ok());
    assert!(began.elapsed() < Duration::from_secs(30));
    Ok(())
}

#[test]
fn a_panic_is_answered_500_counted_and_the_fake_serves_on() -> Outcome {
    let fake = FakeServer::start()?;
    assert_eq!(fake.caught_panics(), 0);
    // A panic answering, holding the state's lock.
    let mut stream = connect(&fake.base_url());
    stream.write_all(&get(&fake, "/test/panic"))?;
    let raw_http::Answer { status, head, body } = read_answer(&mut stream, &mut Vec::new());
    assert_eq!(status, 500);
    assert!(head.contains("connection: close\r\n"), "{head}");
    assert_eq!(body["errors"][0]["code"], "internal_server_error");
    assert!(closed(&mut stream));
    assert_eq!(fake.caught_panics(), 1);
    // The poisoned lock is taken all the same.
    assert!(fake.project_tokens().is_empty());
    // A panic outside answering ends its connection, unanswered.
    let mut stream = connect(&fake.base_url());
    stream.write_all(&get(&fake, "/test/panic-outside"))?;
    assert!(closed(&mut stream));
    assert_eq!(fake.caught_panics(), 2);
    let created = fake
        .client()
        .create_project_jwt(&crate::CreateProjectTokenRequest::new("after"))?;
    assert_eq!(fake.project_tokens()[0].id, Some(created.token_id));
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(500), Some(201)]);
    // Still counted at the end, when Drop warns with the count.
    assert_eq!(fake.caught_panics(), 2);
    assert!(panic_warning(fake.caught_panics()).is_some_and(|w| w.contains("2 panics")));
    drop(fake);
    Ok(())
}

#[test]
fn drop_warns_of_caught_panics_only_when_there_were_some() {
    assert_eq!(panic_warning(0), None);
    let one = panic_warning(1).unwrap_or_default();
    assert!(one.contains("caught 1 panic while serving"), "{one}");
    assert!(one.contains("a bug in the fake"), "{one}");
    assert!(one.contains("It was answered 500"), "{one}");
    let three = panic_warning(3).unwrap_or_default();
    assert!(three.contains("caught 3 panics while serving"), "{three}");
    assert!(three.contains("Each was answered 500"), "{three}");
}

#[test]
fn at_the_cap_a_connection_is_answered_503_and_closed() -> Outcome {
    let fake = start_with(Limits {
        max_connections: 2,
        ..Limits::default()
    })?;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&fake.base_url());
        stream.write_all(&get(&fake, "/v2/jwt/project"))?;
        assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 200);
        open.push(stream);
    }
    let mut third = connect(&fake.base_url());
    third.write_all(&get(&fake, "/v2/jwt/project"))?;
    let raw_http::Answer { status, head, body } = read_answer(&mut third, &mut Vec::new());
    assert_eq!(status, 503);
    assert!(head.contains("connection: close\r\n"), "{head}");
    assert_eq!(body["errors"][0]["code"], "service_unavailable");
    assert_eq!(
        body["errors"][0]["message"],
        "the fake already serves 2 connections, its most"
    );
    assert!(closed(&mut third));
    // A refused connection's request is not logged.
    assert_eq!(fake.requests().len(), 2);
    // Once one closes, a new connection is served again.
    drop(open.pop());
    let waited = Instant::now();
    let served = loop {
        let mut stream = connect(&fake.base_url());
        stream.write_all(&get(&fake, "/v2/jwt/project"))?;
        let status = read_answer(&mut stream, &mut Vec::new()).status;
        if status != 503 || waited.elapsed() > PATIENCE {
            break status;
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(served, 200);
    assert_eq!(fake.caught_panics(), 0);
    Ok(())
}

#[test]
fn a_connection_over_the_cap_that_sent_much_gets_its_503() -> Outcome {
    let fake = start_with(Limits {
        max_connections: 1,
        ..Limits::default()
    })?;
    let mut open = connect(&fake.base_url());
    open.write_all(&get(&fake, "/v2/jwt/project"))?;
    assert_eq!(read_answer(&mut open, &mut Vec::new()).status, 200);
    // 48 KiB sent: more than the fake reads before answering. (Whether
    // it reads any is not seen here: on Linux an answer already
    // received stays readable when a reset follows.)
    let mut over = connect(&fake.base_url());
    let big = format!(
        "GET /v2/jwt/project HTTP/1.1\r\nx: {}\r\n\r\n",
        "p".repeat(48 * 1024)
    );
    over.write_all(big.as_bytes())?;
    std::thread::sleep(Duration::from_millis(100));
    let answer = read_answer(&mut over, &mut Vec::new());
    assert_eq!(answer.status, 503);
    Ok(())
}

#[test]
fn a_connection_without_a_request_for_the_idle_timeout_is_closed() -> Outcome {
    let idle = Duration::from_millis(300);
    let fake = start_with(Limits {
        idle_timeout: idle,
        ..Limits::default()
    })?;
    let began = Instant::now();
    let mut silent = connect(&fake.base_url());
    assert!(closed(&mut silent));
    assert!(began.elapsed() >= idle);
    // A kept-alive connection: the timeout counts from its last answer
    // (which the fake wrote after this request was sent).
    let mut kept = connect(&fake.base_url());
    let sent = Instant::now();
    kept.write_all(&get(&fake, "/v2/jwt/project"))?;
    assert_eq!(read_answer(&mut kept, &mut Vec::new()).status, 200);
    assert!(closed(&mut kept));
    assert!(sent.elapsed() >= idle);
    assert_eq!(fake.requests().len(), 1);
    Ok(())
}

#[test]
fn a_request_not_in_full_by_its_deadline_is_408_and_closed() -> Outcome {
    let deadline = Duration::from_millis(300);
    let fake = start_with(Limits {
        request_deadline: deadline,
        ..Limits::default()
    })?;
    let mut head = connect(&fake.base_url());
    let began = Instant::now();
    head.write_all(b"GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\n")?;
    let raw_http::Answer {
        status,
        head: headers,
        body,
    } = read_answer(&mut head, &mut Vec::new());
    assert!(began.elapsed() >= deadline);
    assert_eq!(status, 408);
    assert!(headers.contains("connection: close\r\n"), "{headers}");
    assert_eq!(
        body["errors"][0]["message"],
        "the request did not arrive in full within 300 ms of its first byte"
    );
    assert!(closed(&mut head));
    // A body short of its Content-Length, too.
    let mut short = connect(&fake.base_url());
    short.write_all(b"POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n{}")?;
    assert_eq!(read_answer(&mut short, &mut Vec::new()).status, 408);
    assert!(closed(&mut short));
    // A chunked body stalled in a chunk, or in a line.
    for stalled in ["5\r\nab", "5\r\nabcde\r\n0\r\nx-trailer"] {
        let mut chunked = connect(&fake.base_url());
        let head = "PUT /x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n";
        chunked.write_all(format!("{head}{stalled}").as_bytes())?;
        let raw_http::Answer { status, body, .. } = read_answer(&mut chunked, &mut Vec::new());
        assert_eq!(status, 408);
        assert_eq!(
            body["errors"][0]["message"],
            "the request did not arrive in full within 300 ms of its first byte"
        );
        assert!(closed(&mut chunked));
    }
    let log: Vec<(String, Option<u16>)> = fake
        .requests()
        .into_iter()
        .map(|r| (format!("{} {}", r.method, r.path), r.status))
        .collect();
    assert_eq!(
        log,
        [
            ("GET /v2/jwt/project".to_owned(), Some(408)),
            ("POST /v2/jwt/project".to_owned(), Some(408)),
            ("PUT /x".to_owned(), Some(408)),
            ("PUT /x".to_owned(), Some(408)),
        ]
    );
    assert!(fake.project_tokens().is_empty());
    Ok(())
}

#[test]
fn a_head_that_reaches_16_kib_without_ending_is_431_at_once() -> Outcome {
    // A deadline the answer must beat: 431 comes before any 408.
    let fake = start_with(Limits {
        request_deadline: Duration::from_secs(600),
        ..Limits::default()
    })?;
    let mut stream = connect(&fake.base_url());
    let mut head = b"GET /v2/jwt/project HTTP/1.1\r\nx: ".to_vec();
    head.resize(MAX_HEAD_BYTES, b'p');
    stream.write_all(&head)?;
    let answer = read_answer(&mut stream, &mut Vec::new());
    assert_eq!(answer.status, 431);
    assert!(closed(&mut stream));
    Ok(())
}

#[test]
fn a_capped_log_keeps_the_latest_requests_and_the_feed_gets_every_one() -> Outcome {
    let fake = FakeServer::start()?;
    let feed = fake.request_feed();
    let client = fake.client();
    let list = |limit: u32| {
        let params = crate::FetchTokensParams {
            limit: Some(limit),
            ..Default::default()
        };
        client.fetch_project_tokens(&params).map(|_| ())
    };
    for limit in 1..=3 {
        list(limit)?;
    }
    fake.set_request_log_limit(Some(2));
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/v2/jwt/project?limit=2", "/v2/jwt/project?limit=3"]
    );
    for limit in 4..=6 {
        list(limit)?;
    }
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/v2/jwt/project?limit=5", "/v2/jwt/project?limit=6"]
    );
    // Turned off: none kept, every one still counted by a rate limit.
    fake.set_request_log_limit(Some(0));
    assert!(fake.requests().is_empty());
    fake.set_rate_limit(1, Duration::from_secs(60));
    let once = crate::Client::builder(fake.admin_token())
        .base_url(fake.base_url())
        .no_proxy()
        .max_retries(0)
        .build()?;
    once.fetch_project_tokens(&Default::default())?;
    let limited = once.fetch_project_tokens(&Default::default()).unwrap_err();
    assert_eq!(limited.status(), Some(429));
    assert!(fake.requests().is_empty());
    // Kept again from then on.
    fake.clear_rate_limit();
    fake.set_request_log_limit(None);
    list(7)?;
    assert_eq!(fake.requests().len(), 1);
    // The feed had all of them. Each is fed once its answer is out, which
    // its client may see first, so two clients' entries may cross.
    let mut fed: Vec<Option<u16>> = (0..9)
        .map(|_| feed.recv_timeout(PATIENCE).map(|r| r.status))
        .collect::<Result<_, _>>()?;
    fed.sort();
    let mut expected = vec![Some(200); 8];
    expected.push(Some(429));
    assert_eq!(fed, expected);
    Ok(())
}

#[test]
fn seeded_tokens_are_listed_and_revoked_as_created_ones_are() -> Outcome {
    let fake = FakeServer::start()?;
    let client = fake.client();
    let created = client.create_project_jwt(&crate::CreateProjectTokenRequest::new("real"))?;
    let seeded = fake.seed_project_tokens(3);
    assert_eq!(seeded.len(), 3);
    let listed = fake.project_tokens();
    let ids: Vec<&str> = listed.iter().filter_map(|t| t.id.as_deref()).collect();
    assert_eq!(
        ids,
        [&*seeded[2], &*seeded[1], &*seeded[0], &*created.token_id]
    );
    assert!(listed[..3]
        .iter()
        .all(|t| t.name.as_deref() == Some("seeded")
            && t.expires_at.is_none()
            && t.created_at == created.created_at));
    // Pages walk them, and a revoke works on them.
    let all = client
        .project_tokens(crate::FetchTokensParams {
            limit: Some(1),
            ..Default::default()
        })
        .collect::<Result<Vec<_>, _>>()?;
    assert_eq!(all.len(), 4);
    client.discard_project_jwt(&seeded[1])?;
    assert!(fake.project_tokens()[1].is_discarded());
    // A user's, under the name given; ids never repeat.
    let theirs = fake.seed_user_tokens("u-1", 2);
    assert_eq!(fake.user_tokens("u-1").len(), 2);
    let page = client.fetch_user_tokens("u-1", &Default::default())?;
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.data[0].name, None);
    client.discard_user_jwt(&theirs[0])?;
    let mut every: Vec<String> = seeded.into_iter().chain(theirs).collect();
    every.push(created.token_id);
    every.sort();
    every.dedup();
    assert_eq!(every.len(), 6);
    // Seeding sends no request: the log has the create, four pages, the
    // revoke, the user's list and the user's revoke.
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses.len(), 8);
    Ok(())
}
