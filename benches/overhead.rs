//! `cargo bench`: what the client costs over a hand-written `ureq` call, and
//! what a long `Paginator` walk costs in connections and memory.
//!
//! Everything runs against a keep-alive HTTP/1.1 server on 127.0.0.1 inside
//! this process (std only), which serves pre-rendered answers and counts TCP
//! connections and requests. Each walk runs in a child process of this binary
//! so its peak resident memory (`VmHWM`) is its own.

use std::process::Command;
use std::thread;
use std::time::Instant;

#[allow(dead_code)]
#[path = "../tests/common/fault_server.rs"]
mod fault_server;

use fault_server::{answer_bytes, FaultServer, Reply};

use magicbell_jwt::{
    AccessTokenCollection, Client, CreateProjectTokenRequest, CreateTokenResponse,
    DiscardTokenResponse, FetchProjectTokensParams,
};

const TOKEN: &str = "bench-project-token";
const ROUNDS: usize = 200;
const CALLS_PER_ROUND: usize = 50; // 10,000 calls a side for each endpoint
const WALK_PAGE: usize = 100;
const WALK_SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--walk-child") {
        return walk_child(args[i + 1].parse().expect("size"), &args[i + 2]);
    }
    if let Some(i) = args.iter().position(|a| a == "--calls") {
        return only_calls(
            &args[i + 1],
            &args[i + 2],
            args[i + 3].parse().expect("count"),
        );
    }
    // `cargo bench` passes `--bench`; anything else is ignored.
    let server = start_server();
    let base = server.url();
    println!("magicbell-jwt benchmark: {}", machine());
    println!("server: std TcpListener at {base}, keep-alive, pre-rendered answers\n");

    per_call(&server, &base);
    walks(&server, &base);
    closed_connections();
    footprint();
}

// --- 1. Per-call overhead ----------------------------------------------------------

fn per_call(server: &FaultServer, base: &str) {
    let client = Client::builder(TOKEN)
        .base_url(base)
        .build()
        .expect("client");
    let raw = Raw::new(base);
    let params = FetchProjectTokensParams::default().limit(10);
    let request = CreateProjectTokenRequest::new("bench").expiry(3600);

    println!("1. Per-call cost, {ROUNDS} interleaved rounds of {CALLS_PER_ROUND} calls a side ({} calls a side)", ROUNDS * CALLS_PER_ROUND);
    println!("   CPU: the calling thread's time on CPU (/proc/thread-self/schedstat), medians of per-round means");
    println!("   wall: elapsed time per call; on a loopback VM it mostly measures thread wake-ups, not the client");
    println!(
        "   {:<22} {:>12} {:>12} {:>16} {:>18}   {:>13} {:>13}",
        "call",
        "crate CPU µs",
        "raw CPU µs",
        "crate ÷ raw",
        "round p25–p75",
        "crate wall µs",
        "raw wall µs"
    );
    let mut placement_bound = Vec::new();
    placement_bound.extend(compare(
        server,
        "fetch_project_tokens",
        || {
            client
                .fetch_project_tokens(&params)
                .expect("list")
                .data
                .len()
        },
        || raw.list().data.len(),
    ));
    placement_bound.extend(compare(
        server,
        "create_project_jwt",
        || {
            client
                .create_project_jwt(&request)
                .expect("create")
                .token_id
                .len()
        },
        || raw.create(&request).token_id.len(),
    ));
    placement_bound.extend(compare(
        server,
        "discard_project_jwt",
        || {
            client
                .discard_project_jwt("tok_00000042")
                .expect("discard")
                .token_id
                .len()
        },
        || raw.discard("tok_00000042").token_id.len(),
    ));
    if !placement_bound.is_empty() {
        println!(
            "   wall time on this machine is bound by thread placement, not by the client: {} differ more than 1.5x in wall time while their CPU ratio is within 0.9-1.1",
            placement_bound.join(", ")
        );
    }
    println!();
}

