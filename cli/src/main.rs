//! `tokens`: a small admin tool for MagicBell JWTs, built on `magicbell-jwt`.
//!
//! ```text
//! export MAGICBELL_TOKEN=...            # a project token allowed to manage tokens
//! cargo run --example tokens -- --help
//! cargo run --example tokens -- rotate --help
//! cargo run --example tokens -- list --all --json
//! ```
//!
//! Each job (`rotate`, `prune`, `user-revoke-all`) returns a [`Report`] and
//! the tool prints it once, whatever happened; the one thing printed before
//! that is a newly created token, the moment the create returns. Jobs revoke
//! up to `--parallel N` tokens at once (and `user-revoke-all` lists up to N
//! users at once); on a terminal, a job that runs over a second shows its
//! progress on stderr.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use magicbell_jwt::{
    AccessToken, Client, ClientBuilder, CreateProjectTokenRequest, CreateTokenResponse,
    CreateUserTokenRequest, DiscardTokenResponse, FetchTokensParams,
};
use serde::Serialize;
use serde_json::json;

// --- Commands and their usage --------------------------------------------------

/// One command: what its usage says, and so what the parser accepts.
struct Spec {
    name: &'static str,
    /// The positional argument it needs, if any.
    positional: Option<&'static str>,
    /// Whether it takes one or more of them.
    many: bool,
    /// Its synopsis after the name, as the overview shows it.
    synopsis: &'static str,
    about: &'static str,
    /// `("--name VALUE", what)`: a space after the name means it takes a value.
    options: &'static [(&'static str, &'static str)],
}

const LIMIT: (&str, &str) = ("--limit N", "at most N tokens a page (default: the API's)");
const ALL: (&str, &str) = ("--all", "every page, each printed as it arrives");
const EXPIRY: (&str, &str) = (
    "--expiry SECS",
    "seconds the new token stays valid (default: the API's)",
);
const DRY_RUN: (&str, &str) = (
    "--dry-run",
    "send no POST and no DELETE: say what would be done",
);
const PARALLEL: (&str, &str) = (
    "--parallel N",
    "requests in flight at once, 1 to 64 (default 8)",
);

/// `--parallel` when none is given: 8 revokes in flight, well within the 16
/// connections the library keeps pooled.
const DEFAULT_PARALLEL: usize = 8;
/// The most `--parallel` takes: more threads and connections than this only
/// meet the API's rate limit sooner.
const MAX_PARALLEL: u64 = 64;

const COMMANDS: &[Spec] = &[
    Spec {
        name: "list",
        positional: None,
        many: false,
        synopsis: "[--limit N] [--all]",
        about: "project tokens: one page, or every page with --all",
        options: &[LIMIT, ALL],
    },
    Spec {
        name: "create",
        positional: Some("NAME"),
        many: false,
        synopsis: "NAME [--expiry SECS]",
        about: "create a project token (its value is shown once)",
        options: &[EXPIRY],
    },
    Spec {
        name: "discard",
        positional: Some("TOKEN_ID"),
        many: false,
        synopsis: "TOKEN_ID",
        about: "revoke a project token",
        options: &[],
    },
    Spec {
        name: "user-list",
        positional: Some("USER_ID"),
        many: false,
        synopsis: "USER_ID [--limit N] [--all]",
        about: "a user's tokens",
        options: &[LIMIT, ALL],
    },
    Spec {
        name: "user-create",
        positional: None,
        many: false,
        synopsis: "(--email E | --external-id X) [--name N] [--expiry SECS]",
        about: "create a user token (its value is shown once)",
        options: &[
            ("--email E", "the user's email"),
            ("--external-id X", "the user's id in your own database"),
            ("--name N", "the token's name"),
            EXPIRY,
        ],
    },
    Spec {
        name: "user-discard",
        positional: Some("TOKEN_ID"),
        many: false,
        synopsis: "TOKEN_ID",
        about: "revoke a user token",
        options: &[],
    },
    Spec {
        name: "rotate",
        positional: Some("NAME"),
        many: false,
        synopsis: "NAME [--expiry SECS] [--parallel N] [--dry-run]",
        about:
            "create a project token NAME, then revoke\nevery other live project token named NAME",
        options: &[EXPIRY, PARALLEL, DRY_RUN],
    },
    Spec {
        name: "prune",
        positional: None,
        many: false,
        synopsis: "(--expired | --older-than DAYS) [--name NAME] [--parallel N] [--dry-run]",
        about: "revoke live project tokens expired now, or\ncreated more than DAYS days ago",
        options: &[
            ("--expired", "tokens whose expires_at has passed"),
            (
                "--older-than DAYS",
                "tokens created more than DAYS days ago",
            ),
            ("--name NAME", "only tokens named exactly NAME"),
            PARALLEL,
            DRY_RUN,
        ],
    },
    Spec {
        name: "user-revoke-all",
        positional: Some("USER_ID"),
        many: true,
        synopsis: "(USER_ID... | -) [--parallel N] [--dry-run]",
        about:
            "revoke every live token of each user;\n'-' reads the USER_IDs from stdin, one a line",
        options: &[PARALLEL, DRY_RUN],
    },
];

const JOBS: &[&str] = &["rotate", "prune", "user-revoke-all"];

impl Spec {
    fn find(name: &str) -> Option<&'static Spec> {
        COMMANDS.iter().find(|spec| spec.name == name)
    }

    /// The option called `--name`, and whether it takes a value.
    fn option(&self, name: &str) -> Option<(&'static str, bool)> {
        self.options.iter().find_map(|(usage, _)| {
            let (flag, value) = usage.split_once(' ').unwrap_or((usage, ""));
            (flag.strip_prefix("--") == Some(name)).then_some((flag, !value.is_empty()))
        })
    }

    /// Every option it takes, `--json` and `--help` included.
    fn option_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        let own = self.options.iter();
        own.map(|(usage, _)| usage.split(' ').next().unwrap_or(usage))
            .chain(["--json", "--help"])
    }

    /// `tokens rotate --help`.
    fn usage(&self, prog: &str) -> String {
        let mut rows: Vec<(&str, &str)> = self.options.to_vec();
        rows.push(("--json", "one JSON document on stdout instead of text"));
        rows.push(("-h, --help", "this text"));
        let width = rows.iter().map(|(o, _)| o.len()).max().unwrap_or(0);
        let mut text = format!(
            "{prog} {}: {}\n\nUSAGE:\n    {prog} {} {} [--json]\n\nOPTIONS:\n",
            self.name,
            self.about.replace('\n', " "),
            self.name,
            self.synopsis
        );
        for (option, what) in rows {
            text.push_str(&format!("    {option:<width$}  {what}\n"));
        }
        if let Some(arg) = self.positional {
            text.push_str(&format!(
                "\nA {arg} that starts with '-' goes after '--': {prog} {} -- -x\n",
                self.name
            ));
        }
        text
    }

    /// Its line in the overview.
    fn overview_line(&self) -> String {
        let head = format!("{} {}", self.name, self.synopsis);
        let indent = format!("\n    {:<40} ", "");
        let about = self.about.replace('\n', &indent);
        if head.len() <= 40 {
            format!("    {head:<40} {about}\n")
        } else {
            format!("    {head}{indent}{about}\n")
        }
    }
}

/// `tokens --help`, naming the program as it was invoked.
fn usage(prog: &str) -> String {
    let lines = |jobs: bool| -> String {
        COMMANDS
            .iter()
            .filter(|spec| JOBS.contains(&spec.name) == jobs)
            .map(Spec::overview_line)
            .collect()
    };
    format!(
        "\
{prog}: list, create and revoke MagicBell JWTs

USAGE:
    {prog} <COMMAND> [ARGS] [OPTIONS]
    {prog} <COMMAND> --help    one command's usage (also: {prog} help <COMMAND>)

COMMANDS:
{commands}
JOBS (each revokes only tokens not revoked yet; --dry-run sends no POST or DELETE):
{jobs}
OPTIONS:
    --json          one JSON document on stdout instead of a table, on every
                    path once the command line is accepted (a refused one
                    is named on stderr only: --json may not be read yet)
    -h, --help      this text
    -V, --version   the tool's version
    --              ends options: an id that starts with '-' goes after it
    An option's value goes after a space or an '=': --limit 5, --limit=5

EXIT STATUS:
    0 success; 1 a call failed (a job goes on with the rest of its revokes and
    names each failure on stderr); 2 bad arguments, input refused before
    anything was sent, or no MAGICBELL_TOKEN

ENVIRONMENT:
    MAGICBELL_TOKEN      the project token to authenticate with (required)
    MAGICBELL_BASE_URL   the API's base URL (default https://api.magicbell.com/v2):
                         https, or http to a loopback host only
",
        commands = lines(false),
        jobs = lines(true),
    )
}

/// Worded for the installed tool and for `cargo run` alike: the fake
/// service is in the crate's checkout, not in the tool.
const NO_TOKEN: &str = "\
MAGICBELL_TOKEN is not set. Set it to a MagicBell project token allowed to
manage tokens:
    export MAGICBELL_TOKEN=...
To try the tool without one, run the fake MagicBell in a checkout of
magicbell-jwt and export the two variables it prints:
    cargo run -q --example fake_server > fake.env &
    export $(cat fake.env)";

// --- Parsing -------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
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
enum Users {
    /// These, each once, in the order given.
    Given(Vec<String>),
    /// `-`: one a line on stdin, read once the command line is accepted.
    Stdin,
}

