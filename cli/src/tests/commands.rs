//! Commands end to end: the parser's conventions, setup and its messages, lists, creates and discards.

use std::process::ExitCode;

use super::*;
use crate::main;

#[test]
fn parallel_0_exits_2_sending_nothing() {
    let fake = FakeServer::start().unwrap();

    let (code, out, err) = on_fake(&fake, "user-revoke-all u1 --parallel 0", "");

    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: --parallel takes 1 to 64, not 0; see 'magicbell-jwt user-revoke-all --help'\n"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn prune_older_than_0_exits_2_sending_nothing() {
    for line in [
        "prune --older-than 0",
        "prune --older-than 0 --json",
        "prune --older-than 0 --dry-run",
    ] {
        let fake = FakeServer::start().unwrap();
        seed(&fake, "ci", None);
        fake.advance(Duration::from_secs(2 * 86_400));
        let seeding = fake.requests().len();

        let (code, out, err) = on_fake(&fake, line, "");

        assert_eq!((code, out.as_str()), (2, ""), "{line}");
        assert_eq!(
            err,
            "error: --older-than takes 1 or more days, not 0, which would revoke every live \
             token, the one this tool runs with too; see 'magicbell-jwt prune --help'\n",
            "{line}"
        );
        assert_eq!(fake.requests().len(), seeding, "{line}");
        assert!(revoked_and_live(&fake.project_tokens()).0.is_empty());
    }
}

#[test]
fn discard_help_revokes_the_token_whose_id_is_help() {
    let server = MockServer::start();
    let help = serve_discard(&server, "/v2/jwt/project/help", 200);

    let (code, out, err) = tool(&server, "discard help");

    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "revoked help at 2026-11-29T00:00:00Z\n", "")
    );
    help.assert_calls(1);
}

#[test]
fn discard_after_double_dash_revokes_an_id_starting_with_a_dash() {
    let server = MockServer::start();
    let dash_x = serve_discard(&server, "/v2/jwt/project/-x", 200);

    let (code, out, _) = tool(&server, "discard -- -x");

    assert_eq!(
        (code, out.as_str()),
        (0, "revoked -x at 2026-11-29T00:00:00Z\n")
    );
    dash_x.assert_calls(1);
}

#[test]
fn list_limit_with_an_equals_sign_sends_that_limit() {
    let server = MockServer::start();
    let five = server.mock(|when, then| {
        when.method(GET)
            .path("/v2/jwt/project")
            .query_param("limit", "5");
        then.status(200)
            .json_body(json!({"data": [], "links": {"next": null}}));
    });

    let (code, out, _) = tool(&server, "list --limit=5");

    assert_eq!(
        (code, out.as_str()),
        (0, "ID  NAME  CREATED_AT  EXPIRES_AT  DISCARDED_AT\n")
    );
    five.assert_calls(1);
}

#[test]
fn rotate_help_prints_its_usage_and_exits_0_sending_nothing() {
    let server = MockServer::start();
    let anything = any_request(&server);

    let (code, out, err) = tool(&server, "rotate --help");
    let (_, by_word, _) = tool(&server, "help rotate");

    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "\
magicbell-jwt rotate: create a project token NAME, then revoke every other live project token named NAME

USAGE:
    magicbell-jwt rotate NAME [--expiry SECS] [--parallel N] [--dry-run] [--json]

OPTIONS:
    --expiry SECS  seconds the new token stays valid (default: the API's)
    --parallel N   requests in flight at once, 1 to 64 (default 8)
    --dry-run      send no POST and no DELETE: say what would be done
    --json         one JSON document on stdout instead of text
    -h, --help     this text

A NAME that starts with '-' goes after '--': magicbell-jwt rotate -- -x
"
    );
    assert_eq!(by_word, out);
    anything.assert_calls(0);
}

#[test]
fn a_misspelled_option_exits_2_pointing_at_the_command_help() {
    let server = MockServer::start();
    let anything = any_request(&server);

    let (code, out, err) = tool(&server, "rotate deploy --dryrun");
    let (top_code, _, top_err) = tool(&server, "lst");

    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: rotate does not take --dryrun (did you mean --dry-run?); see 'magicbell-jwt rotate --help'\n"
    );
    assert_eq!(top_code, 2);
    assert_eq!(
        top_err,
        "error: unknown command \"lst\" (did you mean list?); see 'magicbell-jwt --help'\n"
    );
    anything.assert_calls(0);
}

