//! A stateful, in-memory fake of MagicBell's JWT service, for tests, demos and
//! scripts (cargo feature `fake`). std only; see [`FakeServer`].

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::{AccessToken, Client};

/// The page size of a list that names no `limit`.
const DEFAULT_LIMIT: usize = 25;
/// The largest `limit` the fake accepts; a larger one is answered 422.
const MAX_LIMIT: usize = 100;
/// A request head (request line and headers) larger than this is answered 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// A request body larger than this is answered 413.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest `name`, `email` or `external_id`, in characters.
const MAX_TEXT_CHARS: usize = 255;
/// Connections served at once; one more is answered 503 and closed.
const MAX_CONNECTIONS: usize = 256;
/// A kept-alive connection with no request for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A request must arrive in full this soon after its first byte, or it is
/// answered 408 and its connection closed.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// A client that does not read its answer for this long loses its connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a thread that waits (for bytes, a connection or a delay) checks
/// for shutdown and its deadlines.
const POLL: Duration = Duration::from_millis(20);
/// The accept loop's first wait after finding no connection; it doubles up to
/// [`ACCEPT_POLL_MAX`] while none comes, and starts again after each one.
const ACCEPT_POLL_MIN: Duration = Duration::from_millis(1);
/// The accept loop's longest wait between polls: the most a connection
/// arriving after an idle spell waits to be accepted.
const ACCEPT_POLL_MAX: Duration = Duration::from_millis(5);
/// Where every error entry points: the fake's own documentation.
const HELP_LINK: &str = "https://docs.rs/magicbell-jwt/latest/magicbell_jwt/struct.FakeServer.html";

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
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// One request the fake read, as [`FakeServer::requests`] lists it.
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

/// A misbehaviour [`FakeServer::inject`] makes the next requests meet instead
/// of their normal answer.
///
/// A faulted request changes no state, except under [`FakeFault::Delay`],
/// which handles the request normally and only holds its answer back.
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

/// The connection limits; the constants above, except in this file's tests.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_connections: usize,
    idle_timeout: Duration,
    request_deadline: Duration,
    write_timeout: Duration,
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

struct State {
    now: SystemTime,
    latency: Duration,
    tokens: Vec<Token>,
    by_id: HashMap<String, usize>,
    by_value: HashMap<String, usize>,
    faults: VecDeque<(usize, FakeFault)>,
    requests: Vec<FakeRequest>,
    minted: u64,
    random: std::collections::hash_map::RandomState,
}

struct Token {
    id: String,
    name: Option<String>,
    // `None` for a project token.
    user: Option<User>,
    created_at: SystemTime,
    expires_at: Option<SystemTime>,
    discarded_at: Option<SystemTime>,
}

struct User {
    email: Option<String>,
    external_id: Option<String>,
}

impl Token {
    fn access_token(&self) -> AccessToken {
        AccessToken {
            created_at: rfc3339(self.created_at),
            discarded_at: self.discarded_at.map(rfc3339),
            expires_at: self.expires_at.map(rfc3339),
            id: Some(self.id.clone()),
            name: self.name.clone(),
        }
    }

    fn json(&self) -> Value {
        // Absent optional fields are left out, as the spec declares them.
        let mut object = Map::new();
        object.insert("id".into(), json!(self.id));
        if let Some(name) = &self.name {
            object.insert("name".into(), json!(name));
        }
        object.insert("created_at".into(), json!(rfc3339(self.created_at)));
        if let Some(at) = self.expires_at {
            object.insert("expires_at".into(), json!(rfc3339(at)));
        }
        if let Some(at) = self.discarded_at {
            object.insert("discarded_at".into(), json!(rfc3339(at)));
        }
        Value::Object(object)
    }

    fn belongs_to(&self, user: &str) -> bool {
        self.user.as_ref().is_some_and(|u| {
            u.email.as_deref() == Some(user) || u.external_id.as_deref() == Some(user)
        })
    }
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

// --- Connections ---------------------------------------------------------------

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, addr: SocketAddr) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut wait = ACCEPT_POLL_MIN;
    while !shared.stopping() {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(wait);
                wait = (wait * 2).min(ACCEPT_POLL_MAX);
                continue;
            }
            Err(_) => {
                // Out of file descriptors and the like: wait, do not spin.
                thread::sleep(POLL);
                continue;
            }
        };
        wait = ACCEPT_POLL_MIN;
        workers.retain(|w| !w.is_finished());
        if workers.len() >= shared.limits.max_connections {
            refuse_connection(stream, shared.limits.max_connections);
            continue;
        }
        // Some systems hand out an accepted socket as nonblocking as its
        // listener; the connection threads read with timeouts instead.
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        let serving = shared.clone();
        let spawned = thread::Builder::new()
            .name("magicbell-fake-conn".into())
            .spawn(move || serve(stream, &serving, addr));
        if let Ok(worker) = spawned {
            workers.push(worker);
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
}

