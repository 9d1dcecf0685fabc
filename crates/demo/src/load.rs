//! The loader: streams the generated organizations into every table with `COPY`, one
//! transaction per organization, chunk by chunk as the generator hands them over (so
//! memory does not grow with the organization), on parallel connections. An interrupted
//! load cancels its running statements on the server, leaves only complete organizations
//! behind, and a re-run with the same seed skips them (resumable). For a login that
//! row-level security applies to (a managed service's admin), the forced tables' rows go
//! through temporary staging tables with the organization entered, and land byte for byte
//! as a superuser's direct COPY would put them.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crmdb_pg::ident::quote_ident;
use crmdb_seed::data::Defaults;
use serde::Serialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::generate::{self, Chunk, OrgHeader, PlanRef, Shared, BASE, LEADS_PER_CHUNK};
use crate::tables::Table;
use crate::{db, DemoError};

/// How much demo data to load, and from which seed.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub organizations: u32,
    pub leads_per_org: u32,
    pub seed: u64,
    /// Parallel connections, each loading whole organizations.
    pub connections: usize,
}

/// Told about the load as it goes (the CLI draws progress bars from it).
pub trait Progress: Send + Sync {
    /// Before the first row: how many organizations will be loaded and how many were
    /// already there.
    fn start(&self, to_load: u32, already_loaded: u32);
    /// `rows` more rows of `table` were sent.
    fn rows(&self, table: Table, rows: u64);
    /// One more organization committed.
    fn organization_done(&self);
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u32, _: u32) {}
    fn rows(&self, _: Table, _: u64) {}
    fn organization_done(&self) {}
}

/// Rows loaded into one table and the time spent sending them.
#[derive(Debug, Clone, Serialize)]
pub struct TableStats {
    pub table: &'static str,
    pub rows: u64,
    /// Time spent in this table's COPY, summed over the connections.
    pub copy_seconds: f64,
    /// Rows per second of wall time while this table was being loaded on every
    /// connection: rows ÷ (copy_seconds ÷ connections).
    pub rows_per_second: f64,
}

/// What a demo load did.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub seed: u64,
    pub organizations_loaded: u32,
    pub organizations_skipped: u32,
    /// The organizations of this seed that were already there, with the leads each holds
    /// (which may differ from `leads_per_org`: a present organization is never reloaded).
    pub already_present: Vec<PresentOrganization>,
    pub leads_per_org: u32,
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub tables: Vec<TableStats>,
}

/// An organization of the seed that an earlier load committed.
#[derive(Debug, Clone, Serialize)]
pub struct PresentOrganization {
    /// Its position in the seed, from 1 (`--orgs N` loads positions 1 to N).
    pub position: u32,
    pub id: Uuid,
    pub leads: u64,
}

/// Bytes per COPY message: large enough to amortise round trips, small enough to report
/// progress and notice an interrupt often.
const CHUNK: usize = 1 << 20;

/// The bound on every statement of the load, set on each of its connections. The largest
/// is a chunk's COPY (or staged INSERT … SELECT) of communications, about 23,000 rows
/// with their foreign-key checks, which takes about a second with sound statistics; two
/// minutes is over a hundred times that, on a slow or busy server too, and only a
/// pathological plan or a lock held elsewhere reaches it, which then fails the load
/// instead of leaving it running on the server.
const STATEMENT_TIMEOUT: &str = "120s";

/// How often the running statements are cancelled again after an interrupt, to catch a
/// statement that started just after the previous cancel.
const CANCEL_EVERY: Duration = Duration::from_millis(200);

