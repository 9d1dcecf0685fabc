//! The demo data: a deterministic generator of realistic pt-BR organizations (the same
//! seed gives the same rows, ids and timestamps included) and a loader that streams them
//! into every table with `COPY`. Tooling for trying the CRM out and measuring it; the
//! runtime crates never depend on it.

pub mod copy;
pub mod generate;
pub mod ids;
pub mod load;
pub mod tables;
pub mod words;

pub use generate::{BASE, DEMO_PASSWORD};
pub use load::{
    is_fresh_database, load, DemoOptions, DemoReport, NoProgress, PresentOrganization, Progress,
    TableStats,
};
pub use tables::Table;

/// What can go wrong while loading the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Seed(#[from] crmdb_seed::SeedError),

    #[error(
        "the demo load was interrupted: {loaded} organization(s) committed, the ones in \
         flight rolled back; run the same command again to load the remaining {remaining}"
    )]
    Interrupted { loaded: u32, remaining: u32 },

    /// Row-level security applies to the login on some tables, so their rows go through
    /// temporary staging tables, and the login may not create them.
    #[error(
        "loading demo data as {login} stages each organization's rows in temporary tables \
         (COPY cannot write to a table whose row-level security applies to the login), and \
         {login} lacks the TEMPORARY right on the database: ask its owner or an administrator \
         for `{grant}`, or load as a superuser or BYPASSRLS role"
    )]
    NeedsTemporary { login: String, grant: String },

    /// The database is reached through a transaction pooler, where the loader's staging
    /// tables, statement bound and cancellation would act on other clients' sessions.
    #[error(transparent)]
    TransactionPooler(crmdb_pg::pooler::NeedsSession),

    #[error(transparent)]
    Identifier(#[from] crmdb_pg::InvalidIdentifier),

    #[error("the demo generator failed: {0}")]
    Generator(String),

    #[error("database error while {doing}")]
    Database {
        doing: String,
        #[source]
        source: sqlx::Error,
    },
}

/// Wraps a database error with what the loader was doing.
pub(crate) fn db(doing: impl Into<String>) -> impl FnOnce(sqlx::Error) -> DemoError {
    let doing = doing.into();
    move |source| DemoError::Database { doing, source }
}
