//! What the [`FakeServer`](crate::FakeServer) handle shares with its threads:
//! the state, the limits, the open connections and the shutdown flag.

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use super::limits::{Limits, POLL};
use super::state::State;

pub(super) struct Shared {
    pub(super) admin_token: String,
    pub(super) limits: Limits,
    pub(super) shutdown: AtomicBool,
    /// Panics caught while serving a connection: a bug in the fake.
    pub(super) panics: AtomicUsize,
    /// A handle on every open connection, by number, so that `Drop` can shut
    /// them down whatever their threads are blocked in.
    pub(super) connections: Mutex<HashMap<u64, TcpStream>>,
    pub(super) next_connection: AtomicU64,
    pub(super) state: Mutex<State>,
}

impl Shared {
    /// The state, even if a thread panicked holding it (none should).
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn connections(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Sleeps `total` in short steps; false when shutdown came first.
    pub(super) fn sleep(&self, total: Duration) -> bool {
        let mut left = total;
        while !left.is_zero() {
            if self.stopping() {
                return false;
            }
            let step = left.min(POLL);
            thread::sleep(step);
            left -= step;
        }
        !self.stopping()
    }
}