#[test]
fn a_command_three_edits_away_gets_no_suggestion() {
    let server = MockServer::start();
    let anything = any_request(&server);

    // Three letters to delete, at the start, where the first edit is
    // counted like any other.
    let (code, out, err) = tool(&server, "xyzlist");
    let (near_code, _, near_err) = tool(&server, "yzlist");

    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: unknown command \"xyzlist\"; see 'magicbell-jwt --help'\n"
    );
    assert_eq!(near_code, 2);
    assert_eq!(
        near_err,
        "error: unknown command \"yzlist\" (did you mean list?); see 'magicbell-jwt --help'\n"
    );
    anything.assert_calls(0);
}

#[test]
fn the_overview_puts_jobs_apart_and_a_long_synopsis_on_its_own_line() {
    let server = MockServer::start();
    let anything = any_request(&server);

    let (code, out, err) = tool(&server, "--help");

    assert_eq!((code, err.as_str()), (0, ""));
    let has = |lines: &str| assert!(out.contains(lines), "{lines:?} not in:\n{out}");
    assert!(out.starts_with(
        "magicbell-jwt: list, create and revoke MagicBell JWTs\n\nUSAGE:\n    \
         magicbell-jwt <COMMAND> [ARGS] [OPTIONS]\n    \
         magicbell-jwt <COMMAND> --help    one command's usage (also: magicbell-jwt help <COMMAND>)\n\n"
    ));
    // A synopsis that fits goes beside what the command does, aligned.
    has("\nCOMMANDS:\n    list [--limit N] [--all]                 project tokens: one page, or every page with --all\n");
    has("\n    user-list USER_ID [--limit N] [--all]    a user's tokens\n");
    // A longer one gets a line of its own, what it does under it.
    has("\n    user-create (--email E | --external-id X) [--name N] [--expiry SECS]\n                                             create a user token (its value is shown once)\n    user-discard TOKEN_ID ");
    // A synopsis longer than a line goes on under the name, by whole
    // arguments.
    has("\n    prune (--expired | --older-than DAYS) [--name NAME] [--parallel N]\n          [--dry-run] [--plan FILE]\n                                             revoke live");
    // The jobs, then the fake, apart.
    has("\n\nJOBS (each revokes only tokens not revoked yet; --dry-run sends no POST or DELETE):\n    rotate NAME [--expiry SECS] [--parallel N] [--dry-run]\n                                             create a project token NAME, then revoke\n                                             every other live project token named NAME\n    prune ");
    has("\n    user-revoke-all (USER_ID... | -) [--parallel N] [--dry-run] [--plan FILE]\n                                             revoke every live token of each user;\n                                             '-' reads the USER_IDs from stdin, one a line\n    apply FILE [--parallel N] [--dry-run] [--assume-gone]\n                                             revoke the tokens of a plan (--plan FILE);\n                                             run again, it goes on where it stopped\n\nFAKE SERVICE (needs no MAGICBELL_TOKEN):\n    fake [--port N] [--latency-ms N] [--env-file PATH] [--frozen-clock]\n         [--rate-limit N/DURATION] [--rate-limit-headers] [--fault RULE]...\n         [--request-log-limit N]\n                                             serve an in-memory MagicBell JWT service on\n                                             127.0.0.1 until killed, for scripts and tests\n\nOPTIONS:\n");
    has("\n    -V, --version   the tool's version\n");
    has("\n    An option's value goes after a space or an '=': --limit 5, --limit=5\n\nEXIT STATUS:\n");
    assert!(out.ends_with(
        "\nENVIRONMENT:\n    MAGICBELL_TOKEN      the project token to authenticate with (required)\n    \
         MAGICBELL_BASE_URL   the API's base URL (default https://api.magicbell.com/v2):\n                         \
         https, or http to a loopback host only\n"
    ));
    anything.assert_calls(0);
}

#[test]
fn a_missing_magicbell_token_exits_2_with_the_way_out() {
    let server = MockServer::start();
    let anything = any_request(&server);
    let base_url = server.url("/v2");

    let unset = tool_with(&[("MAGICBELL_BASE_URL", &base_url)], "prune --expired");
    let blank = tool_with(
        &[("MAGICBELL_TOKEN", "  "), ("MAGICBELL_BASE_URL", &base_url)],
        "list",
    );
    let (json_code, json_out, _) = tool_with(&[("MAGICBELL_BASE_URL", &base_url)], "list --json");

    // The fake comes with the tool, named as invoked.
    let way_out = "\
MAGICBELL_TOKEN is not set. Set it to a MagicBell project token allowed to
manage tokens:
    export MAGICBELL_TOKEN=...
To try the tool without one, run its fake MagicBell and export the two
variables it prints:
    magicbell-jwt fake > fake.env &
    export $(cat fake.env)
";
    assert_eq!(unset, (2, String::new(), way_out.to_owned()));
    assert_eq!(blank, unset);
    // The command line was understood, so --json gets its document,
    // unlike a refused command line, where --json may not have been
    // read yet (`tokens lst --json`).
    assert_eq!(json_code, 2);
    assert_eq!(
        document(&json_out),
        json!({"error": "MAGICBELL_TOKEN is not set"})
    );
    anything.assert_calls(0);
}

