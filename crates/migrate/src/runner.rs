//! Running one script on the work connection: a transactional file in one round trip inside
//! a transaction with its history change, a non-transactional file one statement at a time
//! with its progress recorded after each; lock time-outs retried with backoff.

use std::time::{Duration, Instant};

use crmdb_pg::simple_query;
use crmdb_pg::sqlstate::{self, DEADLOCK_DETECTED, LOCK_NOT_AVAILABLE};
use futures_util::stream::BoxStream;
use futures_util::StreamExt as _;
use rand::Rng as _;
use sqlx::postgres::{PgDatabaseError, PgErrorPosition, PgQueryResult};
use sqlx::{Connection, PgConnection};
use tracing::{debug, info, instrument, warn};

use crate::analysis::{self, ConcurrentIndex, StatementKind};
use crate::error::{Error, MigrationFailure};
use crate::history::{self, NewRow};
use crate::options::Options;
use crate::source::{Script, CHECKSUM_ALGORITHM};
use crate::splitter::LineIndex;

/// What a script's success changes in the history table.
#[derive(Clone, Copy)]
pub(crate) enum Record<'a> {
    /// Apply: the version's row.
    Insert(&'a NewRow<'a>),
    /// Revert: delete the version's row.
    Delete(i64),
}

/// Where a script sits, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub version: i64,
    pub script: &'a Script,
    pub reverting: bool,
    /// The newest fully applied version before this script.
    pub database_version: Option<i64>,
}

/// The outcome of a script that ran.
pub(crate) struct Ran {
    pub attempts: u32,
    pub dropped_invalid_indexes: Vec<String>,
}

