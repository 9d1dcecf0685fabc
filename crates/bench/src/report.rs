//! What a benchmark run found: the database's size and the figures of every hot query.

use serde::Serialize;

/// The figures of one hot query.
#[derive(Debug, Serialize)]
pub struct QueryResult {
    pub name: &'static str,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub qps: f64,
    pub uses_index: bool,
    pub raw_p99_ms: f64,
    pub index: &'static str,
    pub raw_p50_ms: f64,
    pub raw_qps: f64,
    /// Layer p99 ÷ raw p99, and the same at the median (steadier on a busy machine).
    pub overhead: f64,
    pub overhead_p50: f64,
    /// The same statement in a transaction as the application role under row-level
    /// security, and as the pool's own role; `None` for the queries of no organization
    /// (`next_job`, `session_lookup`, `next_webhook_delivery`), which have no RLS path,
    /// and for a login that row-level security applies to, which has no path without it.
    pub rls_p99_ms: Option<f64>,
    pub owner_p99_ms: Option<f64>,
    pub rls_ratio: Option<f64>,
    pub rls_p50_ms: Option<f64>,
    pub owner_p50_ms: Option<f64>,
    pub rls_ratio_p50: Option<f64>,
}

/// A benchmark run: the database, its size, the load, and every hot query in catalog
/// order.
#[derive(Debug, Serialize)]
pub struct Report {
    pub database: String,
    pub organizations: i64,
    pub leads: i64,
    pub communications: i64,
    /// Whether the benchmarking login is a superuser or BYPASSRLS. A managed service's
    /// admin login is not: its raw statements run with the organization entered, and the
    /// comparison with the owner is left out.
    pub sees_past_rls: bool,
    pub concurrency: u16,
    pub duration_seconds: u64,
    pub queries: Vec<QueryResult>,
    /// A three-statement write through the data layer.
    pub compound: crate::CompoundResult,
}
