//! A benchmark run: the pools, the sample, the benchmark's own sessions, jobs and webhook
//! deliveries, every hot query measured in catalog order, the three-statement write, and
//! the database's size.

use std::sync::Arc;
use std::time::Duration;

use crmdb_store::hot::HOT_QUERIES;
use crmdb_store::sql::{query_as, query_scalar};
use crmdb_store::Db;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio_postgres::{Config, NoTls};

use crate::compound;
use crate::entering::entering;
use crate::measure::measure;
use crate::sample::{organization_ids, Sample};
use crate::{outbox, queue, sessions, Error, Progress, Report};

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
const SPARE_CONNECTIONS: usize = 2;

/// Jobs (and webhook deliveries) queued per second of each client on each path that claims
/// them: more than a client claims in a second, so the queue never runs dry during a run.
const JOBS_PER_CLIENT_SECOND: u64 = 3000;
/// The paths that claim jobs: through the data layer and raw.
const CLAIMING_PATHS: u64 = 2;
/// Jobs on top, for the clients' warm-up steps.
const SPARE_JOBS: u64 = 1000;
/// The most jobs the queue (and deliveries the outbox) is filled with, whatever the
/// duration and concurrency: the claim rate is bounded by the server, not by the number of
/// clients, and an unbounded fill once queued 1.4 billion rows.
pub(crate) const MAX_QUEUED_JOBS: u64 = 2_000_000;
/// The most members signed in for the session look-up.
const SIGNED_IN_MEMBERS: usize = 1000;
/// The longest any statement of the benchmark may run: a bound on the server's work when
/// the client dies, and far above any hot query's latency.
const STATEMENT_TIMEOUT: &str = "60s";

/// Benchmarks every hot query on `database` (a fresh one from [`prepare`](crate::prepare),
/// or any migrated CRM database with organizations that have leads). Every statement is
/// unnamed with its parameters' types, and every transaction explicit, so `database` may
/// be a transaction pooler (PgBouncer in transaction mode) in front of the server.
pub async fn run(
    database: &Config,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let config = with_statement_timeout(database);
    let connections = usize::from(settings.concurrency) + SPARE_CONNECTIONS;
    let db = Db::connect_with(config.clone(), connections)
        .await
        .map_err(Error::Connect)?;
    let db = db.with_keyring(Arc::new(outbox::keyring()?));
    let raw = raw_pool(config, connections)?;
    let sees_past_rls = sees_past_rls(&db).await?;
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let sample = Sample::load(&db, &mut rng).await?;
    let signed_in = sessions::sign_in(&db, &sample.members(SIGNED_IN_MEMBERS)).await?;
    let sample = Arc::new(sample.with_sessions(signed_in));
    let jobs = JOBS_PER_CLIENT_SECOND
        * settings.duration.as_secs()
        * u64::from(settings.concurrency)
        * CLAIMING_PATHS
        + SPARE_JOBS;
    let jobs = jobs.min(MAX_QUEUED_JOBS);
    queue::fill(&db, &sample.organization_ids(), jobs).await?;
    outbox::fill(&db, &sample.organization_ids(), jobs).await?;

    let mut queries = Vec::new();
    for query in HOT_QUERIES {
        progress.measuring(query);
        queries.push(measure(query, &db, &raw, &sample, settings, sees_past_rls).await?);
    }
    queue::empty(&db).await.map_err(Error::EmptyQueue)?;
    outbox::empty(&db).await.map_err(Error::EmptyOutbox)?;
    sessions::sign_out(&db).await.map_err(Error::SignOut)?;
    let compound = compound::measure(&db, &sample, settings).await?;

    let (organizations, leads, communications) = size(&db).await?;
    Ok(Report {
        database: database.get_dbname().unwrap_or_default().to_owned(),
        organizations,
        leads,
        communications,
        sees_past_rls,
        concurrency: settings.concurrency,
        duration_seconds: settings.duration.as_secs(),
        queries,
        compound,
    })
}

/// Whether the login is a superuser or BYPASSRLS, which row-level security does not apply
/// to.
async fn sees_past_rls(db: &Db) -> Result<bool, Error> {
    let mut conn = db.begin_maintenance().await?;
    let sees = query_scalar(
        "SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.rollback().await?;
    Ok(sees)
}

/// The organizations, leads and communications of the database, counted one organization
/// at a time with the organization entered, so that any login sees them all.
async fn size(db: &Db) -> Result<(i64, i64, i64), Error> {
    let mut conn = db.begin_maintenance().await?;
    let ids = organization_ids(&mut conn).await?;
    let (mut leads, mut communications) = (0, 0);
    for id in &ids {
        conn.defer(entering(*id));
        let (l, c): (i64, i64) = query_as(
            "SELECT (SELECT count(*) FROM leads WHERE organization_id = $1), \
                    (SELECT count(*) FROM communications WHERE organization_id = $1)",
        )
        .bind(*id)
        .fetch_one(&mut conn)
        .await?;
        leads += l;
        communications += c;
    }
    conn.rollback().await?;
    Ok((ids.len() as i64, leads, communications))
}

/// `database` with the [`STATEMENT_TIMEOUT`] of every connection of the run added to the
/// options it sends at startup. A transaction pooler must pass the `options` parameter on
/// or be told to ignore it (PgBouncer: `ignore_startup_parameters = options`, and then the
/// server's own timeout applies).
fn with_statement_timeout(database: &Config) -> Config {
    let timeout = format!("-c statement_timeout={STATEMENT_TIMEOUT}");
    let options = match database.get_options() {
        Some(options) if !options.trim().is_empty() => format!("{options} {timeout}"),
        _ => timeout,
    };
    let mut config = database.clone();
    config.options(options);
    config
}

/// The raw path's pool of plain clients, a connection for every client and the spares.
/// Nothing is sent when a connection is taken: the raw path's statements set nothing that
/// outlives their transaction.
fn raw_pool(config: Config, connections: usize) -> Result<Pool, Error> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(connections)
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(Error::RawPool)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn the_statement_timeout_joins_the_options_of_the_url() {
        let plain = Config::from_str("postgres://u@localhost/crm").unwrap();
        assert_eq!(
            with_statement_timeout(&plain).get_options(),
            Some("-c statement_timeout=60s")
        );
        let tuned =
            Config::from_str("postgres://u@localhost/crm?options=-c%20work_mem%3D64MB").unwrap();
        assert_eq!(
            with_statement_timeout(&tuned).get_options(),
            Some("-c work_mem=64MB -c statement_timeout=60s")
        );
    }
}
