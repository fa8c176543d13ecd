//! A stdout that fails or is watched at each flush, and progress on a terminal stderr.

use magicbell_jwt::{Client, DiscardTokenResponse};

use super::*;
use crate::hiargs::{PROJECT, USER};
use crate::jobs::{Hooks, Unshown};
use crate::output::Output;

/// What stderr says of a new token shown before stdout failed.
fn live_new_token(id: &str) -> String {
    format!(
        "the new token {id} was written before stdout failed, so it may not have reached \
         anyone, and it is live: if you do not hold it, revoke it with: magicbell-jwt discard -- {id}\n"
    )
}

#[test]
fn rotate_whose_stdout_closes_after_the_new_token_names_it_and_revokes_nothing() {
    // Text: the table is written (in one write); the blank line under it,
    // written before the first revoke, is not. JSON: the document's
    // `{"created": ...` is written; the opening of its `"revoked"` array
    // is not.
    for (line, store_it) in [
        ("rotate deploy --parallel 1", STORE_IT),
        ("rotate deploy --parallel 1 --json", ""),
    ] {
        let fake = FakeServer::start().unwrap();
        let old: Vec<String> = (0..40).map(|_| seed(&fake, "deploy", None)).collect();
        let seeding = fake.requests().len();
        let mut out = Closing::after(1);

        let (code, err) = on_fake_into(&fake, line, &mut out);

        let tokens = fake.project_tokens();
        let new_id = tokens[0].id.clone().unwrap();
        assert_eq!(code, 1, "{line}");
        assert_eq!(
            err,
            format!("{store_it}{}{}", broken_pipe(), live_new_token(&new_id)),
            "{line}"
        );
        assert!(out.text().contains(&new_id), "{}", out.text());
        assert!(out.text().contains("eyJ"), "{}", out.text());
        assert!(!out.text().contains("revoked"), "{}", out.text());
        // Nothing revoked: the old tokens and the new one stay live.
        let (revoked, live) = revoked_and_live(&tokens);
        assert!(revoked.is_empty(), "{line}: {revoked:?}");
        assert_eq!(live.len(), 41, "{line}");
        assert!(old.iter().all(|id| live.contains(id)), "{line}");
        let methods: Vec<String> = sent(&fake, seeding).into_iter().map(|(m, _)| m).collect();
        // The create and the list's two pages: no revoke.
        assert_eq!(methods, ["POST", "GET", "GET"], "{line}");
    }
}

#[test]
fn rotate_whose_stdout_closes_after_a_batch_names_the_new_token_too() {
    let fake = FakeServer::start().unwrap();
    let mut old: Vec<String> = (0..40).map(|_| seed(&fake, "deploy", None)).collect();
    old.reverse(); // the list is newest first
    let seeding = fake.requests().len();
    // The table, the blank line and the first batch's lines are written;
    // the second batch's are not.
    let mut out = Closing::after(3);

    let (code, err) = on_fake_into(&fake, "rotate deploy --parallel 1", &mut out);

    let tokens = fake.project_tokens();
    let new_id = tokens[0].id.clone().unwrap();
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "{STORE_IT}{}{}revoked 32, failed 0\n{}",
            unshown_batch(&old[16..32]),
            broken_pipe(),
            live_new_token(&new_id)
        )
    );
    let first: String = old[..16]
        .iter()
        .map(|id| format!("revoked {id}\n"))
        .collect();
    // The table, the blank line under it, the first batch.
    assert!(
        out.text().ends_with(&format!("\n\n{first}")),
        "{}",
        out.text()
    );
    let (mut revoked, live) = revoked_and_live(&tokens);
    revoked.sort();
    let mut sent_ids = old[..32].to_vec();
    sent_ids.sort();
    assert_eq!(revoked, sent_ids);
    assert_eq!(live.len(), 9);
    assert!(live.contains(&new_id));
    // The create, the list's two pages, two batches: the third is not sent.
    let sent = sent(&fake, seeding);
    assert_eq!(sent[3..], deletes_of(&old[..32]));
}

