//! The layout of the tool's sources: no file imports a file that imports it back, and none is over 800 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Every `.rs` file under cli/src, by its path there (`tests/mod.rs`), with
/// its text, `//` comments blanked.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, files: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(root).unwrap().to_string_lossy();
                let text = fs::read_to_string(&path).unwrap();
                let code: Vec<&str> = text
                    .lines()
                    .map(|line| line.split("//").next().unwrap_or_default())
                    .collect();
                files.insert(name.replace('\\', "/"), code.join("\n"));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    walk(&root, &root, &mut files);
    files
}

/// The file a path after `crate::` names: a module's file, or main.rs
/// for an item of the crate's root.
fn file_of(path: &str, files: &BTreeMap<String, String>) -> String {
    let mut parts = path.split("::").map(str::trim);
    let first = parts.next().unwrap_or_default();
    if first == "tests" {
        return match parts.next() {
            Some(module) if files.contains_key(&format!("tests/{module}.rs")) => {
                format!("tests/{module}.rs")
            }
            _ => "tests/mod.rs".to_owned(),
        };
    }
    let file = format!("{first}.rs");
    if first != "main" && files.contains_key(&file) {
        file
    } else {
        "main.rs".to_owned()
    }
}

/// The files each file imports: through `crate::`, and, from a file of
/// the tests module, `super::`.
fn imports(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for (name, text) in files {
        let mut to = BTreeSet::new();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or_default();
                for path in group.split(',').filter(|p| !p.trim().is_empty()) {
                    to.insert(file_of(path, files));
                }
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                to.insert(file_of(&rest[..end], files));
            }
        }
        if name.starts_with("tests/") && name != "tests/mod.rs" && text.contains("super::") {
            to.insert("tests/mod.rs".to_owned());
        }
        to.remove(name);
        edges.insert(name.clone(), to);
    }
    edges
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let files = sources();
    let edges = imports(&files);
    // A file sees what it imports, and what those import, and so on.
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut next: Vec<&String> = edges[start].iter().collect();
        while let Some(file) = next.pop() {
            assert_ne!(file, start, "{start} imports itself back: {edges:#?}");
            if seen.insert(file) {
                next.extend(edges.get(file).into_iter().flatten());
            }
        }
    }
    // The check sees the imports there are.
    assert!(edges["output.rs"].contains("wording.rs"), "{edges:#?}");
    assert!(edges["tests/mod.rs"].contains("main.rs"), "{edges:#?}");
}

#[test]
fn no_file_is_over_800_lines() {
    for (name, text) in sources() {
        let lines = text.lines().count();
        assert!(lines <= 800, "{name} has {lines} lines");
    }
}
