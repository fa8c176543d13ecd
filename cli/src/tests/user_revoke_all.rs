//! User-revoke-all: every live token of each user given or read from stdin, and a user whose list fails.

use super::*;

/// Tokens for `a@x` (two live, one revoked), `b@x` and `c@x`: the live
/// ones of `a@x` and `b@x` in walk order, and `c@x`'s.
#[track_caller]
fn seed_users(fake: &FakeServer) -> (Vec<String>, String) {
    let a1 = seed_user(fake, "a@x");
    let a_gone = seed_user(fake, "a@x");
    fake.client().discard_user_jwt(&a_gone).unwrap();
    let a2 = seed_user(fake, "a@x");
    let b1 = seed_user(fake, "b@x");
    let c1 = seed_user(fake, "c@x");
    (vec![a2, a1, b1], c1)
}

#[track_caller]
fn live_of(fake: &FakeServer, user: &str) -> Vec<String> {
    revoked_and_live(&fake.user_tokens(user)).1
}

#[test]
fn user_revoke_all_revokes_every_live_token_of_each_user_given_and_no_one_elses() {
    let fake = FakeServer::start().unwrap();
    let (theirs, c1) = seed_users(&fake);

    let (code, out, err) = on_fake(&fake, "user-revoke-all a@x b@x --parallel 4", "");

    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, revoked_lines(&theirs, 0));
    assert!(live_of(&fake, "a@x").is_empty());
    assert!(live_of(&fake, "b@x").is_empty());
    assert_eq!(live_of(&fake, "c@x"), [c1]);
}

#[test]
fn user_revoke_all_dash_reads_the_user_ids_from_stdin() {
    let fake = FakeServer::start().unwrap();
    let (theirs, c1) = seed_users(&fake);

    let stdin = "  a@x \n\n\tb@x\n   \na@x\n";
    let (code, out, _) = on_fake(&fake, "user-revoke-all - --json", stdin);

    assert_eq!(code, 0);
    assert_eq!(
        document(&out),
        json!({"revoked": theirs, "failed": [], "not_attempted": [], "failed_users": [], "rate_limited": no_rate_limit()})
    );
    assert!(live_of(&fake, "a@x").is_empty());
    assert!(live_of(&fake, "b@x").is_empty());
    assert_eq!(live_of(&fake, "c@x"), [c1]);
    // Each user listed once (a@x came twice), in any order: 8 at once.
    let mut lists: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path)
        .collect();
    lists.sort();
    assert_eq!(lists, ["/v2/jwt/user/a%40x", "/v2/jwt/user/b%40x"]);
}

#[test]
fn user_revoke_all_with_any_parallel_prints_the_users_in_the_order_given() {
    for parallel in [1, 4] {
        let fake = FakeServer::start().unwrap();
        let users = ["u5@x", "u1@x", "u3@x", "u2@x", "u4@x"];
        let mut expected = Vec::new();
        for user in users {
            let first = seed_user(&fake, user);
            expected.extend([seed_user(&fake, user), first]);
        }

        let line = format!("user-revoke-all {} --parallel {parallel}", users.join(" "));
        let (code, out, _) = on_fake(&fake, &line, "");

        assert_eq!((code, out), (0, revoked_lines(&expected, 0)), "{parallel}");
        for user in users {
            assert!(live_of(&fake, user).is_empty(), "{user}");
        }
    }
}

