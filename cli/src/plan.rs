//! The plan file: its JSON Lines format, written whole or not at all, read back line by line; and the compact set of token ids.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The version of the plan format a plan's first line names (`"plan": 1`):
/// a tool refuses a plan of a version it does not know.
pub(crate) const PLAN_FORMAT: u32 = 1;

/// A plan's first line: the job it was listed for. It has no `id`, which
/// is how it is told from a token's line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlanHeader {
    /// [`PLAN_FORMAT`].
    pub(crate) plan: u32,
    /// `prune` or `user-revoke-all`.
    #[serde(default)]
    pub(crate) command: String,
    /// What it was given that decides what is planned: `--older-than 30`,
    /// or the USER_IDs (`-` when they came from stdin).
    #[serde(default)]
    pub(crate) arguments: Vec<String>,
    /// The API base URL the lists came from: a plan is applied there only.
    /// With [`plan`](PlanHeader::plan), the one member `apply` needs.
    pub(crate) base_url: String,
    /// When the lists were walked, RFC 3339 in UTC.
    #[serde(default)]
    pub(crate) listed_at: String,
    /// `magicbell-jwt 0.1.0`.
    #[serde(default)]
    pub(crate) tool: String,
    /// `user-revoke-all`: how many users were given, each once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) users: Option<usize>,
    /// `user-revoke-all`: the users whose list failed, none of whose tokens
    /// the plan holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) failed_users: Option<Vec<String>>,
}

/// Project or user token: which call revokes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TokenKind {
    Project,
    User,
}

/// One line of a plan after the first: a token to revoke, with what a
/// person reviewing the plan needs to judge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlannedToken {
    pub(crate) id: String,
    pub(crate) kind: TokenKind,
    /// The USER_ID it was listed under; `null` for a project token.
    #[serde(default)]
    pub(crate) user: Option<String>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) created_at: Option<String>,
    #[serde(default)]
    pub(crate) expires_at: Option<String>,
}

/// A plan being written: to a temporary file beside it, renamed to its
/// name only once whole, so a run killed part-way leaves no half plan
/// under that name. Dropped unfinished, the temporary file is removed.
pub(crate) struct PlanWriter {
    file: PathBuf,
    temporary: PathBuf,
    out: Option<BufWriter<File>>,
    tokens: usize,
    /// The first line as written.
    header: PlanHeader,
}

impl PlanWriter {
    /// Begins the plan `file` with its first line.
    pub(crate) fn create(file: &Path, header: &PlanHeader) -> io::Result<PlanWriter> {
        let temporary = beside(file, "tmp");
        let mut writer = PlanWriter {
            file: file.to_owned(),
            out: Some(BufWriter::new(File::create(&temporary)?)),
            temporary,
            tokens: 0,
            header: header.clone(),
        };
        writer.line(header)?;
        Ok(writer)
    }

    fn line(&mut self, value: &impl Serialize) -> io::Result<()> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| io::Error::other("closed"))?;
        serde_json::to_writer(&mut *out, value)?;
        out.write_all(b"\n")
    }

    /// Adds a token to revoke.
    pub(crate) fn token(&mut self, token: &PlannedToken) -> io::Result<()> {
        self.line(token)?;
        self.tokens += 1;
        Ok(())
    }

    /// How many tokens it holds.
    pub(crate) fn tokens(&self) -> usize {
        self.tokens
    }

    /// Writes the plan out to disk, its first line `header` (what is known
    /// only once every list is walked), and gives it its name. If it
    /// cannot be written, the temporary file is removed (when dropped); if
    /// only the rename fails, it is kept, whole, and named in the error.
    pub(crate) fn finish(mut self, header: &PlanHeader) -> Result<(), Unfinished> {
        let unwritten = |error| Unfinished { error, kept: None };
        if *header != self.header {
            self.rehead(header).map_err(unwritten)?;
        }
        if let Some(out) = self.out.as_mut() {
            out.flush().map_err(unwritten)?;
            out.get_ref().sync_all().map_err(unwritten)?;
        }
        if let Err(error) = fs::rename(&self.temporary, &self.file) {
            self.out = None;
            let kept = Some(self.temporary.clone());
            return Err(Unfinished { error, kept });
        }
        self.out = None;
        // The rename itself reaches the disk with its directory; where a
        // directory cannot be opened so, the plan is there all the same.
        let dir = self.file.parent().filter(|d| !d.as_os_str().is_empty());
        if let Ok(dir) = File::open(dir.unwrap_or(Path::new("."))) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// Why a plan was not given its name.
#[derive(Debug)]
pub(crate) struct Unfinished {
    pub(crate) error: io::Error,
    /// The temporary file, whole, when only its rename failed.
    pub(crate) kept: Option<PathBuf>,
}

impl PlanWriter {
    /// The plan written again, `header` its first line: the tokens written
    /// are moved to `FILE.PID.body.tmp`, and copied from there under the
    /// new first line into `FILE.PID.tmp`, as they stand on disk.
    fn rehead(&mut self, header: &PlanHeader) -> io::Result<()> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| io::Error::other("closed"))?;
        out.flush()?;
        let body = beside(&self.file, "body.tmp");
        fs::rename(&self.temporary, &body)?;
        // Until a new one is made, no file is left to remove when dropped.
        self.out = None;
        let copied = (|| {
            let mut read = BufReader::new(File::open(&body)?);
            read.skip_until(b'\n')?;
            self.out = Some(BufWriter::new(File::create(&self.temporary)?));
            self.line(header)?;
            io::copy(
                &mut read,
                self.out
                    .as_mut()
                    .ok_or_else(|| io::Error::other("closed"))?,
            )
        })();
        let _ = fs::remove_file(&body);
        copied?;
        self.header = header.clone();
        Ok(())
    }
}

