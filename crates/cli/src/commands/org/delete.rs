//! `crmdb org delete ORG --yes`: offboarding, reporting the rows deleted per table.

use anyhow::Context as _;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The organization: its id or its slug.
    org: String,
    /// Delete for real: it cannot be undone.
    #[arg(long)]
    yes: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    if !args.yes {
        anyhow::bail!(
            "refusing to delete organization {:?} without --yes: every row of it goes, and \
             it cannot be undone (`crmdb org export` first keeps a copy)",
            args.org
        );
    }
    let (db, id) = super::organization(ctx, &args.org).await?;
    let deletion = crmdb_store::offboarding::delete(&db, id)
        .await
        .context("the deletion failed and was rolled back: nothing changed")?;
    if ctx.out.is_json() {
        return ctx.out.json(&deletion);
    }
    let rows = deletion
        .tables
        .iter()
        .map(|(table, n)| vec![table.clone(), n.to_string()])
        .collect();
    ctx.out.table(&["table", "deleted"], rows);
    ctx.out.line(format!(
        "deleted organization {id}: {} rows in {} tables",
        deletion.tables.values().sum::<u64>(),
        deletion.tables.len()
    ));
    Ok(())
}
