//! The command line: what it asks for, or why it is refused.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::BufRead;

use magicbell_jwt::{CreateProjectTokenRequest, CreateUserTokenRequest};

use crate::fake::{self, FakeOptions};
use crate::usage::{Spec, DEFAULT_PARALLEL, MAX_PARALLEL};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    List {
        user_id: Option<String>,
        limit: Option<u32>,
        all: bool,
    },
    Create(CreateProjectTokenRequest),
    CreateUser(CreateUserTokenRequest),
    Discard {
        user: bool,
        token_id: String,
    },
    Rotate {
        name: String,
        expiry: Option<u64>,
        dry_run: bool,
        parallel: usize,
    },
    Prune {
        rule: PruneRule,
        name: Option<String>,
        dry_run: bool,
        parallel: usize,
    },
    UserRevokeAll {
        users: Users,
        dry_run: bool,
        parallel: usize,
    },
}

/// Whose tokens `user-revoke-all` revokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Users {
    /// These, each once, in the order given.
    Given(Vec<String>),
    /// `-`: one a line on stdin, read once the command line is accepted.
    Stdin,
}

/// Which project tokens `prune` revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PruneRule {
    Expired,
    OlderThanDays(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invocation {
    pub(crate) command: Command,
    pub(crate) json: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Run(Invocation),
    /// The overview (`None`) or one command's usage.
    Help(Option<&'static str>),
    Version,
    /// No command at all.
    Nothing,
    /// `fake`: serve the fake service.
    Fake(FakeOptions),
}

/// A refused command line: what was wrong, and the command whose `--help`
/// to point at.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ArgError {
    pub(crate) message: String,
    pub(crate) command: Option<&'static str>,
}

impl ArgError {
    pub(crate) fn new(message: impl Into<String>, command: Option<&'static str>) -> Self {
        ArgError {
            message: message.into(),
            command,
        }
    }
}

/// `args` as the process got them, the program's own name first.
pub(crate) fn parse(args: Vec<OsString>) -> Result<Parsed, ArgError> {
    use lexopt::Arg::{Long, Short, Value};

    let mut parser = lexopt::Parser::from_iter(args);
    let mut json = false;
    let at_top = |e: lexopt::Error| ArgError::new(lexopt_message(e), None);
    let spec = loop {
        match parser.next().map_err(at_top)? {
            None => return Ok(Parsed::Nothing),
            Some(Long("json")) => json = true,
            Some(Long("help") | Short('h')) => return Ok(Parsed::Help(None)),
            Some(Long("version") | Short('V')) => return Ok(Parsed::Version),
            Some(Value(word)) => {
                let word = lexopt::ValueExt::string(word).map_err(at_top)?;
                if word == "help" {
                    return help_topic(&mut parser);
                }
                break command_named(&word)?;
            }
            Some(Long(option)) => {
                let option = format!("--{option}");
                let known = ["--json", "--help", "--version"];
                return Err(unknown_option(&option, known.into_iter(), None));
            }
            Some(Short(letter)) => {
                return Err(ArgError::new(format!("unknown option -{letter}"), None))
            }
        }
    };

    let here = Some(spec.name);
    let in_command = |e: lexopt::Error| ArgError::new(lexopt_message(e), here);
    let mut values: Vec<(&'static str, String)> = Vec::new();
    let mut flags: Vec<&'static str> = Vec::new();
    let mut positional: Vec<String> = Vec::new();
    while let Some(arg) = parser.next().map_err(in_command)? {
        match arg {
            Long("json") if spec.takes_json() => json = true,
            Long("help") | Short('h') => return Ok(Parsed::Help(here)),
            Long(name) => {
                let name = name.to_owned();
                match spec.option(&name) {
                    Some((flag, true)) => {
                        let value = parser.value().map_err(in_command)?;
                        let value = lexopt::ValueExt::string(value).map_err(in_command)?;
                        if values.iter().any(|(f, _)| *f == flag) {
                            return Err(ArgError::new(format!("{flag} is given twice"), here));
                        }
                        values.push((flag, value));
                    }
                    Some((flag, false)) => flags.push(flag),
                    None => {
                        return Err(unknown_option(
                            &format!("--{name}"),
                            spec.option_names(),
                            here,
                        ))
                    }
                }
            }
            Short(letter) => {
                return Err(ArgError::new(
                    format!("{} does not take -{letter}", spec.name),
                    here,
                ))
            }
            Value(word) => positional.push(lexopt::ValueExt::string(word).map_err(in_command)?),
        }
    }

    let refuse = |message: String| ArgError::new(message, here);
    let value = |flag: &str| {
        values
            .iter()
            .find(|(f, _)| *f == flag)
            .map(|(_, v)| v.clone())
    };
    let flag = |name: &str| flags.contains(&name);
    let number = |flag: &str| -> Result<Option<u64>, ArgError> {
        value(flag)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| refuse(format!("{flag} takes a whole number, not {v:?}")))
            })
            .transpose()
    };
    let argument = match (spec.positional, spec.many, positional.as_slice()) {
        (Some(_), true, [_, ..]) => String::new(),
        (Some(_), false, [one]) => one.clone(),
        (None, _, []) => String::new(),
        (Some(what), true, []) => {
            return Err(refuse(format!(
                "{} needs a {what}, or '-' to read them from stdin",
                spec.name
            )))
        }
        (Some(what), false, []) => return Err(refuse(format!("{} needs a {what}", spec.name))),
        (Some(_), false, [_, extra, ..]) | (None, _, [extra, ..]) => {
            return Err(refuse(format!("unexpected argument {extra:?}")))
        }
    };
    let limit = number("--limit")?
        .map(|n| u32::try_from(n).map_err(|_| refuse(format!("--limit {n} is too large"))))
        .transpose()?;
    let dry_run = flag("--dry-run");
    let parallel = match number("--parallel")? {
        None => DEFAULT_PARALLEL,
        Some(n @ 1..=MAX_PARALLEL) => n as usize,
        Some(n) => {
            return Err(refuse(format!(
                "--parallel takes 1 to {MAX_PARALLEL}, not {n}"
            )))
        }
    };

    let command = match spec.name {
        // `--json` before the command: after it, it is an unknown option.
        "fake" if json => return Err(refuse("fake does not take --json".to_owned())),
        "fake" => {
            let options = fake::options(
                value("--port"),
                value("--latency-ms"),
                value("--env-file"),
                flag("--frozen-clock"),
            );
            return options.map(Parsed::Fake).map_err(refuse);
        }
        "list" | "user-list" => Command::List {
            user_id: (spec.name == "user-list").then_some(argument),
            limit,
            all: flag("--all"),
        },
        "create" => {
            let request = CreateProjectTokenRequest::new(argument);
            Command::Create(match number("--expiry")? {
                Some(seconds) => request.expiry(seconds),
                None => request,
            })
        }
        "user-create" => {
            let mut request = match (value("--email"), value("--external-id")) {
                (Some(email), external_id) => {
                    let request = CreateUserTokenRequest::for_email(email);
                    match external_id {
                        Some(id) => request.external_id(id),
                        None => request,
                    }
                }
                (None, Some(id)) => CreateUserTokenRequest::for_external_id(id),
                (None, None) => {
                    return Err(refuse(
                        "user-create needs --email or --external-id".to_owned(),
                    ))
                }
            };
            if let Some(name) = value("--name") {
                request = request.name(name);
            }
            if let Some(seconds) = number("--expiry")? {
                request = request.expiry(seconds);
            }
            Command::CreateUser(request)
        }
        "discard" | "user-discard" => Command::Discard {
            user: spec.name == "user-discard",
            token_id: argument,
        },
        "rotate" => Command::Rotate {
            name: argument,
            expiry: number("--expiry")?,
            dry_run,
            parallel,
        },
        "prune" => {
            let rule = match (flag("--expired"), number("--older-than")?) {
                (true, None) => PruneRule::Expired,
                // Every token is older than 0 days, the one the tool runs
                // with too: more likely a typo than a wish.
                (false, Some(0)) => {
                    return Err(refuse(
                        "--older-than takes 1 or more days, not 0, which would revoke every live token, the one this tool runs with too".to_owned(),
                    ))
                }
                (false, Some(days)) => PruneRule::OlderThanDays(days),
                (true, Some(_)) => {
                    return Err(refuse(
                        "prune takes --expired or --older-than, not both".to_owned(),
                    ))
                }
                (false, None) => {
                    return Err(refuse(
                        "prune needs --expired or --older-than DAYS".to_owned(),
                    ))
                }
            };
            Command::Prune {
                rule,
                name: value("--name"),
                dry_run,
                parallel,
            }
        }
        _ => Command::UserRevokeAll {
            users: match positional.as_slice() {
                [dash] if dash == "-" => Users::Stdin,
                several if several.iter().any(|u| u == "-") => {
                    return Err(refuse(
                        "'-' reads the USER_IDs from stdin, so it goes alone".to_owned(),
                    ))
                }
                several => {
                    for user in several {
                        check_user_id(user).map_err(refuse)?;
                    }
                    Users::Given(each_once(several.to_vec()))
                }
            },
            dry_run,
            parallel,
        },
    };
    Ok(Parsed::Run(Invocation { command, json }))
}

