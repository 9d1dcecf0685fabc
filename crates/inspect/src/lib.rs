//! Uses the model of a live database's schema (`crmdb_schema::catalog`) twice: schema drift
//! (the live schema against the one the migrations produce) and the generated schema
//! documentation.

pub mod docs;
pub mod drift;
mod error;

pub use error::Error;
