//! `ON DELETE SET NULL (col)` nulls only the named columns: a child row that outlives its
//! parent keeps its `organization_id` (a plain SET NULL would null it too, and the row
//! would fail NOT NULL or drop out of its organization).

use sqlx::{PgConnection, Row};

use super::{assert_none, begin, insert_graph, q, q_list, Graph, Rejection};

#[tokio::test]
async fn deleting_a_lead_keeps_its_template_usage_and_analytics_events() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    let a = insert_graph(&mut conn, "a").await;
    let b = insert_graph(&mut conn, "b").await;
    sqlx::query("DELETE FROM leads WHERE organization_id = $1 AND id = $2")
        .bind(a.org)
        .bind(a.lead)
        .execute(&mut conn)
        .await
        .unwrap();
    for table in [
        "template_usage_stats",
        "analytics_events",
        "calendar_events",
    ] {
        let rows: Vec<(uuid::Uuid, Option<uuid::Uuid>)> = sqlx::query_as(&format!(
            "SELECT organization_id, lead_id FROM {} WHERE organization_id <> $1 ORDER BY 1",
            q(table)
        ))
        .bind(b.org)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            rows,
            [(a.org, None)],
            "{table}: A's row stays in A, without its lead"
        );
        let of_b: Option<uuid::Uuid> = sqlx::query_scalar(&format!(
            "SELECT lead_id FROM {} WHERE organization_id = $1",
            q(table)
        ))
        .bind(b.org)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(of_b, Some(b.lead), "{table}: B's row is untouched");
    }
}

/// Makes the parent of the graph's child row deletable, where something else holds it.
async fn prepare(conn: &mut PgConnection, parent: &str, a: &Graph) {
    let sql = match parent {
        // A stage that still holds a lead cannot go (fk_leads_pipeline_stages is NO
        // ACTION): move the lead to a new stage first (the move adds a history row from
        // the old stage, which must be nulled as well).
        "pipeline_stages" => format!(
            "INSERT INTO pipeline_stages (organization_id, id, pipeline_id, name, stage_order)
             VALUES ('{o}', gen_random_uuid(), '{p}', 'Contato', 2);
             UPDATE leads SET stage_id = (SELECT id FROM pipeline_stages
                                          WHERE organization_id = '{o}' AND stage_order = 2)
             WHERE organization_id = '{o}'",
            o = a.org,
            p = a.pipeline
        ),
        // The graph's member invited nobody: add one they invited.
        "organization_members" => format!(
            "INSERT INTO users (id, email, full_name) VALUES (gen_random_uuid(), 'invited@example.com', 'Convidada');
             INSERT INTO organization_members (organization_id, user_id, invited_by)
             SELECT '{o}', id, '{u}' FROM users WHERE email = 'invited@example.com'",
            o = a.org,
            u = a.user
        ),
        _ => return,
    };
    sqlx::raw_sql(&sql).execute(conn).await.unwrap();
}

