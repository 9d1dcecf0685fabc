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
    is_fresh_database, load, DemoOptions, DemoReport, NoProgress, Progress, TableStats,
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

    #[error(
        "loading demo data needs a superuser or a BYPASSRLS role: COPY cannot write to \
         tables whose row-level security is forced"
    )]
    NeedsBypassRls,

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
