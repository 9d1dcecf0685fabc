//! `crmdb url`: print the database URL, starting the embedded cluster if needed.

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, ctx: &Context) -> anyhow::Result<()> {
    let database = ctx.database().await?;
    ctx.out.line(&database.url);
    ctx.out.json(&serde_json::json!({ "url": database.url }))
}
