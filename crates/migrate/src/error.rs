//! The engine's errors: each says what failed, where, and what to do about it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A migration set that cannot be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("could not read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{file}: not a migration file name; migrations are named NNNN_name.up.sql or \
         NNNN_name.down.sql, NNNN a positive integer and name made of letters, digits, `_` and `-`"
    )]
    BadName { file: String },

    #[error("{file}: not UTF-8 text")]
    NotUtf8 { file: String },

    #[error(
        "version {version} is used twice, by {first} and {second}; give one of them another number"
    )]
    DuplicateVersion {
        version: i64,
        first: String,
        second: String,
    },

    #[error("{file}: a down file without its up file (same number and name, ending in .up.sql)")]
    DownWithoutUp { file: String },

    #[error(
        "{file}:{line}:{column}: {what} cannot run inside a transaction block; make the file's \
         first line `-- crmdb:no-transaction` (it then runs one statement at a time, resumably), \
         or move the statement to a file of its own that has it"
    )]
    NeedsNoTransaction {
        file: String,
        line: u32,
        column: u32,
        what: &'static str,
    },

    #[error(
        "{file}:{line}:{column}: transaction control (BEGIN, COMMIT, ROLLBACK, ...) in a \
         transactional migration; the runner already wraps the file and its history row in one \
         transaction, so remove it"
    )]
    TransactionControl {
        file: String,
        line: u32,
        column: u32,
    },

    #[error("{name:?} makes no usable migration name; use letters and digits")]
    InvalidName { name: String },
}

/// Who holds the migration lock, from `pg_locks` and `pg_stat_activity`.
#[derive(Debug, Clone, Serialize)]
pub struct LockHolder {
    pub pid: i32,
    pub application_name: String,
    pub user: Option<String>,
    pub client_addr: Option<String>,
    /// When the holder's session last changed state: for an idle lock session, when it took
    /// the lock.
    pub since: Option<DateTime<Utc>>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "backend pid {} ({:?}", self.pid, self.application_name)?;
        if let Some(user) = &self.user {
            write!(f, ", user {user}")?;
        }
        if let Some(addr) = &self.client_addr {
            write!(f, ", from {addr}")?;
        }
        if let Some(since) = &self.since {
            write!(f, ", since {}", since.format("%Y-%m-%d %H:%M:%S UTC"))?;
        }
        write!(f, ")")
    }
}

/// An applied file whose text no longer matches the checksum recorded when it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub version: i64,
    pub file: String,
    pub recorded: String,
    pub actual: String,
}

/// A statement that PostgreSQL (or the connection) refused while a migration ran.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationFailure {
    pub version: i64,
    pub file: String,
    /// Position of the failing statement, or of the error inside it when the server says.
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The failing statement's text, when known.
    pub statement: Option<String>,
    /// SQLSTATE, e.g. `42P01`; `None` when the connection failed rather than the statement.
    pub code: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// PostgreSQL's CONTEXT: where inside a function or a DO block it failed.
    pub context: Option<String>,
    pub attempts: u32,
    pub transactional: bool,
    /// The script was a down file run by `revert`.
    pub reverting: bool,
    /// For a non-transactional file: statements applied and recorded before this one.
    pub statements_done: usize,
    pub statements_total: usize,
    /// The newest fully applied version after the failure.
    pub database_version: Option<i64>,
}

impl fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "migration {}", self.file)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, " failed at line {line}, column {column}")?,
            (Some(line), None) => write!(f, " failed at line {line}")?,
            _ => write!(f, " failed")?,
        }
        match &self.code {
            Some(code) => write!(f, ": ERROR {code}: {}", self.message)?,
            None => write!(f, ": {}", self.message)?,
        }
        if let Some(detail) = &self.detail {
            write!(f, "\n  DETAIL: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  HINT: {hint}")?;
        }
        if let Some(context) = &self.context {
            write!(f, "\n  CONTEXT: {}", context.replace('\n', "\n    "))?;
        }
        if let Some(statement) = &self.statement {
            write!(f, "\n  STATEMENT: {}", abbreviate(statement))?;
        }
        if self.code.as_deref() == Some(crmdb_pg::sqlstate::LOCK_NOT_AVAILABLE) {
            write!(
                f,
                "\n  gave up after {} attempt(s): another session holds a lock this migration \
                 needs (look for long transactions in pg_stat_activity); end it, or retry with \
                 a longer --lock-timeout",
                self.attempts
            )?;
        }
        if self.transactional {
            write!(
                f,
                "\n  nothing of this file took effect (it runs in one transaction)"
            )?;
        } else if self.reverting {
            write!(
                f,
                "\n  statements done: {} of {}; the version stays recorded as applied, so \
                 revert again once the cause is fixed",
                self.statements_done, self.statements_total
            )?;
        } else {
            write!(
                f,
                "\n  statements done and recorded: {} of {}; the next apply resumes at \
                 statement {}",
                self.statements_done,
                self.statements_total,
                self.statements_done + 1
            )?;
        }
        match self.database_version {
            Some(v) => write!(f, "; the database stays at version {v}"),
            None => write!(f, "; no migration is fully applied yet"),
        }
    }
}

