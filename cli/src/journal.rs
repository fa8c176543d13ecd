//! A plan's journal, `FILE.journal`: one JSON line per revoke sent (the id and its outcome), appended and flushed to disk a batch at a time, read back up to its last whole line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::{IdSet, MAX_LINE};

/// What became of one revoke of a plan.
#[derive(Debug)]
pub(crate) enum Outcome {
    Revoked,
    /// Answered 404: revoked already (by an attempt whose answer a kill
    /// lost, or by someone else), so done.
    Gone,
    /// Any other failure: tried again by the next apply.
    Failed(magicbell_jwt::Error),
    /// Not sent, the server being unreachable: sent by the next apply.
    NotAttempted,
}

impl Outcome {
    /// What a revoke's result means for a plan: 404 is [`Outcome::Gone`].
    pub(crate) fn of(
        result: Result<magicbell_jwt::DiscardTokenResponse, magicbell_jwt::Error>,
    ) -> Outcome {
        match result {
            Ok(_) => Outcome::Revoked,
            Err(magicbell_jwt::Error::NotAttempted { .. }) => Outcome::NotAttempted,
            Err(e) if e.status() == Some(404) => Outcome::Gone,
            Err(e) => Outcome::Failed(e),
        }
    }

    fn name(&self) -> Final {
        match self {
            Outcome::Revoked => Final::Revoked,
            Outcome::Gone => Final::Gone,
            Outcome::Failed(_) => Final::Failed,
            Outcome::NotAttempted => Final::NotAttempted,
        }
    }
}

/// An outcome as the journal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Final {
    Revoked,
    Gone,
    Failed,
    NotAttempted,
}

/// One line of the journal.
#[derive(Debug, Serialize, Deserialize)]
struct Entry<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    outcome: Final,
    /// Why a `failed` revoke failed, in the library's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The journal of the plan `plan`: `plan.journal`, beside it.
pub(crate) fn journal_path(plan: &Path) -> PathBuf {
    let mut name = plan.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// What a journal says so far.
#[derive(Debug, Default)]
pub(crate) struct JournalRead {
    /// How many ids it took out of the pending set, revoked or gone.
    pub(crate) done: usize,
    /// How many entries it holds: none, and no revoke of the plan was ever
    /// sent (but by a run stopped before its first batch was journaled).
    pub(crate) entries: usize,
    /// The length of its whole lines, in bytes.
    whole: u64,
    /// The line number of a last line a kill cut short (it has no newline),
    /// which is left out: its revoke is sent again.
    pub(crate) torn: Option<usize>,
}

/// Why a journal cannot be read.
#[derive(Debug)]
pub(crate) enum JournalError {
    Read(io::Error),
    /// It is not a regular file (named here: `a directory`, `a device`): a
    /// device such as `/dev/null` would keep nothing, a FIFO would block.
    NotFile(&'static str),
    /// A whole line (numbered from 1) that is not an entry: the journal was
    /// not written by this tool alone.
    Line(usize, String),
}

/// Reads the journal at `path` (none there is an empty one), taking each id
/// it says is revoked or gone out of `pending`: nothing more is held.
pub(crate) fn read_journal(path: &Path, pending: &mut IdSet) -> Result<JournalRead, JournalError> {
    let mut done = 0;
    let mut read = read_entries(path, |id, outcome| {
        if matches!(outcome, Final::Revoked | Final::Gone) && pending.remove(id) {
            done += 1;
        }
    })?;
    read.done = done;
    Ok(read)
}

/// Hands each entry of the journal at `path` to `each`, up to its last
/// whole line.
fn read_entries(
    path: &Path,
    mut each: impl FnMut(&str, Final),
) -> Result<JournalRead, JournalError> {
    // Looked at before it is opened: opening a FIFO waits for a writer.
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(JournalRead::default()),
        Err(e) => return Err(JournalError::Read(e)),
        Ok(meta) if !meta.is_file() => return Err(JournalError::NotFile(special(&meta))),
        Ok(_) => {}
    }
    let file = File::open(path).map_err(JournalError::Read)?;
    let mut read = JournalRead::default();
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .map_err(JournalError::Read)?;
        if n == 0 {
            break;
        }
        if n as u64 == MAX_LINE && line.last() != Some(&b'\n') {
            let why = format!("it is longer than {MAX_LINE} bytes");
            return Err(JournalError::Line(number, why));
        }
        if line.last() != Some(&b'\n') {
            read.torn = Some(number);
            break;
        }
        read.whole += n as u64;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry: Entry =
            serde_json::from_slice(&line).map_err(|e| JournalError::Line(number, e.to_string()))?;
        read.entries += 1;
        each(&entry.id, entry.outcome);
    }
    Ok(read)
}

/// What a file that is not a regular file is, as a journal's refusal names it.
fn special(meta: &fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// A journal open for appending.
pub(crate) struct Journal {
    file: File,
}

impl Journal {
    /// Opens the journal at `path` for appending, created if need be, a
    /// torn last line `read` found cut off first.
    pub(crate) fn open(path: &Path, read: &JournalRead) -> io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if read.torn.is_some() {
            file.set_len(read.whole)?;
        }
        Ok(Journal { file })
    }

    /// Appends one line per id, each with its outcome, and flushes them to
    /// disk (`sync_data`) before it returns.
    pub(crate) fn append(&mut self, ids: &[String], outcomes: &[Outcome]) -> io::Result<()> {
        #[cfg(test)]
        if tests::disk_full() {
            return Err(io::ErrorKind::StorageFull.into());
        }
        let mut text = Vec::new();
        for (id, outcome) in ids.iter().zip(outcomes) {
            let entry = Entry {
                id: id.as_str().into(),
                outcome: outcome.name(),
                error: match outcome {
                    Outcome::Failed(e) => Some(e.to_string()),
                    _ => None,
                },
            };
            serde_json::to_writer(&mut text, &entry)?;
            text.push(b'\n');
        }
        self.file.write_all(&text)?;
        self.file.sync_data()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    thread_local! {
        /// The appends left before the disk fills, on this thread.
        static APPENDS_LEFT: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// From now on, on this thread, a journal takes `appends` more appends,
    /// and every later one fails as on a full disk: a regular file whose
    /// writes fail, which no file a test can make is.
    pub(crate) fn fill_disk_after(appends: usize) {
        APPENDS_LEFT.with(|left| left.set(Some(appends)));
    }

    /// The disk has room again.
    pub(crate) fn empty_disk() {
        APPENDS_LEFT.with(|left| left.set(None));
    }

    /// Whether this append fails.
    pub(super) fn disk_full() -> bool {
        APPENDS_LEFT.with(|left| match left.get() {
            None => false,
            Some(0) => true,
            Some(n) => {
                left.set(Some(n - 1));
                false
            }
        })
    }
}
