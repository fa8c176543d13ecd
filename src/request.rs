//! The send path: one exchange, bounded body reads, decoding, and the retry policy.

use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::Serialize;
use ureq::http::{self, header, Method};

use crate::reach::Effect;
use crate::redact;
use crate::settings::RetryPolicy;
use crate::throttle::quota::{quota_from_headers, Quota};
use crate::throttle::Signal;
use crate::time::answer_time;
use crate::{ApiError, Client, Error, TransportError};

// An error answer is read only this far: enough for MagicBell's JSON, and a
// bounded excerpt of a proxy's HTML page.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

// However often a server answers 429 asking for no wait, one call sends at
// most this many times more.
const MAX_RATE_LIMITED_RESENDS: u32 = 100;

/// A 2xx answer's status and body, or the error an exchange ended in.
type Answered = Result<(u16, Vec<u8>), Error>;

impl Client {
    /// Sends one request and maps its answer: a 2xx body decoded as `T`, any
    /// other answer or failure an [`Error`].
    pub(crate) fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&impl Serialize>,
        effect: Effect,
    ) -> Result<T, Error> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::invalid(format!("the request body could not be encoded: {e}")))?;
        let mut url = String::with_capacity(self.inner.base_url.len() + path_and_query.len());
        url.push_str(&self.inner.base_url);
        url.push_str(path_and_query);
        // A client that never retries never waits either: it takes no part
        // in the rate limit's pauses and pacing.
        let waits_on_limits = self.inner.retry.max_retries > 0;
        // Sends, as `Error::attempts` reports them.
        let mut attempts = 1;
        // Failed attempts, as `max_retries` counts them: a 429 is not one.
        let mut failures = 1;
        let mut rate_limited = RateLimitSpent::default();
        let mut reconnected = false;
        // Whether an attempt so far may have been processed: each error
        // speaks for every attempt before it.
        let mut processed = false;
        loop {
            let sent = waits_on_limits
                .then(|| self.wait_for_turn(&method, path_and_query, &mut rate_limited.waited));
            let (result, quota) = self.exchange(method.clone(), &url, body.as_deref());
            let asked = self.learn(sent, &result, quota, rate_limited.resends);
            let error = match result {
                Ok((status, bytes)) => return decode(status, &bytes),
                Err(e) => e.finish(attempts, effect, processed),
            };
            processed = error.may_have_been_processed();
            let retry = &self.inner.retry;
            // A create is never sent again once any attempt may have acted,
            // whatever the last answer was.
            let resend_forbidden = effect == Effect::Creates && processed;
            let wait = match asked {
                // The throttle holds the request back; only the budget for
                // such waits can end the call, or a server that answers 429
                // again and again.
                Some(asked) => (!resend_forbidden
                    && retry.resend_after_429(asked, &mut rate_limited))
                .then_some(Duration::ZERO),
                None => retry.wait_before_retry(&error, effect, failures),
            };
            let Some(mut wait) = wait else {
                if matches!(error, Error::Api(_) | Error::Transport(_)) {
                    log::debug!(
                    target: "magicbell_jwt",
                        "{method} {path_and_query}: {} on attempt {attempts}; giving up",
                        error.summary()
                    );
                }
                return Err(error);
            };
            // A kept-alive connection the server closed as this request
            // arrived: the request never reached it, and a fresh connection
            // will do. Once a call, at once; then the usual backoff.
            if !reconnected && matches!(&error, Error::Transport(e) if e.is_closed_connection()) {
                reconnected = true;
                wait = Duration::ZERO;
            }
            if asked.is_some() {
                log::debug!(
                    target: "magicbell_jwt",
                    "{method} {path_and_query}: {} on attempt {attempts}; retrying when the rate limit allows",
                    error.summary()
                );
            } else {
                log::debug!(
                    target: "magicbell_jwt",
                    "{method} {path_and_query}: {} on attempt {attempts}; retrying in {wait:?}",
                    error.summary()
                );
                failures += 1;
            }
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            attempts += 1;
        }
    }

    /// Holds the request back until the client's rate limit lets it go (a
    /// pause any clone met, a used-up window, the paced rate), and returns
    /// when it went, on the throttle's clock, with what the server had last
    /// said was left. Waits add to `waited`; once that reaches
    /// `max_rate_limit_wait` the request goes anyway, and the server has the
    /// last word.
    fn wait_for_turn(&self, method: &Method, path_and_query: &str, waited: &mut Duration) -> Sent {
        let throttle = &self.inner.throttle;
        let budget = self.inner.retry.max_rate_limit_wait;
        loop {
            let now = throttle.now();
            let mut pacer = throttle.lock();
            let asked = pacer.reserve(now);
            let Some(wait) = turn_wait(asked, budget, *waited) else {
                if asked.is_some() {
                    pacer.take(now);
                }
                return Sent {
                    at: now,
                    seen: pacer.seen(),
                };
            };
            pacer.waits(now, wait);
            drop(pacer);
            log::debug!(
                target: "magicbell_jwt",
                "{method} {path_and_query}: waiting {wait:?} for the rate limit this client met"
            );
            std::thread::sleep(wait);
            *waited += wait;
        }
    }

    /// Tells the throttle what an answer to a request that went as `sent`
    /// said of the rate limit, and returns what a 429 asks for when the
    /// client waits it out (so the call may go on), or `None`. A client that
    /// takes no part in rate limits (`sent` is `None`) waits none out; its
    /// 429s are still counted.
    fn learn(
        &self,
        sent: Option<Sent>,
        result: &Answered,
        quota: Option<Quota>,
        resends: u32,
    ) -> Option<Asked> {
        let retry = &self.inner.retry;
        let (status, retry_after) = match result {
            Ok(_) => (200, None),
            Err(Error::Api(e)) => (e.status, e.retry_after),
            Err(_) => (0, None),
        };
        let Some(sent) = sent else {
            if status == 429 {
                self.inner.throttle.lock().count_refusal();
            }
            return None;
        };
        let asked = (status == 429)
            .then(|| retry.asked_by_429(retry_after, quota, resends, random()))
            .flatten();
        let signal = Signal {
            ok: result.is_ok(),
            waited_out: asked.is_some(),
            refused: status == 429,
            retry_after: asked.map(|a| a.wait),
            quota: retry.bounded(quota),
            seen: sent.seen,
        };
        let throttle = &self.inner.throttle;
        let now = throttle.now();
        let mut pacer = throttle.lock();
        pacer.answered(now, sent.at, signal);
        // A 503's `Retry-After` holds every clone back too; it is still a
        // failed attempt.
        if let Some(wait) = retry_after.filter(|&w| status == 503 && w <= retry.max_retry_after) {
            pacer.pause(now, wait);
        }
        asked
    }

    /// One HTTP exchange: the status and body of a 2xx answer, or an error;
    /// and what the answer's headers said of the rate limit.
    fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
    ) -> (Answered, Option<Quota>) {
        let mut quota = None;
        let result = self.exchange_into(method, url, body, &mut quota);
        (result, quota)
    }

    fn exchange_into(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        quota: &mut Option<Quota>,
    ) -> Result<(u16, Vec<u8>), Error> {
        let request = http::Request::builder()
            .method(method)
            .uri(url)
            .header(header::AUTHORIZATION, self.inner.authorization.clone());
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
                .map(|r| self.inner.agent.run(r)),
            None => request.body(()).map(|r| self.inner.agent.run(r)),
        };
        let mut response = request
            .map_err(|e| Error::invalid(format!("the request could not be built: {e}")))?
            .map_err(|e| self.transport(e))?;

        let status = response.status().as_u16();
        // Dates and Unix times the answer names are read on the server's clock.
        let date = response.headers().get(header::DATE);
        let now = answer_time(date.and_then(|v| v.to_str().ok()), SystemTime::now());
        *quota = quota_from_headers(response.headers(), now);
        if !(200..300).contains(&status) {
            let mut bytes = Vec::new();
            // Only the status matters once the answer is an error: a cut or
            // oversized body still leaves what was read for the excerpt.
            let _ = response
                .body_mut()
                .as_reader()
                .take(ERROR_BODY_LIMIT)
                .read_to_end(&mut bytes);
            return Err(Error::Api(Box::new(ApiError::from_answer(
                status,
                response.headers(),
                &bytes,
                self.bearer_token(),
                now,
            ))));
        }

        let limit = self.inner.max_response_bytes;
        let body = response.body_mut();
        if body.content_length().is_some_and(|n| n > limit) {
            return Err(Error::ResponseTooLarge { status, limit });
        }
        let mut bytes = Vec::with_capacity(body.content_length().unwrap_or(0).min(limit) as usize);
        body.with_config()
            .limit(limit)
            .reader()
            .read_to_end(&mut bytes)
            .map_err(|e| match ureq::Error::from(e) {
                ureq::Error::BodyExceedsLimit(limit) => Error::ResponseTooLarge { status, limit },
                other => {
                    let mut error = self.transport(other);
                    if let Error::Transport(e) = &mut error {
                        e.answered = Some(status);
                    }
                    error
                }
            })?;
        Ok((status, bytes))
    }

    fn transport(&self, source: ureq::Error) -> Error {
        Error::Transport(Box::new(TransportError {
            source,
            attempts: 1,
            endpoint: self.inner.endpoint.clone(),
            creates: false,
            answered: None,
            processed_before: false,
        }))
    }

    /// The bearer token, to blank out of anything an answer brings back.
    fn bearer_token(&self) -> &str {
        let header = self.inner.authorization.to_str().unwrap_or_default();
        header.strip_prefix("Bearer ").unwrap_or(header)
    }
}

