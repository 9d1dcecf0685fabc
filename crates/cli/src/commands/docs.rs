//! `crmdb docs`: generate the schema documentation (`docs/schema/`) from the schema the
//! migrations produce, built in a scratch database on the selected server; `--check` only
//! compares, for CI.

use std::path::PathBuf;

use anyhow::Context as _;
use crmdb_inspect::docs;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory of the documentation.
    #[arg(long, default_value = "docs/schema")]
    pub out: PathBuf,
    /// Write nothing; exit non-zero when the documentation in --out is out of date.
    #[arg(long)]
    pub check: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let database = ctx.database().await?;
    // The scratch database is migrated with the cluster's roles and never creates them;
    // docs are built on a development server, where they are created as `crmdb up` does.
    crmdb_schema::roles::prepare_database(&database.options)
        .await
        .context("could not prepare the roles of the privilege model")?;
    let migrations =
        crmdb_schema::migrations().context("could not read the embedded migrations")?;
    let schema = crmdb_inspect::drift::scratch_schema(&database.options, migrations.clone())
        .await
        .context("could not build the schema to document")?;
    let domains = docs::domains(&migrations, &schema);
    let svg = docs::dot_available();
    let files = docs::render(&schema, &domains, svg)?;
    let stale = docs::stale(&args.out, &files, svg);
    if ctx.out.is_json() {
        ctx.out.json(&serde_json::json!({
            "out": args.out,
            "files": files.len(),
            "stale": stale,
            "svg": svg,
            "checked": args.check,
        }))?;
    }
    if args.check {
        if stale.is_empty() {
            if !ctx.out.is_json() {
                ctx.out
                    .line(format!("{} is up to date", args.out.display()));
            }
            return Ok(());
        }
        if !ctx.out.is_json() {
            for path in &stale {
                ctx.out
                    .line(format!("out of date: {}", args.out.join(path).display()));
            }
            ctx.out.line("run `crmdb docs` and commit the result");
        }
        return Err(crate::exit::Exit(1).into());
    }
    docs::write(&args.out, &files, svg)?;
    if !ctx.out.is_json() {
        ctx.out.line(format!(
            "wrote {} files to {} ({} changed){}",
            files.len(),
            args.out.display(),
            stale.len(),
            if svg {
                ""
            } else {
                "; no SVG diagrams: Graphviz `dot` is not installed"
            }
        ));
    }
    Ok(())
}
