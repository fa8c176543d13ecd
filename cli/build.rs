//! Whether the repository's test servers (`test-support/`) are beside this
//! package: the published crate leaves them out, so the tests that need them
//! are compiled only where they are (`cfg(test_servers)`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(test_servers)");
    let servers = "../test-support/Cargo.toml";
    if std::path::Path::new(servers).exists() {
        println!("cargo::rerun-if-changed={servers}");
        println!("cargo::rustc-cfg=test_servers");
    } else {
        // Not the missing path, which would run this at every build.
        println!("cargo::rerun-if-changed=build.rs");
    }
}
