//! Section 7 of `cargo bench`, `--only plans [--scale N] [--seed S] [--parts
//! A,B]`: the built tool's plans at a million tokens against an in-process
//! `FakeServer` under a rate limit. Not run by default: at full size it
//! takes most of an hour (BENCHMARKS.md says how long).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use magicbell_jwt::FakeServer;

use super::{machine, tool_binary};

/// The breached users at full size, and each one's tokens.
const USERS: usize = 100_000;
const TOKENS_PER_USER: usize = 10;
/// Users not in the plan, whose tokens must stay live: at every scale.
const OUTSIDE_USERS: usize = 100;
/// Requests the fake answers a second.
const LIMIT: u32 = 5_000;
/// The tool's `--parallel`: the one its README's incident example uses.
const PARALLEL: usize = 16;
/// A batch of the tool's jobs and `apply`: 16 × `--parallel` (cli/README.md),
/// the most a kill can lose from the journal.
const BATCH: usize = 16 * PARALLEL;
const KILLS: usize = 5;

/// The parts of the section, as `--parts` names them: the plan and apply
/// without and with rate-limit headers, the plain job, the kills.
const PARTS: [&str; 4] = ["no-headers", "headers", "plain", "kill"];

/// `--only plans`: `--scale N` runs 1/N of the users; `--seed S` picks the
/// kill moments (printed either way, so a run can be repeated); `--parts
/// A,B` runs only those of [`PARTS`].
pub(super) fn only(args: &[String]) {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .map(|i| args.get(i + 1).and_then(|v| v.parse::<u64>().ok()))
    };
    let scale = match value("--scale") {
        None => 1,
        Some(Some(n)) if n >= 1 => n as usize,
        Some(_) => usage(),
    };
    let seed = match value("--seed") {
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        Some(Some(s)) => s,
        Some(None) => usage(),
    };
    let parts: Vec<&str> = match args.iter().position(|a| a == "--parts") {
        None => PARTS.to_vec(),
        Some(i) => match args.get(i + 1) {
            Some(list) if list.split(',').all(|p| PARTS.contains(&p)) => list.split(',').collect(),
            _ => usage(),
        },
    };
    println!("magicbell-jwt benchmark: {}", machine());
    section(USERS / scale, scale, seed, &parts);
}

fn usage() -> ! {
    eprintln!(
        "--only plans takes --scale N (1/N of the users, N ≥ 1), --seed S and --parts {}",
        PARTS.join(",")
    );
    std::process::exit(2);
}

