//! `cargo bench`: what the client costs over a hand-written `ureq` call, and
//! what a long `Paginator` walk costs in connections and memory.
//!
//! Everything runs against a keep-alive HTTP/1.1 server on 127.0.0.1 (std
//! only), which serves pre-rendered answers and counts TCP connections and
//! requests. Section 1 counts instructions under callgrind and compares CPU
//! time with the server and the calls in child processes of this binary
//! pinned to different cores. Each walk runs in a child process so its peak
//! resident memory (`VmHWM`) is its own. Sections 5 and 6 run against
//! servers that answer after 20 ms, standing in for a real network; section
//! 6's enforce a rate limit.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use magicbell_jwt_test_support::{answer_bytes, FaultServer, Reply};

#[path = "overhead/rate_limits.rs"]
mod rate_limits;

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
    if args.iter().any(|a| a == "--serve") {
        return serve_until_stdin_closes();
    }
    if let Some(i) = args.iter().position(|a| a == "--per-call-client") {
        let base = &args[i + 1];
        let probe = ConnectionProbe::new(base);
        return cpu_per_call(base, &|| probe.connections());
    }
    if let Some(i) = args.iter().position(|a| a == "--only") {
        let latency = match args.iter().position(|a| a == "--latency-ms") {
            Some(j) => Duration::from_millis(args[j + 1].parse().expect("--latency-ms N")),
            None => LATENCY,
        };
        return only(args.get(i + 1).map_or("", String::as_str), latency);
    }
    // `cargo bench` passes `--bench`; anything else is ignored.
    let server = start_server();
    let base = server.url();
    println!("magicbell-jwt benchmark: {}", machine());
    println!("server: std TcpListener at {base}, keep-alive, pre-rendered answers\n");

    per_call();
    walks(&server, &base);
    closed_connections();
    footprint();
    network(&NETWORK_PARTS, LATENCY);
    rate_limits::section(LATENCY, false);
}

// --- 1. Per-call overhead ----------------------------------------------------------

/// Calls a side for each callgrind count; the figure is the difference
/// between the two counts over the difference in calls, so start-up drops out.
const CALLGRIND_CALLS: [usize; 2] = [1_000, 2_000];

fn per_call() {
    println!("1. Per-call cost: the crate against raw ureq");
    instructions_per_call();
    println!();
    cpu_time_per_call();
    println!();
}

/// 1a, the headline: instructions per call, counted by callgrind, which the
/// machine's load and thread placement do not change.
fn instructions_per_call() {
    let installed = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let [few, many] = CALLGRIND_CALLS;
    if !installed {
        println!("   1a. instructions per call: skipped, valgrind is not installed (apt-get install valgrind)");
        return;
    }
    println!("   1a. Instructions per call, the headline figure: valgrind --tool=callgrind over `--calls CALL SIDE N`,");
    println!("       ({many} calls − {few} calls) ÷ {}, the in-process server's share included on both sides", many - few);
    println!(
        "   {:<22} {:>14} {:>14} {:>12}",
        "call", "crate instr", "raw instr", "crate ÷ raw"
    );
    for (call, name) in [
        ("list", "fetch_project_tokens"),
        ("create", "create_project_jwt"),
        ("discard", "discard_project_jwt"),
    ] {
        let per_call = |side: &str| {
            let counts = CALLGRIND_CALLS.map(|n| callgrind(call, side, n));
            (counts[1] - counts[0]) as f64 / (many - few) as f64
        };
        let (ours, raw) = (per_call("crate"), per_call("raw"));
        println!(
            "   {:<22} {:>14.0} {:>14.0} {:>12.3}",
            name,
            ours,
            raw,
            ours / raw
        );
    }
}

