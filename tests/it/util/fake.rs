//! A [`FakeServer`] for the fake's own tests, checked for caught panics.

use magicbell_jwt::FakeServer;

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
pub fn start() -> Fake {
    Fake(FakeServer::start().expect("the fake starts"))
}
