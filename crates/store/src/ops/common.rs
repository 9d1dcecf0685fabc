//! The by-id statements that many areas share, so each area supplies only its SQL and the
//! entity its "not found" names.

use sqlx::postgres::PgRow;
use sqlx::{Encode, FromRow, PgConnection, Postgres, Type};
use uuid::Uuid;

use crate::db::Tenant;
use crate::error::{Error, Result};

impl Tenant {
    /// Every row `sql` selects with the organization as `$1`.
    pub(crate) async fn rows_of_organization<T>(&self, sql: &'static str) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let org = self.organization_id();
        self.read(async |tx| Ok(sqlx::query_as(sql).bind(org).fetch_all(&mut **tx).await?))
            .await
    }

    /// The row `sql` selects with the organization as `$1` and `id` as `$2`, or `missing`.
    pub(crate) async fn row_by_id<T>(
        &self,
        sql: &'static str,
        id: Uuid,
        missing: Error,
    ) -> Result<T>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let org = self.organization_id();
        self.read(async |tx| one_by_id(tx, sql, org, id, missing).await)
            .await
    }

    /// The row an `UPDATE … RETURNING *` in `sql` changes, with the organization as `$1` and
    /// `id` as `$2`, or `missing`.
    pub(crate) async fn update_by_id<T>(
        &self,
        sql: &'static str,
        id: Uuid,
        missing: Error,
    ) -> Result<T>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let org = self.organization_id();
        self.transaction(async |tx| one_by_id(tx, sql, org, id, missing).await)
            .await
    }

    /// The row an `UPDATE … RETURNING *` in `sql` changes, with the organization as `$1`,
    /// `id` as `$2` and `value` as `$3`, or `missing`.
    pub(crate) async fn set_by_id<'v, T, V>(
        &self,
        sql: &'static str,
        id: Uuid,
        value: V,
        missing: Error,
    ) -> Result<T>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
        V: Encode<'v, Postgres> + Type<Postgres> + Send + 'v,
    {
        let org = self.organization_id();
        self.transaction(async |tx| {
            sqlx::query_as(sql)
                .bind(org)
                .bind(id)
                .bind(value)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(missing)
        })
        .await
    }

    /// Runs the delete (or soft delete) in `sql` with the organization as `$1` and `id` as
    /// `$2`; `missing` when it touched no row.
    pub(crate) async fn delete_by_id(
        &self,
        sql: &'static str,
        id: Uuid,
        missing: Error,
    ) -> Result<()> {
        let org = self.organization_id();
        self.transaction(async |tx| {
            let deleted = sqlx::query(sql)
                .bind(org)
                .bind(id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(missing);
            }
            Ok(())
        })
        .await
    }
}

/// The one row `sql` returns with `org` as `$1` and `id` as `$2`, or `missing`.
async fn one_by_id<T>(
    conn: &mut PgConnection,
    sql: &'static str,
    org: Uuid,
    id: Uuid,
    missing: Error,
) -> Result<T>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    sqlx::query_as(sql)
        .bind(org)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(missing)
}

/// The cursor after the last row of a keyset page, or `None` when the page came back short
/// and so is the last.
pub(crate) fn next_cursor<R, C>(rows: &[R], limit: i64, cursor: impl FnOnce(&R) -> C) -> Option<C> {
    (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(cursor)
}
