//! `magicbell-jwt`: an admin tool for MagicBell JWTs, built on the `magicbell-jwt` library.
//!
//! ```text
//! cargo install --locked --path cli     # from a checkout of the repository
//! export MAGICBELL_TOKEN=...            # a project token allowed to manage tokens
//! magicbell-jwt --help
//! magicbell-jwt rotate --help
//! magicbell-jwt list --all --json
//! magicbell-jwt fake                    # a fake MagicBell to try it on
//! ```
//!
//! A run flows one way: [`parse`](parse::parse) splits the command line
//! into raw arguments ([`LowArgs`](lowargs::LowArgs)) as the table of
//! commands and options ([`flags`]) says; [`resolve`]
//! checks them into an [`Invocation`](hiargs::Invocation); the command
//! runs, a job returning its whole [`Report`](jobs::Report); and
//! [`Output`], the one writer, says what happened. A job
//! shows a newly created token the moment the create returns, and each
//! batch of revokes as it ends, through the [`Hooks`](jobs::Hooks) Output
//! hands it. Jobs revoke up to `--parallel N` tokens at once (and
//! `user-revoke-all` lists up to N users at once); on a terminal, a job
//! that runs over a second shows its progress on stderr. With `--plan
//! FILE`, `prune` and `user-revoke-all` ([`planning`]) write the plan
//! ([`plan`]) instead of revoking; [`apply`](apply::apply) revokes a plan's
//! tokens, each batch recorded in its [`journal`] before it is shown.
//! `fake` ([`fake`]) serves the library's fake until a signal
//! ([`signals`]) stops it. The manual is cli/README.md.
#![forbid(unsafe_code)]

mod apply;
mod connect;
mod fake;
mod flags;
mod hiargs;
mod jobs;
mod journal;
mod lowargs;
mod null_stdout;
mod output;
mod parse;
mod plan;
mod planning;
mod shell;
mod signals;
mod stop;
mod usage;
mod wording;

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use magicbell_jwt::{Client, ClientBuilder, CreateTokenResponse, FetchTokensParams};

use crate::apply::apply;
use crate::connect::{connect, Env};
use crate::flags::command_named;
use crate::hiargs::{resolve, Checked, Command, Kind};
use crate::jobs::{prune, rotate, user_revoke_all, Job, Unshown};
use crate::lowargs::{ArgError, Parsed};
use crate::null_stdout::stdout_is_null;
use crate::output::Output;
use crate::parse::{parse, program_name};
use crate::planning::{plan_prune, plan_user_revoke_all};
use crate::signals::on_stop_signal;
use crate::stop::Stop;
use crate::usage::{command_usage, usage};
use crate::wording::null_stdout;

fn main() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let mut stderr = io::stderr();
    let host = Host {
        input: &mut io::stdin().lock(),
        out: &mut io::stdout().lock(),
        progress_after: stderr.is_terminal().then_some(Duration::from_secs(1)),
        // Not held locked: `fake` stops on another thread, which may have
        // to write (a dropped FakeServer warns of caught panics there).
        err: &mut stderr,
        now: SystemTime::now(),
        out_is_null: stdout_is_null(),
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
    /// Whether `out` is `/dev/null` ([`stdout_is_null`]): a command that
    /// mints a token is refused then, before anything is sent.
    out_is_null: bool,
}

/// The whole tool: the exit status for `args` (the program's name first),
/// with the environment, the client's settings and the process's streams
/// passed in. The command line is parsed, then checked, then run; what
/// the run gives is written by its one [`Output`].
fn cli(
    args: Vec<OsString>,
    env: Env,
    tune: impl FnOnce(ClientBuilder) -> ClientBuilder,
    host: Host,
) -> u8 {
    let prog = program_name(args.first());
    let mut output = Output::new(host.out, host.err, prog, host.progress_after);
    let args = match parse(args) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help(topic)) => {
            let text = match topic.and_then(command_named) {
                Some(def) => command_usage(def, output.prog()),
                None => usage(output.prog()),
            };
            return output.asked_for(&text);
        }
        Ok(Parsed::Version) => {
            let version = format!("{} {}\n", output.prog(), env!("CARGO_PKG_VERSION"));
            return output.asked_for(&version);
        }
        Ok(Parsed::Nothing) => {
            let text = usage(output.prog());
            return output.no_command(&text);
        }
        Err(e) => return output.refused(&e),
    };
    let invocation = match resolve(*args, host.input) {
        Ok(Checked::Run(invocation)) => invocation,
        Ok(Checked::Fake(options)) => {
            let (out, err) = output.lend();
            return fake::serve(&options, out, err, on_stop_signal);
        }
        Err(e) => return output.refused(&e),
    };
    if let (Some(command), true) = (invocation.command.mints(), host.out_is_null) {
        let refused = ArgError::new(null_stdout(command), Some(command));
        return output.refused(&refused);
    }
    output.begin(invocation.json);
    let code = match connect(env, tune) {
        Ok((client, target)) => {
            output.aim(target);
            run(&client, invocation.command, host.now, &mut output)
        }
        Err(stop) => output.fail(&stop),
    };
    output.finish();
    code
}

/// Runs one checked command and has `output` say its outcome: the exit
/// status.
fn run(client: &Client, command: Command, now: SystemTime, output: &mut Output) -> u8 {
    let done: Result<(), Stop> = match command {
        Command::List { whose, limit, all } => {
            let mut params = FetchTokensParams::default();
            if let Some(limit) = limit {
                params = params.limit(limit);
            }
            if all {
                let walk = match &whose {
                    Kind::User(user) => client.user_tokens(user, params),
                    Kind::Project(()) => client.project_tokens(params),
                };
                return output.walk(walk.pages());
            }
            match &whose {
                Kind::User(user) => client.fetch_user_tokens(user, &params),
                Kind::Project(()) => client.fetch_project_tokens(&params),
            }
            .map_err(Stop::from)
            .and_then(|page| output.page(&page))
        }
        Command::Create(request) => {
            let (made, whose) = match &request {
                Kind::Project(request) => {
                    (client.create_project_jwt(request), request.name.as_str())
                }
                Kind::User(request) => {
                    let user = request.email.as_ref().or(request.external_id.as_ref());
                    (
                        client.create_user_jwt(request),
                        user.map_or("", String::as_str),
                    )
                }
            };
            return create(client, output, request.kind(), whose, made);
        }
        Command::Discard { kind, token_id } => match kind {
            Kind::Project(()) => client.discard_project_jwt(&token_id),
            Kind::User(()) => client.discard_user_jwt(&token_id),
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
            plan,
        } => {
            let job = Job::new(client, parallel, dry_run);
            let report = match &plan {
                Some(plan) => plan_prune(&job, rule, name.as_deref(), now, plan, output),
                None => prune(&job, rule, name.as_deref(), now, output),
            };
            return output.report(&report);
        }
        Command::UserRevokeAll {
            users,
            dry_run,
            parallel,
            plan,
        } => {
            let job = Job::new(client, parallel, dry_run);
            let report = match &plan {
                Some(plan) => plan_user_revoke_all(&job, &users, now, plan, output),
                None => user_revoke_all(&job, &users, output),
            };
            return output.report(&report);
        }
        Command::Apply {
            file,
            dry_run,
            parallel,
            assume_gone,
        } => {
            let job = Job::new(client, parallel, dry_run);
            let report = apply(&job, &file, dry_run, assume_gone, output);
            return output.applied_report(&report);
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
            let code = output.fail(&stop);
            output.unshown(&unshown);
            code.max(1)
        }
    }
}

#[cfg(test)]
mod tests;
