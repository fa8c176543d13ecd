//! Section 2 of `cargo bench`: long `Paginator` walks, their connections and peak memory, each in a child process.

use super::*;

// --- 2. Walks ----------------------------------------------------------------------

#[track_caller]
pub(super) fn walks(server: &FaultServer, base: &str) {
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
pub(super) fn walk_child(size: usize, base: &str) {
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

pub(super) fn vm_hwm_kb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
        })
        .unwrap_or_else(|| "?".to_owned())
}
