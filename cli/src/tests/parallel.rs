//! Revokes in parallel: requests in flight, batches, a revoke failing among others, and a server that goes away.

use std::io;

use magicbell_jwt::CreateTokenResponse;
use magicbell_jwt_test_support::InFlightServer;

use super::*;
use crate::hiargs::PROJECT;
use crate::jobs::{revoke, Hooks, Job, Revoked};

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
fn a_revoke_failing_in_the_middle_of_a_parallel_batch_is_counted_and_exits_1() {
    let server = MockServer::start();
    let ids: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
    let listed = ids
        .iter()
        .map(|id| named(id, "a", Some("2020-01-01T00:00:00Z"), false))
        .collect();
    serve_list(&server, "/v2/jwt/project", listed);
    let t3 = serve_boom(&server, DELETE, "/v2/jwt/project/t3");
    let others: Vec<_> = ids
        .iter()
        .filter(|id| *id != "t3")
        .map(|id| serve_discard(&server, &format!("/v2/jwt/project/{id}"), 200))
        .collect();

    let (code, out, err) = tool(&server, "prune --expired --parallel 4");

    let revoked: Vec<String> = ids.iter().filter(|id| *id != "t3").cloned().collect();
    assert_eq!(code, 1);
    assert_eq!(out, revoked_lines(&revoked, 1));
    assert_eq!(err, format!("failed to revoke t3: {BOOM}\n"));
    t3.assert_calls(1);
    for mock in others {
        mock.assert_calls(1);
    }
}

/// The eight ids `counting_server` lists as project tokens.
fn project_ids() -> Vec<String> {
    (0..8).map(|i| format!("p{i}")).collect()
}

/// A server for the jobs' parallelism, holding requests of the methods in
/// `hold` until `wanted` are in flight (see `InFlightServer`).
/// `user-revoke-all u0 u1 …`: each user has one token, `uN-t`.
/// `rotate deploy` and `prune --expired`: eight expired project tokens
/// named `deploy`, `p0` to `p7`, and a create answering `new1`.
fn counting_server(
    hold: &'static [&'static str],
    wanted: usize,
    patience: Duration,
) -> InFlightServer {
    let builder = InFlightServer::builder(wanted, patience)
        .methods(hold)
        .give_up_after_one_wait();
    // The jobs send their first list and first revoke alone: hold the rest
    // for a batch. (Wanting 2 is the one-at-a-time test, which holds the
    // first too, to catch a second sent alongside it.)
    let builder = if wanted > 2 {
        builder.let_first_go()
    } else {
        builder
    };
    builder.start(|request| {
        let (method, target) = (request.method.as_str(), request.target.as_str());
        let last = target.rsplit('/').next().unwrap_or_default().to_owned();
        let body = match (method, last.as_str()) {
            ("POST", _) => {
                let created = json!({"token": "jwt-new", "token_id": "new1", "created_at": "2026-11-29T00:00:00Z"});
                return magicbell_jwt_test_support::json(201, &created.to_string());
            }
            ("GET", "project") => {
                let expired = Some("2020-01-01T00:00:00Z");
                let data: Vec<_> = project_ids()
                    .iter()
                    .map(|id| named(id, "deploy", expired, false))
                    .collect();
                json!({"data": data, "links": {"next": null}})
            }
            ("GET", user) => {
                json!({"data": [token(&format!("{user}-t"))], "links": {"next": null}})
            }
            _ => json!({"token_id": last, "discarded_at": "2026-01-02T00:00:00Z"}),
        };
        magicbell_jwt_test_support::json(200, &body.to_string())
    })
}

/// Long enough for four threads to meet on a loaded machine; a tool
/// that sends one at a time waits it out once.
const PATIENCE: Duration = Duration::from_secs(2);

#[test]
fn parallel_1_lists_and_revokes_one_after_another_in_order() {
    // The first request of each kind is held 50 ms: one sent alongside
    // would be seen.
    let c = counting_server(&["GET", "DELETE"], 2, Duration::from_millis(50));

    let (code, out, _) = tool_at(&c.url(), "user-revoke-all u0 u1 u2 --parallel 1");

    assert_eq!(code, 0);
    assert_eq!((c.most("GET"), c.most("DELETE")), (1, 1));
    assert_eq!(
        c.order(),
        [
            "GET /v2/jwt/user/u0",
            "GET /v2/jwt/user/u1",
            "GET /v2/jwt/user/u2",
            "DELETE /v2/jwt/user/u0-t",
            "DELETE /v2/jwt/user/u1-t",
            "DELETE /v2/jwt/user/u2-t",
        ]
    );
    let ids = ["u0-t", "u1-t", "u2-t"].map(String::from);
    assert_eq!(out, revoked_lines(&ids, 0));
}

#[test]
fn parallel_4_keeps_4_lists_then_4_revokes_in_flight_and_prints_the_same() {
    let c = counting_server(&["GET", "DELETE"], 4, PATIENCE);
    let users: Vec<String> = (0..8).map(|i| format!("u{i}")).collect();

    let line = format!("user-revoke-all {} --parallel 4", users.join(" "));
    let (code, out, _) = tool_at(&c.url(), &line);

    assert_eq!(code, 0);
    assert_eq!((c.most("GET"), c.most("DELETE")), (4, 4));
    assert_eq!(c.requests(), 16);
    let order = c.order();
    // Every list ends before the first revoke.
    assert!(
        order[..8].iter().all(|r| r.starts_with("GET ")),
        "{order:?}"
    );
    let ids: Vec<String> = users.iter().map(|u| format!("{u}-t")).collect();
    assert_eq!(out, revoked_lines(&ids, 0));
}

