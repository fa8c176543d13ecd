//! Whether the repository's test servers (`test-support/`) are beside this
//! package: the published crate leaves them out, so the tests that need them
//! are compiled only where they are (`cfg(test_servers)`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(test_servers)");
    let servers = "../test-support/Cargo.toml";
    // Not the servers' path: a path that is missing (as in the published
    // crate) would run this again at every build.
    println!("cargo::rerun-if-changed=build.rs");
    if std::path::Path::new(servers).exists() {
        println!("cargo::rustc-cfg=test_servers");
    }
}
