//! The send path: one exchange, bounded body reads, decoding, and the retry policy.

use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use ureq::http::{self, header, Method};

use crate::reach::Effect;
use crate::redact;
use crate::time::millis;
use crate::{ApiError, Client, Error, TransportError};

// An error answer is read only this far: enough for MagicBell's JSON, and a
// bounded excerpt of a proxy's HTML page.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) max_retry_after: Duration,
}

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
        let mut attempts = 1;
        let mut reconnected = false;
        // Whether an attempt so far may have been processed: each error
        // speaks for every attempt before it.
        let mut processed = false;
        loop {
            self.wait_out_pause(&method, path_and_query);
            let error = match self.exchange(method.clone(), &url, body.as_deref()) {
                Ok((status, bytes)) => return decode(status, &bytes),
                Err(e) => e.finish(attempts, effect, processed),
            };
            processed = error.may_have_been_processed();
            self.pause_if_asked(&error);
            let Some(mut wait) = self.inner.retry.wait_before_retry(&error, effect, attempts)
            else {
                if matches!(error, Error::Api(_) | Error::Transport(_)) {
                    log::debug!(
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
            log::debug!(
                "{method} {path_and_query}: {} on attempt {attempts}; retrying in {wait:?}",
                error.summary()
            );
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            attempts += 1;
        }
    }

    /// Holds back while a `Retry-After` that any clone met is running.
    fn wait_out_pause(&self, method: &Method, path_and_query: &str) {
        // Read again after each sleep: another thread's 429 may have moved
        // the end further out meanwhile.
        loop {
            let until = self.inner.paused_until.load(Ordering::Relaxed);
            if until == 0 {
                return;
            }
            // Rounded up, like `until`: the call that met the Retry-After and
            // slept it out does not wait again for a fraction of a millisecond.
            let now = millis(self.inner.started.elapsed()).saturating_add(1);
            if until <= now {
                // Over: back to the path that reads one atomic and no clock.
                let _ = self.inner.paused_until.compare_exchange(
                    until,
                    0,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                return;
            }
            let wait = Duration::from_millis(until - now);
            log::debug!(
                "{method} {path_and_query}: waiting {wait:?} for a Retry-After this client met"
            );
            std::thread::sleep(wait);
        }
    }

    /// Remembers a `Retry-After` of a 429 or 503 that the client waits out
    /// (it retries, and the wait is at most `max_retry_after`), so every
    /// request through it holds back until it ends.
    fn pause_if_asked(&self, error: &Error) {
        let Error::Api(e) = error else { return };
        let Some(wait) = e.retry_after.filter(|w| !w.is_zero()) else {
            return;
        };
        let retry = &self.inner.retry;
        if matches!(e.status, 429 | 503) && retry.max_retries > 0 && wait <= retry.max_retry_after {
            let now = self.inner.started.elapsed();
            // Rounded up, and so never 0, which means "no pause".
            let until = millis(now.saturating_add(wait)).saturating_add(1);
            self.inner.paused_until.fetch_max(until, Ordering::Relaxed);
        }
    }

    /// One HTTP exchange: the status and body of a 2xx answer, or an error.
    fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
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

impl RetryPolicy {
    /// How long to wait before sending again after `error` on attempt
    /// `attempts`, or `None` when the error is final. A create is never sent
    /// again once any attempt may have been processed.
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
            None => Some(self.backoff(attempts)),
        }
    }

    /// Exponential from `base_delay`, capped, minus up to half at random so
    /// that clients failing together do not retry together.
    fn backoff(&self, attempts: u32) -> Duration {
        let full = self
            .base_delay
            .saturating_mul(1 << (attempts - 1).min(20))
            .min(self.max_delay);
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
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
    use crate::testing::{api, policy, transport};
    use std::collections::HashSet;
    use std::io::{Error as IoError, ErrorKind};
    use std::sync::Arc;
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
    fn a_pause_is_waited_out_to_its_end_however_old_the_client_is() {
        let mut client = Client::builder("t")
            .base_url("http://127.0.0.1:9/v2")
            .no_proxy()
            .build()
            .unwrap();
        // A client two minutes old: a wait reckoned from its start rather
        // than to the pause's end would run for minutes.
        Arc::get_mut(&mut client.inner).unwrap().started = Instant::now()
            .checked_sub(Duration::from_secs(120))
            .expect("the monotonic clock has run for two minutes");
        let until = millis(client.inner.started.elapsed()) + 200;
        client.inner.paused_until.store(until, Ordering::Relaxed);

        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = client.clone();
        std::thread::spawn(move || {
            waiter.wait_out_pause(&Method::GET, "/jwt/project");
            tx.send(millis(waiter.inner.started.elapsed()) + 1)
        });
        let returned_at = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("still waiting 20 s after a pause of 200 ms");

        assert!(returned_at >= until, "{returned_at} < {until}");
        assert_eq!(client.inner.paused_until.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_with_at_most_half_taken_off() {
        let p = policy();
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (40, 8)] {
            let full = Duration::from_secs(full);
            for _ in 0..50 {
                let wait = p.backoff(attempt);
                assert!(
                    wait >= full / 2 && wait <= full,
                    "attempt {attempt}: {wait:?}"
                );
            }
        }
        // The jitter varies: 50 draws are not all the same.
        let draws: HashSet<Duration> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(draws.len() > 1);
    }
}