/// Loads the demo: the plan catalogue first, then every organization of `demo` that is
/// not in the database yet, each in its own transaction. When `interrupt` completes, the
/// organizations in flight are rolled back and the load ends with
/// [`DemoError::Interrupted`]; the committed ones stay, and a re-run loads the rest.
/// Tables whose row-level security applies to the login (the forced tenant tables, for a
/// login that is neither superuser nor BYPASSRLS) are loaded through staging tables with
/// the organization entered, which needs the `TEMPORARY` right on the database. A
/// transaction pooler is refused before anything else ([`DemoError::TransactionPooler`]).
pub async fn load(
    options: &PgConnectOptions,
    keyring: crmdb_secrets::Keyring,
    demo: &DemoOptions,
    progress: Arc<dyn Progress>,
    interrupt: impl Future<Output = ()> + Send + 'static,
) -> Result<DemoReport, DemoError> {
    let started = Instant::now();
    // With the caller's options: a pooler may refuse the `statement_timeout` option below
    // before it could be recognised.
    crmdb_pg::pooler::require_session(
        options,
        "crmdb seed demo",
        "its session-level staging tables, its statement_timeout and the cancelling of its \
         statements by backend pid",
        db("checking for a transaction pooler"),
        DemoError::TransactionPooler,
    )
    .await?;
    let options = &options
        .clone()
        .options([("statement_timeout", STATEMENT_TIMEOUT)]);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let _watcher = AbortOnDrop(tokio::spawn({
        let stop_tx = stop_tx.clone();
        async move {
            interrupt.await;
            stop_tx.send_replace(true);
        }
    }));
    // The preparation's statements are short reads and one idempotent insert: on an
    // interrupt it is dropped, and closing its connection ends them.
    let prepared = tokio::select! {
        prepared = prepare(options, keyring, demo) => prepared?,
        _ = stop_rx.wait_for(|&stopped| stopped) => {
            return Err(DemoError::Interrupted {
                loaded: 0,
                remaining: demo.organizations,
            });
        }
    };
    let Prepared {
        staged,
        shared,
        pending,
        already_present,
    } = prepared;
    let skipped = demo.organizations - pending.len() as u32;
    let to_load = pending.len() as u32;
    progress.start(to_load, skipped);

    let backends = Arc::new(std::sync::Mutex::new(Vec::<i32>::new()));
    let canceller = tokio::spawn(cancel_on_stop(
        options.clone(),
        stop_rx.clone(),
        backends.clone(),
    ));
    let connections = demo.connections.max(1);
    let queue = Arc::new(std::sync::Mutex::new(VecDeque::from(pending)));
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let context = WorkerContext {
            options: options.clone(),
            staged: staged.clone(),
            shared: shared.clone(),
            queue: queue.clone(),
            stop: stop_rx.clone(),
            progress: progress.clone(),
            backends: backends.clone(),
        };
        let stop_tx = stop_tx.clone();
        workers.push(tokio::spawn(async move {
            let result = worker(context).await;
            if result.is_err() {
                stop_tx.send_replace(true);
            }
            result
        }));
    }

    let mut totals = vec![(0u64, Duration::ZERO); Table::ALL.len()];
    let mut loaded = 0u32;
    let mut raced = 0u32;
    let mut failure = None;
    for handle in workers {
        match handle.await {
            Ok(Ok(stats)) => {
                loaded += stats.organizations;
                raced += stats.raced;
                for (total, (rows, time)) in totals.iter_mut().zip(stats.tables) {
                    total.0 += rows;
                    total.1 += time;
                }
            }
            Ok(Err((stats, error))) => {
                loaded += stats.organizations;
                raced += stats.raced;
                failure.get_or_insert(error);
            }
            Err(join) => {
                failure.get_or_insert(DemoError::Generator(join.to_string()));
            }
        }
    }
    canceller.abort();
    if let Some(error) = failure {
        return Err(match error {
            DemoError::Interrupted { .. } => DemoError::Interrupted {
                loaded,
                remaining: to_load - loaded - raced,
            },
            other => other,
        });
    }
    if *stop_rx.borrow() && loaded + raced < to_load {
        return Err(DemoError::Interrupted {
            loaded,
            remaining: to_load - loaded - raced,
        });
    }
    let seconds = started.elapsed().as_secs_f64();
    let rows: u64 = totals.iter().map(|t| t.0).sum();
    let tables = Table::ALL
        .iter()
        .zip(&totals)
        .map(|(table, &(rows, time))| {
            let wall = time.as_secs_f64() / connections as f64;
            TableStats {
                table: table.name(),
                rows,
                copy_seconds: time.as_secs_f64(),
                rows_per_second: if wall > 0.0 { rows as f64 / wall } else { 0.0 },
            }
        })
        .collect();
    Ok(DemoReport {
        seed: demo.seed,
        organizations_loaded: loaded,
        organizations_skipped: skipped + raced,
        already_present,
        leads_per_org: demo.leads_per_org,
        rows,
        seconds,
        rows_per_second: if seconds > 0.0 {
            rows as f64 / seconds
        } else {
            0.0
        },
        tables,
    })
}

