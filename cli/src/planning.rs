//! `--plan FILE`: `prune` and `user-revoke-all` walk their lists as they do, and write each token they would revoke to a plan instead, as the lists return.

use std::io;
use std::time::SystemTime;

use magicbell_jwt::{AccessToken, FetchTokensParams};

use crate::hiargs::{PlanTo, PruneRule};
use crate::jobs::{each_live, pruned, walk_users, Hooks, Job, Planned, Report};
use crate::plan::{rfc3339, PlanHeader, PlanWriter, PlannedToken, TokenKind, PLAN_FORMAT};
use crate::stop::Stop;

/// `prune --plan FILE`: the live project tokens `prune` would revoke, into
/// the plan. A list that fails part-way leaves no plan.
pub(crate) fn plan_prune(
    job: &Job,
    rule: PruneRule,
    name: Option<&str>,
    now: SystemTime,
    plan: &PlanTo,
    hooks: &mut dyn Hooks,
) -> Report {
    let mut report = planning(job, plan);
    let (mut writer, header) = match begin(job, "prune", now, plan, None) {
        Ok(begun) => begun,
        Err(stop) => return job.done(with_error(report, stop)),
    };
    let mut failed = None;
    let walk = job.client().project_tokens(FetchTokensParams::default());
    let listed = each_live(walk, pruned(rule, name, now), Some(&mut *hooks), |token| {
        if token.id.is_none() {
            // Nothing could revoke it: a plan holds what can be applied.
            return true;
        }
        let written = writer.token(&planned(token, TokenKind::Project, None));
        failed = written.err();
        failed.is_none()
    });
    report.error = match (listed, failed) {
        (Err(e), _) => Some(e.into()),
        (Ok(()), Some(e)) => Some(unwritten(plan, &e)),
        (Ok(()), None) => end(writer, &header, plan, None, &mut report).err(),
    };
    job.done(report)
}

/// `user-revoke-all --plan FILE`: each user's live tokens, into the plan in
/// the order of `users`. A user whose list fails is left out of the plan
/// and named, as the job does, and in the plan's first line.
pub(crate) fn plan_user_revoke_all(
    job: &Job,
    users: &[String],
    now: SystemTime,
    plan: &PlanTo,
    hooks: &mut dyn Hooks,
) -> Report {
    let mut report = planning(job, plan);
    let (mut writer, mut header) = match begin(job, "user-revoke-all", now, plan, Some(users)) {
        Ok(begun) => begun,
        Err(stop) => return job.done(with_error(report, stop)),
    };
    let mut unlisted = Vec::new();
    // A token listed under two users (an email and an external id of one
    // person) is written twice rather than held to be told apart: `apply`
    // revokes it once, and memory stays bounded by the lists in flight.
    let mut failed: Option<io::Error> = None;
    walk_users(job, users, hooks, |user, listed| {
        let tokens = match listed {
            Ok(tokens) => tokens,
            Err(e) => {
                unlisted.push((user.to_owned(), e));
                return true;
            }
        };
        for token in tokens {
            if token.id.is_some() && failed.is_none() {
                let line = planned(token, TokenKind::User, Some(user));
                failed = writer.token(&line).err();
            }
        }
        // A plan that cannot be written ends the walk.
        failed.is_none()
    });
    let listed = users.len() - unlisted.len();
    header.failed_users = Some(unlisted.iter().map(|(user, _)| user.clone()).collect());
    report.unlisted = Some(unlisted);
    report.error = match failed {
        Some(e) => Some(unwritten(plan, &e)),
        None => end(writer, &header, plan, Some(listed), &mut report).err(),
    };
    job.done(report)
}

/// A planning job's report, its plan not written yet.
fn planning(job: &Job, plan: &PlanTo) -> Report {
    Report {
        planned: Some(Planned {
            file: plan.file.clone(),
            tokens: 0,
            users: None,
            written: false,
            parallel: job.parallel(),
        }),
        ..job.report()
    }
}

fn with_error(mut report: Report, stop: Stop) -> Report {
    report.error = Some(stop);
    report
}

/// The plan begun with its first line as it stands before any list (for
/// `user-revoke-all`, of `users`, none failed yet), and that line.
fn begin(
    job: &Job,
    command: &str,
    now: SystemTime,
    plan: &PlanTo,
    users: Option<&[String]>,
) -> Result<(PlanWriter, PlanHeader), Stop> {
    let header = PlanHeader {
        plan: PLAN_FORMAT,
        command: command.to_owned(),
        arguments: plan.arguments.clone(),
        base_url: job.client().base_url().to_owned(),
        listed_at: rfc3339(now),
        tool: format!("magicbell-jwt {}", env!("CARGO_PKG_VERSION")),
        users: users.map(<[String]>::len),
        failed_users: users.map(|_| Vec::new()),
    };
    // Before any list, so that a plan that cannot be written costs nothing:
    // a directory under its name would take the rename, at the very end.
    let refused = |why: String| {
        let file = plan.file.display();
        Stop::Refused(format!(
            "could not write the plan {file}: {why}; no plan was written"
        ))
    };
    if plan.file.is_dir() {
        return Err(refused("it is a directory".into()));
    }
    let writer = PlanWriter::create(&plan.file, &header).map_err(|e| refused(e.to_string()))?;
    Ok((writer, header))
}

/// The plan written whole under its name, `header` its first line, and
/// noted in `report`.
fn end(
    writer: PlanWriter,
    header: &PlanHeader,
    plan: &PlanTo,
    users: Option<usize>,
    report: &mut Report,
) -> Result<(), Stop> {
    let tokens = writer.tokens();
    writer
        .finish(header)
        .map_err(|unfinished| match unfinished.kept {
            None => unwritten(plan, &unfinished.error),
            Some(kept) => Stop::File(format!(
                "could not rename {} to {}: {}; the plan is kept whole in {0}: rename it, or \
             apply it under that name",
                kept.display(),
                plan.file.display(),
                unfinished.error
            )),
        })?;
    if let Some(planned) = report.planned.as_mut() {
        (planned.tokens, planned.users, planned.written) = (tokens, users, true);
    }
    Ok(())
}

fn unwritten(plan: &PlanTo, e: &io::Error) -> Stop {
    Stop::File(format!(
        "could not write the plan {}: {e}; no plan was written",
        plan.file.display()
    ))
}

/// A listed token as a plan's line.
fn planned(token: AccessToken, kind: TokenKind, user: Option<&str>) -> PlannedToken {
    PlannedToken {
        id: token.id.unwrap_or_default(),
        kind,
        user: user.map(str::to_owned),
        name: token.name,
        created_at: Some(token.created_at),
        expires_at: token.expires_at,
    }
}
