//! The usage texts, generated from the table of commands and options.

use crate::flags::{CommandDef, Section, COMMANDS, CONTROL_API, JSON};
use crate::lowargs::{Positional, Verb};
use crate::shell::shell_quote;

/// `magicbell-jwt rotate --help`, naming the program as it was invoked.
pub(crate) fn command_usage(def: &CommandDef, prog: &str) -> String {
    let mut rows: Vec<(String, &str)> = def.flags().map(|f| (f.usage(), f.help)).collect();
    let json = if def.json {
        rows.push((JSON.name.to_owned(), JSON.help));
        " [--json]"
    } else {
        ""
    };
    rows.push(("-h, --help".to_owned(), "this text"));
    let width = rows.iter().map(|(o, _)| o.len()).max().unwrap_or(0);
    let mut text = format!(
        "{prog} {name}: {about}\n\nUSAGE:\n    {prog} {name} {synopsis}{json}\n\nOPTIONS:\n",
        name = def.name,
        about = def.about.replace('\n', " "),
        synopsis = def.synopsis(),
    );
    let indent = format!("\n    {:width$}  ", "");
    for (option, what) in rows {
        let what = what.replace('\n', &indent);
        text.push_str(&format!("    {option:<width$}  {what}\n"));
    }
    if let Positional::One(arg) | Positional::ManyOrStdin(arg) = def.positional {
        text.push_str(&format!(
            "\nA {arg} that starts with '-' goes after '--': {prog} {} -- -x\n",
            def.name
        ));
    }
    if def.verb == Verb::Fake {
        text.push_str(&control_api());
    }
    text + &def.note.replace("{prog}", &shell_quote(prog))
}

/// The control API's endpoints, as `fake --help` lists them.
fn control_api() -> String {
    let mut text = "\nCONTROL API (beside /v2; JSON; the admin token as bearer; what each\n\
                    takes and answers: cli/README.md, \"The control API\"):\n"
        .to_owned();
    for (method, path, does) in CONTROL_API {
        text.push_str(&format!("    {method:<6} {path:<18}  {does}\n"));
    }
    text
}

/// A command's line in the overview: its synopsis, then what it does,
/// under it when the synopsis is long; a synopsis longer than a line goes
/// on under the command's name, by whole arguments.
fn overview_line(def: &CommandDef) -> String {
    let mut head = def.name.to_owned();
    let mut line_start = 0;
    for part in def.synopsis_parts() {
        if head.len() - line_start + 1 + part.len() > 76 {
            head.push_str(&format!("\n    {:width$}", "", width = def.name.len()));
            line_start = head.len() - def.name.len();
        }
        head.push(' ');
        head.push_str(&part);
    }
    let indent = format!("\n    {:<40} ", "");
    let about = def.about.replace('\n', &indent);
    if head.len() <= 40 {
        format!("    {head:<40} {about}\n")
    } else {
        format!("    {head}{indent}{about}\n")
    }
}

/// `magicbell-jwt --help`, naming the program as it was invoked.
pub(crate) fn usage(prog: &str) -> String {
    let lines = |section: Section| -> String {
        COMMANDS
            .iter()
            .filter(|def| def.section == section)
            .map(overview_line)
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
FAKE SERVICE (needs no MAGICBELL_TOKEN):
{fake}
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
    names each failure on stderr; once {stop} in a row could not connect, the rest
    are not sent and are named 'not attempted'), stdout failed, or fake could
    not start; 2 bad arguments, input refused before anything was sent, or no
    MAGICBELL_TOKEN

ENVIRONMENT:
    MAGICBELL_TOKEN      the project token to authenticate with (required)
    MAGICBELL_BASE_URL   the API's base URL (default https://api.magicbell.com/v2):
                         https, or http to a loopback host only
",
        stop = magicbell_jwt::STOP_AFTER_UNREACHABLE,
        commands = lines(Section::Commands),
        jobs = lines(Section::Jobs),
        fake = lines(Section::Fake),
    )
}
