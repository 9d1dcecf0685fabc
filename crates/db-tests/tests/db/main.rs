//! The database tests of crmdb: one binary, each test on its own database cloned from a
//! migrated template (see `crmdb-testkit`), all against a real PostgreSQL server.

mod audit;
mod docs;
mod drift;
mod harness;
mod migrate;
mod org;
mod pooler;
mod privacy;
mod privileges;
mod restore;
mod schema;
mod seed;
mod store;