#[test]
fn a_json_job_whose_stdout_is_gone_from_the_start_revokes_nothing() {
    for line in ["prune --older-than 1 --json", "user-revoke-all a@x --json"] {
        let fake = FakeServer::start().unwrap();
        for _ in 0..3 {
            seed(&fake, "ci", None);
            seed_user(&fake, "a@x");
        }
        fake.advance(Duration::from_secs(2 * 86_400));
        let seeding = fake.requests().len();

        let (code, err) = on_fake_into(&fake, line, &mut Closing::after(0));

        assert_eq!(code, 1, "{line}");
        assert_eq!(err, broken_pipe(), "{line}");
        let methods: Vec<String> = sent(&fake, seeding).into_iter().map(|(m, _)| m).collect();
        assert_eq!(methods, ["GET"], "{line}");
        assert_eq!(
            revoked_and_live(&fake.project_tokens()).1.len(),
            3,
            "{line}"
        );
        assert_eq!(
            revoked_and_live(&fake.user_tokens("a@x")).1.len(),
            3,
            "{line}"
        );
    }
}

#[test]
fn a_batch_stdout_cannot_take_names_its_failures_then_its_revokes_on_stderr() {
    // Text: stdout is gone at once. JSON: it takes the opening of the
    // document's "revoked" array, not the batch.
    for (line, writes, shown) in [
        ("prune --older-than 1 --parallel 1", 0, ""),
        (
            "prune --older-than 1 --parallel 1 --json",
            1,
            "{\n  \"revoked\": [",
        ),
    ] {
        let fake = FakeServer::start().unwrap();
        // One revoked and one failed: the count line does not hang on their
        // difference.
        let mut ids: Vec<String> = (0..2).map(|_| seed(&fake, "ci", None)).collect();
        ids.reverse(); // the list is newest first
        fake.advance(Duration::from_secs(2 * 86_400));
        let seeding = fake.requests().len();
        // The list is answered; the first revoke after it is not.
        fake.inject(1, FakeFault::Delay(Duration::ZERO));
        fake.inject(1, FakeFault::Status(500));
        let mut out = Closing::after(writes);

        let (code, err) = on_fake_into(&fake, line, &mut out);

        assert_eq!(code, 1, "{line}");
        assert_eq!(
            err,
            format!(
                "failed to revoke {}: {FAKE_500}\n{}{}revoked 1, failed 1\n",
                ids[0],
                unshown_batch(&ids[1..]),
                broken_pipe()
            ),
            "{line}"
        );
        assert_eq!(out.text(), shown, "{line}");
        let (revoked, live) = revoked_and_live(&fake.project_tokens());
        assert_eq!((revoked.len(), live), (1, vec![ids[0].clone()]), "{line}");
        let sent = sent(&fake, seeding);
        assert_eq!(sent[0].0, "GET", "{line}");
        assert_eq!(sent[1..], deletes_of(&ids), "{line}");
    }
}

#[test]
fn a_job_whose_stdout_closes_after_a_batch_counts_every_revoke_on_stderr() {
    let fake = FakeServer::start().unwrap();
    let mut ids: Vec<String> = (0..20).map(|_| seed(&fake, "ci", None)).collect();
    ids.reverse(); // the list is newest first
    fake.advance(Duration::from_secs(2 * 86_400));
    // The first batch's lines are written (in one write); the second's
    // are not.
    let mut out = Closing::after(1);

    let (code, err) = on_fake_into(&fake, "prune --older-than 1 --parallel 1", &mut out);

    assert_eq!(code, 1);
    let first: String = ids[..16]
        .iter()
        .map(|id| format!("revoked {id}\n"))
        .collect();
    assert_eq!(out.text(), first);
    assert_eq!(
        err,
        format!(
            "{}{}revoked 20, failed 0\n",
            unshown_batch(&ids[16..]),
            broken_pipe()
        )
    );
    assert!(revoked_and_live(&fake.project_tokens()).1.is_empty());
}

