//! The one model of a live database's catalog: the tables of schema `public` with their
//! columns, constraints, indexes, triggers, policies, owners and grants, its views, functions
//! and sequences, the database and schema `public` with their owners and privileges, as the
//! migrations own them (extension members are left out, the runner's history table is
//! kept apart). Read in one snapshot by [`Schema::read`], and shared by the audit, schema
//! drift, the generated docs and the tests that compare schemas. Everything is ordered by
//! name, so the same schema always reads, compares and renders the same way.

mod constraint;
mod database;
mod function;
mod grant;
mod index;
mod policy;
mod read;
mod schema;
mod sequence;
mod table;
mod trigger;

pub use constraint::{Constraint, ConstraintKind, ForeignKey, OnDelete};
pub use database::{Database, Namespace};
pub use function::Function;
pub use grant::Grant;
pub use index::{Index, IndexKey};
pub use policy::Policy;
pub use schema::Schema;
pub use sequence::Sequence;
pub use table::{Column, Scope, Table};
pub use trigger::Trigger;