/// Instructions callgrind counts for `n` calls of one side, the process's
/// start and end included.
fn callgrind(call: &str, side: &str, n: usize) -> u64 {
    let out_file = std::env::temp_dir().join(format!(
        "overhead-callgrind-{}-{call}-{side}-{n}.out",
        std::process::id()
    ));
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(std::env::current_exe().expect("current exe"))
        .args(["--calls", call, side, &n.to_string()])
        .output()
        .expect("run valgrind");
    let _ = std::fs::remove_file(&out_file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no callgrind total for {call} {side} {n}: {stderr}"))
}

/// 1b: CPU time per call. With `taskset` (util-linux) and two cores or
/// more, the server runs in a process of its own pinned to CPU 0 and the
/// calling side in another pinned to CPU 1, so every run places both sides
/// alike; otherwise both share this process and the scheduler places them.
fn cpu_time_per_call() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if cores < 2 || !taskset {
        println!("   1b. CPU time per call, unpinned ({}): the figures vary with where the scheduler puts each side's threads", if taskset { "one core" } else { "no taskset" });
        let server = start_server();
        return cpu_per_call(&server.url(), &|| server.connections());
    }
    use std::io::BufRead;
    let exe = std::env::current_exe().expect("current exe");
    let mut server = Command::new("taskset")
        .args(["-c", "0"])
        .arg(&exe)
        .arg("--serve")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the pinned server");
    let mut base = String::new();
    std::io::BufReader::new(server.stdout.take().expect("the server's stdout"))
        .read_line(&mut base)
        .expect("the server's address");
    println!("   1b. CPU time per call: the server in its own process pinned to CPU 0 (taskset -c 0), the calls in another pinned to CPU 1");
    let status = Command::new("taskset")
        .args(["-c", "1"])
        .arg(&exe)
        .args(["--per-call-client", base.trim()])
        .status()
        .expect("run the pinned calls");
    assert!(status.success(), "the pinned calls failed");
    // Its stdin closing ends the server.
    drop(server.stdin.take());
    let _ = server.wait();
}

