//! The window a server's rate-limit headers describe, as the client counts it down.

use std::time::Duration;

use super::quota::Quota;
use super::{Pacer, DEFAULT_WINDOW};

/// One window of the server's rate limit, as the client counts it down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Window {
    /// Requests that may still go before `reset_at`.
    pub(super) remaining: u32,
    /// The lowest count of what was left the server gave in this window,
    /// its latest word: what is left, less what is in flight, and what
    /// tells a new window (a count above it).
    pub(super) last_seen: u32,
    pub(super) reset_at: Duration,
    /// Requests a whole window allows, when known (a `limit`, or the most
    /// ever left plus the request that was answered).
    pub(super) allowance: Option<u32>,
    /// The longest reset seen: a window's length.
    pub(super) length: Duration,
    /// When an answer last told what was left: an answer to a request sent
    /// since is the server's latest word.
    pub(super) told_at: Duration,
}

impl Pacer {
    /// Learns, at `now`, what the answer to a request sent at `sent_at`
    /// said of the window; `seen` is what the server had last said was left
    /// when that request went.
    pub(super) fn learn_window(
        &mut self,
        now: Duration,
        sent_at: Duration,
        seen: Option<u32>,
        quota: Quota,
    ) {
        // A reset alone says nothing of what is left.
        let Some(remaining) = quota.remaining else {
            return;
        };
        // A limit below what is left is no limit (`Limit: 0` with requests
        // remaining), nor is 0 on an answer (it proves at least one); one
        // request more than is left was surely allowed.
        let limit = quota.limit.filter(|&limit| limit > 0 && limit >= remaining);
        let seen_allowance = Some(remaining.saturating_add(1));
        // A reset read from the network: no overflow whatever it says.
        let reset_at = now.saturating_add(quota.reset);
        // What requests already in flight will use up.
        let left = remaining.saturating_sub(self.in_flight);
        // More left than the server said before this request went: the
        // server counted it in a window that began since, whatever order
        // answers arrive in. Its reset is the one to count to: holding to
        // an older window's would leave this one idle, and stepping on from
        // a reset that was late for its window would renew before the
        // server does.
        let grew = seen.is_some_and(|seen| remaining > seen);
        match &mut self.window {
            // The same window: what is left only shrinks, unless no other
            // answer came while this one's request was out (then it is the
            // server's latest count); the earliest reset is the closest to
            // the truth when the server rounds up. Before the window's reset,
            // a larger remaining is an answer that arrived out of order, not
            // a new window.
            Some(window)
                if !grew
                    && (now < window.reset_at
                        || (remaining <= window.last_seen
                            && reset_at
                                < window
                                    .reset_at
                                    .saturating_add(quota.reset.max(DEFAULT_WINDOW)))) =>
            {
                // The lowest count the server gave is its latest; less what
                // is still in flight, it is what is surely left. Counted
                // again at each answer, it grows back as a burst's answers
                // come in, in whatever order the server counted them.
                window.last_seen = if sent_at >= window.told_at {
                    remaining
                } else {
                    window.last_seen.min(remaining)
                };
                window.remaining = window.last_seen.saturating_sub(self.in_flight);
                window.told_at = now;
                window.reset_at = window.reset_at.min(reset_at);
                window.length = window.length.max(quota.reset);
                window.allowance = limit.or(window.allowance.max(seen_allowance));
            }
            _ => {
                let allowance = limit.or(seen_allowance);
                let previous = self.window.and_then(|w| w.allowance);
                self.window = Some(Window {
                    remaining: left,
                    last_seen: remaining,
                    reset_at,
                    allowance: allowance.max(previous.filter(|_| limit.is_none())),
                    length: quota.reset,
                    told_at: now,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ms, OK};
    use super::super::Signal;
    use super::*;

    fn quota(remaining: u32, reset: u64) -> Signal {
        Signal {
            ok: true,
            quota: Some(Quota {
                limit: None,
                remaining: Some(remaining),
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
        pacer.waits(ms(50), Duration::MAX);
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
                    remaining: Some(0),
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
        // Counted before the 7, answered after it: the 7 is the server's
        // latest count, and with nothing in flight, what is left.
        pacer.answered(ms(22), ms(2), quota(8, 1));
        for i in 0..7 {
            assert_eq!(pacer.reserve(ms(30 + i)), None, "{i}");
        }
        assert_eq!(pacer.reserve(ms(40)), Some(ms(980)));
        assert_eq!(pacer.held_until(ms(40)), Some(ms(1020)));
    }

    #[test]
    fn a_burst_answered_in_another_order_than_it_was_counted_leaves_nothing_unused() {
        let mut pacer = Pacer::default();
        assert_eq!(pacer.reserve(ms(0)), None);
        pacer.answered(ms(20), ms(0), quota(9, 1));
        // Eight at once: one left by the client's count.
        for _ in 0..8 {
            assert_eq!(pacer.reserve(ms(30)), None);
        }
        // Counted with 8, 7 … 1 left, answered in another order: the first
        // answer, 1 left with 7 in flight, leaves none for now.
        for (i, left) in [1, 8, 4, 2, 7, 3, 6, 5].into_iter().enumerate() {
            pacer.answered(ms(50 + i as u64), ms(30), quota(left, 1));
        }
        // Nothing in flight, and the server's lowest count says 1: it goes.
        assert_eq!(pacer.reserve(ms(60)), None);
        assert_eq!(pacer.reserve(ms(61)), Some(ms(959)));
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

    #[test]
    fn a_remaining_count_of_u32_max_neither_overflows_nor_holds_a_call_after_an_idle_window() {
        for limit in [None, Some(u32::MAX), Some(0)] {
            let mut pacer = Pacer::default();
            assert_eq!(pacer.reserve(ms(0)), None);
            let answer = Signal {
                quota: Some(Quota {
                    limit,
                    remaining: Some(u32::MAX),
                    reset: Duration::from_secs(1),
                }),
                ..OK
            };
            pacer.answered(ms(20), ms(0), answer);
            assert_eq!(pacer.reserve(ms(30)), None, "{limit:?}");
            pacer.answered(ms(50), ms(30), answer);
            // Idle past the window's reset: the next window allows as much.
            for i in 0..100 {
                assert_eq!(pacer.reserve(ms(5_000 + i)), None, "{limit:?}");
            }
            assert_eq!(pacer.held_until(ms(5_100)), None);
        }
    }

    #[test]
    fn a_limit_of_0_with_requests_remaining_holds_nothing_back() {
        let mut pacer = Pacer::default();
        let answer = Signal {
            quota: Some(Quota {
                limit: Some(0),
                remaining: Some(5),
                reset: Duration::from_secs(60),
            }),
            ..OK
        };
        // One call after another, each sent as the last answer came and
        // told 5 are left.
        let mut at = ms(0);
        for _ in 0..50 {
            assert_eq!(pacer.reserve(at), None, "held at {at:?}");
            pacer.answered(at + ms(20), at, answer);
            at += ms(20);
        }
        assert_eq!(pacer.stats(at).held, Duration::ZERO);
    }

    #[test]
    fn a_reset_alone_holds_nothing_back() {
        let mut pacer = Pacer::default();
        let answer = Signal {
            quota: Some(Quota {
                limit: None,
                remaining: None,
                reset: Duration::from_secs(60),
            }),
            ..OK
        };
        for i in 0..20 {
            assert_eq!(pacer.reserve(ms(30 * i)), None, "{i}");
            pacer.answered(ms(30 * i + 20), ms(30 * i), answer);
        }
        assert_eq!(pacer.held_until(ms(600)), None);
    }

    #[test]
    fn a_limit_as_large_as_what_is_left_is_a_whole_window() {
        let mut pacer = Pacer::default();
        assert_eq!(pacer.reserve(ms(0)), None);
        let answer = Signal {
            quota: Some(Quota {
                limit: Some(5),
                remaining: Some(5),
                reset: Duration::from_secs(1),
            }),
            ..OK
        };
        pacer.answered(ms(20), ms(0), answer);
        // The next window allows the limit, 5, not one more than was left.
        for i in 0..5 {
            assert_eq!(pacer.reserve(ms(1020 + i)), None, "{i}");
        }
        assert_eq!(pacer.reserve(ms(1030)), Some(ms(990)));
    }

    #[test]
    fn the_same_count_as_before_the_request_went_is_the_same_window() {
        let mut pacer = Pacer::default();
        assert_eq!(pacer.reserve(ms(0)), None);
        pacer.answered(ms(20), ms(0), quota(5, 1));
        assert_eq!(pacer.reserve(ms(100)), None);
        let seen = pacer.seen();
        assert_eq!(seen, Some(5));
        // Still 5 left, its reset later: not a new window; the earlier
        // reset holds.
        pacer.answered(
            ms(700),
            ms(100),
            Signal {
                seen,
                ..quota(5, 1)
            },
        );
        for i in 0..5 {
            assert_eq!(pacer.reserve(ms(710 + i)), None, "{i}");
        }
        assert_eq!(pacer.held_until(ms(720)), Some(ms(1020)));
        // One more than was left before the request went: a new window,
        // whose reset is the one to count to.
        pacer.answered(
            ms(730),
            ms(715),
            Signal {
                seen: Some(0),
                ..quota(4, 1)
            },
        );
        // (The four still in flight take what it has left.)
        assert_eq!(pacer.held_until(ms(730)), Some(ms(1730)));
        assert_eq!(pacer.seen(), Some(4));
    }

    #[test]
    fn a_limit_of_0_with_none_remaining_on_an_answer_still_allows_one_a_window() {
        let mut pacer = Pacer::default();
        let answer = Signal {
            quota: Some(Quota {
                limit: Some(0),
                remaining: Some(0),
                reset: Duration::from_secs(1),
            }),
            ..OK
        };
        // One call a window: each was answered, so each window allows one.
        for i in 0..20 {
            let at = ms(1_100 * i);
            assert_eq!(pacer.reserve(at), None, "held at {at:?}");
            pacer.answered(at + ms(20), at, answer);
        }
        assert_eq!(pacer.stats(ms(22_000)).held, Duration::ZERO);
    }

    /// A window of 3 left until 1,020 ms; a request sent at 1,000 ms is
    /// answered at `at`, after that reset, with `remaining` left, a reset
    /// `reset` away, and `seen` as what was left when it went. Returns how
    /// many requests then go at once, and until when the next is held.
    #[track_caller]
    fn answered_after_the_old_reset(
        at: u64,
        remaining: u32,
        reset: u64,
        seen: Option<u32>,
    ) -> (u32, Option<Duration>) {
        let mut pacer = Pacer::default();
        assert_eq!(pacer.reserve(ms(0)), None);
        pacer.answered(ms(20), ms(0), quota(3, 1));
        assert_eq!(pacer.reserve(ms(1_000)), None);
        let answer = Signal {
            seen,
            quota: Some(Quota {
                limit: None,
                remaining: Some(remaining),
                reset: ms(reset),
            }),
            ..OK
        };
        pacer.answered(ms(at), ms(1_000), answer);
        let now = ms(at + 10);
        let mut went = 0;
        while pacer.reserve(now).is_none() {
            went += 1;
            assert!(went < 100, "never held");
        }
        (went, pacer.held_until(now))
    }

    #[test]
    fn after_the_old_reset_no_more_left_and_a_reset_within_a_window_is_the_same_window() {
        // The old window renews (3 + 1 a window) and resets in step.
        assert_eq!(
            answered_after_the_old_reset(1_500, 2, 400, Some(3)),
            (4, Some(ms(2_020)))
        );
    }

    #[test]
    fn after_the_old_reset_more_left_or_a_reset_a_window_beyond_is_a_new_window() {
        // More left than the server last said: a new window, its reset.
        assert_eq!(
            answered_after_the_old_reset(1_500, 5, 400, None),
            (5, Some(ms(1_900)))
        );
        // No more left, but a reset a whole window past the old one.
        assert_eq!(
            answered_after_the_old_reset(1_500, 2, 520, Some(3)),
            (2, Some(ms(2_020)))
        );
        // Answered just as the old window reset, its reset a window on.
        assert_eq!(
            answered_after_the_old_reset(1_020, 2, 1_000, Some(3)),
            (2, Some(ms(2_020)))
        );
    }
}
