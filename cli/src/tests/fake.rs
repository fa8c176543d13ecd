//! `fake`: its options read and refused, the fake they start, and serving until asked to stop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use magicbell_jwt::{Client, CreateProjectTokenRequest, FakeFault, FakeRoute, FakeServer};

use super::{argv, tool_with};
use crate::fake::{self, FakeOptions};
use crate::hiargs::{resolve, Checked};
use crate::lowargs::Parsed;
use crate::parse::parse;

/// `fake LINE` parsed and checked: its options, or why it was refused.
fn checked(line: &str) -> Result<FakeOptions, String> {
    match parse(argv(&format!("fake {line}"))).map_err(|e| e.message)? {
        Parsed::Run(args) => match resolve(*args, &mut "".as_bytes()) {
            Ok(Checked::Fake(options)) => Ok(options),
            Ok(Checked::Run(other)) => panic!("{line:?} checked as {other:?}"),
            Err(e) => Err(e.message),
        },
        other => panic!("{line:?} parsed as {other:?}"),
    }
}

#[track_caller]
fn options(line: &str) -> FakeOptions {
    checked(line).unwrap_or_else(|e| panic!("{line:?} refused: {e}"))
}

#[track_caller]
fn refused(line: &str) -> String {
    match checked(line) {
        Ok(options) => panic!("{line:?} accepted: {options:?}"),
        Err(e) => e,
    }
}

/// A client of `fake` that sends each request once, so that a 429 or a
/// fault reaches the test.
fn once(fake: &FakeServer) -> Client {
    Client::builder(fake.admin_token())
        .base_url(fake.base_url())
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap()
}

/// One request on a connection of its own to the fake at `base_url`: the
/// status and the head (status line and headers).
#[track_caller]
fn head_of(base_url: &str, method: &str, path: &str, token: &str) -> (u16, String) {
    let addr = base_url
        .trim_start_matches("http://")
        .trim_end_matches("/v2");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: fake\r\nauthorization: Bearer {token}\r\n\
         connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let head = answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_owned();
    (head[9..12].parse().unwrap(), head)
}

#[test]
fn the_rate_limit_takes_requests_and_a_duration_with_its_unit() {
    let limit = |line: &str| options(line).rate_limit;
    assert_eq!(limit(""), None);
    assert_eq!(
        limit("--rate-limit 100/1s"),
        Some((100, Duration::from_secs(1)))
    );
    assert_eq!(
        limit("--rate-limit=2/60s"),
        Some((2, Duration::from_secs(60)))
    );
    assert_eq!(
        limit("--rate-limit 10/500ms"),
        Some((10, Duration::from_millis(500)))
    );
    assert_eq!(
        limit("--rate-limit 1/2m"),
        Some((1, Duration::from_secs(120)))
    );
    assert_eq!(
        limit("--rate-limit 4294967295/1h"),
        Some((u32::MAX, Duration::from_secs(3600)))
    );
    assert!(!options("--rate-limit 1/1s").rate_limit_headers);
    assert!(options("--rate-limit 1/1s --rate-limit-headers").rate_limit_headers);
}

#[test]
fn a_rate_limit_that_limits_nothing_or_everything_is_refused() {
    let takes = "--rate-limit takes N/DURATION, such as 100/1s, not";
    assert_eq!(refused("--rate-limit 100"), format!("{takes} \"100\""));
    assert_eq!(refused("--rate-limit 1s"), format!("{takes} \"1s\""));
    let requests = "--rate-limit takes 1 to 4294967295 requests, not";
    assert_eq!(refused("--rate-limit 0/1s"), format!("{requests} \"0\""));
    assert_eq!(refused("--rate-limit +1/1s"), format!("{requests} \"+1\""));
    assert_eq!(refused("--rate-limit x/1s"), format!("{requests} \"x\""));
    assert_eq!(
        refused("--rate-limit 4294967296/1s"),
        format!("{requests} \"4294967296\"")
    );
    let duration =
        "--rate-limit takes a DURATION of a whole number and ms, s, m or h, such as 1s, not";
    for per in ["1", "s", "1d", "1.5s", "-1s", "1/1s"] {
        let value = format!("5/{per}");
        let line = format!("--rate-limit={value}");
        let per = value.split_once('/').unwrap().1;
        assert_eq!(refused(&line), format!("{duration} {per:?}"), "{line}");
    }
    assert_eq!(
        refused("--rate-limit 5/99999999999999999h"),
        format!("{duration} \"99999999999999999h\"")
    );
    for per in ["0s", "0ms", "0h"] {
        assert_eq!(
            refused(&format!("--rate-limit 5/{per}")),
            format!("--rate-limit takes a DURATION over 0, not {per:?}")
        );
    }
    assert_eq!(
        refused("--rate-limit-headers"),
        "--rate-limit-headers needs --rate-limit N/DURATION"
    );
    assert_eq!(
        refused("--rate-limit 1/1s --rate-limit 2/1s"),
        "--rate-limit is given twice"
    );
    assert_eq!(refused("--rate-limit"), "--rate-limit needs a value");
}

