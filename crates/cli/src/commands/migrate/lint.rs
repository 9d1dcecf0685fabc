//! `crmdb migrate lint`: check migration files before they run — squawk's dangerous-operation
//! rules and crmdb's tenant rules, each finding naming file, line, rule and the safe
//! alternative.

use std::path::PathBuf;

use anyhow::Context as _;
use crmdb_lint::{Finding, MigrationFile, Rule};
use crmdb_migrate::Script;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Up files to lint as one set, in the order given; without files, every migration
    /// embedded in this binary.
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
    let files = if args.files.is_empty() {
        let migrations =
            crmdb_schema::migrations().context("could not read the embedded migrations")?;
        migrations.iter().map(|m| file(&m.up)).collect()
    } else {
        args.files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("could not read {}", path.display()))?;
                let script = Script::new(path.display().to_string(), text)?;
                Ok(file(&script))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let findings = crmdb_lint::lint(&files);
    report(ctx, &findings)?;
    if findings.is_empty() {
        if !ctx.out.is_json() {
            ctx.out
                .line(format!("ok: {} file(s) lint clean", files.len()));
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

/// Lints the scripts `apply` is about to run, as one set; refuses, printing the findings,
/// when any rule is broken.
pub fn refuse_unsafe(ctx: &Context, scripts: &[&Script]) -> anyhow::Result<()> {
    let files: Vec<MigrationFile> = scripts.iter().map(|s| file(s)).collect();
    let findings = crmdb_lint::lint(&files);
    if findings.is_empty() {
        return Ok(());
    }
    report(ctx, &findings)?;
    anyhow::bail!(
        "the pending migrations break {} lint rule(s); fix them, add \
         `-- crmdb:allow <rule> because <reason>` on the statement, or apply with --no-lint",
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
