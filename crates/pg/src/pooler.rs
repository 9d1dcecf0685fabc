//! Whether a connection leads to a transaction pooler, told from the outside, for the
//! commands that need a server session of their own.
//!
//! Behind a transaction pooler (PgBouncer, Supavisor or pgcat in transaction mode, RDS
//! Proxy unpinned) a client connection holds a server connection for one transaction only.
//! The data layer is built for that; the session commands are not, and they would fail
//! silently rather than loudly:
//!
//! - the migrator's session advisory lock (`pg_try_advisory_lock` in autocommit) is taken on
//!   whichever server connection ran that statement and stays there when the client moves
//!   on, so it covers nothing: two runners "hold" it at once and migrate concurrently, and
//!   its `set_config(…, false)` session settings land on a connection it no longer uses;
//! - the demo loader's session-level staging tables, its `statement_timeout` (a startup
//!   option the pooler drops or refuses) and the cancelling of its running statements by
//!   backend pid would act on server connections other clients are using, and its `COPY`s
//!   and their staging steps could be split across server connections;
//! - sqlx names its prepared statements per client connection (`sqlx_s_1`, …): two clients
//!   sharing one server connection collide with `prepared statement "sqlx_s_1" already
//!   exists`, or find theirs missing, in the middle of a migration.
//!
//! The method ([`detect`]): open client connection C1 and read `pg_backend_pid()`; keep C1
//! open, open C2 and read its `pg_backend_pid()`; then again on C1 and on C2, for a few
//! rounds. On a direct connection (or through a session pooler) every client connection
//! is one server process for its whole life, and two open at the same time are two
//! processes: the same pid on C1 and C2, or a pid that changes on one of them, cannot
//! happen there, so either proves a transaction (or statement) pooler. Statements go
//! through the simple-query protocol, which leaves no prepared statement behind.
//!
//! The limits: the check proves a pooler, it cannot prove its absence. A quiet pooler
//! reuses the server connection C1 just released for C2 (PgBouncer hands out the most
//! recently used one), so it is caught on the first round; a busy one, whose other clients
//! take that connection first, may give C1 and C2 other server connections on every round
//! and go unnoticed. A pooler that refuses sqlx's startup parameters (`extra_float_digits`)
//! fails the connection before any check. A session pooler with one server connection per
//! database would make C2 wait for C1 (its `query_wait_timeout`). It costs two connections
//! and six short statements, once per command.

use std::fmt;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection, Row};

/// Rounds of one statement on each of the two connections.
const ROUNDS: usize = 3;

/// What showed that two client connections are not two server sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolerEvidence {
    /// Two client connections open at the same time were answered by one server process.
    SharedProcess { pid: i32 },
    /// One client connection was answered by one server process, then by another.
    ProcessChanged { first: i32, then: i32 },
}

impl fmt::Display for PoolerEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolerEvidence::SharedProcess { pid } => write!(
                f,
                "two client connections open at the same time shared one server process, \
                 pid {pid}"
            ),
            PoolerEvidence::ProcessChanged { first, then } => write!(
                f,
                "one client connection was served by server process {first}, then by {then}"
            ),
        }
    }
}

/// A session command refused because its connection leads to a transaction pooler: what
/// was found, and what to do instead.
#[derive(Debug, thiserror::Error)]
#[error(
    "the server at {server} is reached through a transaction pooler ({evidence}): `{command}` \
     needs a session of its own ({needs}); use a direct URL to PostgreSQL (DATABASE_URL), not \
     the pooler's"
)]
pub struct NeedsSession {
    /// Where the connection went: host (or socket directory), port and database, never the
    /// password.
    pub server: String,
    /// The command, as a user types it (`crmdb migrate`).
    pub command: &'static str,
    /// What of the session it relies on.
    pub needs: &'static str,
    pub evidence: PoolerEvidence,
}

/// Tells whether `options` lead to a transaction pooler (see the module's documentation
/// for the method and its limits): `Some` with the evidence when they do, `None` when
/// nothing showed one. Errors are the connections' and statements' own.
pub async fn detect(options: &PgConnectOptions) -> Result<Option<PoolerEvidence>, sqlx::Error> {
    let mut first = PgConnection::connect_with(options).await?;
    let found = match PgConnection::connect_with(options).await {
        Ok(mut second) => {
            let found = compare(&mut first, &mut second).await;
            second.close().await.ok();
            found
        }
        Err(e) => Err(e),
    };
    first.close().await.ok();
    found
}

/// [`detect`] at the start of a session command: `Ok` unless `options` lead to a
/// transaction pooler, else the command's error made by `refused` from the [`NeedsSession`]
/// that names what was found; a failed connection or statement becomes `failed`'s error.
pub async fn require_session<E>(
    options: &PgConnectOptions,
    command: &'static str,
    needs: &'static str,
    failed: impl FnOnce(sqlx::Error) -> E,
    refused: impl FnOnce(NeedsSession) -> E,
) -> Result<(), E> {
    match detect(options).await {
        Ok(None) => Ok(()),
        Ok(Some(evidence)) => Err(refused(NeedsSession {
            server: describe(options),
            command,
            needs,
            evidence,
        })),
        Err(e) => Err(failed(e)),
    }
}

/// Round after round, the server process of each connection, until one is shared or one
/// changes.
async fn compare(
    first: &mut PgConnection,
    second: &mut PgConnection,
) -> Result<Option<PoolerEvidence>, sqlx::Error> {
    let conns = [first, second];
    let mut pids: [Option<i32>; 2] = [None, None];
    for _ in 0..ROUNDS {
        for i in 0..2 {
            let pid = backend_pid(&mut *conns[i]).await?;
            if let Some(previous) = pids[i].filter(|&p| p != pid) {
                return Ok(Some(PoolerEvidence::ProcessChanged {
                    first: previous,
                    then: pid,
                }));
            }
            if pids[1 - i] == Some(pid) {
                return Ok(Some(PoolerEvidence::SharedProcess { pid }));
            }
            pids[i] = Some(pid);
        }
    }
    Ok(None)
}

/// `pg_backend_pid()` through the simple-query protocol: no prepared statement is left on
/// a server connection another client may be using.
async fn backend_pid(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    conn.fetch_one(sqlx::raw_sql("SELECT pg_backend_pid()"))
        .await?
        .try_get(0)
}

/// `host:port/database` (or the socket directory's), without credentials.
fn describe(options: &PgConnectOptions) -> String {
    let host = match options.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => options.get_host().to_owned(),
    };
    let database = options.get_database().unwrap_or(options.get_username());
    format!("{host}:{}/{database}", options.get_port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_says_what_was_found_and_what_to_do() {
        let options: PgConnectOptions =
            "postgres://crmdb:secret@10.0.0.5:6432/crm".parse().unwrap();
        let refusal = NeedsSession {
            server: describe(&options),
            command: "crmdb migrate",
            needs: "its advisory lock and session settings",
            evidence: PoolerEvidence::SharedProcess { pid: 4242 },
        };
        assert_eq!(
            refusal.to_string(),
            "the server at 10.0.0.5:6432/crm is reached through a transaction pooler (two \
             client connections open at the same time shared one server process, pid 4242): \
             `crmdb migrate` needs a session of its own (its advisory lock and session \
             settings); use a direct URL to PostgreSQL (DATABASE_URL), not the pooler's"
        );
    }

    #[test]
    fn a_moved_connection_names_both_processes() {
        let evidence = PoolerEvidence::ProcessChanged {
            first: 10,
            then: 11,
        };
        assert_eq!(
            evidence.to_string(),
            "one client connection was served by server process 10, then by 11"
        );
    }
}