/// Settings every script starts from: what earlier scripts `SET` does not leak into it, and
/// the time-outs of the options.
async fn prepare_session(conn: &mut PgConnection, options: &Options) -> Result<(), Error> {
    // A killed runner's backend notices the closed socket within a second and rolls back,
    // instead of holding its locks until the statement ends (PostgreSQL 14+).
    // An idle_session_timeout set by the DBA must not end the session between statements.
    let sql = format!(
        "RESET ALL; RESET ROLE; SET lock_timeout = {}; SET statement_timeout = {};
         SELECT set_config('client_connection_check_interval', '1000', false),
                set_config('idle_session_timeout', '0', false)
         WHERE current_setting('server_version_num')::int >= 140000",
        millis(options.lock_timeout),
        options.statement_timeout.map_or(0, millis),
    );
    simple_query(conn, &sql)
        .await
        .map(drop)
        .map_err(Error::db("could not prepare the migration session"))
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// A lock time-out, or this session chosen as a deadlock's victim: worth another attempt.
fn retriable(error: &sqlx::Error) -> bool {
    sqlstate::is(error, &[LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED])
}

/// Exponential backoff from `options.retry_backoff`, with ±25 % jitter so that runners on
/// several databases do not retry in step.
fn backoff(options: &Options, attempt: u32) -> Duration {
    let base = options.retry_backoff * 2u32.saturating_pow(attempt.saturating_sub(1).min(10));
    base.mul_f64(rand::thread_rng().gen_range(0.75..1.25))
}

/// Waits out the backoff before another attempt after a retriable error.
async fn pause_before_retry(options: &Options, attempt: u32, error: &sqlx::Error) {
    let pause = backoff(options, attempt);
    let code = sqlstate::of(error).unwrap_or_default();
    warn!(
        attempt,
        code,
        pause = ?pause,
        "lock time-out or deadlock; retrying"
    );
    tokio::time::sleep(pause).await;
}

/// Runs a whole script in one round trip; on failure, how many statements completed first.
async fn execute_all(conn: &mut PgConnection, sql: &str) -> Result<(), (usize, sqlx::Error)> {
    let mut results: BoxStream<'_, Result<PgQueryResult, sqlx::Error>> =
        sqlx::raw_sql(sql).execute_many(conn);
    let mut done = 0;
    while let Some(result) = results.next().await {
        match result {
            Ok(_) => done += 1,
            Err(e) => return Err((done, e)),
        }
    }
    Ok(())
}

/// Where an error points: the server's position when it gives one (in characters, 1-based,
/// into the text sent), otherwise the start of the statement that failed.
fn locate(
    script: &Script,
    sent_offset: usize,
    statement: Option<usize>,
    error: Option<&PgDatabaseError>,
) -> (Option<usize>, Option<(u32, u32)>) {
    let lines = LineIndex::new(&script.sql);
    if let Some(PgErrorPosition::Original(position)) = error.and_then(|e| e.position()) {
        let sent = &script.sql[sent_offset..];
        let byte = sent
            .char_indices()
            .nth(position.saturating_sub(1))
            .map_or(sent.len(), |(i, _)| i)
            + sent_offset;
        let index = script.statements.iter().rposition(|s| s.offset <= byte);
        return (index.or(statement), Some(lines.line_col(&script.sql, byte)));
    }
    let at = statement
        .and_then(|i| script.statements.get(i))
        .map(|s| (s.line, s.column));
    (statement, at)
}

fn failure(
    target: Target<'_>,
    error: &sqlx::Error,
    sent_offset: usize,
    statement: Option<usize>,
    attempts: u32,
    statements_done: usize,
) -> Error {
    let pg = error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<PgDatabaseError>());
    let (index, at) = locate(target.script, sent_offset, statement, pg);
    let mut context = pg.and_then(|e| e.r#where()).map(str::to_owned);
    if let Some(PgErrorPosition::Internal { position, query }) = pg.and_then(|e| e.position()) {
        let internal = format!("at character {position} of internal query: {query}");
        context = Some(match context {
            Some(c) => format!("{c}\n{internal}"),
            None => internal,
        });
    }
    Error::Migration(Box::new(MigrationFailure {
        version: target.version,
        file: target.script.file.clone(),
        line: at.map(|a| a.0),
        column: at.map(|a| a.1),
        statement: index
            .and_then(|i| target.script.statements.get(i))
            .map(|s| s.text.clone()),
        code: sqlstate::of(error),
        message: pg.map_or_else(|| error.to_string(), |e| e.message().to_owned()),
        detail: pg.and_then(|e| e.detail()).map(str::to_owned),
        hint: pg.and_then(|e| e.hint()).map(str::to_owned),
        context,
        attempts,
        transactional: target.script.transactional(),
        reverting: target.reverting,
        statements_done,
        statements_total: target.script.statements.len(),
        database_version: target.database_version,
    }))
}

/// Runs a transactional script and its history change in one transaction, retrying the
/// whole transaction when a lock could not be had in time.
#[instrument(
    name = "migration",
    skip_all,
    fields(version = target.version, file = %target.script.file, transactional = true)
)]
pub(crate) async fn run_transactional(
    conn: &mut PgConnection,
    options: &Options,
    target: Target<'_>,
    record: Record<'_>,
) -> Result<Ran, Error> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        debug!(attempt = attempts, "running the file in one transaction");
        prepare_session(conn, options).await?;
        let mut tx = conn
            .begin()
            .await
            .map_err(Error::db("could not begin a transaction"))?;
        let started = Instant::now();
        let outcome = match execute_all(&mut tx, &target.script.sql).await {
            Ok(()) => {
                let recorded = match record {
                    Record::Insert(row) => {
                        let execution_ms =
                            i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
                        history::insert(
                            &mut tx,
                            &NewRow {
                                execution_ms,
                                ..*row
                            },
                        )
                        .await
                    }
                    Record::Delete(version) => history::delete(&mut tx, version).await,
                };
                recorded.map_err(Error::db(
                    "could not record the migration in the history table",
                ))?;
                // Deferred constraints are checked here: their failure is the migration's.
                tx.commit().await.map_err(|e| (None, e))
            }
            Err((done, e)) => {
                tx.rollback().await.ok();
                Err((Some(done), e))
            }
        };
        match outcome {
            Ok(()) => {
                return Ok(Ran {
                    attempts,
                    dropped_invalid_indexes: Vec::new(),
                })
            }
            Err((_, e)) if retriable(&e) && attempts <= options.lock_retries => {
                pause_before_retry(options, attempts, &e).await;
            }
            Err((statement, e)) => return Err(failure(target, &e, 0, statement, attempts, 0)),
        }
    }
}

