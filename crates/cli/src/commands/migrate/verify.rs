//! `crmdb migrate verify`: exit 0 only when every applied file matches its checksum (and,
//! with `--drift`, the live schema is the one the migrations build).

use anyhow::Context as _;
use crmdb_migrate::Migrator;

use super::{short_checksum, SourceArgs};
use crate::context::Context;
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// Also compare the live schema (owners and privileges included) with the one the
    /// migrations build (those of --migrations, or the embedded ones), and fail on any
    /// difference, each listed with its repair.
    #[arg(long)]
    drift: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let migrations = args.source.load()?;
    let migrator = Migrator::new(migrations.clone(), super::options());
    let database = ctx.database().await?;
    let report = migrator.verify(&database.options).await?;
    if ctx.out.is_json() {
        // One JSON document: with --drift, the checksums and the differences side by side.
        if args.drift {
            let differences = crmdb_inspect::drift::check(&database.options, migrations)
                .await
                .context("could not compare the schema with the migrations")?;
            let clean = report.ok && differences.is_empty();
            ctx.out
                .json(&serde_json::json!({ "checksums": report, "drift": differences }))?;
            return if clean { Ok(()) } else { Err(Exit(1).into()) };
        }
        ctx.out.json(&report)?;
    } else {
        for drift in &report.changed {
            ctx.out.line(format!(
                "changed: {} (recorded {}, now {})",
                drift.file,
                short_checksum(&drift.recorded),
                short_checksum(&drift.actual)
            ));
        }
        for version in &report.missing {
            ctx.out.line(format!(
                "missing: version {version} is applied but has no file"
            ));
        }
        for version in &report.partial {
            ctx.out
                .line(format!("partial: version {version} stopped half-way"));
        }
        if report.ok {
            ctx.out.line(format!(
                "ok: {} applied file(s) match their checksums",
                report.checked
            ));
        }
    }
    let drifted = args.drift
        && !ctx.out.is_json()
        && super::drift::report(ctx, &database, migrations).await?;
    if report.ok && !drifted {
        Ok(())
    } else {
        Err(Exit(1).into())
    }
}
