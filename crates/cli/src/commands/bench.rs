//! `crmdb bench`: times the schema catalog's hot queries through the data layer with random
//! organizations, stages, members and leads, runs the same SQL as raw queries in the same
//! run (the layer's overhead is their ratio), compares each query under row-level security
//! with the same query as the owner, and checks that each plan uses its intended index.
//! The engine is `crmdb-bench`; this command parses its options and prints its report.

use std::time::Duration;

use anyhow::Context as _;
use crmdb_bench::{DemoSize, Report, Settings, BENCH_DATABASE};
use crmdb_demo::DemoReport;
use crmdb_store::hot::HotQuery;

use crate::context::Context;
use crate::render::Renderer;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Create a fresh database `crm_bench` with this many organizations of demo data
    /// (with --leads-per-org); without both, the target database is used as it is.
    #[arg(long, requires = "leads_per_org", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    orgs: Option<u32>,
    /// Leads per organization of the fresh database (with --orgs).
    #[arg(long, requires = "orgs", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    leads_per_org: Option<u32>,
    /// Seconds each query runs on each path (layer, raw, RLS against owner).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    duration: u64,
    /// Concurrent clients per path.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// The seed of the demo data and of the random parameters.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let target = ctx.database().await?;
    let progress = Lines(&ctx.out);
    let mut database: crmdb_bench::Config = target
        .url
        .parse()
        .context("the database URL is not valid for the benchmark's connections")?;
    if let (Some(organizations), Some(leads_per_org)) = (args.orgs, args.leads_per_org) {
        let size = DemoSize {
            organizations,
            leads_per_org,
        };
        crmdb_bench::prepare(&target.options, &size, args.seed, ctx.keyring()?, &progress).await?;
        database.dbname(BENCH_DATABASE);
    }
    let settings = Settings {
        duration: Duration::from_secs(args.duration),
        concurrency: args.concurrency,
        seed: args.seed,
    };
    let report = match crmdb_bench::run(&database, &settings, &progress).await {
        Err(e @ crmdb_bench::Error::NoOrganizations) => {
            anyhow::bail!("{e}; load some with --orgs and --leads-per-org")
        }
        report => report?,
    };
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    print(ctx, &report);
    Ok(())
}

/// The engine's progress as lines of text (none under `--json`).
struct Lines<'a>(&'a Renderer);

impl crmdb_bench::Progress for Lines<'_> {
    fn loading_demo(&self, database: &str, size: &DemoSize) {
        self.0.line(format!(
            "loading {} organization(s) × {} leads into {database} …",
            size.organizations, size.leads_per_org
        ));
    }

    fn demo_loaded(&self, report: &DemoReport) {
        self.0.line(format!(
            "loaded {} rows in {:.1} s",
            report.rows, report.seconds
        ));
    }

    fn measuring(&self, query: &HotQuery) {
        self.0.line(format!("running {} …", query.name));
    }
}

fn print(ctx: &Context, report: &Report) {
    ctx.out.line(format!(
        "{}: {} organizations, {} leads, {} communications; {} client(s), {} s per query and path",
        report.database,
        report.organizations,
        report.leads,
        report.communications,
        report.concurrency,
        report.duration_seconds
    ));
    if !report.sees_past_rls {
        ctx.out.line(
            "the login is subject to row-level security (neither superuser nor BYPASSRLS): \
             raw statements run with their organization entered, and there is no owner \
             comparison",
        );
    }
    let ms = |v: f64| format!("{v:.3}");
    let rows = report
        .queries
        .iter()
        .map(|q| {
            vec![
                q.name.to_owned(),
                ms(q.p50_ms),
                ms(q.p95_ms),
                ms(q.p99_ms),
                format!("{:.0}", q.qps),
                if q.uses_index { "yes" } else { "NO" }.to_owned(),
                ms(q.raw_p50_ms),
                ms(q.raw_p99_ms),
                format!("{:.2}× / {:.2}×", q.overhead_p50, q.overhead),
                q.rls_p99_ms.map(ms).unwrap_or_else(|| "-".to_owned()),
                q.owner_p99_ms.map(ms).unwrap_or_else(|| "-".to_owned()),
                q.rls_ratio_p50
                    .zip(q.rls_ratio)
                    .map(|(p50, p99)| format!("{p50:.2}× / {p99:.2}×"))
                    .unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    ctx.out.table(
        &[
            "query",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "qps",
            "index",
            "raw p50",
            "raw p99",
            "layer/raw p50 / p99",
            "rls p99",
            "owner p99",
            "rls/owner p50 / p99",
        ],
        rows,
    );
    let compound = &report.compound;
    ctx.out.line(format!(
        "{} ({} statements in one transaction): p50 {} ms, p99 {} ms, {:.0} per second",
        compound.name,
        compound.statements,
        ms(compound.p50_ms),
        ms(compound.p99_ms),
        compound.qps
    ));
}
