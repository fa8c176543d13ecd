//! The pacer against a model of a fixed-window server: whole jobs run on a
//! simulated clock, so times and 429s of whole jobs are checked without
//! waiting or timing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use super::quota::Quota;
use super::{Pacer, Signal};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A fixed-window server (`limit` a whole second, a 429 with
/// `Retry-After` in whole seconds beyond, and with `headers` the
/// `RateLimit-` fields) and a client of `workers` threads sending `jobs`
/// requests (see [`run`]). Returns the seconds taken and the 429s met.
fn simulate(limit: u32, workers: usize, jobs: usize, headers: bool, probe: bool) -> (f64, u32) {
    simulate_at(ms(0), limit, workers, jobs, headers, probe)
}

/// [`simulate`] with the server's windows starting `phase` into a second of
/// the client's clock, as wall-clock seconds do.
fn simulate_at(
    phase: Duration,
    limit: u32,
    workers: usize,
    jobs: usize,
    headers: bool,
    probe: bool,
) -> (f64, u32) {
    let mut served = std::collections::HashMap::<u64, u32>::new();
    let server = |counted: Duration| {
        let counted = counted + phase;
        let second = counted.as_secs();
        let count = served.entry(second).or_default();
        let reset = Duration::from_secs(second + 1) - counted;
        let reset_whole = Duration::from_secs(reset.as_secs_f64().ceil() as u64);
        let ok = *count < limit;
        if ok {
            *count += 1;
        }
        Answer {
            ok,
            retry_after: (!ok).then_some(reset_whole),
            quota: headers.then_some(Quota {
                limit: Some(limit),
                remaining: Some(limit - *count),
                reset: reset_whole,
            }),
        }
    };
    let (seconds, refused) = run(workers, jobs, probe, server);
    eprintln!(
        "limit {limit}, {workers} workers, {jobs} jobs, headers {headers}: {seconds:.2} s, {refused} 429s"
    );
    (seconds, refused)
}

/// [`simulate_at`] for each `(limit, jobs)` at each parallelism and phase
/// (ms): rows of the limit, the parallelism, the phase, the seconds taken
/// over the floor (`jobs / limit`) and the 429s met, each printed.
fn grid(
    runs: &[(u32, usize)],
    parallelism: &[usize],
    phases: &[u64],
    headers: bool,
) -> Vec<(u32, usize, u64, f64, u32)> {
    let mut rows = Vec::new();
    for &(limit, jobs) in runs {
        for &workers in parallelism {
            for &phase in phases {
                let (seconds, refused) =
                    simulate_at(ms(phase), limit, workers, jobs, headers, true);
                let floor = jobs as f64 / f64::from(limit);
                rows.push((limit, workers, phase, seconds / floor, refused));
            }
        }
    }
    for row in &rows {
        eprintln!("{row:?}");
    }
    rows
}

/// A server's answer to one request.
struct Answer {
    ok: bool,
    retry_after: Option<Duration>,
    quota: Option<Quota>,
}

/// What happens next to a worker's request.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// The worker asks the pacer for a turn.
    Ask,
    /// The server counts the request sent at this time (half way).
    Count(Duration, Option<u32>),
    /// The answer the server made (its index in the answers) arrives.
    Answer(Duration, Option<u32>, usize),
}

/// `workers` threads of one client sending `jobs` requests to `server`
/// (which counts a request at the time given, 8.5 to 11.5 ms after it went,
/// and answers it 8.5 to 11.5 ms after that, so a request sent earlier may
/// be counted and still unanswered, and a burst is counted and answered in
/// any order): with `probe`, as the bulk calls do, the first
/// alone, then the rest in parallel. Every 429 is sent again. Returns the
/// seconds taken and the 429s met.
fn run(
    workers: usize,
    jobs: usize,
    probe: bool,
    mut server: impl FnMut(Duration) -> Answer,
) -> (f64, u32) {
    // Each leg takes 8.5 to 11.5 ms, 10 on average, as threads and sockets
    // do: a burst is counted, and answered, in no fixed order.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut leg = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        Duration::from_micros(8_500 + seed % 3000)
    };
    let mut pacer = Pacer::default();
    let mut queue = BinaryHeap::new();
    let mut answers = Vec::new();
    queue.push(Reverse((Duration::ZERO, 0usize, Step::Ask)));
    let (mut next_job, mut done, mut refused) = (1usize, 0usize, 0u32);
    let mut started_others = !probe;
    for w in 1..workers.min(jobs) {
        if !probe {
            next_job += 1;
            queue.push(Reverse((Duration::ZERO, w, Step::Ask)));
        }
    }
    let mut end = Duration::ZERO;
    while let Some(Reverse((now, worker, step))) = queue.pop() {
        let (sent_at, seen, index) = match step {
            Step::Ask => {
                match pacer.reserve(now) {
                    Some(wait) => {
                        pacer.waits(now, wait);
                        queue.push(Reverse((now + wait, worker, Step::Ask)))
                    }
                    None => queue.push(Reverse((
                        now + leg(),
                        worker,
                        Step::Count(now, pacer.seen()),
                    ))),
                }
                continue;
            }
            Step::Count(sent_at, seen) => {
                answers.push(Some(server(now)));
                let index = answers.len() - 1;
                queue.push(Reverse((
                    now + leg(),
                    worker,
                    Step::Answer(sent_at, seen, index),
                )));
                continue;
            }
            Step::Answer(sent_at, seen, index) => (sent_at, seen, index),
        };
        let Some(answer) = answers[index].take() else {
            unreachable!("each answer arrives once");
        };
        let signal = Signal {
            waited_out: !answer.ok,
            refused: !answer.ok,
            ok: answer.ok,
            retry_after: answer.retry_after,
            quota: answer.quota,
            seen,
        };
        pacer.answered(now, sent_at, signal);
        if !answer.ok {
            refused += 1;
            queue.push(Reverse((now, worker, Step::Ask)));
            continue;
        }
        done += 1;
        end = end.max(now);
        if !started_others {
            started_others = true;
            for w in 1..workers {
                if next_job < jobs {
                    next_job += 1;
                    queue.push(Reverse((now, w, Step::Ask)));
                }
            }
        }
        if next_job < jobs {
            next_job += 1;
            queue.push(Reverse((now, worker, Step::Ask)));
        }
    }
    assert_eq!(done, jobs);
    (end.as_secs_f64(), refused)
}

