//! The fake's request log: one entry a request, recorded as its answer is
//! written, and sent on to a feed once the answer is out.

use std::collections::VecDeque;
use std::sync::mpsc::Sender;

use super::request::FakeRequest;

#[derive(Debug, Default)]
pub(super) struct RequestLog {
    entries: VecDeque<FakeRequest>,
    /// The most entries kept, the latest; `None` keeps every one.
    limit: Option<usize>,
    /// The number of the first entry in `entries`: each entry has the next
    /// number, so that one can be found again while its answer is written.
    first: u64,
    /// Where each entry is sent too, once its answer is out.
    feed: Option<Sender<FakeRequest>>,
}

impl RequestLog {
    /// Adds `request`, whose answer is out (or never will be), to the log
    /// and the feed.
    pub(super) fn record(&mut self, request: FakeRequest) {
        self.send(&request);
        self.keep(request);
    }

    /// Adds `request`, whose answer is being written, to the log only; its
    /// number, for [`RequestLog::answered`].
    pub(super) fn answering(&mut self, request: FakeRequest) -> u64 {
        let number = self.first + self.entries.len() as u64;
        self.keep(request);
        number
    }

    /// Adds `request` to the entries, within the limit.
    fn keep(&mut self, request: FakeRequest) {
        self.entries.push_back(request);
        self.trim();
    }

    /// Keeps at most `limit` entries (the latest) from now on; `None`, every
    /// one.
    pub(super) fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit;
        self.trim();
        if limit.is_some() {
            self.entries.shrink_to_fit();
        }
    }

    fn trim(&mut self) {
        if let Some(limit) = self.limit {
            while self.entries.len() > limit {
                self.entries.pop_front();
                self.first += 1;
            }
        }
    }

    /// The answer to entry `number` went out (`written`), or failed to: the
    /// entry, marked unanswered if it failed, goes to the feed.
    pub(super) fn answered(&mut self, number: u64, mut request: FakeRequest, written: bool) {
        if !written {
            request.status = None;
            let at = number.checked_sub(self.first).map(|i| i as usize);
            if let Some(entry) = at.and_then(|i| self.entries.get_mut(i)) {
                entry.status = None;
            }
        }
        self.send(&request);
    }

    fn send(&self, request: &FakeRequest) {
        // A feed nobody reads any more fails to send, which costs nothing.
        if let Some(feed) = &self.feed {
            let _ = feed.send(request.clone());
        }
    }

    pub(super) fn entries(&self) -> Vec<FakeRequest> {
        self.entries.iter().cloned().collect()
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Forgets every entry; how many there were. An answer being written
    /// meanwhile still goes to the feed.
    pub(super) fn clear(&mut self) -> usize {
        let count = self.entries.len();
        self.first += count as u64;
        self.entries = VecDeque::new();
        count
    }

    pub(super) fn set_feed(&mut self, feed: Sender<FakeRequest>) {
        self.feed = Some(feed);
    }
}