/// Which project tokens `prune` revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PruneRule {
    Expired,
    OlderThanDays(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    command: Command,
    json: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Run(Invocation),
    /// The overview (`None`) or one command's usage.
    Help(Option<&'static str>),
    Version,
    /// No command at all.
    Nothing,
}

/// A refused command line: what was wrong, and the command whose `--help`
/// to point at.
#[derive(Debug, PartialEq, Eq)]
struct ArgError {
    message: String,
    command: Option<&'static str>,
}

impl ArgError {
    fn new(message: impl Into<String>, command: Option<&'static str>) -> Self {
        ArgError {
            message: message.into(),
            command,
        }
    }
}

/// `args` as the process got them, the program's own name first.
fn parse(args: Vec<OsString>) -> Result<Parsed, ArgError> {
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
            Long("json") => json = true,
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
fn read_user_ids(input: &mut dyn BufRead) -> Result<Vec<String>, ArgError> {
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

/// `tokens help [COMMAND]`.
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
        if let Some(near) = nearest(word, COMMANDS.iter().map(|spec| spec.name)) {
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
fn program_name(argv0: Option<&OsString>) -> String {
    argv0
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "tokens".to_owned())
}

// --- Setup ---------------------------------------------------------------------

/// Why a command stopped.
#[derive(Debug)]
enum Stop {
    /// `MAGICBELL_TOKEN` is unset or blank.
    NoToken,
    /// The library refused an argument or a call failed.
    Call(magicbell_jwt::Error),
    /// A create failed in a way that may have minted the token anyway (a
    /// 5xx, an answer cut off): `whose` is the project token's name or the
    /// user, for where to look for it.
    Create {
        error: magicbell_jwt::Error,
        kind: Kind,
        whose: String,
    },
    /// Writing the output failed.
    Output(io::Error),
}

impl From<magicbell_jwt::Error> for Stop {
    fn from(error: magicbell_jwt::Error) -> Self {
        Stop::Call(error)
    }
}

impl From<io::Error> for Stop {
    fn from(error: io::Error) -> Self {
        Stop::Output(error)
    }
}

impl From<serde_json::Error> for Stop {
    fn from(error: serde_json::Error) -> Self {
        Stop::Output(error.into())
    }
}

impl Stop {
    /// A failed create of a `kind` token for `whose`: [`Stop::Create`] when
    /// the server may have acted on it, a plain [`Stop::Call`] when surely
    /// nothing was minted.
    fn create(error: magicbell_jwt::Error, kind: Kind, whose: &str) -> Stop {
        if error.may_have_been_processed() {
            let whose = whose.to_owned();
            Stop::Create { error, kind, whose }
        } else {
            Stop::Call(error)
        }
    }

    /// The exit status: 2 for what was refused before anything was sent.
    fn exit_code(&self) -> u8 {
        match self {
            Stop::NoToken | Stop::Call(magicbell_jwt::Error::InvalidInput { .. }) => 2,
            Stop::Call(_) | Stop::Create { .. } | Stop::Output(_) => 1,
        }
    }
}

/// Where requests go, and where that came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// `HOST:PORT` of the base URL.
    address: String,
    /// `MAGICBELL_BASE_URL` or `default`.
    origin: &'static str,
    /// Whether a proxy variable is set, so a connection goes to the proxy
    /// and the library's message, which names it, is the right one.
    proxied: bool,
}

/// The variables the tool reads; a function so tests can pass their own.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The client the environment asks for, `tune` applied to its builder.
fn connect(
    env: Env,
    tune: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Result<(Client, Target), Stop> {
    let set = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let token = set("MAGICBELL_TOKEN").ok_or(Stop::NoToken)?;
    let (base_url, origin) = match set("MAGICBELL_BASE_URL") {
        Some(url) => (url, "MAGICBELL_BASE_URL"),
        None => (magicbell_jwt::DEFAULT_BASE_URL.to_owned(), "default"),
    };
    let client = tune(Client::builder(token).base_url(base_url)).build()?;
    let proxied = ["ALL_PROXY", "HTTPS_PROXY", "HTTP_PROXY"]
        .iter()
        .any(|name| set(name).or_else(|| set(&name.to_lowercase())).is_some());
    let target = Target {
        address: host_port(client.base_url()),
        origin,
        proxied,
    };
    Ok((client, target))
}

/// `HOST:PORT` of a URL, with the scheme's port when none is written.
fn host_port(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_and_port = authority.rsplit('@').next().unwrap_or_default();
    // An IPv6 literal keeps its brackets: a port is a ':' after the last ']'.
    let has_port = match host_and_port.rfind(']') {
        Some(end) => host_and_port[end..].contains(':'),
        None => host_and_port.contains(':'),
    };
    if has_port {
        return host_and_port.to_owned();
    }
    let port = if scheme.eq_ignore_ascii_case("http") {
        80
    } else {
        443
    };
    format!("{host_and_port}:{port}")
}

// --- Running -------------------------------------------------------------------

fn main() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let stderr = io::stderr();
    let host = Host {
        input: &mut io::stdin().lock(),
        out: &mut io::stdout().lock(),
        progress_after: stderr.is_terminal().then_some(Duration::from_secs(1)),
        err: &mut stderr.lock(),
        now: SystemTime::now(),
    };
    ExitCode::from(cli(
        std::env::args_os().collect(),
        &env,
        |builder| builder,
        host,
    ))
}

/// What the tool takes from the process, passed in so that tests give their
/// own.
struct Host<'a> {
    /// Where `user-revoke-all -` reads its USER_IDs.
    input: &'a mut dyn BufRead,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    /// Show a job's progress on `err` once it has run this long; `None`
    /// when `err` is not a terminal, so a log or a pipe never gets it.
    progress_after: Option<Duration>,
    /// The time of the run: what `prune` judges expiry and age by.
    now: SystemTime,
}

/// The whole tool: the exit status for `args` (the program's name first),
/// with the environment, the client's settings and the process's streams
/// passed in.
fn cli(
    args: Vec<OsString>,
    env: Env,
    tune: impl FnOnce(ClientBuilder) -> ClientBuilder,
    host: Host,
) -> u8 {
    let prog = program_name(args.first());
    let (out, err) = (host.out, host.err);
    let refused = |err: &mut dyn Write, refused: ArgError| {
        let command = refused.command.map(|c| format!("{c} ")).unwrap_or_default();
        let _ = writeln!(
            err,
            "error: {}; see '{prog} {command}--help'",
            refused.message
        );
        2
    };
    let mut invocation = match parse(args) {
        Ok(Parsed::Run(invocation)) => invocation,
        Ok(Parsed::Help(topic)) => {
            let text = match topic.and_then(Spec::find) {
                Some(spec) => spec.usage(&prog),
                None => usage(&prog),
            };
            return u8::from(out.write_all(text.as_bytes()).is_err());
        }
        Ok(Parsed::Version) => {
            let version = format!("{prog} {}\n", env!("CARGO_PKG_VERSION"));
            return u8::from(out.write_all(version.as_bytes()).is_err());
        }
        Ok(Parsed::Nothing) => {
            let _ = err.write_all(usage(&prog).as_bytes());
            return 2;
        }
        Err(e) => return refused(err, e),
    };
    if let Command::UserRevokeAll { users, .. } = &mut invocation.command {
        if *users == Users::Stdin {
            match read_user_ids(host.input) {
                Ok(read) => *users = Users::Given(read),
                Err(e) => return refused(err, e),
            }
        }
    }
    let mut output = Output {
        out,
        err,
        json: invocation.json,
        prog,
        target: None,
        doc: Doc::default(),
        broken: false,
        progress: host.progress_after.map(|after| Progress {
            start: Instant::now(),
            after,
            width: 0,
        }),
    };
    let code = match connect(env, tune) {
        Ok((client, target)) => {
            output.target = Some(target);
            run(&client, invocation.command, host.now, &mut output)
        }
        Err(stop) => output.fail(&stop),
    };
    let _ = output.out.flush();
    code
}

/// Runs one parsed command and prints its outcome: the exit status.
fn run(client: &Client, command: Command, now: SystemTime, output: &mut Output) -> u8 {
    let done: Result<(), Stop> = match command {
        Command::List {
            user_id,
            limit,
            all,
        } => {
            let mut params = FetchTokensParams::default();
            if let Some(limit) = limit {
                params = params.limit(limit);
            }
            if all {
                let walk = match &user_id {
                    Some(user) => client.user_tokens(user, params),
                    None => client.project_tokens(params),
                };
                return output.walk(walk.pages());
            }
            match &user_id {
                Some(user) => client.fetch_user_tokens(user, &params),
                None => client.fetch_project_tokens(&params),
            }
            .map_err(Stop::from)
            .and_then(|page| output.page(&page))
        }
        Command::Create(request) => {
            let made = client.create_project_jwt(&request);
            return create(client, output, Kind::Project, &request.name, made);
        }
        Command::CreateUser(request) => {
            let made = client.create_user_jwt(&request);
            let user = request.email.as_ref().or(request.external_id.as_ref());
            let user = user.map_or("", String::as_str);
            return create(client, output, Kind::User, user, made);
        }
        Command::Discard { user, token_id } => if user {
            client.discard_user_jwt(&token_id)
        } else {
            client.discard_project_jwt(&token_id)
        }
        .map_err(Stop::from)
        .and_then(|discarded| output.discarded(&discarded)),
        Command::Rotate {
            name,
            expiry,
            dry_run,
            parallel,
        } => {
            let job = Job::new(client, parallel, dry_run);
            let report = rotate(&job, &name, expiry, output);
            return output.report(&report);
        }
        Command::Prune {
            rule,
            name,
            dry_run,
            parallel,
        } => {
            let job = Job::new(client, parallel, dry_run);
            let report = prune(&job, rule, name.as_deref(), now, output);
            return output.report(&report);
        }
        Command::UserRevokeAll {
            users,
            dry_run,
            parallel,
        } => {
            let users = match users {
                Users::Given(users) => users,
                Users::Stdin => unreachable!("cli reads stdin before it runs a command"),
            };
            let job = Job::new(client, parallel, dry_run);
            let report = user_revoke_all(&job, &users, output);
            return output.report(&report);
        }
    };
    match done {
        Ok(()) => 0,
        Err(stop) => output.fail(&stop),
    }
}

/// `create` and `user-create`: shows the new token of `kind` for `whose`
/// (its name, or the user), or, when it cannot be shown, revokes it, since
/// nobody would hold it. The exit status.
fn create(
    client: &Client,
    output: &mut Output,
    kind: Kind,
    whose: &str,
    made: Result<CreateTokenResponse, magicbell_jwt::Error>,
) -> u8 {
    let created = match made {
        Ok(created) => created,
        Err(e) => return output.fail(&Stop::create(e, kind, whose)),
    };
    match output.created(&created) {
        Ok(()) => 0,
        Err(stop) => {
            let unshown = Unshown::revoke(client, kind, created.token_id);
            let code = output.complain(&stop);
            output.unshown(&unshown);
            code.max(1)
        }
    }
}

// --- Jobs ----------------------------------------------------------------------

/// What a job did, whatever stopped it. A created token and each batch of
/// revokes are shown as they happen (through [`Hooks`]); the rest is printed
/// once at the end, on every path.
#[derive(Debug, Default)]
struct Report {
    dry_run: bool,
    /// The name a dry-run `rotate` would create a token under.
    would_create: Option<String>,
    would_revoke: Vec<String>,
    /// A token the job created but could not show, revoked by its id.
    unshown: Option<Unshown>,
    revoked: Vec<String>,
    failed: Vec<(String, magicbell_jwt::Error)>,
    /// `user-revoke-all` only: the users whose list failed, none of whose
    /// tokens was revoked.
    unlisted: Option<Vec<(String, magicbell_jwt::Error)>>,
    /// What stopped the job before its end.
    error: Option<Stop>,
}

/// Which tokens a job revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Project,
    User,
}

/// A created token whose value could not be written to stdout: nobody holds
/// it, so it is revoked by its id, and the operator is told.
#[derive(Debug)]
struct Unshown {
    kind: Kind,
    id: String,
    /// Whether revoking it worked: if not, the operator must revoke `id`.
    revoked: Result<(), magicbell_jwt::Error>,
}

impl Unshown {
    fn revoke(client: &Client, kind: Kind, id: String) -> Unshown {
        let revoked = match kind {
            Kind::Project => client.discard_project_jwt(&id),
            Kind::User => client.discard_user_jwt(&id),
        };
        Unshown {
            kind,
            id,
            revoked: revoked.map(drop),
        }
    }
}

