//! `crmdb seed`: the defaults every organization gets (idempotent), and `crmdb seed demo`,
//! the deterministic demo data.

mod demo;

use anyhow::Context as _;
use crmdb_seed::SeedReport;
use sqlx::Connection as _;

use crate::context::Context;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Load deterministic pt-BR demo data into every table (resumable: organizations
    /// already loaded are skipped).
    Demo(demo::Args),
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        Some(Command::Demo(args)) => demo::run(args, ctx).await,
        None => run_defaults(ctx).await,
    }
}

async fn run_defaults(ctx: &Context) -> anyhow::Result<()> {
    let database = ctx.database().await?;
    let mut conn = sqlx::PgConnection::connect_with(&crmdb_seed::bounded(&database.options))
        .await
        .context("could not connect to the database")?;
    let report = crmdb_seed::seed_all(&mut conn)
        .await
        .context("could not seed the defaults (is the database migrated? run `crmdb up`)")?;
    conn.close().await.ok();
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    for line in describe(&report) {
        ctx.out.line(line);
    }
    Ok(())
}

/// What a defaults report says in words: what was inserted, or that nothing was.
pub fn describe(report: &SeedReport) -> Vec<String> {
    let mut lines = vec![format!(
        "defaults:   {} organization(s) checked",
        report.organizations
    )];
    if report.rows() == 0 {
        lines.push("nothing changed: every default was already present".to_owned());
        return lines;
    }
    let inserted = [
        ("plans", report.plans),
        ("pipelines", report.pipelines),
        ("pipeline_stages", report.pipeline_stages),
        ("message_templates", report.message_templates),
        ("voip_configs", report.voip_configs),
        ("lead_scoring_models", report.lead_scoring_models),
    ];
    let parts: Vec<String> = inserted
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(table, n)| format!("{n} {table}"))
        .collect();
    lines.push(format!("inserted:   {}", parts.join(", ")));
    lines
}

/// The demo `crmdb up` loads into a database without organizations.
const UP_DEMO: crmdb_demo::DemoOptions = crmdb_demo::DemoOptions {
    organizations: 3,
    leads_per_org: 200,
    seed: 42,
    connections: 2,
};

/// What `crmdb up` seeded: the defaults, and the small demo on a fresh database.
#[derive(Debug, serde::Serialize)]
pub struct UpSeed {
    pub defaults: SeedReport,
    pub demo: Option<crmdb_demo::DemoReport>,
    /// Why no demo was loaded, when none was.
    pub demo_skipped: Option<String>,
}

impl UpSeed {
    pub fn changed(&self) -> bool {
        self.defaults.rows() > 0
            || self
                .demo
                .as_ref()
                .is_some_and(|d| d.organizations_loaded > 0)
    }

    /// The one line `up` prints about seeding.
    pub fn line(&self) -> String {
        let defaults = if self.defaults.rows() == 0 {
            "defaults present".to_owned()
        } else {
            format!("defaults: {} rows inserted", self.defaults.rows())
        };
        match (&self.demo, &self.demo_skipped) {
            (Some(demo), _) if demo.organizations_loaded == 0 => {
                format!("seed:       {defaults}; demo loaded by a concurrent run")
            }
            (Some(demo), _) => format!(
                "seed:       {defaults}; demo loaded: {} organizations × {} leads (seed {}), {} rows",
                demo.organizations_loaded, demo.leads_per_org, demo.seed, demo.rows
            ),
            (None, Some(why)) => format!("seed:       {defaults}; no demo ({why})"),
            (None, None) => format!("seed:       {defaults}"),
        }
    }
}

/// Seeds the defaults and, when the database has no organization yet and `demo` is true,
/// the small demo (3 organizations × 200 leads, seed 42).
pub async fn seed_for_up(
    ctx: &Context,
    options: &sqlx::postgres::PgConnectOptions,
    demo: bool,
) -> anyhow::Result<UpSeed> {
    let mut conn = sqlx::PgConnection::connect_with(&crmdb_seed::bounded(options))
        .await
        .context("could not connect to seed the database")?;
    let fresh = crmdb_demo::is_fresh_database(&mut conn)
        .await
        .context("could not look for organizations")?;
    let defaults = crmdb_seed::seed_all(&mut conn)
        .await
        .context("could not seed the defaults")?;
    conn.close().await.ok();
    let mut seeded = UpSeed {
        defaults,
        demo: None,
        demo_skipped: None,
    };
    if !demo {
        seeded.demo_skipped = Some("--no-demo".to_owned());
    } else if fresh {
        match ctx.keyring() {
            Ok(keyring) => {
                let progress = std::sync::Arc::new(crmdb_demo::NoProgress);
                let report =
                    crmdb_demo::load(options, keyring, &UP_DEMO, progress, std::future::pending())
                        .await
                        .context("could not load the demo data")?;
                seeded.demo = Some(report);
            }
            Err(error) => seeded.demo_skipped = Some(format!("{error:#}")),
        }
    }
    Ok(seeded)
}
