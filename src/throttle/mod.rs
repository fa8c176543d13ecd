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
//!   (successes a second from one 429 to the next, pauses included), the
//!   server refuses a share whatever the pace: the cut is undone, and
//!   until 8 more 429s have come requests go unspaced, paced by the
//!   `Retry-After`s alone, before the pacer tries slower again;
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
    /// second (its pause included) it got at it: whether slowing down helped.
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
            self.run_idle += now.saturating_sub(self.busy_until);
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
        // second, its pause included, the client's idle time not.
        let span = now
            .saturating_sub(self.run_start)
            .saturating_sub(self.run_idle)
            .as_secs_f64();
        let ok = std::mem::take(&mut self.run_ok);
        let allowed = if span > 0.0 {
            f64::from(ok) / span
        } else {
            0.0
        };
        self.run_start = now;
        self.run_idle = Duration::ZERO;
        let comparable = std::mem::replace(&mut self.run_paused, true);
        let rate = match self.rate {
            Some(rate) => {
                self.first_estimate = None;
                // A run set beside the last: begun at a pause, within a
                // minute, with a success (one without says nothing of a pace).
                let before = self
                    .before_cut
                    .take()
                    .filter(|_| comparable && fresh && ok > 0);
                let lost = before.filter(|&(_, got)| allowed < got * SHARE_LOSS);
                if self.holds > 0 {
                    self.holds -= 1;
                    rate
                } else if let Some((faster, _)) = lost {
                    // Slower, the client met 429s just the same and got
                    // less through: the server refuses a share whatever
                    // the pace, and its `Retry-After`s pace the client. The
                    // rate before the cut is where the next try starts.
                    self.holds = SHARE_HOLDS;
                    faster
                } else {
                    // Refused at `rate`: the limit is below it.
                    if comparable {
                        self.before_cut = Some((rate, allowed));
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
mod tests {
    use super::*;

    pub(super) fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    pub(super) const OK: Signal = Signal {
        waited_out: false,
        refused: false,
        ok: true,
        retry_after: None,
        quota: None,
        seen: None,
    };

    fn too_many(retry_after: u64) -> Signal {
        Signal {
            waited_out: true,
            refused: true,
            ok: false,
            retry_after: Some(Duration::from_secs(retry_after)),
            quota: None,
            seen: None,
        }
    }

    /// A pacer whose client had `successes` answered, one a millisecond
    /// from 0, then a 429 asking for 1 s of a request sent `at`.
    fn refused_after(successes: u64, at: Duration) -> Pacer {
        let mut pacer = Pacer::default();
        for i in 0..successes {
            exchange(&mut pacer, ms(i), OK);
        }
        exchange(&mut pacer, at, too_many(1));
        pacer
    }

    /// Sends at `at` and answers at `at + 20 ms` with `signal`.
    fn exchange(pacer: &mut Pacer, at: Duration, signal: Signal) {
        assert_eq!(pacer.reserve(at), None, "held back at {at:?}");
        pacer.answered(at + ms(20), at, signal);
    }

    #[test]
    fn a_client_that_meets_no_429_never_waits() {
        let mut pacer = Pacer::default();
        for i in 0..1000 {
            assert_eq!(pacer.reserve(ms(i)), None);
        }
        for i in 0..1000 {
            pacer.answered(ms(1000 + i), ms(i), OK);
        }
        assert_eq!(pacer.rate(), None);
        assert_eq!(pacer.held_until(ms(2000)), None);
    }

    #[test]
    fn the_first_429_pauses_for_its_retry_after_and_paces_at_the_rate_the_server_allowed() {
        let mut pacer = Pacer::default();
        for i in 0..10 {
            exchange(&mut pacer, ms(i), OK);
        }
        assert_eq!(pacer.reserve(ms(10)), None);
        pacer.answered(ms(30), ms(10), too_many(1));
        // 10 successes in the last second, over a window of one second.
        assert_eq!(pacer.rate(), Some(10.0));
        assert_eq!(pacer.held_until(ms(30)), Some(ms(1030)));
        assert_eq!(pacer.reserve(ms(500)), Some(ms(530)));
        // When the pause ends, one request goes; the next 100 ms later.
        assert_eq!(pacer.reserve(ms(1030)), None);
        assert_eq!(pacer.reserve(ms(1030)), Some(ms(100)));
        assert_eq!(pacer.reserve(ms(1129)), Some(ms(1)));
        assert_eq!(pacer.reserve(ms(1130)), None);
    }

    #[test]
    fn successes_of_requests_sent_before_the_first_429_raise_the_first_estimate() {
        let mut pacer = Pacer::default();
        for i in 0..6 {
            assert_eq!(pacer.reserve(ms(i)), None);
        }
        pacer.answered(ms(20), ms(0), OK);
        pacer.answered(ms(21), ms(1), too_many(2));
        assert_eq!(pacer.rate(), Some(0.5)); // one success over two seconds
        pacer.answered(ms(22), ms(2), OK);
        pacer.answered(ms(23), ms(3), OK);
        assert_eq!(pacer.rate(), Some(1.5));
        // A request that went as the 429 came (anyway, past its budget) was
        // not in the window the 429 ended.
        pacer.answered(ms(23), ms(21), OK);
        assert_eq!(pacer.rate(), Some(1.5));
        // Another 429 of the same burst does not cut the rate again.
        pacer.answered(ms(24), ms(4), too_many(2));
        assert_eq!(pacer.rate(), Some(1.5));
    }

    #[test]
    fn a_429_of_a_request_sent_at_the_current_rate_cuts_it_to_70_percent() {
        let mut pacer = refused_after(10, ms(10));
        assert_eq!(pacer.rate(), Some(10.0));
        exchange(&mut pacer, ms(1030), too_many(1));
        assert_eq!(pacer.rate(), Some(7.0));
        assert_eq!(pacer.held_until(ms(1050)), Some(ms(2050)));
    }

    /// Requests one at a time, never idle: the first asks at `asked`, each
    /// next one as the one before is answered; each is held back until its
    /// time in `at`, and answered `OK`, the last `last`.
    fn one_by_one(pacer: &mut Pacer, mut asked: Duration, at: &[Duration], last: Signal) {
        for (i, &goes) in at.iter().enumerate() {
            if asked < goes {
                assert!(pacer.reserve(asked).is_some(), "not held back at {asked:?}");
            }
            exchange(pacer, goes, if i + 1 == at.len() { last } else { OK });
            asked = goes + ms(20);
        }
    }

    /// Ten successes, then a 429 at 10 ms (the first: 10 a second, paused
    /// until 1030 ms), then six successes 100 ms apart and a 429 at 1630 ms
    /// (6 successes over 1.62 s, 3.70 a second: cut to 7 a second).
    fn refused_at_10_then_cut_to_7() -> Pacer {
        let mut pacer = refused_after(10, ms(10));
        assert_eq!(pacer.rate(), Some(10.0));
        let at: Vec<Duration> = (0..7).map(|i| ms(1030 + 100 * i)).collect();
        one_by_one(&mut pacer, ms(30), &at, too_many(1));
        assert_eq!(pacer.rate(), Some(7.0));
        pacer
    }

    #[test]
    fn a_cut_that_lost_successes_and_met_429s_just_the_same_is_undone_for_8_429s() {
        let mut pacer = refused_at_10_then_cut_to_7();
        // At 7 a second, six successes again and a 429: 6 over 1.88 s, 3.19
        // a second, below 90 % of the 3.70 before the cut. The server
        // refuses a share: back to 10.
        let at: Vec<Duration> = (0..7).map(|i| ms(2650 + 143 * i)).collect();
        one_by_one(&mut pacer, ms(1650), &at, too_many(1));
        assert_eq!(pacer.rate(), Some(10.0));
        // Requests go unspaced once the pause ends: the Retry-Afters pace.
        let mut at = ms(4528);
        for _ in 0..12 {
            exchange(&mut pacer, at, OK);
        }
        assert_eq!(pacer.rate(), Some(10.0));
        // The next 8 429s cut nothing; the 9th tries slower again.
        for _ in 0..8 {
            exchange(&mut pacer, at, too_many(1));
            assert_eq!(pacer.rate(), Some(10.0));
            at += ms(1020);
        }
        exchange(&mut pacer, at, too_many(1));
        assert_eq!(pacer.rate(), Some(7.0));
        // Spaced again, at the slower rate.
        at += ms(1020);
        assert_eq!(pacer.reserve(at), None);
        assert_eq!(pacer.reserve(at), Some(Duration::from_secs_f64(1.0 / 7.0)));
    }

    #[test]
    fn a_cut_that_got_as_much_through_is_followed_by_another() {
        let mut pacer = refused_at_10_then_cut_to_7();
        // Seven successes before the 429 (the seventh takes the rate half
        // way back to the ceiling: 8.25): 7 over 2.02 s, 3.46 a second, as
        // much as before the cut, near enough. A limit, not a share: cut.
        let at: Vec<Duration> = (0..8).map(|i| ms(2650 + 143 * i)).collect();
        one_by_one(&mut pacer, ms(1650), &at[..7], OK);
        assert_eq!(pacer.rate(), Some(8.25));
        one_by_one(&mut pacer, ms(3528), &[ms(3651)], too_many(1));
        assert_eq!(pacer.rate(), Some(8.25 * BETA));
    }

    #[test]
    fn time_the_client_was_idle_is_not_taken_for_successes_lost() {
        // The run above, with 20 idle seconds in it: over the busy time, as
        // much as before the cut; cut again, not undone.
        let mut pacer = refused_at_10_then_cut_to_7();
        let at: Vec<Duration> = (0..8).map(|i| ms(2650 + 143 * i)).collect();
        one_by_one(&mut pacer, ms(1650), &at[..4], OK);
        let later: Vec<Duration> = at[4..].iter().map(|&t| t + ms(20_000)).collect();
        one_by_one(&mut pacer, ms(3100), &later[..3], OK);
        one_by_one(&mut pacer, ms(23_528), &later[3..], too_many(1));
        assert_eq!(pacer.rate(), Some(8.25 * BETA));
        // Five idle minutes, then a 429 (another client used the window):
        // a run that old, or without a success, says nothing of the pace.
        let mut pacer = refused_at_10_then_cut_to_7();
        one_by_one(&mut pacer, ms(300_000), &[ms(300_000)], too_many(1));
        assert_eq!(pacer.rate(), Some(7.0 * BETA));
        let mut pacer = refused_at_10_then_cut_to_7();
        one_by_one(&mut pacer, ms(1650), &[ms(2650)], too_many(1));
        assert_eq!(pacer.rate(), Some(7.0 * BETA));
    }

    #[test]
    fn a_run_that_began_without_a_pause_is_not_set_beside_the_next() {
        let mut pacer = refused_after(8, ms(10));
        // A calm minute at 8 a second raises the ceiling; the rate climbs.
        let mut at = ms(1100);
        while at < ms(62_000) {
            exchange(&mut pacer, at, OK);
            at += ms(125);
        }
        let climbed = pacer.rate().unwrap();
        assert_eq!(climbed, 9.0);
        // A 429 cuts; a short run after it gets less through than the calm
        // run did, which had no pause in it: the 429 ending it cuts again.
        exchange(&mut pacer, at, too_many(1));
        assert_eq!(pacer.rate(), Some(climbed * BETA));
        at += ms(1020);
        exchange(&mut pacer, at, OK);
        at += ms(200);
        exchange(&mut pacer, at, too_many(1));
        assert_eq!(pacer.rate(), Some(climbed * BETA * BETA));
    }

    #[test]
    fn successes_climb_half_way_back_to_the_ceiling_and_never_past_it() {
        let mut pacer = refused_after(10, ms(10));
        // Refused at 10 a second: the ceiling is 9.5, the rate 7.
        exchange(&mut pacer, ms(1030), too_many(1));
        assert_eq!(pacer.rate(), Some(7.0));
        let mut at = ms(2100);
        let mut rates = Vec::new();
        for _ in 0..80 {
            exchange(&mut pacer, at, OK);
            at += ms(150);
            rates.extend(pacer.rate().filter(|r| rates.last() != Some(r)));
        }
        let rounded: Vec<f64> = rates.iter().map(|r| (r * 100.0).round() / 100.0).collect();
        assert_eq!(rounded, [7.0, 8.25, 8.88, 9.19, 9.34, 9.44, 9.5]);
    }

    #[test]
    fn a_calm_minute_raises_the_ceiling_by_a_quarter() {
        let mut pacer = refused_after(8, ms(10));
        assert_eq!(pacer.rate(), Some(8.0));
        let mut at = ms(1100);
        while at < ms(59_000) {
            exchange(&mut pacer, at, OK);
            at += ms(125);
        }
        assert_eq!(pacer.rate(), Some(8.0));
        let mut rates = Vec::new();
        for _ in 0..100 {
            exchange(&mut pacer, at, OK);
            at += ms(125);
            rates.extend(pacer.rate().filter(|r| rates.last() != Some(r)));
        }
        // The ceiling went from 8 to 10 a minute after the 429.
        assert_eq!(rates, [8.0, 9.0, 9.5, 9.75, 9.875, 9.975, 10.0]);
    }

    #[test]
    fn a_first_429_longer_than_the_successes_remembered_estimates_from_their_pace() {
        // 1,500 successes 10 ms apart, one a bucket: the last 1,024 are
        // remembered, over 10.23 s. A 429 asking for 20 s counts them at
        // their pace over the whole 20 s: 100 a second, not 1,024 / 20.
        let mut pacer = Pacer::default();
        for i in 0..1500 {
            exchange(&mut pacer, ms(10 * i), OK);
        }
        exchange(&mut pacer, ms(15_000), too_many(20));
        let rate = pacer.rate().unwrap();
        assert!((rate - 100.0).abs() < 0.2, "{rate}");
        // Under 10 ms apart, successes share a bucket: 2,000 in 10 s, all
        // remembered, counted as they are.
        let mut pacer = Pacer::default();
        for i in 0..2000 {
            exchange(&mut pacer, ms(5 * i), OK);
        }
        exchange(&mut pacer, ms(10_000), too_many(10));
        assert_eq!(pacer.rate(), Some(200.0));
    }

    #[test]
    fn every_429_is_counted_waited_out_or_not() {
        let mut pacer = Pacer::default();
        exchange(&mut pacer, ms(0), too_many(1));
        let not_waited_out = Signal {
            refused: true,
            ..Signal::default()
        };
        pacer.answered(ms(30), ms(10), not_waited_out);
        assert_eq!(pacer.stats(ms(40)).throttled, 2);
    }

    #[test]
    fn a_calm_minute_below_the_ceiling_keeps_it() {
        let mut pacer = refused_after(8, ms(10));
        let mut at = ms(1100);
        // Two a second, far below the 8 the server allowed: nothing learnt.
        while at < ms(130_000) {
            exchange(&mut pacer, at, OK);
            at += ms(500);
        }
        assert_eq!(pacer.rate(), Some(8.0));
    }

    #[test]
    fn held_counts_time_requests_waited_once_however_many_waited() {
        let mut pacer = Pacer::default();
        pacer.pause(ms(0), ms(1000));
        // A pause nobody waits out counts nothing.
        assert_eq!(pacer.stats(ms(500)).held, Duration::ZERO);
        // Two requests wait from 500 ms and 700 ms to its end: 500 ms held.
        pacer.waits(ms(500), ms(500));
        pacer.waits(ms(700), ms(300));
        assert_eq!(pacer.stats(ms(1000)).held, ms(500));
        // A wait past the hold (the pacing) counts only up to its end.
        pacer.pause(ms(2000), ms(100));
        pacer.waits(ms(2000), ms(300));
        assert_eq!(pacer.stats(ms(2300)).held, ms(600));
        // Nothing holds: nothing counts.
        pacer.waits(ms(3000), ms(300));
        assert_eq!(pacer.stats(ms(3300)).held, ms(600));
    }

    #[test]
    fn a_request_that_goes_anyway_takes_a_slot_and_counts_in_flight() {
        let mut pacer = refused_after(10, ms(10));
        // Paced at 10 a second, paused until 1030: one goes anyway at 500.
        pacer.take(ms(500));
        assert_eq!(pacer.reserve(ms(1030)), Some(ms(100)));
        assert_eq!(pacer.reserve(ms(1130)), None);
        // In flight, it takes its share of what a window has left.
        let mut pacer = Pacer::default();
        assert_eq!(pacer.reserve(ms(0)), None);
        pacer.take(ms(1));
        let three_left = Signal {
            quota: Some(Quota {
                limit: None,
                remaining: Some(3),
                reset: Duration::from_secs(1),
            }),
            ..OK
        };
        pacer.answered(ms(20), ms(0), three_left);
        assert_eq!(pacer.reserve(ms(21)), None);
        assert_eq!(pacer.reserve(ms(22)), None);
        assert_eq!(pacer.reserve(ms(23)), Some(ms(997)));
    }

    #[test]
    fn a_hold_ends_at_its_end() {
        let mut pacer = Pacer::default();
        pacer.pause(ms(0), ms(1000));
        assert_eq!(pacer.held_until(ms(999)), Some(ms(1000)));
        assert_eq!(pacer.held_until(ms(1000)), None);
        let used_up = Signal {
            quota: Some(Quota {
                limit: Some(1),
                remaining: Some(0),
                reset: Duration::from_secs(1),
            }),
            ..OK
        };
        assert_eq!(pacer.reserve(ms(1000)), None);
        pacer.answered(ms(1020), ms(1000), used_up);
        assert_eq!(pacer.held_until(ms(2019)), Some(ms(2020)));
        assert_eq!(pacer.held_until(ms(2020)), None);
        // Renewed, the window's count is what the server is taken to say.
        assert_eq!(pacer.reserve(ms(2020)), None);
        assert_eq!(pacer.seen(), Some(1));
    }

    #[test]
    fn successes_of_requests_sent_before_a_cut_do_not_win_the_rate_back() {
        let mut pacer = refused_after(10, ms(10));
        exchange(&mut pacer, ms(1030), too_many(1));
        assert_eq!(pacer.rate(), Some(7.0));
        // Answers to requests that went before the cut at 1050 ms.
        for i in 0..20 {
            pacer.answered(ms(1100 + i), ms(1040), OK);
        }
        assert_eq!(pacer.rate(), Some(7.0));
    }

    #[test]
    fn a_calm_minute_near_the_ceiling_raises_it() {
        let mut pacer = refused_after(20, ms(20));
        assert_eq!(pacer.rate(), Some(20.0));
        // 20 answers a second (19.2 sent): over 90 % of the ceiling.
        let mut at = ms(1100);
        while at < ms(62_000) {
            exchange(&mut pacer, at, OK);
            at += ms(52);
        }
        assert!(pacer.rate() > Some(20.0), "{:?}", pacer.rate());
    }
}
