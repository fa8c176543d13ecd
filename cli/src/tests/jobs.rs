//! Jobs against a FakeServer: the state they leave, and what they print.

use std::io;

use magicbell_jwt::{Client, CreateTokenResponse, FetchTokensParams};

use super::*;
use crate::hiargs::PROJECT;
use crate::jobs::{rate_limited_progress, revoke, Hooks, Job, Revoked};

#[test]
fn rotate_revokes_exactly_the_other_live_tokens_of_that_name_and_holds_the_new_one() {
    let fake = FakeServer::start().unwrap();
    let older = seed(&fake, "deploy", None);
    let gone = seed(&fake, "deploy", None);
    fake.client().discard_project_jwt(&gone).unwrap();
    let old = seed(&fake, "deploy", None);
    let other = seed(&fake, "deployer", None);

    let (code, out, err) = on_fake(&fake, "rotate deploy --expiry 60", "");

    let tokens = fake.project_tokens();
    let new = &tokens[0];
    let new_id = new.id.clone().unwrap();
    assert_eq!(
        (new.name.as_deref(), new.is_discarded()),
        (Some("deploy"), false)
    );
    assert_eq!(
        new.expires_at_time(),
        new.created_at_time().map(|t| t + Duration::from_secs(60))
    );
    let (revoked, live) = revoked_and_live(&tokens);
    assert_eq!(revoked, [old.clone(), gone.clone(), older.clone()]);
    assert_eq!(live, [new_id.clone(), other]);
    // Once each (the first by the seeding), in any order: up to 8 go at once.
    let mut sent = deletes(&fake);
    sent.sort();
    let mut paths: Vec<String> = [gone, old.clone(), older.clone()]
        .iter()
        .map(|id| format!("/v2/jwt/project/{id}"))
        .collect();
    paths.sort();
    assert_eq!(sent, paths);
    assert_eq!((code, err.as_str()), (0, STORE_IT));
    assert!(out.starts_with(&format!("TOKEN_ID    {new_id}\n")), "{out}");
    assert!(out.ends_with(&revoked_lines(&[old, older], 0)), "{out}");
    // The value on stdout is the new token: it works as a bearer.
    let value = out.lines().find_map(|l| l.strip_prefix("TOKEN ")).unwrap();
    let as_new = Client::builder(value.trim())
        .base_url(fake.base_url())
        .no_proxy()
        .build()
        .unwrap();
    assert!(as_new
        .fetch_project_tokens(&FetchTokensParams::default())
        .is_ok());
}

#[test]
fn rotate_prints_and_flushes_the_new_token_before_it_lists() {
    for json in [false, true] {
        let fake = FakeServer::start().unwrap();
        let mut out = Recorder::new(&fake);
        let line = if json {
            "rotate deploy --json"
        } else {
            "rotate deploy"
        };

        let (code, _) = on_fake_into(&fake, line, &mut out);

        assert_eq!(code, 0);
        let (shown, requests_then, _) = &out.flushes[0];
        let new = &fake.project_tokens()[0];
        let new_id = new.id.clone().unwrap();
        if json {
            // The document's first member, complete, before anything else.
            let (head, created) = shown.split_once("\"created\": ").unwrap();
            assert_eq!(head, "{\n  ", "{shown}");
            let created: serde_json::Value = serde_json::from_str(created).unwrap();
            assert_eq!(created["token_id"], new_id.as_str());
            assert_eq!(created["created_at"], new.created_at);
            assert!(created["token"].as_str().unwrap().starts_with("eyJ"));
        } else {
            assert!(
                shown.starts_with(&format!("TOKEN_ID    {new_id}\n")),
                "{shown}"
            );
            assert!(shown.contains("\nTOKEN       eyJ"), "{shown}");
        }
        // Only the create had been read: no list yet.
        assert_eq!(*requests_then, 1, "{line}");
        let methods: Vec<String> = fake.requests().into_iter().map(|r| r.method).collect();
        assert_eq!(methods, ["POST", "GET"]);
    }
}

