//! Bulk calls: one call per item on a few scoped threads, results in order, stopping when the server is gone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::Error;

/// The most revokes [`Client::discard_project_jwts`](crate::Client::discard_project_jwts)
/// keeps in flight: more threads would only open connections the pool cannot keep.
pub const MAX_PARALLELISM: usize = 64;

/// How many revokes in a row that could not reach the server stop a bulk
/// call; the rule is on [`Client::discard_project_jwts`](crate::Client::discard_project_jwts).
///
/// Enough that one refused connection among thousands of revokes (a
/// restart behind a load balancer) stops nothing; few enough that a server
/// gone for good costs one round of retries at `parallelism` 8.
pub const STOP_AFTER_UNREACHABLE: usize = 8;

/// [`in_parallel`] for calls that each send one request, stopping when the
/// server is gone: once [`STOP_AFTER_UNREACHABLE`] calls in a row (in the order they
/// end, across threads) ended with an attempt that could not connect
/// ([`TransportError::is_connect`](crate::TransportError::is_connect) of
/// the last attempt; an earlier one may have reached the server),
/// the items not yet started are not sent, and each gets
/// [`Error::NotAttempted`]. Any other outcome ends the run, except an
/// [`Error::InvalidInput`], which sent nothing and so tells nothing of the
/// server.
pub(crate) fn until_unreachable<S, T, F>(
    items: &[S],
    parallelism: usize,
    call: F,
) -> Vec<Result<T, Error>>
where
    S: AsRef<str> + Sync,
    T: Send,
    F: Fn(&str) -> Result<T, Error> + Sync,
{
    let run = Mutex::new(Run::default());
    // No panic happens under the lock; a poisoned one is still sound.
    let run = || run.lock().unwrap_or_else(PoisonError::into_inner);
    in_parallel(items, parallelism, |item| {
        if let Some(reason) = run().stopped.clone() {
            return Err(Error::NotAttempted { reason });
        }
        let result = call(item);
        run().record(&result);
        result
    })
}

/// The calls that could not reach the server, counted as they end.
#[derive(Debug, Default)]
struct Run {
    in_a_row: usize,
    /// Why the batch stopped, once it has.
    stopped: Option<String>,
}

impl Run {
    fn record<T>(&mut self, result: &Result<T, Error>) {
        match result {
            Err(Error::Transport(e)) if e.is_connect() => {
                self.in_a_row += 1;
                if self.in_a_row >= STOP_AFTER_UNREACHABLE && self.stopped.is_none() {
                    self.stopped = Some(format!(
                        "the batch stopped after {STOP_AFTER_UNREACHABLE} revokes in a row could not reach the server (the last: {})",
                        e.what()
                    ));
                }
            }
            Err(Error::InvalidInput { .. }) => {}
            _ => self.in_a_row = 0,
        }
    }
}