/// What every job runs with.
struct Job<'a> {
    client: &'a Client,
    /// Revokes (and `user-revoke-all`'s lists) in flight at once.
    parallel: usize,
    dry_run: bool,
}

impl<'a> Job<'a> {
    fn new(client: &'a Client, parallel: usize, dry_run: bool) -> Self {
        Job {
            client,
            parallel,
            dry_run,
        }
    }

    fn report(&self) -> Report {
        Report {
            dry_run: self.dry_run,
            ..Report::default()
        }
    }
}

/// What a job shows while it runs: [`Output`] in the tool.
trait Hooks {
    /// A token the job just created, shown (and flushed) before the job
    /// goes on. An error means nobody holds it: the job must revoke it and
    /// stop.
    fn created(&mut self, created: &CreateTokenResponse) -> io::Result<()>;
    /// A batch of revokes that just ended, `results` in the order of `ids`,
    /// shown (and flushed) before the next batch starts. An error means the
    /// job can no longer say what it does: it stops.
    fn revoked(&mut self, ids: &[String], results: &[Revoked]) -> io::Result<()>;
    /// Called once before the job's first revoke, to show (and flush) what
    /// comes before the revokes: an error means stdout is gone, and the job
    /// stops before it revokes anything.
    fn revoking(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// How far the job got: `revoked 1,200 of 5,000`.
    fn progress(&mut self, text: &str);
}

/// What one revoke gave.
type Revoked = Result<DiscardTokenResponse, magicbell_jwt::Error>;

/// Creates the new token first, shows it through `hooks` at once, and only
/// then lists and revokes the others: if the create fails, nothing is
/// revoked; if the new token cannot be shown, it is revoked and nothing
/// else is.
fn rotate(job: &Job, name: &str, expiry: Option<u64>, hooks: &mut dyn Hooks) -> Report {
    let mut report = job.report();
    let same_name = |t: &AccessToken| t.name.as_deref() == Some(name);
    let client = job.client;
    if job.dry_run {
        report.would_create = Some(name.to_owned());
        let walk = client.project_tokens(FetchTokensParams::default());
        let ids = live_ids(walk, same_name, Some(&mut *hooks));
        return finish(report, job, Kind::Project, ids, hooks);
    }
    let mut request = CreateProjectTokenRequest::new(name);
    if let Some(seconds) = expiry {
        request = request.expiry(seconds);
    }
    let created = match client.create_project_jwt(&request) {
        Ok(created) => created,
        Err(e) => {
            report.error = Some(Stop::create(e, Kind::Project, name));
            return report;
        }
    };
    let new_id = created.token_id.clone();
    if let Err(e) = hooks.created(&created) {
        // Nobody holds the new token: revoke it, and keep the old ones,
        // which still work, rather than lock out everyone using the name.
        report.unshown = Some(Unshown::revoke(client, Kind::Project, new_id));
        report.error = Some(Stop::Output(e));
        return report;
    }
    drop(created);
    let others = |t: &AccessToken| same_name(t) && t.id.as_deref() != Some(new_id.as_str());
    let walk = client.project_tokens(FetchTokensParams::default());
    let ids = live_ids(walk, others, Some(&mut *hooks));
    finish(report, job, Kind::Project, ids, hooks)
}

/// Revokes the live project tokens `rule` picks at `now`, of one name when
/// given.
fn prune(
    job: &Job,
    rule: PruneRule,
    name: Option<&str>,
    now: SystemTime,
    hooks: &mut dyn Hooks,
) -> Report {
    let picked = |t: &AccessToken| {
        let old = match rule {
            PruneRule::Expired => t.is_expired_at(now),
            PruneRule::OlderThanDays(days) => t.created_at_time().is_some_and(|created| {
                now.duration_since(created)
                    .is_ok_and(|age| age > Duration::from_secs(days.saturating_mul(86_400)))
            }),
        };
        old && name.is_none_or(|n| t.name.as_deref() == Some(n))
    };
    let walk = job.client.project_tokens(FetchTokensParams::default());
    let ids = live_ids(walk, picked, Some(&mut *hooks));
    finish(job.report(), job, Kind::Project, ids, hooks)
}

/// Revokes every live token of each user. The users' lists are walked up to
/// `job.parallel` at once, all before anything is revoked; a user whose list
/// fails has none of their tokens revoked (the rule of every job: a list
/// that failed is not acted on), the others' are.
fn user_revoke_all(job: &Job, users: &[String], hooks: &mut dyn Hooks) -> Report {
    let mut report = job.report();
    let mut unlisted = Vec::new();
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for (user, listed) in users.iter().zip(walk_users(job, users, hooks)) {
        match listed {
            // A token listed under two of the given ids (a user's email and
            // external id) is revoked once.
            Ok(listed) => ids.extend(listed.into_iter().filter(|id| seen.insert(id.clone()))),
            Err(e) => unlisted.push((user.clone(), e)),
        }
    }
    report.unlisted = Some(unlisted);
    finish(report, job, Kind::User, Ok(ids), hooks)
}

/// The live token ids of each user, in the order of `users`: up to
/// `job.parallel` lists walked at once on scoped threads, the progress
/// shown from this one.
fn walk_users(
    job: &Job,
    users: &[String],
    hooks: &mut dyn Hooks,
) -> Vec<Result<Vec<String>, magicbell_jwt::Error>> {
    let next = &AtomicUsize::new(0);
    let (sender, listed) = mpsc::channel();
    let mut results: Vec<_> = users.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..job.parallel.clamp(1, users.len().max(1)) {
            let sender = sender.clone();
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(user) = users.get(i) else { break };
                let walk = job.client.user_tokens(user, FetchTokensParams::default());
                if sender.send((i, live_ids(walk, |_| true, None))).is_err() {
                    break;
                }
            });
        }
        // Ends once every thread is done with its last user and gone.
        drop(sender);
        let total = thousands(users.len());
        for (done, (i, ids)) in listed.iter().enumerate() {
            results[i] = Some(ids);
            hooks.progress(&format!("listed {} of {total} users", thousands(done + 1)));
        }
    });
    // A thread that panicked made the scope panic; every slot is filled.
    results.into_iter().flatten().collect()
}

/// A job's last step: revoke the listed ids (a dry run only notes them), or
/// note the error the listing ended with.
fn finish(
    mut report: Report,
    job: &Job,
    kind: Kind,
    listed: Result<Vec<String>, magicbell_jwt::Error>,
    hooks: &mut dyn Hooks,
) -> Report {
    match listed {
        Err(e) => report.error = Some(e.into()),
        Ok(ids) if report.dry_run => report.would_revoke = ids,
        Ok(ids) => revoke(job, kind, &ids, &mut report, hooks),
    }
    report
}

/// Revokes go in batches of this many per thread: each batch is shown as it
/// ends (so a job killed part-way leaves a record of what it revoked, and
/// the progress line moves), at the cost of waiting for each batch's
/// slowest revoke.
const BATCH_PER_THREAD: usize = 16;

/// The one place jobs revoke: up to `job.parallel` at once, going on past
/// failures, into `report.revoked` and `report.failed` in the order of
/// `ids`. Stops, with `report.error` set, once a batch cannot be shown, or
/// before the first revoke if what comes before them cannot
/// ([`Hooks::revoking`]).
fn revoke(job: &Job, kind: Kind, ids: &[String], report: &mut Report, hooks: &mut dyn Hooks) {
    if let Err(e) = hooks.revoking() {
        report.error = Some(Stop::Output(e));
        return;
    }
    let total = thousands(ids.len());
    let batch = job.parallel.max(1).saturating_mul(BATCH_PER_THREAD);
    for part in ids.chunks(batch) {
        let results = match kind {
            Kind::Project => job.client.discard_project_jwts(part, job.parallel),
            Kind::User => job.client.discard_user_jwts(part, job.parallel),
        };
        let shown = hooks.revoked(part, &results);
        for (id, result) in part.iter().zip(results) {
            match result {
                Ok(_) => report.revoked.push(id.clone()),
                Err(e) => report.failed.push((id.clone(), e)),
            }
        }
        if let Err(e) = shown {
            report.error = Some(Stop::Output(e));
            return;
        }
        let (revoked, failed) = (report.revoked.len(), report.failed.len());
        let mut text = format!("revoked {} of {total}", thousands(revoked));
        if failed > 0 {
            text.push_str(&format!(", failed {}", thousands(failed)));
        }
        hooks.progress(&text);
    }
}

/// The ids of the tokens of a whole walk that are not revoked and that
/// `keep` picks; the walk finishes before anything is revoked. `hooks`, when
/// given, hears how many tokens were listed, page by page.
fn live_ids(
    walk: magicbell_jwt::Paginator,
    keep: impl Fn(&AccessToken) -> bool,
    mut hooks: Option<&mut dyn Hooks>,
) -> Result<Vec<String>, magicbell_jwt::Error> {
    let mut ids = Vec::new();
    for (listed, token) in walk.enumerate() {
        let token = token?;
        if !token.is_discarded() && keep(&token) {
            ids.extend(token.id);
        }
        if let Some(hooks) = hooks.as_deref_mut().filter(|_| listed % 100 == 99) {
            hooks.progress(&format!("listed {} tokens", thousands(listed + 1)));
        }
    }
    Ok(ids)
}

/// `arg` as a POSIX shell reads it back: as it is when every character is
/// one the shell takes literally, else in single quotes (a `'` in it as
/// `'\''`).
fn shell_quote(arg: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        return Cow::Borrowed(arg);
    }
    Cow::Owned(format!("'{}'", arg.replace('\'', "'\\''")))
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut text = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

// --- Output --------------------------------------------------------------------

/// stdout and stderr, and how to write to them.
struct Output<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    json: bool,
    /// The program's name as invoked, for the commands messages suggest.
    prog: String,
    /// Where requests went, once a client was built.
    target: Option<Target>,
    /// The progress line on `err`, when `err` is a terminal.
    progress: Option<Progress>,
    /// A job's JSON document, written member by member as the job goes.
    doc: Doc,
    /// A job's write to `out` failed: nothing more goes there, so what was
    /// written is never followed by a document with a hole in it.
    broken: bool,
}

/// How far a job's JSON document is written.
#[derive(Debug, Default)]
struct Doc {
    /// `{` is written.
    open: bool,
    /// The `"revoked"` array is open: `Some(true)` once it holds an id.
    revoked: Option<bool>,
}

/// A line on a terminal rewritten in place: `\r` and the new text.
struct Progress {
    start: Instant,
    /// Shown only once the job has run this long.
    after: Duration,
    /// The length of the text on the line now, 0 when there is none.
    width: usize,
}

