//! A PostgreSQL migration engine that knows nothing about the schema it migrates: ordered,
//! checksummed files; one runner at a time; transactional files atomic with their history
//! row; non-transactional files resumable statement by statement.

mod analysis;
mod error;
mod history;
mod lock;
mod migrator;
mod plan;
mod report;
mod runner;
mod source;
pub mod splitter;

pub use analysis::NO_TRANSACTION_DIRECTIVE;
pub use error::{Drift, Error, LockHolder, MigrationFailure, SourceError};
pub use history::TABLE as HISTORY_TABLE;
pub use migrator::{Migrator, Options};
pub use plan::RevertTarget;
pub use report::{
    Applied, ApplyReport, BaselineReport, Plan, PlannedMigration, RepairReport, RevertReport,
    Reverted, State, VerifyReport, VersionStatus,
};
pub use source::{checksum, create_next, Migration, Migrations, Script, CHECKSUM_ALGORITHM};
pub use splitter::Statement;
