//! Apply: a plan's tokens revoked once each, journaled, and a rerun that goes on where the last one stopped, whatever is wrong with the files.

use std::path::{Path, PathBuf};

use super::*;

// Journals the system or the limit makes odd, beside: this file is long.
mod odd_journals;

/// A plan of `ids` (project tokens) listed from `base_url`, written by hand.
#[track_caller]
fn write_plan(file: &Path, base_url: &str, ids: &[String]) {
    let mut text = json!({
        "plan": 1, "command": "prune", "arguments": ["--expired"], "base_url": base_url,
        "listed_at": "2026-01-01T00:00:00Z", "tool": "magicbell-jwt 0.1.0",
    })
    .to_string();
    for id in ids {
        let line = json!({"id": id, "kind": "project", "user": null, "name": "ci",
                          "created_at": "2026-01-01T00:00:00Z", "expires_at": null});
        text.push_str(&format!("\n{line}"));
    }
    text.push('\n');
    std::fs::write(file, text).unwrap();
}

/// `n` project tokens on `fake`, and a plan of them in a directory of
/// `name`: the ids and the plan's path.
#[track_caller]
fn planned(fake: &FakeServer, name: &str, n: usize) -> (Vec<String>, PathBuf) {
    let ids: Vec<String> = (0..n).map(|_| seed(fake, "ci", None)).collect();
    let file = scratch(name).join("plan.jsonl");
    write_plan(&file, &fake.base_url(), &ids);
    (ids, file)
}

/// The journal of `file`, as (id, outcome) pairs.
#[track_caller]
fn journal(file: &Path) -> Vec<(String, String)> {
    json_lines(&crate::journal::journal_path(file))
        .into_iter()
        .map(|e| {
            let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
            (text(&e["id"]), text(&e["outcome"]))
        })
        .collect()
}

/// Each id with `outcome`.
fn each(ids: &[String], outcome: &str) -> Vec<(String, String)> {
    ids.iter()
        .map(|id| (id.clone(), outcome.to_owned()))
        .collect()
}

#[track_caller]
fn apply(fake: &FakeServer, file: &Path, options: &str) -> (u8, String, String) {
    on_fake(fake, &format!("apply {} {options}", file.display()), "")
}

#[track_caller]
fn live_project_tokens(fake: &FakeServer) -> Vec<String> {
    revoked_and_live(&fake.project_tokens()).1
}

fn remove(file: &Path) {
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[test]
fn apply_revokes_exactly_the_plans_tokens_journals_each_and_a_rerun_sends_nothing() {
    let fake = FakeServer::start().unwrap();
    let outside = seed(&fake, "ci", None);
    let (ids, file) = planned(&fake, "apply-exact", 3);
    let seeding = fake.requests().len();

    let (code, out, err) = apply(&fake, &file, "--parallel 1");

    assert_eq!((code, err.as_str()), (0, ""));
    let lines: String = ids.iter().map(|id| format!("revoked {id}\n")).collect();
    assert_eq!(
        out,
        format!("{lines}revoked 3, gone 0, failed 0\nplanned 3, done 3, left 0\n")
    );
    assert_eq!(sent(&fake, seeding), deletes_of(&ids));
    assert_eq!(live_project_tokens(&fake), [outside]);
    assert_eq!(journal(&file), each(&ids, "revoked"));

    // Applied in full: nothing sent, exit 0.
    let rerun = fake.requests().len();
    let (code, out, err) = apply(&fake, &file, "");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "revoked 0, gone 0, failed 0\nplanned 3, done 3, left 0\n"
    );
    assert!(sent(&fake, rerun).is_empty());
    assert_eq!(journal(&file).len(), 3);
    remove(&file);
}

