//! The server's modules form a hierarchy: no module reaches back up to one that uses it. A
//! cycle (as `auth → state → store → auth` once was) makes every change ripple both ways;
//! this test reads the sources and fails naming the cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module of each `crate::…` path used by each top-level module (tests excluded).
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap();
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let entry = deps.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    entry.insert(name);
                }
            }
        }
    }
    deps
}

#[test]
fn server_modules_have_no_import_cycles() {
    let deps = dependencies();
    assert!(
        deps.contains_key("store") && deps.contains_key("auth"),
        "{deps:?}"
    );
    // Kahn's algorithm: repeatedly take the modules whose dependencies are all taken.
    let mut order: Vec<String> = Vec::new();
    let mut left = deps.clone();
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|(_, uses)| {
                uses.iter()
                    .all(|u| order.contains(u) || !deps.contains_key(u))
            })
            .map(|(m, _)| m.clone())
            .collect();
        assert!(
            !ready.is_empty(),
            "import cycle among {:?}",
            left.iter()
                .map(|(m, uses)| format!("{m} -> {uses:?}"))
                .collect::<Vec<_>>()
        );
        for m in ready {
            left.remove(&m);
            order.push(m);
        }
    }
    // The layers the design relies on.
    let at = |m: &str| order.iter().position(|o| o == m).unwrap();
    assert!(at("account") < at("store") && at("store") < at("error"));
    assert!(at("error") < at("auth") && at("state") < at("auth"));
    assert!(at("media") < at("state") && at("rate_limit") < at("state"));
    println!("module order: {}", order.join(" -> "));
}
