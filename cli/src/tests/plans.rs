//! `--plan FILE` on prune and user-revoke-all: the plan holds what the job would revoke, and nothing is revoked.

use std::path::Path;

use super::*;
use crate::plan::rfc3339;

/// The plan's first line for `command` and `arguments` listed from `fake`.
fn header(fake: &FakeServer, command: &str, arguments: &[&str]) -> serde_json::Value {
    json!({
        "plan": 1, "command": command, "arguments": arguments,
        "base_url": fake.base_url(), "listed_at": rfc3339(fake.now()),
        "tool": format!("magicbell-jwt {}", env!("CARGO_PKG_VERSION")),
    })
}

/// The plan's first line for `user-revoke-all` of `arguments` (`users`
/// users given), with the users whose list failed.
fn users_header(
    fake: &FakeServer,
    arguments: &[&str],
    users: usize,
    failed: &[&str],
) -> serde_json::Value {
    let mut header = header(fake, "user-revoke-all", arguments);
    header["users"] = json!(users);
    header["failed_users"] = json!(failed);
    header
}

/// A plan's line for `token`, of `user` when it is a user's.
fn line(token: &AccessToken, user: Option<&str>) -> serde_json::Value {
    json!({
        "id": token.id, "kind": if user.is_some() { "user" } else { "project" },
        "user": user, "name": token.name, "created_at": token.created_at,
        "expires_at": token.expires_at,
    })
}

/// No file in `dir` but `names`.
#[track_caller]
fn only_files(dir: &Path, names: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, names);
}

