//! `crmdb up`: start (or reuse) the database, create it if missing, apply every migration,
//! and end with the `DATABASE_URL=` line that other tools can source.

use anyhow::Context as _;
use crmdb_cluster::Startup;
use crmdb_migrate::{Migrator, Options};
use crmdb_schema::audit::AuditReport;
use serde::Serialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not load the small demo (3 organizations × 200 leads) into a fresh database.
    #[arg(long)]
    no_demo: bool,
}

#[derive(Debug, Serialize)]
struct Summary {
    server: String,
    /// The server's PostgreSQL version, such as `18.4`.
    server_version: String,
    database_created: bool,
    migrations_applied: Vec<String>,
    /// The audit's whole report, as `crmdb audit --json` prints it.
    audit: AuditReport,
    seed: crate::commands::seed::UpSeed,
    changed: bool,
    /// The application and worker logins of the embedded cluster (absent for an external
    /// server, where `crmdb roles login` creates them).
    #[serde(skip_serializing_if = "Option::is_none")]
    app_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worker_url: Option<String>,
    url: String,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let database = ctx.database().await?;
    let migrations = crmdb_schema::migrations().context("the embedded migrations are invalid")?;
    crmdb_schema::roles::prepare_database(&database.options)
        .await
        .context("could not prepare the roles of the privilege model")?;
    let report = Migrator::new(migrations, Options::default())
        .apply(&database.options, None)
        .await
        .context("could not apply the migrations")?;
    let audit = audit(&database.options).await?;
    let seed = crate::commands::seed::seed_for_up(ctx, &database.options, !args.no_demo).await?;
    let mut logins_changed = false;
    let (app_url, worker_url) = if ctx.embedded().is_some() {
        let mut url = async |login| -> anyhow::Result<String> {
            let (url, created) =
                crate::logins::embedded(&ctx.global.home, &database, login).await?;
            logins_changed |= created;
            Ok(url)
        };
        (
            Some(url(&crate::logins::APP).await?),
            Some(url(&crate::logins::WORKER).await?),
        )
    } else {
        (None, None)
    };
    let server = match database.startup {
        Some(Startup::Created) => "embedded cluster created and started",
        Some(Startup::Started) => "embedded cluster started",
        Some(Startup::AlreadyRunning) => "embedded cluster already running",
        None => "external server (DATABASE_URL)",
    };
    let applied: Vec<String> = report
        .applied
        .iter()
        .map(|m| format!("{:04}_{}", m.version, m.name))
        .collect();
    let changed = database.created
        || !applied.is_empty()
        || matches!(database.startup, Some(Startup::Created | Startup::Started))
        || seed.changed()
        || logins_changed;
    let summary = Summary {
        server: server.to_owned(),
        server_version: database.server_version.clone(),
        database_created: database.created,
        migrations_applied: applied,
        audit,
        seed,
        changed,
        app_url,
        worker_url,
        url: database.url.clone(),
    };
    if ctx.out.is_json() {
        return ctx.out.json(&summary);
    }
    ctx.out.line(format!(
        "server:     PostgreSQL {}, {}",
        summary.server_version, summary.server
    ));
    ctx.out.line(format!(
        "database:   {}",
        if summary.database_created {
            "created"
        } else {
            "exists"
        }
    ));
    if summary.migrations_applied.is_empty() {
        ctx.out.line("migrations: up to date");
    } else {
        ctx.out.line(format!(
            "migrations: applied {}",
            summary.migrations_applied.join(", ")
        ));
    }
    ctx.out.line(summary.audit.summary());
    ctx.out.line(summary.seed.line());
    if !summary.changed {
        ctx.out.line("nothing changed: already up");
    }
    if let (Some(app), Some(worker)) = (&summary.app_url, &summary.worker_url) {
        ctx.out.line(format!("APP_DATABASE_URL={app}"));
        ctx.out.line(format!("WORKER_DATABASE_URL={worker}"));
    }
    ctx.out.line(format!("DATABASE_URL={}", summary.url));
    Ok(())
}

/// The schema audit, run on every `up` so a broken convention is seen as soon as it lands.
async fn audit(options: &PgConnectOptions) -> anyhow::Result<AuditReport> {
    let mut conn = PgConnection::connect_with(options)
        .await
        .context("could not connect to audit the schema")?;
    let report = crmdb_schema::audit::run(&mut conn)
        .await
        .context("could not audit the schema")?;
    conn.close().await.ok();
    Ok(report)
}
