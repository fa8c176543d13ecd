//! The command line: each command parsed and checked, each refusal's reason, the usage generated from the option table.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use magicbell_jwt::{CreateProjectTokenRequest, CreateUserTokenRequest};

use super::argv;
use crate::fake::FakeOptions;
use crate::flags::{Sets, COMMANDS, DEFAULT_PARALLEL, MAX_PARALLEL, PARALLEL};
use crate::hiargs::{check_user_id, resolve, Checked, Command, Kind, PruneRule, PROJECT, USER};
use crate::lowargs::Parsed;
use crate::parse::{parse, program_name};
use crate::usage::{command_usage, usage};
use crate::{cli, Host};

#[track_caller]
fn parsed(line: &str) -> Parsed {
    parse(argv(line)).unwrap()
}

/// `line` parsed and checked, `stdin` its input.
fn checked(line: &str, stdin: &str) -> Result<Checked, String> {
    match parse(argv(line)).map_err(|e| e.message)? {
        Parsed::Run(args) => resolve(*args, &mut stdin.as_bytes()).map_err(|e| e.message),
        other => panic!("{line:?} parsed as {other:?}"),
    }
}

#[track_caller]
fn command_reading(line: &str, stdin: &str) -> Command {
    match checked(line, stdin) {
        Ok(Checked::Run(invocation)) => invocation.command,
        other => panic!("{line:?} checked as {other:?}"),
    }
}

#[track_caller]
fn command(line: &str) -> Command {
    command_reading(line, "")
}

#[track_caller]
fn refused(line: &str) -> String {
    checked(line, "").unwrap_err()
}

#[track_caller]
fn fake_options(line: &str) -> FakeOptions {
    match checked(&format!("fake {line}"), "") {
        Ok(Checked::Fake(options)) => options,
        other => panic!("{line:?} checked as {other:?}"),
    }
}

#[track_caller]
fn refused_fake(line: &str) -> String {
    refused(&format!("fake {line}"))
}

#[test]
fn parses_every_command() {
    assert_eq!(
        command("list"),
        Command::List {
            whose: Kind::Project(()),
            limit: None,
            all: false
        }
    );
    assert_eq!(
        command("list --limit 5 --all"),
        Command::List {
            whose: Kind::Project(()),
            limit: Some(5),
            all: true
        }
    );
    assert_eq!(
        command("create ci --expiry 60"),
        Command::Create(Kind::Project(
            CreateProjectTokenRequest::new("ci").expiry(60)
        ))
    );
    assert_eq!(
        command("discard tok_1"),
        Command::Discard {
            kind: PROJECT,
            token_id: "tok_1".into()
        }
    );
    assert_eq!(
        command("user-list u1 --all"),
        Command::List {
            whose: Kind::User("u1".into()),
            limit: None,
            all: true
        }
    );
    assert_eq!(
        command("user-create --email a@b.c --name inbox --expiry 9"),
        Command::Create(Kind::User(
            CreateUserTokenRequest::for_email("a@b.c")
                .name("inbox")
                .expiry(9)
        ))
    );
    assert_eq!(
        command("user-create --external-id u-1"),
        Command::Create(Kind::User(CreateUserTokenRequest::for_external_id("u-1")))
    );
    assert_eq!(
        command("user-discard ut_1"),
        Command::Discard {
            kind: USER,
            token_id: "ut_1".into()
        }
    );
    assert_eq!(
        command("rotate deploy --expiry 60 --dry-run"),
        Command::Rotate {
            name: "deploy".into(),
            expiry: Some(60),
            dry_run: true,
            parallel: 8
        }
    );
    assert_eq!(
        command("prune --older-than 30 --name ci --parallel 1"),
        Command::Prune {
            rule: PruneRule::OlderThanDays(30),
            name: Some("ci".into()),
            dry_run: false,
            parallel: 1,
            plan: None
        }
    );
    assert_eq!(
        command("user-revoke-all u1"),
        Command::UserRevokeAll {
            users: vec!["u1".into()],
            dry_run: false,
            parallel: 8,
            plan: None
        }
    );
}