/// Answers a connection over the cap 503 and closes it, without blocking the
/// accept loop: what the client already sent is read and dropped first, so
/// that closing does not reset the connection under the answer.
fn refuse_connection(mut stream: TcpStream, max: usize) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let mut chunk = [0u8; 8192];
    for _ in 0..8 {
        match stream.read(&mut chunk) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let answer = Answer::error(
        503,
        "service_unavailable",
        format!("the fake already serves {max} connections, its most"),
        &format!(
            "close idle connections (the fake closes them after {} s without a request) and connect again",
            IDLE_TIMEOUT.as_secs()
        ),
    );
    let _ = write_answer(&mut stream, &answer, "", true);
    let _ = stream.shutdown(Shutdown::Write);
}

/// A connection thread: serves `stream` until it closes, catching a panic
/// (a bug in the fake) so that it ends this connection only, and counting it.
fn serve(mut stream: TcpStream, shared: &Shared, addr: SocketAddr) {
    let id = shared.next_connection.fetch_add(1, Ordering::SeqCst);
    {
        let mut open = shared.connections();
        // Checked under the lock `Drop` takes to shut connections down: a
        // connection either is shut down by it or sees the flag here.
        if shared.stopping() {
            return;
        }
        match stream.try_clone() {
            Ok(handle) => open.insert(id, handle),
            Err(_) => return,
        };
    }
    let served = panic::catch_unwind(AssertUnwindSafe(|| {
        serve_connection(&mut stream, shared, addr);
    }));
    if served.is_err() {
        shared.panics.fetch_add(1, Ordering::SeqCst);
    }
    let _ = stream.shutdown(Shutdown::Both);
    shared.connections().remove(&id);
}

/// What reading the next request from a connection gave.
enum Incoming {
    Request(Request),
    /// A request the fake cannot read: answer this, then close.
    Refused {
        method: String,
        path: String,
        answer: Answer,
    },
    /// The peer closed, the connection failed, or the fake is stopping.
    Gone,
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Answer {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
    /// Close the connection after this answer.
    close: bool,
}

impl Answer {
    fn ok(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body,
            headers: Vec::new(),
            close: false,
        }
    }

    fn error(status: u16, code: &str, message: impl Into<String>, suggestion: &str) -> Answer {
        Answer::ok(
            status,
            json!({"errors": [{
                "code": code,
                "message": message.into(),
                "suggestion": suggestion,
                "help_link": HELP_LINK,
            }]}),
        )
    }

    fn invalid(message: impl Into<String>) -> Answer {
        Answer::error(
            422,
            "unprocessable_entity",
            message,
            "fix the field named in the message and send the request again",
        )
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }
}

fn serve_connection(stream: &mut TcpStream, shared: &Shared, addr: SocketAddr) {
    let _ = stream.set_nodelay(true);
    if stream.set_read_timeout(Some(POLL)).is_err()
        || stream
            .set_write_timeout(Some(shared.limits.write_timeout))
            .is_err()
    {
        return;
    }
    let mut buffer = Vec::new();
    loop {
        match read_request(stream, &mut buffer, shared) {
            Incoming::Gone => break,
            Incoming::Refused {
                method,
                path,
                answer,
            } => {
                record(shared, method.clone(), path, Some(answer.status));
                let _ = write_answer(stream, &answer, &method, true);
                break;
            }
            Incoming::Request(request) => {
                let keep = handle(stream, request, shared, addr);
                if !keep {
                    break;
                }
            }
        }
    }
}

/// Answers one request; false when the connection must close.
fn handle(stream: &mut TcpStream, request: Request, shared: &Shared, addr: SocketAddr) -> bool {
    // The unit tests' stand-in for a bug outside answering.
    #[cfg(test)]
    if request.target == "/test/panic-outside" {
        panic!("the panic a unit test asked for");
    }
    let (latency, fault) = {
        let mut state = shared.lock();
        let fault = match state.faults.front_mut() {
            Some((times, fault)) => {
                let fault = fault.clone();
                *times -= 1;
                if *times == 0 {
                    state.faults.pop_front();
                }
                Some(fault)
            }
            None => None,
        };
        (state.latency, fault)
    };
    // The request takes effect and is logged at once; only what leaves the
    // fake (the answer, or the close) waits, as behind a slow network after
    // the server acted. A client that times out meanwhile, or a Drop during
    // the wait, loses the answer but not the change.
    let (answer, wait) = match fault {
        Some(FakeFault::Close) => {
            record(shared, request.method, request.target, None);
            shared.sleep(latency);
            return false;
        }
        Some(FakeFault::Status(status)) => (fault_answer(status), latency),
        Some(FakeFault::RetryAfter(status, secs)) => (
            fault_answer(status).with_header("retry-after", secs.to_string()),
            latency,
        ),
        Some(FakeFault::Delay(delay)) => (
            route_caught(&request, shared, addr),
            latency.saturating_add(delay),
        ),
        None => (route_caught(&request, shared, addr), latency),
    };
    // Logged before the answer is written: a client that has its answer
    // finds its request in `requests()`.
    record(
        shared,
        request.method.clone(),
        request.target.clone(),
        Some(answer.status),
    );
    if !shared.sleep(wait) {
        return false;
    }
    let close = request.close || answer.close;
    write_answer(stream, &answer, &request.method, close).is_ok() && !close
}

