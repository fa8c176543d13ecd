//! A request as the fake read it (`Request`) and as its log lists it
//! ([`FakeRequest`]).

/// One request the fake read, as
/// [`FakeServer::requests`](crate::FakeServer::requests) lists it.
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRequest {
    /// The method, as sent (`GET`, `POST`, `DELETE`, or whatever else arrived).
    pub method: String,
    /// The request target as sent, query included: `/v2/jwt/project?limit=5`.
    pub path: String,
    /// The status of the answer the client was sent; `None` when it was
    /// sent none: a [`FakeFault::Close`](crate::FakeFault::Close) closed the
    /// connection, or the answer could not be written (the client had gone
    /// or stopped reading, or the fake was dropped while a
    /// [`FakeFault::Delay`](crate::FakeFault::Delay) or
    /// [`set_latency`](crate::FakeServer::set_latency) held the answer
    /// back). Either way the request took effect.
    pub status: Option<u16>,
}

pub(super) struct Request {
    pub(super) method: String,
    pub(super) target: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) close: bool,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