/// `call` on every item, up to `parallelism` at once on scoped threads (at
/// most [`MAX_PARALLELISM`]), the results in the items' order. Each thread
/// takes the next item when it is free, so one slow item holds up no other.
/// The first item is called alone, before the threads start.
/// A panic in `call` stops the others taking new items, then is passed on.
pub(crate) fn in_parallel<S, T, F>(items: &[S], parallelism: usize, call: F) -> Vec<T>
where
    S: AsRef<str> + Sync,
    T: Send,
    F: Fn(&str) -> T + Sync,
{
    let workers = parallelism.clamp(1, items.len().clamp(1, MAX_PARALLELISM));
    if workers == 1 {
        return items.iter().map(|item| call(item.as_ref())).collect();
    }
    // The first item goes alone: what its answer says of the server's rate
    // limit is known before the others go, instead of `workers` requests
    // meeting it at once.
    let Some((first, rest)) = items.split_first() else {
        return Vec::new();
    };
    let first = call(first.as_ref());
    let items = rest;
    let next = AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Set when a worker unwinds, so the others send nothing more.
    struct StopOnPanic<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.store(true, Ordering::Relaxed);
            }
        }
    }
    let work = || {
        let _guard = StopOnPanic(&stop);
        let mut done = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            done.push((i, call(item.as_ref())));
        }
        done
    };
    let mut done = std::thread::scope(|scope| {
        // A thread the system refuses is one worker fewer; the calling
        // thread works too, so the batch always makes progress.
        let threads: Vec<_> = (1..workers)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut done = work();
        for thread in threads {
            // A panic in `call` is the caller's, passed on as it was.
            done.extend(
                thread
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        done
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    std::iter::once(first)
        .chain(done.into_iter().map(|(_, result)| result))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::api;
    use crate::transport_error::transport;
    use std::collections::HashSet;
    use std::io::{Error as IoError, ErrorKind};
    use std::time::Duration;

    fn refused() -> Result<(), Error> {
        Err(Error::Transport(Box::new(transport(ureq::Error::Io(
            IoError::from(ErrorKind::ConnectionRefused),
        )))))
    }

    const STOPPED: &str = "the batch stopped after 8 revokes in a row could not reach the server (the last: could not connect to api.example:443: connection refused)";

    #[test]
    fn a_run_of_unreachable_calls_stops_at_8_and_anything_sent_ends_it() {
        let mut run = Run::default();
        for _ in 0..7 {
            run.record(&refused());
        }
        // A refused argument sent nothing: the run goes on past it.
        run.record(&Err::<(), _>(Error::invalid("empty")));
        assert_eq!((run.in_a_row, run.stopped.as_deref()), (7, None));
        run.record(&refused());
        assert_eq!((run.in_a_row, run.stopped.as_deref()), (8, Some(STOPPED)));

        // Each answer, success or failure, and each failure after sending,
        // starts the count again.
        let cut = Err::<(), _>(Error::Transport(Box::new(transport(ureq::Error::Io(
            IoError::from(ErrorKind::UnexpectedEof),
        )))));
        for other in [Ok(()), Err(api(503, None)), cut] {
            let mut run = Run::default();
            for _ in 0..7 {
                run.record(&refused());
            }
            run.record(&other);
            run.record(&refused());
            assert_eq!((run.in_a_row, run.stopped.as_deref()), (1, None));
        }
    }

    #[test]
    fn once_stopped_no_item_is_called_and_each_says_why() {
        let items: Vec<String> = (0..30).map(|i| i.to_string()).collect();
        let calls = AtomicUsize::new(0);
        let got = until_unreachable(&items, 1, |item| {
            calls.fetch_add(1, Ordering::SeqCst);
            match item.parse::<usize>().unwrap() {
                0..5 => Ok(()),
                _ => refused(),
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 13);
        assert!(got[..5].iter().all(Result::is_ok));
        for result in &got[5..13] {
            let Err(Error::Transport(e)) = result else {
                panic!("{result:?}")
            };
            assert!(e.is_connect());
        }
        for result in &got[13..] {
            assert!(
                matches!(result, Err(Error::NotAttempted { reason }) if reason == STOPPED),
                "{result:?}"
            );
        }
    }

    #[test]
    fn in_parallel_keeps_order_and_caps_its_threads() {
        let items: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        let threads = std::sync::Mutex::new(HashSet::new());
        let got = in_parallel(&items, usize::MAX, |item| {
            threads.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(Duration::from_millis(1));
            item.parse::<usize>().unwrap()
        });
        assert_eq!(got, (0..200).collect::<Vec<_>>());
        let threads = threads.lock().unwrap().len();
        assert!(threads > 1 && threads <= MAX_PARALLELISM, "{threads}");
        assert!(in_parallel(&[] as &[&str], 8, |_| 0).is_empty());
    }

    #[test]
    fn a_panic_in_one_call_stops_the_batch_and_is_passed_on() {
        let items: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
        let calls = AtomicUsize::new(0);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            in_parallel(&items, 4, |item| {
                calls.fetch_add(1, Ordering::SeqCst);
                if item == "0" {
                    panic!("revoke 0 failed");
                }
                std::thread::sleep(Duration::from_millis(1));
            })
        }));
        let panic = outcome.unwrap_err();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"revoke 0 failed"));
        // The other three workers stop at their next item once the panic
        // unwinds (after the panic hook has run), not at the end.
        assert!(calls.load(Ordering::SeqCst) < 3000, "{calls:?}");
    }
}