/// `--calls list|create|discard crate|raw N`: only those calls, for
/// `valgrind --tool=callgrind` to count instructions of one side.
fn only_calls(call: &str, side: &str, n: usize) {
    let server = start_server();
    let base = server.url();
    let client = Client::builder(TOKEN)
        .base_url(&base)
        .build()
        .expect("client");
    let raw = Raw::new(&base);
    let params = FetchProjectTokensParams::default().limit(10);
    let request = CreateProjectTokenRequest::new("bench").expiry(3600);
    for _ in 0..n {
        let got = match (call, side) {
            ("list", "crate") => client
                .fetch_project_tokens(&params)
                .expect("list")
                .data
                .len(),
            ("list", _) => raw.list().data.len(),
            ("create", "crate") => client
                .create_project_jwt(&request)
                .expect("create")
                .token_id
                .len(),
            ("create", _) => raw.create(&request).token_id.len(),
            ("discard", "crate") => client
                .discard_project_jwt("tok_00000042")
                .expect("discard")
                .token_id
                .len(),
            _ => raw.discard("tok_00000042").token_id.len(),
        };
        std::hint::black_box(got);
    }
}

/// Runs `ours` and `raw` in alternating rounds; prints each side's median
/// CPU time and wall time per call and the median of the per-round CPU
/// ratios. Returns `name` when wall time disagrees with CPU time: the sides
/// differ over 1.5x in wall time while costing the same CPU.
fn compare(
    server: &FaultServer,
    name: &'static str,
    mut ours: impl FnMut() -> usize,
    mut raw: impl FnMut() -> usize,
) -> Option<&'static str> {
    for _ in 0..200 {
        std::hint::black_box(ours());
        std::hint::black_box(raw());
    }
    let connections = server.connections();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut cpu_ratios = Vec::new();
    for round in 0..ROUNDS {
        let (ra, rb) = if round % 2 == 0 {
            let ra = run_round(&mut ours);
            (ra, run_round(&mut raw))
        } else {
            let rb = run_round(&mut raw);
            (run_round(&mut ours), rb)
        };
        cpu_ratios.push(ra.cpu / rb.cpu);
        a.push(ra);
        b.push(rb);
    }
    let cpu = |r: &[Round]| median(&r.iter().map(|r| r.cpu).collect::<Vec<_>>());
    let wall = |r: &[Round]| median(&r.iter().map(|r| r.wall).collect::<Vec<_>>());
    let (wa, wb) = (wall(&a), wall(&b));
    let ratio = median(&cpu_ratios);
    cpu_ratios.sort_by(f64::total_cmp);
    println!(
        "   {:<22} {:>12.1} {:>12.1} {:>16} {:>8.3}–{:<8.3}   {:>13.1} {:>13.1}   new connections: {}",
        name,
        cpu(&a) * 1e6,
        cpu(&b) * 1e6,
        format!("cpu ratio {ratio:.3}"),
        cpu_ratios[cpu_ratios.len() / 4],
        cpu_ratios[cpu_ratios.len() * 3 / 4],
        wa * 1e6,
        wb * 1e6,
        server.connections() - connections,
    );
    let wall_apart = wa.max(wb) / wa.min(wb) > 1.5;
    (wall_apart && (0.9..=1.1).contains(&ratio)).then_some(name)
}

/// One round's cost per call, in seconds.
struct Round {
    /// Time the calling thread spent on a CPU.
    cpu: f64,
    /// Elapsed time (the median call of the round).
    wall: f64,
}

fn run_round(f: &mut impl FnMut() -> usize) -> Round {
    let cpu_start = thread_cpu_ns();
    let walls: Vec<f64> = (0..CALLS_PER_ROUND)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed().as_secs_f64()
        })
        .collect();
    let cpu = (thread_cpu_ns() - cpu_start) as f64 / 1e9 / CALLS_PER_ROUND as f64;
    Round {
        cpu,
        wall: median(&walls),
    }
}

/// The calling thread's time on a CPU so far, in nanoseconds: the first field
/// of `/proc/thread-self/schedstat`. Each call blocks on the loopback socket,
/// so the kernel brings the figure up to date many times a round.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) gives the thread's CPU time")
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The floor: what a careful hand-written `ureq` 3 client does for the same
/// requests: one agent, the same headers, the body read whole and decoded
/// with `from_slice` into the same types.
struct Raw {
    agent: ureq::Agent,
    base: String,
    auth: String,
}

impl Raw {
    fn new(base: &str) -> Raw {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("raw/1")
            .accept("application/json")
            .build()
            .new_agent();
        Raw {
            agent,
            base: base.to_owned(),
            auth: format!("Bearer {TOKEN}"),
        }
    }

