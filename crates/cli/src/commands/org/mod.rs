//! `crmdb org`: an organization as a whole: `export` (one JSON Lines file per table and a
//! manifest) and `delete` (offboarding), both through `crmdb_store::offboarding`.

mod delete;
mod export;

use anyhow::Context as _;
use crmdb_store::Db;
use uuid::Uuid;

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write every row of the organization into DIR: a JSON Lines file per table, a manifest.
    Export(export::Args),
    /// Delete the organization and every row of it; refused without --yes.
    Delete(delete::Args),
}

pub async fn run(command: Command, ctx: &Context) -> anyhow::Result<()> {
    match command {
        Command::Export(args) => export::run(args, ctx).await,
        Command::Delete(args) => delete::run(args, ctx).await,
    }
}

/// The database and the organization `key` (id or slug) names in it.
async fn organization(ctx: &Context, key: &str) -> anyhow::Result<(Db, Uuid)> {
    let config = ctx.store_config().await?;
    let db = Db::connect_with(config, 2)
        .await
        .context("could not connect to the database")?;
    let id = crmdb_store::offboarding::organization_id(&db, key)
        .await
        .with_context(|| format!("no organization {key:?} (give its id or slug)"))?;
    Ok((db, id))
}
