//! How the tool words a failure: pure functions of what failed, the program's name and where requests went.

use std::io;

use std::path::Path;

use crate::apply::Applied;
use crate::connect::Target;
use crate::flags::{ASSUME_GONE, DEFAULT_PARALLEL, JSON, PARALLEL};
use crate::hiargs::Kind;
use crate::jobs::{thousands, Planned, RateLimited, Report, Unshown};
use crate::journal::journal_path;
use crate::lowargs::ArgError;
use crate::shell::shell_quote;
use crate::stop::Stop;

/// What to do without a token, `{prog}` the program as invoked: set one,
/// or try the tool against its own fake service.
const NO_TOKEN: &str = "\
MAGICBELL_TOKEN is not set. Set it to a MagicBell project token allowed to
manage tokens:
    export MAGICBELL_TOKEN=...
To try the tool without one, run its fake MagicBell and export the two
variables it prints:
    {prog} fake > fake.env &
    export $(cat fake.env)";

/// A failure to word: what stopped a command, or one call among others
/// (a revoke of a batch, a user's list), which stops nothing.
#[derive(Clone, Copy)]
pub(crate) enum Failed<'a> {
    Stop(&'a Stop),
    Call(&'a magicbell_jwt::Error),
}

/// How a failure is worded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wording {
    /// One line: a JSON `"error"`, or after `failed to revoke ID: `.
    Line,
    /// As stderr says it: `error: LINE` and, unless the address says it
    /// all, a `caused by:` line for each underlying error; then, for a
    /// create that may have gone through, where to look for its token.
    Stderr,
}

/// Who speaks: the program as invoked, for the commands messages suggest,
/// and where requests went, once a client was built.
#[derive(Clone, Copy)]
pub(crate) struct Voice<'a> {
    pub(crate) prog: &'a str,
    pub(crate) target: Option<&'a Target>,
}

/// The one place a failure is worded.
pub(crate) fn words(failed: Failed<'_>, wording: Wording, voice: Voice<'_>) -> String {
    let (error, look) = match failed {
        Failed::Stop(Stop::NoToken) => {
            return match wording {
                Wording::Line => "MAGICBELL_TOKEN is not set".to_owned(),
                Wording::Stderr => {
                    format!("{}\n", NO_TOKEN.replace("{prog}", &shell_quote(voice.prog)))
                }
            }
        }
        Failed::Stop(Stop::Output(e)) => {
            let line = format!("could not write the output: {e}");
            return match wording {
                Wording::Line => line,
                Wording::Stderr => format!("error: {line}\n"),
            };
        }
        Failed::Stop(Stop::Refused(line) | Stop::File(line) | Stop::Suspect(line)) => {
            return match wording {
                Wording::Line => line.clone(),
                Wording::Stderr => format!("error: {line}\n"),
            };
        }
        Failed::Stop(Stop::Call(error)) | Failed::Call(error) => (error, None),
        Failed::Stop(Stop::Create { error, kind, whose }) => {
            (error, Some(where_to_look(*kind, whose, voice.prog)))
        }
    };
    let connect = connect_failure(error, voice.target);
    let line = connect.clone().unwrap_or_else(|| error.to_string());
    match (wording, look) {
        (Wording::Line, None) => line,
        (Wording::Line, Some(look)) => format!("{line}; {look}"),
        (Wording::Stderr, look) => {
            let mut text = format!("error: {line}\n");
            if connect.is_none() {
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    text.push_str(&format!("  caused by: {cause}\n"));
                    source = cause.source();
                }
            }
            if let Some(look) = look {
                text.push_str(&format!("{look}\n"));
            }
            text
        }
    }
}

/// Where to find the token a failed create may have minted anyway: the
/// command last, after `with: `, ready to paste.
fn where_to_look(kind: Kind, whose: &str, prog: &str) -> String {
    let prog = shell_quote(prog);
    let (token, list) = match kind {
        Kind::Project(()) => (format!("named {whose:?}"), format!("{prog} list")),
        Kind::User(()) => (
            format!("of {whose}"),
            format!("{prog} user-list -- {}", shell_quote(whose)),
        ),
    };
    format!(
        "the create may have gone through: look for a new token {token} and revoke it; \
         list the tokens with: {list}"
    )
}

