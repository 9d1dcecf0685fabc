//! The history table: one row per applied (or half-applied) version, kept in the migrated
//! database itself so that it commits or rolls back together with the migration.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use crate::error::Error;

/// Schema-qualified, so that a migration changing `search_path` cannot redirect it.
pub const TABLE: &str = "public.crmdb_schema_history";

const CREATE: &str = "
CREATE TABLE public.crmdb_schema_history (
    version            bigint PRIMARY KEY CHECK (version > 0),
    name               text NOT NULL,
    checksum           text NOT NULL,
    checksum_algorithm text NOT NULL,
    transactional      boolean NOT NULL,
    statements_total   integer NOT NULL,
    statements_done    integer NOT NULL,
    progress_checksum  text NOT NULL,
    finished           boolean NOT NULL,
    applied_at         timestamptz NOT NULL DEFAULT now(),
    execution_ms       bigint NOT NULL DEFAULT 0,
    applied_by         text NOT NULL DEFAULT current_user,
    client             text NOT NULL,
    baselined          boolean NOT NULL DEFAULT false,
    repaired_at        timestamptz,
    repair_note        text
);
COMMENT ON TABLE public.crmdb_schema_history IS
    'crmdb-migrate: one row per applied version; finished = false marks a non-transactional file stopped half-way';
";

/// One row of the history table.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub version: i64,
    pub name: String,
    pub checksum: String,
    pub checksum_algorithm: String,
    pub transactional: bool,
    pub statements_total: i32,
    pub statements_done: i32,
    pub progress_checksum: String,
    pub finished: bool,
    pub applied_at: DateTime<Utc>,
    pub execution_ms: i64,
    pub applied_by: String,
    pub client: String,
    pub baselined: bool,
    pub repaired_at: Option<DateTime<Utc>>,
    pub repair_note: Option<String>,
}

/// The checksum algorithm of a baseline marker row, which stands for versions without files.
pub const BASELINE_MARKER: &str = "none";

impl HistoryRow {
    /// A row that `baseline` wrote for a version it had no file for.
    pub fn is_baseline_marker(&self) -> bool {
        self.baselined && self.checksum_algorithm == BASELINE_MARKER
    }
}

pub async fn exists(conn: &mut PgConnection) -> Result<bool, Error> {
    sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
        .bind(TABLE)
        .fetch_one(conn)
        .await
        .map_err(Error::db("could not look for the history table"))
}

/// Creates the table when missing; callers hold the migration lock, so no one races.
pub async fn ensure(conn: &mut PgConnection) -> Result<(), Error> {
    if !exists(conn).await? {
        crmdb_pg::simple_query(conn, CREATE)
            .await
            .map_err(Error::db(
                "could not create the history table public.crmdb_schema_history",
            ))?;
    }
    Ok(())
}

/// Every row, oldest version first; none when the table does not exist yet.
pub async fn load(conn: &mut PgConnection) -> Result<Vec<HistoryRow>, Error> {
    if !exists(conn).await? {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT version, name, checksum, checksum_algorithm, transactional, statements_total,
                statements_done, progress_checksum, finished, applied_at, execution_ms,
                applied_by, client, baselined, repaired_at, repair_note
         FROM public.crmdb_schema_history ORDER BY version",
    )
    .fetch_all(conn)
    .await
    .map_err(Error::db("could not read the history table"))?;
    rows.iter()
        .map(|r| {
            Ok(HistoryRow {
                version: r.try_get("version")?,
                name: r.try_get("name")?,
                checksum: r.try_get("checksum")?,
                checksum_algorithm: r.try_get("checksum_algorithm")?,
                transactional: r.try_get("transactional")?,
                statements_total: r.try_get("statements_total")?,
                statements_done: r.try_get("statements_done")?,
                progress_checksum: r.try_get("progress_checksum")?,
                finished: r.try_get("finished")?,
                applied_at: r.try_get("applied_at")?,
                execution_ms: r.try_get("execution_ms")?,
                applied_by: r.try_get("applied_by")?,
                client: r.try_get("client")?,
                baselined: r.try_get("baselined")?,
                repaired_at: r.try_get("repaired_at")?,
                repair_note: r.try_get("repair_note")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::db("the history table has an unexpected shape"))
}

/// What a new row records.
#[derive(Clone, Copy)]
pub struct NewRow<'a> {
    pub version: i64,
    pub name: &'a str,
    pub checksum: &'a str,
    pub checksum_algorithm: &'a str,
    pub transactional: bool,
    pub statements_total: usize,
    pub statements_done: usize,
    pub progress_checksum: &'a str,
    pub finished: bool,
    pub execution_ms: i64,
    pub client: &'a str,
    pub baselined: bool,
}

pub async fn insert(conn: &mut PgConnection, row: &NewRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO public.crmdb_schema_history
            (version, name, checksum, checksum_algorithm, transactional, statements_total,
             statements_done, progress_checksum, finished, execution_ms, client, baselined)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(row.version)
    .bind(row.name)
    .bind(row.checksum)
    .bind(row.checksum_algorithm)
    .bind(row.transactional)
    .bind(count(row.statements_total))
    .bind(count(row.statements_done))
    .bind(row.progress_checksum)
    .bind(row.finished)
    .bind(row.execution_ms)
    .bind(row.client)
    .bind(row.baselined)
    .execute(conn)
    .await
    .map(drop)
}

/// Records one more statement of a non-transactional file as done.
pub async fn record_progress(
    conn: &mut PgConnection,
    version: i64,
    done: usize,
    progress_checksum: &str,
    elapsed_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE public.crmdb_schema_history
         SET statements_done = $2, progress_checksum = $3, execution_ms = execution_ms + $4
         WHERE version = $1",
    )
    .bind(version)
    .bind(count(done))
    .bind(progress_checksum)
    .bind(elapsed_ms)
    .execute(conn)
    .await
    .map(drop)
}

/// Marks a non-transactional file complete, with the checksum of the text that completed it.
pub async fn finish(
    conn: &mut PgConnection,
    version: i64,
    checksum: &str,
    statements_total: usize,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE public.crmdb_schema_history
         SET finished = true, checksum = $2, statements_total = $3, applied_at = now()
         WHERE version = $1",
    )
    .bind(version)
    .bind(checksum)
    .bind(count(statements_total))
    .execute(conn)
    .await
    .map(drop)
}

pub async fn delete(conn: &mut PgConnection, version: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM public.crmdb_schema_history WHERE version = $1")
        .bind(version)
        .execute(conn)
        .await
        .map(drop)
}

/// Accepts the current file's checksum for an applied version, saying so in the row.
pub async fn repair(
    conn: &mut PgConnection,
    version: i64,
    checksum: &str,
    note: &str,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE public.crmdb_schema_history
         SET checksum = $2, checksum_algorithm = $3, repaired_at = now(), repair_note = $4
         WHERE version = $1",
    )
    .bind(version)
    .bind(checksum)
    .bind(crate::source::CHECKSUM_ALGORITHM)
    .bind(note)
    .execute(conn)
    .await
    .map(drop)
    .map_err(Error::db("could not update the history table"))
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
