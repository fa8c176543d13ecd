//! `tokens`: a small admin tool for MagicBell JWTs, built on `magicbell-jwt`.
//!
//! ```text
//! export MAGICBELL_TOKEN=...            # a project token allowed to manage tokens
//! cargo run --example tokens -- --help
//! cargo run --example tokens -- list --all --json
//! ```

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use magicbell_jwt::{
    AccessToken, Client, CreateProjectTokenRequest, CreateTokenResponse, CreateUserTokenRequest,
    DiscardTokenResponse, FetchTokensParams,
};
use serde::Serialize;

const USAGE: &str = "\
tokens: list, create and revoke MagicBell JWTs

USAGE:
    cargo run --example tokens -- <COMMAND> [OPTIONS] [--json]

COMMANDS:
    list [--limit N] [--all]                 project tokens: one page, or every page with --all
    create NAME [--expiry SECS]              create a project token (its value is shown once)
    discard TOKEN_ID                         revoke a project token
    user-list USER_ID [--limit N] [--all]    a user's tokens
    user-create (--email E | --external-id X) [--name N] [--expiry SECS]
                                             create a user token (its value is shown once)
    user-discard TOKEN_ID                    revoke a user token

JOBS (each revokes only tokens not revoked yet; --dry-run sends no POST or DELETE):
    rotate NAME [--expiry SECS] [--dry-run]  create a project token NAME, then revoke
                                             every other project token named NAME
    prune (--expired | --older-than DAYS) [--name NAME] [--dry-run]
                                             revoke project tokens expired now, or
                                             created more than DAYS days ago
    user-revoke-all USER_ID [--dry-run]      revoke every token of one user

OPTIONS:
    --json        one JSON document on stdout instead of a table
    -h, --help    this text
    --version     the tool's version

EXIT STATUS:
    0 success; 1 a call failed (a job goes on with the rest and names each
    failure on stderr); 2 bad arguments or no MAGICBELL_TOKEN

ENVIRONMENT:
    MAGICBELL_TOKEN      the project token to authenticate with (required)
    MAGICBELL_BASE_URL   the API's base URL (default https://api.magicbell.com/v2)
";

const NO_TOKEN: &str = "\
MAGICBELL_TOKEN is not set. Set it to a MagicBell project token:
    export MAGICBELL_TOKEN=...
or try the offline demo, which needs no token:
    cargo run --example quickstart";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Help,
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
    Version,
    Rotate {
        request: CreateProjectTokenRequest,
        dry_run: bool,
    },
    Prune {
        rule: PruneRule,
        name: Option<String>,
        dry_run: bool,
    },
    UserRevokeAll {
        user_id: String,
        dry_run: bool,
    },
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = cli(
        &args,
        Client::from_env,
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
    );
    ExitCode::from(code)
}

/// The whole tool, with its client, stdout and stderr passed in: the exit
/// status for `args`.
fn cli(
    args: &[String],
    client: impl FnOnce() -> Result<Client, magicbell_jwt::Error>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    if args.is_empty() {
        let _ = write!(err, "{USAGE}");
        return 2;
    }
    let invocation = match parse(args) {
        Ok(invocation) => invocation,
        Err(message) => {
            let _ = writeln!(err, "error: {message}; see --help");
            return 2;
        }
    };
    match invocation.command {
        Command::Help => return u8::from(write(out, USAGE).is_err()),
        Command::Version => {
            let version = format!("tokens {}\n", env!("CARGO_PKG_VERSION"));
            return u8::from(write(out, &version).is_err());
        }
        _ => {}
    }
    let client = match client() {
        Ok(client) => client,
        Err(magicbell_jwt::Error::InvalidInput { reason, .. })
            if reason.contains("MAGICBELL_TOKEN") =>
        {
            let _ = writeln!(err, "{NO_TOKEN}");
            return 2;
        }
        Err(e) => {
            let _ = write!(err, "{}", report(&e));
            return 2;
        }
    };
    let result = run(&client, &invocation, out, err);
    let _ = out.flush();
    match result {
        Ok(Status::Done) => 0,
        Ok(Status::SomeFailed) => 1,
        Err(e) => {
            let _ = write!(err, "{}", report(&*e));
            // Refused before anything was sent: an argument, like a bad flag.
            let refused = matches!(
                e.downcast_ref::<magicbell_jwt::Error>(),
                Some(magicbell_jwt::Error::InvalidInput { .. })
            );
            if refused {
                2
            } else {
                1
            }
        }
    }
}

