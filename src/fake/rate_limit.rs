//! The fake's rate limit: fixed windows of real time, and what each request
//! made of them.

use std::time::{Duration, Instant};

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
