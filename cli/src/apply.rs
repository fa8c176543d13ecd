//! `apply FILE`: revokes a plan's tokens not yet done by its journal, in batches as the jobs do, each batch journaled before it is shown.

use std::io;
use std::path::{Path, PathBuf};

use crate::jobs::{
    revoked_progress, thousands, ticking, Hooks, Job, RateLimited, BATCH_PER_THREAD,
};
use crate::journal::{journal_path, read_journal, Journal, JournalError, Outcome};
use crate::plan::{IdSet, PlanError, PlanReader, TokenKind};
use crate::stop::Stop;

/// What an apply did, whatever stopped it. Counts only: each token's
/// outcome is in the journal, and was shown as its batch ended.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub(crate) plan: PathBuf,
    pub(crate) dry_run: bool,
    /// `--parallel`, for the command that goes on.
    pub(crate) parallel: usize,
    /// `--assume-gone`: 404s are gone even where they suggest a mistake.
    pub(crate) assume_gone: bool,
    /// The plan's tokens, each id once.
    pub(crate) planned: usize,
    /// Of them, revoked or gone by the journal, this run's included.
    pub(crate) done: usize,
    /// This run's outcomes.
    pub(crate) revoked: usize,
    pub(crate) gone: usize,
    pub(crate) failed: usize,
    pub(crate) not_attempted: usize,
    /// From the plan's first line: how many users it was listed for, and
    /// those whose list failed, none of whose tokens it holds.
    pub(crate) users: Option<usize>,
    pub(crate) failed_users: Vec<String>,
    /// The line number of the journal's last line, left out because a
    /// kill cut it short: its token is sent again.
    pub(crate) torn: Option<usize>,
    /// Whether a batch was sent: the JSON document's `applied` array was
    /// opened.
    pub(crate) sent: bool,
    pub(crate) error: Option<Stop>,
    pub(crate) rate_limited: RateLimited,
}

impl Applied {
    /// The planned tokens neither revoked nor gone.
    pub(crate) fn left(&self) -> usize {
        self.planned - self.done
    }
}

/// What an apply shows as it goes, besides what every job does.
pub(crate) trait Applying: Hooks {
    /// Called once before the first revoke: an error means stdout is gone,
    /// and nothing is sent.
    fn applying(&mut self) -> io::Result<()>;
    /// A batch that just ended and is in the journal, `outcomes` in the
    /// order of `ids`, shown (and flushed) before the next batch starts.
    fn applied(&mut self, ids: &[String], outcomes: &[Outcome]) -> io::Result<()>;
}

/// Applies the plan `file` (a `dry_run` only counts). The plan is read
/// twice, line by line: whole first, so that any flaw in it is refused
/// before anything is sent, then batch by batch as it is applied; what is
/// held is the set of ids left to send, and one batch.
pub(crate) fn apply<H: Applying>(
    job: &Job,
    file: &Path,
    dry_run: bool,
    assume_gone: bool,
    hooks: &mut H,
) -> Applied {
    let mut report = Applied {
        plan: file.to_owned(),
        dry_run,
        parallel: job.parallel(),
        assume_gone,
        ..Applied::default()
    };
    if let Err(stop) = steps(job, file, &mut report, hooks) {
        report.error = Some(stop);
    }
    report.rate_limited = job.rate_limited();
    report
}

fn steps<H: Applying>(
    job: &Job,
    file: &Path,
    report: &mut Applied,
    hooks: &mut H,
) -> Result<(), Stop> {
    let shown = file.display();
    let refused = |e: PlanError| match e {
        PlanError::Read(e) => Stop::Refused(format!("could not read the plan {shown}: {e}")),
        PlanError::NoHeader(why) => Stop::Refused(format!("{shown} is not a plan: {why}")),
        PlanError::Line(n, why) => Stop::Refused(format!(
            "line {n} of {shown} is not a planned token ({why}): nothing was sent"
        )),
    };
    let mut plan = PlanReader::open(file).map_err(refused)?;
    let here = job.client().base_url();
    if plan.header.base_url != here {
        return Err(Stop::Refused(format!(
            "{shown} was listed from {}, and requests go to {here} here: nothing was sent; \
             apply it with the MAGICBELL_BASE_URL it was listed from, or plan again",
            plan.header.base_url
        )));
    }
    report.users = plan.header.users;
    report.failed_users = plan.header.failed_users.take().unwrap_or_default();
    let mut pending = IdSet::default();
    for token in plan {
        pending.insert(&token.map_err(refused)?.1.id);
    }
    report.planned = pending.len();

    let journal = journal_path(file);
    let read = read_journal(&journal, &mut pending).map_err(|e| match e {
        JournalError::Read(e) => Stop::Refused(format!(
            "could not read the journal {}: {e}; nothing was sent",
            journal.display()
        )),
        JournalError::NotFile(what) => Stop::Refused(format!(
            "could not read the journal {}: it is {what}, not a regular file, and a journal \
             must keep what is written to it; nothing was sent",
            journal.display()
        )),
        JournalError::Line(n, why) => Stop::Refused(format!(
            "line {n} of the journal {} is not an entry ({why}), and only its last line can \
             be cut short by a kill: nothing was sent",
            journal.display()
        )),
    })?;
    report.done = read.done;
    report.torn = read.torn;
    if report.dry_run || pending.len() == 0 {
        return Ok(());
    }
    let mut journal = Journal::open(&journal, &read).map_err(|e| {
        Stop::Refused(format!(
            "could not open the journal {} to write it: {e}; nothing was sent",
            journal.display()
        ))
    })?;
    hooks.applying()?;
    report.sent = true;

    let total = thousands(pending.len());
    let size = job.parallel().max(1).saturating_mul(BATCH_PER_THREAD);
    let mut batch = Batch {
        kind: TokenKind::Project,
        ids: Vec::with_capacity(size),
        watch: !report.assume_gone && read.entries == 0 && read.torn.is_none(),
    };
    let changed = |e: PlanError| {
        let why = match e {
            PlanError::Read(e) => e.to_string(),
            PlanError::NoHeader(why) | PlanError::Line(_, why) => why,
        };
        Stop::File(format!("{shown} changed while it was applied: {why}"))
    };
    for token in PlanReader::open(file).map_err(changed)? {
        let (_, token) = token.map_err(changed)?;
        if !pending.remove(&token.id) {
            // Done by the journal, or a line given twice.
            continue;
        }
        let full = batch.ids.len() == size || batch.kind != token.kind;
        if full
            && !batch.ids.is_empty()
            && !send(job, &mut batch, &mut journal, report, &total, hooks)?
        {
            return Ok(());
        }
        batch.kind = token.kind;
        batch.ids.push(token.id);
    }
    if !batch.ids.is_empty() {
        send(job, &mut batch, &mut journal, report, &total, hooks)?;
    }
    Ok(())
}

