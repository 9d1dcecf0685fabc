//! The one model of a live database's catalog: the tables of schema `public` with their
//! columns, constraints, indexes, triggers, policies and grants, its views and its functions,
//! as the migrations own them (extension members are left out, the runner's history table is
//! kept apart). Read in one snapshot by [`Schema::read`], and shared by the audit, schema
//! drift, the generated docs and the tests that compare schemas. Everything is ordered by
//! name, so the same schema always reads, compares and renders the same way.

mod constraint;
mod function;
mod grant;
mod index;
mod policy;
mod read;
mod schema;
mod table;
mod trigger;

pub use constraint::{Constraint, ConstraintKind, ForeignKey, OnDelete};
pub use function::Function;
pub use grant::Grant;
pub use index::{Index, IndexKey};
pub use policy::Policy;
pub use schema::Schema;
pub use table::{Column, Scope, Table};
pub use trigger::Trigger;
