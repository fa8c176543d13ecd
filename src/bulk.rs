//! Bulk calls: one call per item on a few scoped threads, results in order.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::MAX_PARALLELISM;

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
    use std::collections::HashSet;
    use std::time::Duration;

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