#[test]
fn apply_json_lists_each_outcome_as_it_goes_then_the_counts() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-json", 2);
    fake.client().discard_project_jwt(&ids[1]).unwrap();

    let (code, out, _) = apply(&fake, &file, "--json --parallel 1");

    assert_eq!(code, 0);
    assert_eq!(
        document(&out),
        json!({
            "applied": [{"id": ids[0], "outcome": "revoked"}, {"id": ids[1], "outcome": "gone"}],
            "revoked": 1, "gone": 1, "failed": 0, "not_attempted": 0,
            "plan": {"file": file.display().to_string(), "planned": 2, "done": 2, "left": 0},
            "rate_limited": no_rate_limit(),
        })
    );
    assert_eq!(
        journal(&file),
        [each(&ids[..1], "revoked"), each(&ids[1..], "gone")].concat()
    );
    remove(&file);
}

#[test]
fn a_plan_edited_by_hand_revokes_only_the_lines_left() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-edited", 4);
    // Two lines deleted, a blank line and a line given twice.
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let edited = [lines[0], lines[1], "", lines[4], lines[1]].join("\n");
    std::fs::write(&file, edited).unwrap();
    let seeding = fake.requests().len();

    let (code, out, _) = apply(&fake, &file, "--parallel 1");

    let kept = [ids[0].clone(), ids[3].clone()];
    assert_eq!(code, 0);
    assert!(out.ends_with("planned 2, done 2, left 0\n"), "{out}");
    assert_eq!(sent(&fake, seeding), deletes_of(&kept));
    assert_eq!(live_project_tokens(&fake), [ids[2].clone(), ids[1].clone()]);
    remove(&file);
}

#[test]
fn a_uuid_given_in_upper_and_lower_case_is_one_token_revoked_once() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-uuid-case", 2);
    let upper = ids[0].to_uppercase();
    assert_ne!(upper, ids[0]);
    write_plan(
        &file,
        &fake.base_url(),
        &[ids[0].clone(), upper, ids[1].clone()],
    );
    let seeding = fake.requests().len();

    let (code, out, _) = apply(&fake, &file, "--parallel 1");

    assert_eq!(code, 0);
    assert!(out.ends_with("planned 2, done 2, left 0\n"), "{out}");
    assert_eq!(sent(&fake, seeding), deletes_of(&ids));
    remove(&file);
}

#[test]
fn a_rerun_sends_only_what_the_journal_does_not_say_is_done() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-rerun", 5);
    // A run that revoked the first, met a failure on the second, was cut
    // off before the third, and was killed before the rest.
    fake.client().discard_project_jwt(&ids[0]).unwrap();
    let entries = [
        json!({"id": ids[0], "outcome": "revoked"}),
        json!({"id": ids[1], "outcome": "failed", "error": "server answered 500"}),
        json!({"id": ids[2], "outcome": "not_attempted"}),
    ];
    let journal_text: String = entries.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(crate::journal::journal_path(&file), journal_text).unwrap();
    let seeding = fake.requests().len();

    let (dry, dry_out, _) = apply(&fake, &file, "--dry-run");
    assert_eq!((dry, dry_out.as_str()), (0, "planned 5, done 1, left 4\n"));
    assert!(sent(&fake, seeding).is_empty());

    let (code, out, err) = apply(&fake, &file, "--parallel 1");

    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.ends_with("revoked 4, gone 0, failed 0\nplanned 5, done 5, left 0\n"));
    assert_eq!(sent(&fake, seeding), deletes_of(&ids[1..]));
    assert!(live_project_tokens(&fake).is_empty());
    let after: Vec<(String, String)> = journal(&file);
    assert_eq!(after[3..], each(&ids[1..], "revoked"));
    remove(&file);
}

#[test]
fn a_journal_line_torn_by_a_kill_is_left_out_and_its_token_found_gone() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-torn", 3);
    fake.client().discard_project_jwt(&ids[0]).unwrap();
    fake.client().discard_project_jwt(&ids[1]).unwrap();
    let journal_file = crate::journal::journal_path(&file);
    let first = json!({"id": ids[0], "outcome": "revoked"});
    let torn = format!("{first}\n{{\"id\":\"{}\",\"outc", ids[1]);
    std::fs::write(&journal_file, torn).unwrap();
    let seeding = fake.requests().len();

    let (code, out, err) = apply(&fake, &file, "--parallel 1");

    assert_eq!(code, 0);
    assert_eq!(
        err,
        format!(
            "the last line of {} (line 2) was cut short, as by a kill while it was written: \
             it is left out, and its token is sent again (answered 404 if it was revoked)\n",
            journal_file.display()
        )
    );
    assert_eq!(
        out,
        format!(
            "gone {}\nrevoked {}\nrevoked 1, gone 1, failed 0\nplanned 3, done 3, left 0\n",
            ids[1], ids[2]
        )
    );
    assert_eq!(sent(&fake, seeding), deletes_of(&ids[1..]));
    // The torn tail is cut off before the new lines are appended.
    assert_eq!(
        journal(&file),
        [
            each(&ids[..1], "revoked"),
            each(&ids[1..2], "gone"),
            each(&ids[2..], "revoked")
        ]
        .concat()
    );
    remove(&file);
}