/// Every `SET NULL`/`SET DEFAULT` foreign key, from the catalog: it names its columns, they
/// leave organization_id out, and deleting the parent of the graph's child row nulls
/// exactly them while the child stays in its organization.
#[tokio::test]
async fn every_set_null_key_keeps_the_organization_of_the_child() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    let a = insert_graph(&mut conn, "a").await;
    insert_graph(&mut conn, "b").await;
    let keys = sqlx::query(
        "SELECT k.conname::text, k.conrelid::regclass::text, k.confrelid::regclass::text,
                array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS c (n, i)
                      JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = c.n
                      ORDER BY c.i),
                array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS c (n, i)
                      JOIN pg_attribute AS a ON a.attrelid = k.confrelid AND a.attnum = c.n
                      ORDER BY c.i),
                array(SELECT a.attname::text FROM unnest(k.confdelsetcols) AS c (n)
                      JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = c.n),
                array(SELECT a.attname::text FROM pg_constraint AS p
                      JOIN unnest(p.conkey) WITH ORDINALITY AS c (n, i) ON true
                      JOIN pg_attribute AS a ON a.attrelid = p.conrelid AND a.attnum = c.n
                      WHERE p.conrelid = k.conrelid AND p.contype = 'p' ORDER BY c.i)
         FROM pg_constraint AS k
         WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
           AND k.confdeltype IN ('n', 'd')
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(keys.len() >= 15, "{} SET NULL keys", keys.len());

    begin(&mut conn).await;
    let mut failures = Vec::new();
    for key in &keys {
        let (name, child, parent): (String, String, String) = (key.get(0), key.get(1), key.get(2));
        let (columns, parent_columns, nulled, pk): (
            Vec<String>,
            Vec<String>,
            Vec<String>,
            Vec<String>,
        ) = (key.get(3), key.get(4), key.get(5), key.get(6));
        if nulled.is_empty() || nulled.iter().any(|c| c == "organization_id") {
            failures.push(format!(
                "{name}: SET NULL of {nulled:?}, must name its columns and not organization_id"
            ));
            continue;
        }
        sqlx::raw_sql("SAVEPOINT probe")
            .execute(&mut conn)
            .await
            .unwrap();
        prepare(&mut conn, &parent, &a).await;
        let not_null: Vec<String> = nulled
            .iter()
            .map(|c| format!("{} IS NOT NULL", q(c)))
            .collect();
        // The oldest child row of A that has a parent (the graph's), its parent's key, and
        // every child row pointing at that parent.
        let parent_key: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT unnest(ARRAY[{cols}]::text[]) FROM (
                 SELECT {cols} FROM {child} WHERE organization_id = $1 AND {not_null}
                 ORDER BY created_at LIMIT 1) AS c",
            cols = q_list(&columns),
            child = q(&child),
            not_null = not_null.join(" AND "),
        ))
        .bind(a.org)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        if parent_key.is_empty() {
            failures.push(format!(
                "{name}: the graph has no {child} row with a parent"
            ));
            sqlx::raw_sql("ROLLBACK TO SAVEPOINT probe")
                .execute(&mut conn)
                .await
                .unwrap();
            continue;
        }
        let literal = |values: &[String]| {
            values
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let children: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT row({pk})::text FROM {child} WHERE ({cols}) = ROW({key})",
            pk = q_list(&pk),
            child = q(&child),
            cols = q_list(&columns),
            key = literal(&parent_key),
        ))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let delete = format!(
            "DELETE FROM {} WHERE ({}) = ROW({})",
            q(&parent),
            q_list(&parent_columns),
            literal(&parent_key)
        );
        match sqlx::raw_sql(&delete).execute(&mut conn).await {
            Ok(r) if r.rows_affected() == 1 => {
                for row in &children {
                    let after: Option<(uuid::Uuid, bool)> = sqlx::query_as(&format!(
                        "SELECT organization_id, {nulls} FROM {child} WHERE row({pk})::text = $1",
                        nulls = nulled
                            .iter()
                            .map(|c| format!("{} IS NULL", q(c)))
                            .collect::<Vec<_>>()
                            .join(" AND "),
                        child = q(&child),
                        pk = q_list(&pk),
                    ))
                    .bind(row)
                    .fetch_optional(&mut conn)
                    .await
                    .unwrap();
                    if after != Some((a.org, true)) {
                        failures.push(format!("{name}: child {row} after the delete: {after:?}"));
                    }
                }
                if children.is_empty() {
                    failures.push(format!("{name}: no child row to watch"));
                }
            }
            other => failures.push(format!(
                "{name}: deleting the parent: {:?}",
                other
                    .map(|r| r.rows_affected())
                    .map_err(|e| Rejection::of(&e))
            )),
        }
        sqlx::raw_sql("ROLLBACK TO SAVEPOINT probe")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert_none("SET NULL keys that lost a child's organization", &failures);
}
