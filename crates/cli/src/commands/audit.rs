//! `crmdb audit`: checks the live database against the schema conventions and exits 1 when
//! any table breaks one.

use anyhow::Context as _;
use sqlx::{Connection, PgConnection};

use crate::context::Context;
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, ctx: &Context) -> anyhow::Result<()> {
    let database = ctx.database().await?;
    let mut conn = PgConnection::connect_with(&database.options)
        .await
        .context("could not connect to the database")?;
    let report = crmdb_schema::audit::run(&mut conn)
        .await
        .context("the audit failed")?;
    conn.close().await.ok();
    if ctx.out.is_json() {
        ctx.out.json(&report)?;
    } else {
        ctx.out.line(report.summary());
        if !report.is_clean() {
            let rows = report
                .violations
                .iter()
                .map(|v| vec![v.table.clone(), v.rule.to_string(), v.detail.clone()])
                .collect();
            ctx.out.table(&["table", "rule", "detail"], rows);
        }
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(Exit(1).into())
    }
}