#[test]
fn a_failed_revoke_is_journaled_with_its_error_and_the_same_command_goes_on() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-failed", 3);
    fake.inject_on(
        magicbell_jwt::FakeRoute::DiscardProjectToken,
        1,
        1,
        FakeFault::Status(500),
    );

    let (code, out, err) = apply(&fake, &file, "--parallel 1");

    assert_eq!(code, 1);
    assert_eq!(err, format!("failed to revoke {}: {FAKE_500}\n", ids[1]));
    let path = file.display();
    assert!(
        out.ends_with(&format!(
            "revoked 2, gone 0, failed 1\nplanned 3, done 2, left 1: the same command goes on: \
             magicbell-jwt apply --parallel 1 -- {path}\n"
        )),
        "{out}"
    );
    let entries = json_lines(&crate::journal::journal_path(&file));
    assert_eq!(
        entries[1],
        json!({"id": ids[1], "outcome": "failed", "error": FAKE_500})
    );

    let rerun = fake.requests().len();
    let (code, out, _) = apply(&fake, &file, "");
    assert_eq!(code, 0);
    assert!(out.ends_with("planned 3, done 3, left 0\n"), "{out}");
    assert_eq!(sent(&fake, rerun), deletes_of(&ids[1..2]));
    assert!(live_project_tokens(&fake).is_empty());
    remove(&file);
}

#[test]
fn a_plan_listed_from_another_base_url_is_refused_naming_both() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-elsewhere", 2);
    write_plan(&file, "https://api.magicbell.com/v2", &ids);
    let seeding = fake.requests().len();

    let (code, out, err) = apply(&fake, &file, "");

    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!(
            "error: {} was listed from https://api.magicbell.com/v2, and requests go to {} \
             here: nothing was sent; apply it with the MAGICBELL_BASE_URL it was listed from, \
             or plan again\n",
            file.display(),
            fake.base_url()
        )
    );
    assert!(sent(&fake, seeding).is_empty());
    assert!(!crate::journal::journal_path(&file).exists());
    remove(&file);
}

#[test]
fn a_plan_that_is_missing_not_a_plan_or_malformed_is_refused_before_anything_is_sent() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-malformed", 2);
    let text = std::fs::read_to_string(&file).unwrap();
    let path = file.display();
    let cases = [
        (
            format!("{text}{{\"id\": 5}}\n"),
            format!(
                "error: line 4 of {path} is not a planned token (invalid type: integer `5`, \
                 expected a string at line 1 column 8): nothing was sent\n"
            ),
        ),
        (
            text.lines().skip(1).collect::<Vec<_>>().join("\n"),
            format!(
                "error: {path} is not a plan: its first line is a token's, not the job's (a \
                 plan's first line has no \"id\")\n"
            ),
        ),
        (
            format!("{text}{{\"id\": \"{}\", \"kind\": \"team\"}}\n", ids[0]),
            format!(
                "error: line 4 of {path} is not a planned token (unknown variant `team`, \
                 expected `project` or `user` at line 1 column 61): nothing was sent\n"
            ),
        ),
        (
            String::new(),
            format!("error: {path} is not a plan: the file is empty\n"),
        ),
        // A kind its user contradicts: the wrong call's 404 would read as
        // done.
        (
            format!(
                "{text}{}\n",
                json!({"id": ids[0], "kind": "project", "user": "a@x"})
            ),
            format!(
                "error: line 4 of {path} is not a planned token (its kind is project, and it \
                 names a user): nothing was sent\n"
            ),
        ),
        (
            format!(
                "{text}{}\n",
                json!({"id": ids[0], "kind": "user", "user": null})
            ),
            format!(
                "error: line 4 of {path} is not a planned token (its kind is user, and it \
                 names no user): nothing was sent\n"
            ),
        ),
    ];
    // A line no plan has, read no further than its first MiB.
    let long = format!("{text}{{\"id\": \"{}\"}}\n", "x".repeat(1 << 20));
    let long_message = format!(
        "error: line 4 of {path} is not a planned token (it is longer than 1048576 bytes): \
         nothing was sent\n"
    );
    let cases = cases.into_iter().chain([(long, long_message)]);
    for (plan, message) in cases {
        std::fs::write(&file, plan).unwrap();
        let (code, out, err) = apply(&fake, &file, "");
        assert_eq!((code, out.as_str(), err), (2, "", message));
    }
    std::fs::remove_file(&file).unwrap();
    let (code, _, err) = apply(&fake, &file, "--json");
    assert_eq!(code, 2);
    assert!(
        err.starts_with(&format!("error: could not read the plan {path}: ")),
        "{err}"
    );
    assert_eq!(live_project_tokens(&fake).len(), 2);
    assert!(deletes(&fake).is_empty());
    remove(&file);
}

