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

/// The normal (not dev, not build) dependencies of every workspace package, by name. The
/// workspace's own crates are all the layering is about, so the declared dependencies
/// (`--no-deps`) suffice: nothing outside the workspace needs to be resolved or fetched.
fn dependency_graph() -> HashMap<String, Vec<String>> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let deps = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dep| dep["kind"].is_null())
                .map(|dep| dep["name"].as_str().unwrap().to_owned())
                .collect();
            (package["name"].as_str().unwrap().to_owned(), deps)
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

/// No crate has two top-level modules that use each other, directly or through others: a
/// circle makes neither module understandable (or movable) alone.
#[test]
fn no_crate_has_an_import_circle_between_its_modules() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut circles = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        let mut uses = HashMap::new();
        module_uses(&src, &src, &mut uses);
        for start in uses.keys() {
            if let Some(circle) = circle_through(&uses, start) {
                circles.push(format!("{}: {}", src.display(), circle.join(" -> ")));
            }
        }
    }
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

/// For each top-level module of the crate at `src`, the other top-level modules its code
/// names as `crate::<module>` (comments aside).
fn module_uses(src: &Path, dir: &Path, uses: &mut HashMap<String, BTreeSet<String>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            module_uses(src, &path, uses);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let named = uses.entry(module.clone()).or_default();
        for (at, _) in text.match_indices("crate::") {
            for name in first_segments(&text[at + "crate::".len()..]) {
                if name != module {
                    named.insert(name);
                }
            }
        }
    }
}

/// The first path segment of what follows `crate::`: one name, or each item of a
/// `{a, b::c}` group.
fn first_segments(rest: &str) -> Vec<String> {
    let leading = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![leading(rest)];
    };
    let (mut depth, mut items, mut start) = (0, Vec::new(), 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(leading(&group[start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(leading(&group[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.into_iter().filter(|name| !name.is_empty()).collect()
}

/// A path of uses from `start` back to itself, if there is one.
fn circle_through(uses: &HashMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![start.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in uses.get(last).into_iter().flatten() {
            if next == start {
                let mut circle = path.clone();
                circle.push(next.clone());
                return Some(circle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}
