//! Row-level security as the application sees it: `crm_app` with organization A set sees
//! none of B's rows in any tenant table and cannot write a row into B; with no
//! organization set (never set, or reset to '' by a pool) it sees nothing, without error.

use sqlx::{PgConnection, Row};

use super::{assert_none, begin, catalog_tables, insert_graph, probe, q, q_list, Graph};

/// Each tenant table with its columns in order.
async fn tenant_tables(conn: &mut PgConnection) -> Vec<(String, Vec<String>)> {
    let mut tables = Vec::new();
    for table in catalog_tables(conn).await.into_iter().filter(|t| t.tenant) {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT attname::text FROM pg_attribute
             WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        )
        .bind(q(&table.name))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        tables.push((table.name, columns));
    }
    assert_eq!(tables.len(), 32, "the catalog's tenant tables");
    tables
}

/// Enters the application's role for the rest of the open transaction, as the data layer
/// does: role and organization per transaction, never per session.
async fn as_app(conn: &mut PgConnection, organization: Option<&str>) {
    sqlx::raw_sql("SET LOCAL ROLE crm_app")
        .execute(&mut *conn)
        .await
        .unwrap();
    if let Some(org) = organization {
        sqlx::query("SELECT set_config('app.current_organization_id', $1, true)")
            .bind(org)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
}

async fn two_organizations() -> (crmdb_testkit::TestDb, PgConnection, Graph, Graph) {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    let a = insert_graph(&mut conn, "a").await;
    let b = insert_graph(&mut conn, "b").await;
    (db, conn, a, b)
}

#[tokio::test]
async fn organization_a_sees_none_of_bs_rows() {
    let (_db, mut conn, a, b) = two_organizations().await;
    let tables = tenant_tables(&mut conn).await;
    begin(&mut conn).await;
    as_app(&mut conn, Some(&a.org.to_string())).await;
    let mut failures = Vec::new();
    for (table, _) in &tables {
        let row = sqlx::query(&format!(
            "SELECT count(*) FILTER (WHERE organization_id = $1),
                    count(*) FILTER (WHERE organization_id = $2), count(*) FROM {}",
            q(table)
        ))
        .bind(a.org)
        .bind(b.org)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let seen: (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        // A's own row is visible: the policy is not simply refusing everything.
        if seen != (1, 0, 1) {
            failures.push(format!(
                "{table}: (A, B, all) = {seen:?}, expected (1, 0, 1)"
            ));
        }
    }
    assert_none("tenant tables leaking across organizations", &failures);
}

#[tokio::test]
async fn organization_a_cannot_write_into_b() {
    let (_db, mut conn, a, b) = two_organizations().await;
    let tables = tenant_tables(&mut conn).await;
    begin(&mut conn).await;
    as_app(&mut conn, Some(&a.org.to_string())).await;
    let mut failures = Vec::new();
    for (table, columns) in &tables {
        let t = q(table);
        // A copy of A's row (the only one visible) filed under B.
        let others: Vec<String> = columns
            .iter()
            .filter(|c| *c != "organization_id")
            .cloned()
            .collect();
        let insert = format!(
            "INSERT INTO {t} (organization_id, {cols}) SELECT '{b}', {cols} FROM {t}",
            cols = q_list(&others),
            b = b.org
        );
        let moved = format!("UPDATE {t} SET organization_id = '{}'", b.org);
        for (what, sql) in [("insert into B", insert), ("move A's row into B", moved)] {
            match probe(&mut conn, &[], &sql).await {
                Err(r)
                    if r.sqlstate.as_deref()
                        == Some(crmdb_pg::sqlstate::INSUFFICIENT_PRIVILEGE) => {}
                other => failures.push(format!("{table}: {what}: {other:?}")),
            }
        }
        // B's rows are out of reach: zero rows touched, or no privilege at all
        // (audit_logs is append-only for the application).
        let touch_b = [
            (
                "UPDATE",
                format!(
                    "UPDATE {t} SET organization_id = organization_id WHERE organization_id = '{}'",
                    b.org
                ),
            ),
            (
                "DELETE",
                format!("DELETE FROM {t} WHERE organization_id = '{}'", b.org),
            ),
        ];
        for (privilege, sql) in touch_b {
            let granted: bool = sqlx::query_scalar("SELECT has_table_privilege('crm_app', $1, $2)")
                .bind(&t)
                .bind(privilege)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            match (granted, probe(&mut conn, &[], &sql).await) {
                (true, Ok(0)) => {}
                (false, Err(r))
                    if r.sqlstate.as_deref()
                        == Some(crmdb_pg::sqlstate::INSUFFICIENT_PRIVILEGE) => {}
                (_, other) => failures.push(format!("{table}: {privilege} of B's rows: {other:?}")),
            }
        }
    }
    assert_none("ways organization A wrote into B", &failures);
}

#[tokio::test]
async fn without_an_organization_nothing_is_visible_and_nothing_fails() {
    let (_db, mut conn, _a, _b) = two_organizations().await;
    let tables = tenant_tables(&mut conn).await;
    let mut failures = Vec::new();
    // Never set in this session (current_setting is NULL), then reset to '' as a pooled
    // connection is after a transaction that set it: both mean "no rows", not an error.
    for setting in [None, Some("")] {
        begin(&mut conn).await;
        as_app(&mut conn, setting).await;
        for (table, _) in &tables {
            let seen = sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {}", q(table)))
                .fetch_one(&mut conn)
                .await;
            match seen {
                Ok(0) => {}
                other => failures.push(format!(
                    "{table} with the organization {setting:?}: {:?}",
                    other.map_err(|e| super::Rejection::of(&e))
                )),
            }
        }
        sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
    }
    assert_none("tenant tables visible without an organization", &failures);
}

/// The SECURITY DEFINER lead search bypasses RLS to use its trigram index, so its own
/// organization check is all that keeps B's leads from A.
#[tokio::test]
async fn lead_search_only_searches_the_organization_that_is_set() {
    let (_db, mut conn, a, b) = two_organizations().await;
    begin(&mut conn).await;
    as_app(&mut conn, Some(&a.org.to_string())).await;
    let search = "SELECT count(*) FROM search_leads($1, 'silva', 20)";
    let own: i64 = sqlx::query_scalar(search)
        .bind(a.org)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let other: i64 = sqlx::query_scalar(search)
        .bind(b.org)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        (own, other),
        (1, 0),
        "(A's leads found, B's leads found) as A"
    );
}
