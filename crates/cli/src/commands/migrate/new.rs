//! `crmdb migrate new NAME`: create the next numbered up/down pair of files.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What the migration does, e.g. "add lead tags"; becomes the file name's `name` part.
    name: String,
    /// The directory of the migration files.
    #[arg(long, value_name = "DIR", default_value = "migrations")]
    migrations: PathBuf,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let (up, down) =
        crmdb_migrate::create_next(&args.migrations, &args.name).with_context(|| {
            format!(
                "could not create a migration in {}",
                args.migrations.display()
            )
        })?;
    ctx.out.line(format!("created {}", up.display()));
    ctx.out.line(format!("created {}", down.display()));
    ctx.out.json(&serde_json::json!({ "up": up, "down": down }))
}
