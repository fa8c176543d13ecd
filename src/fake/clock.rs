//! The fake's sense of time: its clock (frozen, or running on real time) and
//! the fixed windows of a rate limit.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What `created_at`, `expires_at` and `discarded_at` come from, and what
/// expiry is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Clock {
    /// Stands at this time until moved (`FakeServer::advance`).
    Frozen(SystemTime),
    /// The real time plus `ahead` (what `advance` added), in whole seconds.
    Running { ahead: Duration },
}

impl Clock {
    /// Frozen at `real`, rounded down to the second.
    pub(super) fn frozen_at(real: SystemTime) -> Clock {
        Clock::Frozen(whole_seconds(real))
    }

    /// The time on this clock when the real time is `real`.
    pub(super) fn now(&self, real: SystemTime) -> SystemTime {
        match *self {
            Clock::Frozen(at) => at,
            // A clock that would overflow stays at the real time.
            Clock::Running { ahead } => whole_seconds(real.checked_add(ahead).unwrap_or(real)),
        }
    }

    /// Moves the clock on by `by`; one that would overflow stays where it is.
    pub(super) fn advance(&mut self, by: Duration) {
        match self {
            Clock::Frozen(at) => {
                if let Some(later) = at.checked_add(by) {
                    *at = later;
                }
            }
            Clock::Running { ahead } => {
                if let Some(more) = ahead.checked_add(by) {
                    *ahead = more;
                }
            }
        }
    }

    /// Runs the clock on real time (`real` now) or freezes it, from the time
    /// it shows: it never goes back. A frozen clock ahead of real time runs on
    /// that far ahead; one behind it jumps to the real time.
    pub(super) fn set_running(&mut self, running: bool, real: SystemTime) {
        let shown = self.now(real);
        *self = if running {
            Clock::Running {
                ahead: shown.duration_since(real).unwrap_or_default(),
            }
        } else {
            Clock::Frozen(shown)
        };
    }
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_secs(since.as_secs())
}

/// At most `requests` answered per fixed window of `per`, windows following
/// each other from when the limit was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RateLimit {
    requests: u32,
    per: Duration,
    window_start: Instant,
    used: u32,
}

/// What the rate limit made of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Admission {
    /// Within the limit: answer it. Otherwise answer 429.
    pub(super) admitted: bool,
    /// The limit: `RateLimit-Limit`.
    pub(super) limit: u32,
    /// Requests left in this window after this one: `RateLimit-Remaining`.
    pub(super) remaining: u32,
    /// Whole seconds until the window ends, rounded up: `Retry-After` and
    /// `RateLimit-Reset`.
    pub(super) reset: u64,
}

impl RateLimit {
    /// A limit whose first window starts at `now`; none for a `per` of zero.
    pub(super) fn new(requests: u32, per: Duration, now: Instant) -> Option<RateLimit> {
        (!per.is_zero()).then_some(RateLimit {
            requests,
            per,
            window_start: now,
            used: 0,
        })
    }

    /// Counts a request arriving at `now` against its window.
    pub(super) fn admit(&mut self, now: Instant) -> Admission {
        let mut into = now.saturating_duration_since(self.window_start);
        if into >= self.per {
            // The windows follow each other: this one began a whole number
            // of `per` after the first.
            let past = into.as_nanos() % self.per.as_nanos();
            into = Duration::from_nanos(u64::try_from(past).unwrap_or(u64::MAX));
            self.window_start = now - into;
            self.used = 0;
        }
        let admitted = self.used < self.requests;
        if admitted {
            self.used += 1;
        }
        let left = self.per - into;
        Admission {
            admitted,
            limit: self.requests,
            remaining: self.requests - self.used,
            reset: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_frozen_clock_stands_at_whole_seconds_until_advanced() {
        let mut clock = Clock::frozen_at(at(100) + Duration::from_millis(999));
        assert_eq!(clock, Clock::Frozen(at(100)));
        assert_eq!(clock.now(at(5000)), at(100));
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(at(0)), at(101) + Duration::from_millis(500));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(at(0)), at(101) + Duration::from_millis(500));
    }