#[test]
fn rotate_whose_new_token_cannot_be_written_revokes_it_and_nothing_else() {
    for line in ["rotate deploy", "rotate deploy --json"] {
        let fake = FakeServer::start().unwrap();
        let old = [seed(&fake, "deploy", None), seed(&fake, "deploy", None)];
        let seeding = fake.requests().len();
        let mut out = Closing::after(0);

        let (code, err) = on_fake_into(&fake, line, &mut out);

        let tokens = fake.project_tokens();
        let new_id = tokens[0].id.clone().unwrap();
        assert_eq!(code, 1, "{line}");
        assert_eq!(
            err,
            format!(
                "{}the new token {new_id} could not be shown, so it was revoked\n",
                broken_pipe()
            )
        );
        // The new token is revoked; the old ones, untouched, still work.
        let (revoked, live) = revoked_and_live(&tokens);
        assert_eq!(revoked, std::slice::from_ref(&new_id), "{line}");
        assert_eq!(live, [old[1].clone(), old[0].clone()], "{line}");
        let sent: Vec<(String, String)> = fake.requests()[seeding..]
            .iter()
            .map(|r| (r.method.clone(), r.path.clone()))
            .collect();
        let expected = [
            ("POST", "/v2/jwt/project".to_owned()),
            ("DELETE", format!("/v2/jwt/project/{new_id}")),
        ]
        .map(|(m, p)| (m.to_owned(), p));
        assert_eq!(sent, expected, "{line}");
    }
}

#[test]
fn a_new_token_that_cannot_be_written_nor_revoked_is_named_on_stderr() {
    for line in [
        "rotate deploy",
        "create ci --json",
        "user-create --email a@x",
    ] {
        let fake = FakeServer::start().unwrap();
        let old = seed(&fake, "deploy", None);
        // The create is answered; the revoke of its token after it is not.
        fake.inject(1, FakeFault::Delay(Duration::ZERO));
        fake.inject(1, FakeFault::Status(500));

        let (code, err) = on_fake_into(&fake, line, &mut Closing::after(0));

        let (new, discard) = if line.starts_with("user") {
            (fake.user_tokens("a@x")[0].clone(), "user-discard")
        } else {
            (fake.project_tokens()[0].clone(), "discard")
        };
        let new_id = new.id.clone().unwrap();
        assert_eq!(code, 1, "{line}");
        assert!(err.starts_with(&broken_pipe()), "{err}");
        assert!(
            err.ends_with(&format!(
                "the new token {new_id} could not be shown, and revoking it failed \
                     (server answered 500 Internal Server Error: internal_server_error: a fault \
                     injected into the fake: status 500 (FakeServer::inject set this answer up; \
                     the next requests are answered normally once it is used)): revoke it with: \
                     magicbell-jwt {discard} -- {new_id}\n"
            )),
            "{err}"
        );
        assert!(!new.is_discarded(), "{line}");
        let (_, live) = revoked_and_live(&fake.project_tokens());
        assert!(live.contains(&old), "{line}");
    }
}

#[test]
fn create_whose_token_cannot_be_written_revokes_it() {
    let lines = [
        "create ci",
        "create ci --json",
        "user-create --email a@x",
        "user-create --email a@x --json",
    ];
    for line in lines {
        let fake = FakeServer::start().unwrap();

        let (code, err) = on_fake_into(&fake, line, &mut Closing::after(0));

        let tokens = if line.starts_with("user") {
            fake.user_tokens("a@x")
        } else {
            fake.project_tokens()
        };
        let new_id = tokens[0].id.clone().unwrap();
        assert_eq!(code, 1, "{line}");
        assert_eq!(
            err,
            format!(
                "{}the new token {new_id} could not be shown, so it was revoked\n",
                broken_pipe()
            ),
            "{line}"
        );
        assert_eq!(tokens.len(), 1, "{line}");
        assert!(tokens[0].is_discarded(), "{line}");
    }
}

#[test]
fn rotate_with_any_parallel_revokes_the_same_tokens_and_prints_the_same_report() {
    for parallel in [1, 4, 8] {
        let fake = FakeServer::start().unwrap();
        let mut old: Vec<String> = (0..12).map(|_| seed(&fake, "deploy", None)).collect();
        old.reverse(); // the list is newest first

        let line = format!("rotate deploy --parallel {parallel}");
        let (code, out, _) = on_fake(&fake, &line, "");

        let (revoked, live) = revoked_and_live(&fake.project_tokens());
        assert_eq!(code, 0, "--parallel {parallel}");
        assert_eq!(revoked, old, "--parallel {parallel}");
        assert_eq!(live.len(), 1, "--parallel {parallel}: the new token");
        assert!(out.ends_with(&revoked_lines(&old, 0)), "{out}");
        if parallel == 1 {
            let in_walk_order: Vec<String> = old
                .iter()
                .map(|id| format!("/v2/jwt/project/{id}"))
                .collect();
            assert_eq!(deletes(&fake), in_walk_order);
        }
    }
}

