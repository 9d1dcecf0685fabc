//! A PostgreSQL migration engine that knows nothing about the schema it migrates: ordered,
//! checksummed files; one runner at a time; transactional files atomic with their history
//! row; non-transactional files resumable statement by statement.
//!
//! The steps of a [`Migrator`] report through `tracing` spans and events (versions, file names
//! and timings, never SQL); they are silent unless the program installs a subscriber.
//!
//! # Examples
//!
//! Migrations embedded in a binary, and the state of each version in a database:
//!
//! ```no_run
//! use crmdb_migrate::{Migrations, Migrator, Options};
//! use sqlx::postgres::PgConnectOptions;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let migrations = Migrations::from_files([
//!     ("0001_accounts.up.sql", "CREATE TABLE accounts (id uuid PRIMARY KEY);"),
//!     ("0001_accounts.down.sql", "DROP TABLE accounts;"),
//! ])?;
//! let db: PgConnectOptions = "postgres://crm@localhost:5432/crm".parse()?;
//! for version in Migrator::new(migrations, Options::default()).status(&db).await? {
//!     println!("{} {} {}", version.version, version.name, version.state.as_str());
//! }
//! # Ok(())
//! # }
//! ```

mod analysis;
mod error;
mod history;
mod lock;
mod migrator;
mod options;
mod plan;
mod report;
mod runner;
mod source;
pub mod splitter;

pub use analysis::NO_TRANSACTION_DIRECTIVE;
pub use error::{Drift, Error, LockHolder, MigrationFailure, SourceError};
pub use history::TABLE as HISTORY_TABLE;
pub use migrator::Migrator;
pub use options::Options;
pub use plan::RevertTarget;
pub use report::{
    Applied, ApplyReport, BaselineReport, Plan, PlannedMigration, RepairReport, RevertReport,
    Reverted, State, VerifyReport, VersionStatus,
};
pub use source::{
    checksum, create_next, is_up_file_name, Migration, Migrations, Script, CHECKSUM_ALGORITHM,
};
pub use splitter::Statement;
