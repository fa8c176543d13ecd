//! A stateful, in-memory fake of MagicBell's JWT service, for tests, demos and
//! scripts (cargo feature `fake`). std only; see [`FakeServer`].
//!
//! As a server is built: this file is the public face ([`FakeServer`],
//! [`FakeRequest`] and what the handle shares with its threads); `faults`
//! holds [`FakeFault`]; `encode` the ids, base64url and percent-decoding;
//! `http` is the transport, a hand-written HTTP/1.1 server
//! (the accept loop, one thread a connection, writing answers within the
//! limits on connections and time); `read` reads one request off a
//! connection within the limits on bytes and time; `service` is
//! MagicBell's JWT service behind it (the state, the routes, token minting,
//! and what faults, latency and the request log do to a request read in full).

mod encode;
mod faults;
mod http;
mod read;
mod service;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{AccessToken, Client};

pub use faults::FakeFault;

use encode::random_u64;
use http::{accept_loop, Limits, POLL};
use service::{State, Token};

/// A local, in-memory MagicBell JWT service that keeps state like the real
/// one, for tests, demos and scripts (cargo feature `fake`).
///
/// [`FakeServer::start`] listens on `127.0.0.1` on a free port and serves the
/// API's paths under [`base_url`](FakeServer::base_url) on background
/// threads (HTTP/1.1 keep-alive, one thread a connection, several at once).
/// Dropping it closes the port, shuts down every open connection and joins
/// every thread it started, promptly whatever its clients do (see
/// [Connections](#connections)).
///
/// ```
/// use magicbell_jwt::{CreateProjectTokenRequest, FakeServer, FetchProjectTokensParams};
///
/// let fake = FakeServer::start()?;
/// let client = fake.client();
/// let created = client.create_project_jwt(&CreateProjectTokenRequest::new("ci").expiry(60))?;
/// client.discard_project_jwt(&created.token_id)?;
///
/// // The fake remembers: the token is listed as revoked...
/// assert!(fake.project_tokens()[0].is_discarded());
/// // ...and refused as a bearer.
/// // (no_proxy: an HTTPS_PROXY or ALL_PROXY in the environment would
/// // otherwise send requests for 127.0.0.1 to the proxy.)
/// let revoked = magicbell_jwt::Client::builder(created.token)
///     .base_url(fake.base_url())
///     .no_proxy()
///     .build()?;
/// let refused = revoked.fetch_project_tokens(&FetchProjectTokensParams::default());
/// assert_eq!(refused.unwrap_err().status(), Some(401));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # What it models
///
/// Every call of the [`Client`], with MagicBell's paths, bodies and
/// statuses:
///
/// - `GET /v2/jwt/project` and `GET /v2/jwt/user/{user_id}` (the user named by
///   email or external id): lists, newest first, revoked tokens included with
///   `discarded_at` set. `limit` is 1 to 100 (default 25; 0, more than 100 or
///   not a number is answered 422, never clamped). `starting_after` and
///   `ending_before` take a token id of that list (any other id is answered
///   422, and so is setting both). `links.first`, `links.next` and
///   `links.prev` are full URLs on the fake's base URL carrying `limit` and
///   the cursor (`http://127.0.0.1:PORT/v2/jwt/project?limit=25&starting_after=ID`);
///   `next` is `null` on the last page and `prev` on the first (and both on
///   an empty page). Unknown query parameters are ignored, as by most APIs.
/// - `POST /v2/jwt/project` and `POST /v2/jwt/user`: answer 201 with a new
///   token. Ids are UUID-shaped (random, with a counter in the last group, so
///   never repeated within one fake). The value is JWT-shaped, three
///   base64url parts whose middle one holds `iat`, `jti` (the token id),
///   `exp` when an expiry was given, and for a user token `user_email` and
///   `user_external_id`; its signature verifies against nothing. `created_at`
///   is the fake's [`now`](FakeServer::now), and `expires_at` is `created_at`
///   plus `expiry` (absent without one: such a token never expires).
/// - `DELETE /v2/jwt/project/{token_id}` and `DELETE /v2/jwt/user/{token_id}`:
///   set `discarded_at` and answer 200 `{"token_id", "discarded_at"}`; an id
///   unknown to that endpoint (a user token's id on the project path, too)
///   or already revoked is answered 404. `GET` on `/v2/jwt/user/{x}` is the
///   user list and `DELETE` on it revokes a token: they share the prefix.
/// - Auth: every request needs `Authorization: Bearer` with the
///   [`admin_token`](FakeServer::admin_token) or a project token this fake
///   minted that is neither revoked nor expired at the fake's clock. Anything
///   else (no header, another scheme, a user token, an unknown value) is
///   answered 401.
/// - Errors, in MagicBell's shape
///   `{"errors":[{"code","message","suggestion","help_link"}]}`, checked in
///   this order: a head over 16 KiB 431, a body over 64 KiB 413, a request
///   that is not HTTP/1.x 400, a `Transfer-Encoding` body 411 (send
///   `Content-Length`); an unknown path 404, a method the path does not have
///   405 (with `Allow`); a bad bearer 401; a body that is not JSON 400; a
///   body breaking a rule 422 with the field first in the message (`name`
///   empty or over 255 characters, `expiry` not a whole number of at least 1
///   or past the year 9999, `email` or `external_id` over 255 characters or
///   neither given for a user token). Once it cannot tell where the next
///   request starts (the first four), it closes the connection after
///   answering. No input, however malformed, panics it or stops it serving
///   the next connection.
///
/// # Connections
///
/// - At most 256 connections are served at once. One more is answered 503
///   with a MagicBell error body (`service_unavailable`) and
///   `connection: close`, then closed; it is not in
///   [`requests`](FakeServer::requests) and uses no fault.
/// - A connection with no request for 30 s (a new one, or a kept-alive one
///   since its last answer) is closed without an answer. The [`Client`]
///   reuses a pooled connection for at most 15 s (ureq's default), so it
///   never meets one the fake closed this way.
/// - A request must arrive in full, head and body, within 10 s of its first
///   byte. One that does not is answered 408 (`request_timeout`), logged, and
///   its connection closed.
/// - A client that does not read its answers for 2 s loses its connection.
/// - Dropping the fake shuts down every open connection at once, so a client
///   that never sends a byte, stops halfway through a request or never reads
///   its answers does not hold the drop up; the accept loop polls its
///   listener (1 to 5 ms apart) rather than waiting to be woken.
/// - A panic while serving a connection (a bug in the fake) is caught: one
///   while answering a request is answered 500 (`internal_server_error`) and
///   logged, one elsewhere ends that connection unanswered; either way the
///   connection closes, and other connections and the state (its lock
///   recovered if poisoned) serve on. Dropping a fake that caught any prints
///   a warning with their count on stderr, since a client that retries 500s
///   would hide them.
///
/// # What it does not model
///
/// Rate limits and outages (inject them with [`inject`](FakeServer::inject)),
/// TLS, MagicBell's other APIs, users as records (a user's list is every
/// token created with that email or that external id; two tokens, one
/// created with each, are not linked), token values that verify, requests
/// with a chunked body, and anything MagicBell's error bodies say beyond the
/// shape: its codes and messages are the fake's own.
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// One request the fake read, as [`FakeServer::requests`] lists it.
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRequest {
    /// The method, as sent (`GET`, `POST`, `DELETE`, or whatever else arrived).
    pub method: String,
    /// The request target as sent, query included: `/v2/jwt/project?limit=5`.
    pub path: String,
    /// The status the fake chose for its answer; `None` when a
    /// [`FakeFault::Close`] closed the connection without answering.
    ///
    /// It is logged before the answer is written, so it says what the fake
    /// meant to send, not what the client received: if the write then failed
    /// (the client had gone or timed out, or the fake was dropped while a
    /// [`FakeFault::Delay`] or [`set_latency`](FakeServer::set_latency) held
    /// the answer back), the client never saw this status.
    pub status: Option<u16>,
}

