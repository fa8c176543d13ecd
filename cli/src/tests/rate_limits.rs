//! Jobs under a rate limit: they finish, say so on the progress line while held back, and count the 429s met and the time held back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use magicbell_jwt_test_support::{json as answer, FaultServer, RateLimitedServer, Windows};

use super::*;
use crate::jobs::rate_limited_progress;

/// 10 requests a second, in windows from the server's start, 20 ms answers,
/// 5 tokens a user.
fn ten_a_second() -> RateLimitedServer {
    RateLimitedServer::builder(10)
        .windows(Windows::FromStart(Duration::from_secs(1)))
        .start()
}

/// The tool run on `line` against `server` with the client's default retry
/// settings (the other tests' clients never retry, and so never wait on a
/// rate limit), stderr a terminal when `terminal`: exit status, stdout,
/// stderr.
#[track_caller]
fn tool_at(server: &RateLimitedServer, line: &str, terminal: bool) -> (u8, String, String) {
    let base_url = server.url();
    let env = |name: &str| match name {
        "MAGICBELL_TOKEN" => Some("sk-test".to_owned()),
        "MAGICBELL_BASE_URL" => Some(base_url.clone()),
        _ => None,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let host = Host {
        input: &mut io::empty(),
        out: &mut out,
        err: &mut err,
        progress_after: terminal.then_some(Duration::ZERO),
        now: SystemTime::now(),
        out_is_null: false,
    };
    let code = cli(argv(line), &env, |b| b.no_proxy(), host);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert!(!out.contains("sk-test") && !err.contains("sk-test"));
    (code, out, err)
}

/// `u1_tok1` … `u4_tok5`: what the server lists for users u1 to u4.
fn tokens_of_four_users() -> Vec<String> {
    (1..=4)
        .flat_map(|u| (1..=5).map(move |k| format!("u{u}_tok{k}")))
        .collect()
}

#[test]
fn a_rate_limited_job_finishes_says_so_while_held_back_and_counts_what_it_met() {
    let server = ten_a_second();

    let (code, out, err) = tool_at(&server, "user-revoke-all u1 u2 u3 u4 --parallel 8", true);

    // 4 lists, then 20 revokes: the first alone, then 8 at once, meeting the
    // window's end, then the rest paced.
    let ids = tokens_of_four_users();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, revoked_lines(&ids, 0));
    assert_eq!(server.answered(), 24);
    let refused = server.refused();
    assert!(refused > 0, "{:?}", server.windows());
    // While the pause a 429 set runs, the progress line says so.
    assert!(
        err.contains("\rrate limited: waiting 1 s; 0 of 20 revoked"),
        "{err:?}"
    );
    // Once the pause is over, while the batch goes on, the usual line.
    let waiting = err.find("rate limited: waiting").unwrap();
    assert!(err[waiting..].contains("\rrevoked 0 of 20 "), "{err:?}");
    // At the end, after the progress line is blanked: the 429s met (every
    // one the server sent) and the time held back (at least the one pause).
    let last = err.rsplit('\r').next().unwrap();
    let held = last
        .strip_prefix(&format!("rate limited: {refused} answers 429, "))
        .and_then(|rest| rest.strip_suffix(" s held back\n"))
        .unwrap_or_else(|| panic!("{last:?}"));
    assert!(held.parse::<f64>().unwrap() >= 1.0, "{last:?}");
}

#[test]
fn a_rate_limited_json_job_counts_the_429s_and_the_time_held_back_in_its_document() {
    let server = ten_a_second();

    let (code, out, err) = tool_at(&server, "user-revoke-all u1 u2 u3 u4 --json", false);

    assert_eq!(code, 0, "{err}");
    let document = document(&out);
    assert_eq!(document["revoked"], json!(tokens_of_four_users()));
    assert_eq!(document["failed"], json!([]));
    assert_eq!(document["failed_users"], json!([]));
    let limited = &document["rate_limited"];
    assert_eq!(limited["throttled"], json!(server.refused()));
    assert!(server.refused() > 0, "{:?}", server.windows());
    assert!(limited["held_ms"].as_u64().unwrap() >= 1000, "{limited}");
    // Not a terminal: no progress; the count is in the document only.
    assert_eq!(err, "");
}

#[test]
fn user_revoke_all_sends_its_first_list_alone_then_the_others_together() {
    // Each request is held 30 ms, noting how many were in flight at its end.
    let in_flight = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
    let (flight, log) = (in_flight.clone(), seen.clone());
    let server = FaultServer::start(move |_, request| {
        flight.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(30));
        let together = flight.load(Ordering::SeqCst);
        log.lock().unwrap().push((request.target.clone(), together));
        flight.fetch_sub(1, Ordering::SeqCst);
        answer(200, r#"{"data":[],"links":{"next":null}}"#)
    });
    let url = server.url();
    let vars = [("MAGICBELL_TOKEN", "sk-test"), ("MAGICBELL_BASE_URL", &url)];

    let (code, out, _) = tool_with(&vars, "user-revoke-all u0 u1 u2 u3 u4 --parallel 4");

    assert_eq!((code, out.as_str()), (0, "revoked 0, failed 0\n"));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 5);
    // u0's list was answered before any other was sent.
    assert_eq!(seen[0], ("/v2/jwt/user/u0".to_owned(), 1));
    let most = seen[1..].iter().map(|(_, n)| *n).max().unwrap();
    assert!(most > 1, "{seen:?}");
}

#[test]
fn a_wait_on_the_rate_limit_is_shown_in_whole_seconds_rounded_up() {
    let cases = [
        (Duration::from_millis(1), "1 s"),
        (Duration::from_millis(999), "1 s"),
        (Duration::from_secs(1), "1 s"),
        (Duration::from_millis(1001), "2 s"),
        (Duration::from_secs(75), "75 s"),
    ];
    for (wait, shown) in cases {
        assert_eq!(
            rate_limited_progress(wait, "120 of 1,000 revoked"),
            format!("rate limited: waiting {shown}; 120 of 1,000 revoked")
        );
    }
}