/// [`route`], with a panic (a bug in the fake) counted and answered 500.
fn route_caught(request: &Request, shared: &Shared, addr: SocketAddr) -> Answer {
    match panic::catch_unwind(AssertUnwindSafe(|| route(request, shared, addr))) {
        Ok(answer) => answer,
        Err(_) => {
            shared.panics.fetch_add(1, Ordering::SeqCst);
            let mut answer = Answer::error(
                500,
                "internal_server_error",
                "the fake panicked answering this request: a bug in the fake",
                "report it with the request; the fake serves other connections on",
            );
            answer.close = true;
            answer
        }
    }
}

fn fault_answer(status: u16) -> Answer {
    let status = if (200..=599).contains(&status) {
        status
    } else {
        500
    };
    Answer::error(
        status,
        &reason(status).to_ascii_lowercase().replace(' ', "_"),
        format!("a fault injected into the fake: status {status}"),
        "FakeServer::inject set this answer up; the next requests are answered normally once it is used",
    )
}

fn record(shared: &Shared, method: String, path: String, status: Option<u16>) {
    shared.lock().requests.push(FakeRequest {
        method,
        path,
        status,
    });
}

/// How [`fill`] ended.
enum Filled {
    Done,
    /// The peer left, the connection failed, or the fake is stopping.
    Gone,
    /// The deadline passed first.
    Late,
}

/// Reads bytes into `buffer` until it holds `wanted`, or `deadline` passes.
fn fill(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    shared: &Shared,
    wanted: usize,
    deadline: Instant,
) -> Filled {
    let mut chunk = [0u8; 8192];
    while buffer.len() < wanted {
        if shared.stopping() {
            return Filled::Gone;
        }
        if Instant::now() >= deadline {
            return Filled::Late;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Filled::Gone,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return Filled::Gone,
        }
    }
    Filled::Done
}

fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>, shared: &Shared) -> Incoming {
    let limits = shared.limits;
    // Until a byte of the request arrives the connection is idle; from then
    // on the whole request has a deadline.
    let idle_since = Instant::now();
    let mut started = (!buffer.is_empty()).then_some(idle_since);
    // The head: up to the blank line, bounded. Bytes already searched are
    // not searched again, so a head sent a byte at a time costs no more.
    let mut searched: usize = 0;
    let head_end = loop {
        // Blank lines before a request line are allowed (RFC 9112, 2.2).
        let blank = buffer
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        buffer.drain(..blank);
        searched = searched.saturating_sub(blank);
        if let Some(first) = buffer.first() {
            if !first.is_ascii_alphabetic() {
                // Not a request line (binary noise, a TLS handshake): no wait
                // for a blank line that will never come.
                return refused_garbage(buffer);
            }
        }
        if let Some(end) = find_head_end(buffer, searched) {
            if end > MAX_HEAD_BYTES {
                return refused_head(buffer);
            }
            break end;
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return refused_head(buffer);
        }
        // A terminator may straddle what was searched and what comes next.
        searched = buffer.len().saturating_sub(3);
        let wanted = buffer.len() + 1;
        let deadline = match started {
            Some(at) => at + limits.request_deadline,
            None => idle_since + limits.idle_timeout,
        };
        match fill(stream, buffer, shared, wanted, deadline) {
            Filled::Done => {
                started.get_or_insert_with(Instant::now);
            }
            Filled::Gone => return Incoming::Gone,
            Filled::Late if started.is_none() => return Incoming::Gone,
            Filled::Late => return refused_late(buffer, limits.request_deadline),
        }
    };
    let started = started.unwrap_or(idle_since);
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let parts: Vec<&str> = request_line.split(' ').collect();
    let (method, target, version) = match parts.as_slice() {
        [method, target, version] => (method.to_string(), target.to_string(), Some(*version)),
        [method, target, ..] => (method.to_string(), target.to_string(), None),
        [method] => (method.to_string(), String::new(), None),
        [] => (String::new(), String::new(), None),
    };
    let refuse = |answer: Answer| Incoming::Refused {
        method: method.clone(),
        path: target.clone(),
        answer,
    };
    let version = match version {
        Some(v @ ("HTTP/1.1" | "HTTP/1.0")) => v,
        _ => {
            return refuse(bad_request(format!(
                "the request line {:?} is not METHOD TARGET HTTP/1.1",
                excerpt(request_line)
            )))
        }
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || target.is_empty() {
        return refuse(bad_request(format!(
            "the request line {:?} is not METHOD TARGET HTTP/1.1",
            excerpt(request_line)
        )));
    }
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return refuse(bad_request(format!(
                "the header line {:?} has no colon",
                excerpt(line)
            )));
        };
        if name.is_empty() || name.ends_with(char::is_whitespace) {
            return refuse(bad_request(format!(
                "the header line {:?} has no valid name",
                excerpt(line)
            )));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    if !header("transfer-encoding").is_empty() {
        return refuse(Answer::error(
            411,
            "length_required",
            "the fake does not read a Transfer-Encoding body",
            "send the body with a Content-Length",
        ));
    }
    let length = match header("content-length").as_slice() {
        [] => 0,
        [value] => match value.parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                return refuse(bad_request(format!(
                    "Content-Length {:?} is not a number",
                    excerpt(value)
                )))
            }
        },
        _ => return refuse(bad_request("Content-Length is sent more than once")),
    };
    if length > MAX_BODY_BYTES as u64 {
        return refuse(Answer::error(
            413,
            "payload_too_large",
            format!("the body is {length} bytes; the fake reads at most {MAX_BODY_BYTES}"),
            "send a smaller body",
        ));
    }
    let connection = header("connection").join(",").to_ascii_lowercase();
    let close = connection.contains("close")
        || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
    let expects_continue = header("expect")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("100-continue"));
    buffer.drain(..head_end);
    let length = length as usize;
    if expects_continue && buffer.len() < length {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    match fill(
        stream,
        buffer,
        shared,
        length,
        started + limits.request_deadline,
    ) {
        Filled::Done => {}
        Filled::Gone => return Incoming::Gone,
        Filled::Late => return refuse(late(limits.request_deadline)),
    }
    let body = buffer.drain(..length).collect();
    Incoming::Request(Request {
        method,
        target,
        headers,
        body,
        close,
    })
}