struct Shared {
    admin_token: String,
    limits: Limits,
    shutdown: AtomicBool,
    /// Panics caught while serving a connection: a bug in the fake.
    panics: AtomicUsize,
    /// A handle on every open connection, by number, so that `Drop` can shut
    /// them down whatever their threads are blocked in.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
    state: Mutex<State>,
}

impl FakeServer {
    /// Starts a fake on `127.0.0.1`, on a free port, with no tokens.
    ///
    /// Its clock starts at the current time, rounded down to the second.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound, or no thread started.
    pub fn start() -> io::Result<FakeServer> {
        Self::start_on_port(0)
    }

    /// [`FakeServer::start`] on a chosen port of `127.0.0.1`; port 0 picks a
    /// free one. For a standalone server (the `fake_server` example's
    /// `--port`); tests should use [`FakeServer::start`].
    ///
    /// # Errors
    ///
    /// When the port is taken or cannot be bound, or no thread started.
    pub fn start_on_port(port: u16) -> io::Result<FakeServer> {
        Self::start_with(port, Limits::default())
    }

    fn start_with(port: u16, limits: Limits) -> io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        // Polled, so that stopping never depends on a connection arriving.
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let random = std::collections::hash_map::RandomState::new();
        let admin_token = format!(
            "fake-admin-{:016x}{:016x}",
            random_u64(&random, 1),
            random_u64(&random, 2)
        );
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let shared = Arc::new(Shared {
            admin_token,
            limits,
            shutdown: AtomicBool::new(false),
            panics: AtomicUsize::new(0),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
            state: Mutex::new(State {
                now: UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs()),
                latency: Duration::ZERO,
                tokens: Vec::new(),
                by_id: HashMap::new(),
                by_value: HashMap::new(),
                faults: VecDeque::new(),
                requests: Vec::new(),
                minted: 0,
                random,
            }),
        });
        let serving = shared.clone();
        let acceptor = thread::Builder::new()
            .name("magicbell-fake-accept".into())
            .spawn(move || accept_loop(&listener, &serving, addr))?;
        Ok(FakeServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The URL to give [`ClientBuilder::base_url`](crate::ClientBuilder::base_url):
    /// `http://127.0.0.1:PORT/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// A bearer token the fake always accepts, for any request.
    ///
    /// It is not JWT-shaped (`fake-admin-` and 32 hex digits, random per
    /// fake), so it is never mistaken for a minted token.
    pub fn admin_token(&self) -> &str {
        &self.shared.admin_token
    }

    /// A [`Client`] for this fake: the [`admin_token`](FakeServer::admin_token),
    /// the [`base_url`](FakeServer::base_url),
    /// [`no_proxy`](crate::ClientBuilder::no_proxy), and a 1 ms
    /// [`retry_delay`](crate::ClientBuilder::retry_delay) so that tests
    /// meeting faults stay fast. Every other setting is the default.
    ///
    /// `no_proxy` because a client otherwise follows `HTTPS_PROXY`,
    /// `ALL_PROXY` and `HTTP_PROXY`: set in a developer's or a CI runner's
    /// environment, they would send the requests for `127.0.0.1` to the proxy,
    /// which cannot reach the fake. A client you build yourself for the fake
    /// (another bearer, other settings) wants `.no_proxy()` too.
    pub fn client(&self) -> Client {
        match Client::builder(self.admin_token())
            .base_url(self.base_url())
            .retry_delay(Duration::from_millis(1))
            .no_proxy()
            .build()
        {
            Ok(client) => client,
            // A loopback http URL and a hex token pass every check `build` makes.
            Err(e) => unreachable!("the fake's own client settings were refused: {e}"),
        }
    }

    /// The fake's clock: the real time when it started, moved on only by
    /// [`advance`](FakeServer::advance).
    ///
    /// Every `created_at`, `expires_at` and `discarded_at` comes from it, and
    /// a token has expired once this reaches its `expires_at`.
    pub fn now(&self) -> SystemTime {
        self.state().now
    }

    /// Moves the fake's clock on by `by`; it never moves by itself.
    ///
    /// A clock that would overflow `SystemTime` stays where it is.
    pub fn advance(&self, by: Duration) {
        let mut state = self.state();
        if let Some(later) = state.now.checked_add(by) {
            state.now = later;
        }
    }

    /// Every project token the fake holds, newest first, revoked and expired
    /// ones included; as a list would show them, without their values.
    pub fn project_tokens(&self) -> Vec<AccessToken> {
        let state = self.state();
        state
            .tokens
            .iter()
            .rev()
            .filter(|t| t.user.is_none())
            .map(Token::access_token)
            .collect()
    }

    /// Every token of the user with this email or external id, newest first,
    /// revoked and expired ones included.
    pub fn user_tokens(&self, user: &str) -> Vec<AccessToken> {
        let state = self.state();
        state
            .tokens
            .iter()
            .rev()
            .filter(|t| t.belongs_to(user))
            .map(Token::access_token)
            .collect()
    }

    /// Every request the fake read, in the order it finished with them (the
    /// order they arrived, unless they overlapped): faulted and refused ones
    /// too (a request answered 408 for arriving too slowly among them), but
    /// not a request cut off before its end, nor a connection over the cap.
    ///
    /// An entry is recorded before its answer is written, so a call that has
    /// returned always finds its requests here.
    ///
    /// The log is a test tool: it is kept for the fake's whole life and never
    /// trimmed, one entry per request (the method, the target and a status:
    /// some tens of bytes plus the target), and each call copies it whole.
    /// A test's few thousand requests cost nothing; a fake serving millions,
    /// such as a `fake_server` example left running, holds every one.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.state().requests.clone()
    }

    /// The entries of [`requests`](FakeServer::requests) from index `seen`
    /// on (none when `seen` is at or past the end): what is new since a
    /// caller had `seen` entries. Copies only those, so that a poller of a
    /// long-running fake (the `fake_server` example) neither copies the
    /// whole log each time nor holds the state's lock while doing so. For
    /// the example; not part of the API.
    #[doc(hidden)]
    pub fn requests_since(&self, seen: usize) -> Vec<FakeRequest> {
        self.state()
            .requests
            .get(seen..)
            .map(<[FakeRequest]>::to_vec)
            .unwrap_or_default()
    }

    /// Makes the next `times` requests meet `fault` instead of their normal
    /// answer.
    ///
    /// Faults queue up: a second `inject` applies after the first one's
    /// `times` are used. Every request read in full uses one, whatever its
    /// path, method or bearer; a request the fake cannot read (431, 413,
    /// 400, 411, 408) gets that answer and uses none, and so does a
    /// connection over the cap (503).
    ///
    /// "The next `times` requests" are the next the fake finishes reading,
    /// across all its connections, in whatever order they arrive: when
    /// several threads or connections send at once, which requests meet the
    /// fault is a race. To fault one particular request, inject just before
    /// sending it with no other request in flight; with concurrent senders,
    /// assert how many met the fault (count the statuses in
    /// [`requests`](FakeServer::requests)), not which. A client's retry is a
    /// request too and uses one.
    pub fn inject(&self, times: usize, fault: FakeFault) {
        if times > 0 {
            self.state().faults.push_back((times, fault));
        }
    }

    /// Makes every answer wait `latency`, to stand in for a real network, as
    /// in a benchmark. Defaults to `Duration::ZERO`.
    ///
    /// The request takes effect at once (and is logged in
    /// [`requests`](FakeServer::requests)); its answer leaves after the
    /// delay, as with a slow network after the server acted. A
    /// [`FakeFault::Delay`] adds to it, and a [`FakeFault::Close`] closes the
    /// connection after it.
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// How many panics the fake caught while serving: each is a bug in the
    /// fake, answered 500 (or, outside answering, ending its connection).
    /// Dropping a fake with any prints a warning naming the count on stderr.
    /// For the crate's own tests, which assert it stays 0; not part of the
    /// API.
    #[doc(hidden)]
    pub fn caught_panics(&self) -> usize {
        self.shared.panics.load(Ordering::SeqCst)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }
}

