//! Creating, renaming and dropping databases: the statements whose database name cannot be
//! a bound parameter, so the name goes through [`quote_ident`](crate::ident::quote_ident).

use sqlx::PgConnection;

use crate::ident::{quote_ident, InvalidIdentifier};
use crate::simple_query;
use crate::sqlstate::{self, DUPLICATE_DATABASE, UNIQUE_VIOLATION};

/// Why a database statement failed.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error(transparent)]
    Identifier(#[from] InvalidIdentifier),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl DatabaseError {
    /// The SQLSTATE the server answered with, if it answered.
    pub fn sqlstate(&self) -> Option<String> {
        match self {
            DatabaseError::Identifier(_) => None,
            DatabaseError::Database(e) => sqlstate::of(e),
        }
    }
}

/// Creates database `name` (from `template` when given, otherwise the server's default
/// `template1`). Returns `false` when it already existed: a concurrent creator that won the
/// race shows as `duplicate_database`, or as `unique_violation` on `pg_database` when both
/// passed the server's own check at the same instant.
pub async fn create_database(
    conn: &mut PgConnection,
    name: &str,
    template: Option<&str>,
) -> Result<bool, DatabaseError> {
    let mut sql = format!("CREATE DATABASE {}", quote_ident(name)?);
    if let Some(template) = template {
        sql.push_str(" TEMPLATE ");
        sql.push_str(&quote_ident(template)?);
    }
    match simple_query(conn, &sql).await {
        Ok(_) => Ok(true),
        Err(e) if sqlstate::is(&e, &[DUPLICATE_DATABASE, UNIQUE_VIOLATION]) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Drops database `name` if it exists, ending its sessions first (`WITH (FORCE)`,
/// PostgreSQL 13 and newer).
pub async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<(), DatabaseError> {
    let sql = format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_ident(name)?
    );
    simple_query(conn, &sql).await?;
    Ok(())
}

/// Renames database `from` to `to`; a finished copy appears under its name atomically.
pub async fn rename_database(
    conn: &mut PgConnection,
    from: &str,
    to: &str,
) -> Result<(), DatabaseError> {
    let sql = format!(
        "ALTER DATABASE {} RENAME TO {}",
        quote_ident(from)?,
        quote_ident(to)?
    );
    simple_query(conn, &sql).await?;
    Ok(())
}

/// Whether database `name` exists on the server of `conn`.
pub async fn database_exists(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
}
