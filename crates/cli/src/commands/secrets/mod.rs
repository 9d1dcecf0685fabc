//! `crmdb secrets`: maintenance of the secrets sealed at rest. `crmdb secrets rotate`
//! re-seals every sealed value under the current key.

use std::sync::Arc;

use anyhow::Context as _;
use crmdb_store::rotation::RotationReport;
use crmdb_store::Db;

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Re-seal every secret under the current key (the first of CRMDB_ENCRYPTION_KEY).
    ///
    /// To rotate: generate a key (`openssl rand -base64 32`); give every application server
    /// and this command CRMDB_ENCRYPTION_KEY=<new>,<old>; run this command; then drop the old
    /// key. With the embedded cluster, CRMDB_ENCRYPTION_KEY=<new> is enough: the home's key
    /// file takes the new key before anything is re-sealed and keeps the old one until the
    /// rotation completes, so later commands need no variable. Batches commit one by one and
    /// only rows still sealed under another key are taken, so the CRM keeps running and an
    /// interrupted rotation is finished by running it again.
    Rotate(RotateArgs),
}

#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// Rows re-sealed per transaction.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    batch_size: u32,
}

pub async fn run(command: Command, ctx: &Context) -> anyhow::Result<()> {
    match command {
        Command::Rotate(args) => rotate(args, ctx).await,
    }
}

async fn rotate(args: RotateArgs, ctx: &Context) -> anyhow::Result<()> {
    let config = ctx.store_config().await?;
    let keyring = ctx.keyring()?;
    let db = Db::connect_with(config, 2)
        .await
        .context("could not connect to the database")?
        .with_keyring(Arc::new(keyring));
    let report = crmdb_store::rotation::rotate(&db, args.batch_size)
        .await
        .context("the rotation stopped; rows already re-sealed stay so, run it again to finish")?;
    let keyring = ctx.keyring()?;
    let retired = ctx.retire_old_keys(keyring)?;
    if ctx.out.is_json() {
        return ctx.out.json(&serde_json::json!({
            "key_id": report.key_id,
            "tables": report.tables,
            "retired_keys": retired,
        }));
    }
    print(ctx, &report, &retired);
    Ok(())
}

fn print(ctx: &Context, report: &RotationReport, retired: &[String]) {
    let rows = report
        .tables
        .iter()
        .map(|t| {
            vec![
                t.table.to_owned(),
                t.rows.to_string(),
                t.batches.to_string(),
            ]
        })
        .collect();
    ctx.out.table(&["table", "re-sealed", "batches"], rows);
    if report.rows() == 0 {
        ctx.out.line(format!(
            "nothing to do: every secret is already sealed under key {}",
            report.key_id
        ));
    } else {
        ctx.out.line(format!(
            "{} secret row(s) re-sealed under key {}",
            report.rows(),
            report.key_id
        ));
    }
    if ctx.global.database_url.is_some() {
        ctx.out.line(
            "no value is sealed under the old keys any more: remove them from every \
             CRMDB_ENCRYPTION_KEY",
        );
    } else if !retired.is_empty() {
        ctx.out.line(format!(
            "the home's key file now holds key {} only (retired: {})",
            report.key_id,
            retired.join(", ")
        ));
    }
}
