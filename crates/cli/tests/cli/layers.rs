//! The workspace's layering, checked on the real dependency graph: the crates the CRM's
//! services build on link no tooling, and the binary sends no SQL of its own.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

/// What a service links: the data layer and everything it needs to run and migrate.
const RUNTIME: &[&str] = &[
    "crmdb-cluster",
    "crmdb-migrate",
    "crmdb-pg",
    "crmdb-schema",
    "crmdb-secrets",
    "crmdb-seed",
    "crmdb-store",
];

/// What only the command line and the tests use.
const TOOLING: &[&str] = &[
    "crmdb-bench",
    "crmdb-demo",
    "crmdb-inspect",
    "crmdb-lint",
    "crmdb-testkit",
];

/// The normal (not dev, not build) dependencies of every workspace package, by name.
fn dependency_graph() -> HashMap<String, Vec<String>> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let name_of: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|kind| kind["kind"].is_null())
                })
                .map(|dep| name_of[dep["pkg"].as_str().unwrap()].to_owned())
                .collect();
            (name_of[node["id"].as_str().unwrap()].to_owned(), deps)
        })
        .collect()
}

fn closure(graph: &HashMap<String, Vec<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(name) = stack.pop() {
        for dep in graph.get(&name).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    seen
}

#[test]
fn runtime_crates_link_no_tooling() {
    let graph = dependency_graph();
    for tool in TOOLING.iter().chain(RUNTIME) {
        assert!(graph.contains_key(*tool), "{tool} is not in the workspace");
    }
    for crate_name in RUNTIME {
        let linked = closure(&graph, crate_name);
        let tooling: Vec<_> = TOOLING.iter().filter(|t| linked.contains(**t)).collect();
        assert!(
            tooling.is_empty(),
            "{crate_name} links tooling: {tooling:?}"
        );
    }
}

/// The calls that send SQL; the binary leaves them to the library crates.
const SQL_CALLS: &[&str] = &[
    "sqlx::query",
    "query_scalar(",
    "query_as(",
    "raw_sql(",
    ".fetch_one(",
    ".fetch_all(",
    ".fetch_optional(",
    ".execute(",
];

#[test]
fn the_binary_sends_no_sql_of_its_own() {
    let mut found = Vec::new();
    visit(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(found.is_empty(), "SQL in the CLI crate: {found:#?}");
}

fn visit(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            visit(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (number, line) in text.lines().enumerate() {
                if SQL_CALLS.iter().any(|call| line.contains(call)) {
                    found.push(format!(
                        "{}:{}: {}",
                        path.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
}
