//! Section 5 of `cargo bench`: bulk calls over a 20 ms network.

use super::*;
use magicbell_jwt_test_support::{RateLimitedServer, Windows};

// --- 5. Over a 20 ms network -------------------------------------------------------

/// How long each server of this section takes to answer: a fixed sleep in
/// the connection's thread, standing in for a round trip over the internet.
/// `--latency-ms N` (with `--only`) sets another.
pub(super) const LATENCY: Duration = Duration::from_millis(20);
pub(super) const REVOKES: usize = 1_000;
pub(super) const REVOKE_PARALLELISM: [usize; 3] = [1, 8, 16];
pub(super) const USERS: usize = 200;
pub(super) const TOKENS_PER_USER: usize = 5;
pub(super) const USER_PARALLELISM: [usize; 2] = [1, 8];
pub(super) const CREATE_THREADS: usize = 8;
pub(super) const CREATES_PER_THREAD: usize = 50;
/// Requests the rate-limited server answers in each whole second.
pub(super) const RATE_LIMIT: usize = 20;
/// Enough that no create gives up while the server is saying 429.
pub(super) const CREATE_RETRIES: u32 = 20;

/// The parts of section 5, as `--only` names them.
pub(super) const NETWORK_PARTS: [&str; 3] = ["revokes", "user-revoke-all", "retry-after"];

/// `--only per-call|network|revokes|user-revoke-all|retry-after|rate-limits|
/// rate-limits-tool [--latency-ms N]`: section 1, section 5 or one part of
/// it, or section 6 or its part 6b, alone (`--only plans`: `plans::only`).
pub(super) fn only(part: &str, latency: Duration) {
    let parts: &[&str] = match part {
        "per-call" | "rate-limits" | "rate-limits-tool" => &[],
        "network" => &NETWORK_PARTS,
        _ if NETWORK_PARTS.contains(&part) => &[part],
        _ => {
            eprintln!(
                "--only takes per-call, network, {}, rate-limits, rate-limits-tool, plans",
                NETWORK_PARTS.join(", ")
            );
            std::process::exit(2);
        }
    };
    println!("magicbell-jwt benchmark: {}", machine());
    match part {
        "per-call" => per_call(),
        "rate-limits" => rate_limits::section(latency, false),
        "rate-limits-tool" => rate_limits::section(latency, true),
        _ => network(parts, latency),
    }
}

pub(super) fn network(parts: &[&str], latency: Duration) {
    let ms = latency.as_millis();
    println!("\n5. Over a {ms} ms network: every answer leaves the server {ms} ms after its request arrived");
    for part in parts {
        match *part {
            "revokes" => parallel_revokes(latency),
            "user-revoke-all" => user_revoke_all(latency),
            _ => shared_retry_after(latency),
        }
    }
}

/// 5a: the same 1,000 revokes with `discard_project_jwts` at each
/// parallelism, a fresh client each time so its connections are its own.
pub(super) fn parallel_revokes(latency: Duration) {
    let discarded = json(200, DISCARDED);
    let server = FaultServer::start(move |_, _| {
        thread::sleep(latency);
        Reply::Raw(discarded.clone())
    });
    let ids: Vec<String> = (1..=REVOKES).map(|i| format!("tok_{i:08}")).collect();
    println!(
        "   5a. {REVOKES} revokes with Client::discard_project_jwts; floor: {REVOKES} × {} ms ÷ parallelism",
        latency.as_millis()
    );
    print_batch_head("parallelism");
    let mut seconds = Vec::new();
    for parallelism in REVOKE_PARALLELISM {
        let client = Client::builder(TOKEN)
            .base_url(server.url())
            .build()
            .expect("client");
        let (r0, c0) = (server.requests(), server.connections());
        let start = Instant::now();
        let results = revoke_project_tokens(&client, &ids, parallelism);
        let secs = start.elapsed().as_secs_f64();
        let floor = REVOKES as f64 * latency.as_secs_f64() / parallelism as f64;
        let failures = results.iter().filter(|r| r.is_err()).count();
        print_batch_row(
            parallelism,
            secs,
            floor,
            server.requests() - r0,
            server.connections() - c0,
            failures,
        );
        seconds.push((parallelism, secs));
    }
    let (_, serial) = seconds[0];
    for &(parallelism, secs) in &seconds[1..] {
        println!("   parallel speedup {parallelism}: {:.1}x", serial / secs);
    }
}