fn abbreviate(statement: &str) -> String {
    const MAX: usize = 300;
    let one_line = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX) {
        Some((at, _)) => format!("{} ...", &one_line[..at]),
        None => one_line,
    }
}

fn list(list: &[i64]) -> String {
    list.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn drifts(list: &[Drift]) -> String {
    list.iter()
        .map(|d| format!("{} (version {})", d.file, d.version))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_holders(list: &[LockHolder]) -> String {
    if list.is_empty() {
        return "it was released just now; try again".to_owned();
    }
    let names: Vec<String> = list.iter().map(ToString::to_string).collect();
    format!("held by {}", names.join("; "))
}

/// Everything that can stop a migration command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Source(#[from] SourceError),

    #[error("could not connect to the database: {0}")]
    Connect(#[source] sqlx::Error),

    /// The database is reached through a transaction pooler, where the migration lock
    /// would cover nothing.
    #[error(transparent)]
    TransactionPooler(crmdb_pg::pooler::NeedsSession),

    #[error("{context}: {source}")]
    Database {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },

    #[error(
        "another migration runner holds the migration lock of this database; waited {:.1} s \
         (--lock-wait), {}",
        .waited.as_secs_f64(),
        describe_holders(.holders)
    )]
    LockTimeout {
        waited: Duration,
        holders: Vec<LockHolder>,
    },

    #[error(
        "applied migration files were edited since they ran: {}; restore them, or accept an \
         edit deliberately with `migrate repair VERSION`",
        drifts(.0)
    )]
    Changed(Vec<Drift>),

    #[error(
        "versions {} are applied in the database but have no file here; restore the files, or \
         apply with `crmdb migrate apply --ignore-missing`",
        list(.0)
    )]
    Missing(Vec<i64>),

    #[error(
        "versions {} are pending but older than the newest applied version {latest_applied}; \
         renumber them above it, or \
         apply them with `crmdb migrate apply --allow-out-of-order`",
        list(.versions)
    )]
    OutOfOrder {
        versions: Vec<i64>,
        latest_applied: i64,
    },

    #[error(
        "cannot revert versions {}: they have no down file (or no file at all); nothing was \
         reverted",
        list(.0)
    )]
    NoDownFile(Vec<i64>),

    #[error(
        "{file} stopped after statement {statements_done} and was then edited before that \
         point, so it cannot resume; restore the statements that ran, or undo them by hand and \
         accept the file with `migrate repair {version}`"
    )]
    PartialChanged {
        version: i64,
        file: String,
        statements_done: usize,
    },

    #[error(
        "cannot baseline: the history already records {applied} version(s); baseline adopts \
         a database no runner has migrated"
    )]
    BaselineNotEmpty { applied: usize },

    #[error("version {version} is not recorded as applied, so there is nothing to repair")]
    NotApplied { version: i64 },

    #[error("there is no migration file for version {version}")]
    NoSuchVersion { version: i64 },

    #[error("{0}")]
    Migration(Box<MigrationFailure>),
}

impl Error {
    pub(crate) fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
        move |source| Error::Database { context, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure() -> MigrationFailure {
        MigrationFailure {
            version: 4,
            file: "0004_indexes.up.sql".into(),
            line: Some(12),
            column: Some(5),
            statement: Some(
                "CREATE UNIQUE INDEX CONCURRENTLY people_email\n    ON people (email)".into(),
            ),
            code: Some(crmdb_pg::sqlstate::UNIQUE_VIOLATION.into()),
            message: "could not create unique index \"people_email\"".into(),
            detail: Some("Key (email)=(a@example.com) is duplicated.".into()),
            hint: None,
            context: None,
            attempts: 1,
            transactional: false,
            reverting: false,
            statements_done: 1,
            statements_total: 3,
            database_version: Some(3),
        }
    }

    #[test]
    fn a_failed_non_transactional_statement() {
        insta::assert_snapshot!(failure().to_string());
    }

    #[test]
    fn a_transactional_file_that_gave_up_on_a_lock() {
        let f = MigrationFailure {
            code: Some(crmdb_pg::sqlstate::LOCK_NOT_AVAILABLE.into()),
            message: "canceling statement due to lock timeout".into(),
            detail: None,
            statement: Some("ALTER TABLE people ADD COLUMN nickname text".into()),
            attempts: 4,
            transactional: true,
            database_version: None,
            ..failure()
        };
        insta::assert_snapshot!(f.to_string());
    }

    #[test]
    fn a_lock_time_out_names_the_holder() {
        let e = Error::LockTimeout {
            waited: Duration::from_millis(60_200),
            holders: vec![LockHolder {
                pid: 4242,
                application_name: "crmdb-migrate lock (pid 17)".into(),
                user: Some("deploy".into()),
                client_addr: Some("10.0.0.7".into()),
                since: DateTime::from_timestamp(1_700_000_000, 0),
            }],
        };
        insta::assert_snapshot!(e.to_string());
    }
}
