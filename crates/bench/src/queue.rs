//! The benchmark's own job queue: filled with due jobs before the run so that the job
//! claim takes real rows throughout, and emptied afterwards.

use sqlx::PgPool;
use uuid::Uuid;

use crate::Error;

/// The queue the benchmark fills with its own jobs, and empties afterwards.
pub(crate) const BENCH_QUEUE: &str = "bench";

/// Jobs inserted per statement: each statement of the fill stays short, so an interrupted
/// benchmark leaves no long insert running on the server.
const FILL_CHUNK: u64 = 50_000;

/// Replaces the queue's jobs with `jobs` due ones spread over `organizations`, in
/// statements of [`FILL_CHUNK`] jobs.
pub(crate) async fn fill(pool: &PgPool, organizations: &[Uuid], jobs: u64) -> Result<(), Error> {
    empty(pool).await?;
    let mut queued = 0;
    while queued < jobs {
        let chunk = FILL_CHUNK.min(jobs - queued);
        sqlx::query(
            "INSERT INTO background_jobs (organization_id, queue, job_type, priority, run_at) \
             SELECT ($2::uuid[])[1 + g % cardinality($2::uuid[])], $3, 'bench.noop', g % 1000, \
                    now() - interval '1 minute' \
             FROM generate_series($4::bigint + 1, $4::bigint + $1) AS g",
        )
        .bind(chunk as i64)
        .bind(organizations)
        .bind(BENCH_QUEUE)
        .bind(queued as i64)
        .execute(pool)
        .await
        .map_err(Error::FillQueue)?;
        queued += chunk;
    }
    let mut conn = pool.acquire().await?;
    crmdb_pg::simple_query(&mut conn, "ANALYZE background_jobs").await?;
    Ok(())
}

/// Removes the queue's jobs.
pub(crate) async fn empty(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM background_jobs WHERE queue = $1")
        .bind(BENCH_QUEUE)
        .execute(pool)
        .await
        .map(drop)
}