/// Refuses a user id that no request path can carry, before anything is
/// sent: the library would refuse it too, but only once other users' lists
/// were walked.
fn check_user_id(user: &str) -> Result<(), String> {
    match user {
        "" => Err("a USER_ID is empty".to_owned()),
        "." | ".." => Err(format!(
            "USER_ID {user:?} cannot be sent: in a URL path it names another resource"
        )),
        _ => Ok(()),
    }
}

/// `items` in their order, each only the first time it comes.
fn each_once(items: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

/// The USER_IDs of `user-revoke-all -`: one a line, trimmed, blank lines
/// skipped, each once.
pub(crate) fn read_user_ids(input: &mut dyn BufRead) -> Result<Vec<String>, ArgError> {
    let here = Some("user-revoke-all");
    let mut users = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| {
            ArgError::new(format!("could not read the USER_IDs from stdin: {e}"), here)
        })?;
        let user = line.trim();
        if user.is_empty() {
            continue;
        }
        check_user_id(user)
            .map_err(|m| ArgError::new(format!("{m} (line {} of stdin)", number + 1), here))?;
        users.push(user.to_owned());
    }
    if users.is_empty() {
        return Err(ArgError::new("stdin held no USER_ID", here));
    }
    Ok(each_once(users))
}

/// `magicbell-jwt help [COMMAND]`.
fn help_topic(parser: &mut lexopt::Parser) -> Result<Parsed, ArgError> {
    let to_error = |e: lexopt::Error| ArgError::new(lexopt_message(e), None);
    let topic = match parser.next().map_err(to_error)? {
        None => return Ok(Parsed::Help(None)),
        Some(lexopt::Arg::Value(word)) => lexopt::ValueExt::string(word).map_err(to_error)?,
        Some(other) => return Err(to_error(other.unexpected())),
    };
    let spec = command_named(&topic)?;
    match parser.next().map_err(to_error)? {
        None => Ok(Parsed::Help(Some(spec.name))),
        Some(other) => Err(to_error(other.unexpected())),
    }
}

