//! The migration lock: a session advisory lock on a connection of its own, taken by polling.
//!
//! Polling `pg_try_advisory_lock` instead of waiting in `pg_advisory_lock` matters: a backend
//! blocked on the lock holds a virtual transaction id, and `CREATE INDEX CONCURRENTLY` in the
//! holder waits for every such transaction to end, so the two would wait for each other.

use std::time::{Duration, Instant};

use rand::Rng as _;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, Row};
use tracing::{debug, info, instrument, warn};

use crate::error::{Error, LockHolder};

/// Mixed with the database name into the lock key, so that the key is this engine's own.
const NAMESPACE: &str = "crmdb-migrate:";
const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(2);

/// A held migration lock. Dropping it closes its connection, which the server answers by
/// releasing the lock; [`AdvisoryLock::release`] does so explicitly first.
pub struct AdvisoryLock {
    conn: PgConnection,
    key: i64,
}

impl AdvisoryLock {
    /// Polls for the lock with exponential backoff and jitter, up to `wait`.
    #[instrument(name = "lock", skip_all)]
    pub async fn acquire(
        options: &PgConnectOptions,
        wait: Duration,
    ) -> Result<(AdvisoryLock, Duration), Error> {
        let started = Instant::now();
        let options = options
            .clone()
            .application_name(&format!("crmdb-migrate lock (pid {})", std::process::id()));
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(Error::Connect)?;
        // Were the idle lock session ended by an idle_session_timeout, the lock would go
        // with it while the migration runs on.
        sqlx::query(
            "SELECT set_config('idle_session_timeout', '0', false)
             WHERE current_setting('server_version_num')::int >= 140000",
        )
        .execute(&mut conn)
        .await
        .map_err(Error::db("could not prepare the migration lock session"))?;
        let key: i64 = sqlx::query_scalar("SELECT hashtextextended($1 || current_database(), 0)")
            .bind(NAMESPACE)
            .fetch_one(&mut conn)
            .await
            .map_err(Error::db("could not compute the migration lock key"))?;
        let mut pause = FIRST_POLL;
        loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(key)
                .fetch_one(&mut conn)
                .await
                .map_err(Error::db("could not take the migration lock"))?;
            if got {
                let waited = started.elapsed();
                info!(waited = ?waited, "took the migration lock");
                return Ok((AdvisoryLock { conn, key }, waited));
            }
            let waited = started.elapsed();
            if waited >= wait {
                let holders = holders(&mut conn, key).await.unwrap_or_default();
                conn.close().await.ok();
                let pids: Vec<i32> = holders.iter().map(|h| h.pid).collect();
                warn!(
                    waited = ?waited,
                    holders = ?pids,
                    "gave up waiting for the migration lock"
                );
                return Err(Error::LockTimeout { waited, holders });
            }
            debug!(waited = ?waited, "another runner holds the migration lock; waiting");
            let jitter = rand::thread_rng().gen_range(0.5..1.5);
            let sleep = pause.mul_f64(jitter).min(wait - waited);
            tokio::time::sleep(sleep).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// Unlocks and closes the connection; errors are moot, as closing releases the lock too.
    pub async fn release(mut self) {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.conn)
            .await
            .ok();
        self.conn.close().await.ok();
        debug!("released the migration lock");
    }
}

/// The sessions holding the lock: a bigint advisory key shows in `pg_locks` as its high half
/// in `classid`, its low half in `objid`, and `objsubid = 1`.
async fn holders(conn: &mut PgConnection, key: i64) -> Result<Vec<LockHolder>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.pid, coalesce(a.application_name, '') AS application_name,
                a.usename::text AS usename, host(a.client_addr) AS client_addr,
                a.state_change
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
         ORDER BY a.pid",
    )
    .bind(key)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LockHolder {
                pid: r.try_get("pid")?,
                application_name: r.try_get("application_name")?,
                user: r.try_get("usename")?,
                client_addr: r.try_get("client_addr")?,
                since: r.try_get("state_change")?,
            })
        })
        .collect()
}
