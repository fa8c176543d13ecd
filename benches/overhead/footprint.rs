//! Section 4 of `cargo bench`: the dependency footprint.

use super::*;

// --- 4. Dependency footprint -------------------------------------------------------

pub(super) fn footprint() {
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
