//! Prune: which project tokens each rule picks at the time of the run, and a list that fails.

use super::*;

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

#[test]
fn prune_whose_list_fails_revokes_nothing_and_exits_1() {
    let server = MockServer::start();
    serve_boom(&server, GET, "/v2/jwt/project");
    let deletes = any(&server, DELETE);

    let (code, out, err) = tool(&server, "prune --expired --json");

    assert_eq!(code, 1);
    assert_eq!(
        document(&out),
        json!({"revoked": [], "failed": [], "not_attempted": [], "error": BOOM, "rate_limited": no_rate_limit()})
    );
    assert_eq!(err, format!("error: {BOOM}\n"));
    deletes.assert_calls(0);
}

#[test]
fn prune_needs_a_rule_and_exits_2() {
    let server = MockServer::start();
    let anything = any_request(&server);

    let (code, _, err) = tool(&server, "prune --name ci");

    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: prune needs --expired or --older-than DAYS; see 'magicbell-jwt prune --help'\n"
    );
    anything.assert_calls(0);
}

#[test]
fn prune_older_than_spares_a_token_exactly_that_old() {
    let server = MockServer::start();
    let created = |id: &str, at: &str| json!({"id": id, "name": "ci", "created_at": at});
    serve_list(
        &server,
        "/v2/jwt/project",
        vec![
            created("exactly", "2026-01-01T00:00:00Z"),
            created("older", "2025-12-31T23:59:59Z"),
        ],
    );
    let older = serve_discard(&server, "/v2/jwt/project/older", 200);
    let others = any(&server, DELETE);
    let base_url = server.url("/v2");
    let vars = [
        ("MAGICBELL_TOKEN", "sk-test"),
        ("MAGICBELL_BASE_URL", base_url.as_str()),
    ];
    // 2026-01-31T00:00:00Z: 30 days after the first token was made.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + 30 * 86_400);

    let shown = run_tool(&vars, "prune --older-than 30", "", now, None);

    assert_eq!(
        shown,
        (
            0,
            "revoked older\nrevoked 1, failed 0\n".to_owned(),
            String::new()
        )
    );
    older.assert_calls(1);
    others.assert_calls(0);
}
