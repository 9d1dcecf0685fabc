//! `crmdb migrate lint` and the lint of `migrate apply`: a file is judged in the context of
//! the set it belongs to, whichever files are named.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{crmdb, run, stderr, stdout, success};

fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

/// A copy of the repository's migrations with the issue's `lead_priority` migration (numbered
/// after them), which locks `leads`, a table of 0004, for writes.
fn with_lead_priority() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(migrations_dir()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    fs::write(
        dir.path().join("0900_lead_priority.up.sql"),
        "ALTER TABLE leads ADD CONSTRAINT fk_leads_owner\n    FOREIGN KEY (organization_id, \
         assigned_to) REFERENCES organization_members (organization_id, user_id);\n\
         CREATE INDEX idx_leads_organization_id_created_at ON leads (organization_id, created_at);\n\
         ALTER TABLE leads ALTER COLUMN email SET NOT NULL;\n",
    )
    .unwrap();
    dir
}

fn lint(files: &[PathBuf]) -> std::process::Output {
    run(crmdb().arg("migrate").arg("lint").args(files))
}

fn rules(output: &std::process::Output) -> Vec<String> {
    stdout(output)
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split(": ").nth(1).map(str::to_owned))
        .collect()
}

const LEAD_PRIORITY_RULES: [&str; 4] = [
    "constraint-missing-not-valid",
    "adding-foreign-key-constraint",
    "require-concurrent-index-creation",
    "adding-not-nullable-field",
];

#[test]
fn lint_of_the_set_and_of_the_file_alone_both_find_the_later_files_locks() {
    let dir = with_lead_priority();
    let mut set: Vec<PathBuf> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
        .collect();
    set.sort();
    let whole = lint(&set);
    assert_eq!(whole.status.code(), Some(1), "{}", stderr(&whole));
    assert_eq!(rules(&whole), LEAD_PRIORITY_RULES);
    let alone = lint(&[dir.path().join("0900_lead_priority.up.sql")]);
    assert_eq!(alone.status.code(), Some(1));
    assert_eq!(stdout(&alone), stdout(&whole));
}

#[test]
fn lint_of_a_landed_file_alone_and_of_the_embedded_set_is_clean() {
    let alone = success(lint(&[migrations_dir().join("0004_crm_core.up.sql")]));
    assert_eq!(stdout(&alone), "ok: 1 file(s) lint clean\n");
    let embedded = success(lint(&[]));
    assert_eq!(stdout(&embedded), "ok: 16 file(s) lint clean\n");
}

#[test]
fn lint_of_a_file_that_does_not_parse_names_file_line_and_the_parsers_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.sql");
    fs::write(
        &path,
        "CREATE DOMAIN email AS text;\nCREATE TABLE t (a int;\n",
    )
    .unwrap();
    let output = lint(std::slice::from_ref(&path));
    assert_eq!(output.status.code(), Some(1));
    let expected = format!("{}:2:22: syntax-error: expected R_PAREN", path.display());
    assert!(stdout(&output).contains(&expected), "{}", stdout(&output));
}

#[tokio::test]
async fn apply_to_a_version_judges_the_tenant_rules_over_the_whole_set() {
    let db = crmdb_testkit::empty_db().await;
    let dir = with_lead_priority();
    let apply = |extra: &[&str]| {
        run(crmdb()
            .arg("--database-url")
            .arg(db.url())
            .args(["migrate", "apply"])
            .args(extra)
            .arg("--migrations")
            .arg(dir.path()))
    };
    // Row-level security arrives in 0010: up to 0009 the tenant tables lack it, and that is
    // no finding, because the set completes them.
    let partial = success(apply(&["--to", "9"]));
    assert!(
        stdout(&partial).contains("database at version 9"),
        "{}",
        stdout(&partial)
    );
    let rest = apply(&[]);
    assert!(!rest.status.success());
    assert_eq!(rules(&rest), LEAD_PRIORITY_RULES, "{}", stderr(&rest));
    assert!(
        stderr(&rest).contains("break 4 lint rule(s)"),
        "{}",
        stderr(&rest)
    );
}
