//! Offboarding: deleting an organization that has rows in every tenant table removes all of
//! them — the append-only audit log, stage history and analytics events included — and
//! leaves every row of every other organization, and every global row, exactly as it was.

use std::collections::BTreeMap;

use sqlx::PgConnection;
use uuid::Uuid;

use super::{assert_none, catalog_tables, insert_graph, q};

/// (rows, digest of their full text) of `table` matching `filter`.
async fn snapshot(conn: &mut PgConnection, table: &str, filter: &str) -> (i64, String) {
    sqlx::query_as(&format!(
        "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))
         FROM {} AS t WHERE {filter}",
        q(table)
    ))
    .fetch_one(conn)
    .await
    .unwrap()
}

/// The filter that selects an organization's rows of `table`, None for a global table
/// without an organization column.
async fn organization_filter(conn: &mut PgConnection, table: &str, org: Uuid) -> Option<String> {
    if table == "organizations" {
        return Some(format!("id = '{org}'"));
    }
    let has: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM pg_attribute
                        WHERE attrelid = $1::regclass AND attname = 'organization_id')",
    )
    .bind(q(table))
    .fetch_one(conn)
    .await
    .unwrap();
    has.then(|| format!("organization_id = '{org}'"))
}

#[tokio::test]
async fn deleting_an_organization_removes_all_of_it_and_nothing_else() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    let a = insert_graph(&mut conn, "a").await;
    let b = insert_graph(&mut conn, "b").await;
    let tables = catalog_tables(&mut conn).await;

    let mut kept = BTreeMap::new();
    let mut failures = Vec::new();
    for table in &tables {
        match organization_filter(&mut conn, &table.name, a.org).await {
            Some(of_a) => {
                let (rows, _) = snapshot(&mut conn, &table.name, &of_a).await;
                if rows == 0 {
                    failures.push(format!("{}: A has no row to offboard", table.name));
                }
                let of_b = organization_filter(&mut conn, &table.name, b.org)
                    .await
                    .unwrap();
                kept.insert(
                    table.name.clone(),
                    (of_b.clone(), snapshot(&mut conn, &table.name, &of_b).await),
                );
            }
            None => {
                assert!(
                    !table.tenant,
                    "{}: a tenant table has organization_id",
                    table.name
                );
                kept.insert(
                    table.name.clone(),
                    (
                        "true".to_owned(),
                        snapshot(&mut conn, &table.name, "true").await,
                    ),
                );
            }
        }
    }
    assert_none("tables the offboarding would not exercise", &failures);
    for append_only in ["audit_logs", "lead_stage_history", "analytics_events"] {
        assert!(
            kept.contains_key(append_only),
            "{append_only} is in the catalog"
        );
    }

    // As the platform does it: one DELETE, everything else by ON DELETE CASCADE.
    let deleted = sqlx::query("DELETE FROM organizations WHERE id = $1")
        .bind(a.org)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("offboarding A: {}", super::Rejection::of(&e)));
    assert_eq!(deleted.rows_affected(), 1);

    for table in &tables {
        if let Some(of_a) = organization_filter(&mut conn, &table.name, a.org).await {
            let (left, _) = snapshot(&mut conn, &table.name, &of_a).await;
            if left != 0 {
                failures.push(format!("{}: {left} rows of A left", table.name));
            }
        }
        let (filter, before) = &kept[&table.name];
        let after = snapshot(&mut conn, &table.name, filter).await;
        if &after != before {
            failures.push(format!(
                "{}: rows of B or global rows changed: {before:?} -> {after:?}",
                table.name
            ));
        }
    }
    assert_none("offboarding mistakes", &failures);
}