impl fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("FakeServer")
            .field("base_url", &self.base_url())
            .field("admin_token", &"[redacted]")
            .field("tokens", &state.tokens.len())
            .field("requests", &state.requests.len())
            .finish_non_exhaustive()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Unblocks every connection thread at once, whether it waits for a
        // request, for the rest of one, or for a client to read its answer.
        // A connection registered after this sees the flag (see `serve`).
        for stream in self.shared.connections().values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // The accept loop polls: it sees the flag within `POLL`, then joins
        // every connection thread.
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        // A caught panic was answered 500, which a client that retries 500s
        // may have hidden: say so where a test run shows it.
        if let Some(warning) = panic_warning(self.caught_panics()) {
            eprintln!("{warning}");
        }
    }
}

/// What `Drop` prints on stderr when the fake caught `panics` panics.
fn panic_warning(panics: usize) -> Option<String> {
    (panics > 0).then(|| {
        let (count, each) = if panics == 1 {
            ("1 panic".to_owned(), "It")
        } else {
            (format!("{panics} panics"), "Each")
        };
        format!(
            "warning: magicbell_jwt::FakeServer caught {count} while serving: a bug in \
             the fake, not in your code. {each} was answered 500 (or ended its \
             connection), which a client that retries 500s may have hidden; please \
             report the bug, with the requests involved."
        )
    })
}

