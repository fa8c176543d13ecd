//! The jobs (rotate, prune, user-revoke-all): what each revokes, reported once at its end.

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use magicbell_jwt::{
    AccessToken, Client, CreateProjectTokenRequest, CreateTokenResponse, DiscardTokenResponse,
    FetchTokensParams, RateLimitStats,
};

use crate::hiargs::{Kind, PruneRule, PROJECT, USER};
use crate::stop::Stop;

/// What a job did, whatever stopped it: the whole of it, rate limit
/// included. A created token and each batch of revokes are shown as they
/// happen (through [`Hooks`]); the rest is printed once at the end, on
/// every path.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) dry_run: bool,
    /// The name a dry-run `rotate` would create a token under.
    pub(crate) would_create: Option<String>,
    pub(crate) would_revoke: Vec<String>,
    /// A token the job created but could not show, revoked by its id.
    pub(crate) unshown: Option<Unshown>,
    /// The id of the token the job created and showed: if stdout fails
    /// after it, the operator is told that it is live.
    pub(crate) created: Option<String>,
    pub(crate) revoked: Vec<String>,
    pub(crate) failed: Vec<(String, magicbell_jwt::Error)>,
    /// The ids not sent because the server could not be reached
    /// ([`magicbell_jwt::Error::NotAttempted`], and every id of the batches
    /// after it).
    pub(crate) not_attempted: Vec<String>,
    /// `user-revoke-all` only: the users whose list failed, none of whose
    /// tokens was revoked.
    pub(crate) unlisted: Option<Vec<(String, magicbell_jwt::Error)>>,
    /// What stopped the job before its end.
    pub(crate) error: Option<Stop>,
    /// What the job met of the API's rate limit.
    pub(crate) rate_limited: RateLimited,
    /// `--plan FILE`: the plan, and what it holds once it is written.
    pub(crate) planned: Option<Planned>,
}

/// A plan written by a job's `--plan FILE`.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) file: std::path::PathBuf,
    pub(crate) tokens: usize,
    /// `user-revoke-all`: the users whose lists it holds.
    pub(crate) users: Option<usize>,
    /// Whether it was written whole, under its name.
    pub(crate) written: bool,
    /// `--parallel`, for the command that plans the users left out.
    pub(crate) parallel: usize,
}

/// What a job met of the API's rate limit: the answers `429`, and how long
/// its requests were held back by it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimited {
    pub(crate) throttled: u64,
    pub(crate) held: Duration,
}

/// A created token whose value could not be written to stdout: nobody holds
/// it, so it is revoked by its id, and the operator is told.
#[derive(Debug)]
pub(crate) struct Unshown {
    pub(crate) kind: Kind,
    pub(crate) id: String,
    /// Whether revoking it worked: if not, the operator must revoke `id`.
    pub(crate) revoked: Result<(), magicbell_jwt::Error>,
}

impl Unshown {
    pub(crate) fn revoke(client: &Client, kind: Kind, id: String) -> Unshown {
        let revoked = match kind {
            Kind::Project(()) => client.discard_project_jwt(&id),
            Kind::User(()) => client.discard_user_jwt(&id),
        };
        Unshown {
            kind,
            id,
            revoked: revoked.map(drop),
        }
    }
}

/// What every job runs with.
pub(crate) struct Job<'a> {
    client: &'a Client,
    /// Revokes (and `user-revoke-all`'s lists) in flight at once.
    parallel: usize,
    dry_run: bool,
    /// The client's rate-limit counts when the job started.
    before: RateLimitStats,
}

impl<'a> Job<'a> {
    pub(crate) fn new(client: &'a Client, parallel: usize, dry_run: bool) -> Self {
        Job {
            client,
            parallel,
            dry_run,
            before: client.rate_limit_stats(),
        }
    }