/// When a request went, on the throttle's clock, and what the server had
/// last said was left in its window then.
#[derive(Debug, Clone, Copy)]
struct Sent {
    at: Duration,
    seen: Option<u32>,
}

/// What one call spent on the rate limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct RateLimitSpent {
    /// Time held back by the throttle.
    pub(crate) waited: Duration,
    /// Sends after 429s.
    pub(crate) resends: u32,
    /// Sends after 429s that asked for no wait.
    pub(crate) unwaited: u32,
}

/// What a 429 asks of the client that waits it out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Asked {
    /// How long every request of the client pauses.
    pub(crate) wait: Duration,
    /// Whether the server named it (`Retry-After`, or a reset in its
    /// rate-limit headers) rather than the client backing off.
    pub(crate) named: bool,
}

/// How long a request the throttle holds back for `asked` sleeps before it
/// asks again, having waited `waited` of its `budget`: `None` to go now
/// (the throttle let it, or its budget is spent).
fn turn_wait(asked: Option<Duration>, budget: Duration, waited: Duration) -> Option<Duration> {
    let asked = asked?;
    // Never past the budget, whatever a header said of its reset.
    (waited < budget).then(|| asked.min(budget - waited))
}

/// A random number from std alone: a fresh `RandomState`'s hash.
fn random() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