/// `error: …` and one `caused by: …` line for each error in its `source()`
/// chain: the host, proxy or TLS library's own words.
fn report(error: &dyn std::error::Error) -> String {
    let mut text = format!("error: {error}\n");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!("  caused by: {cause}\n"));
        source = cause.source();
    }
    text
}

// --- Parsing -----------------------------------------------------------------

fn create_request(name: String, expiry: Option<u64>) -> CreateProjectTokenRequest {
    let mut request = CreateProjectTokenRequest::new(name);
    request.expiry = expiry;
    request
}

fn parse(args: &[String]) -> Result<Invocation, String> {
    let mut json = false;
    let mut all = false;
    let mut dry_run = false;
    let mut expired = false;
    let mut positional = Vec::new();
    let mut options: Vec<(&str, &str)> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" | "help" => {
                return Ok(Invocation {
                    command: Command::Help,
                    json,
                })
            }
            "--version" | "-V" => {
                return Ok(Invocation {
                    command: Command::Version,
                    json,
                })
            }
            "--json" => json = true,
            "--all" => all = true,
            "--dry-run" => dry_run = true,
            "--expired" => expired = true,
            "--limit" | "--expiry" | "--email" | "--external-id" | "--name" | "--older-than" => {
                let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
                if options.iter().any(|(name, _)| name == arg) {
                    return Err(format!("{arg} is given twice"));
                }
                options.push((arg, value));
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ => positional.push(arg.as_str()),
        }
    }
    let Some((&name, rest)) = positional.split_first() else {
        return Ok(Invocation {
            command: Command::Help,
            json,
        });
    };
    let allowed: &[&str] = match name {
        "list" | "user-list" => &["--limit"],
        "create" => &["--expiry"],
        "user-create" => &["--email", "--external-id", "--name", "--expiry"],
        "discard" | "user-discard" | "user-revoke-all" => &[],
        "rotate" => &["--expiry"],
        "prune" => &["--older-than", "--name"],
        other => return Err(format!("unknown command {other:?}")),
    };
    let is_job = matches!(name, "rotate" | "prune" | "user-revoke-all");
    if dry_run && !is_job {
        return Err(format!("{name} does not take --dry-run"));
    }
    if expired && name != "prune" {
        return Err(format!("{name} does not take --expired"));
    }
    if let Some((option, _)) = options.iter().find(|(o, _)| !allowed.contains(o)) {
        return Err(format!("{name} does not take {option}"));
    }
    if all && !matches!(name, "list" | "user-list") {
        return Err(format!("{name} does not take --all"));
    }
    let option = |wanted: &str| {
        options
            .iter()
            .find(|(o, _)| *o == wanted)
            .map(|(_, v)| v.to_string())
    };
    let number = |wanted: &str| -> Result<Option<u64>, String> {
        option(wanted)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("{wanted} takes a whole number, not {v:?}"))
            })
            .transpose()
    };
    let one = |what: &str| -> Result<String, String> {
        match rest {
            [value] => Ok(value.to_string()),
            [] => Err(format!("{name} needs {what}")),
            [_, extra, ..] => Err(format!("unexpected argument {extra:?}")),
        }
    };
    let none = || match rest {
        [] => Ok(()),
        [extra, ..] => Err(format!("unexpected argument {extra:?}")),
    };
    let limit = number("--limit")?
        .map(|n| u32::try_from(n).map_err(|_| format!("--limit {n} is too large")))
        .transpose()?;

    let command = match name {
        "list" => {
            none()?;
            Command::List {
                user_id: None,
                limit,
                all,
            }
        }
        "user-list" => Command::List {
            user_id: Some(one("a USER_ID")?),
            limit,
            all,
        },
        "create" => Command::Create(create_request(one("a NAME")?, number("--expiry")?)),
        "user-create" => {
            none()?;
            let mut request = CreateUserTokenRequest::default();
            request.email = option("--email");
            request.external_id = option("--external-id");
            request.name = option("--name");
            request.expiry = number("--expiry")?;
            if request.email.is_none() && request.external_id.is_none() {
                return Err("user-create needs --email or --external-id".to_owned());
            }
            Command::CreateUser(request)
        }
        "discard" | "user-discard" => Command::Discard {
            user: name == "user-discard",
            token_id: one("a TOKEN_ID")?,
        },
        "rotate" => Command::Rotate {
            request: create_request(one("a NAME")?, number("--expiry")?),
            dry_run,
        },
        "prune" => {
            none()?;
            let rule = match (expired, number("--older-than")?) {
                (true, None) => PruneRule::Expired,
                (false, Some(days)) => PruneRule::OlderThanDays(days),
                (true, Some(_)) => {
                    return Err("prune takes --expired or --older-than, not both".to_owned())
                }
                (false, None) => {
                    return Err("prune needs --expired or --older-than DAYS".to_owned())
                }
            };
            Command::Prune {
                rule,
                name: option("--name"),
                dry_run,
            }
        }
        "user-revoke-all" => Command::UserRevokeAll {
            user_id: one("a USER_ID")?,
            dry_run,
        },
        _ => unreachable!("commands were matched above"),
    };
    Ok(Invocation { command, json })
}