#[test]
fn a_refused_connection_names_the_address_and_where_it_came_from() {
    let vars = [
        ("MAGICBELL_TOKEN", "sk-test"),
        ("MAGICBELL_BASE_URL", "http://127.0.0.1:9/v2"),
    ];

    let (code, out, err) = tool_with(&vars, "discard tok_1");
    let (json_code, json_out, _) = tool_with(&vars, "discard tok_1 --json");

    let message = "could not connect to 127.0.0.1:9 (MAGICBELL_BASE_URL): connection refused";
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", format!("error: {message}\n").as_str())
    );
    assert_eq!(json_code, 1);
    assert_eq!(document(&json_out), json!({ "error": message }));
}

#[test]
fn a_refused_connection_tried_again_says_how_many_attempts_it_took() {
    let env = |name: &str| match name {
        "MAGICBELL_TOKEN" => Some("sk-test".to_owned()),
        "MAGICBELL_BASE_URL" => Some("http://127.0.0.1:9/v2".to_owned()),
        _ => None,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let host = Host {
        input: &mut io::empty(),
        out: &mut out,
        err: &mut err,
        progress_after: None,
        now: SystemTime::now(),
        out_is_null: false,
    };
    let tune = |b: ClientBuilder| b.max_retries(2).retry_delay(Duration::ZERO).no_proxy();

    let code = cli(argv("discard tok_1"), &env, tune, host);

    assert_eq!(
        (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap()),
        (
            1,
            String::new(),
            "error: could not connect to 127.0.0.1:9 (MAGICBELL_BASE_URL): connection refused (after 3 attempts)\n"
                .to_owned()
        )
    );
}

#[test]
#[cfg(test_servers)] // a server that dies part-way, from the repository's test-support
fn a_refused_connection_after_an_attempt_that_was_cut_says_it_may_have_acted() {
    // The first attempt is cut unanswered; the retries find the port closed.
    let (port, server) = magicbell_jwt_test_support::dies_after(0, Duration::ZERO, |_| {
        unreachable!("nothing is answered")
    });
    let base_url = format!("http://127.0.0.1:{port}/v2");
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
        progress_after: None,
        now: SystemTime::now(),
        out_is_null: false,
    };
    let tune = |b: ClientBuilder| b.max_retries(2).retry_delay(Duration::ZERO).no_proxy();

    let code = cli(argv("discard tok_1"), &env, tune, host);

    assert_eq!(
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap()
        ),
        (
            1,
            String::new(),
            format!(
                "error: could not connect to 127.0.0.1:{port} (MAGICBELL_BASE_URL): connection \
                 refused (after 3 attempts; an earlier attempt may have been processed)\n"
            )
        )
    );
    assert_eq!(server.join().unwrap(), 0);
}