/// The length of the head including its blank line, if it is all there;
/// `from` is where to start looking (no blank line ends before it).
fn find_head_end(buffer: &[u8], from: usize) -> Option<usize> {
    let rest = buffer.get(from..)?;
    let crlf = rest
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| from + i + 4);
    let lf = rest
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| from + i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn first_words(buffer: &[u8]) -> (String, String) {
    let line_end = buffer
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(buffer.len())
        .min(256);
    let line = String::from_utf8_lossy(&buffer[..line_end]);
    let mut parts = line.trim_end().splitn(3, ' ');
    (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    )
}

fn refused_head(buffer: &[u8]) -> Incoming {
    let (method, path) = first_words(buffer);
    Incoming::Refused {
        method,
        path,
        answer: Answer::error(
            431,
            "request_header_fields_too_large",
            format!("the request head is over {MAX_HEAD_BYTES} bytes"),
            "send fewer or shorter headers",
        ),
    }
}

fn refused_late(buffer: &[u8], deadline: Duration) -> Incoming {
    let (method, path) = first_words(buffer);
    Incoming::Refused {
        method,
        path,
        answer: late(deadline),
    }
}

fn late(deadline: Duration) -> Answer {
    Answer::error(
        408,
        "request_timeout",
        format!(
            "the request did not arrive in full within {} ms of its first byte",
            deadline.as_millis()
        ),
        "send the whole request at once",
    )
}

fn refused_garbage(buffer: &[u8]) -> Incoming {
    Incoming::Refused {
        method: String::new(),
        path: String::new(),
        answer: bad_request(format!(
            "the connection sent {} bytes that do not start an HTTP request",
            buffer.len()
        )),
    }
}

fn bad_request(message: impl Into<String>) -> Answer {
    Answer::error(
        400,
        "bad_request",
        message,
        "send HTTP/1.1 with a JSON body and a Content-Length",
    )
}

/// At most 60 characters of `text`, for a message.
fn excerpt(text: &str) -> String {
    text.chars().take(60).collect()
}

fn write_answer(
    stream: &mut TcpStream,
    answer: &Answer,
    method: &str,
    close: bool,
) -> io::Result<()> {
    // 204 and 304 answers have no body (RFC 9110, 15.3.5 and 15.4.5).
    let bodiless = matches!(answer.status, 204 | 304);
    let body = if bodiless {
        String::new()
    } else {
        answer.body.to_string()
    };
    let mut out = format!("HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
    if !bodiless {
        // A HEAD answer says how long the GET's body would be, and sends none.
        out.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        ));
    }
    for (name, value) in &answer.headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    if method != "HEAD" {
        out.push_str(&body);
    }
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

// --- The API ---------------------------------------------------------------------

enum Route {
    ProjectTokens,
    ProjectToken(String),
    UserTokens,
    UserTokenOrUser(String),
}

