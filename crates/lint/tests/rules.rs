//! One snapshot per rule of a set of files that breaks it and one that passes it, from
//! `tests/fixtures/<rule>/{fail,pass}.sql`; a fixture holds several files split at
//! `-- file: <name>` lines.

use std::fs;
use std::path::{Path, PathBuf};

use crmdb_lint::{lint, lint_in, Finding, MigrationFile, Rule};

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

/// The repository's migrations, in order.
fn landed() -> Vec<MigrationFile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".up.sql"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = fs::read_to_string(dir.join(&name)).unwrap();
            MigrationFile {
                transactional: !text.trim_start().starts_with("-- crmdb:no-transaction"),
                name,
                text,
            }
        })
        .collect()
}

fn rules_of(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule.name()).collect()
}

#[test]
fn the_migrations_lint_clean() {
    let findings = lint(&landed());
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn a_landed_file_alone_is_clean_in_the_context_of_its_set() {
    let set = landed();
    for index in 0..set.len() {
        let findings = lint_in(&set, &[index]);
        assert!(findings.is_empty(), "{}", render(&findings));
    }
    let crm_core = set
        .iter()
        .position(|f| f.name == "0004_crm_core.up.sql")
        .unwrap();
    let out_of_context = lint(&set[..=crm_core]);
    assert!(
        rules_of(&out_of_context).contains(&"tenant-row-level-security"),
        "without 0010 the tenant tables of 0004 lack their RLS"
    );
}

/// The reproduction: a later file that locks `leads`, a table of 0004.
const LEAD_PRIORITY: &str = "\
ALTER TABLE leads ADD CONSTRAINT fk_leads_owner
    FOREIGN KEY (organization_id, assigned_to) REFERENCES organization_members (organization_id, user_id);
CREATE INDEX idx_leads_organization_id_created_at ON leads (organization_id, created_at);
ALTER TABLE leads ALTER COLUMN email SET NOT NULL;
";

#[test]
fn a_later_file_changing_a_table_of_the_set_is_judged_as_changing_a_table_in_use() {
    let mut set = landed();
    set.push(MigrationFile {
        name: "0012_lead_priority.up.sql".into(),
        text: LEAD_PRIORITY.into(),
        transactional: true,
    });
    let expected = [
        "constraint-missing-not-valid",
        "adding-foreign-key-constraint",
        "require-concurrent-index-creation",
        "adding-not-nullable-field",
    ];
    let whole = lint(&set);
    assert_eq!(rules_of(&whole), expected, "{}", render(&whole));
    assert!(whole.iter().all(|f| f.file == "0012_lead_priority.up.sql"));
    let alone = lint_in(&set, &[set.len() - 1]);
    assert_eq!(whole, alone);
    insta::assert_snapshot!("lead_priority", render(&alone));
}

#[test]
fn a_table_created_and_changed_in_one_file_stays_new_and_is_in_use_in_the_next() {
    let create = "CREATE TABLE plans (code text);
COMMENT ON TABLE plans IS 'scope: global. Plans.';
";
    let change = "ALTER TABLE plans ALTER COLUMN code SET NOT NULL;
CREATE INDEX idx_plans_code ON plans (code);
";
    let one_file = files(&format!("{create}{change}"));
    assert_eq!(rules_of(&lint(&one_file)), [] as [&str; 0]);
    let two_files = files(&format!(
        "-- file: 0001_create.up.sql\n{create}-- file: 0002_change.up.sql\n{change}"
    ));
    assert_eq!(
        rules_of(&lint(&two_files)),
        [
            "adding-not-nullable-field",
            "require-concurrent-index-creation"
        ]
    );
    let no_transaction = files(&format!("-- crmdb:no-transaction\n{create}{change}"));
    assert!(rules_of(&lint(&no_transaction)).contains(&"adding-not-nullable-field"));
}

#[test]
fn a_file_that_does_not_parse_is_a_finding_with_the_parsers_message() {
    let findings = lint(&files(
        "CREATE DOMAIN email AS text;\nSELECT 1 FROM (VALUES (1) v;\n",
    ));
    assert_eq!(rules_of(&findings), ["syntax-error"]);
    assert_eq!((findings[0].line, findings[0].column), (2, 26));
    assert_eq!(findings[0].message, "expected R_PAREN");
}

#[test]
fn squawks_ignore_comment_silences_only_with_a_reason() {
    let with_reason = "-- file: 0002_drop.up.sql
-- squawk-ignore ban-drop-table -- archived to the warehouse in release 41
DROP TABLE legacy_accounts;
";
    assert_eq!(rules_of(&lint(&files(with_reason))), [] as [&str; 0]);
    let without = "-- squawk-ignore ban-drop-table\nDROP TABLE legacy_accounts;\n";
    assert_eq!(
        rules_of(&lint(&files(without))),
        ["invalid-allow", "ban-drop-table"]
    );
    let too_far = "-- squawk-ignore ban-drop-table -- archived\n\nDROP TABLE legacy_accounts;\n";
    assert_eq!(
        rules_of(&lint(&files(too_far))),
        ["invalid-allow", "ban-drop-table"],
        "like squawk, only the comment's line and the next one"
    );
    let whole_file = "-- squawk-ignore-file ban-drop-table -- both archived\n\
                      DROP TABLE a;\nDROP TABLE b;\n";
    assert_eq!(rules_of(&lint(&files(whole_file))), [] as [&str; 0]);
}
