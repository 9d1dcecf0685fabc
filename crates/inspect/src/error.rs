//! What can go wrong reading, comparing and documenting a schema.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not read the schema catalog: {0}")]
    Catalog(#[source] sqlx::Error),
    #[error("could not {action} the scratch database {name}")]
    Scratch {
        action: &'static str,
        name: String,
        #[source]
        source: crmdb_pg::DatabaseError,
    },
    #[error("could not migrate the scratch database")]
    Migrate(#[from] crmdb_migrate::Error),
    #[error("could not prepare the scratch database's roles")]
    Roles(#[from] crmdb_schema::roles::RolesError),
    #[error("could not read the migrations")]
    Source(#[from] crmdb_migrate::SourceError),
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not run Graphviz `dot`")]
    Dot(#[source] std::io::Error),
}
