//! What many areas share: the by-id statements, so each area supplies only its SQL and the
//! entity its "not found" names, and pagination — the page-size rule and keyset cursors.

use std::borrow::Cow;

use uuid::Uuid;

use crate::db::Tenant;
use crate::error::{Error, Result};
use crate::ops::audit::{self, Entry};
use crate::sql::{query, query_as, FromRow, Param};

// Each of these is one statement, so it runs as a transaction of its own: `BEGIN`,
// entering the tenant, the statement and `COMMIT` in one round trip.
impl Tenant {
    /// Every row `sql` selects with the organization as `$1`.
    pub(crate) async fn rows_of_organization<T: FromRow>(
        &self,
        sql: &'static str,
    ) -> Result<Vec<T>> {
        query_as(sql)
            .bind(self.organization_id())
            .fetch_all(self)
            .await
    }

    /// The row `sql` selects (or an `UPDATE … RETURNING *` in it changes) with the
    /// organization as `$1` and `id` as `$2`, or "`entity` not found".
    pub(crate) async fn row_by_id<T: FromRow>(
        &self,
        sql: &'static str,
        id: Uuid,
        entity: &'static str,
    ) -> Result<T> {
        query_as(sql)
            .bind(self.organization_id())
            .bind(id)
            .fetch_optional(self)
            .await?
            .ok_or(Error::not_found(entity))
    }

    /// The row an `UPDATE … RETURNING *` in `sql` changes, with the organization as `$1`,
    /// `id` as `$2` and `value` as `$3`, or "`entity` not found".
    pub(crate) async fn set_by_id<'v, T: FromRow, V: Param + 'v>(
        &self,
        sql: &'static str,
        id: Uuid,
        value: V,
        entity: &'static str,
    ) -> Result<T> {
        query_as(sql)
            .bind(self.organization_id())
            .bind(id)
            .bind(value)
            .fetch_optional(self)
            .await?
            .ok_or(Error::not_found(entity))
    }

    /// Runs the delete (or soft delete) in `sql` with the organization as `$1` and `id` as
    /// `$2`; "`entity` not found" when it touched no row.
    pub(crate) async fn delete_by_id(
        &self,
        sql: &'static str,
        id: Uuid,
        entity: &'static str,
    ) -> Result<()> {
        let deleted = query(sql)
            .bind(self.organization_id())
            .bind(id)
            .execute(self)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::not_found(entity));
        }
        Ok(())
    }
}

impl Tenant {
    /// As [`Tenant::delete_by_id`], appending `action` on the `entity_type` `id` to the audit
    /// log in the same transaction when a row was deleted.
    pub(crate) async fn delete_audited(
        &self,
        sql: &'static str,
        id: Uuid,
        entity: &'static str,
        action: &'static str,
        entity_type: &'static str,
    ) -> Result<()> {
        let org = self.organization_id();
        self.write(async |tx| {
            let deleted = query(sql)
                .bind(org)
                .bind(id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(Error::not_found(entity));
            }
            audit::record(tx, org, Entry::new(action, entity_type, id));
            Ok(())
        })
        .await
    }
}

/// The largest page any list operation returns.
pub const MAX_PAGE: i64 = 200;

/// `limit` as the size of a page of a list operation: from 1 to [`MAX_PAGE`].
pub(crate) fn page_size(limit: i64) -> Result<i64> {
    limit_up_to(limit, MAX_PAGE)
}

/// `limit` when it is from 1 to `max`. A larger one is refused, not clamped, so the caller
/// learns that it gets fewer rows than it asked for.
pub(crate) fn limit_up_to(limit: i64, max: i64) -> Result<i64> {
    if !(1..=max).contains(&limit) {
        return Err(Error::InvalidInput {
            field: Cow::Borrowed("limit"),
            rule: Cow::Owned(format!("must be between 1 and {max}")),
        });
    }
    Ok(limit)
}

/// The cursor after the last row of a keyset page, or `None` when the page came back short
/// and so is the last.
pub(crate) fn next_cursor<R, C>(rows: &[R], limit: i64, cursor: impl FnOnce(&R) -> C) -> Option<C> {
    (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_one_to_max_page_rows() {
        assert_eq!(page_size(1).unwrap(), 1);
        assert_eq!(page_size(MAX_PAGE).unwrap(), MAX_PAGE);
        for refused in [0, -1, MAX_PAGE + 1] {
            assert_eq!(
                page_size(refused).unwrap_err().to_string(),
                "invalid limit: must be between 1 and 200"
            );
        }
    }

    #[test]
    fn only_a_full_page_has_a_next_cursor() {
        let rows = [1, 2, 3];
        assert_eq!(next_cursor(&rows, 3, |last| *last), Some(3));
        assert_eq!(next_cursor(&rows, 4, |last| *last), None);
        assert_eq!(next_cursor(&[] as &[i32], 3, |last| *last), None);
    }
}