    fn list(&self) -> AccessTokenCollection {
        let mut res = self
            .agent
            .get(format!("{}/jwt/project?limit=10", self.base))
            .header("authorization", &self.auth)
            .call()
            .expect("raw list");
        serde_json::from_slice(&res.body_mut().read_to_vec().expect("body")).expect("decode")
    }

    fn create(&self, request: &CreateProjectTokenRequest) -> CreateTokenResponse {
        let mut res = self
            .agent
            .post(format!("{}/jwt/project", self.base))
            .header("authorization", &self.auth)
            .header("content-type", "application/json")
            .send(&serde_json::to_vec(request).expect("encode")[..])
            .expect("raw create");
        serde_json::from_slice(&res.body_mut().read_to_vec().expect("body")).expect("decode")
    }

    fn discard(&self, id: &str) -> DiscardTokenResponse {
        let mut res = self
            .agent
            .delete(format!("{}/jwt/project/{id}", self.base))
            .header("authorization", &self.auth)
            .call()
            .expect("raw discard");
        serde_json::from_slice(&res.body_mut().read_to_vec().expect("body")).expect("decode")
    }
}

// --- 2. Walks ----------------------------------------------------------------------

fn walks(server: &FaultServer, base: &str) {
    println!("2. Paginator walks, {WALK_PAGE} tokens a page, each in a fresh child process");
    println!(
        "   {:>10} {:>10} {:>14} {:>12} {:>10} {:>16}",
        "tokens", "seconds", "tokens/s", "connections", "requests", "peak RSS (KiB)"
    );
    let exe = std::env::current_exe().expect("current exe");
    for size in WALK_SIZES {
        let (c0, r0) = (server.connections(), server.requests());
        let out = Command::new(&exe)
            .args(["--walk-child", &size.to_string(), base])
            .output()
            .expect("run the walk child");
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| -> String {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
                .unwrap_or_else(|| {
                    panic!(
                        "child did not report {name}: {text} {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                })
        };
        let secs: f64 = field("secs").parse().expect("secs");
        assert_eq!(
            field("tokens"),
            size.to_string(),
            "the walk saw every token"
        );
        println!(
            "   {:>10} {:>10.2} {:>14.0} {:>12} {:>10} {:>16}",
            size,
            secs,
            size as f64 / secs,
            server.connections() - c0,
            server.requests() - r0,
            field("hwm_kb"),
        );
    }
    println!();
}

/// In the child: walk `size` tokens and report the count, time and VmHWM.
fn walk_child(size: usize, base: &str) {
    // The path prefix tells the server how long the list is.
    let client = Client::builder(TOKEN)
        .base_url(format!("{base}/walk/{size}"))
        .build()
        .expect("client");
    let start = Instant::now();
    let mut tokens = 0usize;
    for token in client.project_tokens(FetchProjectTokensParams::default().limit(WALK_PAGE as u32))
    {
        std::hint::black_box(token.expect("token"));
        tokens += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("tokens={tokens} secs={secs:.4} hwm_kb={}", vm_hwm_kb());
}

fn vm_hwm_kb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
        })
        .unwrap_or_else(|| "?".to_owned())
}

// --- 3. Servers that close kept-alive connections ----------------------------------

const STALE_LISTS: usize = 2_000;
const STALE_CREATES: usize = 300;

/// Lists and creates, with the client's default settings, against a
/// well-behaved keep-alive server and against one that answers the first
/// request on each connection, then reads the next and closes unanswered (its
/// keep-alive timeout firing as a request arrives).
fn closed_connections() {
    println!("3. Kept-alive connections the server closes as the next request arrives");
    println!(
        "   {:<32} {:<8} {:>6} {:>10} {:>9} {:>9} {:>12}",
        "server", "call", "calls", "seconds", "failures", "requests", "connections"
    );
    for closes in [false, true] {
        let (page, created) = (json(200, &page_json()), json(201, CREATED));
        let server = FaultServer::start(move |_, request| {
            if closes && request.on_connection > 0 {
                return Reply::Close;
            }
            Reply::Raw(if request.method == "POST" {
                created.clone()
            } else {
                page.clone()
            })
        });
        let client = Client::builder(TOKEN)
            .base_url(server.url())
            .build()
            .expect("client");
        let params = FetchProjectTokensParams::default().limit(10);
        let request = CreateProjectTokenRequest::new("bench");
        let name = if closes {
            "closes each reused connection"
        } else {
            "well-behaved keep-alive"
        };
        for (call, calls) in [("list", STALE_LISTS), ("create", STALE_CREATES)] {
            let (r0, c0) = (server.requests(), server.connections());
            let start = Instant::now();
            let failures = (0..calls)
                .filter(|_| match call {
                    "list" => client.fetch_project_tokens(&params).is_err(),
                    _ => client.create_project_jwt(&request).is_err(),
                })
                .count();
            println!(
                "   {:<32} {:<8} {:>6} {:>10.2} {:>9} {:>9} {:>12}",
                name,
                call,
                calls,
                start.elapsed().as_secs_f64(),
                failures,
                server.requests() - r0,
                server.connections() - c0,
            );
        }
    }
    println!();
}

// --- 4. Dependency footprint -------------------------------------------------------

fn footprint() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output();
    let count = out.ok().filter(|o| o.status.success()).map(|o| {
        let mut names: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect();
        names.sort();
        names.dedup();
        names.len().saturating_sub(1) // the crate itself
    });
    match count {
        Some(n) => println!("4. Runtime dependency footprint: {n} crates in `cargo tree -e normal` besides magicbell-jwt"),
        None => println!("4. Runtime dependency footprint: `cargo tree` could not be run"),
    }
}

