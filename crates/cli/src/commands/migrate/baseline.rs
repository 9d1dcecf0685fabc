//! `crmdb migrate baseline V`: adopt a database built by another tool by recording every
//! version up to V as applied, without running it.

use crmdb_migrate::Migrator;

use super::{SourceArgs, WaitArgs};
use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The version the database already has.
    #[arg(value_name = "VERSION")]
    at: i64,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    anyhow::ensure!(args.at > 0, "versions are positive integers");
    let migrator = Migrator::new(args.source.load()?, args.wait.options());
    let database = ctx.database().await?;
    let report = migrator.baseline(&database.options, args.at).await?;
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    let marked: Vec<String> = report.marked.iter().map(i64::to_string).collect();
    ctx.out.line(format!(
        "baselined at version {}: marked {} as applied without running them{}",
        report.version,
        if marked.is_empty() {
            "no file".to_owned()
        } else {
            marked.join(", ")
        },
        if report.marker_row {
            " (and a marker row for the version itself)"
        } else {
            ""
        }
    ));
    Ok(())
}