/// The statements a resumed run replays first: session settings do not survive the
/// connection that made them.
fn is_session_setting(sql: &str) -> bool {
    let lower = sql.trim_start().to_ascii_lowercase();
    (lower.starts_with("set ") && !lower.starts_with("set local ")) || lower.starts_with("reset ")
}

/// Drops the INVALID index a failed or killed concurrent build of `index` left behind;
/// `CREATE INDEX CONCURRENTLY IF NOT EXISTS` would otherwise keep it and succeed.
async fn drop_invalid_index(
    conn: &mut PgConnection,
    index: &ConcurrentIndex,
) -> Result<Option<String>, sqlx::Error> {
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT format('%I.%I', n.nspname, c.relname),
                format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname)
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE i.indrelid = to_regclass($1) AND c.relname = $2 AND NOT i.indisvalid",
    )
    .bind(&index.table)
    .bind(&index.name)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((name, drop)) = found else {
        return Ok(None);
    };
    simple_query(conn, &drop).await?;
    Ok(Some(name))
}

/// Whether `index` exists and is valid: then a resumed run whose progress row missed the
/// build (the runner died between the build and the record) must not build it again.
async fn valid_index_exists(
    conn: &mut PgConnection,
    index: &ConcurrentIndex,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                        WHERE i.indrelid = to_regclass($1) AND c.relname = $2 AND i.indisvalid)",
    )
    .bind(&index.table)
    .bind(&index.name)
    .fetch_one(conn)
    .await
}