impl RetryPolicy {
    /// How long to wait before sending again after `error` on attempt
    /// `attempts`, or `None` when the error is final. A create is never sent
    /// again once any attempt may have been processed. A 429 comes here
    /// only from a client that takes no part in rate limits. The rule's
    /// public statement is on [`ClientBuilder::max_retries`](crate::ClientBuilder::max_retries).
    pub(crate) fn wait_before_retry(
        &self,
        error: &Error,
        effect: Effect,
        attempts: u32,
    ) -> Option<Duration> {
        if attempts > self.max_retries {
            return None;
        }
        let asked = match error {
            Error::Api(e) if matches!(e.status, 408 | 429 | 500 | 502 | 503 | 504) => e.retry_after,
            Error::Transport(e) if e.is_transient() => None,
            _ => return None,
        };
        // Sending a create again after the server may have processed any
        // attempt of it could mint a second live token that nobody holds.
        // `error` speaks for every attempt so far (see `Error::finish`).
        if effect == Effect::Creates && error.may_have_been_processed() {
            return None;
        }
        match asked {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(attempts, random())),
        }
    }

    /// What a 429 with this `Retry-After` and these rate-limit headers asks
    /// for, after `resends` sends of this call after 429s: its `Retry-After`,
    /// else its headers' reset (bounded by `max_retry_after`), else a backoff
    /// from `retry_delay`; `None` when its `Retry-After` is past
    /// `max_retry_after`, which is not waited out.
    pub(crate) fn asked_by_429(
        &self,
        retry_after: Option<Duration>,
        quota: Option<Quota>,
        resends: u32,
        random: u64,
    ) -> Option<Asked> {
        let named = |wait| Asked { wait, named: true };
        match (retry_after, self.bounded(quota)) {
            (Some(wait), _) if wait > self.max_retry_after => None,
            (Some(wait), _) => Some(named(wait)),
            (None, Some(quota)) => Some(named(quota.reset)),
            (None, None) => Some(Asked {
                wait: self.backoff(resends.saturating_add(1), random),
                named: false,
            }),
        }
    }

    /// Whether a call that met a 429 asking `asked` sends again, having
    /// `spent` so much on the rate limit (a send again is counted there):
    /// while a named wait fits in what is left of `max_rate_limit_wait` (or,
    /// unnamed, while any is left); after 429s asking for no wait, at most
    /// [`MAX_RATE_LIMITED_RESENDS`] times.
    pub(crate) fn resend_after_429(&self, asked: Asked, spent: &mut RateLimitSpent) -> bool {
        let fits = if asked.named {
            spent.waited.saturating_add(asked.wait) < self.max_rate_limit_wait
        } else {
            spent.waited < self.max_rate_limit_wait
        };
        let no_wait = asked.wait.is_zero();
        let resend = fits && !(no_wait && spent.unwaited >= MAX_RATE_LIMITED_RESENDS);
        if resend {
            spent.resends += 1;
            spent.unwaited += u32::from(no_wait);
        }
        resend
    }

    /// Rate-limit headers with their reset bounded like a `Retry-After`.
    fn bounded(&self, quota: Option<Quota>) -> Option<Quota> {
        quota.map(|q| Quota {
            reset: q.reset.min(self.max_retry_after),
            ..q
        })
    }

    /// Exponential from `base_delay`, capped, minus up to half at random
    /// (from `random`) so that clients failing together do not retry
    /// together.
    fn backoff(&self, attempts: u32, random: u64) -> Duration {
        let full = self
            .base_delay
            .saturating_mul(1 << (attempts - 1).min(20))
            .min(self.max_delay);
        full / 2 + (full / 2).mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
    }
}

