//! `crmdb privacy erase`: deletes or anonymises everything about the subject, after
//! `--yes`; `--dry-run` reports the same counts and changes nothing.

use anyhow::Context as _;
use crmdb_store::ops::privacy::Erasure;

use super::SubjectArgs;
use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    subject: SubjectArgs,
    /// Count what would change, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Erase for real: it cannot be undone.
    #[arg(long)]
    yes: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    if !args.yes && !args.dry_run {
        anyhow::bail!(
            "refusing to erase without --yes: an erasure cannot be undone; run it with \
             --dry-run to see what it would change"
        );
    }
    let tenant = args.subject.tenant(ctx).await?;
    let erasure = tenant
        .privacy()
        .erase(&args.subject.subject(), args.dry_run)
        .await
        .context("the erasure failed and was rolled back: nothing changed")?;
    if ctx.out.is_json() {
        return ctx.out.json(&erasure);
    }
    print(ctx, &erasure);
    Ok(())
}

fn print(ctx: &Context, erasure: &Erasure) {
    if erasure.is_empty() {
        ctx.out
            .line("nothing to erase: no row of the organization is about this subject");
        return;
    }
    let rows = erasure
        .tables
        .iter()
        .map(|(table, t)| {
            vec![
                table.clone(),
                t.deleted.to_string(),
                t.anonymised.to_string(),
            ]
        })
        .collect();
    ctx.out.table(&["table", "deleted", "anonymised"], rows);
    let (deleted, anonymised) = erasure
        .tables
        .values()
        .fold((0, 0), |(d, a), t| (d + t.deleted, a + t.anonymised));
    ctx.out.line(format!(
        "{} {} lead(s): {deleted} row(s) deleted, {anonymised} anonymised in {} table(s){}",
        if erasure.dry_run {
            "would erase"
        } else {
            "erased"
        },
        erasure.leads.len(),
        erasure.tables.len(),
        if erasure.dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    ));
}
