//! The fake's transport: a hand-written HTTP/1.1 server (the accept loop, one
//! thread a connection) within the limits on connections and time.

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::answer::{write_answer, Answer};
use super::limits::{IDLE_TIMEOUT, POLL};
use super::read::{read_request, Incoming};
use super::service::{answer_and_record, handle};
use super::shared::Shared;

/// The accept loop's first wait after finding no connection; it doubles up to
/// [`ACCEPT_POLL_MAX`] while none comes, and starts again after each one.
const ACCEPT_POLL_MIN: Duration = Duration::from_millis(1);
/// The accept loop's longest wait between polls: the most a connection
/// arriving after an idle spell waits to be accepted.
const ACCEPT_POLL_MAX: Duration = Duration::from_millis(5);

// --- Connections ---------------------------------------------------------------

pub(super) fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, addr: SocketAddr) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut wait = ACCEPT_POLL_MIN;
    while !shared.stopping() {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // No connection yet, or out of file descriptors and the like:
            // wait, do not spin.
            Err(_) => {
                thread::sleep(wait);
                wait = backoff(wait);
                continue;
            }
        };
        wait = ACCEPT_POLL_MIN;
        workers.retain(|w| !w.is_finished());
        if workers.len() >= shared.limits.max_connections {
            refuse_connection(stream, shared.limits.max_connections);
            continue;
        }
        // Some systems hand out an accepted socket as nonblocking as its
        // listener; the connection threads read with timeouts instead.
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        let serving = shared.clone();
        let spawned = thread::Builder::new()
            .name("magicbell-fake-conn".into())
            .spawn(move || serve(stream, &serving, addr));
        if let Ok(worker) = spawned {
            workers.push(worker);
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
}

/// The accept loop's next wait after `wait` found no connection: twice as
/// long, up to [`ACCEPT_POLL_MAX`].
fn backoff(wait: Duration) -> Duration {
    (wait * 2).min(ACCEPT_POLL_MAX)
}

/// Answers a connection over the cap 503 and closes it, without blocking the
/// accept loop: what the client already sent is read and dropped first, so
/// that closing does not reset the connection under the answer.
fn refuse_connection(mut stream: TcpStream, max: usize) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let mut chunk = [0u8; 8192];
    for _ in 0..8 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let answer = Answer::error(
        503,
        "service_unavailable",
        format!("the fake already serves {max} connections, its most"),
        &format!(
            "close idle connections (the fake closes them after {} s without a request) and connect again",
            IDLE_TIMEOUT.as_secs()
        ),
    );
    let _ = write_answer(&mut stream, &answer, "", true);
    let _ = stream.shutdown(Shutdown::Write);
}

/// A connection thread: serves `stream` until it closes, catching a panic
/// (a bug in the fake) so that it ends this connection only, and counting it.
fn serve(mut stream: TcpStream, shared: &Shared, addr: SocketAddr) {
    let id = shared.next_connection.fetch_add(1, Ordering::SeqCst);
    {
        let mut open = shared.connections();
        // Checked under the lock `Drop` takes to shut connections down: a
        // connection either is shut down by it or sees the flag here.
        if shared.stopping() {
            return;
        }
        match stream.try_clone() {
            Ok(handle) => open.insert(id, handle),
            Err(_) => return,
        };
    }
    let served = panic::catch_unwind(AssertUnwindSafe(|| {
        serve_connection(&mut stream, shared, addr);
    }));
    if served.is_err() {
        shared.panics.fetch_add(1, Ordering::SeqCst);
    }
    let _ = stream.shutdown(Shutdown::Both);
    shared.connections().remove(&id);
}

fn serve_connection(stream: &mut TcpStream, shared: &Shared, addr: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let timeouts = stream
        .set_read_timeout(Some(POLL))
        .and_then(|()| stream.set_write_timeout(Some(shared.limits.write_timeout)));
    if timeouts.is_err() {
        return;
    }
    let mut buffer = Vec::new();
    loop {
        match read_request(stream, &mut buffer, shared) {
            Incoming::Gone => break,
            Incoming::Refused {
                method,
                path,
                answer,
            } => {
                answer_and_record(stream, shared, method, path, &answer, true);
                break;
            }
            Incoming::Request(request) => {
                let keep = handle(stream, request, shared, addr);
                if !keep {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_loop_waits_twice_as_long_each_time_up_to_its_most() {
        let ms = Duration::from_millis;
        let waits: Vec<Duration> =
            std::iter::successors(Some(ACCEPT_POLL_MIN), |w| Some(backoff(*w)))
                .take(5)
                .collect();
        assert_eq!(waits, [ms(1), ms(2), ms(4), ms(5), ms(5)]);
    }
}
