//! The CRM's typed, tenant-scoped data layer, the crate the CRM's Rust services build on.
//!
//! [`Db::connect`] opens a pool; [`Db::tenant`] gives the handle of one organization, and
//! every operation of that handle (`tenant.leads().create(…)`, `tenant.members().invite(…)`,
//! …) runs in its own transaction as the `crm_app` role with the organization set for
//! row-level security, while its SQL still filters by `organization_id` so the indexes
//! serve it. A query of another organization cannot be written by accident: the handle
//! has no way to name one, and the database would not show it anyway.
//!
//! - [`models`]: a typed row for every table, enums for every closed set;
//! - [`ops`]: the operations, one module per area;
//! - [`sealing`] and [`rotation`]: secrets sealed at rest and their re-sealing under a new key;
//! - [`offboarding`]: the organization as a whole, for the operator: find, export, delete;
//! - [`hot`]: the SQL of the schema catalog's hot queries, shared with `crmdb bench`;
//! - [`Error`]: not found (naming one of the [`entity`] names), conflict (naming the
//!   constraint), invalid input (naming the field and rule), forbidden.
//!
//! # Examples
//!
//! A service's start: connect as the application login, take the organization's handle,
//! run an operation, and answer the typed error.
//!
//! ```no_run
//! use crmdb_store::ops::leads::NewLead;
//! use crmdb_store::{entity, Db, Error};
//! # async fn start(organization_id: uuid::Uuid) -> Result<(), Box<dyn std::error::Error>> {
//! let db = Db::connect(&std::env::var("APP_DATABASE_URL")?).await?;
//! let leads = db.tenant(organization_id).leads();
//! let lead = leads.create(&NewLead::named("Ana Souza")).await?;
//! match leads.get(lead.id).await {
//!     Ok(lead) => assert_eq!(lead.name, "Ana Souza"),
//!     Err(Error::NotFound { entity: entity::LEAD }) => {} // deleted in the meantime
//!     Err(other) => return Err(other.into()),
//! }
//! # Ok(())
//! # }
//! ```

mod catalog_sql;
mod db;
mod error;
pub mod hot;
pub mod models;
pub mod offboarding;
pub mod ops;
pub mod rotation;
pub mod sealing;
pub mod sql;
mod validate;

pub use db::{Conn, Db, Last, Statements, Tenant, TenantTx, APP_ROLE};
pub use error::{entity, Error, Result};