/// `FILE.PID.TAIL`, beside `file`.
fn beside(file: &Path, tail: &str) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.{tail}", std::process::id()));
    file.with_file_name(name)
}

impl Drop for PlanWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

/// Why a plan cannot be read: each names the file, and the line where
/// there is one.
#[derive(Debug)]
pub(crate) enum PlanError {
    /// It cannot be opened or read.
    Read(io::Error),
    /// Its first line is not a job's line.
    NoHeader(String),
    /// A line (numbered from 1) is not a token of a plan.
    Line(usize, String),
}

/// The longest line a plan or a journal is read with: far more than a
/// line of either takes, so that a file that is neither is refused without
/// being held whole.
pub(crate) const MAX_LINE: u64 = 1 << 20;

/// A plan read line by line: its first line, then its tokens, blank lines
/// skipped, each with its line number.
pub(crate) struct PlanReader {
    read: BufReader<File>,
    line: Vec<u8>,
    number: usize,
    pub(crate) header: PlanHeader,
}

impl PlanReader {
    /// Opens `file` and reads its first line.
    pub(crate) fn open(file: &Path) -> Result<PlanReader, PlanError> {
        let read = BufReader::new(File::open(file).map_err(PlanError::Read)?);
        let mut plan = PlanReader {
            read,
            line: Vec::new(),
            number: 0,
            header: PlanHeader::default(),
        };
        if !plan.next_line()? {
            return Err(PlanError::NoHeader("the file is empty".into()));
        }
        let value: serde_json::Value = serde_json::from_slice(&plan.line)
            .map_err(|e| PlanError::NoHeader(format!("its first line is not JSON: {e}")))?;
        if value.get("id").is_some() {
            let why =
                "its first line is a token's, not the job's (a plan's first line has no \"id\")";
            return Err(PlanError::NoHeader(why.into()));
        }
        plan.header = serde_json::from_value(value)
            .map_err(|e| PlanError::NoHeader(format!("its first line is not a job's: {e}")))?;
        if plan.header.plan != PLAN_FORMAT {
            return Err(PlanError::NoHeader(format!(
                "it is of plan format {}, and this tool reads format {PLAN_FORMAT}",
                plan.header.plan
            )));
        }
        Ok(plan)
    }

    /// Reads the next line into `self.line`: whether there was one.
    fn next_line(&mut self) -> Result<bool, PlanError> {
        self.line.clear();
        let n = (&mut self.read)
            .take(MAX_LINE)
            .read_until(b'\n', &mut self.line)
            .map_err(PlanError::Read)?;
        if n == 0 {
            return Ok(false);
        }
        self.number += 1;
        if n as u64 == MAX_LINE && self.line.last() != Some(&b'\n') {
            let why = format!("it is longer than {MAX_LINE} bytes");
            return Err(match self.number {
                1 => PlanError::NoHeader(format!("its first line {why}")),
                n => PlanError::Line(n, why),
            });
        }
        Ok(true)
    }
}

impl Iterator for PlanReader {
    /// A token and its line number.
    type Item = Result<(usize, PlannedToken), PlanError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_line() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            if self.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let number = self.number;
            let token = serde_json::from_slice::<PlannedToken>(&self.line)
                .map_err(|e| PlanError::Line(number, e.to_string()))
                .and_then(|token| match disagrees(&token) {
                    Some(why) => Err(PlanError::Line(number, why.into())),
                    None => Ok((number, token)),
                });
            return Some(token);
        }
    }
}

