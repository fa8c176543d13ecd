//! The main job: create a project token, walk every token page by page, revoke
//! the new one.
//!
//! ```text
//! cargo run --example quickstart                      # offline, against FakeServer
//! MAGICBELL_TOKEN=... cargo run --example quickstart  # the real API: lists the first page
//! MAGICBELL_TOKEN=... cargo run --example quickstart -- --create-and-revoke
//! ```
//!
//! Without `MAGICBELL_TOKEN` the example starts the crate's `FakeServer` (an
//! in-memory MagicBell JWT service that keeps state: cargo feature `fake`,
//! which the crate's dev-dependency on itself turns on), seeds it with a few
//! tokens, runs the whole job against it, then shows that the revoked token
//! is refused as a bearer.

use std::process::ExitCode;

use magicbell_jwt::{
    AccessToken, Client, CreateProjectTokenRequest, CreateTokenResponse, Error, FakeServer,
    FetchProjectTokensParams,
};

const PAGE_SIZE: u32 = 3;

fn main() -> ExitCode {
    let create = std::env::args().any(|a| a == "--create-and-revoke");
    let result = match std::env::var("MAGICBELL_TOKEN") {
        Ok(token) if !token.trim().is_empty() => real(create).map_err(Into::into),
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
        return walk(&client, "magicbell-jwt quickstart").map(drop);
    }
    let page = client.fetch_project_tokens(&FetchProjectTokensParams::default().limit(20))?;
    println!("The first page of project tokens:");
    print_table(&page.data);
    println!("(pass --create-and-revoke to create a token, walk every page and revoke it)");
    Ok(())
}

/// Offline: the whole job against a local fake of the service, then proof
/// that the revoked token no longer works.
fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let fake = FakeServer::start()?;
    seed(&fake)?;
    println!("Local demo: MAGICBELL_TOKEN is not set, so this runs against FakeServer, an");
    println!(
        "in-memory fake of the MagicBell JWT service at {}.",
        fake.base_url()
    );
    println!("Set MAGICBELL_TOKEN (and optionally MAGICBELL_BASE_URL) to use the real API.\n");

    let created = walk(&fake.client(), "quickstart demo")?;

    // The fake keeps state like the real service: the revoked token is refused.
    let revoked = Client::builder(created.token)
        .base_url(fake.base_url())
        .no_proxy()
        .build()?;
    match revoked.fetch_project_tokens(&FetchProjectTokensParams::default()) {
        Err(Error::Api(e)) if e.status() == 401 => {
            println!("4. Using the revoked token as a bearer now fails: {e}");
            Ok(())
        }
        Ok(_) => Err("the revoked token was still accepted".into()),
        Err(e) => Err(e.into()),
    }
}

/// A few project tokens, one revoked. The fake's clock stands at the time it
/// started, so every date shown is today's.
fn seed(fake: &FakeServer) -> Result<(), magicbell_jwt::Error> {
    const DAY: u64 = 86_400;
    let client = fake.client();
    let tokens = [
        ("deploy bot", Some(365 * DAY)),
        ("ci runner", None),
        ("grafana exporter", Some(92 * DAY)),
        ("staging backfill", Some(31 * DAY)),
        ("support console", None),
        ("nightly export", Some(365 * DAY)),
        ("incident bot", None),
    ];
    for (name, expiry) in tokens {
        let mut request = CreateProjectTokenRequest::new(name);
        request.expiry = expiry;
        let created = client.create_project_jwt(&request)?;
        if name == "staging backfill" {
            client.discard_project_jwt(&created.token_id)?;
        }
    }
    Ok(())
}

/// Create → list every page through the Paginator → discard; the created
/// token, now revoked.
fn walk(client: &Client, name: &str) -> Result<CreateTokenResponse, magicbell_jwt::Error> {
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
    Ok(created)
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