#[test]
fn a_journal_whose_whole_line_is_not_an_entry_is_refused() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-bad-journal", 2);
    let journal_file = crate::journal::journal_path(&file);
    let first = json!({"id": ids[0], "outcome": "revoked"});
    std::fs::write(&journal_file, format!("not json\n{first}\n")).unwrap();

    let (code, out, err) = apply(&fake, &file, "");

    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!(
            "error: line 1 of the journal {} is not an entry (expected ident at line 1 column \
             2), and only its last line can be cut short by a kill: nothing was sent\n",
            journal_file.display()
        )
    );
    assert!(deletes(&fake).is_empty());
    remove(&file);
}

#[test]
fn a_journal_that_cannot_be_opened_stops_apply_before_anything_is_sent() {
    let fake = FakeServer::start().unwrap();
    let (_, file) = planned(&fake, "apply-journal-dir", 2);
    std::fs::create_dir(crate::journal::journal_path(&file)).unwrap();

    let (code, out, err) = apply(&fake, &file, "");

    assert_eq!((code, out.as_str()), (2, ""));
    let journal_file = crate::journal::journal_path(&file);
    let head = format!(
        "error: could not read the journal {}: ",
        journal_file.display()
    );
    assert!(err.starts_with(&head), "{err}");
    assert!(err.ends_with("; nothing was sent\n"), "{err}");
    assert_eq!(err, not_a_file(&file, "a directory"));
    assert!(deletes(&fake).is_empty());
    remove(&file);
}

/// The refusal of a journal that is `what`, not a regular file.
fn not_a_file(file: &Path, what: &str) -> String {
    format!(
        "error: could not read the journal {}: it is {what}, not a regular file, and a \
         journal must keep what is written to it; nothing was sent\n",
        crate::journal::journal_path(file).display()
    )
}

// A device keeps nothing (`/dev/null`), a FIFO would block the read.
#[cfg(unix)]
#[test]
fn a_journal_that_is_a_device_or_a_fifo_is_refused_before_anything_is_sent() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-journal-special", 2);
    let journal_file = crate::journal::journal_path(&file);
    std::os::unix::fs::symlink("/dev/null", &journal_file).unwrap();
    let seeding = fake.requests().len();

    for options in ["", "--dry-run"] {
        let (code, out, err) = apply(&fake, &file, options);
        assert_eq!((code, out.as_str()), (2, ""), "{options}");
        assert_eq!(err, not_a_file(&file, "a device"), "{options}");
    }

    std::fs::remove_file(&journal_file).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&journal_file)
        .status()
        .unwrap();
    assert!(made.success());
    let (code, out, err) = apply(&fake, &file, "");
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, not_a_file(&file, "a FIFO"));

    assert!(sent(&fake, seeding).is_empty());
    assert_eq!(live_project_tokens(&fake).len(), ids.len());
    remove(&file);
}