#[test]
fn behind_a_proxy_the_library_message_and_its_causes_stay() {
    // The proxy refuses: the library's message names it, not the API.
    let env = |name: &str| match name {
        "MAGICBELL_TOKEN" => Some("sk-test".to_owned()),
        "MAGICBELL_BASE_URL" => Some("http://127.0.0.1:9/v2".to_owned()),
        _ => None,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let host = Host {
        input: &mut io::empty(),
        out: &mut out,
        err: &mut err,
        progress_after: None,
        now: SystemTime::now(),
        out_is_null: false,
    };
    let tune = |b: ClientBuilder| b.max_retries(0).proxy("http://127.0.0.1:9");

    let code = cli(argv("discard tok_1"), &env, tune, host);

    let err = String::from_utf8(err).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!((code, out.as_slice()), (1, &b""[..]));
    assert_eq!(
        lines[0],
        "error: no usable answer from the server: could not connect to the proxy \
         http://127.0.0.1:9: connection refused"
    );
    assert!(lines[1].starts_with("  caused by: io: "), "{err}");
}

/// Set in the process `main_runs_the_command_line_the_process_got`
/// starts: there that test runs `main` and exits with its status.
const RUN_MAIN: &str = "MAGICBELL_JWT_TEST_RUN_MAIN";

#[test]
fn main_runs_the_command_line_the_process_got() {
    if std::env::var_os(RUN_MAIN).is_some() {
        // An ExitCode has no accessor (nor, at this crate's MSRV,
        // PartialEq); its Debug text tells the codes apart.
        let code = format!("{:?}", main());
        let status = (0..=u8::MAX).find(|&n| format!("{:?}", ExitCode::from(n)) == code);
        std::process::exit(status.map_or(-1, i32::from));
    }
    // This test binary again, running only this test: `main` there gets
    // the test's name as its first argument, an unknown command, so it
    // reads nothing else and sends nothing.
    let exe = std::env::current_exe().unwrap();
    let name = "tests::commands::main_runs_the_command_line_the_process_got";
    let child = std::process::Command::new(&exe)
        .args([name, "--exact", "--test-threads=1"])
        .env(RUN_MAIN, "1")
        .env_remove("MAGICBELL_TOKEN")
        .env_remove("MAGICBELL_BASE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();

    let prog = exe.file_name().unwrap().to_string_lossy();
    assert_eq!(
        (
            child.status.code(),
            String::from_utf8(child.stderr).unwrap()
        ),
        (
            Some(2),
            format!("error: unknown command {name:?}; see '{prog} --help'\n")
        )
    );
}

#[test]
fn version_no_arguments_and_refused_input() {
    let server = MockServer::start();
    let anything = any_request(&server);

    assert_eq!(
        tool(&server, "--version"),
        (
            0,
            format!("magicbell-jwt {}\n", env!("CARGO_PKG_VERSION")),
            String::new()
        )
    );
    let (code, out, err) = tool(&server, "");
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("magicbell-jwt: list, create and revoke"),
        "{err}"
    );
    let (code, _, err) = tool(&server, "list --limit 0");
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: invalid input: limit is 0; the API needs at least 1\n"
    );
    let (code, _, _) = tool(&server, "discard ..");
    assert_eq!(code, 2);
    anything.assert_calls(0);
}

/// The ids in a `{"data": [...]}` document.
#[track_caller]
fn ids(doc: &serde_json::Value) -> Vec<&str> {
    let data = doc["data"].as_array().unwrap();
    data.iter().map(|t| t["id"].as_str().unwrap()).collect()
}

fn serve_two_pages_the_second_failing(server: &MockServer) {
    server.mock(|when, then| {
        when.method(GET)
            .path("/v2/jwt/project")
            .query_param_missing("starting_after");
        then.status(200).json_body(
            json!({"data": [token("a")], "links": {"next": "https://x/?starting_after=a"}}),
        );
    });
    server.mock(|when, then| {
        when.method(GET)
            .path("/v2/jwt/project")
            .query_param("starting_after", "a");
        then.status(500)
            .json_body(json!({"errors": [{"code": "internal", "message": "boom"}]}));
    });
}

#[test]
fn list_all_prints_each_page_as_it_arrives_and_keeps_it_on_a_later_failure() {
    let server = MockServer::start();
    serve_two_pages_the_second_failing(&server);

    let (code, out, err) = tool(&server, "list --all");

    assert_eq!(code, 1);
    assert_eq!(out, "ID  NAME  CREATED_AT            EXPIRES_AT  DISCARDED_AT\na   n a   2026-01-01T00:00:00Z  -           -\n");
    assert_eq!(err, format!("error: {BOOM}\n"));
}

#[test]
fn list_all_json_failing_on_page_2_is_one_document_with_page_1_and_the_error() {
    let server = MockServer::start();
    serve_two_pages_the_second_failing(&server);

    let (code, out, err) = tool(&server, "list --all --json");

    assert_eq!(code, 1);
    let doc = document(&out);
    assert_eq!(ids(&doc), ["a"]);
    assert_eq!(doc["error"], BOOM);
    assert_eq!(doc.as_object().unwrap().len(), 2, "{out}");
    assert_eq!(err, format!("error: {BOOM}\n"));
}

#[test]
fn list_all_json_whose_page_and_then_stdout_fail_names_both_on_stderr() {
    let fake = FakeServer::start().unwrap();
    seed(&fake, "ci", None);
    let seeding = fake.requests().len();
    fake.inject(1, FakeFault::Status(500));
    // `{"data":[` is taken; the document's close, with the error, is not.
    let mut out = Closing::after(1);

    let (code, err) = on_fake_into(&fake, "list --all --json", &mut out);

    assert_eq!(code, 1);
    assert_eq!(out.text(), "{\"data\":[");
    assert_eq!(err, format!("error: {FAKE_500}\n{}", broken_pipe()));
    let methods: Vec<String> = sent(&fake, seeding).into_iter().map(|(m, _)| m).collect();
    assert_eq!(methods, ["GET"]);
}

