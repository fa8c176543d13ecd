//! Rate limits: when a request may go, decided from the 429s and rate-limit headers the client has seen.
//!
//! One [`Throttle`] per client (clones share it). It holds a [`Pacer`], a pure
//! state machine of times measured from the client's start, so every rule
//! here is tested without a clock:
//!
//! - **A `Retry-After` pauses the client**: nothing goes before it ends.
//! - **A send rate, AIMD**: the first 429 sets a rate, and a ceiling, from
//!   the successes the server allowed in the window it ended (the count over
//!   the `Retry-After`); each later 429 of a request sent at the current
//!   rate cuts it to 70 % and puts the ceiling just below the rate it came
//!   at. If the client, slower, met 429s just the same and got less through
//!   (successes a second from one 429 to the next over the client's busy
//!   time, pauses waited out included, of a run begun at a pause, within a
//!   minute of the last 429, with a success), the server refuses a share whatever the pace: the cut is
//!   undone, and until 8 more 429s have come requests go unspaced, paced by
//!   the `Retry-After`s alone, before the pacer tries slower again;
//!   every `rate` successes (about a second of traffic) take the rate half the
//!   way back to the ceiling (a binary search, as BIC TCP does), never past
//!   it, since probing above costs a 429 and a whole `Retry-After`. A calm
//!   minute raises the ceiling by a quarter. Requests go out one slot of
//!   `1 / rate` apart, so the requests a pause held back leave spread over
//!   the window, not at once.
//! - **Rate-limit headers** (`RateLimit-Remaining`/`-Reset`, the
//!   `X-RateLimit-` forms, or the structured `RateLimit` field; read in
//!   `quota.rs`, counted down in `window.rs`) hold requests back before the
//!   server refuses them: when the window's remaining count, less the
//!   requests in flight, is used up, requests wait for its reset.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) mod quota;
mod window;

use quota::Quota;
use window::Window;

/// The cut a 429 makes to the send rate (AIMD's multiplicative decrease).
const BETA: f64 = 0.7;
/// The slowest the pacer goes: one request a minute.
const MIN_RATE: f64 = 1.0 / 60.0;
/// How long without a 429 before the pacer looks for a higher limit.
const CALM: Duration = Duration::from_secs(60);
/// The fastest the ceiling rises to, in requests a second: finite, so a
/// later 429 cuts from a rate the client really sent at.
const MAX_RATE: f64 = 100_000.0;
/// How much higher it then looks.
const CALM_RAISE: f64 = 1.25;
/// Where a 429 at a rate puts the ceiling: just below that rate.
const CEILING_CUT: f64 = 0.95;
/// The wait after a 429 that names none, and the window assumed with it.
const DEFAULT_WINDOW: Duration = Duration::from_secs(1);
/// Below this share of the successes a second it got before a cut, a
/// client that still meets 429s takes the cut to have lost them.
const SHARE_LOSS: f64 = 0.9;
/// The 429s a pacer that found the server refusing a share lets by
/// before it tries a slower pace again.
const SHARE_HOLDS: u32 = 8;
/// Buckets of successes remembered to estimate the rate a server allows:
/// at least 10 seconds of them, however fast they come.
const MAX_RECENT: usize = 1024;
/// How close together successes share a bucket.
const RECENT_BUCKET: Duration = Duration::from_millis(10);

/// What one answer said about the server's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Signal {
    /// The answer was a 429 the client waits out.
    pub waited_out: bool,
    /// The answer was a 429, waited out or not: counted in the stats.
    pub refused: bool,
    /// The answer was a 2xx.
    pub ok: bool,
    /// Its `Retry-After`.
    pub retry_after: Option<Duration>,
    /// Its rate-limit headers, if it had any.
    pub quota: Option<Quota>,
    /// What the server had last said was left when the request went
    /// ([`Pacer::seen`]).
    pub seen: Option<u32>,
}