#[test]
fn each_batch_of_revokes_is_printed_and_flushed_as_it_ends() {
    for json in [false, true] {
        let fake = FakeServer::start().unwrap();
        let mut ids: Vec<String> = (0..40).map(|_| seed(&fake, "ci", None)).collect();
        ids.reverse(); // the list is newest first
        fake.advance(Duration::from_secs(2 * 86_400));
        let mut out = Recorder::new(&fake);
        let mut line = "prune --older-than 1 --parallel 1".to_owned();
        if json {
            line.push_str(" --json");
        }

        let (code, _) = on_fake_into(&fake, &line, &mut out);

        assert_eq!(code, 0);
        // Batches of 16 × 1: a flush after each, holding its ids (the
        // first flush after each batch; the report's end flushes too).
        let mut seen = 0;
        let batches: Vec<(usize, Vec<String>)> = out
            .flushes
            .iter()
            .filter(|(_, _, deletes)| std::mem::replace(&mut seen, *deletes) < *deletes)
            .map(|(text, _, deletes)| {
                let shown = ids.iter().filter(|id| text.contains(id.as_str()));
                (*deletes, shown.cloned().collect())
            })
            .collect();
        assert_eq!(
            batches.iter().map(|(d, _)| *d).collect::<Vec<_>>(),
            [16, 32, 40],
            "{line}"
        );
        for (deletes, shown) in &batches {
            assert_eq!(shown, &ids[..*deletes], "{line}");
        }
        let (last, _, _) = out.flushes.last().unwrap();
        if json {
            assert_eq!(
                document(last),
                json!({"revoked": ids, "failed": [], "not_attempted": [], "rate_limited": no_rate_limit()})
            );
        } else {
            assert_eq!(*last, revoked_lines(&ids, 0));
        }
    }
}

#[test]
fn a_job_on_a_terminal_shows_its_progress_in_place_and_clears_it() {
    let fake = FakeServer::start().unwrap();
    let mut ids: Vec<String> = (0..5).map(|_| seed(&fake, "ci", None)).collect();
    ids.reverse();
    fake.advance(Duration::from_secs(2 * 86_400));
    let base_url = fake.base_url();
    let vars = [
        ("MAGICBELL_TOKEN", fake.admin_token()),
        ("MAGICBELL_BASE_URL", base_url.as_str()),
    ];
    let line = "prune --older-than 1 --parallel 2";

    let shown = run_tool(&vars, line, "", fake.now(), Some(Duration::ZERO));

    assert_eq!(
        shown,
        (
            0,
            revoked_lines(&ids, 0),
            format!("\rrevoked 5 of 5\r{:14}\r", "")
        )
    );
}