    pub(crate) fn client(&self) -> &'a Client {
        self.client
    }

    pub(crate) fn parallel(&self) -> usize {
        self.parallel
    }

    /// What the job has met of the rate limit since it started.
    pub(crate) fn rate_limited(&self) -> RateLimited {
        let now = self.client.rate_limit_stats();
        RateLimited {
            throttled: now.throttled.saturating_sub(self.before.throttled),
            held: now.held.saturating_sub(self.before.held),
        }
    }

    pub(crate) fn report(&self) -> Report {
        Report {
            dry_run: self.dry_run,
            ..Report::default()
        }
    }

    /// `report` with what the job met of the rate limit: the whole report.
    pub(crate) fn done(&self, mut report: Report) -> Report {
        report.rate_limited = self.rate_limited();
        report
    }
}

/// What a job shows while it runs, handed to it by the writer of the
/// tool's output: a job prints nothing itself.
pub(crate) trait Hooks {
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
    /// The ids the job did not send because the server could not be
    /// reached, in the order of the list.
    fn not_attempted(&mut self, ids: &[String]);
    /// How far the job got: `revoked 1,200 of 5,000`.
    fn progress(&mut self, text: &str);
}

/// What one revoke gave.
pub(crate) type Revoked = Result<DiscardTokenResponse, magicbell_jwt::Error>;

/// Creates the new token first, shows it through `hooks` at once, and only
/// then lists and revokes the others: if the create fails, nothing is
/// revoked; if the new token cannot be shown, it is revoked and nothing
/// else is.
pub(crate) fn rotate(job: &Job, name: &str, expiry: Option<u64>, hooks: &mut dyn Hooks) -> Report {
    job.done(rotate_steps(job, name, expiry, hooks))
}

fn rotate_steps(job: &Job, name: &str, expiry: Option<u64>, hooks: &mut dyn Hooks) -> Report {
    let mut report = job.report();
    let same_name = |t: &AccessToken| t.name.as_deref() == Some(name);
    let client = job.client;
    if job.dry_run {
        report.would_create = Some(name.to_owned());
        let walk = client.project_tokens(FetchTokensParams::default());
        let ids = live_ids(walk, same_name, Some(&mut *hooks));
        return finish(report, job, PROJECT, ids, hooks);
    }
    let mut request = CreateProjectTokenRequest::new(name);
    if let Some(seconds) = expiry {
        request = request.expiry(seconds);
    }
    let created = match client.create_project_jwt(&request) {
        Ok(created) => created,
        Err(e) => {
            report.error = Some(Stop::create(e, PROJECT, name));
            return report;
        }
    };
    let new_id = created.token_id.clone();
    if let Err(e) = hooks.created(&created) {
        // Nobody holds the new token: revoke it, and keep the old ones,
        // which still work, rather than lock out everyone using the name.
        report.unshown = Some(Unshown::revoke(client, PROJECT, new_id));
        report.error = Some(Stop::Output(e));
        return report;
    }
    report.created = Some(new_id.clone());
    drop(created);
    let others = |t: &AccessToken| same_name(t) && t.id.as_deref() != Some(new_id.as_str());
    let walk = client.project_tokens(FetchTokensParams::default());
    let ids = live_ids(walk, others, Some(&mut *hooks));
    finish(report, job, PROJECT, ids, hooks)
}

/// Revokes the live project tokens `rule` picks at `now`, of one name when
/// given.
pub(crate) fn prune(
    job: &Job,
    rule: PruneRule,
    name: Option<&str>,
    now: SystemTime,
    hooks: &mut dyn Hooks,
) -> Report {
    let walk = job.client.project_tokens(FetchTokensParams::default());
    let ids = live_ids(walk, pruned(rule, name, now), Some(&mut *hooks));
    job.done(finish(job.report(), job, PROJECT, ids, hooks))
}

