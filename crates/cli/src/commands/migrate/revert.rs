//! `crmdb migrate revert`: run down files, newest first, each in its own transaction.

use crmdb_migrate::{Migrator, RevertTarget};

use super::{label, version_text, SourceArgs, WaitArgs};
use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    wait: WaitArgs,
    /// Revert the newest N applied versions (default 1).
    #[arg(long, value_name = "N", conflicts_with = "to")]
    steps: Option<usize>,
    /// Revert every applied version above this one (0 reverts all).
    #[arg(long, value_name = "VERSION")]
    to: Option<i64>,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let target = match (args.to, args.steps) {
        (Some(version), _) => RevertTarget::To(version),
        (None, steps) => RevertTarget::Steps(steps.unwrap_or(1)),
    };
    let migrator = Migrator::new(args.source.load()?, args.wait.options());
    let database = ctx.database().await?;
    let report = migrator.revert(&database.options, target).await?;
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    for r in &report.reverted {
        ctx.out.line(format!(
            "reverted {} ({} ms)",
            label(r.version, &r.name),
            r.duration_ms
        ));
    }
    if report.reverted.is_empty() {
        ctx.out.line("nothing to revert");
    }
    ctx.out.line(format!(
        "database at version {}",
        version_text(report.version_after)
    ));
    Ok(())
}
