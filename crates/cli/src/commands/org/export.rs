//! `crmdb org export ORG --out DIR`: the organization's data, table by table, with a
//! manifest of row counts and checksums.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The organization: its id or its slug.
    org: String,
    /// The directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let (db, id) = super::organization(ctx, &args.org).await?;
    let started = std::time::Instant::now();
    let manifest = crmdb_store::offboarding::export(&db, id, &args.out)
        .await
        .with_context(|| format!("the export into {} failed", args.out.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.out.is_json() {
        return ctx.out.json(&manifest);
    }
    let rows = manifest
        .tables
        .iter()
        .map(|t| {
            vec![
                t.file.clone(),
                t.rows.to_string(),
                t.sha256[..16].to_owned(),
            ]
        })
        .collect();
    ctx.out.table(&["file", "rows", "sha256"], rows);
    ctx.out.line(format!(
        "wrote {} rows in {} files to {} in {seconds:.1} s ({:.0} rows/s); manifest: {}",
        manifest.rows(),
        manifest.tables.len(),
        args.out.display(),
        manifest.rows() as f64 / seconds.max(1e-9),
        crmdb_store::offboarding::MANIFEST
    ));
    Ok(())
}