/// The pure rate-limit state of a client; every time is measured from the client's start.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    /// Requests a second, once a 429 was met; `None`: no pacing.
    rate: Option<f64>,
    /// The earliest time the next paced request may go.
    next_slot: Duration,
    /// Until when a `Retry-After` holds every request back.
    paused_until: Duration,
    /// When a 429 last set, cut or kept the rate: a 429 of a request sent
    /// before then was sent at the old rate and does not count again.
    last_cut: Option<Duration>,
    /// When the last 429 waited out came, or the ceiling was last raised.
    last_refusal: Duration,
    /// Successes since the rate last grew.
    ok_at_rate: u32,
    /// The rate at which the last 429 came, which growth approaches slowly.
    ceiling: Option<f64>,
    /// When the first 429 set the rate, and the window it counted over.
    first_estimate: Option<(Duration, Duration)>,
    /// When the current run began (the last 429 that set, cut or kept the
    /// rate came), the successes of the requests sent since, and the time
    /// since then the client was idle: nothing in flight, nobody waiting.
    run_start: Duration,
    run_ok: u32,
    run_idle: Duration,
    /// Until when the client is known busy: a request in flight, or one
    /// told to come back then.
    busy_until: Duration,
    /// The rate the client went at before the last cut, and the successes a
    /// second it got at it (over its busy time: a pause a request waited
    /// out counts, one nobody waited in is idle): whether slowing down
    /// helped.
    before_cut: Option<(f64, f64)>,
    /// The current run began at a 429's pause: its successes a second can be
    /// set beside the last run's.
    run_paused: bool,
    /// A cut was seen to lose successes without stopping the 429s (the
    /// server refuses a share whatever the pace): the 429s still to come
    /// before the pacer spaces requests and tries slower again.
    holds: u32,
    /// How many successes were answered when, in buckets of
    /// [`RECENT_BUCKET`] from their first: for the first estimate.
    recent: VecDeque<(Duration, u32)>,
    window: Option<Window>,
    in_flight: u32,
    /// 429s met, for [`RateLimitStats`].
    refusals: u64,
    /// Time requests waited, held back by a pause or a used-up window,
    /// counted once however many requests waited.
    held: Duration,
    /// The end of the time already counted in `held`.
    held_through: Duration,
}

impl Pacer {
    /// When a request asked for at `now` may go: `None` to go now (its slot is
    /// taken), or how long to wait before asking again.
    pub(crate) fn reserve(&mut self, now: Duration) -> Option<Duration> {
        self.active(now);
        let wait = self.turn(now);
        if let Some(wait) = wait {
            self.busy_until = self.busy_until.max(now.saturating_add(wait));
        }
        wait
    }

    /// A request asks at `now`: time since the client was last busy, with
    /// nothing in flight, was idle, and says nothing of what the server
    /// allows.
    fn active(&mut self, now: Duration) {
        if self.in_flight == 0 {
            self.run_idle = self
                .run_idle
                .saturating_add(now.saturating_sub(self.busy_until));
        }
        self.busy_until = self.busy_until.max(now);
    }

    /// [`reserve`](Pacer::reserve)'s decision.
    fn turn(&mut self, now: Duration) -> Option<Duration> {
        if self.paused_until > now {
            return Some(self.paused_until - now);
        }
        if let Some(window) = &mut self.window {
            if window.reset_at <= now {
                match window.allowance {
                    // A new window of the length the server described.
                    Some(allowance) => {
                        // The first reset after `now`, in whole windows from
                        // the last one: computed, not stepped, after a long
                        // idle spell.
                        let length = window.length.max(Duration::from_millis(1));
                        let behind = now.saturating_sub(window.reset_at).as_nanos();
                        let windows =
                            u32::try_from(behind / length.as_nanos() + 1).unwrap_or(u32::MAX);
                        let reset_at = window
                            .reset_at
                            .saturating_add(length.saturating_mul(windows));
                        *window = Window {
                            remaining: allowance,
                            last_seen: allowance,
                            reset_at,
                            ..*window
                        };
                    }
                    None => self.window = None,
                }
            }
        }
        if let Some(window) = &mut self.window {
            if window.remaining == 0 {
                return Some(window.reset_at - now);
            }
        }
        if let Some(rate) = self.pace() {
            if self.next_slot > now {
                return Some(self.next_slot - now);
            }
            self.next_slot = now + Duration::from_secs_f64(1.0 / rate);
        }
        if let Some(window) = &mut self.window {
            window.remaining -= 1;
        }
        self.in_flight += 1;
        None
    }