#[test]
fn a_journal_that_cannot_be_written_stops_apply_after_the_batch_and_loses_nothing() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-journal-full", 20);
    let journal_file = crate::journal::journal_path(&file);
    crate::journal::tests::fill_disk_after(0);
    let seeding = fake.requests().len();

    let (code, out, err) = apply(&fake, &file, "--parallel 1");

    // One batch of 16 sent and shown, then the stop: none of it is done
    // until a journal holds it, as a dry run says too.
    let first: String = ids[..16]
        .iter()
        .map(|id| format!("revoked {id}\n"))
        .collect();
    assert_eq!(code, 1);
    assert!(out.starts_with(&first), "{out}");
    let rest = format!(
        "revoked 16, gone 0, failed 0\nplanned 20, done 0, left 20: the same command goes on: \
         magicbell-jwt apply --parallel 1 -- {}\n",
        file.display()
    );
    assert_eq!(out, first + &rest);
    let full = io::Error::from(io::ErrorKind::StorageFull);
    assert!(
        err.starts_with(&format!(
            "error: could not write the journal {}: {full}; stopped before sending more.",
            journal_file.display()
        )),
        "{err}"
    );
    assert_eq!(sent(&fake, seeding), deletes_of(&ids[..16]));
    crate::journal::tests::empty_disk();
    let (_, dry, _) = apply(&fake, &file, "--dry-run");
    assert_eq!(dry, "planned 20, done 0, left 20\n");

    // Once the journal can be written, the same command sends the batch
    // again: answered all 404 with nothing journaled yet, it stops, as a
    // token of another project would; --assume-gone goes on.
    let rerun = fake.requests().len();
    let (code, out, err) = apply(&fake, &file, "--parallel 1");
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "revoked 0, gone 0, failed 0\nplanned 20, done 0, left 20\n"
    );
    assert!(err.contains("were all answered 404"), "{err}");
    assert_eq!(sent(&fake, rerun), deletes_of(&ids[..16]));
    assert!(journal(&file).is_empty());
    let (code, out, _) = apply(&fake, &file, "--parallel 1 --assume-gone");
    assert_eq!(code, 0);
    assert!(out.ends_with("revoked 4, gone 16, failed 0\nplanned 20, done 20, left 0\n"));
    assert!(live_project_tokens(&fake).is_empty());
    remove(&file);
}

#[test]
fn a_journal_that_fails_on_the_last_batch_leaves_that_batch_to_the_same_command() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-journal-full-last", 20);
    crate::journal::tests::fill_disk_after(1);

    let (code, out, _) = apply(&fake, &file, "--parallel 1");

    assert_eq!(code, 1);
    assert!(
        out.ends_with(&format!(
            "revoked 20, gone 0, failed 0\nplanned 20, done 16, left 4: the same command goes \
             on: magicbell-jwt apply --parallel 1 -- {}\n",
            file.display()
        )),
        "{out}"
    );
    assert_eq!(journal(&file), each(&ids[..16], "revoked"));
    crate::journal::tests::empty_disk();
    let (code, out, _) = apply(&fake, &file, "--parallel 1");
    assert_eq!(code, 0);
    assert!(out.ends_with("revoked 0, gone 4, failed 0\nplanned 20, done 20, left 0\n"));
    remove(&file);
}