/// `could not connect to HOST:PORT (ORIGIN): REASON` for a connection
/// that could not be made, straight to the API (not through a proxy,
/// not a TLS problem): the one failure where the address is the answer.
fn connect_failure(error: &magicbell_jwt::Error, target: Option<&Target>) -> Option<String> {
    let target = target.filter(|t| !t.proxied)?;
    let magicbell_jwt::Error::Transport(transport) = error else {
        return None;
    };
    if !transport.is_connect() {
        return None;
    }
    let reason = io_reason(transport.io_error_kind()?)?;
    let mut text = format!(
        "could not connect to {} ({}): {reason}",
        target.address, target.origin
    );
    if transport.attempts() > 1 {
        // The library's message ends with the attempts, and whether an
        // earlier one may have acted: " (after 3 attempts…)".
        let message = transport.to_string();
        text.push_str(message.rfind(" (after ").map_or("", |at| &message[at..]));
    }
    Some(text)
}

/// A refused command line: `error: WHY; see 'PROG COMMAND --help'`.
pub(crate) fn refusal(refused: &ArgError, prog: &str) -> String {
    let command = refused.command.map(|c| format!("{c} ")).unwrap_or_default();
    format!("error: {}; see '{prog} {command}--help'", refused.message)
}

/// Why `command`, which mints a token, does not start when stdout is
/// `/dev/null` (or was closed), and how to keep the token.
pub(crate) fn null_stdout(command: &str) -> String {
    format!(
        "{command} shows the new token once, on stdout, and stdout is /dev/null \
         (or was closed): nobody would get it. Nothing was sent; keep the token in a \
         file (> token.txt) or a pipe (| your secret store)"
    )
}

/// That stdout failed after the new token `id` was written to it: it may
/// not have reached anyone, and it is live.
pub(crate) fn shown_then_broken(id: &str, prog: &str) -> String {
    format!(
        "the new token {id} was written before stdout failed, so it may not have reached \
         anyone, and it is live: if you do not hold it, revoke it with: {} discard -- {}",
        shell_quote(prog),
        shell_quote(id)
    )
}

/// What became of a created token that could not be shown.
pub(crate) fn unshown(unshown: &Unshown, voice: Voice<'_>) -> String {
    let id = &unshown.id;
    match &unshown.revoked {
        Ok(()) => format!("the new token {id} could not be shown, so it was revoked"),
        Err(e) => {
            let discard = match unshown.kind {
                Kind::Project(()) => "discard",
                Kind::User(()) => "user-discard",
            };
            format!(
                "the new token {id} could not be shown, and revoking it failed ({}): \
                 revoke it with: {} {discard} -- {}",
                words(Failed::Call(e), Wording::Line, voice),
                shell_quote(voice.prog),
                shell_quote(id)
            )
        }
    }
}

/// What ended a connection attempt, named: `None` for a kind of I/O error
/// the address does not explain.
fn io_reason(kind: io::ErrorKind) -> Option<&'static str> {
    use io::ErrorKind as K;
    match kind {
        K::ConnectionRefused => Some("connection refused"),
        K::HostUnreachable => Some("host unreachable"),
        K::NetworkUnreachable => Some("network unreachable"),
        K::AddrNotAvailable => Some("address not available"),
        _ => None,
    }
}

/// The end of a job's report as text: a dry run's lines, and the count line
/// when nothing stopped the job (each `revoked ID` was printed already).
pub(crate) fn report_text(report: &Report) -> String {
    let mut text = String::new();
    if let Some(planned) = &report.planned {
        return planned_text(planned);
    }
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
        text.push_str(&count_line(report));
    }
    text
}

/// What a `--plan` run wrote: `planned 12 tokens of 3 users into FILE`
/// (`of … users` for `user-revoke-all`); nothing when no plan was written.
pub(crate) fn planned_text(planned: &Planned) -> String {
    if !planned.written {
        return String::new();
    }
    let count = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    let users = match planned.users {
        Some(users) => format!(" of {}", count(users, "user")),
        None => String::new(),
    };
    format!(
        "planned {}{users} into {}\n",
        count(planned.tokens, "token"),
        planned.file.display()
    )
}