    /// Learns from the answer, at `now`, to a request that went at `sent_at`.
    pub(crate) fn answered(&mut self, now: Duration, sent_at: Duration, signal: Signal) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.busy_until = self.busy_until.max(now);
        if let Some(quota) = signal.quota {
            self.learn_window(now, sent_at, signal.seen, quota);
        }
        if signal.refused {
            self.refusals += 1;
        }
        if signal.waited_out {
            self.slow_down(now, sent_at, signal);
        } else if signal.ok {
            self.succeeded(now, sent_at);
        }
    }

    /// Counts a 429 met by a client that takes no part in rate limits.
    pub(crate) fn count_refusal(&mut self) {
        self.refusals += 1;
    }

    /// Holds every request back until `now + wait` (a `Retry-After`).
    pub(crate) fn pause(&mut self, now: Duration, wait: Duration) {
        self.paused_until = self.paused_until.max(now.saturating_add(wait));
    }

    /// A request held back at `now` sleeps for `wait`: the part of it the
    /// rate limit holds it back (a pause, a used-up window; not the pacing)
    /// counts as held, once however many requests wait together.
    pub(crate) fn waits(&mut self, now: Duration, wait: Duration) {
        let Some(until) = self.held_until(now) else {
            return;
        };
        let end = until.min(now.saturating_add(wait));
        let from = now.max(self.held_through);
        self.held = self.held.saturating_add(end.saturating_sub(from));
        self.held_through = self.held_through.max(end);
    }

    /// Takes a slot whatever the limits say: a request that has waited as
    /// long as it may goes, and the server has the last word.
    pub(crate) fn take(&mut self, now: Duration) {
        self.active(now);
        if let Some(rate) = self.pace() {
            self.next_slot = self.next_slot.max(now) + Duration::from_secs_f64(1.0 / rate);
        }
        if let Some(window) = &mut self.window {
            window.remaining = window.remaining.saturating_sub(1);
        }
        self.in_flight += 1;
    }

    /// The rate requests are spaced at, if any: none while a server that
    /// refuses a share is followed, whose `Retry-After`s then pace.
    fn pace(&self) -> Option<f64> {
        self.rate.filter(|_| self.holds == 0)
    }

    /// What the server last said was left in its window, to hand back with
    /// the answer to a request sent now.
    pub(crate) fn seen(&self) -> Option<u32> {
        self.window.map(|w| w.last_seen)
    }

    /// What the client met, as [`Client::rate_limit_stats`](crate::Client::rate_limit_stats) tells it.
    pub(crate) fn stats(&self, now: Duration) -> RateLimitStats {
        RateLimitStats {
            throttled: self.refusals,
            held: self.held,
            held_for: self.held_until(now).map(|until| until - now),
        }
    }

    /// Requests a second the pacer allows now, if it paces.
    #[cfg(test)]
    pub(crate) fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Until when requests are held back by a `Retry-After` or a used-up window.
    pub(crate) fn held_until(&self, now: Duration) -> Option<Duration> {
        let window = self
            .window
            .filter(|w| w.remaining == 0 && w.reset_at > now)
            .map(|w| w.reset_at);
        let pause = Some(self.paused_until).filter(|&p| p > now);
        pause.max(window)
    }

    /// A 429 the client waits out: every request pauses, and the send rate
    /// is set or cut.
    fn slow_down(&mut self, now: Duration, sent_at: Duration, signal: Signal) {
        let fresh = now.saturating_sub(self.last_refusal) < CALM;
        let wait = signal
            .retry_after
            .or(signal.quota.map(|q| q.reset))
            .unwrap_or(DEFAULT_WINDOW);
        self.pause(now, wait);
        self.last_refusal = now;
        if let Some(window) = &mut self.window {
            // The server refused: nothing is left of this window.
            window.remaining = 0;
        }
        let at_this_rate = self.last_cut.is_none_or(|cut| sent_at > cut);
        if !at_this_rate {
            return;
        }
        // What the server let through since the last cut: successes a
        // second, its pause included, the client's idle time not. A run
        // without a success, or of no time, says nothing of a pace.
        let span = now
            .saturating_sub(self.run_start)
            .saturating_sub(self.run_idle)
            .as_secs_f64();
        let ok = std::mem::take(&mut self.run_ok);
        let allowed = (ok > 0 && span > 0.0).then(|| f64::from(ok) / span);
        self.run_start = now;
        self.run_idle = Duration::ZERO;
        let comparable = std::mem::replace(&mut self.run_paused, true);
        let rate = match self.rate {
            Some(rate) => {
                self.first_estimate = None;
                // A run set beside the last: both begun at a pause, this
                // one within a minute of it.
                let before = self.before_cut.take().filter(|_| comparable && fresh);
                let lost = before
                    .zip(allowed)
                    .filter(|&((_, got), allowed)| allowed < got * SHARE_LOSS);
                if self.holds > 0 {
                    self.holds -= 1;
                    rate
                } else if let Some(((faster, _), _)) = lost {
                    // Slower, the client met 429s just the same and got
                    // less through: the server refuses a share whatever
                    // the pace, and its `Retry-After`s pace the client. The
                    // rate before the cut is where the next try starts.
                    self.holds = SHARE_HOLDS;
                    faster
                } else {
                    // Refused at `rate`: the limit is below it.
                    if comparable {
                        self.before_cut = allowed.map(|allowed| (rate, allowed));
                    }
                    self.ceiling = Some(rate * CEILING_CUT);
                    rate * BETA
                }
            }
            // What the server allowed over the last window, spread over it.
            None => {
                // At least one request a window: a 429 with no success
                // before it says nothing of the rate.
                let window = if wait.is_zero() { DEFAULT_WINDOW } else { wait };
                self.first_estimate = Some((now, window));
                self.recent_count(now, window).max(1.0) / window.as_secs_f64()
            }
        };
        self.rate = Some(rate.max(MIN_RATE));
        if self.first_estimate.is_some() {
            // The server's whole window, counted: the rate to hold.
            self.ceiling = self.rate;
        }
        self.last_cut = Some(now);
        self.ok_at_rate = 0;
        self.next_slot = self.next_slot.max(self.paused_until);
    }

    fn succeeded(&mut self, now: Duration, sent_at: Duration) {
        if sent_at >= self.run_start {
            self.run_ok = self.run_ok.saturating_add(1);
        }
        match self.recent.back_mut() {
            Some((at, count)) if now.saturating_sub(*at) < RECENT_BUCKET => *count += 1,
            _ => {
                if self.recent.len() == MAX_RECENT {
                    self.recent.pop_front();
                }
                self.recent.push_back((now, 1));
            }
        }
        let Some(rate) = self.rate else { return };
        if now.saturating_sub(self.last_refusal) >= CALM {
            // A calm minute at the ceiling: the limit may have been raised;
            // look higher. A client sending less than that learns nothing
            // of the limit, and keeps the ceiling where a 429 put it.
            let used = self.recent_count(now, DEFAULT_WINDOW);
            self.ceiling = self.ceiling.map(|c| {
                if used >= 0.9 * c {
                    (c * CALM_RAISE).min(MAX_RATE)
                } else {
                    c
                }
            });
            self.last_refusal = now;
            // A run without a pause is not set beside one with it, nor is
            // one a minute old.
            self.run_paused = false;
            self.before_cut = None;
            self.holds = 0;
        }
        match self.first_estimate {
            // Sent in the window the first 429 ended, and allowed in it: the
            // estimate counted the successes seen so far; this one counts too.
            Some((cut, window)) if sent_at < cut => {
                self.rate = Some(rate + 1.0 / window.as_secs_f64().max(0.001));
                self.ceiling = self.rate;
            }
            _ if self.last_cut.is_some_and(|cut| sent_at <= cut) => {}
            _ => {
                self.ok_at_rate += 1;
                if f64::from(self.ok_at_rate) >= rate {
                    self.rate = Some(rate + self.step(rate));
                    self.ok_at_rate = 0;
                }
            }
        }
    }

    /// How much a second of successes at `rate` adds to it: half the way
    /// back to the ceiling (a binary search for the server's limit, as BIC
    /// TCP does), and nothing past it: probing above costs a 429, and with
    /// it a whole `Retry-After`. The ceiling itself rises after a calm
    /// minute.
    fn step(&self, rate: f64) -> f64 {
        match self.ceiling {
            Some(ceiling) if rate < ceiling => {
                ((ceiling - rate) / 2.0).max(0.1).min(ceiling - rate)
            }
            Some(_) => 0.0,
            None => 1.0,
        }
    }

    /// Successes answered in the `span` before `now`. When the span reaches
    /// back past what is remembered, the count is the pace of what is
    /// remembered over the whole span.
    fn recent_count(&self, now: Duration, span: Duration) -> f64 {
        let since = now.saturating_sub(span);
        let counted: u32 = self
            .recent
            .iter()
            .rev()
            .take_while(|&&(at, _)| at >= since)
            .map(|&(_, count)| count)
            .sum();
        match self.recent.front() {
            Some(&(oldest, _)) if self.recent.len() == MAX_RECENT && oldest > since => {
                f64::from(counted) * span.as_secs_f64() / (now - oldest).as_secs_f64().max(1e-3)
            }
            _ => f64::from(counted),
        }
    }
}

