//! The CRM schema: the migrations embedded in the binary, and the audit of a live database.

pub mod audit;
pub mod roles;

use crmdb_migrate::{Migrations, SourceError};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The CRM's migrations, as embedded at build time from the repository's `migrations/`.
pub fn migrations() -> Result<Migrations, SourceError> {
    Migrations::from_files(EMBEDDED.iter().copied())
}
