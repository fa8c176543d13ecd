//! The fake's JWT service in front of its state: what the rate limit, faults,
//! latency and the request log do to a request read in full, and which of the
//! state's operations answers it.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::answer::{reason, render, write_answer, Answer};
use super::control;
use super::faults::FakeFault;
use super::rate_limit::Admission;
use super::request::{json_body, FakeRequest, Request};
use super::routes::{resolve, Call, FakeRoute};
use super::shared::Shared;

/// Answers one request; false when the connection must close.
pub(super) fn handle(
    stream: &mut TcpStream,
    request: Request,
    shared: &Shared,
    addr: SocketAddr,
) -> bool {
    // The unit tests' stand-in for a bug outside answering.
    #[cfg(test)]
    if request.target == "/test/panic-outside" {
        panic!("the panic a unit test asked for");
    }
    // Control requests are the test's, not the API's: no rate limit, no
    // fault, no latency, no log.
    if let Some(answer) = control::serve(&request, shared) {
        let close = request.close || answer.close;
        return write_answer(stream, &answer, &request.method, close).is_ok() && !close;
    }
    let call = resolve(&request, addr);
    // As at a gateway in front of the service: the rate limit counts every
    // request, and one over it never reaches the faults or the service.
    let (latency, over, shown, fault) = {
        let mut state = shared.lock();
        let admission = state.rate.as_mut().map(|rate| rate.admit(Instant::now()));
        let over = admission.filter(|a| !a.admitted);
        let fault = match over {
            Some(_) => None,
            None => state.faults.next(call.as_ref().ok().map(|c| c.route)),
        };
        let shown = admission.filter(|_| state.rate_headers);
        (state.latency, over, shown, fault)
    };
    // The request takes effect at once; only what leaves the fake (the
    // answer, or the close) waits, as behind a slow network after the
    // server acted. A client that times out meanwhile, or a Drop during the
    // wait, loses the answer but not the change.
    let (mut answer, wait) = match (over, fault) {
        (Some(over), _) => (rate_limited(&over), latency),
        (None, Some(FakeFault::Close)) => {
            shared.sleep(latency);
            record(shared, request.method, request.target, None);
            return false;
        }
        (None, Some(FakeFault::Status(status))) => (fault_answer(status), latency),
        (None, Some(FakeFault::RetryAfter(status, secs))) => (
            fault_answer(status).with_header("retry-after", secs.to_string()),
            latency,
        ),
        (None, Some(FakeFault::Delay(delay))) => (
            route_caught(call, &request, shared, addr),
            latency.saturating_add(delay),
        ),
        (None, None) => (route_caught(call, &request, shared, addr), latency),
    };
    if let Some(shown) = shown {
        answer = answer
            .with_header("ratelimit-limit", shown.limit.to_string())
            .with_header("ratelimit-remaining", shown.remaining.to_string())
            .with_header("ratelimit-reset", shown.reset.to_string());
    }
    if !shared.sleep(wait) {
        record(shared, request.method, request.target, None);
        return false;
    }
    let close = request.close || answer.close;
    answer_and_record(
        stream,
        shared,
        request.method,
        request.target,
        &answer,
        close,
    ) && !close
}

/// Writes `answer` to the request `method target`, and records the request
/// with the status its client was sent (`None` when the write failed);
/// whether the write succeeded.
pub(super) fn answer_and_record(
    stream: &mut TcpStream,
    shared: &Shared,
    method: String,
    target: String,
    answer: &Answer,
    close: bool,
) -> bool {
    let bytes = render(answer, &method, close);
    let request = FakeRequest {
        method,
        path: target,
        status: Some(answer.status),
    };
    // Recorded before the last byte leaves, so that a client holding its
    // whole answer finds its request in the log; sent to the feed after it,
    // so that the feed never names an answer that was not written.
    let (most, last) = bytes.split_at(bytes.len().saturating_sub(1));
    if stream.write_all(most).is_err() {
        record(shared, request.method, request.path, None);
        return false;
    }
    let number = shared.lock().log.answering(request.clone());
    let written = stream.write_all(last).and_then(|()| stream.flush()).is_ok();
    shared.lock().log.answered(number, request, written);
    written
}

/// [`route`], with a panic (a bug in the fake) counted and answered 500.
fn route_caught(
    call: Result<Call, Answer>,
    request: &Request,
    shared: &Shared,
    addr: SocketAddr,
) -> Answer {
    match panic::catch_unwind(AssertUnwindSafe(|| route(call, request, shared, addr))) {
        Ok(answer) => answer,
        Err(_) => {
            shared.panics.fetch_add(1, Ordering::SeqCst);
            let mut answer = Answer::error(
                500,
                "internal_server_error",
                "the fake panicked answering this request: a bug in the fake",
                "report it with the request; the fake serves other connections on",
            );
            answer.close = true;
            answer
        }
    }
}

fn fault_answer(status: u16) -> Answer {
    let status = if (200..=599).contains(&status) {
        status
    } else {
        500
    };
    Answer::error(
        status,
        &reason(status).to_ascii_lowercase().replace(' ', "_"),
        format!("a fault injected into the fake: status {status}"),
        "FakeServer::inject set this answer up; the next requests are answered normally once it is used",
    )
}

fn rate_limited(over: &Admission) -> Answer {
    Answer::error(
        429,
        "too_many_requests",
        format!(
            "the fake's rate limit allows {} requests a window; this window ends in {} s",
            over.limit, over.reset
        ),
        "wait as long as Retry-After says, then send the request again",
    )
    .with_header("retry-after", over.reset.to_string())
}

/// Adds a request whose answer is out (or never will be) to the log.
fn record(shared: &Shared, method: String, path: String, status: Option<u16>) {
    let request = FakeRequest {
        method,
        path,
        status,
    };
    shared.lock().log.record(request);
}

// --- The API ---------------------------------------------------------------------

/// The answer to `call`, or to a request that makes none.
fn route(
    call: Result<Call, Answer>,
    request: &Request,
    shared: &Shared,
    addr: SocketAddr,
) -> Answer {
    // The unit tests' stand-in for a bug: a panic holding the state's lock.
    #[cfg(test)]
    if request.target == "/test/panic" {
        let _state = shared.lock();
        panic!("the panic a unit test asked for");
    }
    let call = match call {
        Ok(call) => call,
        Err(answer) => return answer,
    };
    let mut state = shared.lock();
    if !state.authorized(request.header("authorization"), &shared.admin_token) {
        return Answer::error(
            401,
            "unauthorized",
            "the bearer token is missing, unknown, revoked or expired",
            "send Authorization: Bearer with the fake's admin token or a live project token",
        );
    }
    let Call { route, id, query } = call;
    match route {
        FakeRoute::ListProjectTokens => {
            let url = format!("http://{addr}/v2/jwt/project");
            state.list(&query, &url, &state.project)
        }
        FakeRoute::ListUserTokens => {
            let url = format!(
                "http://{addr}/v2/jwt/user/{}",
                crate::url::percent_encode(&id)
            );
            let tokens = state.users.get(&id).map_or(&[][..], Vec::as_slice);
            state.list(&query, &url, tokens)
        }
        FakeRoute::CreateProjectToken => match json_body(request) {
            Ok(body) => state.create_project(&body),
            Err(answer) => answer,
        },
        FakeRoute::CreateUserToken => match json_body(request) {
            Ok(body) => state.create_user(&body),
            Err(answer) => answer,
        },
        FakeRoute::DiscardProjectToken => state.discard(&id, false),
        FakeRoute::DiscardUserToken => state.discard(&id, true),
    }
}
