//! The CRM schema: the migrations embedded in the binary, the model of a live database's
//! catalog, and the audit of it.

pub mod audit;
pub mod catalog;
pub mod roles;

use crmdb_migrate::{Migrations, SourceError};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The CRM's migrations, as embedded at build time from the repository's `migrations/`.
pub fn migrations() -> Result<Migrations, SourceError> {
    Migrations::from_files(EMBEDDED.iter().copied())
}