#[test]
fn user_revoke_all_revokes_the_others_when_one_users_list_fails() {
    let fake = FakeServer::start().unwrap();
    let a1 = seed_user(&fake, "a@x");
    let b1 = seed_user(&fake, "b@x");
    // One at a time, so the fault meets a@x's list, the first request.
    fake.inject(1, FakeFault::Status(500));

    let (code, out, err) = on_fake(&fake, "user-revoke-all a@x b@x --parallel 1", "");

    let fault = "server answered 500 Internal Server Error: internal_server_error: \
                     a fault injected into the fake: status 500 (FakeServer::inject set this \
                     answer up; the next requests are answered normally once it is used)";
    assert_eq!(code, 1);
    assert_eq!(out, revoked_lines(&[b1], 0));
    assert_eq!(err, format!("failed to list the tokens of a@x: {fault}\n"));
    assert_eq!(live_of(&fake, "a@x"), [a1]);
    assert!(live_of(&fake, "b@x").is_empty());

    fake.inject(1, FakeFault::Status(500));
    let (json_code, json_out, _) =
        on_fake(&fake, "user-revoke-all a@x b@x --parallel 1 --json", "");
    assert_eq!(json_code, 1);
    assert_eq!(
        document(&json_out),
        json!({"revoked": [], "failed": [], "not_attempted": [], "failed_users": [{"user": "a@x", "error": fault}], "rate_limited": no_rate_limit()})
    );
}

#[test]
fn user_revoke_all_dry_run_json_lists_what_it_would_revoke() {
    let fake = FakeServer::start().unwrap();
    let (theirs, _) = seed_users(&fake);
    let before = (fake.user_tokens("a@x"), fake.user_tokens("b@x"));

    let (code, out, _) = on_fake(&fake, "user-revoke-all a@x b@x --dry-run --json", "");

    assert_eq!(code, 0);
    assert_eq!(
        document(&out),
        json!({"dry_run": true, "would_revoke": theirs, "failed_users": [], "rate_limited": no_rate_limit()})
    );
    assert_eq!((fake.user_tokens("a@x"), fake.user_tokens("b@x")), before);
}

#[test]
fn user_revoke_all_refuses_an_empty_or_bad_stdin_with_2_sending_nothing() {
    let fake = FakeServer::start().unwrap();

    let empty = on_fake(&fake, "user-revoke-all -", "\n  \n");
    let dot = on_fake(&fake, "user-revoke-all -", "a@x\n.\n");
    let (bytes_code, bytes_err) = {
        let base_url = fake.base_url();
        let vars = [
            ("MAGICBELL_TOKEN", fake.admin_token()),
            ("MAGICBELL_BASE_URL", base_url.as_str()),
        ];
        let env = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let mut err = Vec::new();
        let host = Host {
            input: &mut &b"a@x\n\xff\n"[..],
            out: &mut Vec::new(),
            err: &mut err,
            progress_after: None,
            now: fake.now(),
            out_is_null: false,
        };
        let code = cli(argv("user-revoke-all -"), &env, |b| b, host);
        (code, String::from_utf8(err).unwrap())
    };

    let see = "see 'magicbell-jwt user-revoke-all --help'";
    assert_eq!(
        empty,
        (
            2,
            String::new(),
            format!("error: stdin held no USER_ID; {see}\n")
        )
    );
    assert_eq!(
        dot,
        (
            2,
            String::new(),
            format!("error: USER_ID \".\" cannot be sent: in a URL path it names another resource (line 2 of stdin); {see}\n")
        )
    );
    assert_eq!(bytes_code, 2);
    assert!(
        bytes_err.starts_with("error: could not read the USER_IDs from stdin: "),
        "{bytes_err}"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn user_revoke_all_goes_on_past_a_failure_and_exits_1() {
    let server = MockServer::start();
    serve_list(
        &server,
        "/v2/jwt/user/u1",
        vec![
            named("a", "x", None, false),
            named("b", "x", None, true),
            named("c", "x", None, false),
        ],
    );
    let a = serve_discard(&server, "/v2/jwt/user/a", 404);
    let c = serve_discard(&server, "/v2/jwt/user/c", 200);
    let others = any(&server, DELETE);

    let (code, out, err) = tool(&server, "user-revoke-all u1");

    assert_eq!(code, 1);
    assert_eq!(out, "revoked c\nrevoked 1, failed 1\n");
    assert_eq!(
        err,
        "failed to revoke a: server answered 404 Not Found: {\"discarded_at\":\"2026-11-29T00:00:00Z\",\"token_id\":\"a\"}\n"
    );
    a.assert_calls(1);
    c.assert_calls(1);
    others.assert_calls(0);
}