#[test]
fn a_job_shorter_than_the_wait_shows_no_progress() {
    let fake = FakeServer::start().unwrap();
    seed(&fake, "ci", None);
    fake.advance(Duration::from_secs(2 * 86_400));
    let base_url = fake.base_url();
    let vars = [
        ("MAGICBELL_TOKEN", fake.admin_token()),
        ("MAGICBELL_BASE_URL", base_url.as_str()),
    ];

    // Taking this wait would fail the test by its length.
    let hour = Some(Duration::from_secs(3600));
    let (code, _, err) = run_tool(&vars, "prune --older-than 1", "", fake.now(), hour);

    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn a_long_list_shows_its_progress_every_100_tokens() {
    let server = MockServer::start();
    let tokens: Vec<_> = (0..250).map(|i| token(&format!("t{i}"))).collect();
    serve_list(&server, "/v2/jwt/project", tokens);
    let deletes = any(&server, DELETE);
    let base_url = server.url("/v2");
    let vars = [
        ("MAGICBELL_TOKEN", "sk-test"),
        ("MAGICBELL_BASE_URL", base_url.as_str()),
    ];

    // None of them expires: the job lists 250 tokens and revokes none.
    let shown = run_tool(
        &vars,
        "prune --expired",
        "",
        SystemTime::now(),
        Some(Duration::ZERO),
    );

    assert_eq!(
        shown,
        (
            0,
            "revoked 0, failed 0\n".to_owned(),
            format!("\rlisted 100 tokens\rlisted 200 tokens\r{:17}\r", "")
        )
    );
    deletes.assert_calls(0);
}

#[test]
fn a_batch_stdout_cannot_take_names_its_failure_first_in_either_mode() {
    for json in [false, true] {
        let mut err = Vec::new();
        let mut out = Closing::after(0);
        let prog = "magicbell-jwt".to_owned();
        let mut output = Output::new(&mut out, &mut err, prog, None);
        output.begin(json);
        let ids = ["a", "b"].map(String::from);
        // Refused before sending: no server needed.
        let gone = Client::new("sk-test").unwrap().discard_project_jwt("");
        let gone = gone.unwrap_err();
        let message = gone.to_string();
        let done: DiscardTokenResponse = serde_json::from_value(
            json!({"token_id": "a", "discarded_at": "2026-01-02T00:00:00Z"}),
        )
        .unwrap();

        // Called without `revoking` first: in JSON the batch opens the
        // "revoked" array itself, and that write fails.
        let shown = output.revoked(&ids, &[Ok(done), Err(gone)]);

        assert_eq!(shown.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(
            String::from_utf8(err).unwrap(),
            format!(
                "failed to revoke b: {message}\n{}",
                unshown_batch(&ids[..1])
            ),
            "json: {json}"
        );
    }
}

#[test]
fn a_new_token_left_live_is_named_with_a_command_that_pastes_whole() {
    for (kind, discard) in [(PROJECT, "discard"), (USER, "user-discard")] {
        let mut err = Vec::new();
        let mut sink = io::sink();
        let prog = "my tokens".to_owned();
        let mut output = Output::new(&mut sink, &mut err, prog, None);
        // Refused before sending: no server needed.
        let gone = Client::new("sk-test").unwrap().discard_project_jwt("");
        let gone = gone.unwrap_err();
        let message = gone.to_string();
        let unshown = Unshown {
            kind,
            id: "-x y".to_owned(),
            revoked: Err(gone),
        };

        output.unshown(&unshown);

        assert_eq!(
            String::from_utf8(err).unwrap(),
            format!(
                "the new token -x y could not be shown, and revoking it failed ({message}): \
                 revoke it with: 'my tokens' {discard} -- '-x y'\n"
            )
        );
    }
}

/// The tool run on `line` against `fake` with stdout `/dev/null`: exit
/// status, stdout, stderr.
#[track_caller]
fn on_fake_into_null(fake: &FakeServer, line: &str) -> (u8, String, String) {
    let (base_url, admin) = (fake.base_url(), fake.admin_token().to_owned());
    let env = |name: &str| match name {
        "MAGICBELL_TOKEN" => Some(admin.clone()),
        "MAGICBELL_BASE_URL" => Some(base_url.clone()),
        _ => None,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let host = Host {
        input: &mut io::empty(),
        out: &mut out,
        err: &mut err,
        progress_after: None,
        now: fake.now(),
        out_is_null: true,
    };
    let code = cli(argv(line), &env, |b| b.max_retries(0), host);
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (code, text(out), text(err))
}

#[test]
fn a_command_that_mints_a_token_refuses_a_stdout_that_is_dev_null_and_sends_nothing() {
    for (line, command) in [
        ("create deploy", "create"),
        ("create deploy --json", "create"),
        ("user-create --email a@x", "user-create"),
        ("rotate deploy", "rotate"),
        ("rotate deploy --json --parallel 1", "rotate"),
    ] {
        let fake = FakeServer::start().unwrap();
        let old = seed(&fake, "deploy", None);
        let seeding = fake.requests().len();

        let (code, out, err) = on_fake_into_null(&fake, line);

        assert_eq!((code, out.as_str()), (2, ""), "{line}");
        assert_eq!(
            err,
            format!(
                "error: {command} shows the new token once, on stdout, and stdout is /dev/null \
                 (or was closed): nobody would get it. Nothing was sent; keep the token in a \
                 file (> token.txt) or a pipe (| your secret store); see 'magicbell-jwt \
                 {command} --help'\n"
            ),
            "{line}"
        );
        assert!(sent(&fake, seeding).is_empty(), "{line}");
        assert_eq!(revoked_and_live(&fake.project_tokens()).1, [old]);
    }
}

#[test]
fn commands_that_mint_nothing_run_with_stdout_on_dev_null() {
    let fake = FakeServer::start().unwrap();
    let old = seed(&fake, "deploy", None);

    for line in ["rotate deploy --dry-run", "list", "user-list a@x"] {
        let (code, _, err) = on_fake_into_null(&fake, line);
        assert_eq!((code, err.as_str()), (0, ""), "{line}");
    }
    let (code, _, _) = on_fake_into_null(&fake, &format!("discard {old}"));

    assert_eq!(code, 0);
    assert_eq!(revoked_and_live(&fake.project_tokens()).0, [old]);
}
