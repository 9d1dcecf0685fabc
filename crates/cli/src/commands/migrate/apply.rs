//! `crmdb migrate apply`: apply pending migrations, or print the plan with `--dry-run`.

use anyhow::Context as _;
use crmdb_migrate::{Migrator, Options, Plan};

use super::{label, version_text, SourceArgs, WaitArgs};
use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    wait: WaitArgs,
    /// Apply pending versions up to and including this one only.
    #[arg(long, value_name = "VERSION")]
    to: Option<i64>,
    /// Print what would run (files, statements, which run outside a transaction) and stop.
    #[arg(long)]
    dry_run: bool,
    /// Apply pending versions older than the newest applied one.
    #[arg(long)]
    allow_out_of_order: bool,
    /// Apply although applied versions have no file.
    #[arg(long)]
    ignore_missing: bool,
    /// Skip the lint of the pending files.
    #[arg(long)]
    no_lint: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let options = Options {
        allow_out_of_order: args.allow_out_of_order,
        ignore_missing: args.ignore_missing,
        ..args.wait.options()
    };
    let migrator = Migrator::new(args.source.load()?, options);
    let database = ctx.database().await?;
    let plan = migrator.plan(&database.options, args.to).await?;
    if args.dry_run {
        return print_plan(ctx, &plan);
    }
    if !args.no_lint {
        let versions: Vec<i64> = plan.migrations.iter().map(|p| p.version).collect();
        super::lint::refuse_unsafe(ctx, migrator.migrations(), &versions)?;
    }
    if !plan.migrations.is_empty() {
        crmdb_schema::roles::prepare_database(&database.options)
            .await
            .context("could not prepare the roles of the privilege model")?;
    }
    let report = migrator.apply(&database.options, args.to).await?;
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    if report.lock_wait_ms >= 1000 {
        ctx.out.line(format!(
            "waited {:.1} s for another runner's lock",
            report.lock_wait_ms as f64 / 1000.0
        ));
    }
    for applied in &report.applied {
        let mut line = format!(
            "applied {} ({} ms, {} statement{}{})",
            label(applied.version, &applied.name),
            applied.duration_ms,
            applied.statements,
            if applied.statements == 1 { "" } else { "s" },
            if applied.transactional {
                ""
            } else {
                ", no transaction"
            },
        );
        if let Some(at) = applied.resumed_at {
            line.push_str(&format!(", resumed at statement {at}"));
        }
        for index in &applied.dropped_invalid_indexes {
            line.push_str(&format!(", dropped INVALID index {index} first"));
        }
        ctx.out.line(line);
    }
    if report.up_to_date {
        ctx.out.line(format!(
            "up to date at version {}",
            version_text(report.version_after)
        ));
    } else {
        ctx.out.line(format!(
            "database at version {} (was {})",
            version_text(report.version_after),
            version_text(report.version_before)
        ));
    }
    Ok(())
}

fn print_plan(ctx: &Context, plan: &Plan) -> anyhow::Result<()> {
    if ctx.out.is_json() {
        return ctx.out.json(plan);
    }
    if plan.migrations.is_empty() {
        ctx.out.line(format!(
            "nothing to apply: up to date at version {}",
            version_text(plan.version_before)
        ));
        return Ok(());
    }
    ctx.out.line(format!(
        "would apply {} migration(s) to the database at version {}:",
        plan.migrations.len(),
        version_text(plan.version_before)
    ));
    for m in &plan.migrations {
        let how = match (m.transactional, m.resume_at) {
            (true, _) => "one transaction".to_owned(),
            (false, None) => "no transaction, one statement at a time".to_owned(),
            (false, Some(at)) => format!("no transaction, resuming at statement {at}"),
        };
        ctx.out.line(format!("\n{} ({how})", m.file));
        for s in &m.statements {
            ctx.out
                .line(format!("  {:>4}: {}", s.line, first_line(&s.text)));
        }
    }
    Ok(())
}

/// A statement's first line, shortened: enough to recognise it in a plan.
fn first_line(text: &str) -> String {
    const MAX: usize = 100;
    let line = text.lines().next().unwrap_or("").trim_end();
    let more = text.contains('\n');
    match line.char_indices().nth(MAX) {
        Some((at, _)) => format!("{} ...", &line[..at]),
        None if more => format!("{line} ..."),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_show_the_first_line_of_statements() {
        assert_eq!(
            first_line("CREATE TABLE t (\n a int\n)"),
            "CREATE TABLE t ( ..."
        );
        assert_eq!(first_line("SELECT 1"), "SELECT 1");
        assert_eq!(first_line(&"x".repeat(150)).len(), 104);
    }
}
