//! A benchmark run: the pools, the sample, the filled job queue, every hot query measured
//! in catalog order, and the database's size.

use std::sync::Arc;
use std::time::Duration;

use crmdb_store::hot::HOT_QUERIES;
use crmdb_store::Db;
use rand::rngs::StdRng;
use rand::SeedableRng;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::measure::measure;
use crate::sample::{organization_ids, Sample};
use crate::{queue, Error, Progress, Report};

/// How long, how hard and from which seed the benchmark runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long each query runs on each path (layer, raw, RLS against owner).
    pub duration: Duration,
    /// Concurrent clients per path.
    pub concurrency: u16,
    /// The seed of the random parameters.
    pub seed: u64,
}

/// Pool connections beyond one per client: headroom, so that no client waits for one.
const SPARE_CONNECTIONS: u32 = 2;

/// Jobs queued per second of each client on each path that claims them: more than a client
/// claims in a second, so the queue never runs dry during a run.
const JOBS_PER_CLIENT_SECOND: u64 = 3000;
/// The paths that claim jobs: through the data layer and raw.
const CLAIMING_PATHS: u64 = 2;
/// Jobs on top, for the clients' warm-up steps.
const SPARE_JOBS: u64 = 1000;
/// The most jobs the queue is filled with, whatever the duration and concurrency: the
/// claim rate is bounded by the server, not by the number of clients, and an unbounded
/// fill once queued 1.4 billion rows.
pub(crate) const MAX_QUEUED_JOBS: u64 = 2_000_000;
/// The longest any statement of the benchmark may run: a bound on the server's work when
/// the client dies, and far above any hot query's latency.
const STATEMENT_TIMEOUT: &str = "60s";

/// Benchmarks every hot query on `database` (a fresh one from [`prepare`](crate::prepare),
/// or any migrated CRM database with organizations that have leads).
pub async fn run(
    database: &PgConnectOptions,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let raw = connect(database, settings).await?;
    let db = Db::from_pool(connect(database, settings).await?);
    let sees_past_rls: bool = sqlx::query_scalar(
        "SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&raw)
    .await?;
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let sample = Arc::new(Sample::load(&raw, &mut rng).await?);
    let jobs = JOBS_PER_CLIENT_SECOND
        * settings.duration.as_secs()
        * u64::from(settings.concurrency)
        * CLAIMING_PATHS
        + SPARE_JOBS;
    let jobs = jobs.min(MAX_QUEUED_JOBS);
    queue::fill(&raw, &sample.organization_ids(), jobs).await?;

    let mut queries = Vec::new();
    for query in HOT_QUERIES {
        progress.measuring(query);
        queries.push(measure(query, &db, &raw, &sample, settings, sees_past_rls).await?);
    }
    queue::empty(&raw).await.map_err(Error::EmptyQueue)?;

    let (organizations, leads, communications) = size(&raw).await?;
    Ok(Report {
        database: database.get_database().unwrap_or_default().to_owned(),
        organizations,
        leads,
        communications,
        sees_past_rls,
        concurrency: settings.concurrency,
        duration_seconds: settings.duration.as_secs(),
        queries,
    })
}

/// The organizations, leads and communications of the database, counted one organization
/// at a time with the organization entered, so that any login sees them all.
async fn size(pool: &PgPool) -> Result<(i64, i64, i64), Error> {
    let ids = organization_ids(pool).await?;
    let (mut leads, mut communications) = (0, 0);
    let mut tx = pool.begin().await?;
    for id in &ids {
        crmdb_pg::tenancy::set_organization(&mut tx, *id).await?;
        let (l, c): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM leads WHERE organization_id = $1), \
                    (SELECT count(*) FROM communications WHERE organization_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        leads += l;
        communications += c;
    }
    tx.rollback().await?;
    Ok((ids.len() as i64, leads, communications))
}

/// A pool with a connection for every client and the spares.
async fn connect(database: &PgConnectOptions, settings: &Settings) -> Result<PgPool, Error> {
    PgPoolOptions::new()
        .max_connections(u32::from(settings.concurrency) + SPARE_CONNECTIONS)
        .connect_with(
            database
                .clone()
                .options([("statement_timeout", STATEMENT_TIMEOUT)]),
        )
        .await
        .map_err(Error::Connect)
}