/// What the load needs before its first organization.
struct Prepared {
    staged: Arc<Vec<bool>>,
    shared: Arc<Shared>,
    /// The organizations of the seed not in the database yet.
    pending: Vec<OrgHeader>,
    already_present: Vec<PresentOrganization>,
}

/// Aborts its task when dropped, on every way out of [`load`].
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The staged tables, the plan catalogue (seeded first), which organizations of the seed
/// are already there with how many leads, and the parts every organization shares.
async fn prepare(
    options: &PgConnectOptions,
    keyring: crmdb_secrets::Keyring,
    demo: &DemoOptions,
) -> Result<Prepared, DemoError> {
    let mut conn = PgConnection::connect_with(options)
        .await
        .map_err(db("connecting to the database"))?;
    let staged = Arc::new(staged_tables(&mut conn).await?);
    let base = chrono::DateTime::from_timestamp_millis(BASE);
    crmdb_seed::seed_globals_at(&mut conn, base).await?;
    let plans = plans(&mut conn).await?;

    let headers: Vec<_> = (0..demo.organizations)
        .map(|i| generate::header(demo.seed, i))
        .collect();
    let ids: Vec<Uuid> = headers.iter().map(|h| h.id).collect();
    let present: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM organizations WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_all(&mut conn)
        .await
        .map_err(db("looking for organizations already loaded"))?;
    let mut already_present = Vec::with_capacity(present.len());
    for header in headers.iter().filter(|h| present.contains(&h.id)) {
        already_present.push(PresentOrganization {
            position: header.index + 1,
            id: header.id,
            leads: count_leads(&mut conn, header.id).await?,
        });
    }
    conn.close().await.ok();
    let pending: Vec<_> = headers
        .into_iter()
        .filter(|h| !present.contains(&h.id))
        .collect();

    let defaults = Defaults::embedded()?.clone();
    let (seed, leads) = (demo.seed, demo.leads_per_org);
    let shared =
        tokio::task::spawn_blocking(move || Shared::new(keyring, defaults, plans, seed, leads))
            .await
            .map_err(|e| DemoError::Generator(e.to_string()))?
            .map_err(|e| DemoError::Generator(e.to_string()))?;
    Ok(Prepared {
        staged,
        shared: Arc::new(shared),
        pending,
        already_present,
    })
}

/// True when the database has no organization yet: `crmdb up` loads the demo only into
/// such a database, so demo tenants never appear next to real ones.
pub async fn is_fresh_database(conn: &mut PgConnection) -> Result<bool, DemoError> {
    sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM organizations)")
        .fetch_one(conn)
        .await
        .map_err(db("looking for organizations"))
}

