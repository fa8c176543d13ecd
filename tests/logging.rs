//! Retries and give-ups are logged at debug level through `log`, naming the
//! method, path, status or failure, attempt and wait, and never a secret;
//! so is a wait for a `Retry-After` that another call met.
//! The logger is process-wide, so this file holds one test.

mod common;

use std::sync::Mutex;

use common::fault_server::{json, respond, FaultServer};
use common::{MINTED, TOKEN};
use magicbell_jwt::{Client, CreateProjectTokenRequest, FetchProjectTokensParams};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target().starts_with("magicbell_jwt")
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

    // A Retry-After met by one call holds back the next, and says so.
    let paused = FaultServer::start(|n, _| match n {
        0 | 1 => respond(429, &[("retry-after", "1")], "{}"),
        _ => json(200, r#"{"data":[]}"#),
    });
    let once = Client::builder(TOKEN)
        .base_url(paused.url())
        .max_retries(1)
        .build()
        .unwrap();
    let list = || once.fetch_project_tokens(&FetchProjectTokensParams::default());
    list().unwrap_err();
    list().unwrap();

    let lines = LINES.lock().unwrap().clone();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(
        lines[2],
        "DEBUG GET /jwt/project: status 429 on attempt 1; retrying in 1s"
    );
    assert_eq!(
        lines[3],
        "DEBUG GET /jwt/project: status 429 on attempt 2; giving up"
    );
    assert!(
        lines[4].starts_with("DEBUG GET /jwt/project: waiting ")
            && lines[4].ends_with(" for a Retry-After this client met"),
        "{lines:?}"
    );
    let all = lines.join("\n");
    assert!(
        !all.contains(TOKEN) && !all.contains("minted-secret"),
        "{all}"
    );
}