/// The one call of 5a, alone so that it is all a build against a version
/// without `discard_project_jwts` has to leave out.
pub(super) fn revoke_project_tokens(
    client: &Client,
    ids: &[String],
    parallelism: usize,
) -> Vec<Result<DiscardTokenResponse, magicbell_jwt::Error>> {
    client.discard_project_jwts(ids, parallelism)
}

/// 5b: `magicbell-jwt user-revoke-all` over many users, at `--parallel` 1 and 8.
#[track_caller]
pub(super) fn user_revoke_all(latency: Duration) {
    let discarded = json(200, DISCARDED);
    let server = FaultServer::start(move |_, request| {
        thread::sleep(latency);
        Reply::Raw(if request.method == "DELETE" {
            discarded.clone()
        } else {
            render_user_page(&request.target)
        })
    });
    let users: Vec<String> = (1..=USERS).map(|u| format!("user{u:04}")).collect();
    let requests = USERS * (1 + TOKENS_PER_USER);
    println!(
        "   5b. user-revoke-all over {USERS} users with {TOKENS_PER_USER} tokens each ({requests} requests: a list and {TOKENS_PER_USER} revokes a user)"
    );
    println!("       the built tool, `magicbell-jwt user-revoke-all - --parallel N` with the users on stdin (process start included):");
    println!(
        "       N users' lists at a time, then the revokes N at a time; floor: (⌈users ÷ N⌉ + ⌈tokens ÷ N⌉) × {} ms",
        latency.as_millis()
    );
    // Built before the clock starts: the build is not part of the job.
    tool_binary();
    print_batch_head("parallel");
    let mut seconds = Vec::new();
    for parallelism in USER_PARALLELISM {
        let (r0, c0) = (server.requests(), server.connections());
        let start = Instant::now();
        let (revoked, failed, _) = user_revoke_all_job(&server.url(), &users, parallelism);
        let secs = start.elapsed().as_secs_f64();
        let rounds = USERS.div_ceil(parallelism) + (USERS * TOKENS_PER_USER).div_ceil(parallelism);
        assert_eq!(
            revoked + failed,
            USERS * TOKENS_PER_USER,
            "every listed token was tried"
        );
        print_batch_row(
            parallelism,
            secs,
            rounds as f64 * latency.as_secs_f64(),
            server.requests() - r0,
            server.connections() - c0,
            failed,
        );
        seconds.push((parallelism, secs));
    }
    let (_, serial) = seconds[0];
    for &(parallelism, secs) in &seconds[1..] {
        println!(
            "   user-revoke-all speedup {parallelism}: {:.1}x",
            serial / secs
        );
    }
}

/// `magicbell-jwt user-revoke-all - --parallel N`, the built tool itself, with the
/// users on its stdin: process start, its own client, every user's list
/// walked N users at a time, then the revokes N at a time. Returns
/// (revoked, failed) from its closing `revoked N, failed M` line, and its
/// stderr.
#[track_caller]
pub(super) fn user_revoke_all_job(
    base: &str,
    users: &[String],
    parallelism: usize,
) -> (usize, usize, String) {
    use std::io::Write;
    let mut child = Command::new(tool_binary())
        .args([
            "user-revoke-all",
            "-",
            "--parallel",
            &parallelism.to_string(),
        ])
        .env("MAGICBELL_TOKEN", TOKEN)
        .env("MAGICBELL_BASE_URL", base)
        .env_remove("ALL_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the magicbell-jwt tool");
    let mut stdin = child.stdin.take().expect("the tool's stdin");
    stdin
        .write_all(users.join("\n").as_bytes())
        .expect("write users");
    drop(stdin);
    let output = child.wait_with_output().expect("the magicbell-jwt tool");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let counts = last
        .strip_prefix("revoked ")
        .and_then(|rest| rest.split_once(", failed "))
        .and_then(|(r, f)| Some((r.parse().ok()?, f.parse().ok()?)));
    let (revoked, failed) =
        counts.unwrap_or_else(|| panic!("unexpected tool output ending {last:?}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (revoked, failed, stderr)
}

/// The release build of the tool (`magicbell-jwt`, package
/// magicbell-jwt-cli), built once on first use.
#[track_caller]
pub(super) fn tool_binary() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--release", "--quiet", "-p", "magicbell-jwt-cli"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo build -p magicbell-jwt-cli");
            assert!(status.success(), "building the magicbell-jwt tool failed");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
            target.join("release/magicbell-jwt")
        })
        .clone()
}