impl Hooks for Output<'_> {
    /// Text: the token's table, then the reminder on stderr. JSON: the
    /// document's first member, `{"created": {...}`, so a job killed or
    /// failing later has already put the token on stdout.
    fn created(&mut self, created: &CreateTokenResponse) -> io::Result<()> {
        if self.json {
            let value = serde_json::to_string(created)?;
            self.member("created", &value)?;
            return self.flush_out();
        }
        self.created_text(created)
    }

    /// First each failed revoke, named on stderr, so that no stdout
    /// failure can hide it. Then text: `revoked ID` lines on stdout; JSON:
    /// the ids, into the document's `"revoked"` array. If stdout fails,
    /// the batch's revoked ids go to stderr instead, under a line saying
    /// so, and the error is returned.
    fn revoked(&mut self, ids: &[String], results: &[Revoked]) -> io::Result<()> {
        self.clear_progress();
        for (id, result) in ids.iter().zip(results) {
            if let Err(e) = result {
                let message = self.call_message(e);
                let _ = writeln!(self.err, "failed to revoke {id}: {message}");
            }
        }
        let revoked = ids
            .iter()
            .zip(results)
            .filter(|(_, result)| result.is_ok())
            .map(|(id, _)| id);
        let mut text = String::new();
        for id in revoked.clone() {
            if self.json {
                let more = self.doc.revoked.replace(true) == Some(true);
                let id = serde_json::to_string(id)?;
                text.push_str(&format!("{}\n    {id}", if more { "," } else { "" }));
            } else {
                text.push_str(&format!("revoked {id}\n"));
            }
        }
        let shown = self
            .revoking()
            .and_then(|()| self.write_out(text.as_bytes()))
            .and_then(|()| self.flush_out());
        if let Err(e) = &shown {
            let mut record = format!("could not show these revokes on stdout ({e}):\n");
            for id in revoked {
                record.push_str(&format!("revoked {id}\n"));
            }
            let _ = self.err.write_all(record.as_bytes());
        }
        shown
    }

    /// JSON: opens the document's `"revoked"` array and flushes it, so a
    /// stdout that is gone is found before anything is revoked. Text:
    /// nothing.
    fn revoking(&mut self) -> io::Result<()> {
        if !self.json || self.doc.revoked.is_some() {
            return Ok(());
        }
        self.member("revoked", "[")?;
        self.doc.revoked = Some(false);
        self.flush_out()
    }

    fn progress(&mut self, text: &str) {
        let Some(progress) = &mut self.progress else {
            return;
        };
        if progress.start.elapsed() < progress.after {
            return;
        }
        // Spaces cover what a longer text before left on the line.
        let blank = progress.width.saturating_sub(text.len());
        let _ = write!(self.err, "\r{text}{:blank$}", "");
        let _ = self.err.flush();
        progress.width = text.len();
    }
}

impl Output<'_> {
    /// Blanks the progress line, if one is shown, so that what comes next
    /// starts on a clean line.
    fn clear_progress(&mut self) {
        if let Some(progress) = self.progress.as_mut().filter(|p| p.width > 0) {
            let _ = write!(self.err, "\r{:width$}\r", "", width = progress.width);
            let _ = self.err.flush();
            progress.width = 0;
        }
    }

    /// Says what stopped a command: on stderr, and in JSON mode as one
    /// `{"error": ...}` document on stdout. The exit status.
    fn fail(&mut self, stop: &Stop) -> u8 {
        if self.json && !matches!(stop, Stop::Output(_)) {
            let doc = json!({ "error": self.message(stop) });
            let _ = print_json(self.out, &doc);
        }
        self.complain(stop)
    }

    /// Says on stderr what stopped a command. The exit status.
    fn complain(&mut self, stop: &Stop) -> u8 {
        let text = match stop {
            Stop::NoToken => format!("{NO_TOKEN}\n"),
            Stop::Call(e) => self.call_text(e),
            Stop::Create { error, kind, whose } => {
                format!("{}{}\n", self.call_text(error), self.look(*kind, whose))
            }
            Stop::Output(_) => format!("error: {}\n", self.message(stop)),
        };
        let _ = self.err.write_all(text.as_bytes());
        stop.exit_code()
    }

    /// `error: MESSAGE` and, unless the address says it all, a `caused by:`
    /// line for each underlying error.
    fn call_text(&self, error: &magicbell_jwt::Error) -> String {
        let mut text = format!("error: {}\n", self.call_message(error));
        if self.connect_failure(error).is_none() {
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(&format!("  caused by: {cause}\n"));
                source = cause.source();
            }
        }
        text
    }

    /// Where to find the token a failed create may have minted anyway: the
    /// command last, after `with: `, ready to paste.
    fn look(&self, kind: Kind, whose: &str) -> String {
        let prog = shell_quote(&self.prog);
        let (token, list) = match kind {
            Kind::Project => (format!("named {whose:?}"), format!("{prog} list")),
            Kind::User => (
                format!("of {whose}"),
                format!("{prog} user-list -- {}", shell_quote(whose)),
            ),
        };
        format!(
            "the create may have gone through: look for a new token {token} and revoke it; \
             list the tokens with: {list}"
        )
    }

    /// What stopped a command, in one line.
    fn message(&self, stop: &Stop) -> String {
        match stop {
            Stop::NoToken => "MAGICBELL_TOKEN is not set".to_owned(),
            Stop::Call(e) => self.call_message(e),
            Stop::Create { error, kind, whose } => {
                format!("{}; {}", self.call_message(error), self.look(*kind, whose))
            }
            Stop::Output(e) => format!("could not write the output: {e}"),
        }
    }

    /// Says on stderr what became of a created token that could not be
    /// shown.
    fn unshown(&mut self, unshown: &Unshown) {
        let id = &unshown.id;
        let text = match &unshown.revoked {
            Ok(()) => format!("the new token {id} could not be shown, so it was revoked"),
            Err(e) => {
                let discard = match unshown.kind {
                    Kind::Project => "discard",
                    Kind::User => "user-discard",
                };
                format!(
                    "the new token {id} could not be shown, and revoking it failed ({}): \
                     revoke it with: {} {discard} -- {}",
                    self.call_message(e),
                    shell_quote(&self.prog),
                    shell_quote(id)
                )
            }
        };
        let _ = writeln!(self.err, "{text}");
    }

    /// What a failed call says, in one line.
    fn call_message(&self, error: &magicbell_jwt::Error) -> String {
        self.connect_failure(error)
            .unwrap_or_else(|| error.to_string())
    }

    /// `could not connect to HOST:PORT (ORIGIN): REASON` for a connection
    /// that could not be made, straight to the API (not through a proxy,
    /// not a TLS problem): the one failure where the address is the answer.
    fn connect_failure(&self, error: &magicbell_jwt::Error) -> Option<String> {
        let target = self.target.as_ref().filter(|t| !t.proxied)?;
        let magicbell_jwt::Error::Transport(transport) = error else {
            return None;
        };
        if !transport.is_connect() {
            return None;
        }
        let reason = io_reason(transport.as_ref())?;
        let mut text = format!(
            "could not connect to {} ({}): {reason}",
            target.address, target.origin
        );
        if transport.attempts() > 1 {
            text.push_str(&format!(" (after {} attempts)", transport.attempts()));
        }
        Some(text)
    }

    /// A created token as a table, flushed, then the reminder on stderr.
    fn created_text(&mut self, created: &CreateTokenResponse) -> io::Result<()> {
        let mut table = Vec::new();
        print_created(&mut table, created)?;
        self.write_out(&table)?;
        self.flush_out()?;
        let _ = self
            .err
            .write_all(b"Store the token now: it cannot be shown again.\n");
        Ok(())
    }

    /// `create`'s token: its table, or its JSON document; flushed either
    /// way, so an error means it may not have reached anyone.
    fn created(&mut self, created: &CreateTokenResponse) -> Result<(), Stop> {
        if self.json {
            print_json(self.out, created)?;
            return Ok(self.out.flush()?);
        }
        Ok(self.created_text(created)?)
    }

    /// Writes to stdout for a job: once a write failed, every later one
    /// fails too.
    fn write_out(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other("an earlier write to stdout failed"));
        }
        let written = self.out.write_all(bytes);
        self.broken = written.is_err();
        written
    }

    fn flush_out(&mut self) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other("an earlier write to stdout failed"));
        }
        let flushed = self.out.flush();
        self.broken = flushed.is_err();
        flushed
    }

    /// `"key": value` (`value` is JSON already) as the next member of the
    /// job's document, opening it first.
    fn member(&mut self, key: &str, value: &str) -> io::Result<()> {
        let lead = if self.doc.open { ",\n  " } else { "{\n  " };
        self.doc.open = true;
        self.write_out(format!("{lead}\"{key}\": {value}").as_bytes())
    }

    fn discarded(&mut self, discarded: &DiscardTokenResponse) -> Result<(), Stop> {
        if self.json {
            return print_json(self.out, discarded);
        }
        let line = format!(
            "revoked {} at {}\n",
            discarded.token_id, discarded.discarded_at
        );
        Ok(self.out.write_all(line.as_bytes())?)
    }

    fn page(&mut self, page: &magicbell_jwt::AccessTokenCollection) -> Result<(), Stop> {
        if self.json {
            return print_json(self.out, page);
        }
        print_tokens(self.out, &page.data, true)?;
        if page.has_more() {
            self.out
                .write_all(b"(more pages: add --all to list every token)\n")?;
        }
        Ok(())
    }

    /// Every page of a walk, printed as it arrives: table rows under one
    /// header, or one `{"data":[...]}` document written token by token,
    /// closed with an `"error"` member if a page fails. The exit status.
    fn walk(&mut self, pages: magicbell_jwt::Pages) -> u8 {
        // The status of a page's error already said, when stdout then failed.
        let mut said = 0;
        let result = self.try_walk(pages, &mut said);
        match result {
            Ok(()) => 0,
            Err(stop) => said.max(self.complain(&stop)),
        }
    }

    fn try_walk(&mut self, pages: magicbell_jwt::Pages, said: &mut u8) -> Result<(), Stop> {
        if self.json {
            self.out.write_all(b"{\"data\":[")?;
        }
        let mut first = true;
        for page in pages {
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    let stop = Stop::Call(e);
                    if self.json {
                        let error = serde_json::to_string(&self.message(&stop))?;
                        let closed = write!(self.out, "\n],\"error\":{error}}}\n")
                            .and_then(|()| self.out.flush());
                        if let Err(e) = closed {
                            // The page's error first, so the output's
                            // does not hide it.
                            *said = self.complain(&stop);
                            return Err(e.into());
                        }
                    }
                    return Err(stop);
                }
            };
            if self.json {
                for token in &page.data {
                    self.out.write_all(if first { b"\n  " } else { b",\n  " })?;
                    serde_json::to_writer(&mut *self.out, token)?;
                    first = false;
                }
            } else {
                print_tokens(self.out, &page.data, first)?;
                first = false;
            }
            self.out.flush()?;
        }
        if self.json {
            self.out.write_all(b"\n]}\n")?;
        } else if first {
            print_tokens(self.out, &[], true)?;
        }
        Ok(())
    }

    /// The end of a job's report, on every path: failed lists on stderr,
    /// then on stdout what was not shown as it happened (the count line, a
    /// dry run's lines; or the JSON document's remaining members and its
    /// close), then the error that stopped the job, and what became of a
    /// token that could not be shown. The exit status.
    fn report(&mut self, report: &Report) -> u8 {
        self.clear_progress();
        let unlisted = report.unlisted.as_deref().unwrap_or_default();
        for (user, e) in unlisted {
            let message = self.call_message(e);
            let _ = writeln!(self.err, "failed to list the tokens of {user}: {message}");
        }
        let printed = if self.json {
            self.close_document(report)
        } else {
            let text = report_text(report);
            self.write_out(text.as_bytes())
                .and_then(|()| self.flush_out())
        };
        let mut code = u8::from(!report.failed.is_empty() || !unlisted.is_empty());
        if let Some(stop) = &report.error {
            code = code.max(self.complain(stop));
            // stdout stopped mid-job: the count it would have had, here.
            let (revoked, failed) = (report.revoked.len(), report.failed.len());
            if matches!(stop, Stop::Output(_)) && revoked + failed > 0 {
                let _ = writeln!(self.err, "revoked {revoked}, failed {failed}");
            }
        }
        // A job stopped by stdout was told so already.
        if let (Err(e), false) = (printed, matches!(report.error, Some(Stop::Output(_)))) {
            code = code.max(self.complain(&Stop::Output(e)));
        }
        if let Some(unshown) = &report.unshown {
            self.unshown(unshown);
        }
        code
    }

    /// The job's JSON document: its remaining members, then `}`.
    fn close_document(&mut self, report: &Report) -> io::Result<()> {
        let to_json = |value: serde_json::Value| value.to_string();
        if report.dry_run {
            self.member("dry_run", "true")?;
            if let Some(name) = &report.would_create {
                self.member("would_create", &to_json(name.as_str().into()))?;
            }
            self.member("would_revoke", &to_json(json!(report.would_revoke)))?;
        } else {
            match self.doc.revoked {
                Some(true) => self.write_out(b"\n  ]")?,
                Some(false) => self.write_out(b"]")?,
                None => self.member("revoked", "[]")?,
            }
            let failed: Vec<_> = report
                .failed
                .iter()
                .map(|(id, e)| json!({ "id": id, "error": self.call_message(e) }))
                .collect();
            self.member("failed", &to_json(failed.into()))?;
        }
        if let Some(unlisted) = &report.unlisted {
            let failed: Vec<_> = unlisted
                .iter()
                .map(|(user, e)| json!({ "user": user, "error": self.call_message(e) }))
                .collect();
            self.member("failed_users", &to_json(failed.into()))?;
        }
        if let Some(stop) = &report.error {
            let message = self.message(stop);
            self.member("error", &to_json(message.into()))?;
        }
        self.write_out(b"\n}\n")?;
        self.flush_out()
    }
}

