//! The fake's limits on connections, bytes and time.

use std::time::Duration;

/// Connections served at once; one more is answered 503 and closed.
const MAX_CONNECTIONS: usize = 256;
/// A kept-alive connection with no request for this long is closed.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A request must arrive in full this soon after its first byte, or it is
/// answered 408 and its connection closed.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// A client that does not read its answer for this long loses its connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a thread that waits (for bytes, a connection or a delay) checks
/// for shutdown and its deadlines.
pub(super) const POLL: Duration = Duration::from_millis(20);
/// A request head (request line and headers) larger than this is answered 431.
pub(super) const MAX_HEAD_BYTES: usize = 16 * 1024;
/// A request body larger than this is answered 413.
pub(super) const MAX_BODY_BYTES: usize = 64 * 1024;

/// The limits on connections and time: [`MAX_CONNECTIONS`], [`IDLE_TIMEOUT`],
/// [`REQUEST_DEADLINE`] and [`WRITE_TIMEOUT`], except in the unit tests.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) max_connections: usize,
    pub(super) idle_timeout: Duration,
    pub(super) request_deadline: Duration,
    pub(super) write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: MAX_CONNECTIONS,
            idle_timeout: IDLE_TIMEOUT,
            request_deadline: REQUEST_DEADLINE,
            write_timeout: WRITE_TIMEOUT,
        }
    }
}
