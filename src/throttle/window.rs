//! The window a server's rate-limit headers describe, as the client counts it down.

use std::time::Duration;

use super::quota::Quota;
use super::{Pacer, DEFAULT_WINDOW};

/// One window of the server's rate limit, as the client counts it down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Window {
    /// Requests that may still go before `reset_at`.
    pub(super) remaining: u32,
    /// The server's last word on what was left, to tell a new window (it grew).
    pub(super) last_seen: u32,
    pub(super) reset_at: Duration,
    /// Requests a whole window allows, when known (a `limit`, or the most
    /// ever left plus the request that was answered).
    pub(super) allowance: Option<u32>,
    /// The longest reset seen: a window's length.
    pub(super) length: Duration,
    /// Whether the wait for this window's reset is in the held time yet.
    pub(super) held_counted: bool,
}

impl Pacer {
    pub(super) fn learn_window(&mut self, now: Duration, quota: Quota) {
        // A reset read from the network: no overflow whatever it says.
        let reset_at = now.saturating_add(quota.reset);
        // What requests already in flight will use up.
        let left = quota.remaining.saturating_sub(self.in_flight);
        match &mut self.window {
            // The same window: what is left only shrinks; the earliest reset
            // is the closest to the truth when the server rounds up. Before
            // the window's reset, a larger remaining is an answer that
            // arrived out of order, not a new window.
            Some(window)
                if now < window.reset_at
                    || (quota.remaining <= window.last_seen
                        && reset_at
                            < window
                                .reset_at
                                .saturating_add(quota.reset.max(DEFAULT_WINDOW))) =>
            {
                window.remaining = window.remaining.min(left);
                window.last_seen = window.last_seen.min(quota.remaining);
                window.reset_at = window.reset_at.min(reset_at);
                window.length = window.length.max(quota.reset);
                window.allowance = quota
                    .limit
                    .or(window.allowance.max(Some(quota.remaining + 1)));
            }
            _ => {
                let allowance = quota.limit.or(Some(quota.remaining + 1));
                let previous = self.window.and_then(|w| w.allowance);
                self.window = Some(Window {
                    remaining: left,
                    last_seen: quota.remaining,
                    reset_at,
                    allowance: allowance.max(previous.filter(|_| quota.limit.is_none())),
                    length: quota.reset,
                    held_counted: false,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Signal;
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const OK: Signal = Signal {
        waited_out: false,
        refused: false,
        ok: true,
        retry_after: None,
        quota: None,
    };

    fn quota(remaining: u32, reset: u64) -> Signal {
        Signal {
            ok: true,
            quota: Some(Quota {
                limit: None,
                remaining,
                reset: Duration::from_secs(reset),
            }),
            ..Signal::default()
        }
    }

    #[test]
    fn rate_limit_headers_hold_requests_back_before_the_server_refuses_them() {
        let mut pacer = Pacer::default();
        assert_eq!(pacer.reserve(ms(0)), None);
        pacer.answered(ms(20), ms(0), quota(3, 1));
        // Three left, one of them taken by a request already in flight.
        assert_eq!(pacer.reserve(ms(20)), None);
        assert_eq!(pacer.reserve(ms(21)), None);
        assert_eq!(pacer.reserve(ms(22)), None);
        assert_eq!(pacer.reserve(ms(23)), Some(ms(997)));
        assert_eq!(pacer.held_until(ms(23)), Some(ms(1020)));
        // The window resets with what a whole window allows: 3 + 1.
        for i in 0..4 {
            assert_eq!(pacer.reserve(ms(1020 + i)), None, "{i}");
        }
        assert_eq!(pacer.reserve(ms(1030)), Some(ms(990)));
    }

    #[test]
    fn resets_and_pauses_from_the_network_never_overflow() {
        let mut pacer = Pacer::default();
        assert_eq!(pacer.reserve(ms(0)), None);
        pacer.answered(ms(20), ms(0), quota(0, u64::MAX));
        assert!(pacer.reserve(ms(30)).is_some());
        pacer.pause(ms(40), Duration::MAX);
        assert!(pacer.held_until(ms(50)).is_some());
        assert!(pacer.stats(ms(50)).held > Duration::from_secs(1 << 40));
    }

    #[test]
    fn a_window_renewed_after_a_long_idle_spell_resets_in_step_with_the_old_ones() {
        let mut pacer = Pacer::default();
        assert_eq!(pacer.reserve(ms(0)), None);
        pacer.answered(
            ms(500),
            ms(0),
            Signal {
                quota: Some(Quota {
                    limit: Some(2),
                    remaining: 0,
                    reset: Duration::from_secs(1),
                }),
                ..OK
            },
        );
        // A day later: the window then is the one from 86,400.5 s.
        let day = Duration::from_secs(86_400);
        assert_eq!(pacer.reserve(day + ms(700)), None);
        assert_eq!(pacer.reserve(day + ms(700)), None);
        assert_eq!(pacer.reserve(day + ms(700)), Some(ms(800)));
    }

    #[test]
    fn an_answer_arriving_out_of_order_does_not_open_a_new_window() {
        let mut pacer = Pacer::default();
        for i in 0..3 {
            assert_eq!(pacer.reserve(ms(i)), None);
        }
        pacer.answered(ms(20), ms(0), quota(9, 1));
        pacer.answered(ms(21), ms(1), quota(7, 1));
        // Sent before the 7 was counted, answered after it: 7 less the one
        // then in flight stays what is left.
        pacer.answered(ms(22), ms(2), quota(8, 1));
        for i in 0..6 {
            assert_eq!(pacer.reserve(ms(30 + i)), None, "{i}");
        }
        assert_eq!(pacer.reserve(ms(40)), Some(ms(980)));
        assert_eq!(pacer.held_until(ms(40)), Some(ms(1020)));
    }

    #[test]
    fn the_earliest_reset_of_a_window_wins_when_the_server_rounds_up() {
        let mut pacer = Pacer::default();
        for i in 0..3 {
            assert_eq!(pacer.reserve(ms(i)), None);
        }
        pacer.answered(ms(100), ms(0), quota(5, 1));
        pacer.answered(ms(700), ms(1), quota(4, 1)); // the same window: 1.7 s is later
        assert_eq!(pacer.held_until(ms(700)), None);
        pacer.answered(ms(800), ms(2), quota(0, 1));
        assert_eq!(pacer.held_until(ms(800)), Some(ms(1100)));
    }
}