fn command_named(word: &str) -> Result<&'static Spec, ArgError> {
    Spec::find(word).ok_or_else(|| {
        let mut message = format!("unknown command {word:?}");
        if let Some(near) = nearest(word, Spec::all().map(|spec| spec.name)) {
            message.push_str(&format!(" (did you mean {near}?)"));
        }
        ArgError::new(message, None)
    })
}

fn unknown_option<'a>(
    option: &str,
    known: impl Iterator<Item = &'a str>,
    command: Option<&'static str>,
) -> ArgError {
    let mut message = match command {
        Some(name) => format!("{name} does not take {option}"),
        None => format!("unknown option {option}"),
    };
    if let Some(near) = nearest(option, known) {
        message.push_str(&format!(" (did you mean {near}?)"));
    }
    ArgError::new(message, command)
}

/// The candidate within two edits of `word`, for a "did you mean" hint.
fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// lexopt's errors in this tool's words.
fn lexopt_message(error: lexopt::Error) -> String {
    match error {
        lexopt::Error::MissingValue {
            option: Some(option),
        } => format!("{option} needs a value"),
        lexopt::Error::UnexpectedValue { option, .. } => format!("{option} takes no value"),
        lexopt::Error::NonUnicodeValue(value) => {
            format!("{value:?} is not valid UTF-8")
        }
        other => other.to_string(),
    }
}