// --- Running -----------------------------------------------------------------

/// What a command can fail with: the API's error, or writing the output.
type Outcome<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// How a command that ran ended.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    Done,
    /// A job that went on past failed revokes, each named on stderr.
    SomeFailed,
}

fn run(
    client: &Client,
    invocation: &Invocation,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Outcome<Status> {
    let json = invocation.json;
    match &invocation.command {
        Command::Help | Command::Version => write(out, USAGE)?,
        Command::List {
            user_id,
            limit,
            all,
        } => {
            let mut params = FetchTokensParams::default();
            params.limit = *limit;
            if *all {
                let walk = match user_id {
                    Some(user) => client.user_tokens(user, params),
                    None => client.project_tokens(params),
                };
                print_walk(out, walk.pages(), json)?;
            } else {
                let page = match user_id {
                    Some(user) => client.fetch_user_tokens(user, &params)?,
                    None => client.fetch_project_tokens(&params)?,
                };
                if json {
                    print_json(out, &page)?;
                } else {
                    print_tokens(out, &page.data, true)?;
                    if page.has_more() {
                        write(out, "(more pages: add --all to list every token)\n")?;
                    }
                }
            }
        }
        Command::Create(request) => {
            let created = client.create_project_jwt(request)?;
            print_created(out, err, &created, json)?;
        }
        Command::CreateUser(request) => {
            let created = client.create_user_jwt(request)?;
            print_created(out, err, &created, json)?;
        }
        Command::Discard { user, token_id } => {
            let discarded = if *user {
                client.discard_user_jwt(token_id)?
            } else {
                client.discard_project_jwt(token_id)?
            };
            print_discarded(out, &discarded, json)?;
        }
        Command::Rotate { request, dry_run } => {
            return rotate(client, request, *dry_run, json, out, err)
        }
        Command::Prune {
            rule,
            name,
            dry_run,
        } => {
            let now = SystemTime::now();
            let picked = |t: &AccessToken| {
                let old = match rule {
                    PruneRule::Expired => t.is_expired_at(now),
                    PruneRule::OlderThanDays(days) => t.created_at_time().is_some_and(|created| {
                        now.duration_since(created)
                            .is_ok_and(|age| age > Duration::from_secs(days.saturating_mul(86_400)))
                    }),
                };
                old && name.as_ref().is_none_or(|n| t.name.as_ref() == Some(n))
            };
            let ids = live_ids(client.project_tokens(FetchTokensParams::default()), picked)?;
            let revoke = |id: &str| client.discard_project_jwt(id).map(|_| ());
            return revoke_all(&ids, revoke, Mode::plain(*dry_run), json, out, err);
        }
        Command::UserRevokeAll { user_id, dry_run } => {
            let walk = client.user_tokens(user_id, FetchTokensParams::default());
            let ids = live_ids(walk, |_| true)?;
            let revoke = |id: &str| client.discard_user_jwt(id).map(|_| ());
            return revoke_all(&ids, revoke, Mode::plain(*dry_run), json, out, err);
        }
    }
    Ok(Status::Done)
}

/// Creates the new token first: if that fails, nothing is revoked.
fn rotate(
    client: &Client,
    request: &CreateProjectTokenRequest,
    dry_run: bool,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Outcome<Status> {
    let same_name = |t: &AccessToken| t.name.as_deref() == Some(request.name.as_str());
    if dry_run {
        if !json {
            write(
                out,
                &format!("would create a project token named {:?}\n", request.name),
            )?;
        }
        let ids = live_ids(
            client.project_tokens(FetchTokensParams::default()),
            same_name,
        )?;
        let mode = Mode::DryRun {
            would_create: Some(&request.name),
        };
        return revoke_all(&ids, |_| Ok(()), mode, json, out, err);
    }
    let created = client.create_project_jwt(request)?;
    if !json {
        print_created(out, err, &created, false)?;
    }
    let others = |t: &AccessToken| same_name(t) && t.id.as_deref() != Some(&created.token_id);
    let ids = live_ids(client.project_tokens(FetchTokensParams::default()), others)?;
    let revoke = |id: &str| client.discard_project_jwt(id).map(|_| ());
    let mode = Mode::Revoke {
        created: Some(&created),
    };
    revoke_all(&ids, revoke, mode, json, out, err)
}

/// Whether a job revokes, and what its JSON document says besides.
enum Mode<'a> {
    DryRun {
        would_create: Option<&'a str>,
    },
    Revoke {
        created: Option<&'a CreateTokenResponse>,
    },
}

impl Mode<'_> {
    fn plain(dry_run: bool) -> Self {
        if dry_run {
            Mode::DryRun { would_create: None }
        } else {
            Mode::Revoke { created: None }
        }
    }
}