#[test]
fn plan_takes_a_file_and_notes_what_decided_the_plan_and_apply_takes_a_plan() {
    let plan = |file: &str, arguments: &[&str]| {
        Some(crate::hiargs::PlanTo {
            file: file.into(),
            arguments: arguments.iter().map(|a| a.to_string()).collect(),
        })
    };
    assert_eq!(
        command("prune --older-than 30 --name ci --plan p.jsonl --parallel 2"),
        Command::Prune {
            rule: PruneRule::OlderThanDays(30),
            name: Some("ci".into()),
            dry_run: false,
            parallel: 2,
            plan: plan("p.jsonl", &["--older-than", "30", "--name", "ci"]),
        }
    );
    assert_eq!(
        command_reading("user-revoke-all - --plan=p", "u9\nu8\n"),
        Command::UserRevokeAll {
            users: vec!["u9".into(), "u8".into()],
            dry_run: false,
            parallel: 8,
            plan: plan("p", &["-"]),
        }
    );
    assert_eq!(
        command("apply p.jsonl --parallel 3 --dry-run"),
        Command::Apply {
            file: "p.jsonl".into(),
            dry_run: true,
            parallel: 3,
            assume_gone: false,
        }
    );
}

#[test]
fn an_option_value_follows_a_space_or_an_equals_sign() {
    assert_eq!(command("list --limit=5"), command("list --limit 5"));
    assert_eq!(
        command("user-create --email=a=b@c.d"),
        Command::Create(Kind::User(CreateUserTokenRequest::for_email("a=b@c.d")))
    );
}

#[test]
fn double_dash_ends_options() {
    assert_eq!(
        command("discard -- -x"),
        Command::Discard {
            kind: PROJECT,
            token_id: "-x".into()
        }
    );
    assert_eq!(
        command("user-discard --json -- --help"),
        Command::Discard {
            kind: USER,
            token_id: "--help".into()
        }
    );
    // As the messages suggest `user-list` with a user id that might.
    assert_eq!(
        command("user-list -- -o"),
        Command::List {
            whose: Kind::User("-o".into()),
            limit: None,
            all: false
        }
    );
}

#[test]
fn help_is_a_command_only_where_a_command_goes() {
    assert_eq!(parsed("help"), Parsed::Help(None));
    assert_eq!(parsed("-h"), Parsed::Help(None));
    assert_eq!(parsed("--json --help"), Parsed::Help(None));
    assert_eq!(parsed("help rotate"), Parsed::Help(Some("rotate")));
    assert_eq!(parsed("rotate --help"), Parsed::Help(Some("rotate")));
    assert_eq!(parsed("create x -h"), Parsed::Help(Some("create")));
    assert_eq!(
        command("discard help"),
        Command::Discard {
            kind: PROJECT,
            token_id: "help".into()
        }
    );
    assert_eq!(
        command("rotate help"),
        Command::Rotate {
            name: "help".into(),
            expiry: None,
            dry_run: false,
            parallel: 8
        }
    );
    assert_eq!(parsed(""), Parsed::Nothing);
    assert_eq!(parsed("--version"), Parsed::Version);
}

#[test]
fn json_is_recognised_before_or_after_the_command() {
    for line in ["list --json", "--json list", "list --all --json"] {
        let Ok(Checked::Run(invocation)) = checked(line, "") else {
            panic!("{line:?}")
        };
        assert!(invocation.json, "{line:?}");
    }
}

#[test]
fn refuses_bad_arguments_with_a_reason() {
    assert_eq!(refused("frobnicate"), "unknown command \"frobnicate\"");
    assert_eq!(
        refused("rotat x"),
        "unknown command \"rotat\" (did you mean rotate?)"
    );
    assert_eq!(refused("help nope"), "unknown command \"nope\"");
    assert_eq!(refused("--verbose list"), "unknown option --verbose");
    assert_eq!(refused("list --limit"), "--limit needs a value");
    assert_eq!(
        refused("list --limit ten"),
        "--limit takes a whole number, not \"ten\""
    );
    assert_eq!(
        refused("list --limit 99999999999"),
        "--limit 99999999999 is too large"
    );
    assert_eq!(refused("list --all=yes"), "--all takes no value");
    assert_eq!(refused("list --verbose"), "list does not take --verbose");
    assert_eq!(refused("list -v"), "list does not take -v");
    assert_eq!(
        refused("rotate x --dryrun"),
        "rotate does not take --dryrun (did you mean --dry-run?)"
    );
    assert_eq!(refused("list extra"), "unexpected argument \"extra\"");
    assert_eq!(refused("create"), "create needs a NAME");
    assert_eq!(refused("create a b"), "unexpected argument \"b\"");
    assert_eq!(
        refused("create x --limit 3"),
        "create does not take --limit"
    );
    assert_eq!(refused("discard t --all"), "discard does not take --all");
    assert_eq!(refused("user-list"), "user-list needs a USER_ID");
    assert_eq!(
        refused("user-create --name n"),
        "user-create needs --email or --external-id"
    );
    assert_eq!(
        refused("user-create --email a --email b"),
        "--email is given twice"
    );
    assert_eq!(
        refused("prune --expired --older-than 3"),
        "prune takes --expired or --older-than, not both"
    );
}

