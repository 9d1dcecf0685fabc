//! `crmdb down`: stop the embedded cluster, keeping its data, or delete it with `--purge`.

use anyhow::{bail, Context as _};

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Delete the cluster and all its data instead of only stopping it.
    #[arg(long)]
    purge: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let Some(cluster) = ctx.embedded() else {
        bail!(
            "`crmdb down` manages only the embedded cluster, but a database URL is set \
             (--database-url or DATABASE_URL); unset it to stop the cluster in {}",
            ctx.global.home.display()
        );
    };
    let home = cluster.home().display().to_string();
    let purge = args.purge;
    let changed = tokio::task::spawn_blocking(move || {
        if purge {
            cluster.purge()
        } else {
            cluster.stop()
        }
    })
    .await?
    .with_context(|| format!("could not stop the embedded cluster in {home}"))?;
    let message = match (purge, changed) {
        (true, true) => format!("deleted the embedded cluster in {home}"),
        (true, false) => format!("nothing to delete: no embedded cluster in {home}"),
        (false, true) => format!("stopped the embedded cluster in {home} (data kept)"),
        (false, false) => format!("the embedded cluster in {home} was not running"),
    };
    ctx.out.line(&message);
    ctx.out
        .json(&serde_json::json!({ "home": home, "purged": purge, "changed": changed }))
}
