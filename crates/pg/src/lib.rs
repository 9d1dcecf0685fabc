//! PostgreSQL administration that every crmdb crate shares, kept in one small place so that
//! dynamic SQL text, error codes and setting names are written once: identifier quoting
//! ([`ident`]), SQLSTATE codes ([`sqlstate`]), creating and dropping databases
//! ([`database`]), the names of the settings row-level security reads ([`tenancy`]), and
//! telling a transaction pooler from a direct connection for the commands that need a
//! session of their own ([`pooler`]).

pub mod database;
pub mod ident;
pub mod pooler;
pub mod sqlstate;
pub mod tenancy;

use futures_util::future::BoxFuture;
use sqlx::postgres::PgQueryResult;
use sqlx::{Executor, PgConnection};

pub use database::{
    create_database, database_exists, drop_database, rename_database, DatabaseError,
};
pub use ident::{quote_ident, quote_literal, InvalidIdentifier};

/// Sends `sql` with the simple-query protocol, which takes several statements at once and
/// no parameters.
///
/// Through `Executor::execute`, whose boxed future is `Send`: the compiler cannot prove the
/// future of the generic `RawSql::execute` `Send` for every lifetime, and callers spawn ours
/// on multi-threaded runtimes (rust-lang/rust#102211).
pub fn simple_query<'a>(
    conn: &'a mut PgConnection,
    sql: &'a str,
) -> BoxFuture<'a, Result<PgQueryResult, sqlx::Error>> {
    conn.execute(sqlx::raw_sql(sql))
}
