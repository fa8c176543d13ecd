//! The main job: create a project token, walk every token page by page, revoke
//! the new one.
//!
//! ```text
//! cargo run --example quickstart                      # offline, against a local mock
//! MAGICBELL_TOKEN=... cargo run --example quickstart  # the real API: lists the first page
//! MAGICBELL_TOKEN=... cargo run --example quickstart -- --create-and-revoke
//! ```
//!
//! Without `MAGICBELL_TOKEN` the example starts an in-process mock of the
//! MagicBell API (httpmock, a dev-dependency) that serves three pages of
//! tokens, a create and a discard, and says so.

use std::process::ExitCode;

use httpmock::Method::{DELETE, GET, POST};
use httpmock::MockServer;
use magicbell_jwt::{AccessToken, Client, CreateProjectTokenRequest, FetchProjectTokensParams};
use serde_json::{json, Value};

const PAGE_SIZE: u32 = 3;

fn main() -> ExitCode {
    let create = std::env::args().any(|a| a == "--create-and-revoke");
    let result = match std::env::var("MAGICBELL_TOKEN") {
        Ok(token) if !token.trim().is_empty() => real(create),
        _ => demo(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Against the real API: the first page, and a create and revoke only when asked.
fn real(create: bool) -> Result<(), magicbell_jwt::Error> {
    let client = Client::from_env()?;
    println!("Talking to {}", client.base_url());
    if create {
        return walk(&client, "magicbell-jwt quickstart");
    }
    let page = client.fetch_project_tokens(&FetchProjectTokensParams::default().limit(20))?;
    println!("The first page of project tokens:");
    print_table(&page.data);
    println!("(pass --create-and-revoke to create a token, walk every page and revoke it)");
    Ok(())
}

/// Offline: the whole walk against a local mock of the API.
fn demo() -> Result<(), magicbell_jwt::Error> {
    let server = MockServer::start();
    serve_mock_api(&server);
    println!("Local demo: MAGICBELL_TOKEN is not set, so this runs against an in-process");
    println!("mock of the MagicBell API at {}.", server.url("/v2"));
    println!("Set MAGICBELL_TOKEN (and optionally MAGICBELL_BASE_URL) to use the real API.\n");

    let client = Client::builder("demo-project-token")
        .base_url(server.url("/v2"))
        .build()?;
    walk(&client, "quickstart demo")
}

/// Create → list every page through the Paginator → discard.
fn walk(client: &Client, name: &str) -> Result<(), magicbell_jwt::Error> {
    let created = client.create_project_jwt(&CreateProjectTokenRequest::new(name).expiry(3600))?;
    println!("1. Created project token {} (\"{name}\")", created.token_id);
    println!(
        "   Its value ({} characters, starting {}…) is shown only once: store it now.\n",
        created.token.len(),
        created.token.get(..8).unwrap_or_default()
    );

    println!("2. Every project token, {PAGE_SIZE} per page, fetched as the loop needs them:");
    let mut pages = 0;
    let mut tokens = Vec::new();
    for page in client
        .project_tokens(FetchProjectTokensParams::default().limit(PAGE_SIZE))
        .pages()
    {
        pages += 1;
        tokens.extend(page?.data);
    }
    print_table(&tokens);
    println!("   {} tokens in {pages} pages.\n", tokens.len());

    let discarded = client.discard_project_jwt(&created.token_id)?;
    println!(
        "3. Revoked {} at {}.",
        discarded.token_id, discarded.discarded_at
    );
    Ok(())
}

fn print_table(tokens: &[AccessToken]) {
    let rows: Vec<[&str; 5]> = tokens
        .iter()
        .map(|t| {
            [
                t.id.as_deref().unwrap_or("-"),
                t.name.as_deref().unwrap_or("-"),
                &t.created_at,
                t.expires_at.as_deref().unwrap_or("-"),
                if t.discarded_at.is_some() {
                    "revoked"
                } else {
                    "active"
                },
            ]
        })
        .collect();
    let header = ["ID", "NAME", "CREATED", "EXPIRES", "STATUS"];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("   {}", cells.join("  ").trim_end());
    }
}

// --- The local mock -----------------------------------------------------------

const CREATED_ID: &str = "01JDEMO0000000000000000NEW";

fn demo_tokens() -> Vec<Value> {
    let names = [
        (
            "01JDEMO0000000000000000NEW",
            "quickstart demo",
            "2026-11-29T09:00:00Z",
            Some("2026-11-29T10:00:00Z"),
            None,
        ),
        (
            "01JA7K3M9Q4V8X2C5B6N1P0R7S",
            "deploy bot",
            "2026-10-02T08:15:00Z",
            Some("2027-10-02T08:15:00Z"),
            None,
        ),
        (
            "01JA9T2W6E1R5Y8U3I7O4P0A2S",
            "ci runner",
            "2026-10-05T12:30:00Z",
            None,
            None,
        ),
        (
            "01JB2D4F6G8H0J2K4L6Z8X0C2V",
            "grafana exporter",
            "2026-10-19T17:45:00Z",
            Some("2027-01-19T17:45:00Z"),
            None,
        ),
        (
            "01JB5N7M9Q1W3E5R7T9Y1U3I5O",
            "staging backfill",
            "2026-10-27T06:00:00Z",
            Some("2026-11-27T06:00:00Z"),
            Some("2026-11-02T10:12:00Z"),
        ),
        (
            "01JC1A3S5D7F9G1H3J5K7L9Z1X",
            "support console",
            "2026-11-03T14:20:00Z",
            None,
            None,
        ),
        (
            "01JC4C6V8B0N2M4Q6W8E0R2T4Y",
            "nightly export",
            "2026-11-11T01:00:00Z",
            Some("2027-11-11T01:00:00Z"),
            None,
        ),
        (
            "01JC8U0I2O4P6A8S0D2F4G6H8J",
            "incident bot",
            "2026-11-20T22:05:00Z",
            None,
            None,
        ),
    ];
    names
        .iter()
        .map(|(id, name, created, expires, discarded)| {
            json!({"id": id, "name": name, "created_at": created, "expires_at": expires, "discarded_at": discarded})
        })
        .collect()
}

/// Serves `POST`, paginated `GET` (three pages of three) and `DELETE` under `/v2/jwt/project`.
fn serve_mock_api(server: &MockServer) {
    server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(201).json_body(json!({
            "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vIn0.ZGVtby1zaWduYXR1cmU",
            "token_id": CREATED_ID,
            "created_at": "2026-11-29T09:00:00Z",
            "expires_at": "2026-11-29T10:00:00Z"
        }));
    });
    server.mock(|when, then| {
        when.method(DELETE)
            .path(format!("/v2/jwt/project/{CREATED_ID}"));
        then.status(200)
            .json_body(json!({"token_id": CREATED_ID, "discarded_at": "2026-11-29T09:00:05Z"}));
    });

    let tokens = demo_tokens();
    let chunks: Vec<&[Value]> = tokens.chunks(PAGE_SIZE as usize).collect();
    let mut cursor: Option<String> = None;
    for (i, chunk) in chunks.iter().enumerate() {
        let last = chunk
            .last()
            .and_then(|t| t["id"].as_str())
            .unwrap_or_default();
        let next = (i + 1 < chunks.len()).then(|| {
            format!(
                "{}?limit={PAGE_SIZE}&starting_after={last}",
                server.url("/v2/jwt/project")
            )
        });
        let body = json!({
            "data": chunk,
            "links": {"first": server.url("/v2/jwt/project"), "next": next, "prev": null}
        });
        let after = cursor.clone();
        server.mock(move |when, then| {
            let when = when
                .method(GET)
                .path("/v2/jwt/project")
                .query_param("limit", PAGE_SIZE.to_string());
            match after {
                Some(c) => when.query_param("starting_after", c),
                None => when.query_param_missing("starting_after"),
            };
            then.status(200).json_body(body);
        });
        cursor = Some(last.to_owned());
    }
}
