//! `crmdb migrate repair VERSION`: accept one deliberately edited applied file.

use crmdb_migrate::Migrator;

use super::{label, short_checksum, SourceArgs, WaitArgs};
use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The applied version whose edited file to accept.
    #[arg(value_name = "VERSION")]
    applied: i64,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let migrator = Migrator::new(args.source.load()?, args.wait.options());
    let database = ctx.database().await?;
    let report = migrator.repair(&database.options, args.applied).await?;
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    let name = label(report.version, &report.name);
    if report.changed {
        ctx.out.line(format!(
            "accepted the edited {name}: checksum {} replaced by {}; the history records the repair",
            short_checksum(&report.previous_checksum),
            short_checksum(&report.checksum)
        ));
    } else {
        ctx.out.line(format!(
            "{name} already matches its recorded checksum: nothing to repair"
        ));
    }
    Ok(())
}