fn route(request: &Request, shared: &Shared, addr: SocketAddr) -> Answer {
    // The unit tests' stand-in for a bug: a panic holding the state's lock.
    #[cfg(test)]
    if request.target == "/test/panic" {
        let _state = shared.lock();
        panic!("the panic a unit test asked for");
    }
    let (path, query) = match request.target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (request.target.as_str(), ""),
    };
    let not_found = || {
        Answer::error(
            404,
            "not_found",
            format!("no such path: {}", excerpt(path)),
            "the fake serves /v2/jwt/project and /v2/jwt/user",
        )
    };
    let segment = |raw: &str| percent_decode(raw, false).filter(|s| !s.is_empty());
    let (route, allowed) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["", "v2", "jwt", "project"] => (Route::ProjectTokens, "GET, POST"),
        ["", "v2", "jwt", "project", id] => match segment(id) {
            Some(id) => (Route::ProjectToken(id), "DELETE"),
            None => return not_found(),
        },
        ["", "v2", "jwt", "user"] => (Route::UserTokens, "POST"),
        ["", "v2", "jwt", "user", id] => match segment(id) {
            Some(id) => (Route::UserTokenOrUser(id), "GET, DELETE"),
            None => return not_found(),
        },
        _ => return not_found(),
    };
    let method = request.method.as_str();
    if !allowed.split(", ").any(|m| m == method) {
        return Answer::error(
            405,
            "method_not_allowed",
            format!("{} does not take {}", excerpt(path), excerpt(method)),
            &format!("use {allowed}"),
        )
        .with_header("allow", allowed);
    }

    let mut state = shared.lock();
    if !state.authorized(request.header("authorization"), &shared.admin_token) {
        return Answer::error(
            401,
            "unauthorized",
            "the bearer token is missing, unknown, revoked or expired",
            "send Authorization: Bearer with the fake's admin token or a live project token",
        );
    }
    match (route, method) {
        (Route::ProjectTokens, "GET") => {
            let url = format!("http://{addr}/v2/jwt/project");
            state.list(query, &url, |_| true, true)
        }
        (Route::ProjectTokens, _) => match json_body(&request.body) {
            Ok(body) => state.create_project(&body),
            Err(answer) => answer,
        },
        (Route::UserTokens, _) => match json_body(&request.body) {
            Ok(body) => state.create_user(&body),
            Err(answer) => answer,
        },
        (Route::ProjectToken(id), _) => state.discard(&id, false),
        (Route::UserTokenOrUser(user), "GET") => {
            let url = format!("http://{addr}/v2/jwt/user/{}", percent_encode(&user));
            state.list(query, &url, |t| t.belongs_to(&user), false)
        }
        (Route::UserTokenOrUser(id), _) => state.discard(&id, true),
    }
}

fn json_body(body: &[u8]) -> Result<Map<String, Value>, Answer> {
    match serde_json::from_slice::<Value>(body) {
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

/// The optional text field `field`: `Ok(None)` when absent or null.
fn text_field(body: &Map<String, Value>, field: &str) -> Result<Option<String>, Answer> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(Answer::invalid(format!("{field} is empty"))),
        Some(Value::String(s)) if s.chars().count() > MAX_TEXT_CHARS => {
            Err(Answer::invalid(format!(
                "{field} is {} characters; at most {MAX_TEXT_CHARS} are allowed",
                s.chars().count()
            )))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Answer::invalid(format!("{field} is not a string"))),
    }
}

impl State {
    fn authorized(&self, header: Option<&str>, admin: &str) -> bool {
        let Some(bearer) = header.and_then(|h| {
            let (scheme, token) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        }) else {
            return false;
        };
        if bearer == admin {
            return true;
        }
        self.by_value
            .get(bearer)
            .and_then(|&i| self.tokens.get(i))
            .is_some_and(|t| {
                t.user.is_none()
                    && t.discarded_at.is_none()
                    && t.expires_at.is_none_or(|at| self.now < at)
            })
    }