    #[test]
    fn a_running_clock_follows_real_time_in_whole_seconds_plus_what_was_added() {
        let mut clock = Clock::Running {
            ahead: Duration::ZERO,
        };
        assert_eq!(clock.now(at(50) + Duration::from_millis(700)), at(50));
        clock.advance(SEC * 10);
        assert_eq!(clock.now(at(50) + Duration::from_millis(700)), at(60));
        assert_eq!(clock.now(at(61)), at(71));
        clock.advance(Duration::MAX);
        assert_eq!(clock, Clock::Running { ahead: SEC * 10 });
        // Past what SystemTime holds: the real time.
        let ahead = Clock::Running {
            ahead: Duration::MAX,
        };
        assert_eq!(ahead.now(at(7)), at(7));
    }

    #[test]
    fn switching_keeps_the_time_shown_and_never_goes_back() {
        // A fresh fake: frozen a little behind real time, it jumps to it.
        let mut clock = Clock::frozen_at(at(100));
        clock.set_running(true, at(100) + Duration::from_millis(400));
        assert_eq!(
            clock,
            Clock::Running {
                ahead: Duration::ZERO
            }
        );
        assert_eq!(clock.now(at(103)), at(103));
        // Advanced past real time: it runs on that far ahead.
        let mut clock = Clock::frozen_at(at(100));
        clock.advance(SEC * 86_400);
        clock.set_running(true, at(160));
        assert_eq!(clock.now(at(160)), at(86_500));
        assert_eq!(clock.now(at(170)), at(86_510));
        // And frozen again where it stood.
        clock.set_running(false, at(170) + Duration::from_millis(900));
        assert_eq!(clock, Clock::Frozen(at(86_510)));
    }

    fn limit(requests: u32, per: Duration) -> (RateLimit, Instant) {
        let start = Instant::now();
        (RateLimit::new(requests, per, start).unwrap(), start)
    }

    fn admission(admitted: bool, limit: u32, remaining: u32, reset: u64) -> Admission {
        Admission {
            admitted,
            limit,
            remaining,
            reset,
        }
    }

    #[test]
    fn a_window_admits_its_requests_then_refuses_until_it_ends() {
        let (mut rate, start) = limit(2, SEC * 10);
        assert_eq!(rate.admit(start), admission(true, 2, 1, 10));
        let later = start + Duration::from_millis(2500);
        assert_eq!(rate.admit(later), admission(true, 2, 0, 8));
        // 7.5 s left: rounded up.
        assert_eq!(rate.admit(later), admission(false, 2, 0, 8));
        let late = start + Duration::from_millis(9001);
        assert_eq!(rate.admit(late), admission(false, 2, 0, 1));
        // The next window, at its very start.
        assert_eq!(rate.admit(start + SEC * 10), admission(true, 2, 1, 10));
    }

    #[test]
    fn windows_are_fixed_from_when_the_limit_was_set() {
        let (mut rate, start) = limit(1, SEC * 10);
        assert!(rate.admit(start).admitted);
        // 35 s on: 5 s into the window that began at 30 s.
        let now = start + SEC * 35;
        assert_eq!(rate.admit(now), admission(true, 1, 0, 5));
        assert_eq!(rate.window_start, start + SEC * 30);
        assert_eq!(rate.admit(now + SEC * 4), admission(false, 1, 0, 1));
        assert_eq!(rate.admit(now + SEC * 5), admission(true, 1, 0, 10));
    }

    #[test]
    fn a_limit_of_none_refuses_everything_and_no_window_is_no_limit() {
        let (mut rate, start) = limit(0, SEC);
        assert_eq!(rate.admit(start), admission(false, 0, 0, 1));
        assert_eq!(rate.admit(start + SEC * 3), admission(false, 0, 0, 1));
        assert_eq!(RateLimit::new(5, Duration::ZERO, start), None);
    }
}