/// The end of a job's report as text: a dry run's lines, and the count line
/// when nothing stopped the job (each `revoked ID` was printed already).
fn report_text(report: &Report) -> String {
    let mut text = String::new();
    if let Some(name) = &report.would_create {
        text.push_str(&format!("would create a project token named {name:?}\n"));
    }
    let finished = report.error.is_none();
    if report.dry_run {
        for id in &report.would_revoke {
            text.push_str(&format!("would revoke {id}\n"));
        }
        if finished {
            text.push_str(&format!("would revoke {}\n", report.would_revoke.len()));
        }
    } else if finished {
        text.push_str(&format!(
            "revoked {}, failed {}\n",
            report.revoked.len(),
            report.failed.len()
        ));
    }
    text
}

/// What ended a connection attempt, from the `io::Error` below `error`:
/// `None` for anything else (a TLS problem, a name lookup).
fn io_reason(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use io::ErrorKind as K;
    let mut source = error.source();
    while let Some(cause) = source {
        // ureq's error holds an io::Error without giving it as its source().
        let io = cause.downcast_ref::<io::Error>().or_else(|| {
            match cause.downcast_ref::<ureq::Error>() {
                Some(ureq::Error::Io(e)) => Some(e),
                _ => None,
            }
        });
        if let Some(io) = io {
            return match io.kind() {
                K::ConnectionRefused => Some("connection refused"),
                K::HostUnreachable => Some("host unreachable"),
                K::NetworkUnreachable => Some("network unreachable"),
                K::AddrNotAvailable => Some("address not available"),
                _ => None,
            };
        }
        source = cause.source();
    }
    None
}

fn print_created(out: &mut dyn Write, created: &CreateTokenResponse) -> io::Result<()> {
    let rows = [
        ["TOKEN_ID", created.token_id.as_str()],
        ["CREATED_AT", created.created_at.as_str()],
        ["EXPIRES_AT", created.expires_at.as_deref().unwrap_or("-")],
        ["TOKEN", created.token.as_str()],
    ];
    print_table(out, &[], &rows)
}

/// Tokens as table rows, under the header when `header`.
fn print_tokens(out: &mut dyn Write, tokens: &[AccessToken], header: bool) -> io::Result<()> {
    let rows: Vec<[&str; 5]> = tokens
        .iter()
        .map(|t| {
            [
                t.id.as_deref().unwrap_or("-"),
                t.name.as_deref().unwrap_or("-"),
                t.created_at.as_str(),
                t.expires_at.as_deref().unwrap_or("-"),
                t.discarded_at.as_deref().unwrap_or("-"),
            ]
        })
        .collect();
    let names = ["ID", "NAME", "CREATED_AT", "EXPIRES_AT", "DISCARDED_AT"];
    print_table(out, if header { &names } else { &[] }, &rows)
}