/// One page holding all of a user's tokens (the user is the path's last
/// segment), none revoked.
pub(super) fn render_user_page(target: &str) -> Vec<u8> {
    let path = target.split('?').next().unwrap_or("");
    let user = path.rsplit('/').next().unwrap_or("");
    let tokens: Vec<String> = (1..=TOKENS_PER_USER)
        .map(|k| {
            format!(
                r#"{{"id":"{user}_tok{k}","name":"session","created_at":"2026-01-01T00:00:00Z","expires_at":"2027-01-01T00:00:00Z","discarded_at":null}}"#
            )
        })
        .collect();
    json(
        200,
        &format!(
            r#"{{"data":[{}],"links":{{"next":null}}}}"#,
            tokens.join(",")
        ),
    )
}

/// 5c: many threads minting tokens through one client, against a server
/// that rate-limits.
pub(super) fn shared_retry_after(latency: Duration) {
    let total = CREATE_THREADS * CREATES_PER_THREAD;
    let server = RateLimitedServer::builder(RATE_LIMIT)
        .windows(Windows::FromStart(Duration::from_secs(1)))
        .latency(latency)
        .start();
    println!(
        "   5c. {CREATE_THREADS} threads × {CREATES_PER_THREAD} creates on one shared client (max_retries {CREATE_RETRIES}); the server answers"
    );
    println!(
        "       the first {RATE_LIMIT} requests of each whole second since it started and the rest 429 with Retry-After: 1"
    );
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .max_retries(CREATE_RETRIES)
        .build()
        .expect("client");
    let request = CreateProjectTokenRequest::new("sign-in").expiry(3600);
    let start = Instant::now();
    let failures: Vec<String> = thread::scope(|scope| {
        let threads: Vec<_> = (0..CREATE_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    (0..CREATES_PER_THREAD)
                        .filter_map(|_| client.create_project_jwt(&request).err())
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("create thread"))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    // The last window a create can succeed in, plus that request's latency.
    let floor = (total.div_ceil(RATE_LIMIT) - 1) as f64 + latency.as_secs_f64();
    println!(
        "   {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "seconds", "floor s", "created", "failures", "429s sent", "requests", "connections"
    );
    println!(
        "   {:>10.2} {:>10.2} {:>10} {:>10} {:>10} {:>10} {:>12}",
        secs,
        floor,
        total - failures.len(),
        failures.len(),
        server.refused(),
        server.requests(),
        server.connections(),
    );
    if let Some(first) = failures.first() {
        println!("   first failure: {first}");
    }
}

pub(super) const DISCARDED: &str =
    r#"{"token_id":"tok_00000042","discarded_at":"2026-11-29T09:00:05Z"}"#;

pub(super) fn print_batch_head(first: &str) {
    println!(
        "   {:>11} {:>10} {:>10} {:>10} {:>10} {:>12} {:>10}",
        first, "seconds", "floor s", "÷ floor", "requests", "connections", "failures"
    );
}

pub(super) fn print_batch_row(
    parallelism: usize,
    secs: f64,
    floor: f64,
    requests: usize,
    connections: usize,
    failures: usize,
) {
    println!(
        "   {:>11} {:>10.2} {:>10.2} {:>10.2} {:>10} {:>12} {:>10}",
        parallelism,
        secs,
        floor,
        secs / floor,
        requests,
        connections,
        failures
    );
}

pub(super) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}
