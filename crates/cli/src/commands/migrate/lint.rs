//! `crmdb migrate lint`: check migration files before they run — squawk's dangerous-operation
//! rules and crmdb's tenant rules, each finding naming file, line, rule and the safe
//! alternative. A file is always linted in the context of the set it belongs to, so that the
//! verdict on it does not depend on which other files were named: `migrate apply` reaches
//! the same verdict on a pending file as `migrate lint` does.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use crmdb_lint::{Finding, MigrationFile, Rule};
use crmdb_migrate::{Migrations, Script};

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Up files to lint, each in the context of the migrations of its directory (other
    /// files as one set, in the order given); without files, every migration embedded in
    /// this binary.
    pub files: Vec<PathBuf>,
    /// List the rules and exit.
    #[arg(long)]
    pub rules: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    if args.rules {
        let rules = Rule::all();
        if ctx.out.is_json() {
            return ctx.out.json(&rules);
        }
        for rule in rules {
            ctx.out.line(rule);
        }
        return Ok(());
    }
    let (findings, linted) = if args.files.is_empty() {
        let migrations =
            crmdb_schema::migrations().context("could not read the embedded migrations")?;
        let set = up_files(&migrations);
        (crmdb_lint::lint(&set), set.len())
    } else {
        (lint_named(&args.files)?, args.files.len())
    };
    report(ctx, &findings)?;
    if findings.is_empty() {
        if !ctx.out.is_json() {
            ctx.out.line(format!("ok: {linted} file(s) lint clean"));
        }
        Ok(())
    } else {
        Err(crate::exit::Exit(1).into())
    }
}

/// The lint's view of a script the runner would apply.
pub fn file(script: &Script) -> MigrationFile {
    MigrationFile {
        name: script.file.clone(),
        text: script.sql.clone(),
        transactional: !script.no_transaction,
    }
}

fn up_files(migrations: &Migrations) -> Vec<MigrationFile> {
    migrations.iter().map(|m| file(&m.up)).collect()
}

/// Lints the named files: one named like a migration (`NNNN_name.up.sql`) in the context of
/// the migration set of its directory, reported under the name given; any other file with
/// the other such files, as one set in the order given.
fn lint_named(paths: &[PathBuf]) -> anyhow::Result<Vec<Finding>> {
    let mut sets: Vec<(PathBuf, Vec<MigrationFile>, Vec<usize>)> = Vec::new();
    let mut loose = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).with_context(|| format!("could not read {shown}"))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !crmdb_migrate::is_up_file_name(name) {
            loose.push(file(&Script::new(shown, text)?));
            continue;
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let at = match sets.iter().position(|(d, _, _)| d == dir) {
            Some(at) => at,
            None => {
                let migrations = Migrations::from_dir(dir).with_context(|| {
                    format!(
                        "could not read {}, the migration set {shown} is linted in",
                        dir.display()
                    )
                })?;
                sets.push((dir.to_owned(), up_files(&migrations), Vec::new()));
                sets.len() - 1
            }
        };
        let (_, files, selected) = &mut sets[at];
        let index = files
            .iter()
            .position(|f| f.name == name)
            .with_context(|| format!("{shown} is not in the migration set of its directory"))?;
        files[index].name = shown;
        selected.push(index);
    }
    let mut findings: Vec<Finding> = sets
        .iter()
        .flat_map(|(_, files, selected)| crmdb_lint::lint_in(files, selected))
        .collect();
    if !loose.is_empty() {
        findings.extend(crmdb_lint::lint(&loose));
    }
    Ok(findings)
}

/// The findings in the files of `versions`, linted in the context of all of `migrations`:
/// the tenant rules may be met by a later file of the set than the last one applied.
pub fn pending_findings(migrations: &Migrations, versions: &[i64]) -> Vec<Finding> {
    let set = up_files(migrations);
    let selected: Vec<usize> = migrations
        .iter()
        .enumerate()
        .filter(|(_, m)| versions.contains(&m.version))
        .map(|(index, _)| index)
        .collect();
    crmdb_lint::lint_in(&set, &selected)
}

/// Lints the versions `apply` is about to run, in the context of the whole set; refuses,
/// printing the findings, when any rule is broken.
pub fn refuse_unsafe(
    ctx: &Context,
    migrations: &Migrations,
    versions: &[i64],
) -> anyhow::Result<()> {
    let findings = pending_findings(migrations, versions);
    if findings.is_empty() {
        return Ok(());
    }
    report(ctx, &findings)?;
    anyhow::bail!(
        "the pending migrations break {} lint rule(s); fix them, add \
         `-- crmdb:allow <rule> because <reason>` (or `-- squawk-ignore <rule> -- <reason>`) on \
         the statement, or apply with --no-lint",
        findings.len()
    )
}

fn report(ctx: &Context, findings: &[Finding]) -> anyhow::Result<()> {
    if ctx.out.is_json() {
        return ctx.out.json(&findings);
    }
    for finding in findings {
        ctx.out.line(finding);
    }
    if !findings.is_empty() {
        ctx.out.line(format!("{} finding(s)", findings.len()));
    }
    Ok(())
}
