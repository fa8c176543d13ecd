//! The pacer's rules, one at a time, on times given by hand.

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
    // A success, five idle minutes, then a 429 (another client used the
    // window): a run that old says nothing of the pace; nor does one
    // without a success.
    let mut pacer = refused_at_10_then_cut_to_7();
    one_by_one(&mut pacer, ms(1650), &[ms(2650)], OK);
    one_by_one(&mut pacer, ms(300_000), &[ms(300_000)], too_many(1));
    assert_eq!(pacer.rate(), Some(7.0 * BETA));
    let mut pacer = refused_at_10_then_cut_to_7();
    one_by_one(&mut pacer, ms(1650), &[ms(2650)], too_many(1));
    assert_eq!(pacer.rate(), Some(7.0 * BETA));
}

#[test]
fn a_run_a_minute_after_the_last_429_or_of_no_time_is_not_set_beside_it() {
    // The run after the cut to 7: one success, then the client idle until
    // a 429 exactly a minute after the last. It would look lost; too old.
    let mut pacer = refused_at_10_then_cut_to_7();
    one_by_one(&mut pacer, ms(1650), &[ms(2650)], OK);
    one_by_one(&mut pacer, ms(61_630), &[ms(61_630)], too_many(1));
    assert_eq!(pacer.rate(), Some(7.0 * BETA));
    // A run of no busy time (idle, then a success and a 429 at once, each
    // answered as it went) is no pace: not compared, and nothing to
    // compare the next run with, which is cut too.
    let mut pacer = refused_at_10_then_cut_to_7();
    for signal in [OK, too_many(1)] {
        pacer.take(ms(5_000));
        pacer.answered(ms(5_000), ms(5_000), signal);
    }
    assert_eq!(pacer.rate(), Some(7.0 * BETA));
    one_by_one(&mut pacer, ms(6_000), &[ms(6_000), ms(9_000)], too_many(1));
    assert_eq!(pacer.rate(), Some(7.0 * BETA * BETA));
}

/// `count` successes one after another from `from`, `each` apart, each
/// request going as the one before is answered; then one more request,
/// answered `last` at `end`.
fn chained(
    pacer: &mut Pacer,
    from: Duration,
    each: Duration,
    count: u32,
    last: Signal,
    end: Duration,
) {
    let mut at = from;
    for _ in 0..count {
        pacer.take(at);
        pacer.answered(at + each, at, OK);
        at += each;
    }
    pacer.take(at);
    pacer.answered(end, at, last);
}

#[test]
fn a_run_that_got_exactly_90_percent_of_the_last_did_not_lose() {
    let mut pacer = refused_after(10, ms(10));
    // 10 successes over the 2 s from the 429 (its pause held one request
    // back, the client busy throughout): 5 a second. Cut to 7.
    assert!(pacer.reserve(ms(30)).is_some());
    chained(&mut pacer, ms(1030), ms(80), 10, too_many(1), ms(2030));
    assert_eq!(pacer.rate(), Some(7.0));
    // 18 over the next 4 s: 4.5 a second, 90 % of 5 exactly. Not less:
    // cut again, not undone.
    assert!(pacer.reserve(ms(2030)).is_some());
    chained(&mut pacer, ms(3030), ms(150), 18, too_many(1), ms(6030));
    let rate = pacer.rate().unwrap();
    assert!(rate < 7.0, "{rate}");
}

#[test]
fn a_429_of_a_request_sent_as_the_rate_was_cut_does_not_cut_it_again() {
    let mut pacer = refused_after(10, ms(10));
    // The cut came at 30 ms; a request that went then met the old rate.
    pacer.take(ms(30));
    pacer.answered(ms(50), ms(30), too_many(1));
    assert_eq!(pacer.rate(), Some(10.0));
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
    // Under 10 ms apart, successes share a bucket: 1,500 in 4.5 s, then
    // 500 in 5 s, all remembered (875 buckets) and counted as they are,
    // not at the pace of the last 1,024.
    let mut pacer = Pacer::default();
    for i in 0..1500 {
        exchange(&mut pacer, ms(3 * i), OK);
    }
    for i in 0..500 {
        exchange(&mut pacer, ms(4_500 + 10 * i), OK);
    }
    exchange(&mut pacer, ms(9_500), too_many(10));
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
    // And those of a client that takes no part in rate limits.
    pacer.count_refusal();
    pacer.count_refusal();
    assert_eq!(pacer.stats(ms(40)).throttled, 4);
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