/// Whether `prune` picks a token: by `rule` at `now`, of one name when
/// given.
pub(crate) fn pruned(
    rule: PruneRule,
    name: Option<&str>,
    now: SystemTime,
) -> impl Fn(&AccessToken) -> bool + '_ {
    move |t: &AccessToken| {
        let old = match rule {
            PruneRule::Expired => t.is_expired_at(now),
            PruneRule::OlderThanDays(days) => t.created_at_time().is_some_and(|created| {
                now.duration_since(created)
                    .is_ok_and(|age| age > Duration::from_secs(days.saturating_mul(86_400)))
            }),
        };
        old && name.is_none_or(|n| t.name.as_deref() == Some(n))
    }
}

/// Revokes every live token of each user. The users' lists are walked up to
/// `job.parallel` at once, all before anything is revoked; a user whose list
/// fails has none of their tokens revoked (the rule of every job: a list
/// that failed is not acted on), the others' are.
pub(crate) fn user_revoke_all(job: &Job, users: &[String], hooks: &mut dyn Hooks) -> Report {
    let mut report = job.report();
    let mut unlisted = Vec::new();
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    walk_users(job, users, hooks, |user, listed| {
        match listed {
            // A token listed under two of the given ids (a user's email and
            // external id) is revoked once.
            Ok(listed) => ids.extend(
                listed
                    .into_iter()
                    .filter_map(|t| t.id)
                    .filter(|id| seen.insert(id.clone())),
            ),
            Err(e) => unlisted.push((user.to_owned(), e)),
        }
        true
    });
    report.unlisted = Some(unlisted);
    job.done(finish(report, job, USER, Ok(ids), hooks))
}

/// What one user's list gave: the live tokens.
pub(crate) type Listed = Result<Vec<AccessToken>, magicbell_jwt::Error>;

