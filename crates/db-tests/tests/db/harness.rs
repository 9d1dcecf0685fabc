//! The harness itself: clones are independent, migrated, and dropped after a passing test.

use sqlx::Row;

#[tokio::test]
async fn each_test_gets_its_own_migrated_database() {
    let a = crmdb_testkit::migrated_db().await;
    let b = crmdb_testkit::migrated_db().await;
    assert_ne!(a.name(), b.name());
    let mut conn = a.connect().await;
    sqlx::raw_sql("CREATE TABLE only_in_a (x int)")
        .execute(&mut conn)
        .await
        .unwrap();
    let mut other = b.connect().await;
    let seen: Option<String> = sqlx::query_scalar("SELECT to_regclass('only_in_a')::text")
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert_eq!(seen, None, "a clone does not see another clone's changes");
    let applied: i64 = sqlx::query("SELECT count(*) FROM crmdb_schema_history")
        .fetch_one(&mut other)
        .await
        .unwrap()
        .get(0);
    let expected = crmdb_schema::migrations().unwrap().iter().count() as i64;
    assert_eq!(
        applied, expected,
        "every migration is applied in the template"
    );
}

#[tokio::test]
async fn a_passing_test_drops_its_database() {
    let name = {
        let db = crmdb_testkit::empty_db().await;
        db.name().to_owned()
    };
    let mut admin = {
        use sqlx::Connection;
        sqlx::PgConnection::connect_with(&crmdb_testkit::admin_options())
            .await
            .unwrap()
    };
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert!(!exists, "{name} was dropped");
}