/// The end of an apply as text: this run's counts (a dry run has none),
/// then the plan's: `planned P, done D, left L`, and when some are left
/// after a run, the command that goes on, with the options given that
/// change what it does (`json` when `--json` was).
pub(crate) fn applied_text(report: &Applied, prog: &str, json: bool) -> String {
    let mut text = String::new();
    if !report.dry_run {
        text.push_str(&format!(
            "revoked {}, gone {}, failed {}",
            report.revoked, report.gone, report.failed
        ));
        if report.not_attempted > 0 {
            text.push_str(&format!(", not attempted {}", report.not_attempted));
        }
        text.push('\n');
    }
    let left = report.left();
    text.push_str(&format!(
        "planned {}, done {}, left {left}",
        report.planned, report.done
    ));
    // Stopped on 404s that suggest a mistake: the error says how to go on.
    let suspect = matches!(report.error, Some(Stop::Suspect(_)));
    if left > 0 && !report.dry_run && !suspect {
        let mut options = options_given(report.parallel, json);
        if report.assume_gone {
            options.push_str(&format!(" {}", ASSUME_GONE.name));
        }
        text.push_str(&format!(
            ": the same command goes on: {} apply{options} -- {}",
            shell_quote(prog),
            shell_quote(&report.plan.to_string_lossy())
        ));
    }
    text.push('\n');
    text
}

/// ` --parallel N --json`: the options given that change what a command
/// does, for a command to paste.
fn options_given(parallel: usize, json: bool) -> String {
    let mut options = String::new();
    if parallel != DEFAULT_PARALLEL {
        options.push_str(&format!(" {} {parallel}", PARALLEL.name));
    }
    if json {
        options.push_str(&format!(" {}", JSON.name));
    }
    options
}

/// The most users named in a command to paste: more are read from the
/// plan's first line.
const USERS_NAMED: usize = 10;

/// How to plan the users whose list failed, once a plan was written
/// without them: the same command, with just them, into a second file (a
/// line, or nothing).
pub(crate) fn replan(report: &Report, prog: &str, json: bool) -> String {
    let failed: Vec<&str> = (report.unlisted.iter().flatten())
        .map(|(user, _)| user.as_str())
        .collect();
    let Some(planned) = report.planned.as_ref().filter(|p| p.written) else {
        return String::new();
    };
    if failed.is_empty() {
        return String::new();
    }
    let (file, next) = (&planned.file, next_plan(&planned.file));
    let (file, next) = (file.to_string_lossy(), next.to_string_lossy());
    let options = options_given(planned.parallel, json);
    let command = format!(
        "{} user-revoke-all{options} --plan {}",
        shell_quote(prog),
        shell_quote(&next)
    );
    let users = format!("{} user{}", lists_of(failed.len()), plural(failed.len()));
    let again = if failed.len() <= USERS_NAMED {
        let named: Vec<_> = failed.iter().map(|user| shell_quote(user)).collect();
        format!("{command} -- {}", named.join(" "))
    } else {
        let read = format!("head -1 {} | jq -r '.failed_users[]'", shell_quote(&file));
        format!("{read} | {command} -")
    };
    format!(
        "{users} failed, so {file} holds none of their tokens: plan them into a second \
         file with: {again}\n"
    )
}