#[test]
fn user_revoke_all_takes_several_users_each_once_or_a_dash() {
    assert_eq!(
        command("user-revoke-all u2 u1 u2 --parallel 3"),
        Command::UserRevokeAll {
            users: vec!["u2".into(), "u1".into()],
            dry_run: false,
            parallel: 3,
            plan: None
        }
    );
    assert_eq!(
        command_reading("user-revoke-all - --dry-run", "u9\n\n  u8 \nu9\n"),
        Command::UserRevokeAll {
            users: vec!["u9".into(), "u8".into()],
            dry_run: true,
            parallel: 8,
            plan: None
        }
    );
}

#[test]
fn refuses_a_parallel_outside_1_to_64_and_bad_user_ids() {
    assert_eq!(
        refused("rotate x --parallel 0"),
        "--parallel takes 1 to 64, not 0"
    );
    assert_eq!(
        refused("prune --older-than 0"),
        "--older-than takes 1 or more days, not 0, which would revoke every live token, the one this tool runs with too"
    );
    assert_eq!(
        refused("prune --expired --parallel 65"),
        "--parallel takes 1 to 64, not 65"
    );
    assert_eq!(
        refused("user-revoke-all --parallel x u1"),
        "--parallel takes a whole number, not \"x\""
    );
    assert_eq!(
        refused("list --parallel 2"),
        "list does not take --parallel"
    );
    assert_eq!(
        refused("user-revoke-all"),
        "user-revoke-all needs a USER_ID, or '-' to read them from stdin"
    );
    assert_eq!(
        refused("user-revoke-all u1 - u2"),
        "'-' reads the USER_IDs from stdin, so it goes alone"
    );
    assert_eq!(
        refused("user-revoke-all u1 .."),
        "USER_ID \"..\" cannot be sent: in a URL path it names another resource"
    );
    assert_eq!(check_user_id(""), Err("a USER_ID is empty".to_owned()));
}

#[test]
fn the_program_is_named_as_invoked() {
    let name = |path: &str| program_name(Some(&OsString::from(path)));
    assert_eq!(name("target/debug/examples/tokens"), "tokens");
    assert_eq!(name("/usr/local/bin/mb-tokens"), "mb-tokens");
    assert_eq!(program_name(None), "magicbell-jwt");

    let mut args = argv("rotate --help");
    args[0] = "/opt/bin/mb-tokens".into();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let host = Host {
        input: &mut io::empty(),
        out: &mut out,
        err: &mut err,
        progress_after: None,
        now: SystemTime::now(),
        out_is_null: false,
    };
    let code = cli(args, &|_| None, |b| b, host);

    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 0);
    assert!(
        out.starts_with("mb-tokens rotate: create a project token NAME"),
        "{out}"
    );
    assert!(
        out.contains(
            "\n    mb-tokens rotate NAME [--expiry SECS] [--parallel N] [--dry-run] [--json]\n"
        ),
        "{out}"
    );
    assert!(!out.contains("cargo run"), "{out}");
}
#[test]
fn port_and_latency_default_to_zero() {
    let options = fake_options("");
    assert_eq!((options.port, options.latency), (0, Duration::ZERO));
    assert_eq!(options.env_file, None);
    assert!(!options.frozen_clock);
}

#[test]
fn frozen_clock_is_a_flag() {
    assert!(fake_options("--frozen-clock").frozen_clock);
    assert!(fake_options("--port 0 --frozen-clock --latency-ms 1").frozen_clock);
    assert_eq!(
        refused_fake("--frozen-clock=yes"),
        "--frozen-clock takes no value"
    );
}

