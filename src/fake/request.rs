//! A request as the fake read it (`Request`, with its JSON body) and as its
//! log lists it ([`FakeRequest`]).

use serde_json::{Map, Value};

use super::answer::{excerpt, Answer};

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

/// A create's body: a JSON object, sent as `application/json` (415 for
/// another media type; none given is taken as JSON).
pub(super) fn json_body(request: &Request) -> Result<Map<String, Value>, Answer> {
    if let Some(given) = request.header("content-type") {
        let media = given.split(';').next().unwrap_or_default().trim();
        if !media.eq_ignore_ascii_case("application/json") {
            return Err(Answer::error(
                415,
                "unsupported_media_type",
                format!(
                    "the body is {:?}; the fake reads application/json",
                    excerpt(given)
                ),
                "send the JSON body with Content-Type: application/json",
            ));
        }
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Answer::invalid("the body is JSON but not an object")),
        Err(e) => Err(Answer::error(
            400,
            "invalid_json",
            format!("the body is not JSON: {e}"),
            "send a JSON object with Content-Type: application/json",
        )),
    }
}