impl Shared {
    /// The state, even if a thread panicked holding it (none should).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn connections(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Sleeps `total` in short steps; false when shutdown came first.
    fn sleep(&self, total: Duration) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use magicbell_jwt_test_support::raw_http::{self, closed, connect, read_answer, PATIENCE};
    use std::io::Write;
    use std::sync::mpsc;
    use std::time::Instant;

    pub(super) type Outcome = Result<(), Box<dyn std::error::Error>>;

    pub(super) fn start_with(limits: Limits) -> io::Result<FakeServer> {
        FakeServer::start_with(0, limits)
    }

    pub(super) fn get(fake: &FakeServer, path: &str) -> Vec<u8> {
        format!(
            "GET {path} HTTP/1.1\r\nauthorization: Bearer {}\r\n\r\n",
            fake.admin_token()
        )
        .into_bytes()
    }

    #[test]
    fn drop_is_prompt_whatever_clients_do_and_ends_every_thread() -> Outcome {
        // A writer blocked on a client that reads nothing would wait out this
        // timeout but for Drop shutting its connection down.
        let fake = start_with(Limits {
            write_timeout: Duration::from_secs(600),
            ..Limits::default()
        })?;
        let client = fake.client();
        for i in 0..100 {
            client.create_project_jwt(&crate::CreateProjectTokenRequest::new(format!("t{i}")))?;
        }
        let mut silent = connect(&fake.base_url());
        let mut half = connect(&fake.base_url());
        half.write_all(b"GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\n")?;
        // Thousands of pipelined lists of 100 tokens, never read: megabytes
        // of answers, more than the socket buffers hold. Written from a
        // thread of its own, which the fake's reads may leave blocked until
        // Drop shuts the connection down.
        let mut stuffed = connect(&fake.base_url());
        stuffed.set_write_timeout(Some(Duration::from_secs(60)))?;
        let mut backlog = Vec::new();
        for _ in 0..4000 {
            backlog.extend(get(&fake, "/v2/jwt/project?limit=100"));
        }
        let writer = thread::spawn(move || {
            let _ = stuffed.write_all(&backlog);
            stuffed
        });
        // Wait until the fake stops answering (its writes blocked), or has
        // answered everything.
        let mut seen = 0;
        let mut still = 0;
        let waited = Instant::now();
        while still < 5 && seen < 4100 && waited.elapsed() < PATIENCE {
            thread::sleep(Duration::from_millis(50));
            let now = fake.requests().len();
            still = if now == seen { still + 1 } else { 0 };
            seen = now;
        }
        let shared = fake.shared.clone();
        let addr = fake.addr;
        let (done, dropped) = mpsc::channel();
        let began = Instant::now();
        let dropper = thread::spawn(move || {
            drop(fake);
            let _ = done.send(began.elapsed());
        });
        let took = dropped.recv_timeout(Duration::from_secs(60))?;
        assert!(took < Duration::from_secs(2), "Drop took {took:?}");
        assert!(dropper.join().is_ok());
        // Every thread the fake started held a clone of this; all have ended.
        assert_eq!(Arc::strong_count(&shared), 1);
        assert!(shared.connections().is_empty());
        assert_eq!(shared.panics.load(Ordering::SeqCst), 0);
        assert!(closed(&mut silent));
        assert!(closed(&mut half));
        assert!(TcpStream::connect(addr).is_err());
        // The writer's connection is gone too (its write failed or ended).
        let began = Instant::now();
        assert!(writer.join().is_ok());
        assert!(began.elapsed() < Duration::from_secs(30));
        Ok(())
    }