#[test]
fn list_all_json_prints_every_token_across_pages() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/project").query_param_missing("starting_after");
        then.status(200).json_body(json!({"data": [token("a"), token("b")], "links": {"next": "https://x/?starting_after=b"}}));
    });
    server.mock(|when, then| {
        when.method(GET)
            .path("/v2/jwt/project")
            .query_param("starting_after", "b");
        then.status(200)
            .json_body(json!({"data": [token("c")], "links": {"next": null}}));
    });

    let (code, out, _) = tool(&server, "list --all --json");

    assert_eq!(code, 0);
    assert_eq!(ids(&document(&out)), ["a", "b", "c"]);
}

#[test]
fn list_json_of_one_page_keeps_its_links() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/project");
        then.status(200).json_body(
            json!({"data": [token("a")], "links": {"next": "https://x/?starting_after=a"}}),
        );
    });

    let (code, out, _) = tool(&server, "list --json");

    assert_eq!(code, 0);
    let doc = document(&out);
    assert_eq!(doc["links"]["next"], "https://x/?starting_after=a");
    assert_eq!(doc["data"][0]["id"], "a");
}

#[test]
fn list_json_that_fails_is_one_document_with_the_error() {
    let server = MockServer::start();
    serve_boom(&server, GET, "/v2/jwt/project");

    let (code, out, err) = tool(&server, "list --json");

    assert_eq!(code, 1);
    assert_eq!(document(&out), json!({ "error": BOOM }));
    assert_eq!(err, format!("error: {BOOM}\n"));
}

#[test]
fn list_prints_an_aligned_table_and_hints_at_more_pages() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/user/u1").query_param("limit", "2");
        then.status(200).json_body(json!({"data": [token("a"), token("bbbb")], "links": {"next": "https://x/?starting_after=bbbb"}}));
    });

    let (code, out, _) = tool(&server, "user-list u1 --limit 2");

    assert_eq!(code, 0);
    assert_eq!(
        out,
        "ID    NAME    CREATED_AT            EXPIRES_AT  DISCARDED_AT\n\
             a     n a     2026-01-01T00:00:00Z  -           -\n\
             bbbb  n bbbb  2026-01-01T00:00:00Z  -           -\n\
             (more pages: add --all to list every token)\n"
    );
}

#[test]
fn create_prints_the_new_token_on_stdout_only() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST)
            .path("/v2/jwt/user")
            .json_body(json!({"email": "a@b.c"}));
        then.status(201).json_body(
            json!({"token": "jwt-value", "token_id": "ut_1", "created_at": "2026-01-01T00:00:00Z"}),
        );
    });

    let (code, out, err) = tool(&server, "user-create --email a@b.c");
    let (json_code, json_out, json_err) = tool(&server, "user-create --email=a@b.c --json");

    assert_eq!(code, 0);
    assert_eq!(
        out,
        "TOKEN_ID    ut_1\nCREATED_AT  2026-01-01T00:00:00Z\nEXPIRES_AT  -\nTOKEN       jwt-value\n"
    );
    assert_eq!(err, STORE_IT);
    assert_eq!((json_code, json_err.as_str()), (0, ""));
    let created = document(&json_out);
    assert_eq!(created["token"], "jwt-value");
    assert_eq!(created["token_id"], "ut_1");
}

#[test]
fn discard_prints_its_answer() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(DELETE).path("/v2/jwt/project/tok_1");
        then.status(200)
            .json_body(json!({"token_id": "tok_1", "discarded_at": "2026-01-02T00:00:00Z"}));
    });

    let (code, out, _) = tool(&server, "discard tok_1");

    assert_eq!(
        (code, out.as_str()),
        (0, "revoked tok_1 at 2026-01-02T00:00:00Z\n")
    );
}

#[test]
fn a_server_error_comes_back_as_one_readable_error() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(DELETE).path("/v2/jwt/user/nope");
        then.status(404)
            .json_body(json!({"errors": [{"code": "not_found", "message": "token not found"}]}));
    });

    let (code, out, err) = tool(&server, "user-discard nope");

    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "",
            "error: server answered 404 Not Found: not_found: token not found\n"
        )
    );
}
