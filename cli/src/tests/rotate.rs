//! Rotate and create: the new token shown before anything else, held or revoked, and a failed create named with where to look.

use magicbell_jwt::{Client, FetchTokensParams};

use super::*;

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
fn rotate_keeps_the_new_token_on_stdout_when_the_list_fails() {
    let server = MockServer::start();
    serve_create(&server);
    serve_boom(&server, GET, "/v2/jwt/project");
    let deletes = any(&server, DELETE);

    let (code, out, err) = tool(&server, "rotate deploy");

    assert_eq!(code, 1);
    assert_eq!(out, NEW_TOKEN_TABLE);
    assert_eq!(err, format!("{STORE_IT}error: {BOOM}\n"));
    deletes.assert_calls(0);
}

#[test]
fn rotate_json_keeps_the_new_token_in_its_document_when_the_list_fails() {
    let server = MockServer::start();
    serve_create(&server);
    serve_boom(&server, GET, "/v2/jwt/project");
    let deletes = any(&server, DELETE);

    let (code, out, err) = tool(&server, "rotate deploy --json");

    assert_eq!(code, 1);
    assert_eq!(
        document(&out),
        json!({"created": new_token_json(), "revoked": [], "failed": [], "not_attempted": [], "error": BOOM, "rate_limited": no_rate_limit()})
    );
    assert_eq!(err, format!("error: {BOOM}\n"));
    deletes.assert_calls(0);
}

#[test]
fn rotate_goes_on_past_a_failed_revoke_and_exits_1() {
    let server = MockServer::start();
    serve_create(&server);
    serve_list(
        &server,
        "/v2/jwt/project",
        vec![
            named("old1", "deploy", None, false),
            named("old2", "deploy", None, false),
        ],
    );
    let old1 = serve_boom(&server, DELETE, "/v2/jwt/project/old1");
    let old2 = serve_discard(&server, "/v2/jwt/project/old2", 200);

    let (code, out, err) = tool(&server, "rotate deploy");

    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!("{NEW_TOKEN_TABLE}\nrevoked old2\nrevoked 1, failed 1\n")
    );
    assert_eq!(err, format!("{STORE_IT}failed to revoke old1: {BOOM}\n"));
    old1.assert_calls(1);
    old2.assert_calls(1);
}

#[test]
fn rotate_json_goes_on_past_a_failed_revoke_and_exits_1() {
    let server = MockServer::start();
    serve_create(&server);
    serve_list(
        &server,
        "/v2/jwt/project",
        vec![
            named("old1", "deploy", None, false),
            named("old2", "deploy", None, false),
        ],
    );
    serve_boom(&server, DELETE, "/v2/jwt/project/old1");
    serve_discard(&server, "/v2/jwt/project/old2", 200);

    let (code, out, err) = tool(&server, "rotate deploy --json");

    assert_eq!(code, 1);
    assert_eq!(
        document(&out),
        json!({
            "created": new_token_json(),
            "revoked": ["old2"],
            "failed": [{"id": "old1", "error": BOOM}],
            "not_attempted": [],
            "rate_limited": no_rate_limit(),
        })
    );
    assert_eq!(err, format!("failed to revoke old1: {BOOM}\n"));
}

#[test]
fn rotate_dry_run_whose_list_fails_says_so_and_exits_1() {
    let server = MockServer::start();
    serve_boom(&server, GET, "/v2/jwt/project");
    let (posts, deletes) = (any(&server, POST), any(&server, DELETE));

    let (code, out, err) = tool(&server, "rotate deploy --dry-run");

    assert_eq!(code, 1);
    assert_eq!(out, "would create a project token named \"deploy\"\n");
    assert_eq!(err, format!("error: {BOOM}\n"));
    posts.assert_calls(0);
    deletes.assert_calls(0);
}

#[test]
fn rotate_dry_run_json_whose_list_fails_is_one_document_with_the_error() {
    let server = MockServer::start();
    serve_boom(&server, GET, "/v2/jwt/project");
    let (posts, deletes) = (any(&server, POST), any(&server, DELETE));

    let (code, out, err) = tool(&server, "rotate deploy --dry-run --json");

    assert_eq!(code, 1);
    assert_eq!(
        document(&out),
        json!({"dry_run": true, "would_create": "deploy", "would_revoke": [], "error": BOOM, "rate_limited": no_rate_limit()})
    );
    assert_eq!(err, format!("error: {BOOM}\n"));
    posts.assert_calls(0);
    deletes.assert_calls(0);
}