    fn list(
        &self,
        query: &str,
        url: &str,
        include: impl Fn(&Token) -> bool,
        project: bool,
    ) -> Answer {
        let mut limit = None;
        let mut after = None;
        let mut before = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "limit" => &mut limit,
                "starting_after" => &mut after,
                "ending_before" => &mut before,
                _ => continue,
            };
            match percent_decode(raw, true) {
                Some(value) => *slot = Some(value),
                None => {
                    return Answer::invalid(format!("{name} is not valid percent-encoded UTF-8"))
                }
            }
        }
        let limit = match limit.as_deref().map(str::parse::<usize>) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                return Answer::invalid(format!(
                    "limit is {:?}; the fake allows 1 to {MAX_LIMIT}",
                    excerpt(limit.as_deref().unwrap_or_default())
                ))
            }
        };
        let items: Vec<&Token> = self
            .tokens
            .iter()
            .rev()
            .filter(|t| (t.user.is_none()) == project && include(t))
            .collect();
        let position = |name: &str, id: &str| {
            items.iter().position(|t| t.id == id).ok_or_else(|| {
                Answer::invalid(format!("{name} {:?} is no token of this list", excerpt(id)))
            })
        };
        let range = match (&after, &before) {
            (Some(_), Some(_)) => {
                return Answer::invalid(
                    "starting_after and ending_before are both set; a page goes one way",
                )
            }
            (Some(id), None) => match position("starting_after", id) {
                Ok(i) => i + 1..(i + 1 + limit).min(items.len()),
                Err(answer) => return answer,
            },
            (None, Some(id)) => match position("ending_before", id) {
                Ok(i) => i.saturating_sub(limit)..i,
                Err(answer) => return answer,
            },
            (None, None) => 0..limit.min(items.len()),
        };
        let page = &items[range.clone()];
        let link = |cursor: &str, id: &str| {
            Value::String(format!(
                "{url}?limit={limit}&{cursor}={}",
                percent_encode(id)
            ))
        };
        let next = match page.last() {
            Some(last) if range.end < items.len() => link("starting_after", &last.id),
            _ => Value::Null,
        };
        let prev = match page.first() {
            Some(first) if range.start > 0 => link("ending_before", &first.id),
            _ => Value::Null,
        };
        Answer::ok(
            200,
            json!({
                "data": page.iter().map(|t| t.json()).collect::<Vec<_>>(),
                "links": {"first": format!("{url}?limit={limit}"), "next": next, "prev": prev},
            }),
        )
    }

    fn create_project(&mut self, body: &Map<String, Value>) -> Answer {
        let name = match text_field(body, "name") {
            Ok(Some(name)) => name,
            Ok(None) => return Answer::invalid("name is missing; a project token needs one"),
            Err(answer) => return answer,
        };
        self.create(body, Some(name), None)
    }

    fn create_user(&mut self, body: &Map<String, Value>) -> Answer {
        let fields = ["email", "external_id", "name"].map(|f| text_field(body, f));
        let [email, external_id, name] = match fields {
            [Ok(email), Ok(external_id), Ok(name)] => [email, external_id, name],
            [Err(answer), ..] | [_, Err(answer), _] | [_, _, Err(answer)] => return answer,
        };
        if email.is_none() && external_id.is_none() {
            return Answer::invalid(
                "email and external_id are both missing; a user token needs one to name its user",
            );
        }
        self.create(body, name, Some(User { email, external_id }))
    }

    fn create(
        &mut self,
        body: &Map<String, Value>,
        name: Option<String>,
        user: Option<User>,
    ) -> Answer {
        let expiry = match body.get("expiry") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(secs) if secs >= 1 => Some(secs),
                _ => {
                    return Answer::invalid(format!(
                        "expiry is {n}; it must be a whole number of seconds, at least 1"
                    ))
                }
            },
            Some(_) => {
                return Answer::invalid(
                    "expiry is not a number; it must be a whole number of seconds, at least 1",
                )
            }
        };
        let created_at = self.now;
        let expires_at = match expiry {
            None => None,
            Some(secs) => match created_at
                .checked_add(Duration::from_secs(secs))
                .filter(|t| *t <= latest_time())
            {
                Some(at) => Some(at),
                None => {
                    return Answer::invalid(format!(
                        "expiry is {secs} seconds, which ends after the year 9999"
                    ))
                }
            },
        };
        self.minted += 1;
        let id = self.token_id();
        let iat = unix_seconds(created_at);
        let mut claims = Map::new();
        claims.insert("iat".into(), json!(iat));
        claims.insert("jti".into(), json!(id));
        if let Some(at) = expires_at {
            claims.insert("exp".into(), json!(unix_seconds(at)));
        }
        if let Some(user) = &user {
            claims.insert("user_email".into(), json!(user.email));
            claims.insert("user_external_id".into(), json!(user.external_id));
        }
        let mut signature = Vec::with_capacity(32);
        for i in 0..4 {
            signature
                .extend_from_slice(&random_u64(&self.random, self.minted * 8 + i).to_le_bytes());
        }
        let value = format!(
            "{}.{}.{}",
            base64url(br#"{"alg":"HS256","typ":"JWT"}"#),
            base64url(Value::Object(claims).to_string().as_bytes()),
            base64url(&signature)
        );
        let token = Token {
            id: id.clone(),
            name,
            user,
            created_at,
            expires_at,
            discarded_at: None,
        };
        let index = self.tokens.len();
        self.by_id.insert(id.clone(), index);
        self.by_value.insert(value.clone(), index);
        self.tokens.push(token);
        let mut answer = Map::new();
        answer.insert("token".into(), json!(value));
        answer.insert("token_id".into(), json!(id));
        answer.insert("created_at".into(), json!(rfc3339(created_at)));
        if let Some(at) = expires_at {
            answer.insert("expires_at".into(), json!(rfc3339(at)));
        }
        Answer::ok(201, Value::Object(answer))
    }

    /// A UUID-shaped id (version 4 layout): random, with the mint counter in
    /// the last group so that no two of one fake are equal.
    fn token_id(&self) -> String {
        let a = random_u64(&self.random, self.minted * 8 + 5);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((a >> 4) & 0x3fff),
            self.minted & 0xffff_ffff_ffff
        )
    }

    fn discard(&mut self, id: &str, user: bool) -> Answer {
        let now = self.now;
        let token = self
            .by_id
            .get(id)
            .copied()
            .and_then(|i| self.tokens.get_mut(i))
            .filter(|t| t.user.is_some() == user && t.discarded_at.is_none());
        let Some(token) = token else {
            let kind = if user { "user" } else { "project" };
            return Answer::error(
                404,
                "not_found",
                format!("no live {kind} token has the id {:?}", excerpt(id)),
                "list the tokens to find the id; a revoked token cannot be revoked again",
            );
        };
        token.discarded_at = Some(now);
        Answer::ok(
            200,
            json!({"token_id": token.id, "discarded_at": rfc3339(now)}),
        )
    }
}

