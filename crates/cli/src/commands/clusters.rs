//! `crmdb clusters`: the clusters crmdb keeps under its shared directory (when it runs as
//! root), with the home each belongs to; `crmdb clusters prune` removes those whose home
//! is gone.

use anyhow::Context as _;
use crmdb_cluster::SharedCluster;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Remove the clusters whose home no longer exists (stopping a server still running on
    /// one); clusters in use are never touched.
    Prune,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let prune = matches!(args.action, Some(Action::Prune));
    let clusters = tokio::task::spawn_blocking(move || {
        if prune {
            crmdb_cluster::prune_shared_clusters()
        } else {
            crmdb_cluster::shared_clusters()
        }
    })
    .await?
    .context("could not read the shared cluster directory")?;
    if ctx.out.is_json() {
        return ctx.out.json(&clusters);
    }
    let rows = clusters.iter().map(row).collect();
    ctx.out
        .table(&["cluster", "home", "home exists", "running", "size"], rows);
    let bytes: u64 = clusters.iter().map(|c| c.bytes).sum();
    let orphans = clusters.iter().filter(|c| c.is_orphan()).count();
    ctx.out.line(if prune {
        format!(
            "removed {} orphaned cluster(s), {} freed",
            clusters.len(),
            megabytes(bytes)
        )
    } else if clusters.is_empty() {
        "no clusters in the shared directory (crmdb keeps clusters there only when it runs \
         as root; otherwise each lives in its home)"
            .to_owned()
    } else {
        format!(
            "{} cluster(s), {} orphaned; `crmdb clusters prune` removes the orphans",
            clusters.len(),
            orphans
        )
    });
    Ok(())
}

fn row(cluster: &SharedCluster) -> Vec<String> {
    vec![
        cluster.dir.display().to_string(),
        cluster
            .home
            .as_ref()
            .map_or_else(|| "(not recorded)".to_owned(), |h| h.display().to_string()),
        yes_no(cluster.home_exists),
        yes_no(cluster.running),
        megabytes(cluster.bytes),
    ]
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