/// What a client has met of the API's rate limit since it was built, for
/// its clones and threads together: from [`Client::rate_limit_stats`](crate::Client::rate_limit_stats).
///
/// ```no_run
/// # let client = magicbell_jwt::Client::new("token")?;
/// let ids = vec!["3f1c".to_owned(), "9a2e".to_owned()];
/// let before = client.rate_limit_stats();
/// let results = client.discard_project_jwts(&ids, 16);
/// let after = client.rate_limit_stats();
/// eprintln!(
///     "{} revoked; {} answers 429, {:?} held back by the rate limit",
///     results.iter().filter(|r| r.is_ok()).count(),
///     after.throttled - before.throttled,
///     after.held - before.held,
/// );
/// # Ok::<(), magicbell_jwt::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateLimitStats {
    /// Answers `429 Too Many Requests` met, waited out or not (by a client
    /// with `max_retries(0)` too, which waits none out).
    pub throttled: u64,
    /// How long requests waited, held back by the server's rate limit (a
    /// `Retry-After` waited out, or a window its rate-limit headers said was
    /// used up), counted once however many requests waited together: at
    /// most the wall time they spent. A pause nobody waited out is not
    /// counted, nor the spacing of a paced client's requests.
    pub held: Duration,
    /// How much longer requests are held back from now, if they are.
    pub held_for: Option<Duration>,
}

/// A client's rate-limit state, shared by its clones and threads: the
/// [`Pacer`] on the client's clock.
#[derive(Debug)]
pub(crate) struct Throttle {
    started: Instant,
    pacer: Mutex<Pacer>,
}

impl Throttle {
    pub(crate) fn new() -> Throttle {
        Throttle {
            started: Instant::now(),
            pacer: Mutex::new(Pacer::default()),
        }
    }

    /// Time since the client was built: the pacer's clock.
    pub(crate) fn now(&self) -> Duration {
        self.started.elapsed()
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Pacer> {
        // The pacer holds numbers only: one a panicking thread left half
        // updated is still a usable estimate.
        self.pacer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod simulation;

#[cfg(test)]
mod tests;