/// Runs a non-transactional script one statement per round trip: from the start, or, when
/// `resume` holds the number of statements an earlier run recorded, from the next one. For apply, progress goes to the history row after each statement; for revert, the
/// row is deleted at the end.
#[instrument(
    name = "migration",
    skip_all,
    fields(version = target.version, file = %target.script.file, transactional = false)
)]
pub(crate) async fn run_statements(
    conn: &mut PgConnection,
    options: &Options,
    target: Target<'_>,
    resume: Option<usize>,
    record: Record<'_>,
) -> Result<Ran, Error> {
    let from = resume.unwrap_or(0);
    let script = target.script;
    let total = script.statements.len();
    let mut ran = Ran {
        attempts: 1,
        dropped_invalid_indexes: Vec::new(),
    };
    if let Some(done) = resume {
        info!(statement = done + 1, of = total, "resuming");
    }
    prepare_session(conn, options).await?;
    let statement_error = |e: sqlx::Error, index: usize, attempts: u32| {
        let offset = script.statements[index].offset;
        failure(target, &e, offset, Some(index), attempts, index)
    };
    for (index, statement) in script.statements.iter().enumerate().take(from) {
        if is_session_setting(&statement.text) {
            simple_query(conn, &statement.text)
                .await
                .map_err(|e| statement_error(e, index, 1))?;
        }
    }
    if let Record::Insert(row) = record {
        if resume.is_none() {
            history::insert(conn, row).await.map_err(Error::db(
                "could not record the migration in the history table",
            ))?;
        }
    }
    let mut lock_timeout = options.lock_timeout;
    for (index, statement) in script.statements.iter().enumerate().skip(from) {
        let kind = analysis::classify(&statement.text);
        // Concurrent builds and the like take no lock that blocks other sessions, but they wait
        // for every older transaction; a lock time-out would only fail them for nothing.
        let wanted = match kind {
            StatementKind::NeedsNoTransaction { .. } => Duration::ZERO,
            _ => options.lock_timeout,
        };
        if wanted != lock_timeout {
            simple_query(conn, &format!("SET lock_timeout = {}", millis(wanted)))
                .await
                .map_err(Error::db("could not set lock_timeout"))?;
            lock_timeout = wanted;
        }
        let index_built = analysis::concurrent_index(&statement.text);
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut skip = false;
            if let Some(built) = &index_built {
                if let Some(dropped) = drop_invalid_index(conn, built)
                    .await
                    .map_err(|e| statement_error(e, index, attempts))?
                {
                    info!(index = %dropped, "dropped the INVALID index of an earlier build");
                    ran.dropped_invalid_indexes.push(dropped);
                }
                skip = resume == Some(index)
                    && valid_index_exists(conn, built)
                        .await
                        .map_err(|e| statement_error(e, index, attempts))?;
            }
            if skip {
                info!(
                    statement = index + 1,
                    "the index is already built; skipping"
                );
                break;
            }
            match simple_query(conn, &statement.text).await {
                Ok(_) => break,
                Err(e) if retriable(&e) && attempts <= options.lock_retries => {
                    pause_before_retry(options, attempts, &e).await;
                }
                Err(e) => return Err(statement_error(e, index, attempts)),
            }
        }
        ran.attempts = ran.attempts.max(attempts);
        debug!(
            statement = index + 1,
            of = total,
            attempts,
            "ran a statement"
        );
        if let Record::Insert(row) = record {
            let elapsed = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            history::record_progress(
                conn,
                row.version,
                index + 1,
                &script.prefix_checksum(index + 1),
                elapsed,
            )
            .await
            .map_err(Error::db("could not record progress in the history table"))?;
        }
    }
    let done = match record {
        Record::Insert(row) => history::finish(conn, row.version, &script.checksum, total).await,
        Record::Delete(version) => history::delete(conn, version).await,
    };
    done.map_err(Error::db(
        "could not record the migration in the history table",
    ))?;
    Ok(ran)
}

/// The history row a completed (or about to start) apply of `script` records.
pub(crate) fn new_row<'a>(
    version: i64,
    name: &'a str,
    script: &'a Script,
    progress_checksum: &'a str,
    client: &'a str,
) -> NewRow<'a> {
    let transactional = script.transactional();
    let total = script.statements.len();
    NewRow {
        version,
        name,
        checksum: &script.checksum,
        checksum_algorithm: CHECKSUM_ALGORITHM,
        transactional,
        statements_total: total,
        statements_done: if transactional { total } else { 0 },
        progress_checksum,
        finished: transactional,
        execution_ms: 0,
        client,
        baselined: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_settings_are_recognised() {
        assert!(is_session_setting("SET maintenance_work_mem = '1GB'"));
        assert!(is_session_setting("set search_path = crm"));
        assert!(is_session_setting("RESET ROLE"));
        assert!(!is_session_setting("SET LOCAL work_mem = '1MB'"));
        assert!(!is_session_setting("SELECT set_config('a', 'b', false)"));
    }

    #[test]
    fn errors_point_at_the_server_position_or_the_statement() {
        let script =
            Script::new("0001_a.up.sql", "SELECT 1;\n\nSELECT\n  nope;\nSELECT 3;").unwrap();
        assert_eq!(locate(&script, 0, Some(2), None), (Some(2), Some((5, 1))));
        assert_eq!(locate(&script, 0, None, None), (None, None));
    }

    #[test]
    fn backoff_grows() {
        let options = Options {
            retry_backoff: Duration::from_millis(100),
            ..Options::default()
        };
        assert!(backoff(&options, 1) < Duration::from_millis(130));
        assert!(backoff(&options, 3) > Duration::from_millis(290));
    }
}