#[test]
fn a_first_batch_all_404_stops_a_first_apply_as_another_projects_token_would_meet() {
    let fake = FakeServer::start().unwrap();
    // Ids the server does not know: what another project's token meets.
    let ids: Vec<String> = (0..20)
        .map(|i| format!("0190a5b4-8c1e-4f6a-9d2b-{i:012}"))
        .collect();
    let file = scratch("apply-all-404").join("plan.jsonl");
    write_plan(&file, &fake.base_url(), &ids);

    let (code, out, err) = apply(&fake, &file, "--parallel 1");

    assert_eq!(code, 1);
    // Nothing shown, counted or journaled of the batch; no command to go
    // on but the one the error gives.
    assert_eq!(
        out,
        "revoked 0, gone 0, failed 0\nplanned 20, done 0, left 20\n"
    );
    assert_eq!(
        err,
        format!(
            "error: the first 16 tokens sent from {}, whose journal is empty, were all \
             answered 404 (not found): MAGICBELL_TOKEN may be another project's than the one \
             the plan was listed from (requests go to {}), or the plan was applied already, \
             by someone else or by a run stopped before it journaled them. Stopped, none of \
             them journaled. Check MAGICBELL_TOKEN; if it is the project's and these tokens \
             are revoked, the same command with --assume-gone counts them gone and goes on\n",
            file.display(),
            fake.base_url()
        )
    );
    assert_eq!(deletes(&fake).len(), 16);
    assert!(journal(&file).is_empty());

    // Checked and meant: counted gone, and the command that goes on keeps
    // the option.
    let (code, out, _) = apply(&fake, &file, "--parallel 1 --assume-gone");
    assert_eq!(code, 0);
    assert!(out.ends_with("revoked 0, gone 20, failed 0\nplanned 20, done 20, left 0\n"));
    assert_eq!(journal(&file), each(&ids, "gone"));
    remove(&file);
}

#[test]
fn a_few_404s_or_a_journal_with_entries_do_not_stop_an_apply() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-some-404", 5);
    // Three revoked outside the plan: fewer than the batch size that stops.
    for id in &ids[..3] {
        fake.client().discard_project_jwt(id).unwrap();
    }
    let few = [ids[0].clone(), ids[1].clone(), ids[2].clone()];
    write_plan(&file, &fake.base_url(), &few);
    let (code, out, _) = apply(&fake, &file, "--parallel 1");
    assert_eq!(code, 0);
    assert!(out.ends_with("revoked 0, gone 3, failed 0\nplanned 3, done 3, left 0\n"));

    // A journal with an entry: a plan applied before, whose 404s are
    // answers lost to a stop.
    for id in &ids[3..] {
        fake.client().discard_project_jwt(id).unwrap();
    }
    let more: Vec<String> = (0..16).map(|_| seed(&fake, "ci", None)).collect();
    for id in &more {
        fake.client().discard_project_jwt(id).unwrap();
    }
    write_plan(
        &file,
        &fake.base_url(),
        &[few.to_vec(), more.clone()].concat(),
    );
    let (code, out, _) = apply(&fake, &file, "--parallel 1");
    assert_eq!(code, 0);
    assert!(out.ends_with("revoked 0, gone 16, failed 0\nplanned 19, done 19, left 0\n"));
    remove(&file);
}

#[test]
fn a_server_gone_part_way_leaves_the_rest_for_the_same_command() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v2");
    let ids: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    let file = scratch("apply-gone-server").join("plan.jsonl");
    write_plan(&file, &url, &ids);

    let (code, out, err) = tool_at(&url, &format!("apply {} --parallel 1", file.display()));

    // 8 refused in a row stop the batch of 16: the rest of it is not
    // attempted, and no later batch is sent.
    assert_eq!(code, 1);
    let refused =
        format!("could not connect to 127.0.0.1:{port} (MAGICBELL_BASE_URL): connection refused");
    let mut expected: String = ids[..8]
        .iter()
        .map(|id| format!("failed to revoke {id}: {refused}\n"))
        .collect();
    expected.extend(ids[8..16].iter().map(|id| format!("not attempted {id}\n")));
    assert_eq!(err, expected);
    assert_eq!(
        out,
        format!(
            "revoked 0, gone 0, failed 8, not attempted 8\nplanned 20, done 0, left 20: the \
             same command goes on: magicbell-jwt apply --parallel 1 -- {}\n",
            file.display()
        )
    );
    assert_eq!(
        journal(&file),
        [
            each(&ids[..8], "failed"),
            each(&ids[8..16], "not_attempted")
        ]
        .concat()
    );
    remove(&file);
}

