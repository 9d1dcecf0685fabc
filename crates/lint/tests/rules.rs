//! One snapshot per rule of a set of files that breaks it and one that passes it, from
//! `tests/fixtures/<rule>/{fail,pass}.sql`; a fixture holds several files split at
//! `-- file: <name>` lines.

use std::fs;
use std::path::{Path, PathBuf};

use crmdb_lint::{lint, Finding, MigrationFile, Rule};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn files(text: &str) -> Vec<MigrationFile> {
    let mut files: Vec<MigrationFile> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("-- file: ") {
            files.push(MigrationFile {
                name: name.trim().to_owned(),
                text: String::new(),
                transactional: true,
            });
            continue;
        }
        if files.is_empty() {
            files.push(MigrationFile {
                name: "0001_change.up.sql".into(),
                text: String::new(),
                transactional: true,
            });
        }
        let file = files.last_mut().unwrap();
        file.text.push_str(line);
    }
    for file in &mut files {
        file.transactional = !file
            .text
            .trim_start()
            .starts_with("-- crmdb:no-transaction");
    }
    files
}

fn render(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "(no findings)\n".into();
    }
    findings.iter().map(|f| format!("{f}\n")).collect()
}

/// Every variant of the enum, so that a new rule without fixtures fails the tests.
fn every_rule() -> impl Iterator<Item = Rule> {
    enum_iterator::all::<Rule>()
}

/// Snapshots both fixtures of `rule`; returns what is wrong with them.
fn check(rule: Rule) -> Vec<String> {
    let dir = fixtures().join(rule.name());
    let mut wrong = Vec::new();
    let fail = lint(&files(&fs::read_to_string(dir.join("fail.sql")).unwrap()));
    if !fail.iter().any(|f| f.rule == rule) {
        wrong.push(format!(
            "fail.sql of {rule} does not break it:\n{}",
            render(&fail)
        ));
    }
    insta::assert_snapshot!(format!("{rule}__fail"), render(&fail));
    let pass = lint(&files(&fs::read_to_string(dir.join("pass.sql")).unwrap()));
    if !pass.is_empty() {
        wrong.push(format!(
            "pass.sql of {rule} has findings:\n{}",
            render(&pass)
        ));
    }
    insta::assert_snapshot!(format!("{rule}__pass"), render(&pass));
    wrong
}

#[test]
fn every_rule_has_fixtures_and_every_fixture_a_rule() {
    let mut dirs: Vec<String> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut names: Vec<&str> = every_rule().map(Rule::name).collect();
    names.sort_unstable();
    assert_eq!(dirs, names);
}

#[test]
fn every_rule_breaks_on_its_fail_fixture_and_passes_its_pass_fixture() {
    let wrong: Vec<String> = every_rule().flat_map(check).collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_allow_comment_without_a_reason_silences_nothing() {
    let findings = lint(&files(
        "-- crmdb:allow ban-drop-table\nDROP TABLE legacy_accounts;\n",
    ));
    let rules: Vec<&str> = findings.iter().map(|f| f.rule.name()).collect();
    assert_eq!(rules, ["invalid-allow", "ban-drop-table"]);
}

#[test]
fn the_migrations_lint_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".up.sql"))
        .collect();
    names.sort();
    let set: Vec<MigrationFile> = names
        .into_iter()
        .map(|name| {
            let text = fs::read_to_string(dir.join(&name)).unwrap();
            MigrationFile {
                transactional: !text.trim_start().starts_with("-- crmdb:no-transaction"),
                name,
                text,
            }
        })
        .collect();
    let findings = lint(&set);
    assert!(findings.is_empty(), "{}", render(&findings));
}
