//! `tokens`: a small admin tool for MagicBell JWTs, built on `magicbell-jwt`.
//!
//! ```text
//! export MAGICBELL_TOKEN=...            # a project token allowed to manage tokens
//! cargo run --example tokens -- --help
//! cargo run --example tokens -- list --all --json
//! ```

use std::io::{self, Write};
use std::process::ExitCode;

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

OPTIONS:
    --json        one JSON document on stdout instead of a table
    -h, --help    this text

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    command: Command,
    json: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let invocation = match parse(&args) {
        Ok(invocation) => invocation,
        Err(message) => {
            eprintln!("error: {message}; see --help");
            return ExitCode::from(2);
        }
    };
    if invocation.command == Command::Help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if std::env::var("MAGICBELL_TOKEN").map_or(true, |t| t.trim().is_empty()) {
        eprintln!("{NO_TOKEN}");
        return ExitCode::from(2);
    }
    let result = Client::from_env()
        .map_err(Into::into)
        .and_then(|client| run(&client, &invocation, &mut io::stdout().lock()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", report(&*e));
            ExitCode::FAILURE
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

fn parse(args: &[String]) -> Result<Invocation, String> {
    let mut json = false;
    let mut all = false;
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
            "--json" => json = true,
            "--all" => all = true,
            "--limit" | "--expiry" | "--email" | "--external-id" | "--name" => {
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
        "discard" | "user-discard" => &[],
        other => return Err(format!("unknown command {other:?}")),
    };
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
        "create" => Command::Create(CreateProjectTokenRequest {
            name: one("a NAME")?,
            expiry: number("--expiry")?,
        }),
        "user-create" => {
            none()?;
            let request = CreateUserTokenRequest {
                email: option("--email"),
                external_id: option("--external-id"),
                name: option("--name"),
                expiry: number("--expiry")?,
            };
            if request.email.is_none() && request.external_id.is_none() {
                return Err("user-create needs --email or --external-id".to_owned());
            }
            Command::CreateUser(request)
        }
        "discard" | "user-discard" => Command::Discard {
            user: name == "user-discard",
            token_id: one("a TOKEN_ID")?,
        },
        _ => unreachable!("commands were matched above"),
    };
    Ok(Invocation { command, json })
}

// --- Running -----------------------------------------------------------------

/// What a command can fail with: the API's error, or writing the output.
type Outcome = Result<(), Box<dyn std::error::Error>>;

fn run(client: &Client, invocation: &Invocation, out: &mut dyn Write) -> Outcome {
    let json = invocation.json;
    match &invocation.command {
        Command::Help => write(out, USAGE),
        Command::List {
            user_id,
            limit,
            all,
        } => {
            let params = FetchTokensParams {
                limit: *limit,
                ..Default::default()
            };
            let (tokens, more) = if *all {
                let walk = match user_id {
                    Some(user) => client.user_tokens(user, params),
                    None => client.project_tokens(params),
                };
                (walk.collect::<Result<Vec<_>, _>>()?, false)
            } else {
                let page = match user_id {
                    Some(user) => client.fetch_user_tokens(user, &params)?,
                    None => client.fetch_project_tokens(&params)?,
                };
                let more = page.links.as_ref().is_some_and(|l| l.next.is_some());
                (page.data, more)
            };
            if json {
                return print_json(out, &serde_json::json!({ "data": tokens }));
            }
            print_tokens(out, &tokens)?;
            if more {
                write(out, "(more pages: add --all to list every token)\n")?;
            }
            Ok(())
        }
        Command::Create(request) => {
            let created = client.create_project_jwt(request)?;
            print_created(out, &created, json)
        }
        Command::CreateUser(request) => {
            let created = client.create_user_jwt(request)?;
            print_created(out, &created, json)
        }
        Command::Discard { user, token_id } => {
            let discarded = if *user {
                client.discard_user_jwt(token_id)?
            } else {
                client.discard_project_jwt(token_id)?
            };
            print_discarded(out, &discarded, json)
        }
    }
}

fn print_created(out: &mut dyn Write, created: &CreateTokenResponse, json: bool) -> Outcome {
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
    eprintln!("Store the token now: it cannot be shown again.");
    Ok(())
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

fn print_tokens(out: &mut dyn Write, tokens: &[AccessToken]) -> Outcome {
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
    print_table(
        out,
        &["ID", "NAME", "CREATED_AT", "EXPIRES_AT", "DISCARDED_AT"],
        &rows,
    )
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
        run(client, &parse(&args(line)).unwrap(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
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
            "error: no usable answer from the server: 127.0.0.1 refused the connection"
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
