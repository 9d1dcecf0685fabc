//! The benchmark of the schema catalog's hot queries, the engine behind `crmdb bench`.
//!
//! [`prepare`] creates a fresh `crm_bench` database of demo data; [`run`](run()) times
//! every hot query of [`HOT_QUERIES`](crmdb_store::hot::HOT_QUERIES) with random
//! organizations, stages, members and leads through the data layer and as raw SQL (the
//! layer's overhead is their ratio), under row-level security against the owner, and checks
//! that each plan uses its intended index. It returns a [`Report`] and prints nothing: what
//! it is doing goes to a [`Progress`].
//!
//! The run sends every statement unnamed, with its parameters' types, through the data
//! layer or on a plain tokio-postgres client, and every transaction explicitly, so it works
//! through a transaction pooler (PgBouncer in transaction mode); creating the fresh
//! database is session work (`CREATE DATABASE`, migrations, `COPY`) for a direct connection.
//!
//! - `fresh`: the fresh `crm_bench` database;
//! - `sample`: the ids the random parameters are drawn from;
//! - `call`: one execution of a hot query, its parameters bound in one place and run
//!   through any path (data layer, raw SQL, row-level security, owner, `EXPLAIN`);
//! - `timing`: concurrent clients, their latencies and percentiles;
//! - `measure`: the paths of one hot query timed into a [`QueryResult`];
//! - `plan`: whether a plan uses the intended index;
//! - `queue`: the jobs the job claim takes;
//! - `outbox`: the webhook deliveries the delivery claim takes;
//! - `sessions`: the sessions the session look-up finds;
//! - `compound`: a three-statement write through the data layer.

mod call;
mod compound;
mod entering;
mod error;
mod fresh;
mod measure;
mod outbox;
mod plan;
mod queue;
mod report;
mod run;
mod sample;
mod sessions;
mod timing;

use crmdb_demo::DemoReport;
use crmdb_store::hot::HotQuery;

pub use compound::CompoundResult;
pub use error::Error;
pub use fresh::{prepare, DemoSize, BENCH_DATABASE};
pub use report::{QueryResult, Report};
pub use run::{run, Settings};
/// The connection settings [`run`](run()) takes (a `postgresql://` URL or a libpq `key=value`
/// string parsed with `str::parse`), so that its caller needs no driver of its own.
pub use tokio_postgres::Config;

/// Told what the benchmark is doing, for a tool to show; the engine itself never prints.
pub trait Progress: Sync {
    /// The fresh database is migrated and the demo data is about to be loaded into it.
    fn loading_demo(&self, database: &str, size: &DemoSize);
    /// The demo data is loaded.
    fn demo_loaded(&self, report: &DemoReport);
    /// `query` is about to be measured.
    fn measuring(&self, query: &HotQuery);
}