/// Columns padded to their widest cell; `header` may be empty.
fn print_table<const N: usize>(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[[&str; N]],
) -> io::Result<()> {
    let header: Option<[&str; N]> = header.try_into().ok();
    let all: Vec<&[&str; N]> = header.iter().chain(rows).collect();
    let widths: Vec<usize> = (0..N)
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in all {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    out.write_all(text.as_bytes())
}

fn print_json(out: &mut dyn Write, value: &impl Serialize) -> Result<(), Stop> {
    let text = serde_json::to_string_pretty(value)?;
    Ok(writeln!(out, "{text}")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use httpmock::Method::{DELETE, GET, POST};
    use httpmock::MockServer;
    use magicbell_jwt::{FakeFault, FakeServer};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    // A server that answers whatever a test's script says and counts
    // connections, shared with the library's tests.
    use magicbell_jwt_test_support as fault_server;

    const BOOM: &str = "server answered 500 Internal Server Error: internal: boom";
    const STORE_IT: &str = "Store the token now: it cannot be shown again.\n";

    /// `line` as the process would get it, after the program's name.
    fn argv(line: &str) -> Vec<OsString> {
        std::iter::once("tokens")
            .chain(line.split_whitespace())
            .map(OsString::from)
            .collect()
    }

    fn parsed(line: &str) -> Parsed {
        parse(argv(line)).unwrap()
    }

    fn command(line: &str) -> Command {
        match parsed(line) {
            Parsed::Run(invocation) => invocation.command,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    fn refused(line: &str) -> String {
        parse(argv(line)).unwrap_err().message
    }

    /// The tool run on `line` against `server`: exit status, stdout, stderr.
    fn tool(server: &MockServer, line: &str) -> (u8, String, String) {
        let base_url = server.url("/v2");
        tool_with(
            &[
                ("MAGICBELL_TOKEN", "sk-test"),
                ("MAGICBELL_BASE_URL", &base_url),
            ],
            line,
        )
    }

    /// The tool run on `line` with only `vars` in its environment.
    fn tool_with(vars: &[(&str, &str)], line: &str) -> (u8, String, String) {
        run_tool(vars, line, "", SystemTime::now(), None)
    }

    /// The tool run on `line` with only `vars` in its environment, `stdin`
    /// as its input, at `now`, with stderr a terminal when `progress_after`
    /// is set. It never prints the bearer token, nor a minted token (`jwt-…`
    /// or JWT-shaped `eyJ…`) on stderr, and shows no progress line (`\r`)
    /// on a stderr that is not a terminal.
    fn run_tool(
        vars: &[(&str, &str)],
        line: &str,
        stdin: &str,
        now: SystemTime,
        progress_after: Option<Duration>,
    ) -> (u8, String, String) {
        let env = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let tune = |builder: ClientBuilder| builder.max_retries(0).no_proxy();
        let host = Host {
            input: &mut stdin.as_bytes(),
            out: &mut out,
            err: &mut err,
            progress_after,
            now,
        };
        let code = cli(argv(line), &env, tune, host);
        let (out, err) = (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        );
        let bearer = env("MAGICBELL_TOKEN")
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "sk-test".to_owned());
        assert!(
            !out.contains(&bearer) && !err.contains(&bearer),
            "{out}{err}"
        );
        assert!(
            !err.contains("jwt-") && !err.contains("eyJ"),
            "a minted token on stderr: {err}"
        );
        if progress_after.is_none() {
            assert!(
                !err.contains('\r'),
                "progress on a stderr that is no terminal: {err:?}"
            );
        }
        (code, out, err)
    }

    /// The tool run on `line` against `fake`, with its admin token, at its
    /// clock, with `stdin` as its input.
    fn on_fake(fake: &FakeServer, line: &str, stdin: &str) -> (u8, String, String) {
        let base_url = fake.base_url();
        let vars = [
            ("MAGICBELL_TOKEN", fake.admin_token()),
            ("MAGICBELL_BASE_URL", base_url.as_str()),
        ];
        run_tool(&vars, line, stdin, fake.now(), None)
    }

    /// A project token made on `fake` (through its own client): its id.
    fn seed(fake: &FakeServer, name: &str, expiry: Option<u64>) -> String {
        let mut request = CreateProjectTokenRequest::new(name);
        if let Some(seconds) = expiry {
            request = request.expiry(seconds);
        }
        fake.client().create_project_jwt(&request).unwrap().token_id
    }

    /// A token made on `fake` for the user with this email: its id.
    fn seed_user(fake: &FakeServer, email: &str) -> String {
        let request = CreateUserTokenRequest::for_email(email);
        fake.client().create_user_jwt(&request).unwrap().token_id
    }

    /// The ids of `tokens` that are revoked, and of those that are not.
    fn revoked_and_live(tokens: &[AccessToken]) -> (Vec<String>, Vec<String>) {
        let (revoked, live): (Vec<_>, Vec<_>) = tokens.iter().partition(|t| t.is_discarded());
        let id = |t: &AccessToken| t.id.clone().unwrap();
        (
            revoked.into_iter().map(id).collect(),
            live.into_iter().map(id).collect(),
        )
    }

    /// The paths of the `DELETE`s `fake` read, in order.
    fn deletes(fake: &FakeServer) -> Vec<String> {
        fake.requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .map(|r| r.path)
            .collect()
    }

    /// `revoked ID` for each id, then the count line.
    fn revoked_lines(ids: &[String], failed: usize) -> String {
        let lines: String = ids.iter().map(|id| format!("revoked {id}\n")).collect();
        format!("{lines}revoked {}, failed {failed}\n", ids.len())
    }

    fn document(out: &str) -> serde_json::Value {
        serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    fn named(id: &str, name: &str, expires_at: Option<&str>, discarded: bool) -> serde_json::Value {
        json!({
            "id": id, "name": name, "created_at": "2026-01-01T00:00:00Z",
            "expires_at": expires_at,
            "discarded_at": if discarded { Some("2026-01-02T00:00:00Z") } else { None },
        })
    }

    fn token(id: &str) -> serde_json::Value {
        json!({"id": id, "name": format!("n {id}"), "created_at": "2026-01-01T00:00:00Z"})
    }

    fn serve_list<'a>(
        server: &'a MockServer,
        path: &str,
        tokens: Vec<serde_json::Value>,
    ) -> httpmock::Mock<'a> {
        server.mock(|when, then| {
            when.method(GET).path(path.to_owned());
            then.status(200)
                .json_body(json!({"data": tokens, "links": {"next": null}}));
        })
    }

    fn serve_boom<'a>(
        server: &'a MockServer,
        method: httpmock::Method,
        path: &str,
    ) -> httpmock::Mock<'a> {
        server.mock(|when, then| {
            when.method(method).path(path.to_owned());
            then.status(500)
                .json_body(json!({"errors": [{"code": "internal", "message": "boom"}]}));
        })
    }

    fn serve_discard<'a>(server: &'a MockServer, path: &str, status: u16) -> httpmock::Mock<'a> {
        let id = path.rsplit('/').next().unwrap().to_owned();
        server.mock(|when, then| {
            when.method(DELETE).path(path.to_owned());
            then.status(status)
                .json_body(json!({"token_id": id, "discarded_at": "2026-11-29T00:00:00Z"}));
        })
    }

    fn serve_create<'a>(server: &'a MockServer) -> httpmock::Mock<'a> {
        server.mock(|when, then| {
            when.method(POST).path("/v2/jwt/project");
            then.status(201).json_body(json!({"token": "jwt-new", "token_id": "new1", "created_at": "2026-11-29T00:00:00Z"}));
        })
    }

    /// What `rotate` prints for `serve_create`'s token in text mode.
    const NEW_TOKEN_TABLE: &str = "\
TOKEN_ID    new1
CREATED_AT  2026-11-29T00:00:00Z
EXPIRES_AT  -
TOKEN       jwt-new
";

    /// `serve_create`'s token as the JSON documents carry it.
    fn new_token_json() -> serde_json::Value {
        json!({"token": "jwt-new", "token_id": "new1", "created_at": "2026-11-29T00:00:00Z", "expires_at": null})
    }

    /// A mock for any request of `method`, to count that none was sent.
    fn any<'a>(server: &'a MockServer, method: httpmock::Method) -> httpmock::Mock<'a> {
        server.mock(|when, then| {
            when.method(method);
            then.status(599);
        })
    }

    fn any_request(server: &MockServer) -> httpmock::Mock<'_> {
        server.mock(|when, then| {
            when.any_request();
            then.status(599);
        })
    }

    /// stdout whose reader went away: it takes its first `writes` writes
    /// whole, then every write fails with a broken pipe.
    struct Closing {
        taken: Vec<u8>,
        writes: usize,
    }

    impl Closing {
        fn after(writes: usize) -> Closing {
            Closing {
                taken: Vec::new(),
                writes,
            }
        }

        fn text(&self) -> String {
            String::from_utf8(self.taken.clone()).unwrap()
        }
    }

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.writes == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.writes -= 1;
            self.taken.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// What a closed stdout makes the tool say.
    fn broken_pipe() -> String {
        let e = io::Error::from(io::ErrorKind::BrokenPipe);
        format!("error: could not write the output: {e}\n")
    }

    /// stdout that notes, at each flush, what it holds and how many
    /// requests (and of them `DELETE`s) the fake has read by then.
    struct Recorder<'a> {
        bytes: Vec<u8>,
        flushes: Vec<(String, usize, usize)>,
        fake: &'a FakeServer,
    }

    impl<'a> Recorder<'a> {
        fn new(fake: &'a FakeServer) -> Self {
            Recorder {
                bytes: Vec::new(),
                flushes: Vec::new(),
                fake,
            }
        }
    }

    impl Write for Recorder<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            let text = String::from_utf8_lossy(&self.bytes).into_owned();
            let requests = self.fake.requests();
            let deletes = requests.iter().filter(|r| r.method == "DELETE").count();
            self.flushes.push((text, requests.len(), deletes));
            Ok(())
        }
    }

    /// The tool run on `line` against `fake` with `out` as its stdout: the
    /// exit status and stderr, which never holds a minted token.
    fn on_fake_into(fake: &FakeServer, line: &str, out: &mut dyn Write) -> (u8, String) {
        let (base_url, admin) = (fake.base_url(), fake.admin_token().to_owned());
        let env = |name: &str| match name {
            "MAGICBELL_TOKEN" => Some(admin.clone()),
            "MAGICBELL_BASE_URL" => Some(base_url.clone()),
            _ => None,
        };
        let mut err = Vec::new();
        let host = Host {
            input: &mut io::empty(),
            out,
            err: &mut err,
            progress_after: None,
            now: fake.now(),
        };
        let code = cli(argv(line), &env, |b| b.max_retries(0), host);
        let err = String::from_utf8(err).unwrap();
        assert!(!err.contains("eyJ"), "a minted token on stderr: {err}");
        (code, err)
    }

    // --- Parsing ---

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
    fn parallel_0_exits_2_sending_nothing() {
        let fake = FakeServer::start().unwrap();

        let (code, out, err) = on_fake(&fake, "user-revoke-all u1 --parallel 0", "");

        assert_eq!((code, out.as_str()), (2, ""));
        assert_eq!(
            err,
            "error: --parallel takes 1 to 64, not 0; see 'tokens user-revoke-all --help'\n"
        );
        assert!(fake.requests().is_empty());
    }

    #[test]
    fn the_program_is_named_as_invoked() {
        let name = |path: &str| program_name(Some(&OsString::from(path)));
        assert_eq!(name("target/debug/examples/tokens"), "tokens");
        assert_eq!(name("/usr/local/bin/mb-tokens"), "mb-tokens");
        assert_eq!(program_name(None), "tokens");

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

    // --- The parser's conventions, end to end ---

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
tokens rotate: create a project token NAME, then revoke every other live project token named NAME

USAGE:
    tokens rotate NAME [--expiry SECS] [--parallel N] [--dry-run] [--json]

OPTIONS:
    --expiry SECS  seconds the new token stays valid (default: the API's)
    --parallel N   requests in flight at once, 1 to 64 (default 8)
    --dry-run      send no POST and no DELETE: say what would be done
    --json         one JSON document on stdout instead of text
    -h, --help     this text

A NAME that starts with '-' goes after '--': tokens rotate -- -x
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
            "error: rotate does not take --dryrun (did you mean --dry-run?); see 'tokens rotate --help'\n"
        );
        assert_eq!(top_code, 2);
        assert_eq!(
            top_err,
            "error: unknown command \"lst\" (did you mean list?); see 'tokens --help'\n"
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
            "error: unknown command \"xyzlist\"; see 'tokens --help'\n"
        );
        assert_eq!(near_code, 2);
        assert_eq!(
            near_err,
            "error: unknown command \"yzlist\" (did you mean list?); see 'tokens --help'\n"
        );
        anything.assert_calls(0);
    }

    #[test]
    fn the_overview_puts_jobs_apart_and_a_long_synopsis_on_its_own_line() {
        let server = MockServer::start();
        let anything = any_request(&server);

        let (code, out, err) = tool(&server, "--help");

        assert_eq!((code, err.as_str()), (0, ""));
        assert_eq!(
            out,
            "\
tokens: list, create and revoke MagicBell JWTs

USAGE:
    tokens <COMMAND> [ARGS] [OPTIONS]
    tokens <COMMAND> --help    one command's usage (also: tokens help <COMMAND>)

COMMANDS:
    list [--limit N] [--all]                 project tokens: one page, or every page with --all
    create NAME [--expiry SECS]              create a project token (its value is shown once)
    discard TOKEN_ID                         revoke a project token
    user-list USER_ID [--limit N] [--all]    a user's tokens
    user-create (--email E | --external-id X) [--name N] [--expiry SECS]
                                             create a user token (its value is shown once)
    user-discard TOKEN_ID                    revoke a user token

JOBS (each revokes only tokens not revoked yet; --dry-run sends no POST or DELETE):
    rotate NAME [--expiry SECS] [--parallel N] [--dry-run]
                                             create a project token NAME, then revoke
                                             every other live project token named NAME
    prune (--expired | --older-than DAYS) [--name NAME] [--parallel N] [--dry-run]
                                             revoke live project tokens expired now, or
                                             created more than DAYS days ago
    user-revoke-all (USER_ID... | -) [--parallel N] [--dry-run]
                                             revoke every live token of each user;
                                             '-' reads the USER_IDs from stdin, one a line

OPTIONS:
    --json          one JSON document on stdout instead of a table, on every
                    path once the command line is accepted (a refused one
                    is named on stderr only: --json may not be read yet)
    -h, --help      this text
    -V, --version   the tool's version
    --              ends options: an id that starts with '-' goes after it
    An option's value goes after a space or an '=': --limit 5, --limit=5

EXIT STATUS:
    0 success; 1 a call failed (a job goes on with the rest of its revokes and
    names each failure on stderr); 2 bad arguments, input refused before
    anything was sent, or no MAGICBELL_TOKEN

ENVIRONMENT:
    MAGICBELL_TOKEN      the project token to authenticate with (required)
    MAGICBELL_BASE_URL   the API's base URL (default https://api.magicbell.com/v2):
                         https, or http to a loopback host only
"
        );
        anything.assert_calls(0);
    }

    #[test]
    fn every_option_in_a_command_usage_is_accepted() {
        for spec in COMMANDS {
            for (usage, _) in spec.options {
                let name = usage.split(' ').next().unwrap();
                assert!(
                    spec.option(name.trim_start_matches('-')).is_some(),
                    "{} {name}",
                    spec.name
                );
            }
            assert!(usage("tokens").contains(&format!("    {} ", spec.name)));
        }
    }

    // --- Jobs, against a FakeServer: the state afterwards ---

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
                     tokens {discard} -- {new_id}\n"
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

    /// The requests `fake` read after the first `from`: method and path.
    fn sent(fake: &FakeServer, from: usize) -> Vec<(String, String)> {
        fake.requests()[from..]
            .iter()
            .map(|r| (r.method.clone(), r.path.clone()))
            .collect()
    }

    /// `DELETE` of each project token id, in order.
    fn deletes_of(ids: &[String]) -> Vec<(String, String)> {
        let path = |id: &String| format!("/v2/jwt/project/{id}");
        ids.iter()
            .map(|id| ("DELETE".to_owned(), path(id)))
            .collect()
    }

    /// What a job whose stdout failed while showing a batch says on stderr
    /// about that batch's revokes.
    fn unshown_batch(ids: &[String]) -> String {
        let lines: String = ids.iter().map(|id| format!("revoked {id}\n")).collect();
        format!("could not show these revokes on stdout (broken pipe):\n{lines}")
    }

    #[test]
    fn a_job_whose_stdout_closes_after_the_new_token_stops_and_keeps_it() {
        let fake = FakeServer::start().unwrap();
        let mut old: Vec<String> = (0..40).map(|_| seed(&fake, "deploy", None)).collect();
        old.reverse(); // the list is newest first
        let seeding = fake.requests().len();
        // The new token is written (in one write); the first batch's
        // lines are not.
        let mut out = Closing::after(1);

        let (code, err) = on_fake_into(&fake, "rotate deploy --parallel 1", &mut out);

        let tokens = fake.project_tokens();
        let new_id = tokens[0].id.clone().unwrap();
        assert_eq!(code, 1);
        // One batch of 16 was revoked before its lines failed: they are on
        // stderr instead, with the count; then the job stopped.
        assert_eq!(
            err,
            format!(
                "{STORE_IT}{}{}revoked 16, failed 0\n",
                unshown_batch(&old[..16]),
                broken_pipe()
            )
        );
        assert!(out.text().contains(&new_id), "{}", out.text());
        assert!(out.text().contains("eyJ"), "{}", out.text());
        assert!(!out.text().contains("revoked"), "{}", out.text());
        // The new token stays live: it was shown.
        let (mut revoked, live) = revoked_and_live(&tokens);
        revoked.sort();
        let mut first = old[..16].to_vec();
        first.sort();
        assert_eq!(revoked, first);
        assert_eq!(live.len(), 25);
        assert!(live.contains(&new_id));
        let sent = sent(&fake, seeding);
        // The create, the list's two pages, the batch.
        let methods: Vec<&str> = sent[..3].iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(methods, ["POST", "GET", "GET"]);
        assert_eq!(sent[3..], deletes_of(&old[..16]));
    }

    #[test]
    fn a_json_job_whose_stdout_closes_after_the_new_token_revokes_nothing_more() {
        let fake = FakeServer::start().unwrap();
        let old: Vec<String> = (0..40).map(|_| seed(&fake, "deploy", None)).collect();
        let seeding = fake.requests().len();
        // The document's `{"created": ...` is written (in one write); the
        // opening of its `"revoked"` array is not, so nothing is revoked.
        let mut out = Closing::after(1);

        let (code, err) = on_fake_into(&fake, "rotate deploy --parallel 1 --json", &mut out);

        let tokens = fake.project_tokens();
        let new_id = tokens[0].id.clone().unwrap();
        assert_eq!(code, 1);
        assert_eq!(err, broken_pipe());
        assert!(
            out.text().starts_with("{\n  \"created\": {"),
            "{}",
            out.text()
        );
        assert!(out.text().contains(&new_id), "{}", out.text());
        assert!(!out.text().contains("revoked"), "{}", out.text());
        let (revoked, live) = revoked_and_live(&tokens);
        assert!(revoked.is_empty(), "{revoked:?}");
        assert_eq!(live.len(), 41);
        assert!(old.iter().all(|id| live.contains(id)));
        let methods: Vec<String> = sent(&fake, seeding).into_iter().map(|(m, _)| m).collect();
        // The create and the list's two pages: no revoke.
        assert_eq!(methods, ["POST", "GET", "GET"]);
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
            format!("would create a project token named \"deploy\"\nwould revoke {old}\nwould revoke 1\n")
        );
        assert_eq!(json_code, 0);
        assert_eq!(
            document(&json_out),
            json!({"dry_run": true, "would_create": "deploy", "would_revoke": [old]})
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

    /// What the fake's injected 500 makes a call say.
    const FAKE_500: &str = "server answered 500 Internal Server Error: internal_server_error: \
                            a fault injected into the fake: status 500 (FakeServer::inject set \
                            this answer up; the next requests are answered normally once it is \
                            used)";

    #[test]
    fn a_create_answered_5xx_says_where_the_token_it_may_have_made_is() {
        let project = "the create may have gone through: look for a new token named \"deploy\" \
                       and revoke it; list the tokens with: tokens list";
        let user = "the create may have gone through: look for a new token of a@x and revoke \
                    it; list the tokens with: tokens user-list -- a@x";
        // A user id the shell or the parser would misread, quoted.
        let odd = "the create may have gone through: look for a new token of -o'x$ and revoke \
                   it; list the tokens with: tokens user-list -- '-o'\\''x$'";
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
        assert_eq!(document(&out), json!({"revoked": [old_ci], "failed": []}));
        let (revoked, live) = revoked_and_live(&fake.project_tokens());
        assert_eq!((revoked, live), (vec![old_ci], vec![fresh_ci, old_deploy]));
    }

    /// Tokens for `a@x` (two live, one revoked), `b@x` and `c@x`: the live
    /// ones of `a@x` and `b@x` in walk order, and `c@x`'s.
    fn seed_users(fake: &FakeServer) -> (Vec<String>, String) {
        let a1 = seed_user(fake, "a@x");
        let a_gone = seed_user(fake, "a@x");
        fake.client().discard_user_jwt(&a_gone).unwrap();
        let a2 = seed_user(fake, "a@x");
        let b1 = seed_user(fake, "b@x");
        let c1 = seed_user(fake, "c@x");
        (vec![a2, a1, b1], c1)
    }

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
            json!({"revoked": theirs, "failed": [], "failed_users": []})
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
            json!({"revoked": [], "failed": [], "failed_users": [{"user": "a@x", "error": fault}]})
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
            json!({"dry_run": true, "would_revoke": theirs, "failed_users": []})
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

        let see = "see 'tokens user-revoke-all --help'";
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
        revoke(&job, Kind::Project, &ids, &mut report, &mut hooks);

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
                assert_eq!(document(last), json!({"revoked": ids, "failed": []}));
            } else {
                assert_eq!(*last, revoked_lines(&ids, 0));
            }
        }
    }

    #[test]
    fn shell_quote_leaves_plain_words_and_single_quotes_the_rest() {
        let cases = [
            ("a@x", "a@x"),
            ("-x", "-x"),
            ("ut_1.2:3,4+5=6%7/8", "ut_1.2:3,4+5=6%7/8"),
            ("", "''"),
            ("a b", "'a b'"),
            ("it's", "'it'\\''s'"),
            ("$HOME", "'$HOME'"),
            ("~u", "'~u'"),
            ("*", "'*'"),
            ("a\nb", "'a\nb'"),
        ];
        for (arg, quoted) in cases {
            assert_eq!(shell_quote(arg), quoted, "{arg:?}");
            // The shell reads it back as it was.
            let back = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {quoted}")])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(back.stdout).unwrap(), arg, "{arg:?}");
        }
    }

    #[test]
    fn a_new_token_left_live_is_named_with_a_command_that_pastes_whole() {
        for (kind, discard) in [(Kind::Project, "discard"), (Kind::User, "user-discard")] {
            let mut err = Vec::new();
            let mut output = Output {
                out: &mut io::sink(),
                err: &mut err,
                json: false,
                prog: "my tokens".to_owned(),
                target: None,
                doc: Doc::default(),
                broken: false,
                progress: None,
            };
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

    #[test]
    fn a_failed_revoke_is_named_on_stderr_when_its_batch_ends() {
        let mut err = Vec::new();
        let mut output = Output {
            out: &mut io::sink(),
            err: &mut err,
            json: false,
            prog: "tokens".to_owned(),
            target: None,
            doc: Doc::default(),
            broken: false,
            progress: None,
        };
        let ids = ["a", "b"].map(String::from);
        // Refused before sending: no server needed.
        let gone = Client::new("sk-test").unwrap().discard_project_jwt("");
        let gone = gone.unwrap_err();
        let message = gone.to_string();
        let done: DiscardTokenResponse = serde_json::from_value(
            json!({"token_id": "a", "discarded_at": "2026-01-02T00:00:00Z"}),
        )
        .unwrap();

        output.revoked(&ids, &[Ok(done), Err(gone)]).unwrap();

        assert_eq!(
            String::from_utf8(err).unwrap(),
            format!("failed to revoke b: {message}\n")
        );
    }

    #[test]
    fn a_batch_stdout_cannot_take_names_its_failure_first_in_either_mode() {
        for json in [false, true] {
            let mut err = Vec::new();
            let mut out = Closing::after(0);
            let mut output = Output {
                out: &mut out,
                err: &mut err,
                json,
                prog: "tokens".to_owned(),
                target: None,
                doc: Doc::default(),
                broken: false,
                progress: None,
            };
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

    /// A server for the jobs' parallelism. `user-revoke-all u0 u1 …`: each
    /// user has one token, `uN-t`. `rotate deploy` and `prune --expired`:
    /// eight expired project tokens named `deploy`, `p0` to `p7`, and a
    /// create answering `new1`. A request whose method is in `hold` is held
    /// until `wanted` of its method are in flight together; once one has
    /// waited `patience` in vain, no later one of that method waits, so an
    /// implementation that sends one at a time fails after one patience,
    /// not one per request. The most in flight of each method, and the
    /// order of the requests, are noted.
    struct Counting {
        server: fault_server::FaultServer,
        most: Arc<Mutex<HashMap<String, usize>>>,
        order: Arc<Mutex<Vec<String>>>,
    }

    impl Counting {
        /// The most `method` requests ever in flight together.
        fn most(&self, method: &str) -> usize {
            self.most.lock().unwrap().get(method).copied().unwrap_or(0)
        }
    }

    /// The eight ids `Counting` lists as project tokens.
    fn project_ids() -> Vec<String> {
        (0..8).map(|i| format!("p{i}")).collect()
    }

    fn counting_server(
        hold: &'static [&'static str],
        wanted: usize,
        patience: Duration,
    ) -> Counting {
        #[derive(Default)]
        struct Flight {
            now: usize,
            gave_up: bool,
        }
        let flights: Arc<Mutex<HashMap<String, Flight>>> = Arc::default();
        let most: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let order = Arc::new(Mutex::new(Vec::new()));
        let (most2, order2) = (most.clone(), order.clone());
        let server = fault_server::FaultServer::start(move |_, request| {
            let (method, target) = (request.method.clone(), request.target.clone());
            order2.lock().unwrap().push(format!("{method} {target}"));
            if hold.contains(&method.as_str()) {
                let now = {
                    let mut flights = flights.lock().unwrap();
                    let flight = flights.entry(method.clone()).or_default();
                    flight.now += 1;
                    flight.now
                };
                let mut most = most2.lock().unwrap();
                let top = most.entry(method.clone()).or_default();
                *top = (*top).max(now);
                drop(most);
                let started = Instant::now();
                loop {
                    let mut flights = flights.lock().unwrap();
                    let flight = flights.get_mut(&method).unwrap();
                    if flight.now >= wanted || flight.gave_up {
                        break;
                    }
                    if started.elapsed() >= patience {
                        flight.gave_up = true;
                        break;
                    }
                    drop(flights);
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Let the others of this round see the full count before leaving.
                std::thread::sleep(Duration::from_millis(5));
                flights.lock().unwrap().get_mut(&method).unwrap().now -= 1;
            }
            let last = target.rsplit('/').next().unwrap_or_default().to_owned();
            let body = match (method.as_str(), last.as_str()) {
                ("POST", _) => {
                    let created = json!({"token": "jwt-new", "token_id": "new1", "created_at": "2026-11-29T00:00:00Z"});
                    return fault_server::json(201, &created.to_string());
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
            fault_server::json(200, &body.to_string())
        });
        Counting {
            server,
            most,
            order,
        }
    }

    fn tool_at(url: &str, line: &str) -> (u8, String, String) {
        tool_with(
            &[("MAGICBELL_TOKEN", "sk-test"), ("MAGICBELL_BASE_URL", url)],
            line,
        )
    }

    #[test]
    fn parallel_1_lists_and_revokes_one_after_another_in_order() {
        // The first request of each kind is held 50 ms: one sent alongside
        // would be seen.
        let c = counting_server(&["GET", "DELETE"], 2, Duration::from_millis(50));

        let (code, out, _) = tool_at(&c.server.url(), "user-revoke-all u0 u1 u2 --parallel 1");

        assert_eq!(code, 0);
        assert_eq!((c.most("GET"), c.most("DELETE")), (1, 1));
        assert_eq!(
            *c.order.lock().unwrap(),
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

    /// Long enough for four threads to meet on a loaded machine; a tool
    /// that sends one at a time waits it out once.
    const PATIENCE: Duration = Duration::from_secs(2);

    #[test]
    fn parallel_4_keeps_4_lists_then_4_revokes_in_flight_and_prints_the_same() {
        let c = counting_server(&["GET", "DELETE"], 4, PATIENCE);
        let users: Vec<String> = (0..8).map(|i| format!("u{i}")).collect();

        let line = format!("user-revoke-all {} --parallel 4", users.join(" "));
        let (code, out, _) = tool_at(&c.server.url(), &line);

        assert_eq!(code, 0);
        assert_eq!((c.most("GET"), c.most("DELETE")), (4, 4));
        assert_eq!(c.server.requests(), 16);
        let order = c.order.lock().unwrap().clone();
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

        let (code, out, _) = tool_at(&c.server.url(), "rotate deploy --parallel 4");

        assert_eq!(code, 0);
        assert_eq!(c.most("DELETE"), 4);
        assert_eq!(c.server.requests(), 1 + 1 + 8);
        assert_eq!(
            out,
            format!("{NEW_TOKEN_TABLE}{}", revoked_lines(&project_ids(), 0))
        );
    }

    #[test]
    fn prune_parallel_4_keeps_4_revokes_in_flight() {
        let c = counting_server(&["DELETE"], 4, PATIENCE);

        let (code, out, _) = tool_at(&c.server.url(), "prune --expired --parallel 4");

        assert_eq!(code, 0);
        assert_eq!(c.most("DELETE"), 4);
        assert_eq!(c.server.requests(), 1 + 8);
        assert_eq!(out, revoked_lines(&project_ids(), 0));
    }

    // --- Progress ---

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
    fn the_progress_line_is_rewritten_in_place_and_blanked_at_the_end() {
        let mut err = Vec::new();
        let mut output = Output {
            out: &mut io::sink(),
            err: &mut err,
            json: false,
            prog: "tokens".to_owned(),
            target: None,
            doc: Doc::default(),
            broken: false,
            progress: Some(Progress {
                start: Instant::now(),
                after: Duration::ZERO,
                width: 0,
            }),
        };

        output.progress("listed 1,000 tokens");
        output.progress("revoked 2 of 9");
        output.clear_progress();
        output.clear_progress();

        assert_eq!(
            String::from_utf8(err).unwrap(),
            "\rlisted 1,000 tokens\rrevoked 2 of 9     \r              \r"
        );
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
    fn a_zero_wait_shows_progress_before_the_clock_has_moved() {
        let mut err = Vec::new();
        let mut output = Output {
            out: &mut io::sink(),
            err: &mut err,
            json: false,
            prog: "tokens".to_owned(),
            target: None,
            doc: Doc::default(),
            broken: false,
            // A start in the future reads as no time elapsed (`elapsed`
            // saturates at zero), as a coarse clock may read right after
            // the job started.
            progress: Some(Progress {
                start: Instant::now() + Duration::from_secs(3600),
                after: Duration::ZERO,
                width: 0,
            }),
        };

        output.progress("revoked 2 of 9");

        assert_eq!(String::from_utf8(err).unwrap(), "\rrevoked 2 of 9");
    }

    #[test]
    fn thousands_are_separated_by_commas() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1_200, "1,200"),
            (1_234_567, "1,234,567"),
        ];
        for (n, text) in cases {
            assert_eq!(thousands(n), text);
        }
    }

    // --- Jobs, against a mock: failures a fake cannot script, exact bytes ---

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
            json!({"created": new_token_json(), "revoked": [], "failed": [], "error": BOOM})
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
            format!("{NEW_TOKEN_TABLE}revoked old2\nrevoked 1, failed 1\n")
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
            json!({"dry_run": true, "would_create": "deploy", "would_revoke": [], "error": BOOM})
        );
        assert_eq!(err, format!("error: {BOOM}\n"));
        posts.assert_calls(0);
        deletes.assert_calls(0);
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
            json!({"revoked": [], "failed": [], "error": BOOM})
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
            "error: prune needs --expired or --older-than DAYS; see 'tokens prune --help'\n"
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

    #[test]
    fn user_revoke_all_goes_on_past_a_failure_and_exits_1() {
        let server = MockServer::start();
        serve_list(
            &server,
            "/v2/jwt/user/u1",
            vec![
                named("a", "x", None, false),
                named("b", "x", None, true),
                named("c", "x", None, false),
            ],
        );
        let a = serve_discard(&server, "/v2/jwt/user/a", 404);
        let c = serve_discard(&server, "/v2/jwt/user/c", 200);
        let others = any(&server, DELETE);

        let (code, out, err) = tool(&server, "user-revoke-all u1");

        assert_eq!(code, 1);
        assert_eq!(out, "revoked c\nrevoked 1, failed 1\n");
        assert_eq!(
            err,
            "failed to revoke a: server answered 404 Not Found: {\"discarded_at\":\"2026-11-29T00:00:00Z\",\"token_id\":\"a\"}\n"
        );
        a.assert_calls(1);
        c.assert_calls(1);
        others.assert_calls(0);
    }

    // --- Setup and messages ---

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
        let (json_code, json_out, _) =
            tool_with(&[("MAGICBELL_BASE_URL", &base_url)], "list --json");

        // Worded for an installed tool too: no `cargo run --example quickstart`.
        let way_out = "\
MAGICBELL_TOKEN is not set. Set it to a MagicBell project token allowed to
manage tokens:
    export MAGICBELL_TOKEN=...
To try the tool without one, run the fake MagicBell in a checkout of
magicbell-jwt and export the two variables it prints:
    cargo run -q --example fake_server > fake.env &
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
    fn each_connect_failure_is_named_by_its_io_error_kind() {
        /// A failure whose cause is `io::Error`, as the library's are.
        #[derive(Debug)]
        struct Failed(io::Error);
        impl std::fmt::Display for Failed {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("failed")
            }
        }
        impl std::error::Error for Failed {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        use io::ErrorKind as K;
        let reason = |kind: K| io_reason(&Failed(kind.into()));

        assert_eq!(reason(K::ConnectionRefused), Some("connection refused"));
        assert_eq!(reason(K::HostUnreachable), Some("host unreachable"));
        assert_eq!(reason(K::NetworkUnreachable), Some("network unreachable"));
        assert_eq!(reason(K::AddrNotAvailable), Some("address not available"));
        assert_eq!(reason(K::TimedOut), None);
    }

    #[test]
    fn behind_a_proxy_variable_the_library_message_and_its_causes_stay() {
        // The client ignores the proxy (tests pass no_proxy), but the tool
        // cannot tell that a refused connection was not the proxy's.
        let vars = [
            ("MAGICBELL_TOKEN", "sk-test"),
            ("MAGICBELL_BASE_URL", "http://127.0.0.1:9/v2"),
            ("https_proxy", "http://127.0.0.1:9"),
        ];

        let (code, _, err) = tool_with(&vars, "discard tok_1");

        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(code, 1);
        assert_eq!(
            lines[0],
            "error: no usable answer from the server: could not connect to 127.0.0.1:9: connection refused"
        );
        assert!(lines[1].starts_with("  caused by: io: "), "{err}");
    }

    /// Set in the process `main_runs_the_command_line_the_process_got`
    /// starts: there that test runs `main` and exits with its status.
    const RUN_MAIN: &str = "TOKENS_TEST_RUN_MAIN";

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
        let name = "tests::main_runs_the_command_line_the_process_got";
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
    fn the_target_names_the_default_base_url_and_its_port() {
        let env = |name: &str| (name == "MAGICBELL_TOKEN").then(|| "sk-test".to_owned());

        let (_, target) = connect(&env, |b| b).unwrap();

        assert_eq!(
            target,
            Target {
                address: "api.magicbell.com:443".into(),
                origin: "default",
                proxied: false
            }
        );
    }

    #[test]
    fn host_port_adds_the_scheme_port_when_none_is_written() {
        assert_eq!(
            host_port("https://api.magicbell.com/v2"),
            "api.magicbell.com:443"
        );
        assert_eq!(host_port("http://localhost/v2"), "localhost:80");
        assert_eq!(host_port("http://127.0.0.1:9/v2"), "127.0.0.1:9");
        assert_eq!(host_port("http://[::1]:8080/v2"), "[::1]:8080");
        assert_eq!(host_port("https://[::1]/v2"), "[::1]:443");
        assert_eq!(
            host_port("https://user:pw@example.com/v2"),
            "example.com:443"
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
                format!("tokens {}\n", env!("CARGO_PKG_VERSION")),
                String::new()
            )
        );
        let (code, out, err) = tool(&server, "");
        assert_eq!((code, out.as_str()), (2, ""));
        assert!(err.starts_with("tokens: list, create and revoke"), "{err}");
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

    // --- Lists, creates, discards ---

    /// The ids in a `{"data": [...]}` document.
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
            when.method(POST).path("/v2/jwt/user").json_body(json!({"email": "a@b.c"}));
            then.status(201).json_body(json!({"token": "jwt-value", "token_id": "ut_1", "created_at": "2026-01-01T00:00:00Z"}));
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
            then.status(404).json_body(
                json!({"errors": [{"code": "not_found", "message": "token not found"}]}),
            );
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
}