#[test]
fn apply_whose_stdout_fails_stops_after_the_batch_the_journal_holds() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-stdout-gone", 20);
    let seeding = fake.requests().len();
    let mut out = Closing::after(0);

    let line = format!("apply {} --parallel 1", file.display());
    let (code, err) = on_fake_into(&fake, &line, &mut out);

    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "{}{}revoked 16, gone 0, failed 0\nplanned 20, done 16, left 4: the same command \
             goes on: magicbell-jwt apply --parallel 1 -- {}\n",
            unshown_batch(&ids[..16]),
            broken_pipe(),
            file.display()
        )
    );
    assert_eq!(sent(&fake, seeding), deletes_of(&ids[..16]));
    assert_eq!(journal(&file), each(&ids[..16], "revoked"));
    remove(&file);
}

#[test]
fn the_command_that_goes_on_repeats_the_options_given() {
    let fake = FakeServer::start().unwrap();
    let (_, file) = planned(&fake, "apply-options-again", 3);
    let seeding = fake.requests().len();
    let path = file.display();
    let cases = [
        (
            "--json --parallel 16",
            format!("apply --parallel 16 --json -- {path}"),
        ),
        ("--json", format!("apply --json -- {path}")),
        // The default is no option to repeat.
        ("--parallel 8 --json", format!("apply --json -- {path}")),
    ];
    for (options, again) in cases {
        // stdout gone before anything is sent (the document opens before
        // the first revoke): the counts go to stderr.
        let mut out = Closing::after(0);
        let line = format!("apply {path} {options}");
        let (code, err) = on_fake_into(&fake, &line, &mut out);
        assert_eq!(code, 1, "{options}");
        let end =
            format!("planned 3, done 0, left 3: the same command goes on: magicbell-jwt {again}\n");
        assert!(err.ends_with(&end), "{options}: {err}");
    }
    assert!(sent(&fake, seeding).is_empty());
    remove(&file);
}

#[test]
fn apply_dry_run_json_counts_what_a_run_would_send_and_writes_nothing() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-dry-json", 3);
    let entry = json!({"id": ids[2], "outcome": "gone"});
    std::fs::write(crate::journal::journal_path(&file), format!("{entry}\n")).unwrap();
    let seeding = fake.requests().len();

    let (code, out, err) = apply(&fake, &file, "--dry-run --json");

    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        document(&out),
        json!({
            "dry_run": true,
            "plan": {"file": file.display().to_string(), "planned": 3, "done": 1, "left": 2},
        })
    );
    assert!(sent(&fake, seeding).is_empty());
    assert_eq!(journal(&file).len(), 1);
    remove(&file);
}

#[test]
fn a_plan_of_both_kinds_revokes_each_by_its_own_call_and_needs_only_plan_and_base_url() {
    let fake = FakeServer::start().unwrap();
    let project = [seed(&fake, "ci", None), seed(&fake, "ci", None)];
    let user = [seed_user(&fake, "a@x"), seed_user(&fake, "a@x")];
    let file = scratch("apply-kinds").join("plan.jsonl");
    // A first line trimmed by hand to what apply needs.
    let mut text = json!({"plan": 1, "base_url": fake.base_url()}).to_string();
    for (id, kind, user) in [
        (&project[0], "project", None),
        (&user[0], "user", Some("a@x")),
        (&user[1], "user", Some("a@x")),
        (&project[1], "project", None),
    ] {
        // `user` left out of a project token's line: null.
        let mut line = json!({"id": id, "kind": kind});
        if let Some(user) = user {
            line["user"] = json!(user);
        }
        text.push_str(&format!("\n{line}"));
    }
    std::fs::write(&file, text).unwrap();
    let seeding = fake.requests().len();

    let (code, out, _) = apply(&fake, &file, "");

    assert_eq!(code, 0);
    assert!(out.ends_with("planned 4, done 4, left 0\n"), "{out}");
    let path = |kind: &str, id: &String| ("DELETE".to_owned(), format!("/v2/jwt/{kind}/{id}"));
    assert_eq!(
        sent(&fake, seeding),
        [
            path("project", &project[0]),
            path("user", &user[0]),
            path("user", &user[1]),
            path("project", &project[1]),
        ]
    );
    assert!(live_project_tokens(&fake).is_empty());
    assert!(revoked_and_live(&fake.user_tokens("a@x")).1.is_empty());
    remove(&file);
}
