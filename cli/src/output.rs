//! stdout and stderr: tables, JSON documents written as a job goes, and progress.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use magicbell_jwt::{AccessToken, CreateTokenResponse, DiscardTokenResponse};
use serde::Serialize;
use serde_json::json;

use crate::apply::{Applied, Applying};
use crate::connect::Target;
use crate::jobs::{Hooks, Report, Revoked, Unshown};
use crate::journal::Outcome;
use crate::lowargs::ArgError;
use crate::stop::Stop;
use crate::wording::{
    applied_text, applied_warnings, count_line, rate_limited_text, refusal, replan, report_text,
    shown_then_broken, unshown, words, Failed, Voice, Wording,
};

/// stdout and stderr, and how to write to them: the one writer of the
/// tool's output.
pub(crate) struct Output<'a> {
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
    /// `{` is written: a job's document, or a walk's; a failure after
    /// that is one of its members, not a document of its own.
    open: bool,
    /// The `"revoked"` array is open: `Some(true)` once it holds an id.
    revoked: Option<bool>,
    /// A job's new token is on stdout, and in text mode the blank line that
    /// goes under it before the first revoke is not yet (see
    /// [`Hooks::revoking`]).
    line_owed: bool,
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
            self.flush_out()?;
        } else {
            self.created_text(created)?;
        }
        self.doc.line_owed = true;
        Ok(())
    }

    /// First each failed revoke, named on stderr, so that no stdout
    /// failure can hide it. Then text: `revoked ID` lines on stdout; JSON:
    /// the ids, into the document's `"revoked"` array. If stdout fails,
    /// the batch's revoked ids go to stderr instead, under a line saying
    /// so, and the error is returned.
    fn revoked(&mut self, ids: &[String], results: &[Revoked]) -> io::Result<()> {
        self.clear_progress();
        for (id, result) in ids.iter().zip(results) {
            // Named with the rest of the ids not sent, by `not_attempted`.
            if let Err(magicbell_jwt::Error::NotAttempted { .. }) = result {
                continue;
            }
            if let Err(e) = result {
                let message = self.words(Failed::Call(e), Wording::Line);
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
    /// stdout that is gone is found before anything is revoked. Text: a
    /// blank line under a new token shown (`rotate`), flushed, for the same
    /// reason: its reader may have gone without it (`| head -c1`), and the
    /// old tokens must then stay. Otherwise nothing.
    fn revoking(&mut self) -> io::Result<()> {
        if !self.json {
            if !std::mem::take(&mut self.doc.line_owed) {
                return Ok(());
            }
            self.write_out(b"\n")?;
            return self.flush_out();
        }
        if self.doc.revoked.is_some() {
            return Ok(());
        }
        self.member("revoked", "[")?;
        self.doc.revoked = Some(false);
        self.flush_out()
    }

    /// `not attempted ID` on stderr for each id.
    fn not_attempted(&mut self, ids: &[String]) {
        self.clear_progress();
        let lines: String = ids
            .iter()
            .map(|id| format!("not attempted {id}\n"))
            .collect();
        let _ = self.err.write_all(lines.as_bytes());
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

impl Applying for Output<'_> {
    /// JSON: opens the document with its `"applied"` array, flushed, so a
    /// stdout that is gone is found before anything is sent.
    fn applying(&mut self) -> io::Result<()> {
        if !self.json {
            return Ok(());
        }
        self.member("applied", "[")?;
        self.doc.revoked = Some(false);
        self.flush_out()
    }

    /// First each failed revoke on stderr, and each not sent; then text:
    /// `revoked ID` and `gone ID` lines on stdout; JSON: an `{"id",
    /// "outcome"}` object each, into the `"applied"` array. If stdout fails,
    /// the batch's revoked and gone ids go to stderr instead.
    fn applied(&mut self, ids: &[String], outcomes: &[Outcome]) -> io::Result<()> {
        self.clear_progress();
        let mut text = String::new();
        let mut record = String::new();
        for (id, outcome) in ids.iter().zip(outcomes) {
            let (name, error) = match outcome {
                Outcome::Revoked => ("revoked", None),
                Outcome::Gone => ("gone", None),
                Outcome::Failed(e) => ("failed", Some(self.words(Failed::Call(e), Wording::Line))),
                Outcome::NotAttempted => ("not_attempted", None),
            };
            match (&error, outcome) {
                (Some(message), _) => {
                    let _ = writeln!(self.err, "failed to revoke {id}: {message}");
                }
                (None, Outcome::NotAttempted) => {
                    let _ = writeln!(self.err, "not attempted {id}");
                }
                (None, _) => record.push_str(&format!("{name} {id}\n")),
            }
            if self.json {
                let more = self.doc.revoked.replace(true) == Some(true);
                let mut entry = json!({ "id": id, "outcome": name });
                if let Some(message) = error {
                    entry["error"] = message.into();
                }
                text.push_str(&format!("{}\n    {entry}", if more { "," } else { "" }));
            }
        }
        if !self.json {
            text.clone_from(&record);
        }
        let shown = self
            .write_out(text.as_bytes())
            .and_then(|()| self.flush_out());
        if let Err(e) = &shown {
            let head = format!("could not show these revokes on stdout ({e}):\n");
            let _ = self.err.write_all((head + &record).as_bytes());
        }
        shown
    }
}

impl<'a> Output<'a> {
    /// The tool's output on `out` and `err`, as text until
    /// [`begin`](Output::begin) says otherwise: the commands messages
    /// suggest naming `prog`, and a progress line on `err` once a job has
    /// run `progress_after` (`None` when `err` is not a terminal, so a log
    /// or a pipe never gets it).
    pub(crate) fn new(
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
        prog: String,
        progress_after: Option<Duration>,
    ) -> Self {
        Output {
            out,
            err,
            json: false,
            prog,
            target: None,
            doc: Doc::default(),
            broken: false,
            progress: progress_after.map(|after| Progress {
                start: Instant::now(),
                after,
                width: 0,
            }),
        }
    }

    /// The command line is accepted and its run begins: one JSON document
    /// on stdout from now on when `json`, and the progress line's wait
    /// counted from now.
    pub(crate) fn begin(&mut self, json: bool) {
        self.json = json;
        if let Some(progress) = &mut self.progress {
            progress.start = Instant::now();
        }
    }

    /// The program's name as invoked.
    pub(crate) fn prog(&self) -> &str {
        &self.prog
    }

    /// What the command line asked to see (a usage, the version) on stdout.
    /// The exit status: 1 when stdout failed.
    pub(crate) fn asked_for(&mut self, text: &str) -> u8 {
        u8::from(self.out.write_all(text.as_bytes()).is_err())
    }

    /// No command given: the usage on stderr. The exit status, 2.
    pub(crate) fn no_command(&mut self, usage: &str) -> u8 {
        let _ = self.err.write_all(usage.as_bytes());
        2
    }

    /// A refused command line, on stderr, with where to read more. The
    /// exit status, 2.
    pub(crate) fn refused(&mut self, refused: &ArgError) -> u8 {
        let _ = writeln!(self.err, "{}", refusal(refused, &self.prog));
        2
    }

    /// stdout and stderr, lent whole to `fake`, which writes its variables
    /// and its request log itself for as long as it serves.
    pub(crate) fn lend(&mut self) -> (&mut dyn Write, &mut dyn Write) {
        (&mut *self.out, &mut *self.err)
    }

    /// Where requests go from now on, for the messages that name it.
    pub(crate) fn aim(&mut self, target: Target) {
        self.target = Some(target);
    }

    /// Flushes stdout at the end of a run; a failure there has no one left
    /// to tell.
    pub(crate) fn finish(self) {
        let _ = self.out.flush();
    }

    /// Says what stopped a command: on stderr, and, in JSON mode when no
    /// document was begun on stdout, as one `{"error": ...}` document there
    /// (a document begun gets the error as its last member instead). The
    /// exit status.
    pub(crate) fn fail(&mut self, stop: &Stop) -> u8 {
        if self.json && !self.doc.open && !matches!(stop, Stop::Output(_)) {
            let doc = json!({ "error": self.words(Failed::Stop(stop), Wording::Line) });
            let _ = print_json(self.out, &doc);
            self.doc.open = true;
        }
        let text = self.words(Failed::Stop(stop), Wording::Stderr);
        let _ = self.err.write_all(text.as_bytes());
        stop.exit_code()
    }

    /// A failure in the tool's words.
    fn words(&self, failed: Failed<'_>, wording: Wording) -> String {
        let voice = Voice {
            prog: &self.prog,
            target: self.target.as_ref(),
        };
        words(failed, wording, voice)
    }

    /// Says on stderr that stdout failed after the new token `id` was
    /// written to it: it may not have reached anyone, and it is live.
    fn shown_then_broken(&mut self, id: &str) {
        let _ = writeln!(self.err, "{}", shown_then_broken(id, &self.prog));
    }

    /// Says on stderr what became of a created token that could not be
    /// shown.
    pub(crate) fn unshown(&mut self, unshown_token: &Unshown) {
        let voice = Voice {
            prog: &self.prog,
            target: self.target.as_ref(),
        };
        let _ = writeln!(self.err, "{}", unshown(unshown_token, voice));
    }

    /// Blanks the progress line, if one is shown, so that what comes next
    /// starts on a clean line.
    fn clear_progress(&mut self) {
        if let Some(progress) = self.progress.as_mut().filter(|p| p.width > 0) {
            let _ = write!(self.err, "\r{:width$}\r", "", width = progress.width);
            let _ = self.err.flush();
            progress.width = 0;
        }
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
    pub(crate) fn created(&mut self, created: &CreateTokenResponse) -> Result<(), Stop> {
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

    pub(crate) fn discarded(&mut self, discarded: &DiscardTokenResponse) -> Result<(), Stop> {
        if self.json {
            return print_json(self.out, discarded);
        }
        let line = format!(
            "revoked {} at {}\n",
            discarded.token_id, discarded.discarded_at
        );
        Ok(self.out.write_all(line.as_bytes())?)
    }

    pub(crate) fn page(&mut self, page: &magicbell_jwt::AccessTokenCollection) -> Result<(), Stop> {
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
    pub(crate) fn walk(&mut self, pages: magicbell_jwt::Pages) -> u8 {
        // The status of a page's error already said, when stdout then failed.
        let mut said = 0;
        let result = self.try_walk(pages, &mut said);
        match result {
            Ok(()) => 0,
            Err(stop) => said.max(self.fail(&stop)),
        }
    }

    fn try_walk(&mut self, pages: magicbell_jwt::Pages, said: &mut u8) -> Result<(), Stop> {
        if self.json {
            self.doc.open = true;
            self.out.write_all(b"{\"data\":[")?;
        }
        let mut first = true;
        for page in pages {
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    let stop = Stop::Call(e);
                    if self.json {
                        let error =
                            serde_json::to_string(&self.words(Failed::Stop(&stop), Wording::Line))?;
                        let closed = write!(self.out, "\n],\"error\":{error}}}\n")
                            .and_then(|()| self.out.flush());
                        if let Err(e) = closed {
                            // The page's error first, so the output's
                            // does not hide it.
                            *said = self.fail(&stop);
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
    pub(crate) fn report(&mut self, report: &Report) -> u8 {
        self.clear_progress();
        let unlisted = report.unlisted.as_deref().unwrap_or_default();
        for (user, e) in unlisted {
            let message = self.words(Failed::Call(e), Wording::Line);
            let _ = writeln!(self.err, "failed to list the tokens of {user}: {message}");
        }
        let _ = self
            .err
            .write_all(replan(report, &self.prog, self.json).as_bytes());
        let printed = if self.json {
            self.close_document(report)
        } else {
            let text = report_text(report);
            self.write_out(text.as_bytes())
                .and_then(|()| self.flush_out())
        };
        let unfinished = !report.failed.is_empty() || !report.not_attempted.is_empty();
        let mut code = u8::from(unfinished || !unlisted.is_empty());
        if let Some(stop) = &report.error {
            code = code.max(self.fail(stop));
            // stdout stopped mid-job: the count it would have had, here.
            let sent = report.revoked.len() + report.failed.len();
            if matches!(stop, Stop::Output(_)) && sent + report.not_attempted.len() > 0 {
                let _ = self.err.write_all(count_line(report).as_bytes());
            }
        }
        // A job stopped by stdout was told so already.
        if let (Err(e), false) = (printed, matches!(report.error, Some(Stop::Output(_)))) {
            code = code.max(self.fail(&Stop::Output(e)));
        }
        if let Some(unshown) = &report.unshown {
            self.unshown(unshown);
        }
        // JSON: the document's "rate_limited" member says it.
        if let Some(line) = rate_limited_text(&report.rate_limited).filter(|_| !self.json) {
            let _ = writeln!(self.err, "{line}");
        }
        // Last, so that it is what the operator reads: a live token.
        if let (Some(id), true) = (&report.created, self.broken) {
            self.shown_then_broken(id);
        }
        code
    }

    /// The end of an apply, on every path: its warnings on stderr; on
    /// stdout the counts (text), or the document's remaining members and
    /// its close; then what stopped it. The exit status: 0 when every
    /// planned token is revoked or gone (or a dry run counted them).
    pub(crate) fn applied_report(&mut self, report: &Applied) -> u8 {
        self.clear_progress();
        let _ = self.err.write_all(applied_warnings(report).as_bytes());
        let refused = matches!(report.error, Some(Stop::Refused(_)));
        // stdout stopped mid-apply: the counts go to stderr, after the error.
        let to_err = matches!(report.error, Some(Stop::Output(_)));
        let text = applied_text(report, &self.prog, self.json);
        let printed = match (refused || to_err, self.json) {
            (true, _) => Ok(()),
            (false, true) => self.close_applied(report),
            (false, false) => self
                .write_out(text.as_bytes())
                .and_then(|()| self.flush_out()),
        };
        let mut code = u8::from(!report.dry_run && report.left() > 0);
        if let Some(stop) = &report.error {
            code = code.max(self.fail(stop));
        }
        if to_err {
            let _ = self.err.write_all(text.as_bytes());
        }
        if let (Err(e), false) = (printed, matches!(report.error, Some(Stop::Output(_)))) {
            code = code.max(self.fail(&Stop::Output(e)));
        }
        if let Some(line) = rate_limited_text(&report.rate_limited).filter(|_| !self.json) {
            let _ = writeln!(self.err, "{line}");
        }
        code
    }

    /// An apply's JSON document: its remaining members, then `}`.
    fn close_applied(&mut self, report: &Applied) -> io::Result<()> {
        if report.dry_run {
            self.member("dry_run", "true")?;
        } else {
            match self.doc.revoked {
                Some(true) => self.write_out(b"\n  ]")?,
                Some(false) => self.write_out(b"]")?,
                None => self.member("applied", "[]")?,
            }
            let counts = [
                ("revoked", report.revoked),
                ("gone", report.gone),
                ("failed", report.failed),
                ("not_attempted", report.not_attempted),
            ];
            for (key, n) in counts {
                self.member(key, &n.to_string())?;
            }
        }
        let (planned, done, left) = (report.planned, report.done, report.left());
        let plan = json!({ "file": report.plan.display().to_string(), "planned": planned, "done": done, "left": left });
        self.member("plan", &plan.to_string())?;
        if !report.dry_run {
            self.rate_limited_member(&report.rate_limited)?;
        }
        if let Some(stop) = &report.error {
            let message = self.words(Failed::Stop(stop), Wording::Line);
            self.member("error", &serde_json::Value::from(message).to_string())?;
        }
        self.write_out(b"\n}\n")?;
        self.flush_out()
    }

    fn rate_limited_member(&mut self, limited: &crate::jobs::RateLimited) -> io::Result<()> {
        let held_ms = u64::try_from(limited.held.as_millis()).unwrap_or(u64::MAX);
        let limited = json!({ "throttled": limited.throttled, "held_ms": held_ms });
        self.member("rate_limited", &limited.to_string())
    }

    /// The job's JSON document: its remaining members, then `}`.
    fn close_document(&mut self, report: &Report) -> io::Result<()> {
        let to_json = |value: serde_json::Value| value.to_string();
        if let Some(planned) = &report.planned {
            let file = planned.file.display().to_string();
            self.member("plan", &to_json(file.into()))?;
            self.member("written", &planned.written.to_string())?;
            self.member("tokens", &planned.tokens.to_string())?;
            if let Some(users) = planned.users {
                self.member("users", &users.to_string())?;
            }
        } else if report.dry_run {
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
                .map(|(id, e)| json!({ "id": id, "error": self.words(Failed::Call(e), Wording::Line) }))
                .collect();
            self.member("failed", &to_json(failed.into()))?;
            self.member("not_attempted", &to_json(json!(report.not_attempted)))?;
        }
        if let Some(unlisted) = &report.unlisted {
            let failed: Vec<_> = unlisted
                .iter()
                .map(|(user, e)| json!({ "user": user, "error": self.words(Failed::Call(e), Wording::Line) }))
                .collect();
            self.member("failed_users", &to_json(failed.into()))?;
        }
        self.rate_limited_member(&report.rate_limited)?;
        if let Some(stop) = &report.error {
            let message = self.words(Failed::Stop(stop), Wording::Line);
            self.member("error", &to_json(message.into()))?;
        }
        self.write_out(b"\n}\n")?;
        self.flush_out()
    }
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

pub(crate) fn print_json(out: &mut dyn Write, value: &impl Serialize) -> Result<(), Stop> {
    let text = serde_json::to_string_pretty(value)?;
    Ok(writeln!(out, "{text}")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use magicbell_jwt::Client;

    #[test]
    fn a_failed_revoke_is_named_on_stderr_when_its_batch_ends() {
        let mut err = Vec::new();
        let mut sink = io::sink();
        let mut output = Output::new(&mut sink, &mut err, "magicbell-jwt".into(), None);
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
    fn the_progress_line_is_rewritten_in_place_and_blanked_at_the_end() {
        let mut err = Vec::new();
        let mut sink = io::sink();
        let prog = "magicbell-jwt".to_owned();
        let mut output = Output::new(&mut sink, &mut err, prog, Some(Duration::ZERO));

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
    fn a_zero_wait_shows_progress_before_the_clock_has_moved() {
        let mut err = Vec::new();
        let mut sink = io::sink();
        let prog = "magicbell-jwt".to_owned();
        let mut output = Output::new(&mut sink, &mut err, prog, Some(Duration::ZERO));
        // A start in the future reads as no time elapsed (`elapsed`
        // saturates at zero), as a coarse clock may read right after the
        // job started.
        if let Some(progress) = &mut output.progress {
            progress.start = Instant::now() + Duration::from_secs(3600);
        }

        output.progress("revoked 2 of 9");

        assert_eq!(String::from_utf8(err).unwrap(), "\rrevoked 2 of 9");
    }
}
