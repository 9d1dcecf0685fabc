//! `crmdb migrate verify --drift`: the live schema against the one the migrations produce
//! (built in a scratch database on the same server), every difference listed.

use anyhow::Context as _;
use crmdb_migrate::Migrations;

use crate::context::{Context, Database};

/// Prints every difference with its repair; returns whether there was any.
pub async fn report(
    ctx: &Context,
    database: &Database,
    migrations: Migrations,
) -> anyhow::Result<bool> {
    let differences = crmdb_inspect::drift::check(&database.options, migrations)
        .await
        .context("could not compare the schema with the migrations")?;
    if ctx.out.is_json() {
        ctx.out.json(&differences)?;
    } else if differences.is_empty() {
        ctx.out
            .line("no drift: the schema is the one the migrations produce");
    } else {
        for difference in &differences {
            ctx.out.line(difference);
        }
        ctx.out.line(format!(
            "{} difference(s) between the live schema and the migrations",
            differences.len()
        ));
    }
    Ok(!differences.is_empty())
}