#[test]
fn port_and_latency_are_read_in_either_form() {
    let options = fake_options("--port 8080 --latency-ms=25");
    assert_eq!(
        (options.port, options.latency),
        (8080, Duration::from_millis(25))
    );
}

#[test]
fn env_file_takes_a_path_in_either_form() {
    let options = fake_options("--env-file fake.env");
    assert_eq!(options.env_file, Some(PathBuf::from("fake.env")));
    let options = fake_options("--env-file=/tmp/x.env");
    assert_eq!(options.env_file, Some(PathBuf::from("/tmp/x.env")));
    assert_eq!(refused_fake("--env-file"), "--env-file needs a value");
    assert_eq!(refused_fake("--env-file="), "--env-file needs a path");
}

#[test]
fn bad_arguments_say_what_was_wrong() {
    assert_eq!(refused_fake("--port"), "--port needs a value");
    assert_eq!(
        refused_fake("--port 70000"),
        "--port takes a number from 0 to 65535, not \"70000\""
    );
    assert_eq!(
        refused_fake("--latency-ms soon"),
        "--latency-ms takes a whole number, not \"soon\""
    );
    assert_eq!(refused_fake("serve"), "unexpected argument \"serve\"");
    assert_eq!(refused_fake("--port 1 --port 2"), "--port is given twice");
    assert_eq!(
        refused_fake("--prot 1"),
        "fake does not take --prot (did you mean --port?)"
    );
    // No JSON document to give: --json is refused, before or after.
    assert_eq!(refused_fake("--json"), "fake does not take --json");
    assert_eq!(refused("--json fake"), "fake does not take --json");
    assert_eq!(parse(argv("fake --help")), Ok(Parsed::Help(Some("fake"))));
    assert_eq!(parse(argv("help fake")), Ok(Parsed::Help(Some("fake"))));
}

#[test]
fn every_option_in_a_command_usage_is_accepted() {
    for def in COMMANDS {
        for flag in def.flags() {
            let value = match flag.sets {
                Sets::Switch(_) => "",
                Sets::Value(..) | Sets::Values(..) => " 1",
            };
            let line = format!("{} {}{value}", def.name, flag.name);
            if let Err(e) = parse(argv(&line)) {
                panic!("{line:?} refused: {}", e.message);
            }
            let usage = command_usage(def, "magicbell-jwt");
            assert!(
                usage.contains(&format!("\n    {} ", flag.usage())),
                "{usage}"
            );
        }
        assert!(usage("magicbell-jwt").contains(&format!("    {} ", def.name)));
    }
}

#[test]
fn the_parallel_help_names_its_range_and_default() {
    assert!(PARALLEL
        .help
        .contains(&format!("1 to {MAX_PARALLEL} (default {DEFAULT_PARALLEL})")));
}

/// The manual's synopsis of each command: the lines of its first `sh`
/// block that run the program, `--help` aside.
fn readme_synopses() -> Vec<&'static str> {
    let readme = include_str!("../../README.md");
    let block = readme.split("```sh\n").nth(2).unwrap_or_default();
    let block = block.split("```").next().unwrap_or_default();
    block
        .lines()
        .filter(|line| line.starts_with("magicbell-jwt ") && !line.contains("--help"))
        .collect()
}

#[test]
fn every_command_and_option_of_the_readme_synopsis_is_in_the_usage() {
    let synopses = readme_synopses();
    assert_eq!(synopses.len(), COMMANDS.len(), "{synopses:?}");
    let overview = usage("magicbell-jwt");
    for line in synopses {
        let name = line.split(' ').nth(1).unwrap_or_default();
        assert!(
            overview.contains(&format!("\n    {name} ")),
            "{name}: {overview}"
        );
        let Parsed::Help(Some(_)) = parsed(&format!("{name} --help")) else {
            panic!("{name} has no usage of its own")
        };
        let def = COMMANDS.iter().find(|def| def.name == name).unwrap();
        let help = command_usage(def, "magicbell-jwt");
        // The manual's line is the usage's, whole, `[--json]` aside.
        assert!(help.contains(&format!("\n    {line}")), "{line:?}: {help}");
        for option in line.split([' ', '[', ']', '(', ')', '|']) {
            if option.starts_with("--") {
                assert!(
                    help.contains(&format!("\n    {option} ")),
                    "{option}: {help}"
                );
            }
        }
    }
}
