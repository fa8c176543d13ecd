//! Retries and give-ups are logged at debug level through `log`, naming the
//! method, path, status or failure, attempt and wait, and never a secret;
//! so is a wait for a `Retry-After` that another call met.
//! The logger is process-wide, so this file holds one test.

use std::sync::Mutex;

use magicbell_jwt::{Client, CreateProjectTokenRequest, FetchProjectTokensParams};
use magicbell_jwt_test_support::{json, respond, FaultServer};
use magicbell_jwt_test_support::{MINTED, TOKEN};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    // The crate's one target, whichever file logs: a filter on
    // `magicbell_jwt` sees every line.
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target() == "magicbell_jwt"
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}", record.level(), record.args());
            LINES.lock().unwrap().push(line);
        }
    }

    fn flush(&self) {}
}

#[test]
fn retries_and_give_ups_are_logged_at_debug_without_secrets() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    let server = FaultServer::start(|n, _| match n {
        0 => json(503, "{}"),
        1 => json(200, r#"{"data":[]}"#),
        _ => respond(
            400,
            &[("x-request-id", TOKEN)],
            &format!(r#"{{"errors":[{{"message":"{MINTED} {TOKEN}"}}]}}"#),
        ),
    });
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .retry_delay(std::time::Duration::from_millis(2))
        .max_retry_delay(std::time::Duration::from_millis(2))
        .build()
        .unwrap();

    client
        .fetch_project_tokens(&FetchProjectTokensParams::default().limit(5))
        .unwrap();
    client
        .create_project_jwt(&CreateProjectTokenRequest::new("ci"))
        .unwrap_err();

    let lines = LINES.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0]
            .starts_with("DEBUG GET /jwt/project?limit=5: status 503 on attempt 1; retrying in "),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        "DEBUG POST /jwt/project: status 400 on attempt 1; giving up"
    );

    // A 429 waited out per its Retry-After is not a failed attempt: the call
    // waits, says so, and goes on until an answer ends it.
    let paused = FaultServer::start(|n, _| match n {
        0 => respond(429, &[("retry-after", "1")], "{}"),
        1 => respond(429, &[("retry-after", "3600")], "{}"),
        _ => json(200, r#"{"data":[]}"#),
    });
    let once = Client::builder(TOKEN)
        .base_url(paused.url())
        .max_retries(1)
        .build()
        .unwrap();
    let list = || once.fetch_project_tokens(&FetchProjectTokensParams::default());
    assert_eq!(list().unwrap_err().attempts(), Some(2));
    list().unwrap();

    let lines = LINES.lock().unwrap().clone();
    let waiting = |line: &String| {
        line.starts_with("DEBUG GET /jwt/project: waiting ")
            && line.ends_with(" for the rate limit this client met")
    };
    assert_eq!(
        lines[2],
        "DEBUG GET /jwt/project: status 429 on attempt 1; retrying when the rate limit allows"
    );
    assert!(waiting(&lines[3]), "{lines:?}");
    assert_eq!(
        lines[4],
        "DEBUG GET /jwt/project: status 429 on attempt 2; giving up"
    );
    // The next call is paced at the rate the server allowed: one a second.
    assert!(lines[5..].iter().all(waiting), "{lines:?}");
    let all = lines.join("\n");
    assert!(
        !all.contains(TOKEN) && !all.contains("minted-secret"),
        "{all}"
    );
}