#[test]
fn rotate_parallel_4_keeps_4_revokes_in_flight() {
    let c = counting_server(&["DELETE"], 4, PATIENCE);

    let (code, out, _) = tool_at(&c.url(), "rotate deploy --parallel 4");

    assert_eq!(code, 0);
    assert_eq!(c.most("DELETE"), 4);
    assert_eq!(c.requests(), 1 + 1 + 8);
    assert_eq!(
        out,
        // A blank line under the token: written before the first revoke.
        format!("{NEW_TOKEN_TABLE}\n{}", revoked_lines(&project_ids(), 0))
    );
}

#[test]
fn prune_parallel_4_keeps_4_revokes_in_flight() {
    let c = counting_server(&["DELETE"], 4, PATIENCE);

    let (code, out, _) = tool_at(&c.url(), "prune --expired --parallel 4");

    assert_eq!(code, 0);
    assert_eq!(c.most("DELETE"), 4);
    assert_eq!(c.requests(), 1 + 8);
    assert_eq!(out, revoked_lines(&project_ids(), 0));
}

/// A server for `user-revoke-all u1`: it lists the user's tokens `t0` to
/// `t39`, answers 5 revokes, cuts the 6th and closes its port. Its base URL,
/// and a handle that yields how many requests it answered.
fn dies_after_5_revokes() -> (String, std::thread::JoinHandle<usize>) {
    let tokens: Vec<_> = (0..40).map(|i| token(&format!("t{i}"))).collect();
    let (port, server) =
        magicbell_jwt_test_support::dies_after(1 + 5, Duration::from_millis(100), move |request| {
            if request.method == "GET" {
                json!({"data": tokens, "links": {"next": null}}).to_string()
            } else {
                let id = request.target.rsplit('/').next().unwrap_or_default();
                json!({"token_id": id, "discarded_at": "2026-11-29T00:00:00Z"}).to_string()
            }
        });
    (format!("http://127.0.0.1:{port}/v2"), server)
}

#[test]
fn a_job_whose_server_is_gone_stops_and_names_each_id_it_did_not_send() {
    let ids: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
    for json in [false, true] {
        let (url, server) = dies_after_5_revokes();
        let port = url.trim_start_matches("http://127.0.0.1:");
        let port = port.trim_end_matches("/v2");
        let mut line = "user-revoke-all u1 --parallel 1".to_owned();
        if json {
            line.push_str(" --json");
        }

        let (code, out, err) = tool_at(&url, &line);

        // t5 was cut; 8 refused in a row (t6 to t13) stop the batch of 16:
        // t14 and t15 are not sent, nor is any later batch.
        let cut = "no usable answer from the server: the connection closed before a whole \
                   answer arrived";
        let refused = format!(
            "could not connect to 127.0.0.1:{port} (MAGICBELL_BASE_URL): connection refused"
        );
        let mut failed = vec![("t5", cut.to_owned())];
        failed.extend(ids[6..14].iter().map(|id| (id.as_str(), refused.clone())));
        let mut expected_err: String = failed
            .iter()
            .map(|(id, e)| format!("failed to revoke {id}: {e}\n"))
            .collect();
        for id in &ids[14..] {
            expected_err.push_str(&format!("not attempted {id}\n"));
        }
        assert_eq!(code, 1, "{line}");
        assert_eq!(err, expected_err, "{line}");
        if json {
            let failed: Vec<_> = failed
                .iter()
                .map(|(id, e)| json!({"id": id, "error": e}))
                .collect();
            assert_eq!(
                document(&out),
                json!({
                    "revoked": ids[..5],
                    "failed": failed,
                    "not_attempted": ids[14..],
                    "failed_users": [],
                    "rate_limited": no_rate_limit(),
                })
            );
        } else {
            let lines: String = ids[..5]
                .iter()
                .map(|id| format!("revoked {id}\n"))
                .collect();
            assert_eq!(
                out,
                format!("{lines}revoked 5, failed 9, not attempted 26\n")
            );
        }
        assert_eq!(server.join().unwrap(), 6, "{line}");
    }
}

#[test]
fn a_job_whose_server_and_then_stdout_are_gone_counts_the_ids_not_attempted_on_stderr() {
    let ids: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
    let (url, server) = dies_after_5_revokes();
    let env = |name: &str| match name {
        "MAGICBELL_TOKEN" => Some("sk-test".to_owned()),
        "MAGICBELL_BASE_URL" => Some(url.clone()),
        _ => None,
    };
    let (mut out, mut err) = (Closing::after(0), Vec::new());
    let host = Host {
        input: &mut io::empty(),
        out: &mut out,
        err: &mut err,
        progress_after: None,
        now: SystemTime::now(),
        out_is_null: false,
    };

    let line = "user-revoke-all u1 --parallel 1";
    let code = cli(argv(line), &env, |b| b.max_retries(0).no_proxy(), host);

    let err = String::from_utf8(err).unwrap();
    assert_eq!(code, 1);
    // The batch's failures, its revokes that stdout could not take, the
    // ids not sent; then the output's error and the whole job's count.
    let failed = err
        .lines()
        .filter(|l| l.starts_with("failed to revoke "))
        .count();
    let not_attempted: String = ids[14..]
        .iter()
        .map(|id| format!("not attempted {id}\n"))
        .collect();
    assert_eq!(failed, 9, "{err}");
    assert!(
        err.ends_with(&format!(
            "{}{not_attempted}{}revoked 5, failed 9, not attempted 26\n",
            unshown_batch(&ids[..5]),
            broken_pipe()
        )),
        "{err}"
    );
    assert_eq!(out.text(), "");
    assert_eq!(server.join().unwrap(), 6);
}
