//! The schema's triggers: `updated_at` follows every update of every table that has it, a
//! stage move of a lead writes exactly one history row (and nothing else does), and the
//! audit log refuses UPDATE and DELETE.

use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

use super::{assert_none, catalog_tables, insert_graph, q, Rejection};

#[tokio::test]
async fn updated_at_moves_on_every_update() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    insert_graph(&mut conn, "a").await;
    let names: Vec<String> = catalog_tables(&mut conn)
        .await
        .into_iter()
        .map(|t| t.name)
        .collect();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT attrelid::regclass::text FROM pg_attribute
         WHERE attname = 'updated_at' AND NOT attisdropped AND attrelid::regclass::text = ANY($1)
         ORDER BY 1",
    )
    .bind(&names)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        tables.len() >= 30,
        "{} tables with updated_at",
        tables.len()
    );
    // The graph was written in earlier transactions, so now() of this one is later; the
    // stale value assigned here must be overwritten by the trigger, not kept.
    let mut tx = conn.begin().await.unwrap();
    let mut failures = Vec::new();
    for table in &tables {
        let t = q(table);
        let before: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar(&format!("SELECT updated_at FROM {t}"))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        sqlx::raw_sql(&format!("UPDATE {t} SET updated_at = '2000-01-01'"))
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("updating {table}: {}", Rejection::of(&e)));
        let row = sqlx::query(&format!("SELECT updated_at, now() FROM {t}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let (after, now): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
            (row.get(0), row.get(1));
        if after != now || after <= before {
            failures.push(format!("{table}: {before} -> {after}, now() {now}"));
        }
    }
    assert_none("tables whose updated_at did not move", &failures);
}

async fn history_rows(conn: &mut PgConnection, lead: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM lead_stage_history WHERE lead_id = $1")
        .bind(lead)
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn moving_a_lead_to_another_stage_writes_one_history_row() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    let a = insert_graph(&mut conn, "a").await;
    let next = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO pipeline_stages (organization_id, id, pipeline_id, name, stage_order)
         VALUES ($1, $2, $3, 'Contato', 2)",
    )
    .bind(a.org)
    .bind(next)
    .bind(a.pipeline)
    .execute(&mut conn)
    .await
    .unwrap();
    let before = history_rows(&mut conn, a.lead).await;

    // As the application: the trigger runs as the caller, so its insert has to pass the
    // same row-level security as the lead update.
    let mut tx = conn.begin().await.unwrap();
    sqlx::query(
        "SELECT set_config('role', 'crm_app', true),
                set_config('app.current_organization_id', $1, true),
                set_config('app.current_user_id', $2, true)",
    )
    .bind(a.org.to_string())
    .bind(a.user.to_string())
    .execute(&mut *tx)
    .await
    .unwrap();
    let moved = sqlx::query("UPDATE leads SET stage_id = $1 WHERE id = $2")
        .bind(next)
        .bind(a.lead)
        .execute(&mut *tx)
        .await
        .map_err(|e| Rejection::of(&e).to_string())
        .map(|r| r.rows_affected());
    assert_eq!(moved, Ok(1));
    let history = sqlx::query(
        "SELECT h.from_stage_id, h.to_stage_id, h.changed_by, h.changed_at = now(),
                l.stage_changed_at = now()
         FROM lead_stage_history AS h
         JOIN leads AS l ON l.organization_id = h.organization_id AND l.id = h.lead_id
         WHERE h.lead_id = $1 AND h.to_stage_id = $2",
    )
    .bind(a.lead)
    .bind(next)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(history.len(), 1, "one history row for the move");
    let row = &history[0];
    assert_eq!(
        row.get::<Option<Uuid>, _>(0),
        Some(a.stage),
        "from_stage_id"
    );
    assert_eq!(row.get::<Option<Uuid>, _>(2), Some(a.user), "changed_by");
    assert!(row.get::<bool, _>(3), "changed_at is the time of the move");
    assert!(
        row.get::<bool, _>(4),
        "the lead's stage_changed_at is stamped"
    );

    // Neither an update of other columns nor a "move" to the same stage is a stage change.
    for sql in [
        "UPDATE leads SET lead_score = lead_score + 1 WHERE id = $1",
        "UPDATE leads SET stage_id = stage_id WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(a.lead)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(history_rows(&mut conn, a.lead).await, before + 1);
}

#[tokio::test]
async fn audit_logs_refuse_update_and_delete() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    insert_graph(&mut conn, "a").await;
    let b = insert_graph(&mut conn, "b").await;
    let statements = [
        "UPDATE audit_logs SET action = 'lead.rewritten'",
        "DELETE FROM audit_logs",
    ];
    // The owner (here a superuser, whom no privilege stops) is refused by the trigger.
    for sql in statements {
        let refused = sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .map_err(|e| Rejection::of(&e));
        match refused {
            Err(r)
                if r.sqlstate.as_deref() == Some(crmdb_pg::sqlstate::INSUFFICIENT_PRIVILEGE)
                    && r.message.contains("append-only") => {}
            other => panic!("{sql} as the owner: {other:?}"),
        }
    }
    // The application has no UPDATE or DELETE privilege on it at all.
    for sql in statements {
        let mut tx = conn.begin().await.unwrap();
        sqlx::query(
            "SELECT set_config('role', 'crm_app', true),
                    set_config('app.current_organization_id', $1, true)",
        )
        .bind(b.org.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
        let refused = sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| Rejection::of(&e));
        match refused {
            Err(r) if r.sqlstate.as_deref() == Some(crmdb_pg::sqlstate::INSUFFICIENT_PRIVILEGE) => {
            }
            other => panic!("{sql} as crm_app: {other:?}"),
        }
        tx.rollback().await.unwrap();
    }
    let unchanged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE action = 'organization.created'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        unchanged, 2,
        "both organizations' entries are still there, unchanged"
    );
}