fn section(users: usize, scale: usize, seed: u64, parts: &[&str]) {
    let tokens = users * TOKENS_PER_USER;
    println!("\n7. Plans at scale: {users} users with {TOKENS_PER_USER} tokens each ({tokens} tokens; scale 1/{scale}), plus");
    println!("   {OUTSIDE_USERS} users outside the plan with {TOKENS_PER_USER} each, seeded into an in-process FakeServer (request log off),");
    println!("   rate limit {LIMIT} requests a second; the built tool (release) with --parallel {PARALLEL}, each run a child");
    println!("   under /usr/bin/time -v (peak RSS: its maximum resident set); floor: requests ÷ {LIMIT} s; process start included");
    println!("   load before: {}", load());
    tool_binary();
    let dir = std::env::temp_dir().join(format!("magicbell-bench-plans-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let names: Vec<String> = (0..users)
        .map(|u| format!("user{u:06}@breach.example"))
        .collect();
    println!(
        "   {:<44} {:>7} {:>9} {:>8} {:>7} {:>7} {:>15} {:>9}",
        "run", "headers", "requests", "wall s", "floor s", "÷ floor", "429s tool/fake", "peak RSS"
    );
    for headers in [false, true] {
        if !parts.contains(&if headers { "headers" } else { "no-headers" }) {
            continue;
        }
        let bench = Bench::start(&names, headers);
        let plan = dir.join(format!("plan-{headers}.jsonl"));
        let planned = bench.plan(&plan);
        planned.print(
            &format!("user-revoke-all --plan ({} planned)", planned.count),
            headers,
            users,
        );
        let applied = bench.run_measured(
            &[
                "apply",
                path(&plan),
                "--parallel",
                &PARALLEL.to_string(),
                "--json",
            ],
            None,
            Some("\"left\""),
            &dir,
        );
        applied.print(&format!("apply ({} left)", applied.count), headers, tokens);
        bench.finish();
    }
    if parts.contains(&"plain") {
        plain(&names, &dir);
    }
    println!("   load after: {}", load());
    if parts.contains(&"kill") {
        kill_and_resume(&names, seed, &dir);
        println!("   load after: {}", load());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `user-revoke-all` without a plan, for its peak RSS.
fn plain(names: &[String], dir: &Path) {
    let bench = Bench::start(names, false);
    let plain = bench.run_measured(
        &[
            "user-revoke-all",
            "-",
            "--parallel",
            &PARALLEL.to_string(),
            "--json",
        ],
        Some(&bench.stdin),
        None,
        dir,
    );
    let requests = names.len() * (1 + TOKENS_PER_USER);
    plain.print("user-revoke-all, no plan", false, requests);
    bench.finish();
}

/// The apply killed with SIGKILL at `KILLS` random moments, each followed
/// by the same command, then run once more.
fn kill_and_resume(names: &[String], seed: u64, dir: &Path) {
    let bench = Bench::start(names, true);
    let plan = dir.join("plan-kill.jsonl");
    let planned = bench.plan(&plan).count;
    let mut rng = seed;
    let mut at: Vec<usize> = (0..KILLS)
        .map(|_| 1 + (splitmix(&mut rng) % planned as u64) as usize)
        .collect();
    at.sort_unstable();
    println!("   7b. the apply (headers on) killed with SIGKILL once the fake has acted on K revokes, K at random (seed {seed}):");
    println!("       K = {at:?}; each kill followed by the same `apply`, then one more `apply` of the finished plan");
    let parallel = PARALLEL.to_string();
    let apply = || {
        let mut command = bench.command(&["apply", path(&plan), "--parallel", &parallel]);
        command.stdout(Stdio::null()).stderr(Stdio::null());
        command
    };
    let start = Instant::now();
    for (epoch, &k) in at.iter().enumerate() {
        bench.tally.lock().expect("tally").epoch = epoch;
        let mut child: Child = apply().spawn().expect("start the tool");
        let mut exited = None;
        while bench.tally.lock().expect("tally").acted < k {
            if let Some(status) = child.try_wait().expect("the tool") {
                exited = Some(status);
                break;
            }
            thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill();
        child.wait().expect("the tool");
        bench.settle();
        let acted = bench.tally.lock().expect("tally").acted;
        match exited {
            Some(status) => println!(
                "       run {}: ended by itself ({status}) at {acted} acted",
                epoch + 1
            ),
            None => println!("       run {}: killed at {acted} acted", epoch + 1),
        }
    }
    bench.tally.lock().expect("tally").epoch = KILLS;
    let last = apply().status().expect("the tool");
    bench.settle();
    let secs = start.elapsed().as_secs_f64();
    bench.tally.lock().expect("tally").epoch = KILLS + 1;
    let sent_before = bench.tally.lock().expect("tally").revokes;
    let output = bench
        .command(&["apply", path(&plan)])
        .output()
        .expect("the tool");
    bench.settle();
    let again = String::from_utf8_lossy(&output.stdout);
    let t = bench.tally.lock().expect("tally");
    let twice = t.ids.values().filter(|i| i.ok > 1).count();
    let acted_twice = t.ids.values().filter(|i| i.ok + i.unanswered > 1).count();
    let resent = t.resent[1..=KILLS].to_vec();
    let outside_sent = t
        .ids
        .iter()
        .filter(|(id, _)| bench.outside_ids.contains(*id))
        .count();
    let sent_again = t.revokes - sent_before;
    drop(t);
    let (live, _) = bench.discarded(names);
    let (_, outside_revoked) = bench.discarded(&bench.outside);
    println!(
        "       final apply: {last}; {secs:.1} s for all {} runs (floor {:.1} s)",
        KILLS + 1,
        planned as f64 / LIMIT as f64
    );
    println!("       tokens the server revoked twice (ids answered 200 more than once): {twice}");
    println!("       ids acted on twice counting revokes whose killed client got no answer: {acted_twice}");
    println!("       revokes sent again after each kill (distinct ids sent by an earlier run): {resent:?}, bound: one batch, {BATCH}");
    println!("       tokens of the plan left live: {live}");
    println!("       tokens outside the plan revoked: {outside_revoked}; revokes sent to them: {outside_sent}");
    println!(
        "       the finished plan applied again: {}, {sent_again} revokes sent; it said {:?}",
        output.status,
        again.lines().last().unwrap_or("")
    );
    bench.finish();
}

/// A fake seeded with the users and the outsiders, and what it answered.
struct Bench {
    fake: FakeServer,
    tally: Arc<Mutex<Tally>>,
    feed: JoinHandle<()>,
    outside: Vec<String>,
    outside_ids: HashSet<String>,
    /// The planned users, a line each: the tool's stdin.
    stdin: String,
}

/// What the fake's request feed said.
#[derive(Default)]
struct Tally {
    /// Which run of the tool is sending: a resumed apply has a higher one.
    epoch: usize,
    lists: usize,
    revokes: usize,
    throttled: usize,
    /// Ids whose revoke was answered 200 or sent no answer (acted either way).
    acted: usize,
    ids: HashMap<String, Ids>,
    /// Per epoch: distinct ids sent whose first revoke came in an earlier one.
    resent: Vec<usize>,
    last: Option<Instant>,
}

struct Ids {
    first: usize,
    last: usize,
    ok: u32,
    unanswered: u32,
}

impl Bench {
    fn start(names: &[String], headers: bool) -> Bench {
        let fake = FakeServer::start().expect("start the fake");
        fake.set_request_log_limit(Some(0));
        let outside: Vec<String> = (0..OUTSIDE_USERS)
            .map(|u| format!("outside{u:03}@example.com"))
            .collect();
        let mut outside_ids = HashSet::new();
        for (i, user) in names.iter().enumerate() {
            fake.seed_user_tokens(user, TOKENS_PER_USER);
            // Outsiders among the others, as in a real account.
            if i % (names.len() / OUTSIDE_USERS).max(1) == 0
                && outside_ids.len() < OUTSIDE_USERS * TOKENS_PER_USER
            {
                outside_ids.extend(fake.seed_user_tokens(
                    &outside[outside_ids.len() / TOKENS_PER_USER],
                    TOKENS_PER_USER,
                ));
            }
        }
        fake.set_rate_limit(LIMIT, Duration::from_secs(1));
        fake.set_rate_limit_headers(headers);
        let tally = Arc::new(Mutex::new(Tally {
            resent: vec![0; KILLS + 2],
            ..Tally::default()
        }));
        let feed = fake.request_feed();
        let counting = Arc::clone(&tally);
        let feed = thread::spawn(move || {
            for request in feed {
                let mut t = counting.lock().expect("tally");
                t.last = Some(Instant::now());
                if request.status == Some(429) {
                    t.throttled += 1;
                }
                match request.method.as_str() {
                    "GET" => t.lists += 1,
                    "DELETE" => t.revoke(&request.path, request.status),
                    _ => {}
                }
            }
        });
        Bench {
            fake,
            tally,
            feed,
            outside,
            outside_ids,
            stdin: names.join("\n"),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(tool_binary());
        self.env(&mut command).args(args);
        command
    }

    fn env<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command
            .env("MAGICBELL_TOKEN", self.fake.admin_token())
            .env("MAGICBELL_BASE_URL", self.fake.base_url())
            .env_remove("ALL_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
    }

    /// `user-revoke-all - --plan FILE` of every user, measured.
    fn plan(&self, plan: &Path) -> Run {
        let dir = plan.parent().expect("the plan's directory");
        let stdin = self.stdin.clone();
        self.run_measured(
            &[
                "user-revoke-all",
                "-",
                "--parallel",
                &PARALLEL.to_string(),
                "--plan",
                path(plan),
                "--json",
            ],
            Some(&stdin),
            Some("\"tokens\""),
            dir,
        )
    }

    /// One run of the tool under `/usr/bin/time -v`, its stdout to a file.
    fn run_measured(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        key: Option<&str>,
        dir: &Path,
    ) -> Run {
        let out = dir.join("stdout");
        let err = dir.join("stderr");
        let mut command = Command::new("/usr/bin/time");
        command.arg("-v").arg(tool_binary()).args(args);
        self.env(&mut command)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(File::create(&out).expect("stdout file"))
            .stderr(File::create(&err).expect("stderr file"));
        let before = self.counts();
        let start = Instant::now();
        let mut child = command.spawn().expect("/usr/bin/time and the tool");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).expect("the tool's stdin");
        }
        let status = child.wait().expect("the tool");
        let secs = start.elapsed().as_secs_f64();
        self.settle();
        let after = self.counts();
        let stdout = std::fs::read_to_string(&out).unwrap_or_default();
        let stderr = std::fs::read_to_string(&err).unwrap_or_default();
        let rss_kb = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse::<u64>().ok());
        let seconds = |label: &str| {
            stderr
                .lines()
                .find_map(|l| l.trim().strip_prefix(label))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let cpu = seconds("User time (seconds):") + seconds("System time (seconds):");
        let count = key.and_then(|key| number_after(&stdout, key)).unwrap_or(0);
        Run {
            status,
            secs,
            lists: after.0 - before.0,
            revokes: after.1 - before.1,
            throttled_fake: after.2 - before.2,
            throttled_tool: number_after(&stdout, "\"throttled\""),
            rss_kb,
            cpu,
            count: count as usize,
        }
    }

    fn counts(&self) -> (usize, usize, usize) {
        let t = self.tally.lock().expect("tally");
        (t.lists, t.revokes, t.throttled)
    }

    /// Waits until the feed has said nothing for half a second: a request
    /// is fed once its answer is written, which can be after the tool exits.
    fn settle(&self) {
        loop {
            thread::sleep(Duration::from_millis(100));
            let last = self.tally.lock().expect("tally").last;
            if last.is_none_or(|l| l.elapsed() > Duration::from_millis(500)) {
                return;
            }
        }
    }

    /// (live, revoked) tokens of these users, as the fake holds them.
    fn discarded(&self, users: &[String]) -> (usize, usize) {
        users
            .iter()
            .flat_map(|u| self.fake.user_tokens(u))
            .fold((0, 0), |(live, gone), t| {
                if t.is_discarded() {
                    (live, gone + 1)
                } else {
                    (live + 1, gone)
                }
            })
    }

    fn finish(self) {
        drop(self.fake);
        let _ = self.feed.join();
    }
}

impl Tally {
    fn revoke(&mut self, path: &str, status: Option<u16>) {
        self.revokes += 1;
        let id = path.rsplit('/').next().unwrap_or("").to_owned();
        let epoch = self.epoch;
        let entry = self.ids.entry(id).or_insert(Ids {
            first: epoch,
            last: epoch,
            ok: 0,
            unanswered: 0,
        });
        if entry.first < epoch && entry.last < epoch {
            self.resent[epoch] += 1;
        }
        entry.last = epoch;
        let acted_before = entry.ok + entry.unanswered > 0;
        match status {
            Some(200) => entry.ok += 1,
            None => entry.unanswered += 1,
            _ => {}
        }
        if !acted_before && entry.ok + entry.unanswered > 0 {
            self.acted += 1;
        }
    }
}

/// One measured run of the tool.
struct Run {
    status: ExitStatus,
    secs: f64,
    lists: usize,
    revokes: usize,
    throttled_fake: usize,
    throttled_tool: Option<u64>,
    rss_kb: Option<u64>,
    /// The tool's user and system CPU seconds.
    cpu: f64,
    /// What the tool's JSON said it planned, or left.
    count: usize,
}

impl Run {
    fn print(&self, what: &str, headers: bool, floor_requests: usize) {
        let floor = floor_requests as f64 / LIMIT as f64;
        let tool = self
            .throttled_tool
            .map_or("?".to_owned(), |n| n.to_string());
        let rss = self
            .rss_kb
            .map_or("?".to_owned(), |kb| format!("{:.1} MB", kb as f64 / 1024.0));
        println!(
            "   {:<44} {:>7} {:>9} {:>8.1} {:>7.1} {:>7.2} {:>15} {:>9}",
            what,
            if headers { "yes" } else { "no" },
            self.lists + self.revokes,
            self.secs,
            floor,
            self.secs / floor,
            format!("{}/{}", tool, self.throttled_fake),
            rss
        );
        println!(
            "   {:<44} {} lists, {} revokes; the tool used {:.1} s of CPU and exited {}",
            "", self.lists, self.revokes, self.cpu, self.status
        );
    }
}

/// The number after `"key":` at the key's last place in a JSON text.
fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.rfind(key)? + key.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 scratch path")
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| {
            format!(
                "load average {}",
                l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
            )
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
