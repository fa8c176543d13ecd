//! A [`FaultServer`] that enforces a fixed-window rate limit the way APIs do, counting what it answered and refused in each window.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{answer_bytes, FaultServer, Reply, Request};

/// How the server cuts time into windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Windows {
    /// Whole wall-clock seconds, as most APIs count them: a window ends when
    /// the system clock's second does.
    WallSeconds,
    /// Windows of this length from the server's start.
    FromStart(Duration),
}

/// What one window saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowCount {
    /// Requests answered as the API would (within the limit).
    pub answered: usize,
    /// Requests answered `429`.
    pub refused: usize,
}

/// How a [`RateLimitedServer`] behaves; [`RateLimitedServer::builder`] makes one.
#[derive(Debug, Clone)]
pub struct RateLimitBuilder {
    limit: usize,
    windows: Windows,
    latency: Duration,
    headers: bool,
    tokens_per_list: usize,
}

impl RateLimitBuilder {
    /// How time is cut into windows; whole wall-clock seconds by default.
    pub fn windows(mut self, windows: Windows) -> Self {
        self.windows = windows;
        self
    }

    /// How long after a request arrives its answer leaves (half before the
    /// server counts it, half after, like a round trip); 20 ms by default.
    /// Each connection sleeps on its own thread, so answers overlap.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Whether every answer carries `RateLimit-Limit`, `RateLimit-Remaining`
    /// and `RateLimit-Reset`; off by default.
    pub fn headers(mut self, headers: bool) -> Self {
        self.headers = headers;
        self
    }

    /// How many live tokens each list answers with (one page, no next
    /// link); 5 by default.
    pub fn tokens_per_list(mut self, tokens: usize) -> Self {
        self.tokens_per_list = tokens;
        self
    }

    /// Starts serving on 127.0.0.1.
    pub fn start(self) -> RateLimitedServer {
        let counts: Arc<Mutex<BTreeMap<u64, WindowCount>>> = Arc::default();
        let started = Instant::now();
        let config = self.clone();
        let seen = counts.clone();
        let server = FaultServer::start(move |_, request| {
            thread::sleep(config.latency / 2);
            let (window, left) = config.window_at(started);
            let allowed = {
                let mut counts = seen.lock().unwrap_or_else(|p| p.into_inner());
                let count = counts.entry(window).or_default();
                let allowed = count.answered < config.limit;
                if allowed {
                    count.answered += 1;
                } else {
                    count.refused += 1;
                }
                allowed.then_some(count.answered)
            };
            thread::sleep(config.latency - config.latency / 2);
            // Seconds until the window ends, rounded up, as `Retry-After`
            // and `RateLimit-Reset` give them.
            let reset = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            let reset = reset.max(1).to_string();
            let mut headers = vec![("content-type", "application/json".to_owned())];
            if config.headers {
                let used = allowed.unwrap_or(config.limit);
                headers.push(("ratelimit-limit", config.limit.to_string()));
                headers.push(("ratelimit-remaining", (config.limit - used).to_string()));
                headers.push(("ratelimit-reset", reset.clone()));
            }
            let (status, body) = match allowed {
                Some(_) => api_answer(request, config.tokens_per_list),
                None => {
                    headers.push(("retry-after", reset));
                    (
                        429,
                        r#"{"errors":[{"code":"rate_limited","message":"too many requests"}]}"#
                            .to_owned(),
                    )
                }
            };
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            Reply::Raw(answer_bytes(status, &headers, body.as_bytes()))
        });
        RateLimitedServer { server, counts }
    }

    /// The window a request arriving now counts in, and the time left in it.
    fn window_at(&self, started: Instant) -> (u64, Duration) {
        match self.windows {
            Windows::WallSeconds => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let left = Duration::from_secs(1) - Duration::from_nanos(now.subsec_nanos().into());
                (now.as_secs(), left)
            }
            Windows::FromStart(length) => {
                let length = length.max(Duration::from_millis(1));
                let elapsed = started.elapsed();
                let index = (elapsed.as_nanos() / length.as_nanos()) as u64;
                let end =
                    Duration::from_nanos((index + 1).saturating_mul(length.as_nanos() as u64));
                (index, end.saturating_sub(elapsed))
            }
        }
    }
}

/// A server that answers `limit` requests a window as MagicBell's JWT API
/// would, and every request beyond `429` with a `Retry-After` of the seconds
/// left in the window, rounded up. It counts what it answered and refused
/// in each window.
pub struct RateLimitedServer {
    server: FaultServer,
    counts: Arc<Mutex<BTreeMap<u64, WindowCount>>>,
}

impl RateLimitedServer {
    /// `limit` requests a window: whole wall-clock seconds, 20 ms answers,
    /// no rate-limit headers, 5 tokens a list, unless set otherwise.
    pub fn builder(limit: usize) -> RateLimitBuilder {
        RateLimitBuilder {
            limit,
            windows: Windows::WallSeconds,
            latency: Duration::from_millis(20),
            headers: false,
            tokens_per_list: 5,
        }
    }

    /// [`builder`](RateLimitedServer::builder) with every default.
    pub fn start(limit: usize) -> RateLimitedServer {
        RateLimitedServer::builder(limit).start()
    }

    /// The base URL to give the client.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Whole requests read so far.
    pub fn requests(&self) -> usize {
        self.server.requests()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// Answers `429` sent so far.
    pub fn refused(&self) -> usize {
        self.windows().iter().map(|w| w.refused).sum()
    }

    /// Requests answered within the limit so far.
    pub fn answered(&self) -> usize {
        self.windows().iter().map(|w| w.answered).sum()
    }

    /// Each window from the first a request came in to the last, in order,
    /// the windows none came in included.
    pub fn windows(&self) -> Vec<WindowCount> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (Some((&first, _)), Some((&last, _))) =
            (counts.first_key_value(), counts.last_key_value())
        else {
            return Vec::new();
        };
        (first..=last)
            .map(|w| counts.get(&w).copied().unwrap_or_default())
            .collect()
    }
}

/// What MagicBell answers within the limit: a revoke's
/// `{"token_id", "discarded_at"}`, a create's token, or a list of
/// `tokens_per_list` live tokens (a user's named `{user}_tok{k}`, the
/// project's `tok{k}`), one page.
pub fn api_answer(request: &Request, tokens_per_list: usize) -> (u16, String) {
    let path = request.target.split('?').next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    match request.method.as_str() {
        "DELETE" => (
            200,
            format!(r#"{{"token_id":"{last}","discarded_at":"2026-01-02T00:00:00Z"}}"#),
        ),
        "POST" => (
            201,
            r#"{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyYXRlLWxpbWl0ZWQifQ.c2ln","token_id":"tok_created","created_at":"2026-01-01T00:00:00Z","expires_at":null}"#
                .to_owned(),
        ),
        _ => {
            let prefix = if path.ends_with("/jwt/project") {
                "tok".to_owned()
            } else {
                format!("{last}_tok")
            };
            let tokens: Vec<String> = (1..=tokens_per_list)
                .map(|k| {
                    format!(
                        r#"{{"id":"{prefix}{k}","name":"rate-limited","created_at":"2026-01-01T00:00:00Z","expires_at":null,"discarded_at":null}}"#
                    )
                })
                .collect();
            (
                200,
                format!(r#"{{"data":[{}],"links":{{"next":null}}}}"#, tokens.join(",")),
            )
        }
    }
}