/// The ids of one batch, all of one kind.
struct Batch {
    kind: TokenKind,
    ids: Vec<String>,
    /// No answer but 404 met yet by this run (and `--assume-gone` not
    /// given): a batch all answered 404 may be a mistake, not work done.
    watch: bool,
}

/// The fewest ids in a batch answered all 404 that stop the first apply of
/// a plan (its journal empty) before it has met any other answer. Such a
/// batch is what a token of another project gets for every id (the same
/// base URL, none of its tokens); with the plan's own token it means each
/// was revoked outside the journal, which is worth a look. Fewer are let
/// through: a plan of a few tokens revoked by hand meanwhile would stop for
/// nothing.
const SUSPECT_404S: usize = 4;

/// Revokes a batch, journals it, then shows it. Whether to go on: not
/// once the server could not be reached.
fn send<H: Applying>(
    job: &Job,
    batch: &mut Batch,
    journal: &mut Journal,
    report: &mut Applied,
    total: &str,
    hooks: &mut H,
) -> Result<bool, Stop> {
    let (client, parallel) = (job.client(), job.parallel());
    let ids = &batch.ids;
    let results = ticking(
        client,
        hooks,
        report.revoked + report.gone,
        report.failed,
        total,
        || match batch.kind {
            TokenKind::Project => client.discard_project_jwts(ids, parallel),
            TokenKind::User => client.discard_user_jwts(ids, parallel),
        },
    );
    let outcomes: Vec<Outcome> = results.into_iter().map(Outcome::of).collect();
    if batch.watch {
        batch.watch = outcomes.iter().all(|o| matches!(o, Outcome::Gone));
        if batch.watch && ids.len() >= SUSPECT_404S {
            // Nothing of it journaled, shown or counted.
            return Err(Stop::Suspect(all_404(ids.len(), job, report)));
        }
    }
    let mut unreachable = false;
    for outcome in &outcomes {
        match outcome {
            Outcome::Revoked => report.revoked += 1,
            Outcome::Gone => report.gone += 1,
            Outcome::Failed(_) => report.failed += 1,
            Outcome::NotAttempted => {
                report.not_attempted += 1;
                unreachable = true;
            }
        }
    }
    // To disk before the batch is shown: what stdout says was done, the
    // journal holds; and done only once there, so a rerun has it.
    let journaled = journal.append(ids, &outcomes);
    if journaled.is_ok() {
        report.done += outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Revoked | Outcome::Gone))
            .count();
    }
    let shown = hooks.applied(ids, &outcomes);
    batch.ids.clear();
    if let Err(e) = journaled {
        return Err(Stop::File(format!(
            "could not write the journal {}: {e}; stopped before sending more. The batch \
             above was sent but is not in the journal: the same command sends it again once \
             the journal can be written, and its revoked tokens then answer 404 (gone; with \
             nothing journaled yet, that takes --assume-gone)",
            journal_path(&report.plan).display()
        )));
    }
    shown?;
    if unreachable {
        return Ok(false);
    }
    let done = report.revoked + report.gone;
    hooks.progress(&revoked_progress(done, report.failed, total));
    Ok(true)
}

/// Why a run stopped on a batch of `n` answered all 404, none sent before:
/// the likely causes, and how to go on.
fn all_404(n: usize, job: &Job, report: &Applied) -> String {
    format!(
        "the first {n} tokens sent from {plan}, whose journal is empty, were all answered \
         404 (not found): MAGICBELL_TOKEN may be another project's than the one the plan was \
         listed from (requests go to {url}), or the plan was applied already, by someone \
         else or by a run stopped before it journaled them. Stopped, none of them \
         journaled. Check MAGICBELL_TOKEN; if it is the project's and these tokens are \
         revoked, the same command with --assume-gone counts them gone and goes on",
        plan = report.plan.display(),
        url = job.client().base_url(),
    )
}