#[test]
fn faults_are_read_by_the_library_and_kept_in_the_order_given() {
    assert_eq!(options("").faults, []);
    assert_eq!(
        options(
            "--fault discard_project_token:1:3:500 --fault any:0:2:429/5 \
             --fault=create_user_token:0:1:close --fault list_user_tokens:2:1:delay=300"
        )
        .faults,
        [
            (
                Some(FakeRoute::DiscardProjectToken),
                1,
                3,
                FakeFault::Status(500)
            ),
            (None, 0, 2, FakeFault::RetryAfter(429, 5)),
            (Some(FakeRoute::CreateUserToken), 0, 1, FakeFault::Close),
            (
                Some(FakeRoute::ListUserTokens),
                2,
                1,
                FakeFault::Delay(Duration::from_millis(300))
            ),
        ]
    );
    // Each refusal is the library's sentence, after the rule refused.
    for rule in [
        "500",
        "revoke:0:1:500",
        "any:2:1:close",
        "discard_project_token:0:0:500",
        "discard_project_token:x:1:500",
        "discard_project_token:0:1:99",
        "discard_project_token:0:1:boom",
    ] {
        let e = FakeFault::parse_rule(rule).unwrap_err();
        assert_eq!(
            refused(&format!("--fault any:0:1:500 --fault {rule}")),
            format!("--fault {rule:?}: {e}")
        );
    }
    assert_eq!(refused("--fault"), "--fault needs a value");
}

#[test]
fn the_request_log_limit_is_a_whole_number_and_0_turns_it_off() {
    assert_eq!(options("").request_log_limit, None);
    assert_eq!(options("--request-log-limit 0").request_log_limit, Some(0));
    assert_eq!(
        options("--request-log-limit=1000000").request_log_limit,
        Some(1_000_000)
    );
    assert_eq!(
        refused("--request-log-limit -1"),
        "--request-log-limit takes a whole number, not \"-1\""
    );
    assert_eq!(
        refused("--request-log-limit lots"),
        "--request-log-limit takes a whole number, not \"lots\""
    );
}

#[test]
fn a_refused_fake_option_exits_2_pointing_at_fake_help() {
    let (code, out, err) = tool_with(&[], "fake --rate-limit 2/60 --port 0");
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "error: --rate-limit takes a DURATION of a whole number and ms, s, m or h, \
         such as 1s, not \"60\"; see 'magicbell-jwt fake --help'\n"
    );
    let (code, _, err) = tool_with(&[], "fake --fault any:0:1:teapot");
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: --fault \"any:0:1:teapot\": \"teapot\" is no fault: "),
        "{err}"
    );
    assert!(
        err.ends_with("; see 'magicbell-jwt fake --help'\n"),
        "{err}"
    );
}

#[test]
fn the_rate_limit_answers_429_past_its_requests_with_headers_when_asked() {
    let fake = fake::start(&options("--rate-limit 2/60s")).unwrap();
    let client = once(&fake);
    for _ in 0..2 {
        client.fetch_project_tokens(&Default::default()).unwrap();
    }
    let third = client.fetch_project_tokens(&Default::default());
    assert_eq!(third.unwrap_err().status(), Some(429));
    let statuses: Vec<_> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(200), Some(200), Some(429)]);
    let (status, head) = head_of(
        &fake.base_url(),
        "GET",
        "/v2/jwt/project",
        fake.admin_token(),
    );
    assert_eq!(status, 429);
    assert!(!head.to_lowercase().contains("ratelimit-limit"), "{head}");

    let fake = fake::start(&options("--rate-limit 5/60s --rate-limit-headers")).unwrap();
    let (status, head) = head_of(
        &fake.base_url(),
        "GET",
        "/v2/jwt/project",
        fake.admin_token(),
    );
    assert_eq!(status, 200);
    let head = head.to_lowercase();
    assert!(head.contains("\r\nratelimit-limit: 5\r\n"), "{head}");
    assert!(head.contains("\r\nratelimit-remaining: 4\r\n"), "{head}");
}

