//! Reads a live database's schema into a deterministic model, and uses it twice: schema
//! drift (the live schema against the one the migrations produce) and the generated schema
//! documentation.

pub mod catalog;
pub mod docs;
pub mod drift;
mod error;

pub use catalog::Schema;
pub use error::Error;