/// The leads of one organization, counted with the organization entered: for a login that
/// row-level security applies to, the policies show its rows only then.
async fn count_leads(conn: &mut PgConnection, organization_id: Uuid) -> Result<u64, DemoError> {
    let doing = || {
        db(format!(
            "counting the leads of organization {organization_id}"
        ))
    };
    let mut tx = conn.begin().await.map_err(doing())?;
    crmdb_pg::tenancy::set_organization(&mut tx, organization_id)
        .await
        .map_err(doing())?;
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads WHERE organization_id = $1")
        .bind(organization_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(doing())?;
    tx.rollback().await.map_err(doing())?;
    Ok(u64::try_from(leads).unwrap_or(0))
}

/// The paid and free plans of the catalogue as the database has them (their ids may
/// predate the seed's stable ids), cheapest first.
async fn plans(conn: &mut PgConnection) -> Result<Vec<PlanRef>, DemoError> {
    let rows: Vec<(String, Uuid, i64, String)> = sqlx::query_as(
        "SELECT code, id, price_cents, billing_interval FROM plans \
         WHERE is_active ORDER BY price_cents, code",
    )
    .fetch_all(conn)
    .await
    .map_err(db("reading the plan catalogue"))?;
    Ok(rows
        .into_iter()
        .map(|(code, id, price_cents, interval)| PlanRef {
            code,
            id,
            price_cents,
            yearly: interval == "year",
        })
        .collect())
}

/// Whether each table of [`Table::ALL`] goes through a staging table: those whose
/// row-level security applies to the login (for an admin login that is neither superuser
/// nor BYPASSRLS, the forced tenant tables), which COPY refuses. Staging needs the
/// `TEMPORARY` right, checked here so that the error names it before any work.
async fn staged_tables(conn: &mut PgConnection) -> Result<Vec<bool>, DemoError> {
    let active: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_catalog.pg_class \
         WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') \
           AND row_security_active(oid)",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db(
        "finding the tables whose row-level security applies to the login",
    ))?;
    let staged: Vec<bool> = Table::ALL
        .iter()
        .map(|table| active.iter().any(|name| name == table.name()))
        .collect();
    if staged.contains(&true) {
        let (temporary, database, login): (bool, String, String) = sqlx::query_as(
            "SELECT has_database_privilege(current_database(), 'TEMPORARY'), \
                    current_database()::text, current_user::text",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(db("checking the TEMPORARY right"))?;
        if !temporary {
            let grant = format!(
                "GRANT TEMPORARY ON DATABASE {} TO {}",
                quote_ident(&database)?,
                quote_ident(&login)?
            );
            return Err(DemoError::NeedsTemporary { login, grant });
        }
    }
    Ok(staged)
}

/// Cancels the statements running on the load's connections once the load stops, and
/// again every [`CANCEL_EVERY`] until the workers are gone (the caller aborts this task
/// then): a COPY's foreign-key checks or a staged `INSERT … SELECT` may run for long on
/// the server, and dropping the client would not stop them. A login may cancel its own
/// backends, so this needs no privilege beyond the load's own.
async fn cancel_on_stop(
    options: PgConnectOptions,
    mut stop: watch::Receiver<bool>,
    backends: Arc<std::sync::Mutex<Vec<i32>>>,
) {
    if stop.wait_for(|&stopped| stopped).await.is_err() {
        return;
    }
    let Ok(mut conn) = PgConnection::connect_with(&options).await else {
        return;
    };
    loop {
        let pids = backends.lock().map(|pids| pids.clone()).unwrap_or_default();
        if !pids.is_empty() {
            // Best effort: the connections close anyway, and a failed cancel leaves the
            // statement to its statement_timeout.
            sqlx::query("SELECT pg_cancel_backend(pid) FROM unnest($1::int4[]) AS pid")
                .bind(&pids)
                .execute(&mut conn)
                .await
                .ok();
        }
        tokio::time::sleep(CANCEL_EVERY).await;
    }
}

/// What one connection loaded.
struct WorkerStats {
    organizations: u32,
    /// Organizations another load committed first.
    raced: u32,
    tables: Vec<(u64, Duration)>,
}

type WorkerResult = Result<WorkerStats, (WorkerStats, DemoError)>;

/// What every worker shares.
struct WorkerContext {
    options: PgConnectOptions,
    staged: Arc<Vec<bool>>,
    shared: Arc<Shared>,
    queue: Arc<std::sync::Mutex<VecDeque<OrgHeader>>>,
    stop: watch::Receiver<bool>,
    progress: Arc<dyn Progress>,
    /// The backend pids of the workers' connections, for [`cancel_on_stop`].
    backends: Arc<std::sync::Mutex<Vec<i32>>>,
}

fn interrupted() -> DemoError {
    DemoError::Interrupted {
        loaded: 0,
        remaining: 0,
    }
}

/// Loads organizations from the queue until it is empty or the load stops.
async fn worker(context: WorkerContext) -> WorkerResult {
    let mut stats = WorkerStats {
        organizations: 0,
        raced: 0,
        tables: vec![(0, Duration::ZERO); Table::ALL.len()],
    };
    let mut conn = match PgConnection::connect_with(&context.options).await {
        Ok(conn) => conn,
        Err(e) => return Err((stats, db("connecting to the database")(e))),
    };
    let pid: i32 = match sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
    {
        Ok(pid) => pid,
        Err(e) => return Err((stats, db("reading the backend pid")(e))),
    };
    if let Ok(mut pids) = context.backends.lock() {
        pids.push(pid);
    }
    let result = work(&mut conn, &context, &mut stats).await;
    // Closing (not just dropping) the connection ends its backend before the load returns.
    conn.close().await.ok();
    if let Ok(mut pids) = context.backends.lock() {
        pids.retain(|&p| p != pid);
    }
    match result {
        Ok(()) => Ok(stats),
        Err(error) => Err((stats, error)),
    }
}

