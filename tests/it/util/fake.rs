//! A [`FakeServer`] for the fake's own tests, checked for caught panics, and
//! the requests those tests send it.

use magicbell_jwt::{FakeRequest, FakeServer};
use magicbell_jwt_test_support::raw_http::send;

/// A [`FakeServer`] that, when dropped at the end of a passing test, asserts
/// that it caught no panic (a bug in the fake) while serving.
pub struct Fake(FakeServer);

impl std::ops::Deref for Fake {
    type Target = FakeServer;

    fn deref(&self) -> &FakeServer {
        &self.0
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(self.0.caught_panics(), 0, "the fake panicked serving");
        }
    }
}

/// A started [`Fake`].
#[track_caller]
pub fn start() -> Fake {
    Fake(FakeServer::start().expect("the fake starts"))
}

/// The bytes of a request the fake's admin token authorises.
pub fn request(fake: &FakeServer, method: &str, path: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        fake.admin_token(),
        body.len()
    )
    .into_bytes()
}

/// A request as the fake's log holds it.
pub fn req(method: &str, path: &str, status: Option<u16>) -> FakeRequest {
    FakeRequest {
        method: method.into(),
        path: path.into(),
        status,
    }
}

/// The fake still serves a normal request on a new connection.
#[track_caller]
pub fn assert_still_serving(fake: &FakeServer) {
    let answer = send(
        &fake.base_url(),
        &request(fake, "GET", "/v2/jwt/project", ""),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}
