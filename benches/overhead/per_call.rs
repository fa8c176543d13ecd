//! Section 1 of `cargo bench`: the per-call overhead over a hand-written `ureq` call, in instructions under callgrind and in CPU time.

use super::*;

// --- 1. Per-call overhead ----------------------------------------------------------

/// Calls a side for each callgrind count; the figure is the difference
/// between the two counts over the difference in calls, so start-up drops out.
pub(super) const CALLGRIND_CALLS: [usize; 2] = [1_000, 2_000];

pub(super) fn per_call() {
    println!("1. Per-call cost: the crate against raw ureq");
    instructions_per_call();
    println!();
    cpu_time_per_call();
    println!();
}

/// 1a, the headline: instructions per call, counted by callgrind, which the
/// machine's load and thread placement do not change.
pub(super) fn instructions_per_call() {
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
#[track_caller]
pub(super) fn callgrind(call: &str, side: &str, n: usize) -> u64 {
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
#[track_caller]
pub(super) fn cpu_time_per_call() {
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
pub(super) fn serve_until_stdin_closes() {
    use std::io::{Read, Write};
    let server = start_server();
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Asks a server of [`start_server`] how many connections it has had, over
/// a connection of its own, opened once.
pub(super) struct ConnectionProbe {
    agent: ureq::Agent,
    url: String,
}

impl ConnectionProbe {
    pub(super) fn new(base: &str) -> ConnectionProbe {
        let probe = ConnectionProbe {
            agent: ureq::Agent::new_with_defaults(),
            url: format!("{base}/_connections"),
        };
        // Its own connection is open before anything is counted.
        probe.connections();
        probe
    }

    pub(super) fn connections(&self) -> usize {
        let mut res = self.agent.get(&self.url).call().expect("connection count");
        let body = res.body_mut().read_to_string().expect("count");
        body.trim().parse().expect("a count")
    }
}

/// The CPU-time comparison against the server at `base`; `connections`
/// counts the connections it has had.
pub(super) fn cpu_per_call(base: &str, connections: &dyn Fn() -> usize) {
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
pub(super) fn only_calls(call: &str, side: &str, n: usize) {
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
pub(super) fn compare(
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
pub(super) struct Round {
    /// Time the calling thread spent on a CPU.
    cpu: f64,
    /// Elapsed time (the median call of the round).
    wall: f64,
}

pub(super) fn run_round(f: &mut impl FnMut() -> usize) -> Round {
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
pub(super) fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) gives the thread's CPU time")
}

pub(super) fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The floor: what a careful hand-written `ureq` 3 client does for the same
/// requests: one agent, the same headers, the body read whole and decoded
/// with `from_slice` into the same types.
pub(super) struct Raw {
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