/// The ids of the tokens of a whole walk that are not revoked and that
/// `keep` picks; the walk finishes before anything is revoked.
fn live_ids(
    walk: magicbell_jwt::Paginator,
    keep: impl Fn(&AccessToken) -> bool,
) -> Outcome<Vec<String>> {
    let mut ids = Vec::new();
    for token in walk {
        let token = token?;
        if !token.is_discarded() && keep(&token) {
            ids.extend(token.id);
        }
    }
    Ok(ids)
}

/// Revokes each id (or, in a dry run, only says it would), one line each,
/// then the summary; failures are named on stderr and the rest go on.
fn revoke_all(
    ids: &[String],
    revoke: impl Fn(&str) -> Result<(), magicbell_jwt::Error>,
    mode: Mode,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Outcome<Status> {
    let created = match mode {
        Mode::Revoke { created } => created,
        Mode::DryRun { would_create } => {
            return dry_run(ids, would_create, json, out).map(|()| Status::Done)
        }
    };
    let (mut revoked, mut failed) = (Vec::new(), Vec::new());
    for id in ids {
        match revoke(id) {
            Ok(()) => {
                if !json {
                    write(out, &format!("revoked {id}\n"))?;
                }
                revoked.push(id.as_str());
            }
            Err(e) => {
                write(err, &format!("failed to revoke {id}: {e}\n"))?;
                failed.push(serde_json::json!({ "id": id, "error": e.to_string() }));
            }
        }
    }
    if json {
        let mut doc = serde_json::json!({ "revoked": revoked, "failed": failed });
        if let Some(created) = created {
            doc["created"] = serde_json::to_value(created)?;
        }
        print_json(out, &doc)?;
    } else {
        write(
            out,
            &format!("revoked {}, failed {}\n", revoked.len(), failed.len()),
        )?;
    }
    Ok(if failed.is_empty() {
        Status::Done
    } else {
        Status::SomeFailed
    })
}

/// What a dry run would do; it sends nothing.
fn dry_run(ids: &[String], would_create: Option<&str>, json: bool, out: &mut dyn Write) -> Outcome {
    if json {
        let mut doc = serde_json::json!({ "dry_run": true, "would_revoke": ids });
        if let Some(name) = would_create {
            doc["would_create"] = name.into();
        }
        return print_json(out, &doc);
    }
    for id in ids {
        write(out, &format!("would revoke {id}\n"))?;
    }
    write(out, &format!("would revoke {}\n", ids.len()))
}

/// Every page of a walk, printed as it arrives: table rows under one header,
/// or one `{"data":[...]}` document written token by token.
fn print_walk(out: &mut dyn Write, pages: magicbell_jwt::Pages, json: bool) -> Outcome {
    if json {
        write(out, "{\"data\":[")?;
    }
    let mut first = true;
    for page in pages {
        let page = page?;
        if json {
            for token in &page.data {
                write(out, if first { "\n  " } else { ",\n  " })?;
                write(out, &serde_json::to_string(token)?)?;
                first = false;
            }
        } else {
            print_tokens(out, &page.data, first)?;
            first = false;
        }
        out.flush()?;
    }
    if json {
        write(out, "\n]}\n")?;
    } else if first {
        print_tokens(out, &[], true)?;
    }
    Ok(())
}

fn print_created(
    out: &mut dyn Write,
    err: &mut dyn Write,
    created: &CreateTokenResponse,
    json: bool,
) -> Outcome {
    if json {
        return print_json(out, created);
    }
    let rows = [
        ["TOKEN_ID", created.token_id.as_str()],
        ["CREATED_AT", created.created_at.as_str()],
        ["EXPIRES_AT", created.expires_at.as_deref().unwrap_or("-")],
        ["TOKEN", created.token.as_str()],
    ];
    print_table(out, &[], &rows)?;
    write(err, "Store the token now: it cannot be shown again.\n")
}

fn print_discarded(out: &mut dyn Write, discarded: &DiscardTokenResponse, json: bool) -> Outcome {
    if json {
        return print_json(out, discarded);
    }
    write(
        out,
        &format!(
            "revoked {} at {}\n",
            discarded.token_id, discarded.discarded_at
        ),
    )
}

/// Tokens as table rows, under the header when `header`.
fn print_tokens(out: &mut dyn Write, tokens: &[AccessToken], header: bool) -> Outcome {
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
) -> Outcome {
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
    write(out, &text)
}

fn print_json(out: &mut dyn Write, value: &impl Serialize) -> Outcome {
    let text = serde_json::to_string_pretty(value)?;
    write(out, &format!("{text}\n"))
}

fn write(out: &mut dyn Write, text: &str) -> Outcome {
    Ok(out.write_all(text.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use httpmock::Method::{DELETE, GET, POST};
    use httpmock::MockServer;
    use serde_json::json;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn parsed(line: &str) -> Command {
        parse(&args(line)).unwrap().command
    }

    fn refused(line: &str) -> String {
        parse(&args(line)).unwrap_err()
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(
            parsed("list"),
            Command::List {
                user_id: None,
                limit: None,
                all: false
            }
        );
        assert_eq!(
            parsed("list --limit 5 --all"),
            Command::List {
                user_id: None,
                limit: Some(5),
                all: true
            }
        );
        assert_eq!(
            parsed("create ci --expiry 60"),
            Command::Create(CreateProjectTokenRequest::new("ci").expiry(60))
        );
        assert_eq!(
            parsed("discard tok_1"),
            Command::Discard {
                user: false,
                token_id: "tok_1".into()
            }
        );
        assert_eq!(
            parsed("user-list u1 --all"),
            Command::List {
                user_id: Some("u1".into()),
                limit: None,
                all: true
            }
        );
        assert_eq!(
            parsed("user-create --email a@b.c --name inbox --expiry 9"),
            Command::CreateUser(
                CreateUserTokenRequest::for_email("a@b.c")
                    .name("inbox")
                    .expiry(9)
            )
        );
        assert_eq!(
            parsed("user-create --external-id u-1"),
            Command::CreateUser(CreateUserTokenRequest::for_external_id("u-1"))
        );
        assert_eq!(
            parsed("user-discard ut_1"),
            Command::Discard {
                user: true,
                token_id: "ut_1".into()
            }
        );
    }

    #[test]
    fn json_and_help_are_recognised_anywhere() {
        assert!(parse(&args("list --json")).unwrap().json);
        assert!(parse(&args("--json discard t")).unwrap().json);
        assert_eq!(parsed("create x --help"), Command::Help);
        assert_eq!(parsed("-h"), Command::Help);
        assert_eq!(parsed(""), Command::Help);
    }

    #[test]
    fn refuses_bad_arguments_with_a_reason() {
        assert_eq!(refused("frobnicate"), "unknown command \"frobnicate\"");
        assert_eq!(refused("list --limit"), "--limit needs a value");
        assert_eq!(
            refused("list --limit ten"),
            "--limit takes a whole number, not \"ten\""
        );
        assert_eq!(
            refused("list --limit 99999999999"),
            "--limit 99999999999 is too large"
        );
        assert_eq!(refused("list --verbose"), "unknown option --verbose");
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
    }

    fn output(client: &Client, line: &str) -> Result<String, Box<dyn std::error::Error>> {
        let mut out = Vec::new();
        run(
            client,
            &parse(&args(line)).unwrap(),
            &mut out,
            &mut io::sink(),
        )?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// The tool run on `line` against `server`: exit status, stdout, stderr.
    fn tool(server: &MockServer, line: &str) -> (u8, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let client = mock_client(server);
        let code = cli(&args(line), || Ok(client), &mut out, &mut err);
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (code, text(out), text(err))
    }

    fn named(id: &str, name: &str, expires_at: Option<&str>, discarded: bool) -> serde_json::Value {
        json!({
            "id": id, "name": name, "created_at": "2026-01-01T00:00:00Z",
            "expires_at": expires_at,
            "discarded_at": if discarded { Some("2026-01-02T00:00:00Z") } else { None },
        })
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

    fn serve_discard<'a>(server: &'a MockServer, path: &str, status: u16) -> httpmock::Mock<'a> {
        let id = path.rsplit('/').next().unwrap().to_owned();
        server.mock(|when, then| {
            when.method(DELETE).path(path.to_owned());
            then.status(status)
                .json_body(json!({"token_id": id, "discarded_at": "2026-11-29T00:00:00Z"}));
        })
    }

    /// A mock for any request of `method`, to count that none was sent.
    fn any<'a>(server: &'a MockServer, method: httpmock::Method) -> httpmock::Mock<'a> {
        server.mock(|when, then| {
            when.method(method);
            then.status(599);
        })
    }

    #[test]
    fn rotate_creates_then_revokes_only_other_live_tokens_of_that_name() {
        let server = MockServer::start();
        let create = server.mock(|when, then| {
            when.method(POST).path("/v2/jwt/project").json_body(json!({"name": "deploy", "expiry": 60}));
            then.status(201).json_body(json!({"token": "jwt-new", "token_id": "new1", "created_at": "2026-11-29T00:00:00Z"}));
        });
        serve_list(
            &server,
            "/v2/jwt/project",
            vec![
                named("old1", "deploy", None, false),
                named("old2", "deploy", None, true),
                named("other", "deployer", None, false),
                named("new1", "deploy", None, false),
            ],
        );
        let old1 = serve_discard(&server, "/v2/jwt/project/old1", 200);
        let other_deletes = any(&server, DELETE);

        let (code, out, err) = tool(&server, "rotate deploy --expiry 60");

        assert_eq!(code, 0);
        assert_eq!(err, "Store the token now: it cannot be shown again.\n");
        create.assert_calls(1);
        old1.assert_calls(1);
        other_deletes.assert_calls(0);
        assert!(out.contains("TOKEN       jwt-new\n"), "{out}");
        assert!(
            out.ends_with("revoked old1\nrevoked 1, failed 0\n"),
            "{out}"
        );
    }

    #[test]
    fn rotate_dry_run_sends_no_post_and_no_delete() {
        let server = MockServer::start();
        serve_list(
            &server,
            "/v2/jwt/project",
            vec![
                named("old1", "deploy", None, false),
                named("old2", "deploy", None, true),
            ],
        );
        let (posts, deletes) = (any(&server, POST), any(&server, DELETE));

        let (code, out, _) = tool(&server, "rotate deploy --dry-run");

        assert_eq!(code, 0);
        posts.assert_calls(0);
        deletes.assert_calls(0);
        assert_eq!(
            out,
            "would create a project token named \"deploy\"\nwould revoke old1\nwould revoke 1\n"
        );
    }

    #[test]
    fn rotate_dry_run_json_says_what_it_would_create_and_revoke() {
        let server = MockServer::start();
        serve_list(
            &server,
            "/v2/jwt/project",
            vec![named("old1", "deploy", None, false)],
        );
        let (posts, deletes) = (any(&server, POST), any(&server, DELETE));

        let (code, out, _) = tool(&server, "rotate deploy --dry-run --json");

        assert_eq!(code, 0);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            doc,
            json!({"dry_run": true, "would_create": "deploy", "would_revoke": ["old1"]})
        );
        posts.assert_calls(0);
        deletes.assert_calls(0);
    }

    #[test]
    fn rotate_json_is_one_document_with_the_new_token() {
        let server = MockServer::start();
        server.mock(|when, then| {
            when.method(POST).path("/v2/jwt/project");
            then.status(201).json_body(json!({"token": "jwt-new", "token_id": "new1", "created_at": "2026-11-29T00:00:00Z"}));
        });
        serve_list(
            &server,
            "/v2/jwt/project",
            vec![named("new1", "deploy", None, false)],
        );
        let deletes = any(&server, DELETE);

        let (code, out, _) = tool(&server, "rotate deploy --json");

        assert_eq!(code, 0);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["created"]["token"], "jwt-new");
        assert_eq!(doc["revoked"], json!([]));
        assert_eq!(doc["failed"], json!([]));
        deletes.assert_calls(0);
    }

    #[test]
    fn rotate_revokes_nothing_when_the_create_fails() {
        let server = MockServer::start();
        server.mock(|when, then| {
            when.method(POST).path("/v2/jwt/project");
            then.status(422)
                .json_body(json!({"errors": [{"message": "bad name"}]}));
        });
        let (gets, deletes) = (any(&server, GET), any(&server, DELETE));

        let (code, out, err) = tool(&server, "rotate deploy");

        assert_eq!(code, 1);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "error: server answered 422 Unprocessable Entity: bad name\n"
        );
        gets.assert_calls(0);
        deletes.assert_calls(0);
    }

    #[test]
    fn prune_expired_revokes_only_live_tokens_past_their_expiry() {
        let server = MockServer::start();
        serve_list(
            &server,
            "/v2/jwt/project",
            vec![
                named("gone", "a", Some("2020-01-01T00:00:00Z"), false),
                named("gone-revoked", "a", Some("2020-01-01T00:00:00Z"), true),
                named("future", "a", Some("2999-01-01T00:00:00Z"), false),
                named("forever", "a", None, false),
            ],
        );
        let gone = serve_discard(&server, "/v2/jwt/project/gone", 200);
        let others = any(&server, DELETE);

        let (code, out, _) = tool(&server, "prune --expired");

        assert_eq!(
            (code, out.as_str()),
            (0, "revoked gone\nrevoked 1, failed 0\n")
        );
        gone.assert_calls(1);
        others.assert_calls(0);
    }

    #[test]
    fn prune_older_than_with_a_name_revokes_only_old_tokens_of_that_name() {
        let server = MockServer::start();
        // Created after any run of this test: never older than 30 days.
        let mut fresh = named("fresh", "ci", None, false);
        fresh["created_at"] = json!("2999-01-01T00:00:00Z");
        serve_list(
            &server,
            "/v2/jwt/project",
            vec![
                named("old-ci", "ci", None, false),
                named("old-deploy", "deploy", None, false),
                fresh,
            ],
        );
        let (old_ci, others) = (
            serve_discard(&server, "/v2/jwt/project/old-ci", 200),
            any(&server, DELETE),
        );

        let (code, out, _) = tool(&server, "prune --older-than 30 --name ci --json");

        assert_eq!(code, 0);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc, json!({"revoked": ["old-ci"], "failed": []}));
        old_ci.assert_calls(1);
        others.assert_calls(0);
    }

    #[test]
    fn prune_needs_a_rule_and_exits_2() {
        let server = MockServer::start();
        let anything = server.mock(|when, then| {
            when.any_request();
            then.status(599);
        });

        let (code, _, err) = tool(&server, "prune --name ci");

        assert_eq!(code, 2);
        assert_eq!(
            err,
            "error: prune needs --expired or --older-than DAYS; see --help\n"
        );
        anything.assert_calls(0);
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

    #[test]
    fn user_revoke_all_dry_run_json_lists_what_it_would_revoke() {
        let server = MockServer::start();
        serve_list(
            &server,
            "/v2/jwt/user/u1",
            vec![named("a", "x", None, false), named("b", "x", None, true)],
        );
        let deletes = any(&server, DELETE);

        let (code, out, _) = tool(&server, "user-revoke-all u1 --dry-run --json");

        assert_eq!(code, 0);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc, json!({"dry_run": true, "would_revoke": ["a"]}));
        deletes.assert_calls(0);
    }

    #[test]
    fn a_missing_magicbell_token_exits_2_with_the_way_out() {
        // What Client::from_env answers when MAGICBELL_TOKEN is unset.
        let unset = || {
            std::env::remove_var("MAGICBELL_TOKEN");
            magicbell_jwt::Client::from_env()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());

        let code = cli(&args("prune --expired"), unset, &mut out, &mut err);

        assert_eq!(code, 2);
        assert!(out.is_empty());
        assert_eq!(String::from_utf8(err).unwrap(), format!("{NO_TOKEN}\n"));
    }

    #[test]
    fn version_no_arguments_and_refused_arguments() {
        let server = MockServer::start();
        let anything = server.mock(|when, then| {
            when.any_request();
            then.status(599);
        });

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

    #[test]
    fn list_all_prints_each_page_as_it_arrives_and_keeps_it_on_a_later_failure() {
        let server = MockServer::start();
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
                .json_body(json!({"errors": [{"message": "boom"}]}));
        });

        let (code, out, err) = tool(&server, "list --all");
        let (json_code, json_out, _) = tool(&server, "list --all --json");

        assert_eq!(code, 1);
        assert_eq!(out, "ID  NAME  CREATED_AT            EXPIRES_AT  DISCARDED_AT\na   n a   2026-01-01T00:00:00Z  -           -\n");
        assert_eq!(
            err,
            "error: server answered 500 Internal Server Error: boom\n"
        );
        assert_eq!(json_code, 1);
        assert!(
            json_out.starts_with("{\"data\":[\n  {\"created_at\":\"2026-01-01T00:00:00Z\""),
            "{json_out}"
        );
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
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["links"]["next"], "https://x/?starting_after=a");
        assert_eq!(doc["data"][0]["id"], "a");
    }

    fn token(id: &str) -> serde_json::Value {
        json!({"id": id, "name": format!("n {id}"), "created_at": "2026-01-01T00:00:00Z"})
    }

    fn mock_client(server: &MockServer) -> Client {
        Client::builder("sk-test")
            .base_url(server.url("/v2"))
            .max_retries(0)
            .build()
            .unwrap()
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

        let text = output(&mock_client(&server), "list --all --json").unwrap();

        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ids: Vec<_> = doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[test]
    fn list_prints_an_aligned_table_and_hints_at_more_pages() {
        let server = MockServer::start();
        server.mock(|when, then| {
            when.method(GET).path("/v2/jwt/user/u1").query_param("limit", "2");
            then.status(200).json_body(json!({"data": [token("a"), token("bbbb")], "links": {"next": "https://x/?starting_after=bbbb"}}));
        });

        let text = output(&mock_client(&server), "user-list u1 --limit 2").unwrap();

        assert_eq!(
            text,
            "ID    NAME    CREATED_AT            EXPIRES_AT  DISCARDED_AT\n\
             a     n a     2026-01-01T00:00:00Z  -           -\n\
             bbbb  n bbbb  2026-01-01T00:00:00Z  -           -\n\
             (more pages: add --all to list every token)\n"
        );
    }

    #[test]
    fn create_and_discard_print_their_answers() {
        let server = MockServer::start();
        server.mock(|when, then| {
            when.method(POST).path("/v2/jwt/user").json_body(json!({"email": "a@b.c"}));
            then.status(201).json_body(json!({"token": "jwt-value", "token_id": "ut_1", "created_at": "2026-01-01T00:00:00Z"}));
        });
        server.mock(|when, then| {
            when.method(DELETE).path("/v2/jwt/project/tok_1");
            then.status(200)
                .json_body(json!({"token_id": "tok_1", "discarded_at": "2026-01-02T00:00:00Z"}));
        });
        let client = mock_client(&server);

        let created: serde_json::Value =
            serde_json::from_str(&output(&client, "user-create --email a@b.c --json").unwrap())
                .unwrap();
        let discarded = output(&client, "discard tok_1").unwrap();

        assert_eq!(created["token"], "jwt-value");
        assert_eq!(created["token_id"], "ut_1");
        assert_eq!(discarded, "revoked tok_1 at 2026-01-02T00:00:00Z\n");
    }

    #[test]
    fn a_failure_is_reported_with_its_source_chain() {
        let client = Client::builder("sk-test")
            .base_url("http://127.0.0.1:9/v2")
            .max_retries(0)
            .no_proxy()
            .build()
            .unwrap();

        let err = output(&client, "discard tok_1").unwrap_err();

        let text = report(&*err);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "error: no usable answer from the server: could not connect to 127.0.0.1:9: connection refused"
        );
        assert!(lines[1].starts_with("  caused by: io: "), "{text}");
        assert!(!text.contains("sk-test"), "{text}");
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

        let err = output(&mock_client(&server), "user-discard nope").unwrap_err();

        assert_eq!(
            err.to_string(),
            "server answered 404 Not Found: not_found: token not found"
        );
    }
}