/// Why a token's line cannot be applied as it stands: an empty id, or a
/// `kind` its `user` contradicts (which call revokes it would be a guess,
/// and a wrong guess is answered 404, which reads as done).
fn disagrees(token: &PlannedToken) -> Option<&'static str> {
    if token.id.trim().is_empty() {
        return Some("its id is empty");
    }
    match (token.kind, &token.user) {
        (TokenKind::Project, Some(_)) => Some("its kind is project, and it names a user"),
        (TokenKind::User, None) => Some("its kind is user, and it names no user"),
        _ => None,
    }
}

/// A set of token ids, compact for UUIDs (16 bytes each, as the API's ids
/// are, in either case: a UUID's hex digits name the same id in upper or
/// lower case), any other id kept as its text.
#[derive(Debug, Default)]
pub(crate) struct IdSet {
    uuids: HashSet<u128>,
    others: HashSet<Box<str>>,
}

impl IdSet {
    /// Adds `id`: whether it was not there.
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        match uuid(id) {
            Some(n) => self.uuids.insert(n),
            None => self.others.insert(id.into()),
        }
    }

    /// Removes `id`: whether it was there.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        match uuid(id) {
            Some(n) => self.uuids.remove(&n),
            None => self.others.remove(id),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.uuids.len() + self.others.len()
    }
}

/// `id` as a number when it is a UUID in its canonical text (`8-4-4-4-12`
/// hex digits, in either case), so two ids are the same number only when
/// they are the same text but for the case of its digits.
fn uuid(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut n: u128 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        n = n << 4 | u128::from(digit);
    }
    Some(n)
}

/// `time` as RFC 3339 in UTC, to the second: `2026-12-07T08:00:00Z`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (Howard Hinnant's algorithm), from 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_writes_utc_dates() {
        let at = |secs| rfc3339(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_634_061), "2026-12-07T09:01:01Z");
    }

    #[test]
    fn a_plan_whose_rename_fails_is_kept_whole_in_its_temporary_file() {
        let dir = std::env::temp_dir().join(format!("mbcli-rename-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plan.jsonl");
        let header = PlanHeader {
            plan: PLAN_FORMAT,
            command: "prune".into(),
            arguments: vec!["--expired".into()],
            base_url: "http://127.0.0.1:1/v2".into(),
            listed_at: "2026-12-07T08:00:00Z".into(),
            tool: "magicbell-jwt 0.1.0".into(),
            users: None,
            failed_users: None,
        };
        let mut writer = PlanWriter::create(&file, &header).unwrap();
        writer.token(&token("t1")).unwrap();
        // A directory, not empty, took the plan's name while it was listed.
        fs::create_dir_all(file.join("in-the-way")).unwrap();

        let unfinished = writer.finish(&header).unwrap_err();

        let temporary = dir.join(format!("plan.jsonl.{}.tmp", std::process::id()));
        assert_eq!(unfinished.kept.as_ref(), Some(&temporary));
        let mut read = PlanReader::open(&temporary).unwrap();
        assert_eq!(read.header, header);
        assert_eq!(read.next().unwrap().unwrap(), (2, token("t1")));
        assert!(read.next().is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    fn token(id: &str) -> PlannedToken {
        PlannedToken {
            id: id.into(),
            kind: TokenKind::Project,
            user: None,
            name: Some("ci".into()),
            created_at: Some("2026-12-07T08:00:00Z".into()),
            expires_at: None,
        }
    }

    #[test]
    fn an_id_set_keeps_uuids_as_numbers_and_any_other_id_as_text() {
        let mut set = IdSet::default();
        let lower = "0190a5b4-8c1e-4f6a-9d2b-3e4f5a6b7c8d";
        assert!(set.insert(lower));
        assert!(!set.insert(lower));
        // The same UUID in upper case: the same id, kept as its number.
        let upper = lower.to_uppercase();
        assert!(!set.insert(&upper));
        assert!(set.insert("0190A5B4-8C1E-4F6A-9D2B-3E4F5A6B7C8E"));
        assert!(set.insert("t1"));
        assert_eq!((set.uuids.len(), set.others.len()), (2, 1));
        assert!(set.remove("t1") && !set.remove("t1"));
        assert!(set.remove(&upper) && !set.remove(lower));
        assert_eq!(set.len(), 1);
        assert_eq!(uuid("0190a5b4-8c1e-4f6a-9d2b-3e4f5a6b7c8"), None);
        assert_eq!(uuid("0190a5b4x8c1e-4f6a-9d2b-3e4f5a6b7c8d"), None);
        assert_eq!(uuid("00000000-0000-0000-0000-0000000000ff"), Some(255));
    }
}