/// `--serve`: the section's server, its address on stdout, until stdin closes.
fn serve_until_stdin_closes() {
    use std::io::{Read, Write};
    let server = start_server();
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Asks a server of [`start_server`] how many connections it has had, over
/// a connection of its own, opened once.
struct ConnectionProbe {
    agent: ureq::Agent,
    url: String,
}

impl ConnectionProbe {
    fn new(base: &str) -> ConnectionProbe {
        let probe = ConnectionProbe {
            agent: ureq::Agent::new_with_defaults(),
            url: format!("{base}/_connections"),
        };
        // Its own connection is open before anything is counted.
        probe.connections();
        probe
    }

    fn connections(&self) -> usize {
        let mut res = self.agent.get(&self.url).call().expect("connection count");
        let body = res.body_mut().read_to_string().expect("count");
        body.trim().parse().expect("a count")
    }
}

/// The CPU-time comparison against the server at `base`; `connections`
/// counts the connections it has had.
fn cpu_per_call(base: &str, connections: &dyn Fn() -> usize) {
    let client = Client::builder(TOKEN)
        .base_url(base)
        .build()
        .expect("client");
    let raw = Raw::new(base);
    let params = FetchProjectTokensParams::default().limit(10);
    let request = CreateProjectTokenRequest::new("bench").expiry(3600);

    println!(
        "       {ROUNDS} interleaved rounds of {CALLS_PER_ROUND} calls a side ({} calls a side)",
        ROUNDS * CALLS_PER_ROUND
    );
    println!("       CPU: the calling thread's time on CPU (/proc/thread-self/schedstat), medians of per-round means");
    println!("       wall: elapsed time per call; on a loopback VM it mostly measures thread wake-ups, not the client");
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
        connections,
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
        connections,
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
        connections,
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
    connections: &dyn Fn() -> usize,
    name: &'static str,
    mut ours: impl FnMut() -> usize,
    mut raw: impl FnMut() -> usize,
) -> Option<&'static str> {
    for _ in 0..200 {
        std::hint::black_box(ours());
        std::hint::black_box(raw());
    }
    let connections_before = connections();
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
        connections() - connections_before,
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
            // The library alone, not the workspace's default members (the tool).
            "-p",
            "magicbell-jwt",
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

// --- 5. Over a 20 ms network -------------------------------------------------------

/// How long each server of this section takes to answer: a fixed sleep in
/// the connection's thread, standing in for a round trip over the internet.
/// `--latency-ms N` (with `--only`) sets another.
const LATENCY: Duration = Duration::from_millis(20);
const REVOKES: usize = 1_000;
const REVOKE_PARALLELISM: [usize; 3] = [1, 8, 16];
const USERS: usize = 200;
const TOKENS_PER_USER: usize = 5;
const USER_PARALLELISM: [usize; 2] = [1, 8];
const CREATE_THREADS: usize = 8;
const CREATES_PER_THREAD: usize = 50;
/// Requests the rate-limited server answers in each whole second.
const RATE_LIMIT: usize = 20;
/// Enough that no create gives up while the server is saying 429.
const CREATE_RETRIES: u32 = 20;

/// The parts of section 5, as `--only` names them.
const NETWORK_PARTS: [&str; 3] = ["revokes", "user-revoke-all", "retry-after"];

/// `--only per-call|network|revokes|user-revoke-all|retry-after|rate-limits|
/// rate-limits-tool [--latency-ms N]`: section 1, section 5 or one part of
/// it, or section 6 or its part 6b, alone.
fn only(part: &str, latency: Duration) {
    let parts: &[&str] = match part {
        "per-call" | "rate-limits" | "rate-limits-tool" => &[],
        "network" => &NETWORK_PARTS,
        _ if NETWORK_PARTS.contains(&part) => &[part],
        _ => {
            eprintln!(
                "--only takes per-call, network, {}, rate-limits, rate-limits-tool",
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

fn network(parts: &[&str], latency: Duration) {
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
fn parallel_revokes(latency: Duration) {
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
fn revoke_project_tokens(
    client: &Client,
    ids: &[String],
    parallelism: usize,
) -> Vec<Result<DiscardTokenResponse, magicbell_jwt::Error>> {
    client.discard_project_jwts(ids, parallelism)
}

/// 5b: `magicbell-jwt user-revoke-all` over many users, at `--parallel` 1 and 8.
fn user_revoke_all(latency: Duration) {
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
fn user_revoke_all_job(base: &str, users: &[String], parallelism: usize) -> (usize, usize, String) {
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
fn tool_binary() -> std::path::PathBuf {
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
fn render_user_page(target: &str) -> Vec<u8> {
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
fn shared_retry_after(latency: Duration) {
    let total = CREATE_THREADS * CREATES_PER_THREAD;
    let refused = Arc::new(AtomicUsize::new(0));
    let server = {
        let refused = refused.clone();
        let created = json(201, CREATED);
        let too_many = answer_bytes(
            429,
            &[("content-type", "application/json"), ("retry-after", "1")],
            br#"{"errors":[{"code":"rate_limited","message":"too many requests"}]}"#,
        );
        let started = Instant::now();
        // (whole seconds since the server started, requests answered in it)
        let window = Mutex::new((0u64, 0usize));
        FaultServer::start(move |_, _| {
            thread::sleep(latency);
            let now = started.elapsed().as_secs();
            let allowed = {
                let mut w = window.lock().expect("window");
                if w.0 != now {
                    *w = (now, 0);
                }
                w.1 += 1;
                w.1 <= RATE_LIMIT
            };
            if allowed {
                Reply::Raw(created.clone())
            } else {
                refused.fetch_add(1, Ordering::SeqCst);
                Reply::Raw(too_many.clone())
            }
        })
    };
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
        refused.load(Ordering::SeqCst),
        server.requests(),
        server.connections(),
    );
    if let Some(first) = failures.first() {
        println!("   first failure: {first}");
    }
}

const DISCARDED: &str = r#"{"token_id":"tok_00000042","discarded_at":"2026-11-29T09:00:05Z"}"#;

fn print_batch_head(first: &str) {
    println!(
        "   {:>11} {:>10} {:>10} {:>10} {:>10} {:>12} {:>10}",
        first, "seconds", "floor s", "÷ floor", "requests", "connections", "failures"
    );
}

fn print_batch_row(
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
    let [page, created, discarded] = [(200, page.as_str()), (201, CREATED), (200, DISCARDED)]
        .map(|(status, body)| json(status, body));
    // Connections that sent a request, for a server in another process.
    let connections = AtomicUsize::new(0);
    FaultServer::start(move |_, request| {
        if request.on_connection == 0 {
            connections.fetch_add(1, Ordering::SeqCst);
        }
        Reply::Raw(match request.method.as_str() {
            "POST" => created.clone(),
            "DELETE" => discarded.clone(),
            _ if request.target.ends_with("/_connections") => {
                let count = connections.load(Ordering::SeqCst).to_string();
                answer_bytes(200, &[], count.as_bytes())
            }
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
