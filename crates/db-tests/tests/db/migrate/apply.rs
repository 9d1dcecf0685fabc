//! Applying: a fresh database to the latest version and again as a no-op, or to a given
//! version and then the rest.

use crmdb_migrate::State;

use super::{applied_versions, exists, fixture, migrator};

#[tokio::test]
async fn fresh_apply_then_a_second_apply_is_a_no_op() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(fixture("basic"));
    let report = m.apply(&db.connect_options(), None).await.unwrap();
    let versions: Vec<i64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert!(!report.up_to_date);
    assert_eq!(report.version_before, None);
    assert_eq!(report.version_after, Some(3));
    assert!(report.applied[0].transactional && !report.applied[2].transactional);

    let mut conn = db.connect().await;
    assert!(exists(&mut conn, "contact_email").await);
    let label: String = sqlx::query_scalar(
        "INSERT INTO account (name) VALUES ('Ada') RETURNING account_label(account)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(label, "Ada's; account");
    let row: (bool, i32, i32, String, String) = sqlx::query_as(
        "SELECT finished, statements_done, statements_total, checksum_algorithm, applied_by
         FROM crmdb_schema_history WHERE version = 3",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        (row.0, row.1, row.2, row.3.as_str()),
        (true, 3, 3, "sha256-lf")
    );
    assert!(!row.4.is_empty());

    let again = m.apply(&db.connect_options(), None).await.unwrap();
    assert!(again.up_to_date && again.applied.is_empty());
    assert_eq!(again.version_after, Some(3));
    let status = m.status(&db.connect_options()).await.unwrap();
    assert!(
        status.iter().all(|s| s.state == State::Applied),
        "{status:?}"
    );
    assert!(m.verify(&db.connect_options()).await.unwrap().ok);
}

#[tokio::test]
async fn apply_to_a_version_then_the_rest() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(fixture("basic"));
    let report = m.apply(&db.connect_options(), Some(2)).await.unwrap();
    assert_eq!(report.version_after, Some(2));
    let plan = m.plan(&db.connect_options(), None).await.unwrap();
    assert_eq!(plan.version_before, Some(2));
    assert_eq!(plan.migrations.len(), 1);
    assert!(!plan.migrations[0].transactional);
    let lines: Vec<u32> = plan.migrations[0]
        .statements
        .iter()
        .map(|s| s.line)
        .collect();
    assert_eq!(
        lines,
        [5, 6, 7],
        "statement lines count the BOM-prefixed header"
    );
    m.apply(&db.connect_options(), None).await.unwrap();
    assert_eq!(applied_versions(&db).await, [1, 2, 3]);
}
