//! Reverting: all the way down and up again leaves the same schema (the fixture's and the
//! CRM's), step by step, and not past a version without a down file.

use crmdb_migrate::{Error, Migrator, RevertTarget};
use crmdb_schema::catalog::Schema;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::{applied_versions, exists, fast, files, fixture, migrator};

/// The schema of the database at `options`, as the shared catalog model reads it.
async fn schema(options: &PgConnectOptions) -> Schema {
    let mut conn = PgConnection::connect_with(options).await.unwrap();
    Schema::read(&mut conn).await.unwrap()
}

/// Two reads of one database's schema, before and after a round trip, are the same: every
/// difference drift would report is listed, then the rest of the model (owners, settings,
/// the history table) is compared.
fn assert_same(before: &Schema, after: &Schema) {
    let differences = crmdb_inspect::drift::diff(before, after);
    assert!(differences.is_empty(), "{differences:#?}");
    assert!(
        before == after,
        "the schemas differ beyond drift's facts: owners, settings or the history table"
    );
}

#[tokio::test]
async fn apply_revert_all_apply_leaves_the_same_catalog() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(fixture("basic"));
    let options = db.connect_options();
    m.apply(&options, None).await.unwrap();
    let first = schema(&options).await;
    assert!(
        first.tables["contact"]
            .indexes
            .iter()
            .any(|i| i.name == "contact_created"),
        "{first:#?}"
    );

    let reverted = m.revert(&options, RevertTarget::To(0)).await.unwrap();
    let order: Vec<i64> = reverted.reverted.iter().map(|r| r.version).collect();
    assert_eq!(order, [3, 2, 1]);
    assert_eq!(reverted.version_after, None);
    let emptied = schema(&options).await;
    assert!(
        emptied.tables.is_empty() && emptied.views.is_empty() && emptied.functions.is_empty(),
        "{emptied:#?}"
    );

    m.apply(&options, None).await.unwrap();
    assert_same(&first, &schema(&options).await);
}

/// As a managed service's admin login would: `CREATEDB CREATEROLE`, neither SUPERUSER nor
/// BYPASSRLS, owner of the database.
#[tokio::test]
async fn the_crm_schema_applies_reverts_and_applies_to_the_same_catalog() {
    let db = crmdb_testkit::empty_db().await;
    let m = Migrator::new(crmdb_schema::migrations().unwrap(), fast());
    let options = db.connect_options();
    let attributes: (bool, bool, bool, bool, bool) = sqlx::query_as(
        "SELECT r.rolsuper, r.rolbypassrls, r.rolcreatedb, r.rolcreaterole, \
                d.datdba = r.oid \
         FROM pg_roles AS r, pg_database AS d \
         WHERE r.rolname = current_user AND d.datname = current_database()",
    )
    .fetch_one(&mut db.connect().await)
    .await
    .unwrap();
    assert_eq!(attributes, (false, false, true, true, true));
    crmdb_schema::roles::prepare_database(&options)
        .await
        .unwrap();
    m.apply(&options, None).await.unwrap();
    let first = schema(&options).await;
    m.revert(&options, RevertTarget::To(0)).await.unwrap();
    m.apply(&options, None).await.unwrap();
    assert_same(&first, &schema(&options).await);
}

#[tokio::test]
async fn revert_steps_and_refusal_without_down_file() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let m = migrator(fixture("basic"));
    m.apply(&options, None).await.unwrap();
    let report = m.revert(&options, RevertTarget::Steps(1)).await.unwrap();
    assert_eq!(report.reverted.len(), 1);
    assert_eq!(report.version_after, Some(2));
    assert!(!exists(&mut db.connect().await, "contact_email").await);

    let without_down = files(&[
        ("0001_a.up.sql", "CREATE TABLE a (x int);"),
        ("0001_a.down.sql", "DROP TABLE a;"),
        ("0002_b.up.sql", "CREATE TABLE b (x int);"),
    ]);
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let m = migrator(without_down);
    m.apply(&options, None).await.unwrap();
    let e = m.revert(&options, RevertTarget::To(0)).await.unwrap_err();
    assert!(matches!(e, Error::NoDownFile(ref v) if v == &[2]), "{e}");
    assert_eq!(applied_versions(&db).await, [1, 2], "nothing was reverted");
}