#[test]
fn rotate_dry_run_sends_no_post_and_no_delete_and_changes_nothing() {
    let fake = FakeServer::start().unwrap();
    let old = seed(&fake, "deploy", None);
    let gone = seed(&fake, "deploy", None);
    fake.client().discard_project_jwt(&gone).unwrap();
    let before = fake.project_tokens();
    let seeding = fake.requests().len();

    let (code, out, _) = on_fake(&fake, "rotate deploy --dry-run", "");
    let (json_code, json_out, _) = on_fake(&fake, "rotate deploy --dry-run --json", "");

    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "would create a project token named \"deploy\"\nwould revoke {old}\nwould revoke 1\n"
        )
    );
    assert_eq!(json_code, 0);
    assert_eq!(
        document(&json_out),
        json!({"dry_run": true, "would_create": "deploy", "would_revoke": [old], "rate_limited": no_rate_limit()})
    );
    assert_eq!(fake.project_tokens(), before);
    let sent = &fake.requests()[seeding..];
    assert!(sent.iter().all(|r| r.method == "GET"), "{sent:?}");
}

#[test]
fn rotate_json_is_one_document_with_the_new_token() {
    let fake = FakeServer::start().unwrap();

    let (code, out, err) = on_fake(&fake, "rotate deploy --json", "");

    assert_eq!((code, err.as_str()), (0, ""));
    let doc = document(&out);
    let new = &fake.project_tokens()[0];
    assert_eq!(doc["created"]["token_id"], new.id.clone().unwrap());
    assert_eq!(doc["created"]["created_at"], new.created_at);
    assert!(doc["created"]["token"].as_str().unwrap().starts_with("eyJ"));
    assert_eq!((&doc["revoked"], &doc["failed"]), (&json!([]), &json!([])));
}

#[test]
fn rotate_whose_create_fails_mints_nothing_and_revokes_nothing() {
    let fake = FakeServer::start().unwrap();
    let old = seed(&fake, "deploy", None);
    fake.inject(1, FakeFault::Status(500));

    let (code, out, err) = on_fake(&fake, "rotate deploy", "");

    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("error: server answered 500"), "{err}");
    let (revoked, live) = revoked_and_live(&fake.project_tokens());
    assert_eq!((revoked, live), (vec![], vec![old]));
    assert_eq!(fake.requests().last().unwrap().method, "POST");
}

#[test]
fn a_create_answered_5xx_says_where_the_token_it_may_have_made_is() {
    let project = "the create may have gone through: look for a new token named \"deploy\" \
                       and revoke it; list the tokens with: magicbell-jwt list";
    let user = "the create may have gone through: look for a new token of a@x and revoke \
                    it; list the tokens with: magicbell-jwt user-list -- a@x";
    // A user id the shell or the parser would misread, quoted.
    let odd = "the create may have gone through: look for a new token of -o'x$ and revoke \
                   it; list the tokens with: magicbell-jwt user-list -- '-o'\\''x$'";
    let cases = [
        ("rotate deploy", project),
        ("create deploy", project),
        ("user-create --email a@x", user),
        ("user-create --external-id -o'x$", odd),
    ];
    for (line, look) in cases {
        for json in [false, true] {
            let fake = FakeServer::start().unwrap();
            fake.inject(1, FakeFault::Status(500));
            let line = if json {
                format!("{line} --json")
            } else {
                line.to_owned()
            };

            let (code, out, err) = on_fake(&fake, &line, "");

            assert_eq!(code, 1, "{line}");
            assert_eq!(err, format!("error: {FAKE_500}\n{look}\n"), "{line}");
            if json {
                let error = format!("{FAKE_500}; {look}");
                assert_eq!(document(&out)["error"], error, "{line}");
            } else {
                assert_eq!(out, "", "{line}");
            }
            // Only the create was sent: nothing revoked.
            assert_eq!(fake.requests().len(), 1, "{line}");
        }
    }
}