/// `the list of 1`, `the lists of 2`.
fn lists_of(n: usize) -> String {
    format!("the list{} of {n}", plural(n))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The name of a second plan beside `file`: `plan.jsonl` gives
/// `plan-2.jsonl`, which gives `plan-3.jsonl`.
fn next_plan(file: &Path) -> std::path::PathBuf {
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    let (base, n) = match stem.rsplit_once('-') {
        Some((base, n)) if !base.is_empty() => match n.parse::<u32>() {
            Ok(n) => (base, n.saturating_add(1)),
            Err(_) => (&*stem, 2),
        },
        _ => (&*stem, 2),
    };
    let mut name = format!("{base}-{n}");
    if let Some(extension) = file.extension() {
        name.push_str(&format!(".{}", extension.to_string_lossy()));
    }
    file.with_file_name(name)
}

/// What an apply warns of, a line each: the journal's last line cut
/// short, and left out; the users whose lists failed when the plan was
/// written, whose tokens it does not hold.
pub(crate) fn applied_warnings(report: &Applied) -> String {
    let mut text = String::new();
    if let Some(line) = report.torn {
        text.push_str(&format!(
            "the last line of {} (line {line}) was cut short, as by a kill while it was \
             written: it is left out, and its token is sent again (answered 404 if it was \
             revoked)\n",
            journal_path(&report.plan).display()
        ));
    }
    let failed = &report.failed_users;
    if !failed.is_empty() {
        let mut named: Vec<&str> = failed
            .iter()
            .take(USERS_NAMED)
            .map(String::as_str)
            .collect();
        if failed.len() > USERS_NAMED {
            named.push("…");
        }
        let of = match report.users {
            Some(n) => format!(" of the {n} user{}", plural(n)),
            None => format!(" user{}", plural(failed.len())),
        };
        text.push_str(&format!(
            "warning: {}{of} {} was listed for failed, so none of their tokens is in it, and \
             applying it revokes none of them: {} (its first line names them all, in \
             failed_users)\n",
            lists_of(failed.len()),
            report.plan.display(),
            named.join(", ")
        ));
    }
    text
}

/// `revoked N, failed M`, and `, not attempted K` when K is not 0.
pub(crate) fn count_line(report: &Report) -> String {
    let mut line = format!(
        "revoked {}, failed {}",
        report.revoked.len(),
        report.failed.len()
    );
    if !report.not_attempted.is_empty() {
        line.push_str(&format!(", not attempted {}", report.not_attempted.len()));
    }
    line.push('\n');
    line
}

/// `rate limited: 12 answers 429, 3.1 s held back`, when the job met the
/// rate limit at all.
pub(crate) fn rate_limited_text(limited: &RateLimited) -> Option<String> {
    if *limited == RateLimited::default() {
        return None;
    }
    let answers = if limited.throttled == 1 {
        "answer"
    } else {
        "answers"
    };
    Some(format!(
        "rate limited: {} {answers} 429, {:.1} s held back",
        thousands(usize::try_from(limited.throttled).unwrap_or(usize::MAX)),
        limited.held.as_secs_f64()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_connect_failure_is_named_by_its_io_error_kind() {
        use io::ErrorKind as K;
        let reason = io_reason;

        assert_eq!(reason(K::ConnectionRefused), Some("connection refused"));
        assert_eq!(reason(K::HostUnreachable), Some("host unreachable"));
        assert_eq!(reason(K::NetworkUnreachable), Some("network unreachable"));
        assert_eq!(reason(K::AddrNotAvailable), Some("address not available"));
        assert_eq!(reason(K::TimedOut), None);
    }
    #[test]
    fn a_second_plan_is_named_beside_the_first_with_the_next_number() {
        let next = |file: &str| next_plan(Path::new(file)).display().to_string();
        assert_eq!(next("plan.jsonl"), "plan-2.jsonl");
        assert_eq!(next("dir/plan-2.jsonl"), "dir/plan-3.jsonl");
        assert_eq!(next("plan"), "plan-2");
        assert_eq!(next("incident-a.jsonl"), "incident-a-2.jsonl");
        assert_eq!(next("-1.jsonl"), "-1-2.jsonl");
    }

    #[test]
    fn the_rate_limit_a_job_met_is_one_line_only_when_it_met_any() {
        let line = |throttled, held_ms| {
            rate_limited_text(&RateLimited {
                throttled,
                held: Duration::from_millis(held_ms),
            })
        };
        assert_eq!(line(0, 0), None);
        assert_eq!(
            line(1, 0).unwrap(),
            "rate limited: 1 answer 429, 0.0 s held back"
        );
        assert_eq!(
            line(1_234, 3_140).unwrap(),
            "rate limited: 1,234 answers 429, 3.1 s held back"
        );
        // Held back by rate-limit headers before any 429.
        assert_eq!(
            line(0, 2_500).unwrap(),
            "rate limited: 0 answers 429, 2.5 s held back"
        );
    }
}