fn machine() -> String {
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

// --- The loopback server -----------------------------------------------------------

/// The tests' misbehaving server, here only behaving: every answer is
/// pre-rendered but the pages of a walk.
fn start_server() -> FaultServer {
    let page = page_json();
    let discarded = r#"{"token_id":"tok_00000042","discarded_at":"2026-11-29T09:00:05Z"}"#;
    let [page, created, discarded] = [(200, page.as_str()), (201, CREATED), (200, discarded)]
        .map(|(status, body)| json(status, body));
    FaultServer::start(move |_, request| {
        Reply::Raw(match request.method.as_str() {
            "POST" => created.clone(),
            "DELETE" => discarded.clone(),
            _ if request.target.contains("/walk/") => render_walk_page(&request.target),
            _ => page.clone(),
        })
    })
}

const CREATED: &str = r#"{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl","token_id":"tok_00000042","created_at":"2026-11-29T09:00:00Z","expires_at":"2026-11-29T10:00:00Z"}"#;

/// A page of ten tokens with a next link.
fn page_json() -> String {
    let tokens: Vec<String> = (1..=10).map(token_json).collect();
    format!(
        r#"{{"data":[{}],"links":{{"first":"https://api.magicbell.com/v2/jwt/project","next":"https://api.magicbell.com/v2/jwt/project?starting_after=tok_00000010","prev":null}}}}"#,
        tokens.join(",")
    )
}

fn token_json(i: usize) -> String {
    format!(
        r#"{{"id":"tok_{i:08}","name":"bench token {i}","created_at":"2026-01-01T00:00:00Z","expires_at":"2027-01-01T00:00:00Z","discarded_at":null}}"#
    )
}

fn render_walk_page(target: &str) -> Vec<u8> {
    let value = |name: &str| {
        target
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or("")
    };
    let after: usize = value("starting_after")
        .trim_start_matches("tok_")
        .parse()
        .unwrap_or(0);
    let total: usize = target
        .split('/')
        .skip_while(|part| *part != "walk")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let limit: usize = value("limit").parse().unwrap_or(WALK_PAGE);
    let last = (after + limit).min(total);
    let mut body = String::with_capacity(200 * limit);
    body.push_str(r#"{"data":["#);
    for i in after + 1..=last {
        if i > after + 1 {
            body.push(',');
        }
        body.push_str(&token_json(i));
    }
    body.push_str(r#"],"links":{"next":"#);
    if last < total {
        body.push_str(&format!(r#""http://bench/v2/walk/{total}/jwt/project?limit={limit}&starting_after=tok_{last:08}""#));
    } else {
        body.push_str("null");
    }
    body.push_str("}}");
    json(200, &body)
}

/// The bytes of a JSON answer.
fn json(status: u16, body: &str) -> Vec<u8> {
    answer_bytes(
        status,
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
}