    #[test]
    fn a_panic_is_answered_500_counted_and_the_fake_serves_on() -> Outcome {
        let fake = FakeServer::start()?;
        assert_eq!(fake.caught_panics(), 0);
        // A panic answering, holding the state's lock.
        let mut stream = connect(&fake.base_url());
        stream.write_all(&get(&fake, "/test/panic"))?;
        let raw_http::Answer { status, head, body } = read_answer(&mut stream, &mut Vec::new());
        assert_eq!(status, 500);
        assert!(head.contains("connection: close\r\n"), "{head}");
        assert_eq!(body["errors"][0]["code"], "internal_server_error");
        assert!(closed(&mut stream));
        assert_eq!(fake.caught_panics(), 1);
        // The poisoned lock is taken all the same.
        assert!(fake.project_tokens().is_empty());
        // A panic outside answering ends its connection, unanswered.
        let mut stream = connect(&fake.base_url());
        stream.write_all(&get(&fake, "/test/panic-outside"))?;
        assert!(closed(&mut stream));
        assert_eq!(fake.caught_panics(), 2);
        let created = fake
            .client()
            .create_project_jwt(&crate::CreateProjectTokenRequest::new("after"))?;
        assert_eq!(fake.project_tokens()[0].id, Some(created.token_id));
        let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [Some(500), Some(201)]);
        // Still counted at the end, when Drop warns with the count.
        assert_eq!(fake.caught_panics(), 2);
        assert!(panic_warning(fake.caught_panics()).is_some_and(|w| w.contains("2 panics")));
        drop(fake);
        Ok(())
    }

    #[test]
    fn drop_warns_of_caught_panics_only_when_there_were_some() {
        assert_eq!(panic_warning(0), None);
        let one = panic_warning(1).unwrap_or_default();
        assert!(one.contains("caught 1 panic while serving"), "{one}");
        assert!(one.contains("a bug in the fake"), "{one}");
        assert!(one.contains("It was answered 500"), "{one}");
        let three = panic_warning(3).unwrap_or_default();
        assert!(three.contains("caught 3 panics while serving"), "{three}");
        assert!(three.contains("Each was answered 500"), "{three}");
    }
}