#[test]
fn prune_plan_writes_the_tokens_prune_would_revoke_and_revokes_none() {
    let fake = FakeServer::start().unwrap();
    let old_ci = seed(&fake, "ci", Some(60));
    let old_deploy = seed(&fake, "deploy", Some(60));
    let gone = seed(&fake, "ci", Some(60));
    fake.client().discard_project_jwt(&gone).unwrap();
    fake.advance(Duration::from_secs(120));
    seed(&fake, "ci", Some(60));
    let dir = scratch("prune-plan");
    let file = dir.join("plan.jsonl");
    let before = fake.project_tokens();
    let seeding = fake.requests().len();

    let command = format!("prune --expired --name ci --plan {}", file.display());
    let (code, out, err) = on_fake(&fake, &command, "");

    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, format!("planned 1 token into {}\n", file.display()));
    let token = before.iter().find(|t| t.id.as_ref() == Some(&old_ci));
    assert_eq!(
        json_lines(&file),
        [
            header(&fake, "prune", &["--expired", "--name", "ci"]),
            line(token.unwrap(), None)
        ]
    );
    assert!(sent(&fake, seeding)
        .iter()
        .all(|(method, _)| method == "GET"));
    assert_eq!(fake.project_tokens(), before);
    assert!(before.iter().any(|t| t.id.as_ref() == Some(&old_deploy)));
    only_files(&dir, &["plan.jsonl"]);

    // The same as a document; the plan written again, whole.
    let (code, out, _) = on_fake(&fake, &format!("{command} --json"), "");
    assert_eq!(code, 0);
    assert_eq!(
        document(&out),
        json!({"plan": file.display().to_string(), "written": true, "tokens": 1, "rate_limited": no_rate_limit()})
    );
    assert_eq!(json_lines(&file).len(), 2);
    only_files(&dir, &["plan.jsonl"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn user_revoke_all_plan_holds_each_users_live_tokens_in_order_each_once() {
    let fake = FakeServer::start().unwrap();
    let a1 = seed_user(&fake, "a@x");
    let a_gone = seed_user(&fake, "a@x");
    fake.client().discard_user_jwt(&a_gone).unwrap();
    let b1 = seed_user(&fake, "b@x");
    let b2 = seed_user(&fake, "b@x");
    let c1 = seed_user(&fake, "c@x");
    let dir = scratch("users-plan");
    let file = dir.join("plan.jsonl");
    let seeding = fake.requests().len();

    for parallel in [1, 4] {
        let command = format!(
            "user-revoke-all - --parallel {parallel} --plan {}",
            file.display()
        );
        let (code, out, err) = on_fake(&fake, &command, "b@x\na@x\nb@x\n");

        assert_eq!((code, err.as_str()), (0, ""), "{parallel}");
        assert_eq!(
            out,
            format!("planned 3 tokens of 2 users into {}\n", file.display())
        );
        let tokens = |user: &str| fake.user_tokens(user);
        let (a, b) = (tokens("a@x"), tokens("b@x"));
        let of = |tokens: &[AccessToken], id: &str| {
            tokens
                .iter()
                .find(|t| t.id.as_deref() == Some(id))
                .unwrap()
                .clone()
        };
        assert_eq!(
            json_lines(&file),
            [
                users_header(&fake, &["-"], 2, &[]),
                // Newest first, as the lists give them.
                line(&of(&b, &b2), Some("b@x")),
                line(&of(&b, &b1), Some("b@x")),
                line(&of(&a, &a1), Some("a@x")),
            ],
            "{parallel}"
        );
    }
    assert!(sent(&fake, seeding)
        .iter()
        .all(|(method, _)| method == "GET"));
    assert!(revoked_and_live(&fake.user_tokens("c@x")).1 == [c1]);
    assert_eq!(revoked_and_live(&fake.user_tokens("b@x")).1.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_token_listed_under_two_users_is_planned_twice_and_applied_once() {
    let fake = FakeServer::start().unwrap();
    let request = CreateUserTokenRequest::for_email("ann@x").external_id("u-1");
    let id = fake.client().create_user_jwt(&request).unwrap().token_id;
    let dir = scratch("users-plan-shared");
    let file = dir.join("plan.jsonl");

    let command = format!("user-revoke-all ann@x u-1 --plan {}", file.display());
    let (code, out, _) = on_fake(&fake, &command, "");

    // The planned count counts lines.
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("planned 2 tokens of 2 users into {}\n", file.display())
    );
    let lines = json_lines(&file);
    let listed: Vec<_> = lines[1..].iter().map(|l| (&l["id"], &l["user"])).collect();
    assert_eq!(
        listed,
        [(&json!(id), &json!("ann@x")), (&json!(id), &json!("u-1"))]
    );
    let seeding = fake.requests().len();
    let (code, out, _) = on_fake(&fake, &format!("apply {}", file.display()), "");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("revoked {id}\nrevoked 1, gone 0, failed 0\nplanned 1, done 1, left 0\n")
    );
    assert_eq!(sent(&fake, seeding).len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_plan_leaves_out_a_user_whose_list_failed_names_them_and_exits_1() {
    let fake = FakeServer::start().unwrap();
    seed_user(&fake, "a@x");
    let b1 = seed_user(&fake, "b@x");
    let dir = scratch("users-plan-failed");
    let file = dir.join("plan.jsonl");
    fake.inject(1, FakeFault::Status(500));

    let command = format!(
        "user-revoke-all a@x b@x --parallel 1 --json --plan {}",
        file.display()
    );
    let (code, out, err) = on_fake(&fake, &command, "");

    assert_eq!(code, 1);
    // How to plan the user left out: the same command, into a second file.
    let second = dir.join("plan-2.jsonl");
    let again = format!(
        "magicbell-jwt user-revoke-all --parallel 1 --json --plan {} -- a@x",
        second.display()
    );
    assert_eq!(
        err,
        format!(
            "failed to list the tokens of a@x: {FAKE_500}\nthe list of 1 user failed, so {} \
             holds none of their tokens: plan them into a second file with: {again}\n",
            file.display()
        )
    );
    assert_eq!(
        document(&out),
        json!({
            "plan": file.display().to_string(), "written": true, "tokens": 1, "users": 1,
            "failed_users": [{"user": "a@x", "error": FAKE_500}],
            "rate_limited": no_rate_limit(),
        })
    );
    let lines = json_lines(&file);
    assert_eq!(lines[0], users_header(&fake, &["a@x", "b@x"], 2, &["a@x"]));
    assert_eq!(lines[1..].len(), 1);
    assert_eq!(lines[1]["id"], json!(b1));

    // Applied, or counted, it says who it is short of.
    let warning = format!(
        "warning: the list of 1 of the 2 users {} was listed for failed, so none of their \
         tokens is in it, and applying it revokes none of them: a@x (its first line names \
         them all, in failed_users)\n",
        file.display()
    );
    for options in ["--dry-run", ""] {
        let line = format!("apply {} {options}", file.display());
        let (code, _, err) = on_fake(&fake, &line, "");
        assert_eq!((code, err.as_str()), (0, warning.as_str()), "{options}");
    }

    // The command given plans the user left out.
    let again = again.strip_prefix("magicbell-jwt ").unwrap();
    let (code, _, err) = on_fake(&fake, again, "");
    assert_eq!((code, err.as_str()), (0, ""));
    let lines = json_lines(&second);
    assert_eq!(lines[0], users_header(&fake, &["a@x"], 1, &[]));
    assert_eq!(lines[1]["user"], json!("a@x"));
    // No temporary file is left by writing the first line again.
    only_files(&dir, &["plan-2.jsonl", "plan.jsonl", "plan.jsonl.journal"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn more_users_left_out_than_a_command_line_names_are_read_from_the_plan() {
    let fake = FakeServer::start().unwrap();
    let users: Vec<String> = (0..12).map(|i| format!("u{i}@x")).collect();
    let dir = scratch("users-plan-failed-many");
    let file = dir.join("plan.jsonl");
    // Each list is one request: the first 11 fail.
    fake.inject(11, FakeFault::Status(500));

    let command = format!(
        "user-revoke-all {} --parallel 1 --plan {}",
        users.join(" "),
        file.display()
    );
    let (code, out, err) = on_fake(&fake, &command, "");

    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!("planned 0 tokens of 1 user into {}\n", file.display())
    );
    let path = file.display();
    let last = err.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "the lists of 11 users failed, so {path} holds none of their tokens: plan them \
             into a second file with: head -1 {path} | jq -r '.failed_users[]' | \
             magicbell-jwt user-revoke-all --parallel 1 --plan {} -",
            dir.join("plan-2.jsonl").display()
        )
    );
    let failed: Vec<&str> = users[..11].iter().map(String::as_str).collect();
    let header = users_header(
        &fake,
        &users.iter().map(String::as_str).collect::<Vec<_>>(),
        12,
        &failed,
    );
    assert_eq!(json_lines(&file), [header]);
    only_files(&dir, &["plan.jsonl"]);

    let (code, _, err) = on_fake(&fake, &format!("apply {path}"), "");
    assert_eq!(code, 0);
    assert_eq!(
        err,
        format!(
            "warning: the lists of 11 of the 12 users {path} was listed for failed, so none \
             of their tokens is in it, and applying it revokes none of them: {}, … (its first \
             line names them all, in failed_users)\n",
            failed[..10].join(", ")
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_list_that_fails_part_way_leaves_no_plan_and_no_temporary_file() {
    let fake = FakeServer::start().unwrap();
    for _ in 0..30 {
        seed(&fake, "ci", None);
    }
    fake.advance(Duration::from_secs(2 * 86_400));
    let dir = scratch("prune-plan-failed");
    let file = dir.join("plan.jsonl");
    // The second page fails.
    fake.inject_on(
        magicbell_jwt::FakeRoute::ListProjectTokens,
        1,
        1,
        FakeFault::Status(500),
    );

    let command = format!("prune --older-than 1 --plan {}", file.display());
    let (code, out, err) = on_fake(&fake, &command, "");

    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, format!("error: {FAKE_500}\n"));
    only_files(&dir, &[]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_plan_that_cannot_be_written_is_named_and_nothing_is_listed() {
    let fake = FakeServer::start().unwrap();
    seed(&fake, "ci", None);
    fake.advance(Duration::from_secs(2 * 86_400));
    let dir = scratch("plan-unwritable");
    let file = dir.join("missing").join("plan.jsonl");
    let seeding = fake.requests().len();

    let command = format!("prune --older-than 1 --plan {}", file.display());
    let (code, out, err) = on_fake(&fake, &command, "");

    // Refused before anything is sent, as a plan to apply is.
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with(&format!(
            "error: could not write the plan {}: ",
            file.display()
        )),
        "{err}"
    );
    assert!(err.ends_with("; no plan was written\n"), "{err}");
    assert!(sent(&fake, seeding).is_empty());
    only_files(&dir, &[]);

    // A directory under the plan's name would refuse only the rename, once
    // every list was walked: it is refused first.
    let taken = dir.join("taken");
    std::fs::create_dir(&taken).unwrap();
    for command in ["prune --older-than 1", "user-revoke-all a@x b@x"] {
        let line = format!("{command} --json --plan {}", taken.display());
        let (code, out, err) = on_fake(&fake, &line, "");
        let message = format!(
            "could not write the plan {}: it is a directory; no plan was written",
            taken.display()
        );
        assert_eq!((code, err), (2, format!("error: {message}\n")), "{command}");
        let file = taken.display().to_string();
        assert_eq!(
            document(&out),
            json!({"plan": file, "written": false, "tokens": 0, "error": message,
                   "rate_limited": no_rate_limit()}),
            "{command}"
        );
    }
    assert!(sent(&fake, seeding).is_empty());
    only_files(&dir, &["taken"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plan_and_dry_run_together_are_refused() {
    let fake = FakeServer::start().unwrap();

    let (code, out, err) = on_fake(&fake, "prune --expired --plan p --dry-run", "");

    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: --plan revokes nothing already; it does not take --dry-run; see 'magicbell-jwt prune --help'\n"
    );
    assert!(fake.requests().is_empty());
}

// /dev/full: a file that opens for writing, and whose every write fails.
#[cfg(target_os = "linux")]
#[test]
fn a_plan_that_fails_to_be_written_part_way_ends_the_walk_and_leaves_no_file() {
    let fake = FakeServer::start().unwrap();
    let users: Vec<String> = (0..20).map(|i| format!("u{i}@x")).collect();
    for user in &users {
        for _ in 0..10 {
            seed_user(&fake, user);
        }
    }
    let dir = scratch("plan-full");
    let file = dir.join("plan.jsonl");
    // The temporary file the plan is written to first, a pipe to nowhere.
    let temporary = dir.join(format!("plan.jsonl.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink("/dev/full", &temporary).unwrap();
    let seeding = fake.requests().len();

    let command = format!(
        "user-revoke-all {} --parallel 1 --plan {}",
        users.join(" "),
        file.display()
    );
    let (code, out, err) = on_fake(&fake, &command, "");

    assert_eq!((code, out.as_str()), (1, ""));
    let full = io::Error::from_raw_os_error(28);
    assert_eq!(
        err,
        format!(
            "error: could not write the plan {}: {full}; no plan was written\n",
            file.display()
        )
    );
    // The 8 KiB buffer fills within the first 8 users: the walk stops
    // soon after, short of the 20.
    let lists = sent(&fake, seeding);
    assert!(lists.iter().all(|(method, _)| method == "GET"));
    assert!(lists.len() < 20, "{}", lists.len());
    only_files(&dir, &[]);
    std::fs::remove_dir_all(&dir).unwrap();
}