async fn work(
    conn: &mut PgConnection,
    context: &WorkerContext,
    stats: &mut WorkerStats,
) -> Result<(), DemoError> {
    let staging = context.staged.contains(&true);
    for (table, _) in Table::ALL
        .iter()
        .zip(context.staged.iter())
        .filter(|(_, &s)| s)
    {
        crmdb_pg::simple_query(&mut *conn, table.staging().create)
            .await
            .map_err(db(format!(
                "creating the staging table of {}",
                table.name()
            )))?;
    }
    loop {
        if *context.stop.borrow() {
            return Err(interrupted());
        }
        let next = context.queue.lock().ok().and_then(|mut q| q.pop_front());
        let Some(header) = next else {
            break;
        };
        match load_organization(conn, context, header, &mut stats.tables).await {
            Ok(true) => {
                stats.organizations += 1;
                context.progress.organization_done();
            }
            Ok(false) => stats.raced += 1,
            Err(_) if *context.stop.borrow() => return Err(interrupted()),
            Err(error) => return Err(error),
        }
    }
    if staging {
        crmdb_pg::simple_query(&mut *conn, "DISCARD TEMP")
            .await
            .map_err(db("dropping the staging tables"))?;
    }
    Ok(())
}

/// One organization, all tables, one transaction: committed whole or not at all. Its
/// chunks are generated on a blocking thread, at most one ahead of the one being sent.
/// False when another load (a concurrent `crmdb up`) committed the organization first.
/// With staged tables the transaction enters the organization, so that the policies
/// admit exactly its rows.
async fn load_organization(
    conn: &mut PgConnection,
    context: &WorkerContext,
    header: OrgHeader,
    stats: &mut [(u64, Duration)],
) -> Result<bool, DemoError> {
    let organization_id = header.id;
    let (chunk_tx, mut chunks) = mpsc::channel::<Chunk>(1);
    let generator = {
        let shared = context.shared.clone();
        let stop = context.stop.clone();
        tokio::task::spawn_blocking(move || {
            generate::stream(
                &shared,
                header,
                LEADS_PER_CHUNK,
                &mut |chunk| chunk_tx.blocking_send(chunk).is_ok(),
                &|| *stop.borrow(),
            )
        })
    };
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    if context.staged.contains(&true) {
        crmdb_pg::tenancy::set_organization(&mut tx, organization_id)
            .await
            .map_err(db("entering the organization"))?;
    }
    let mut first = true;
    let mut statistics_checked = false;
    while let Some(chunk) = chunks.recv().await {
        let check_statistics = chunk.leads > 0 && !statistics_checked;
        let loaded = load_chunk(&mut tx, context, &chunk, first, check_statistics, stats).await?;
        if !loaded {
            tx.rollback().await.ok();
            return Ok(false);
        }
        first = false;
        statistics_checked |= check_statistics;
    }
    let complete = generator
        .await
        .map_err(|e| DemoError::Generator(e.to_string()))?;
    if !complete || *context.stop.borrow() {
        tx.rollback().await.ok();
        return Err(interrupted());
    }
    tx.commit()
        .await
        .map_err(db(format!("committing organization {organization_id}")))?;
    Ok(true)
}

