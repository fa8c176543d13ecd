//! What a test makes the fake do instead of answering normally.

use std::time::Duration;

#[cfg(doc)]
use super::FakeServer;

/// A misbehaviour [`FakeServer::inject`] makes the next requests meet instead
/// of their normal answer.
///
/// A faulted request changes no state, except under [`FakeFault::Delay`],
/// which handles the request normally and only holds its answer back.
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FakeFault {
    /// Answer with this status and a MagicBell error body, whatever the
    /// request. A status outside 200 to 599 is answered as 500.
    Status(u16),
    /// Answer with this status (as [`FakeFault::Status`]) and
    /// `Retry-After: SECS`.
    RetryAfter(u16, u64),
    /// Read the request, then close the connection without answering.
    Close,
    /// Handle the request normally, then wait this long before answering.
    ///
    /// The request takes effect at once (a create mints its token, a discard
    /// revokes) and is logged in [`FakeServer::requests`] with its status;
    /// its answer leaves after the delay, as with a slow network after the
    /// server acted. A client that times out meanwhile has changed the state
    /// all the same, which is what a test of "the create timed out: was it
    /// retried into a second token?" needs. If the fake is dropped during the
    /// wait, the answer is never sent; the change stays.
    Delay(Duration),
}
