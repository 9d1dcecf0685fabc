//! Composite tenant keys: for every foreign key that carries `organization_id` plus other
//! columns, a row of organization A made to point at organization B's row is refused —
//! first with every constraint and trigger in place, then with only that key's own checks
//! on, which must then name it.

use sqlx::Row;

use super::{assert_none, begin, insert_graph, probe, q, q_list};

#[tokio::test]
async fn a_row_of_one_organization_cannot_point_at_another_organizations_row() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    let a = insert_graph(&mut conn, "a").await;
    let b = insert_graph(&mut conn, "b").await;
    // (table, key, referencing columns, referenced table, referenced columns, key's
    // triggers on the table), organization_id left out of both column lists.
    let keys = sqlx::query(
        "SELECT k.conrelid::regclass::text, k.conname::text,
                array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS c (n, i)
                      JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = c.n
                      WHERE a.attname <> 'organization_id' ORDER BY c.i),
                k.confrelid::regclass::text,
                array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS c (n, i)
                      JOIN pg_attribute AS a ON a.attrelid = k.confrelid AND a.attnum = c.n
                      WHERE a.attname <> 'organization_id' ORDER BY c.i),
                array(SELECT t.tgname::text FROM pg_trigger AS t
                      WHERE t.tgconstraint = k.oid AND t.tgrelid = k.conrelid)
         FROM pg_constraint AS k
         WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
           AND cardinality(k.conkey) > 1
           AND EXISTS (SELECT FROM pg_attribute AS a
                       WHERE a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)
                         AND a.attname = 'organization_id')
         ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(keys.len() >= 30, "{} composite tenant keys", keys.len());

    begin(&mut conn).await;
    let mut failures = Vec::new();
    for key in &keys {
        let (table, name, columns, target, target_columns, triggers): (
            String,
            String,
            Vec<String>,
            String,
            Vec<String>,
            Vec<String>,
        ) = (
            key.get(0),
            key.get(1),
            key.get(2),
            key.get(3),
            key.get(4),
            key.get(5),
        );
        assert_eq!(columns.len(), target_columns.len(), "{name}");
        // Organization A's row now names B's row in the same columns. Each graph holds one
        // row per table, so the sub-select is B's only row of the target.
        let update = format!(
            "UPDATE {table} SET ({cols}) = (SELECT {tcols} FROM {target} WHERE organization_id = '{b}') \
             WHERE organization_id = '{a}'",
            table = q(&table),
            cols = q_list(&columns),
            tcols = q_list(&target_columns),
            target = q(&target),
            a = a.org,
            b = b.org,
        );
        match probe(&mut conn, &[], &update).await {
            Err(r) if r.sqlstate.as_deref() == Some(crmdb_pg::sqlstate::FOREIGN_KEY_VIOLATION) => {}
            other => failures.push(format!("{table} {name}, all checks on: {other:?}")),
        }
        let mut isolate = vec![format!("ALTER TABLE {} DISABLE TRIGGER ALL", q(&table))];
        isolate.extend(
            triggers
                .iter()
                .map(|t| format!("ALTER TABLE {} ENABLE TRIGGER {}", q(&table), q(t))),
        );
        match probe(&mut conn, &isolate, &update).await {
            Err(r)
                if r.sqlstate.as_deref() == Some(crmdb_pg::sqlstate::FOREIGN_KEY_VIOLATION)
                    && r.constraint.as_deref() == Some(name.as_str()) => {}
            other => failures.push(format!("{table} {name}, alone: {other:?}")),
        }
    }
    assert_none(
        "composite tenant keys that let a row point at another organization",
        &failures,
    );
}