/// Analyzes `leads` when the planner's statistics know fewer rows than the organization's
/// first chunk just put there (a fresh database, or one where an interrupted load rolled
/// back and the statistics now say the table is empty). The foreign-key checks of every
/// table hanging off the leads look them up by organization and id; with statistics that
/// call the table empty the planner may pick an index on the organization alone, and each
/// check then reads every lead of the organization loaded so far, so the load grows
/// quadratically (5,000 leads took 66 s instead of 3 s). ANALYZE inside the transaction
/// counts its own uncommitted rows and invalidates the cached check plans. SKIP_LOCKED:
/// another connection analyzing the table holds its lock until its organization commits,
/// and its row count (updated in place) already reaches this one.
async fn refresh_lead_statistics(tx: &mut PgConnection, leads: u32) -> Result<(), DemoError> {
    let stale: bool = sqlx::query_scalar(
        "SELECT reltuples < $1 FROM pg_catalog.pg_class WHERE oid = 'public.leads'::regclass",
    )
    .bind(f64::from(leads))
    .fetch_one(&mut *tx)
    .await
    .map_err(db("reading the statistics of leads"))?;
    if stale {
        crmdb_pg::simple_query(&mut *tx, "ANALYZE (SKIP_LOCKED) leads")
            .await
            .map_err(db("analyzing leads"))?;
    }
    Ok(())
}

/// One chunk of an organization, table by table in load order, with the statistics of
/// `leads` refreshed right after its leads when `check_statistics` (before the tables
/// whose foreign keys point at them). False when the organization's own row is already
/// there (only the first chunk has it).
async fn load_chunk(
    tx: &mut PgConnection,
    context: &WorkerContext,
    chunk: &Chunk,
    first: bool,
    check_statistics: bool,
    stats: &mut [(u64, Duration)],
) -> Result<bool, DemoError> {
    let doing = |table: Table| {
        format!(
            "loading {} of organization {}",
            table.name(),
            chunk.organization_id
        )
    };
    for (i, table) in Table::ALL.into_iter().enumerate() {
        let buf = &chunk.tables[i];
        if buf.rows == 0 {
            continue;
        }
        let started = Instant::now();
        let staging = context.staged[i].then(|| table.staging());
        let mut copy = tx
            .copy_in_raw(staging.map_or(table.copy_sql(), |s| s.copy))
            .await
            .map_err(db(doing(table)))?;
        let mut offset = 0;
        while offset < buf.bytes.len() {
            if *context.stop.borrow() {
                copy.abort("interrupted").await.ok();
                return Err(interrupted());
            }
            let end = chunk_end(&buf.bytes, offset);
            let part = &buf.bytes[offset..end];
            copy.send(part).await.map_err(db(doing(table)))?;
            context
                .progress
                .rows(table, part.iter().filter(|&&b| b == b'\n').count() as u64);
            offset = end;
        }
        let copied = copy.finish().await.map(drop);
        let stored = match (copied, staging) {
            (Ok(()), Some(staging)) => match sqlx::query(staging.insert).execute(&mut *tx).await {
                Ok(_) => crmdb_pg::simple_query(&mut *tx, staging.clear)
                    .await
                    .map(drop),
                Err(e) => Err(e),
            },
            (copied, _) => copied,
        };
        match stored {
            Ok(()) => {}
            Err(e)
                if first
                    && table == Table::Organizations
                    && crmdb_pg::sqlstate::is(&e, &[crmdb_pg::sqlstate::UNIQUE_VIOLATION]) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(db(doing(table))(e)),
        }
        if check_statistics && table == Table::Leads {
            refresh_lead_statistics(&mut *tx, chunk.leads).await?;
        }
        stats[i].0 += buf.rows;
        stats[i].1 += started.elapsed();
    }
    Ok(true)
}

/// The end of the chunk that starts at `offset`: about [`CHUNK`] bytes, cut after a row.
fn chunk_end(bytes: &[u8], offset: usize) -> usize {
    let target = (offset + CHUNK).min(bytes.len());
    match bytes[target..].iter().position(|&b| b == b'\n') {
        Some(newline) => target + newline + 1,
        None => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_after_a_row() {
        let mut bytes = Vec::new();
        for _ in 0..300_000 {
            bytes.extend_from_slice(b"abc\tdef\n");
        }
        let mut ends = vec![0];
        while *ends.last().unwrap() < bytes.len() {
            let end = chunk_end(&bytes, *ends.last().unwrap());
            assert_eq!(bytes[end - 1], b'\n');
            ends.push(end);
        }
        assert_eq!(ends.len(), 4, "2.4 MB in three chunks: {ends:?}");
    }
}