#[test]
fn faults_are_set_up_in_order_at_the_start() {
    let fake = fake::start(&options(
        "--fault create_project_token:0:1:429/3 --fault discard_project_token:1:1:500",
    ))
    .unwrap();
    let client = once(&fake);
    let request = CreateProjectTokenRequest::new("ci");
    let refused = client.create_project_jwt(&request).unwrap_err();
    assert_eq!(refused.status(), Some(429));
    let ids: Vec<String> = (0..3)
        .map(|_| client.create_project_jwt(&request).unwrap().token_id)
        .collect();
    let revokes: Vec<Option<u16>> = ids
        .iter()
        .map(|id| {
            client
                .discard_project_jwt(id)
                .err()
                .and_then(|e| e.status())
        })
        .collect();
    assert_eq!(revokes, [None, Some(500), None]);
    let statuses: Vec<_> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 201, 201, 201, 200, 500, 200].map(Some));
}

#[test]
fn the_request_log_keeps_what_its_limit_says_and_every_request_still_counts() {
    let fake = fake::start(&options("--request-log-limit 0 --rate-limit 3/60s")).unwrap();
    let client = once(&fake);
    for _ in 0..3 {
        client.fetch_project_tokens(&Default::default()).unwrap();
    }
    let fourth = client.fetch_project_tokens(&Default::default());
    assert_eq!(fourth.unwrap_err().status(), Some(429));
    assert_eq!(fake.requests(), []);

    let fake = fake::start(&options("--request-log-limit 2")).unwrap();
    let client = once(&fake);
    client.fetch_project_tokens(&Default::default()).unwrap();
    let created = client
        .create_project_jwt(&CreateProjectTokenRequest::new("ci"))
        .unwrap();
    client.discard_project_jwt(&created.token_id).unwrap();
    let kept: Vec<String> = fake.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(kept, ["POST", "DELETE"]);
}

/// A stream both `serve` and the test hold: what it was sent so far.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `fake LINE` served on a thread of its own: its stdout, its stderr,
/// what stops it, and the thread, which gives the exit status.
fn serving(
    line: &str,
) -> (
    Shared,
    Shared,
    Box<dyn FnMut() + Send>,
    std::thread::JoinHandle<u8>,
) {
    let options = options(line);
    let (out, err) = (Shared::default(), Shared::default());
    let (stops, stop) = mpsc::channel();
    let (mut o, mut e) = (out.clone(), err.clone());
    let thread = std::thread::spawn(move || {
        fake::serve(&options, &mut o, &mut e, |stop| {
            stops.send(stop).map_err(|e| e.to_string())
        })
    });
    let stop = stop.recv().unwrap();
    while !err.text().contains("serving; stop with Ctrl-C\n") {
        std::thread::sleep(Duration::from_millis(5));
    }
    (out, err, stop, thread)
}

/// The client of the fake whose variables are `out`'s.
fn client_of(out: &Shared) -> Client {
    let text = out.text();
    let var = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap()
            .to_owned()
    };
    Client::builder(var("MAGICBELL_TOKEN="))
        .base_url(var("MAGICBELL_BASE_URL="))
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap()
}

#[test]
fn asked_to_stop_it_logs_every_request_answered_and_returns_0() {
    let (out, err, mut stop, thread) = serving("--rate-limit 1/60s");
    let client = client_of(&out);
    client.fetch_project_tokens(&Default::default()).unwrap();
    let limited = client.fetch_project_tokens(&Default::default());
    assert_eq!(limited.unwrap_err().status(), Some(429));

    stop();
    assert_eq!(thread.join().unwrap(), 0);
    assert_eq!(
        err.text(),
        "serving; stop with Ctrl-C\nGET /v2/jwt/project -> 200\nGET /v2/jwt/project -> 429\n"
    );
    // Stopped: nothing listens any more.
    assert!(client.fetch_project_tokens(&Default::default()).is_err());
}

#[test]
fn a_stop_during_the_latency_logs_the_request_as_never_answered() {
    let (out, err, mut stop, thread) = serving("--latency-ms 5000");
    let client = client_of(&out);
    let waiting = std::thread::spawn(move || client.fetch_project_tokens(&Default::default()));
    // The request has taken effect and waits out the latency.
    std::thread::sleep(Duration::from_millis(300));

    stop();
    assert_eq!(thread.join().unwrap(), 0);
    assert!(waiting.join().unwrap().is_err());
    assert_eq!(
        err.text(),
        "serving; stop with Ctrl-C\nGET /v2/jwt/project -> closed without an answer\n"
    );
}

#[test]
fn a_fake_that_cannot_be_stopped_does_not_start() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = fake::serve(&options(""), &mut out, &mut err, |_| {
        Err("could not handle SIGINT and SIGTERM: no".to_owned())
    });
    assert_eq!(code, 1);
    assert_eq!(out, b"");
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "error: could not handle SIGINT and SIGTERM: no\n"
    );
}