/// Walks the live tokens of each user, handing each user's to `each` in
/// the order of `users`, until `each` answers `false`: the first list
/// alone, then up to `job.parallel` walked at once on scoped threads, the
/// progress shown from this one. A list that ends before an earlier
/// user's waits for it, so what is held is about `job.parallel` users'
/// lists.
pub(crate) fn walk_users(
    job: &Job,
    users: &[String],
    hooks: &mut dyn Hooks,
    mut each: impl FnMut(&str, Listed) -> bool,
) {
    let list = |user: &String| {
        let walk = job.client.user_tokens(user, FetchTokensParams::default());
        let mut tokens = Vec::new();
        each_live(
            walk,
            |_| true,
            None,
            |t| {
                tokens.push(t);
                true
            },
        )
        .map(|()| tokens)
    };
    let total = thousands(users.len());
    let mut done = 0;
    // The first list goes alone, as the library's bulk calls send their
    // first id: what its answer says of the rate limit is known before the
    // others go, instead of `parallel` lists meeting it at once.
    if let Some(first) = users.first().filter(|_| job.parallel > 1) {
        if !each(first, list(first)) {
            return;
        }
        done = 1;
        hooks.progress(&format!("listed 1 of {total} users"));
    }
    let next = &AtomicUsize::new(done);
    // The users handed to `each` so far: a thread lists a user only within
    // `ahead` of it, and waits to hand a list over while this thread is
    // busy, so a slow list or a slow `each` holds back the walk, and what
    // waits in memory stays within a few lists a thread.
    let delivered = &AtomicUsize::new(done);
    let ahead = job.parallel.saturating_mul(4);
    let stop = &std::sync::atomic::AtomicBool::new(false);
    let (sender, listed) = mpsc::sync_channel(job.parallel);
    // Lists that ended before an earlier user's, by index.
    let mut early = std::collections::BTreeMap::new();
    let mut stopped = false;
    std::thread::scope(|scope| {
        for _ in 0..job.parallel.clamp(1, (users.len() - done).max(1)) {
            let sender = sender.clone();
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(user) = users.get(i) else { break };
                while i >= delivered.load(Ordering::Acquire) + ahead
                    && !stop.load(Ordering::Acquire)
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if stop.load(Ordering::Acquire) || sender.send((i, list(user))).is_err() {
                    break;
                }
            });
        }
        // Ends once every thread is done with its last user and gone.
        drop(sender);
        let mut held = false;
        loop {
            let (i, tokens) = match listed.recv_timeout(TICK) {
                Ok(listed) => listed,
                Err(RecvTimeoutError::Timeout) => {
                    let doing = format!("{} of {total} users listed", thousands(done));
                    held = rate_limit_tick(job.client, hooks, held, &doing, || {
                        format!("listed {} of {total} users", thousands(done))
                    });
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if stopped {
                continue;
            }
            early.insert(i, tokens);
            while let Some(tokens) = early.remove(&done) {
                done += 1;
                if !each(&users[done - 1], tokens) {
                    // No user is taken from now on; those in flight end.
                    stop.store(true, Ordering::Release);
                    stopped = true;
                    break;
                }
            }
            delivered.store(done, Ordering::Release);
            held = false;
            hooks.progress(&format!("listed {} of {total} users", thousands(done)));
        }
    });
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
pub(crate) const BATCH_PER_THREAD: usize = 16;

/// The one place jobs revoke: up to `job.parallel` at once, going on past
/// failures, into `report.revoked` and `report.failed` in the order of
/// `ids`. Stops, with `report.error` set, once a batch cannot be shown, or
/// before the first revoke if what comes before them cannot
/// ([`Hooks::revoking`]). Once the library stops a batch because the server
/// could not be reached, the ids it did not send and those of every later
/// batch go to `report.not_attempted`, unsent.
pub(crate) fn revoke(
    job: &Job,
    kind: Kind,
    ids: &[String],
    report: &mut Report,
    hooks: &mut dyn Hooks,
) {
    if let Err(e) = hooks.revoking() {
        report.error = Some(Stop::Output(e));
        return;
    }
    let total = thousands(ids.len());
    let batch = job.parallel.max(1).saturating_mul(BATCH_PER_THREAD);
    for (n, part) in ids.chunks(batch).enumerate() {
        let (revoked, failed) = (report.revoked.len(), report.failed.len());
        let results = ticking(job.client, hooks, revoked, failed, &total, || match kind {
            Kind::Project(()) => job.client.discard_project_jwts(part, job.parallel),
            Kind::User(()) => job.client.discard_user_jwts(part, job.parallel),
        });
        let shown = hooks.revoked(part, &results);
        let mut unsent = Vec::new();
        for (id, result) in part.iter().zip(results) {
            match result {
                Ok(_) => report.revoked.push(id.clone()),
                Err(magicbell_jwt::Error::NotAttempted { .. }) => unsent.push(id.clone()),
                Err(e) => report.failed.push((id.clone(), e)),
            }
        }
        if !unsent.is_empty() {
            // A new batch would only meet the same closed door, one round
            // of retries later.
            unsent.extend_from_slice(ids.get((n + 1) * batch..).unwrap_or_default());
            hooks.not_attempted(&unsent);
            report.not_attempted = unsent;
        }
        if let Err(e) = shown {
            report.error = Some(Stop::Output(e));
            return;
        }
        if !report.not_attempted.is_empty() {
            return;
        }
        let (revoked, failed) = (report.revoked.len(), report.failed.len());
        hooks.progress(&revoked_progress(revoked, failed, &total));
    }
}

/// `revoked 1,200 of 5,000, failed 3`: a revoking job's progress.
pub(crate) fn revoked_progress(revoked: usize, failed: usize, total: &str) -> String {
    let mut text = format!("revoked {} of {total}", thousands(revoked));
    if failed > 0 {
        text.push_str(&format!(", failed {}", thousands(failed)));
    }
    text
}

/// How often a job that waits on its requests looks whether the rate limit
/// holds them back, to say so on the progress line.
const TICK: Duration = Duration::from_millis(200);

/// Runs a batch of revokes (`work`) on a thread of its own while this one,
/// every [`TICK`], says on the progress line whether the rate limit holds
/// the job back: `rate limited: waiting 1 s; 120 of 1,000 revoked`.
pub(crate) fn ticking<T: Send>(
    client: &Client,
    hooks: &mut dyn Hooks,
    revoked: usize,
    failed: usize,
    total: &str,
    work: impl FnOnce() -> T + Send,
) -> T {
    // Taken by the thread, or by this one if the system refuses a thread.
    let work = std::sync::Mutex::new(Some(work));
    let run = || {
        let work = work.lock().ok().and_then(|mut w| w.take());
        work.map(|work| work())
    };
    std::thread::scope(|scope| {
        let (finished, done) = mpsc::channel();
        let worker = std::thread::Builder::new().spawn_scoped(scope, move || {
            let result = run();
            // The receiver is there until this thread is joined.
            let _ = finished.send(());
            result
        });
        let Ok(worker) = worker else {
            // No thread to spare: the batch runs here, with no ticks.
            return run().expect("the batch was not taken by a thread that never started");
        };
        let mut doing = format!("{} of {total} revoked", thousands(revoked));
        if failed > 0 {
            doing.push_str(&format!(", {} failed", thousands(failed)));
        }
        let mut held = false;
        while let Err(RecvTimeoutError::Timeout) = done.recv_timeout(TICK) {
            held = rate_limit_tick(client, hooks, held, &doing, || {
                revoked_progress(revoked, failed, total)
            });
        }
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            .expect("the thread ran the batch")
    })
}

/// One tick: while the client is held back, `rate limited: waiting N s;
/// DOING` on the progress line; once it no longer is, the job's usual line
/// (`usual`) again. Returns whether it is held back.
fn rate_limit_tick(
    client: &Client,
    hooks: &mut dyn Hooks,
    was_held: bool,
    doing: &str,
    usual: impl FnOnce() -> String,
) -> bool {
    match client.rate_limit_stats().held_for {
        Some(wait) => {
            hooks.progress(&rate_limited_progress(wait, doing));
            true
        }
        None => {
            if was_held {
                hooks.progress(&usual());
            }
            false
        }
    }
}

/// `rate limited: waiting 2 s; 120 of 1,000 revoked`: the wait in whole
/// seconds, rounded up, so a wait under a second shows as 1.
pub(crate) fn rate_limited_progress(wait: Duration, doing: &str) -> String {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    format!("rate limited: waiting {} s; {doing}", seconds.max(1))
}

/// The ids of the tokens of a whole walk that are not revoked and that
/// `keep` picks; the walk finishes before anything is revoked. `hooks`, when
/// given, hears how many tokens were listed, page by page.
fn live_ids(
    walk: magicbell_jwt::Paginator,
    keep: impl Fn(&AccessToken) -> bool,
    hooks: Option<&mut dyn Hooks>,
) -> Result<Vec<String>, magicbell_jwt::Error> {
    let mut ids = Vec::new();
    each_live(walk, keep, hooks, |token| {
        ids.extend(token.id);
        true
    })?;
    Ok(ids)
}

/// Hands each token of a walk that is not revoked and that `keep` picks to
/// `each`, as its page arrives, until `each` answers `false`. `hooks`,
/// when given, hears how many tokens were listed, page by page.
pub(crate) fn each_live(
    walk: magicbell_jwt::Paginator,
    keep: impl Fn(&AccessToken) -> bool,
    mut hooks: Option<&mut dyn Hooks>,
    mut each: impl FnMut(AccessToken) -> bool,
) -> Result<(), magicbell_jwt::Error> {
    for (listed, token) in walk.enumerate() {
        let token = token?;
        if !token.is_discarded() && keep(&token) && !each(token) {
            break;
        }
        if let Some(hooks) = hooks.as_deref_mut().filter(|_| listed % 100 == 99) {
            hooks.progress(&format!("listed {} tokens", thousands(listed + 1)));
        }
    }
    Ok(())
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
