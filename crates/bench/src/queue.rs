//! The benchmark's own job queue: filled with due jobs before the run so that the job
//! claim takes real rows throughout, and emptied afterwards.

use crmdb_store::sql::{query, Statement};
use crmdb_store::Db;
use uuid::Uuid;

use crate::Error;

/// The queue the benchmark fills with its own jobs, and empties afterwards.
pub(crate) const BENCH_QUEUE: &str = "bench";

/// Jobs inserted per statement: each statement of the fill stays short, so an interrupted
/// benchmark leaves no long insert running on the server.
const FILL_CHUNK: u64 = 50_000;

/// Replaces the queue's jobs with `jobs` due ones spread over `organizations`, in
/// statements of [`FILL_CHUNK`] jobs, each committed on its own.
pub(crate) async fn fill(db: &Db, organizations: &[Uuid], jobs: u64) -> Result<(), Error> {
    empty(db).await.map_err(Error::FillQueue)?;
    let mut queued = 0;
    while queued < jobs {
        let chunk = FILL_CHUNK.min(jobs - queued);
        let insert = query(
            "INSERT INTO background_jobs (organization_id, queue, job_type, priority, run_at) \
             SELECT ($2::uuid[])[1 + g % cardinality($2::uuid[])], $3, 'bench.noop', g % 1000, \
                    now() - interval '1 minute' \
             FROM generate_series($4::bigint + 1, $4::bigint + $1) AS g",
        )
        .bind(chunk as i64)
        .bind(organizations.to_vec())
        .bind(BENCH_QUEUE)
        .bind(queued as i64);
        alone(db, insert.into_statement())
            .await
            .map_err(Error::FillQueue)?;
        queued += chunk;
    }
    alone(db, query("ANALYZE background_jobs").into_statement())
        .await
        .map_err(Error::FillQueue)
}

/// Removes the queue's jobs.
pub(crate) async fn empty(db: &Db) -> Result<(), crmdb_store::Error> {
    let delete = query("DELETE FROM background_jobs WHERE queue = $1").bind(BENCH_QUEUE);
    alone(db, delete.into_statement()).await
}

/// Runs `statement` as a transaction of the login's own: `BEGIN`, the statement and
/// `COMMIT` in one round trip.
pub(crate) async fn alone(
    db: &Db,
    statement: Statement<'static>,
) -> Result<(), crmdb_store::Error> {
    let mut conn = db.begin_maintenance().await?;
    conn.defer(statement);
    conn.commit().await
}