// --- Encoding --------------------------------------------------------------------

fn random_u64(random: &std::collections::hash_map::RandomState, salt: u64) -> u64 {
    let mut hasher = random.build_hasher();
    hasher.write_u64(salt);
    hasher.finish()
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `raw` percent-decoded, if every `%` has two hex digits after it and the
/// result is UTF-8. `+` is a space only in a query value (`plus_is_space`),
/// as forms encode it; in a path it is itself (`a+b@example.com`).
fn percent_decode(raw: &str, plus_is_space: bool) -> Option<String> {
    let hex = |b: Option<&u8>| char::from(*b?).to_digit(16);
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let (high, low) = (hex(bytes.get(i + 1))?, hex(bytes.get(i + 2))?);
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(if b == b'+' && plus_is_space { b' ' } else { b });
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// 9999-12-31T23:59:59Z, the last time RFC 3339 can write.
fn latest_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(253_402_300_799)
}

/// `time` as RFC 3339 in UTC, with a fraction only when it has one.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    let nanos = since.subsec_nanos();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    type Outcome = Result<(), Box<dyn std::error::Error>>;

    /// A read that takes this long fails the test: nothing should.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn start_with(limits: Limits) -> io::Result<FakeServer> {
        FakeServer::start_with(0, limits)
    }

    fn connect(fake: &FakeServer) -> io::Result<TcpStream> {
        let stream = TcpStream::connect(fake.addr)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        Ok(stream)
    }

    fn get(fake: &FakeServer, path: &str) -> Vec<u8> {
        format!(
            "GET {path} HTTP/1.1\r\nauthorization: Bearer {}\r\n\r\n",
            fake.admin_token()
        )
        .into_bytes()
    }

    /// One answer's status, head and body; an error if the connection closed
    /// or stayed silent for [`PATIENCE`] first.
    fn read_answer(stream: &mut TcpStream) -> io::Result<(u16, String, Value)> {
        let mut bytes = Vec::new();
        let mut byte = [0u8; 1];
        while !bytes.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte)?;
            bytes.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&bytes).into_owned();
        let bad = || io::Error::new(io::ErrorKind::InvalidData, head.clone());
        let status = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body)?;
        Ok((status, head, serde_json::from_slice(&body)?))
    }

    /// True when the fake closed `stream` (end of stream or a reset); false
    /// when it is still open after [`PATIENCE`] or sent bytes.
    fn closed(stream: &mut TcpStream) -> bool {
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
        }
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
        let mut silent = connect(&fake)?;
        let mut half = connect(&fake)?;
        half.write_all(b"GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\n")?;
        // Thousands of pipelined lists of 100 tokens, never read: megabytes
        // of answers, more than the socket buffers hold. Written from a
        // thread of its own, which the fake's reads may leave blocked until
        // Drop shuts the connection down.
        let mut stuffed = connect(&fake)?;
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
    fn at_the_cap_a_connection_is_answered_503_and_closed() -> Outcome {
        let fake = start_with(Limits {
            max_connections: 2,
            ..Limits::default()
        })?;
        let mut open = Vec::new();
        for _ in 0..2 {
            let mut stream = connect(&fake)?;
            stream.write_all(&get(&fake, "/v2/jwt/project"))?;
            assert_eq!(read_answer(&mut stream)?.0, 200);
            open.push(stream);
        }
        let mut third = connect(&fake)?;
        third.write_all(&get(&fake, "/v2/jwt/project"))?;
        let (status, head, body) = read_answer(&mut third)?;
        assert_eq!(status, 503);
        assert!(head.contains("connection: close\r\n"), "{head}");
        assert_eq!(body["errors"][0]["code"], "service_unavailable");
        assert_eq!(
            body["errors"][0]["message"],
            "the fake already serves 2 connections, its most"
        );
        assert!(closed(&mut third));
        // A refused connection's request is not logged.
        assert_eq!(fake.requests().len(), 2);
        // Once one closes, a new connection is served again.
        drop(open.pop());
        let waited = Instant::now();
        let served = loop {
            let mut stream = connect(&fake)?;
            stream.write_all(&get(&fake, "/v2/jwt/project"))?;
            let status = read_answer(&mut stream)?.0;
            if status != 503 || waited.elapsed() > PATIENCE {
                break status;
            }
            thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(served, 200);
        assert_eq!(fake.caught_panics(), 0);
        Ok(())
    }

    #[test]
    fn a_connection_without_a_request_for_the_idle_timeout_is_closed() -> Outcome {
        let idle = Duration::from_millis(300);
        let fake = start_with(Limits {
            idle_timeout: idle,
            ..Limits::default()
        })?;
        let began = Instant::now();
        let mut silent = connect(&fake)?;
        assert!(closed(&mut silent));
        assert!(began.elapsed() >= idle);
        // A kept-alive connection: the timeout counts from its last answer
        // (which the fake wrote after this request was sent).
        let mut kept = connect(&fake)?;
        let sent = Instant::now();
        kept.write_all(&get(&fake, "/v2/jwt/project"))?;
        assert_eq!(read_answer(&mut kept)?.0, 200);
        assert!(closed(&mut kept));
        assert!(sent.elapsed() >= idle);
        assert_eq!(fake.requests().len(), 1);
        Ok(())
    }

    #[test]
    fn a_request_not_in_full_by_its_deadline_is_408_and_closed() -> Outcome {
        let deadline = Duration::from_millis(300);
        let fake = start_with(Limits {
            request_deadline: deadline,
            ..Limits::default()
        })?;
        let mut head = connect(&fake)?;
        let began = Instant::now();
        head.write_all(b"GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\n")?;
        let (status, headers, body) = read_answer(&mut head)?;
        assert!(began.elapsed() >= deadline);
        assert_eq!(status, 408);
        assert!(headers.contains("connection: close\r\n"), "{headers}");
        assert_eq!(
            body["errors"][0]["message"],
            "the request did not arrive in full within 300 ms of its first byte"
        );
        assert!(closed(&mut head));
        // A body short of its Content-Length, too.
        let mut short = connect(&fake)?;
        short.write_all(b"POST /v2/jwt/project HTTP/1.1\r\ncontent-length: 10\r\n\r\n{}")?;
        assert_eq!(read_answer(&mut short)?.0, 408);
        assert!(closed(&mut short));
        let log: Vec<(String, Option<u16>)> = fake
            .requests()
            .into_iter()
            .map(|r| (format!("{} {}", r.method, r.path), r.status))
            .collect();
        assert_eq!(
            log,
            [
                ("GET /v2/jwt/project".to_owned(), Some(408)),
                ("POST /v2/jwt/project".to_owned(), Some(408)),
            ]
        );
        assert!(fake.project_tokens().is_empty());
        Ok(())
    }

    #[test]
    fn a_panic_is_answered_500_counted_and_the_fake_serves_on() -> Outcome {
        let fake = FakeServer::start()?;
        assert_eq!(fake.caught_panics(), 0);
        // A panic answering, holding the state's lock.
        let mut stream = connect(&fake)?;
        stream.write_all(&get(&fake, "/test/panic"))?;
        let (status, head, body) = read_answer(&mut stream)?;
        assert_eq!(status, 500);
        assert!(head.contains("connection: close\r\n"), "{head}");
        assert_eq!(body["errors"][0]["code"], "internal_server_error");
        assert!(closed(&mut stream));
        assert_eq!(fake.caught_panics(), 1);
        // The poisoned lock is taken all the same.
        assert!(fake.project_tokens().is_empty());
        // A panic outside answering ends its connection, unanswered.
        let mut stream = connect(&fake)?;
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

    #[test]
    fn rfc3339_writes_utc_with_a_fraction_only_when_there_is_one() {
        let t = UNIX_EPOCH + Duration::from_secs(1_769_904_000);
        assert_eq!(rfc3339(t), "2026-02-01T00:00:00Z");
        assert_eq!(
            rfc3339(t + Duration::from_millis(250)),
            "2026-02-01T00:00:00.25Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(rfc3339(latest_time()), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn base64url_has_no_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn percent_decoding_takes_plus_as_a_space_only_in_queries() {
        assert_eq!(percent_decode("a+b%40x", false).as_deref(), Some("a+b@x"));
        assert_eq!(percent_decode("a+b%40x", true).as_deref(), Some("a b@x"));
        assert_eq!(percent_decode("%2B%c3%A9", false).as_deref(), Some("+é"));
    }

    #[test]
    fn percent_decoding_wants_two_hex_digits_and_utf8() {
        for raw in ["%+f", "%-1", "% f", "%f", "%", "%zz", "%ff"] {
            assert_eq!(percent_decode(raw, false), None, "{raw}");
            assert_eq!(percent_decode(raw, true), None, "{raw}");
        }
    }

    #[test]
    fn head_ends_at_the_first_blank_line() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nrest", 0), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\nrest", 0), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n", 0), None);
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n", 14), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n", 15), None);
    }
}
