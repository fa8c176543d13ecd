//! The fake's clock (frozen, or running on real time, in whole seconds), and
//! its times as Unix seconds and at their latest.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

pub(super) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// 9999-12-31T23:59:59Z, the last time RFC 3339 can write.
pub(super) fn latest_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(253_402_300_799)
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
}
