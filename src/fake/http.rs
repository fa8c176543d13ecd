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
use super::service::{handle, record};
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
                record(shared, method.clone(), path, Some(answer.status));
                let _ = write_answer(stream, &answer, &method, true);
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
    use crate::fake::limits::Limits;
    use crate::fake::tests::{get, start_with, Outcome};
    use magicbell_jwt_test_support::raw_http::{self, closed, connect, read_answer, PATIENCE};
    use std::io::Write;
    use std::time::Instant;

    #[test]
    fn at_the_cap_a_connection_is_answered_503_and_closed() -> Outcome {
        let fake = start_with(Limits {
            max_connections: 2,
            ..Limits::default()
        })?;
        let mut open = Vec::new();
        for _ in 0..2 {
            let mut stream = connect(&fake.base_url());
            stream.write_all(&get(&fake, "/v2/jwt/project"))?;
            assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 200);
            open.push(stream);
        }
        let mut third = connect(&fake.base_url());
        third.write_all(&get(&fake, "/v2/jwt/project"))?;
        let raw_http::Answer { status, head, body } = read_answer(&mut third, &mut Vec::new());
        assert_eq!(status, 503);
        assert!(head.contains("connection: close\r\n"), "{head}");
        assert_eq!(body["errors"][0]["code"], "service_unavailable");
        assert_eq!(
            body["errors"][0]["message"],
            "the fake already serves 2 connections, its most"
        );
        assert!(closed(&mut third));
        // A refused connection's request is not logged.
        assert_eq!(fake.requests().len(), 2);
        // Once one closes, a new connection is served again.
        drop(open.pop());
        let waited = Instant::now();
        let served = loop {
            let mut stream = connect(&fake.base_url());
            stream.write_all(&get(&fake, "/v2/jwt/project"))?;
            let status = read_answer(&mut stream, &mut Vec::new()).status;
            if status != 503 || waited.elapsed() > PATIENCE {
                break status;
            }
            thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(served, 200);
        assert_eq!(fake.caught_panics(), 0);
        Ok(())
    }

    #[test]
    fn the_accept_loop_waits_twice_as_long_each_time_up_to_its_most() {
        let ms = Duration::from_millis;
        let waits: Vec<Duration> =
            std::iter::successors(Some(ACCEPT_POLL_MIN), |w| Some(backoff(*w)))
                .take(5)
                .collect();
        assert_eq!(waits, [ms(1), ms(2), ms(4), ms(5), ms(5)]);
    }

    #[test]
    fn a_connection_over_the_cap_that_sent_much_gets_its_503() -> Outcome {
        let fake = start_with(Limits {
            max_connections: 1,
            ..Limits::default()
        })?;
        let mut open = connect(&fake.base_url());
        open.write_all(&get(&fake, "/v2/jwt/project"))?;
        assert_eq!(read_answer(&mut open, &mut Vec::new()).status, 200);
        // 48 KiB sent: more than the fake reads before answering. (Whether
        // it reads any is not seen here: on Linux an answer already
        // received stays readable when a reset follows.)
        let mut over = connect(&fake.base_url());
        let big = format!(
            "GET /v2/jwt/project HTTP/1.1\r\nx: {}\r\n\r\n",
            "p".repeat(48 * 1024)
        );
        over.write_all(big.as_bytes())?;
        std::thread::sleep(Duration::from_millis(100));
        let answer = read_answer(&mut over, &mut Vec::new());
        assert_eq!(answer.status, 503);
        Ok(())
    }

    #[test]
    fn a_connection_without_a_request_for_the_idle_timeout_is_closed() -> Outcome {
        let idle = Duration::from_millis(300);
        let fake = start_with(Limits {
            idle_timeout: idle,
            ..Limits::default()
        })?;
        let began = Instant::now();
        let mut silent = connect(&fake.base_url());
        assert!(closed(&mut silent));
        assert!(began.elapsed() >= idle);
        // A kept-alive connection: the timeout counts from its last answer
        // (which the fake wrote after this request was sent).
        let mut kept = connect(&fake.base_url());
        let sent = Instant::now();
        kept.write_all(&get(&fake, "/v2/jwt/project"))?;
        assert_eq!(read_answer(&mut kept, &mut Vec::new()).status, 200);
        assert!(closed(&mut kept));
        assert!(sent.elapsed() >= idle);
        assert_eq!(fake.requests().len(), 1);
        Ok(())
    }
}