fn decode<T: DeserializeOwned>(status: u16, bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Decode {
            status,
            message: "the body is empty".to_owned(),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        status,
        message: redact::json_error(&e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::api;
    use crate::settings::policy;
    use crate::transport_error::transport;
    use std::collections::HashSet;
    use std::io::{Error as IoError, ErrorKind};
    use std::time::Instant;

    #[test]
    fn a_create_is_retried_only_where_the_server_surely_did_not_act() {
        let p = policy();
        let refused = || {
            Error::Transport(Box::new(transport(ureq::Error::Io(IoError::from(
                ErrorKind::ConnectionRefused,
            )))))
        };
        let cut = || {
            Error::Transport(Box::new(transport(ureq::Error::Io(IoError::from(
                ErrorKind::UnexpectedEof,
            )))))
        };
        let retried = |e: &Error, effect| p.wait_before_retry(e, effect, 1).is_some();
        for effect in [Effect::Creates, Effect::Repeatable] {
            assert!(retried(&refused(), effect));
            assert!(retried(&api(429, None), effect));
            assert!(retried(&api(408, None), effect));
            assert!(!retried(&api(422, None), effect));
            assert!(!retried(&api(404, None), effect));
        }
        // Not a transient failure: a malformed request is never sent again.
        let malformed = Error::Transport(Box::new(transport(ureq::Error::BadUri("x".into()))));
        assert!(!retried(&malformed, Effect::Repeatable));
        assert!(!retried(&cut(), Effect::Creates));
        assert!(retried(&cut(), Effect::Repeatable));
        assert!(!retried(&api(503, None), Effect::Creates));
        assert!(retried(&api(503, None), Effect::Repeatable));
        assert!(!retried(&api(501, None), Effect::Repeatable));
    }

    #[test]
    fn a_create_is_not_sent_again_after_any_attempt_that_may_have_been_processed() {
        let p = policy();
        // Attempt 2 met a 429 (not acted on) or a refused connection (not
        // sent), but attempt 1 may have been processed.
        let refused = Error::Transport(Box::new(transport(ureq::Error::Io(IoError::from(
            ErrorKind::ConnectionRefused,
        )))));
        for last in [api(429, None), refused] {
            let error = last.finish(2, Effect::Creates, true);
            assert!(error.may_have_been_processed());
            assert_eq!(p.wait_before_retry(&error, Effect::Creates, 2), None);
            assert!(p.wait_before_retry(&error, Effect::Repeatable, 2).is_some());
            // The same error with nothing processed before is retried.
            let error = match error {
                Error::Api(mut e) => {
                    e.processed_before = false;
                    Error::Api(e)
                }
                Error::Transport(mut e) => {
                    e.processed_before = false;
                    Error::Transport(e)
                }
                other => other,
            };
            assert!(p.wait_before_retry(&error, Effect::Creates, 2).is_some());
        }
    }

    #[test]
    fn retries_stop_after_max_retries_and_past_max_retry_after() {
        let p = policy();
        assert!(p
            .wait_before_retry(&api(503, None), Effect::Repeatable, 2)
            .is_some());
        assert_eq!(
            p.wait_before_retry(&api(503, None), Effect::Repeatable, 3),
            None
        );
        assert_eq!(
            p.wait_before_retry(&api(429, Some(7)), Effect::Creates, 1),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            p.wait_before_retry(&api(429, Some(60)), Effect::Creates, 1),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            p.wait_before_retry(&api(429, Some(61)), Effect::Creates, 1),
            None
        );
    }

    #[test]
    fn a_pause_is_waited_out_to_its_end_and_counted_as_held() {
        let client = Client::builder("t")
            .base_url("http://127.0.0.1:9/v2")
            .no_proxy()
            .build()
            .unwrap();
        let throttle = &client.inner.throttle;
        let until = throttle.now() + Duration::from_millis(200);
        throttle
            .lock()
            .pause(throttle.now(), Duration::from_millis(200));
        assert!(client.rate_limit_stats().held_for.is_some());

        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = client.clone();
        std::thread::spawn(move || {
            let mut waited = Duration::ZERO;
            let sent_at = waiter
                .wait_for_turn(&Method::GET, "/jwt/project", &mut waited)
                .at;
            tx.send((sent_at, waited))
        });
        let (sent_at, waited) = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("still waiting 20 s after a pause of 200 ms");

        // However late the waiter started, it went no sooner than the
        // pause's end, and what it waited is what is counted as held.
        assert!(sent_at >= until, "{sent_at:?} < {until:?}");
        assert!(
            waited > Duration::ZERO && waited <= Duration::from_millis(200),
            "{waited:?}"
        );
        let stats = client.rate_limit_stats();
        assert_eq!(stats.held_for, None);
        assert_eq!(stats.held, waited, "{stats:?}");
        assert_eq!(stats.throttled, 0);
    }

    #[test]
    fn a_request_that_has_waited_its_budget_goes_anyway() {
        let client = Client::builder("t")
            .base_url("http://127.0.0.1:9/v2")
            .no_proxy()
            .max_rate_limit_wait(Duration::ZERO)
            .build()
            .unwrap();
        let throttle = &client.inner.throttle;
        throttle
            .lock()
            .pause(throttle.now(), Duration::from_secs(3600));
        let mut waited = Duration::ZERO;
        let started = Instant::now();

        client.wait_for_turn(&Method::GET, "/jwt/project", &mut waited);

        assert_eq!(waited, Duration::ZERO);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_with_at_most_half_taken_off() {
        let p = policy();
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (40, 8)] {
            let full = Duration::from_secs(full);
            for _ in 0..50 {
                let wait = p.backoff(attempt, random());
                assert!(
                    wait >= full / 2 && wait <= full,
                    "attempt {attempt}: {wait:?}"
                );
            }
        }
        // The jitter takes from nothing to half of the wait off.
        assert_eq!(p.backoff(3, 0), Duration::from_secs(2));
        let most = p.backoff(3, u64::MAX);
        assert!(most > Duration::from_millis(3999) && most <= Duration::from_secs(4));
        // The jitter varies: 50 draws are not all the same.
        let draws: HashSet<Duration> = (0..50).map(|_| p.backoff(3, random())).collect();
        assert!(draws.len() > 1);
    }

    fn named(secs: u64) -> Asked {
        Asked {
            wait: Duration::from_secs(secs),
            named: true,
        }
    }

    #[test]
    fn a_429_asks_for_its_retry_after_else_its_headers_reset_bounded_else_a_backoff() {
        let p = policy();
        let quota = |reset| Quota {
            limit: None,
            remaining: None,
            reset: Duration::from_secs(reset),
        };
        let secs = Duration::from_secs;
        assert_eq!(
            p.asked_by_429(Some(secs(7)), Some(quota(30)), 0, 0),
            Some(named(7))
        );
        assert_eq!(p.asked_by_429(Some(secs(60)), None, 0, 0), Some(named(60)));
        // A Retry-After past max_retry_after is not waited out.
        assert_eq!(p.asked_by_429(Some(secs(61)), Some(quota(1)), 0, 0), None);
        assert_eq!(p.asked_by_429(None, Some(quota(30)), 0, 0), Some(named(30)));
        // A header's reset counts as at most max_retry_after (60 s).
        assert_eq!(
            p.asked_by_429(None, Some(quota(3600)), 0, 0),
            Some(named(60))
        );
        assert_eq!(
            p.bounded(Some(quota(u64::MAX))),
            Some(quota(60)),
            "the reset handed to the throttle is bounded too"
        );
        // Nothing named: a backoff doubling from the retry delay (1 s),
        // by the sends after 429s so far; half of it with no jitter.
        for (resends, full) in [(0, 1), (1, 2), (2, 4), (3, 8), (9, 8)] {
            let asked = p.asked_by_429(None, None, resends, 0);
            let want = Asked {
                wait: Duration::from_secs(full) / 2,
                named: false,
            };
            assert_eq!(asked, Some(want), "{resends}");
        }
    }

    #[test]
    fn a_429_is_sent_again_while_its_wait_fits_in_the_budget_and_100_times_at_most() {
        let p = policy(); // a budget of 120 s
        let spent = |secs, resends| RateLimitSpent {
            waited: Duration::from_secs(secs),
            resends,
            unwaited: 0,
        };
        let mut at_59 = spent(59, 0);
        assert!(p.resend_after_429(named(60), &mut at_59));
        assert_eq!(at_59, spent(59, 1), "a send again is counted");
        let mut at_60 = spent(60, 0);
        assert!(!p.resend_after_429(named(60), &mut at_60));
        assert_eq!(at_60, spent(60, 0), "no send, nothing counted");
        // Unnamed, a backoff goes while any budget is left.
        let unnamed = Asked {
            wait: Duration::from_secs(60),
            named: false,
        };
        assert!(p.resend_after_429(unnamed, &mut spent(119, 0)));
        assert!(!p.resend_after_429(unnamed, &mut spent(120, 0)));
        // A server that asks for no wait, again and again: 100 sends more.
        let mut spent = RateLimitSpent::default();
        let sends = (0..1000)
            .take_while(|_| p.resend_after_429(named(0), &mut spent))
            .count();
        assert_eq!(sends, 100);
        assert_eq!(spent.resends, 100);
        assert_eq!(spent.unwaited, 100);
    }

    #[test]
    fn only_429s_asking_for_no_wait_count_toward_the_cap_of_100_sends() {
        // An hour's budget, `Retry-After: 1` 150 times: each waited out
        // (as the throttle counts it) and sent again.
        let p = RetryPolicy {
            max_rate_limit_wait: Duration::from_secs(3600),
            ..policy()
        };
        let mut spent = RateLimitSpent::default();
        for i in 0..150 {
            assert!(p.resend_after_429(named(1), &mut spent), "{i}");
            spent.waited += Duration::from_secs(1);
        }
        assert_eq!(spent.resends, 150);
        assert_eq!(spent.unwaited, 0);
        // Then no wait, again and again: 100 sends more, whatever came before.
        let sends = (0..1000)
            .take_while(|_| p.resend_after_429(named(0), &mut spent))
            .count();
        assert_eq!(sends, 100);
        assert_eq!((spent.resends, spent.unwaited), (250, 100));
        // A 429 asking for a wait still goes after the cap.
        assert!(p.resend_after_429(named(1), &mut spent));
    }

    #[test]
    fn a_held_request_sleeps_for_its_wait_never_past_its_budget() {
        let secs = Duration::from_secs;
        assert_eq!(turn_wait(None, secs(10), secs(0)), None);
        assert_eq!(turn_wait(Some(secs(2)), secs(10), secs(3)), Some(secs(2)));
        assert_eq!(turn_wait(Some(secs(9)), secs(10), secs(3)), Some(secs(7)));
        assert_eq!(turn_wait(Some(secs(9)), secs(10), secs(10)), None);
        assert_eq!(
            turn_wait(Some(secs(9)), Duration::ZERO, Duration::ZERO),
            None
        );
    }

    #[test]
    fn a_retry_after_of_no_wait_is_sent_again_at_once_whatever_the_backoff() {
        // A past HTTP date reads as a wait of 0 (src/time.rs); with a
        // backoff of an hour, only that 0 is sent again at once.
        let p = RetryPolicy {
            base_delay: Duration::from_secs(3600),
            max_delay: Duration::from_secs(3600),
            ..policy()
        };
        let past = api(503, Some(0));
        assert_eq!(
            p.wait_before_retry(&past, Effect::Repeatable, 1),
            Some(Duration::ZERO)
        );
        assert!(
            p.wait_before_retry(&api(503, None), Effect::Repeatable, 1)
                >= Some(Duration::from_secs(1800))
        );
    }
}
