//! A stateful, in-memory fake of MagicBell's JWT service, for tests, demos and
//! scripts (cargo feature `fake`): [`FakeServer`], the handle that starts,
//! inspects and stops it. A request flows `http` -> `read` -> `service` ->
//! `state` (by way of `control` for one under `/_fake/`), and each file
//! names what it holds.

mod answer;
mod clock;
mod control;
mod encoding;
mod faults;
mod http;
mod limits;
mod log;
mod random;
mod rate_limit;
mod read;
mod request;
mod routes;
mod service;
mod shared;
mod state;
mod token_id;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use crate::{AccessToken, Client};

pub use faults::FakeFault;
pub use request::FakeRequest;
pub use routes::FakeRoute;

use clock::Clock;
use http::accept_loop;
use limits::Limits;
use shared::Shared;
use state::State;

/// A local, in-memory MagicBell JWT service that keeps state like the real
/// one, for tests, demos and scripts (cargo feature `fake`).
///
/// [`FakeServer::start`] listens on `127.0.0.1` on a free port and serves the
/// API's paths under [`base_url`](FakeServer::base_url) on background
/// threads; [`client`](FakeServer::client) is a [`Client`] for it. Dropping
/// it closes the port, shuts down every open connection and joins every
/// thread it started, promptly whatever its clients do.
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
/// // (With no_proxy, as FakeServer::client says why.)
/// let revoked = magicbell_jwt::Client::builder(created.token)
///     .base_url(fake.base_url())
///     .no_proxy()
///     .build()?;
/// let refused = revoked.fetch_project_tokens(&FetchProjectTokensParams::default());
/// assert_eq!(refused.unwrap_err().status(), Some(401));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Where to look
///
/// - The calls it serves, with MagicBell's paths, bodies and statuses: a
///   [`FakeRoute`] each.
/// - Who may call: [`admin_token`](FakeServer::admin_token).
/// - Its limits on connections and time: [`start`](FakeServer::start).
/// - What it holds and what it was sent:
///   [`project_tokens`](FakeServer::project_tokens),
///   [`user_tokens`](FakeServer::user_tokens),
///   [`requests`](FakeServer::requests).
/// - Its clock, which dates tokens and expires them: [`now`](FakeServer::now).
/// - The same over HTTP, for a fake in another process: [the control
///   API](#the-control-api).
/// - Making it misbehave: [`inject`](FakeServer::inject) and
///   [`inject_on`](FakeServer::inject_on) (with a [`FakeFault`]; a client's
///   retries meet faults too), [`set_rate_limit`](FakeServer::set_rate_limit),
///   [`set_latency`](FakeServer::set_latency).
///
/// # The control API
///
/// What a test does in-process, another language's test (or `curl`) does
/// over HTTP to a fake run as `magicbell-jwt fake`: the fake serves these
/// paths beside the API's `/v2`, JSON in and out, to the
/// [`admin_token`](FakeServer::admin_token) alone (any other bearer, a live
/// project token too, is answered 401 with `WWW-Authenticate: Bearer`):
///
/// | Request | Body | Does | Answers |
/// |---|---|---|---|
/// | `POST /_fake/faults` | `{"route", "skip", "times", "fault"}` | [`inject_on`](FakeServer::inject_on), or [`inject`](FakeServer::inject) without a route | 201, what was set up |
/// | `DELETE /_fake/faults` | | [`clear_faults`](FakeServer::clear_faults) | 200 `{"cleared": N}` |
/// | `PUT /_fake/rate_limit` | `{"requests", "per_ms", "headers"}` | [`set_rate_limit`](FakeServer::set_rate_limit), [`set_rate_limit_headers`](FakeServer::set_rate_limit_headers) | 200, what was set |
/// | `DELETE /_fake/rate_limit` | | [`clear_rate_limit`](FakeServer::clear_rate_limit) | 200 `{"rate_limit": null}` |
/// | `POST /_fake/clock` | `{"advance_seconds"}` | [`advance`](FakeServer::advance) | 200 `{"now"}`, the clock's time |
/// | `GET /_fake/requests` | | [`requests`](FakeServer::requests) | 200 `{"requests": [{"method", "path", "status"}]}` |
/// | `DELETE /_fake/requests` | | [`clear_requests`](FakeServer::clear_requests) | 200 `{"cleared": N}` |
/// | `POST /_fake/reset` | | [`reset`](FakeServer::reset) | 200 `{"reset": true}` |
///
/// A fault's `route` is a [`FakeRoute`] by its name (`discard_project_token`),
/// or absent, `null` or `"any"` for any request; `skip` (default 0, and 0
/// without a route) and `times` (at least 1) are whole numbers; `fault` is
/// `{"status": 500}`, `{"status": 429, "retry_after": 2}`, `"close"` or
/// `{"delay_ms": 300}`, a status from 200 to 599. A rate limit's `requests`
/// and `per_ms` (at least 1) are whole numbers and `headers` is `true` or
/// `false` (default). `now` is RFC 3339, as `created_at`; a `status` is
/// `null` for a request sent no answer; `cleared` counts the faults (each
/// set up by one call) or the requests removed. A field missing, unknown, of
/// another type or out of its range is answered 422 with a message naming
/// it, and changes nothing; a body that is not JSON 400, one sent with
/// another `Content-Type` 415; a path under `/_fake/` not listed 404, a
/// method a path does not take 405.
///
/// Control requests are neither rate-limited nor faulted, wait no
/// [latency](FakeServer::set_latency), and are not in
/// [`requests`](FakeServer::requests).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::io::{Read, Write};
/// use magicbell_jwt::{FakeRoute, FakeServer};
///
/// let fake = FakeServer::start()?;
/// let body = r#"{"route": "discard_project_token", "skip": 1, "times": 1, "fault": {"status": 500}}"#;
/// let addr = fake.base_url().trim_start_matches("http://").trim_end_matches("/v2").to_owned();
/// let mut stream = std::net::TcpStream::connect(addr)?;
/// write!(
///     stream,
///     "POST /_fake/faults HTTP/1.1\r\nhost: fake\r\nauthorization: Bearer {}\r\n\
///      content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
///     fake.admin_token(),
///     body.len()
/// )?;
/// let mut answer = String::new();
/// stream.read_to_string(&mut answer)?;
/// assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"));
/// assert!(fake.requests().is_empty());
/// # Ok(())
/// # }
/// ```
///
/// # Errors it answers
///
/// In MagicBell's shape, `{"errors":[{"code","message","suggestion","help_link"}]}`,
/// checked in this order: a head over 16 KiB 431, a body over 64 KiB 413 (a
/// chunked one too), a request that is not HTTP/1.x, whose framing cannot be
/// followed (a `Content-Length` that is not all digits, a final transfer
/// coding other than `chunked`) or without exactly one `Host` (none is
/// allowed in HTTP/1.0) 400, another transfer coding before `chunked` 501;
/// past a
/// [rate limit](FakeServer::set_rate_limit) 429; an absolute-form target
/// (`http://127.0.0.1:PORT/v2/...`, as sent through a forward proxy) naming
/// another server 421, an unknown path 404, a method the path does not have
/// 405 (with `Allow`); a bad bearer 401; a create's body with a
/// `Content-Type` other than JSON 415; a body that is not JSON 400; a body
/// breaking a rule of its [`FakeRoute`] 422, with the field first in the
/// message. Once it cannot tell where the next request starts (the first
/// five), it closes the connection after answering. No input, however
/// malformed, panics it or stops it serving the next connection.
///
/// # What it does not model
///
/// Outages (inject them with [`inject`](FakeServer::inject) or
/// [`inject_on`](FakeServer::inject_on)), MagicBell's own rate limits (set
/// one with [`set_rate_limit`](FakeServer::set_rate_limit)), TLS,
/// MagicBell's other APIs, users as records (a user's list is every token
/// created with that email or that external id; two tokens, one created with
/// each, are not linked), token values that verify, and anything MagicBell's
/// error bodies say beyond the shape: its codes and messages are the fake's
/// own.
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Starts a fake on `127.0.0.1`, on a free port, with no tokens.
    ///
    /// Its clock is frozen at the current time, rounded down to the second
    /// (see [`set_clock_running`](FakeServer::set_clock_running)).
    ///
    /// # Connections
    ///
    /// It serves HTTP/1.1 with keep-alive, one thread a connection, several
    /// at once, within these limits:
    ///
    /// - At most 256 connections are served at once. One more is answered 503
    ///   with a MagicBell error body (`service_unavailable`) and
    ///   `connection: close`, then closed; it is not in
    ///   [`requests`](FakeServer::requests) and uses no fault.
    /// - A connection with no request for 30 s (a new one, or a kept-alive one
    ///   since its last answer) is closed without an answer. That is longer
    ///   than a [`Client`] keeps a pooled connection, so a client never meets
    ///   one the fake closed this way.
    /// - A request must arrive in full, head and body, within 10 s of its
    ///   first byte. One that does not is answered 408 (`request_timeout`),
    ///   logged, and its connection closed.
    /// - A client that does not read its answers for 2 s loses its connection.
    /// - Dropping the fake shuts down every open connection at once, so a
    ///   client that never sends a byte, stops halfway through a request or
    ///   never reads its answers does not hold the drop up.
    /// - A panic while serving a connection (a bug in the fake) is caught:
    ///   one while answering a request is answered 500
    ///   (`internal_server_error`) and logged, one elsewhere ends that
    ///   connection unanswered; either way the connection closes, and other
    ///   connections and the state serve on. Dropping a fake that caught any
    ///   prints a warning with their count on stderr, since a client that
    ///   retries 500s would hide them.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound, or no thread started.
    pub fn start() -> io::Result<FakeServer> {
        Self::start_on_port(0)
    }

    /// [`FakeServer::start`] on a chosen port of `127.0.0.1`; port 0 picks a
    /// free one. For a standalone server (`magicbell-jwt fake --port`);
    /// tests should use [`FakeServer::start`].
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
        let mut state = State::new(Clock::frozen_at(SystemTime::now()), random);
        let admin_token = format!(
            "fake-admin-{:016x}{:016x}",
            state.next_random(),
            state.next_random()
        );
        let shared = Arc::new(Shared {
            admin_token,
            limits,
            shutdown: AtomicBool::new(false),
            panics: AtomicUsize::new(0),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
            state: Mutex::new(state),
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
    ///
    /// Every request needs `Authorization: Bearer` with this token or a
    /// project token this fake minted that is neither revoked nor expired at
    /// the fake's [clock](FakeServer::now). Anything else (no header, another
    /// scheme, a user token, an unknown value) is answered 401, with
    /// `WWW-Authenticate: Bearer` as on every 401 the fake sends.
    pub fn admin_token(&self) -> &str {
        &self.shared.admin_token
    }

    /// A [`Client`] for this fake: the [`admin_token`](FakeServer::admin_token),
    /// the [`base_url`](FakeServer::base_url),
    /// [`no_proxy`](crate::ClientBuilder::no_proxy), and a 1 ms
    /// [`retry_delay`](crate::ClientBuilder::retry_delay) so that tests
    /// meeting faults stay fast. Every other setting is the default.
    ///
    /// `no_proxy` because a client otherwise follows a proxy named in its
    /// environment (see [`no_proxy`](crate::ClientBuilder::no_proxy)): set in
    /// a developer's or a CI runner's environment, it would send the requests
    /// for `127.0.0.1` to the proxy, which cannot reach the fake. A client you
    /// build yourself for the fake (another bearer, other settings) wants
    /// `.no_proxy()` too.
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
    /// [`advance`](FakeServer::advance), unless
    /// [`set_clock_running`](FakeServer::set_clock_running) runs it on real
    /// time.
    ///
    /// Every `created_at`, `expires_at` and `discarded_at` comes from it, and
    /// a token has expired once this reaches its `expires_at`.
    pub fn now(&self) -> SystemTime {
        self.state().now()
    }

    /// Moves the fake's clock on by `by`; a frozen clock never moves by
    /// itself.
    ///
    /// A clock that would overflow `SystemTime` stays where it is.
    pub fn advance(&self, by: Duration) {
        self.state().clock.advance(by);
    }

    /// Runs the fake's clock on real time (`true`) or freezes it (`false`),
    /// from the time it shows: it never goes back. A clock that
    /// [`advance`](FakeServer::advance) put ahead of real time runs on that
    /// far ahead; one behind it (a fresh fake's, rounded down to the second)
    /// joins the real time.
    ///
    /// A running clock reads the real time in whole seconds, plus whatever
    /// `advance` adds: a token with an `expiry` expires on its own, and
    /// `created_at` and `discarded_at` are when the request arrived.
    /// [`FakeServer::start`] freezes the clock, so that a test's dates are
    /// fixed and only `advance` expires a token; `magicbell-jwt fake` runs it
    /// unless given `--frozen-clock`.
    pub fn set_clock_running(&self, running: bool) {
        self.state().clock.set_running(running, SystemTime::now());
    }

    /// Every project token the fake holds, newest first, revoked and expired
    /// ones included; as a list would show them, without their values.
    pub fn project_tokens(&self) -> Vec<AccessToken> {
        let state = self.state();
        let list = state.project.iter().rev();
        list.map(|&i| state.tokens[i].access_token()).collect()
    }

    /// Adds `count` project tokens at once, without a request each: for a
    /// test or a benchmark that needs many (a million take a few seconds,
    /// and about 200 MB). Returns their ids, oldest first.
    ///
    /// Each is as [`FakeRoute::CreateProjectToken`] would mint it, named
    /// `seeded`, created at the fake's [`now`](FakeServer::now) and never
    /// expiring, except that it has no value: nobody holds it, so it is
    /// never a bearer. Lists show it, and revoking it works as for any
    /// other. No request is recorded.
    pub fn seed_project_tokens(&self, count: usize) -> Vec<String> {
        self.state().seed(None, count)
    }

    /// As [`seed_project_tokens`](FakeServer::seed_project_tokens), for
    /// `count` tokens of `user`, as if created with it as the external id
    /// (and no name): [`user_tokens`](FakeServer::user_tokens) and the
    /// user's list find them under `user`.
    pub fn seed_user_tokens(&self, user: &str, count: usize) -> Vec<String> {
        self.state().seed(Some(user), count)
    }

    /// Every token of the user with this email or external id, newest first,
    /// revoked and expired ones included.
    pub fn user_tokens(&self, user: &str) -> Vec<AccessToken> {
        let state = self.state();
        let list = state.users.get(user).into_iter().flatten().rev();
        list.map(|&i| state.tokens[i].access_token()).collect()
    }

    /// Every request the fake read, in the order it finished with them (the
    /// order they arrived, unless they overlapped): faulted and refused ones
    /// too (a request answered 408 for arriving too slowly among them), but
    /// not a request cut off before its end, nor a connection over the cap.
    ///
    /// A request is recorded as its answer is written, with the status its
    /// client was sent (see [`FakeRequest::status`]), after any
    /// [latency](FakeServer::set_latency) or [`FakeFault::Delay`]: between
    /// the answer's last byte and the rest, so that a call that has returned
    /// always finds its requests here.
    ///
    /// The log is a test tool: one entry per request (the method, the target
    /// and a status: some tens of bytes plus the target), each kept for the
    /// fake's whole life unless
    /// [`set_request_log_limit`](FakeServer::set_request_log_limit) caps
    /// them, and each call copies it whole. A test's few thousand requests
    /// cost nothing; a fake serving millions holds every one unless capped.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.state().log.entries()
    }

    /// Keeps at most `limit` requests in [`requests`](FakeServer::requests),
    /// the latest, dropping older ones as new ones come (and at once, beyond
    /// the limit, when it is set); `Some(0)` keeps none, for a fake serving
    /// millions of requests in bounded memory. Defaults to `None`: every
    /// request is kept.
    ///
    /// Only the log is capped: every request still counts against a
    /// [rate limit](FakeServer::set_rate_limit) and in a fault's window.
    pub fn set_request_log_limit(&self, limit: Option<usize>) {
        self.state().log.set_limit(limit);
    }

    /// Every request recorded from now on, each sent once its answer has
    /// been written in full (or failed to be), with the status the client
    /// was sent, in the order the answers were finished, whatever
    /// [`set_request_log_limit`](FakeServer::set_request_log_limit) keeps. For `magicbell-jwt fake`, which logs
    /// each request as it is answered; not part of the API. A second call
    /// replaces the first's feed. Once the fake is dropped (which joins
    /// every thread it started, each recording what it answered first), the
    /// feed yields what is left and ends.
    #[doc(hidden)]
    pub fn request_feed(&self) -> Receiver<FakeRequest> {
        let (sender, receiver) = mpsc::channel();
        self.state().log.set_feed(sender);
        receiver
    }

    /// Makes the next `times` requests meet `fault` instead of their normal
    /// answer.
    ///
    /// Faults queue up: a second `inject` applies after the first one's
    /// `times` are used. Every request read in full uses one, whatever its
    /// path, method or bearer, unless it meets an
    /// [`inject_on`](FakeServer::inject_on) fault or a
    /// [rate limit](FakeServer::set_rate_limit) first; a request the fake
    /// cannot read (431, 413, 400, 501, 408) gets that answer and uses none,
    /// and so does a connection over the cap (503).
    ///
    /// "The next `times` requests" are the next the fake finishes reading,
    /// across all its connections, in whatever order they arrive: when
    /// several threads or connections send at once, which requests meet the
    /// fault is a race. To fault one particular request, inject just before
    /// sending it with no other request in flight; with concurrent senders,
    /// assert how many met the fault (count the statuses in
    /// [`requests`](FakeServer::requests)), not which. A client's retry is a
    /// request too and uses one: see [`inject_on`](FakeServer::inject_on).
    pub fn inject(&self, times: usize, fault: FakeFault) {
        self.state().faults.inject(times, fault);
    }

    /// Lets the next `skip` requests of `route` through, then makes the
    /// `times` after them meet `fault` instead of their normal answer.
    ///
    /// Only requests of that call count ([`FakeRoute`] says which), whatever
    /// their bearer or body; other requests are untouched. Each `inject_on`
    /// counts from when it is called, on its own: a request in the windows
    /// of two meets the fault injected first, and counts in both. It wins
    /// over [`inject`](FakeServer::inject)'s queue, whose next fault then
    /// waits for the next request. A request over a
    /// [rate limit](FakeServer::set_rate_limit), or one the fake cannot
    /// read, counts in none. `times` of 0 does nothing.
    ///
    /// Requests count in the order they reach the fake: "the third revoke"
    /// is the third of a job that revokes one at a time (a bulk call with
    /// parallelism 1). With several in flight (`discard_project_jwts(&ids,
    /// 8)`) the faults land on whichever requests come in those places,
    /// retries included: assert how many met them, not which.
    ///
    /// # Faults and the client's retries
    ///
    /// A client's retry is a request of the same call, and meets the next
    /// fault or none. A fault the client's retry rule lets it send again
    /// (see [`ClientBuilder::max_retries`](crate::ClientBuilder::max_retries)
    /// and [`Error::may_have_been_processed`](crate::Error::may_have_been_processed))
    /// is retried away unless its `times` cover the retries too (a 429 is
    /// waited out within the client's
    /// [`max_rate_limit_wait`](crate::ClientBuilder::max_rate_limit_wait),
    /// not its retries). To make a fault stick, use a client that sends each
    /// request once:
    ///
    /// ```
    /// use magicbell_jwt::{Client, CreateProjectTokenRequest, FakeFault, FakeRoute, FakeServer};
    ///
    /// let fake = FakeServer::start()?;
    /// let client = fake.client();
    /// let ids: Vec<String> = (0..4)
    ///     .map(|i| client.create_project_jwt(&CreateProjectTokenRequest::new(format!("t{i}"))))
    ///     .map(|created| created.map(|c| c.token_id))
    ///     .collect::<Result<_, _>>()?;
    /// let once = Client::builder(fake.admin_token())
    ///     .base_url(fake.base_url())
    ///     .no_proxy()
    ///     .max_retries(0)
    ///     .build()?;
    /// // Let two revokes through, then fail the third.
    /// fake.inject_on(FakeRoute::DiscardProjectToken, 2, 1, FakeFault::Status(500));
    /// let results = once.discard_project_jwts(&ids, 1);
    /// let failed = results[2].as_ref().unwrap_err();
    /// assert_eq!((failed.status(), failed.attempts()), (Some(500), Some(1)));
    /// assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inject_on(&self, route: FakeRoute, skip: usize, times: usize, fault: FakeFault) {
        self.state().faults.inject_on(route, skip, times, fault);
    }

    /// Answers at most `requests` requests in each window of `per`, windows
    /// following each other from this call on real time (not the fake's
    /// clock: clients wait in real time). A request beyond them is answered
    /// 429 in MagicBell's error shape with `Retry-After`: the whole seconds
    /// until the window ends, rounded up. It changes nothing and meets no
    /// fault.
    ///
    /// Every request the fake reads in full counts, whatever its path or
    /// bearer, as at a gateway in front of the service, and is logged in
    /// [`requests`](FakeServer::requests) with its status (429 or not).
    /// Setting a limit again starts a fresh window; `requests` of 0 refuses
    /// everything, and `per` of zero sets no limit. A [`Client`] waits out a
    /// `Retry-After` up to its
    /// [`max_retry_after`](crate::ClientBuilder::max_retry_after) and sends
    /// the request again:
    ///
    /// ```
    /// use std::time::Duration;
    /// use magicbell_jwt::FakeServer;
    ///
    /// let fake = FakeServer::start()?;
    /// fake.set_rate_limit(1, Duration::from_secs(1));
    /// let client = fake.client();
    /// client.fetch_project_tokens(&Default::default())?;
    /// client.fetch_project_tokens(&Default::default())?; // 429, a wait, then 200
    /// let statuses: Vec<_> = fake.requests().iter().map(|r| r.status).collect();
    /// assert_eq!(statuses, [Some(200), Some(429), Some(200)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_rate_limit(&self, requests: u32, per: Duration) {
        self.state().set_rate_limit(requests, per);
    }

    /// Removes every fault [`inject`](FakeServer::inject) and
    /// [`inject_on`](FakeServer::inject_on) set up that is not used yet.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// Forgets every request [`requests`](FakeServer::requests) lists; those
    /// answered from now on are recorded as before.
    pub fn clear_requests(&self) {
        self.state().log.clear();
    }

    /// Makes the fake as if new: no tokens, no faults, no rate limit (nor
    /// its [headers](FakeServer::set_rate_limit_headers)), no recorded
    /// requests. What it was started with stays: its port, its admin token,
    /// its clock (where it stands, frozen or running) and its
    /// [latency](FakeServer::set_latency). Token ids stay unique: none
    /// minted after a reset repeats one minted before.
    pub fn reset(&self) {
        self.state().reset();
    }

    /// Removes the [rate limit](FakeServer::set_rate_limit): every request
    /// is answered again.
    pub fn clear_rate_limit(&self) {
        self.state().clear_rate_limit();
    }

    /// While a [rate limit](FakeServer::set_rate_limit) is set, sends
    /// `RateLimit-Limit` (its `requests`), `RateLimit-Remaining` (left in this
    /// window after this request) and `RateLimit-Reset` (whole seconds until
    /// the window ends, rounded up) on every answer to a request read in
    /// full, 429s and faults included; `false`, the default, sends none.
    pub fn set_rate_limit_headers(&self, on: bool) {
        self.state().rate_headers = on;
    }

    /// Makes every answer wait `latency`, to stand in for a real network, as
    /// in a benchmark. Defaults to `Duration::ZERO`.
    ///
    /// The request takes effect at once; its answer leaves after the delay,
    /// as with a slow network after the server acted, and the request is
    /// logged in [`requests`](FakeServer::requests) then. A
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
            .field("requests", &state.log.len())
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

// Over raw TCP with the repository's test servers: not in the published
// crate, which leaves them out (build.rs).
#[cfg(all(test, test_servers))]
mod tests;
