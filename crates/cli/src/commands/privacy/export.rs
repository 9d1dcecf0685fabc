//! `crmdb privacy export`: the subject's data as one JSON document, on stdout or in a file
//! readable by its owner only (it is personal data).

use std::path::PathBuf;

use anyhow::Context as _;

use super::SubjectArgs;
use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    subject: SubjectArgs,
    /// Write the document to FILE (mode 0600) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let tenant = args.subject.tenant(ctx).await?;
    let export = tenant
        .privacy()
        .export(&args.subject.subject())
        .await
        .context("the export failed")?;
    let Some(out) = args.out else {
        return ctx.out.document(&export);
    };
    let document = serde_json::to_vec_pretty(&export)?;
    let staged = crate::private_file::stage(&out, &document)?;
    std::fs::rename(&staged, &out).with_context(|| format!("could not write {}", out.display()))?;
    let rows: usize = export.tables.values().map(Vec::len).sum();
    let summary = serde_json::json!({
        "file": out,
        "leads": export.leads.len(),
        "tables": export.tables.len(),
        "rows": rows,
    });
    if ctx.out.is_json() {
        return ctx.out.json(&summary);
    }
    ctx.out.line(format!(
        "wrote {}: {} lead(s), {rows} row(s) in {} table(s)",
        out.display(),
        export.leads.len(),
        export.tables.len()
    ));
    Ok(())
}
