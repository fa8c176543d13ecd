//! Whether the repository's test servers (`test-support/`) are beside this
//! package: the published crate leaves them out, so the fake's unit tests,
//! which need them, are compiled only where they are (`cfg(test_servers)`).
//! Nothing else depends on it: a user's build is the same either way.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(test_servers)");
    let servers = "test-support/Cargo.toml";
    println!("cargo::rerun-if-changed={servers}");
    if std::path::Path::new(servers).exists() {
        println!("cargo::rustc-cfg=test_servers");
    }
}
