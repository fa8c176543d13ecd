//! Section 6 of `cargo bench`: bulk revokes, and the tool's `user-revoke-all`, against a server that enforces a rate limit.

use std::time::{Duration, Instant};

use magicbell_jwt::Client;
use magicbell_jwt_test_support::RateLimitedServer;

use super::{tool_binary, user_revoke_all_job, TOKEN};

/// (requests a second, revokes): ten seconds of the limit each.
const SWEEP: [(usize, usize); 2] = [(10, 100), (50, 500)];
const SWEEP_PARALLELISM: [usize; 4] = [1, 8, 16, 64];
/// The tool's run: users with this many tokens each, at this `--parallel`,
/// against this many requests a second.
const TOOL_USERS: usize = 20;
const TOOL_TOKENS: usize = 5;
const TOOL_PARALLEL: usize = 16;
const TOOL_LIMIT: usize = 10;

/// Section 6: the sweep (6a) and the tool (6b), or with `tool_only` 6b alone.
pub(crate) fn section(latency: Duration, tool_only: bool) {
    let ms = latency.as_millis();
    println!("\n6. Rate limits: a server that answers L requests in each whole wall-clock second and every other one 429 with");
    println!("   Retry-After (the seconds left in that second, rounded up; with headers, every answer also carries");
    println!("   RateLimit-Limit, -Remaining and -Reset), {ms} ms after a request arrives; a fresh server and client (default settings) a row");
    if !tool_only {
        sweep(latency);
    }
    tool(latency);
}

/// 6a: bulk revokes at each limit and parallelism, with and without headers.
fn sweep(latency: Duration) {
    let ms = latency.as_millis();
    println!("   6a. N revokes with Client::discard_project_jwts; floor: max(N ÷ L s, N × {ms} ms ÷ parallelism)");
    print_head("parallel");
    for (limit, revokes) in SWEEP {
        for headers in [false, true] {
            for parallelism in SWEEP_PARALLELISM {
                let server = RateLimitedServer::builder(limit)
                    .latency(latency)
                    .headers(headers)
                    .start();
                let client = Client::builder(TOKEN)
                    .base_url(server.url())
                    .build()
                    .expect("client");
                let ids: Vec<String> = (1..=revokes).map(|i| format!("tok_{i:08}")).collect();
                let start = Instant::now();
                let results = client.discard_project_jwts(&ids, parallelism);
                let secs = start.elapsed().as_secs_f64();
                let failures = results.iter().filter(|r| r.is_err()).count();
                let floor = (revokes as f64 / limit as f64)
                    .max(revokes as f64 * latency.as_secs_f64() / parallelism as f64);
                let held = client.rate_limit_stats().held;
                print_row(
                    Row {
                        limit,
                        headers,
                        first: parallelism,
                        secs,
                        floor,
                        failures,
                        held: Some(held),
                    },
                    &server,
                );
                if let Some(Err(first)) = results.iter().find(|r| r.is_err()) {
                    println!("      first failure: {first}");
                }
            }
        }
    }
}

/// 6b: the built tool's `user-revoke-all` under the limit.
fn tool(latency: Duration) {
    let requests = TOOL_USERS * (1 + TOOL_TOKENS);
    println!(
        "   6b. the built tool, `magicbell-jwt user-revoke-all - --parallel {TOOL_PARALLEL}` over {TOOL_USERS} users with {TOOL_TOKENS} tokens each"
    );
    println!(
        "       ({requests} requests: the lists, then the revokes) against {TOOL_LIMIT} a second; floor: {requests} ÷ {TOOL_LIMIT} s; process start included"
    );
    // Built before the clock starts: the build is not part of the job.
    tool_binary();
    print_head("parallel");
    let users: Vec<String> = (1..=TOOL_USERS).map(|u| format!("user{u:04}")).collect();
    for headers in [false, true] {
        let server = RateLimitedServer::builder(TOOL_LIMIT)
            .latency(latency)
            .headers(headers)
            .tokens_per_list(TOOL_TOKENS)
            .start();
        let start = Instant::now();
        let (revoked, failed, stderr) = user_revoke_all_job(&server.url(), &users, TOOL_PARALLEL);
        let secs = start.elapsed().as_secs_f64();
        // Tokens of a user whose list failed were never tried.
        let untried = TOOL_USERS * TOOL_TOKENS - revoked - failed;
        print_row(
            Row {
                limit: TOOL_LIMIT,
                headers,
                first: TOOL_PARALLEL,
                secs,
                floor: requests as f64 / TOOL_LIMIT as f64,
                failures: failed + untried,
                held: None,
            },
            &server,
        );
        let said = stderr
            .lines()
            .rfind(|l| l.starts_with("rate limited:"))
            .unwrap_or("(no rate-limited line)");
        println!("      the tool's stderr: {said}");
    }
}

/// One run's figures.
struct Row {
    limit: usize,
    headers: bool,
    first: usize,
    secs: f64,
    floor: f64,
    failures: usize,
    /// The client's `rate_limit_stats().held`, when the bench holds the client.
    held: Option<Duration>,
}

fn print_head(first: &str) {
    println!(
        "   {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>8} {:>7}   answered/429s per window",
        "limit/s",
        "headers",
        first,
        "seconds",
        "floor s",
        "÷ floor",
        "requests",
        "429s",
        "failures",
        "held s"
    );
}

fn print_row(row: Row, server: &RateLimitedServer) {
    let windows: Vec<String> = server
        .windows()
        .iter()
        .map(|w| format!("{}/{}", w.answered, w.refused))
        .collect();
    let held = row
        .held
        .map_or("-".to_owned(), |held| format!("{:.1}", held.as_secs_f64()));
    println!(
        "   {:>7} {:>7} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>6} {:>8} {:>7}   {}",
        row.limit,
        if row.headers { "yes" } else { "no" },
        row.first,
        row.secs,
        row.floor,
        row.secs / row.floor,
        server.requests(),
        server.refused(),
        row.failures,
        held,
        windows.join(" ")
    );
}