#[test]
fn a_create_refused_with_4xx_or_never_sent_says_only_what_failed() {
    for line in ["rotate deploy", "create deploy", "user-create --email a@x"] {
        let fake = FakeServer::start().unwrap();
        fake.inject(1, FakeFault::Status(409));

        let (code, out, err) = on_fake(&fake, line, "");

        assert_eq!((code, out.as_str()), (1, ""), "{line}");
        assert!(err.starts_with("error: server answered 409 "), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let refused = [
        ("MAGICBELL_TOKEN", "sk-test"),
        ("MAGICBELL_BASE_URL", "http://127.0.0.1:9/v2"),
    ];
    let (code, _, err) = tool_with(&refused, "create deploy");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: could not connect to 127.0.0.1:9 (MAGICBELL_BASE_URL): connection refused\n"
    );
}

#[test]
fn rotate_with_a_refused_name_exits_2_sending_nothing() {
    let fake = FakeServer::start().unwrap();
    let long = "n".repeat(300);

    let (code, out, err) = on_fake(&fake, &format!("rotate {long}"), "");

    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("error: invalid input: name is 300 characters"),
        "{err}"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn prune_expired_revokes_only_live_tokens_past_their_expiry_at_the_run() {
    let fake = FakeServer::start().unwrap();
    let gone = seed(&fake, "a", Some(60));
    let gone_before = seed(&fake, "a", Some(60));
    fake.client().discard_project_jwt(&gone_before).unwrap();
    let forever = seed(&fake, "a", None);
    fake.advance(Duration::from_secs(120));
    let fresh = seed(&fake, "a", Some(60));

    let (code, out, _) = on_fake(&fake, "prune --expired --parallel 4", "");

    assert_eq!(
        (code, out),
        (0, revoked_lines(std::slice::from_ref(&gone), 0))
    );
    let (revoked, live) = revoked_and_live(&fake.project_tokens());
    assert_eq!(revoked, [gone_before.clone(), gone.clone()]);
    assert_eq!(live, [fresh, forever]);
    assert_eq!(
        deletes(&fake),
        [
            format!("/v2/jwt/project/{gone_before}"),
            format!("/v2/jwt/project/{gone}")
        ]
    );
}

#[test]
fn prune_older_than_with_a_name_revokes_only_old_tokens_of_that_name() {
    let fake = FakeServer::start().unwrap();
    let old_ci = seed(&fake, "ci", None);
    let old_deploy = seed(&fake, "deploy", None);
    fake.advance(Duration::from_secs(31 * 86_400));
    let fresh_ci = seed(&fake, "ci", None);

    let (code, out, _) = on_fake(&fake, "prune --older-than 30 --name=ci --json", "");

    assert_eq!(code, 0);
    assert_eq!(
        document(&out),
        json!({"revoked": [old_ci], "failed": [], "not_attempted": [], "rate_limited": no_rate_limit()})
    );
    let (revoked, live) = revoked_and_live(&fake.project_tokens());
    assert_eq!((revoked, live), (vec![old_ci], vec![fresh_ci, old_deploy]));
}

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

/// Hooks that note each progress text and the size of each batch of
/// revokes shown.
#[derive(Default)]
struct Noted {
    progress: Vec<String>,
    batches: Vec<usize>,
}

impl Hooks for Noted {
    fn created(&mut self, _: &CreateTokenResponse) -> io::Result<()> {
        Ok(())
    }
    fn revoked(&mut self, ids: &[String], results: &[Revoked]) -> io::Result<()> {
        assert_eq!(ids.len(), results.len());
        self.batches.push(ids.len());
        Ok(())
    }
    fn not_attempted(&mut self, _: &[String]) {}
    fn progress(&mut self, text: &str) {
        self.progress.push(text.to_owned());
    }
}

#[test]
fn a_revoke_failing_in_a_parallel_batch_fails_alone_and_progress_moves_per_batch() {
    let fake = FakeServer::start().unwrap();
    let mut ids: Vec<String> = (0..39).map(|_| seed(&fake, "x", None)).collect();
    ids.insert(5, "nope".to_owned());
    let client = fake.client();
    let job = Job::new(&client, 2, false);
    let mut hooks = Noted::default();

    let mut report = job.report();
    revoke(&job, PROJECT, &ids, &mut report, &mut hooks);

    let (revoked, failed) = (report.revoked, report.failed);
    let known: Vec<String> = ids.iter().filter(|id| *id != "nope").cloned().collect();
    assert_eq!(revoked, known);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].0.as_str(), failed[0].1.status()),
        ("nope", Some(404))
    );
    assert!(revoked_and_live(&fake.project_tokens()).1.is_empty());
    // Batches of 2 × 16, each shown as it ends.
    assert_eq!(hooks.batches, [32, 8]);
    assert_eq!(
        hooks.progress,
        ["revoked 31 of 40, failed 1", "revoked 39 of 40, failed 1"]
    );
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
