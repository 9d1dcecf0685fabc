//! Seeds: the defaults every organization gets (plan catalogue, pipeline, templates, VoIP
//! configs, scoring model) read from the data files of `seeds/`, and the deterministic
//! pt-BR demo-data generator that loads every table with `COPY`.

pub mod data;
pub mod defaults;
pub mod demo;
pub mod ids;
pub mod template;

pub use defaults::{
    create_organization, seed_all, seed_globals, seed_organization, NewOrganization, SeedReport,
};

/// What can go wrong while seeding.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the seed data file {file} is invalid: {why}")]
    InvalidData { file: &'static str, why: String },

    #[error("organization {0} does not exist")]
    NoSuchOrganization(uuid::Uuid),

    #[error("organization slug {slug:?} is already taken")]
    SlugTaken { slug: String },

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

/// Wraps a database error with what the seed was doing.
pub(crate) fn db(doing: impl Into<String>) -> impl FnOnce(sqlx::Error) -> SeedError {
    let doing = doing.into();
    move |source| SeedError::Database { doing, source }
}