/// The program's name as invoked: the file name of `argv[0]`.
pub(crate) fn program_name(argv0: Option<&OsString>) -> String {
    argv0
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "magicbell-jwt".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::argv;
    use crate::{cli, Host};
    use std::io;
    use std::time::SystemTime;

    #[track_caller]
    fn parsed(line: &str) -> Parsed {
        parse(argv(line)).unwrap()
    }

    #[track_caller]
    fn command(line: &str) -> Command {
        match parsed(line) {
            Parsed::Run(invocation) => invocation.command,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[track_caller]
    fn refused(line: &str) -> String {
        parse(argv(line)).unwrap_err().message
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(
            command("list"),
            Command::List {
                user_id: None,
                limit: None,
                all: false
            }
        );
        assert_eq!(
            command("list --limit 5 --all"),
            Command::List {
                user_id: None,
                limit: Some(5),
                all: true
            }
        );
        assert_eq!(
            command("create ci --expiry 60"),
            Command::Create(CreateProjectTokenRequest::new("ci").expiry(60))
        );
        assert_eq!(
            command("discard tok_1"),
            Command::Discard {
                user: false,
                token_id: "tok_1".into()
            }
        );
        assert_eq!(
            command("user-list u1 --all"),
            Command::List {
                user_id: Some("u1".into()),
                limit: None,
                all: true
            }
        );
        assert_eq!(
            command("user-create --email a@b.c --name inbox --expiry 9"),
            Command::CreateUser(
                CreateUserTokenRequest::for_email("a@b.c")
                    .name("inbox")
                    .expiry(9)
            )
        );
        assert_eq!(
            command("user-create --external-id u-1"),
            Command::CreateUser(CreateUserTokenRequest::for_external_id("u-1"))
        );
        assert_eq!(
            command("user-discard ut_1"),
            Command::Discard {
                user: true,
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
                parallel: 1
            }
        );
        assert_eq!(
            command("user-revoke-all u1"),
            Command::UserRevokeAll {
                users: Users::Given(vec!["u1".into()]),
                dry_run: false,
                parallel: 8
            }
        );
    }

    #[test]
    fn an_option_value_follows_a_space_or_an_equals_sign() {
        assert_eq!(command("list --limit=5"), command("list --limit 5"));
        assert_eq!(
            command("user-create --email=a=b@c.d"),
            Command::CreateUser(CreateUserTokenRequest::for_email("a=b@c.d"))
        );
    }

    #[test]
    fn double_dash_ends_options() {
        assert_eq!(
            command("discard -- -x"),
            Command::Discard {
                user: false,
                token_id: "-x".into()
            }
        );
        assert_eq!(
            command("user-discard --json -- --help"),
            Command::Discard {
                user: true,
                token_id: "--help".into()
            }
        );
        // As the messages suggest `user-list` with a user id that might.
        assert_eq!(
            command("user-list -- -o"),
            Command::List {
                user_id: Some("-o".into()),
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
                user: false,
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
            let Parsed::Run(invocation) = parsed(line) else {
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
                users: Users::Given(vec!["u2".into(), "u1".into()]),
                dry_run: false,
                parallel: 3
            }
        );
        assert_eq!(
            command("user-revoke-all - --dry-run"),
            Command::UserRevokeAll {
                users: Users::Stdin,
                dry_run: true,
                parallel: 8
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
}