#[test]
fn a_rate_limited_bulk_job_finishes_near_the_floor_with_few_429s() {
    // 100 revokes at parallelism 16 against 10 a second, and more.
    let (seconds, refused) = simulate(10, 16, 100, false, true);
    assert!(
        seconds <= 11.0 && refused <= 20,
        "{seconds} s, {refused} 429s"
    );
    let (seconds, refused) = simulate(10, 16, 100, true, true);
    assert!(
        seconds <= 10.0 && refused == 0,
        "{seconds} s, {refused} 429s with headers"
    );
    let (seconds, refused) = simulate(50, 64, 1000, false, true);
    assert!(
        seconds <= 21.0 && refused <= 70,
        "{seconds} s, {refused} 429s at 50 a second"
    );
    let (seconds, refused) = simulate(50, 64, 1000, true, true);
    assert!(
        seconds <= 20.5 && refused == 0,
        "{seconds} s, {refused} 429s at 50 a second"
    );
}

#[test]
fn threads_creating_on_one_client_meet_few_429s() {
    // 8 threads × 50 creates against 20 a second.
    let (seconds, refused) = simulate(20, 8, 400, false, false);
    assert!(
        seconds <= 21.0 && refused <= 20,
        "{seconds} s, {refused} 429s"
    );
}

#[test]
fn with_rate_limit_headers_every_parallelism_runs_near_the_floor_without_a_429() {
    let rows = grid(
        &[(10, 100), (50, 500)],
        &[1, 8, 16, 64],
        &[0, 300, 700, 950, 995],
        true,
    );
    for (limit, workers, phase, ratio, refused) in rows {
        assert!(
            ratio <= 1.10 && refused == 0,
            "{limit} a second, parallelism {workers}, phase {phase} ms: {ratio:.2} × the floor, {refused} 429s"
        );
    }
}

#[test]
fn a_server_refusing_a_fixed_share_is_followed_at_the_pace_its_retry_afters_allow() {
    // Every `k`th request 429 with `Retry-After: 1`, whatever the rate (a
    // gateway whose nodes each keep their own count): the Retry-Afters of
    // 150 requests alone take up to 150 / k seconds, and 150 answers 20 ms
    // each one after another 3 s more.
    for k in [3, 7, 20] {
        for workers in [1, 16, 64] {
            let mut count = 0u32;
            let server = |_| {
                count += 1;
                let ok = count % k != 0;
                Answer {
                    ok,
                    retry_after: (!ok).then_some(Duration::from_secs(1)),
                    quota: None,
                }
            };
            let (seconds, refused) = run(workers, 150, true, server);
            eprintln!("1 in {k} refused, parallelism {workers}: {seconds:.2} s, {refused} 429s");
            let bound = 2.0 * (150.0 / f64::from(k) + 3.0);
            assert!(
                seconds <= bound,
                "1 in {k} refused, parallelism {workers}: {seconds} s, {refused} 429s"
            );
        }
    }
}

#[test]
fn without_headers_a_long_job_runs_near_the_floor() {
    // 1000 revokes against 10 a second, and 2000 against 50: a pace the
    // server refuses comes down and stays there, 429s those of the first
    // burst and a few more. Without headers each 429 costs up to a window
    // (a `Retry-After` in whole seconds), and the ceiling's binary search
    // meets a few.
    let rows = grid(
        &[(10, 1000), (50, 2000)],
        &[1, 16, 64],
        &[0, 300, 700, 950],
        false,
    );
    for (limit, workers, phase, ratio, refused) in rows {
        assert!(
            ratio <= 1.15 && refused <= workers as u32 + 10,
            "{limit} a second, parallelism {workers}, phase {phase} ms: {ratio:.2} × the floor, {refused} 429s"
        );
    }
}

#[test]
fn a_limit_of_thousands_a_second_is_followed_without_headers_too() {
    // More successes a window than the pacer could remember one by one:
    // the first 429's estimate counts them all. A 429 at the limit later
    // cuts to 70 %, won back within seconds.
    let (seconds, refused) = simulate(3000, 128, 30_000, false, true);
    assert!(seconds <= 1.25 * 10.0, "{seconds} s, {refused} 429s");
}
