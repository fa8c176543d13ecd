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
//! 6's enforce a rate limit. Section 7 (`--only plans`, not run by default:
//! it takes most of an hour) runs the built tool's plans at a million
//! tokens against `FakeServer`.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use magicbell_jwt_test_support::{answer_bytes, FaultServer, Reply};

#[path = "overhead/closed_connections.rs"]
mod closed_connections;
#[path = "overhead/footprint.rs"]
mod footprint;
#[path = "overhead/network.rs"]
mod network;
#[path = "overhead/per_call.rs"]
mod per_call;
#[path = "overhead/plans.rs"]
mod plans;
#[path = "overhead/rate_limits.rs"]
mod rate_limits;
#[path = "overhead/server.rs"]
mod server;
#[path = "overhead/walks.rs"]
mod walks;

use closed_connections::*;
use footprint::*;
use network::*;
use per_call::*;
use server::*;
use walks::*;

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
    if args.windows(2).any(|w| w[0] == "--only" && w[1] == "plans") {
        return plans::only(&args);
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
