//! Seeds: the defaults every organization gets (plan catalogue, pipeline, templates, VoIP
//! configs, scoring model) read from the data files of `seeds/`, the creation of an
//! organization together with them, and the `{{variable}}` engine of message templates.
//! What the data layer needs at run time; the demo data lives in `crmdb-demo`.

pub mod data;
pub mod defaults;
pub mod ids;
pub mod template;

pub use defaults::{
    create_organization, organization_defaults, seed_all, seed_globals, seed_globals_at,
    seed_organization, NewOrganization, SeedReport, INSERT_ORGANIZATION, ORGANIZATION_DEFAULTS,
};

/// The bound on every statement of the seeds. The largest is the defaults of one
/// organization, a few dozen rows inserted by primary key, which takes milliseconds; a
/// minute is far above that on any server, and ends a seed that waits on a lock held
/// elsewhere or whose client died instead of leaving it running.
pub const STATEMENT_TIMEOUT: &str = "60s";

/// `options` with the seeds' statement bound ([`STATEMENT_TIMEOUT`]), for the connection
/// the seeds run on.
pub fn bounded(options: &sqlx::postgres::PgConnectOptions) -> sqlx::postgres::PgConnectOptions {
    options
        .clone()
        .options([("statement_timeout", STATEMENT_TIMEOUT)])
}

/// What can go wrong while seeding.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the seed data file {file} is invalid: {why}")]
    InvalidData { file: &'static str, why: String },

    #[error("organization {0} does not exist")]
    NoSuchOrganization(uuid::Uuid),

    #[error("organization slug {slug:?} is already taken")]
    SlugTaken { slug: String },

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
