//! `crmdb docs`: generation is deterministic, `--check` catches a stale, missing or extra
//! page, and the committed `docs/schema/` is current.

use std::path::Path;

use crmdb_inspect::docs::{self, Files};
use crmdb_schema::catalog::Schema;

async fn schema(db: &crmdb_testkit::TestDb) -> Schema {
    let mut conn = db.connect().await;
    Schema::read(&mut conn).await.unwrap()
}

fn render(schema: &Schema) -> Files {
    let migrations = crmdb_schema::migrations().unwrap();
    let domains = docs::domains(&migrations, schema);
    docs::render(schema, &domains, false).unwrap()
}

#[tokio::test]
async fn generation_is_deterministic() {
    let first = render(&schema(&crmdb_testkit::migrated_db().await).await);
    let second = render(&schema(&crmdb_testkit::migrated_db().await).await);
    assert_eq!(first, second);
    assert!(first.contains_key("README.md"));
    assert!(first.contains_key("er.md"));
    assert!(first.contains_key("tables/leads.md"));
    assert!(first.contains_key("domains/crm_core.md"));
    let dir = tempfile::tempdir().unwrap();
    docs::write(dir.path(), &first, false).unwrap();
    let written = std::fs::read(dir.path().join("tables/leads.md")).unwrap();
    assert_eq!(written, first["tables/leads.md"].as_bytes());
}

#[tokio::test]
async fn a_column_page_shows_its_personal_data_class_apart_from_its_comment() {
    let files = render(&schema(&crmdb_testkit::migrated_db().await).await);
    let leads = &files["tables/leads.md"];
    assert!(leads.contains("| column | type | null | default | personal data | comment |"));
    assert!(
        leads.contains("| email | `text` | null |  | contact |  |"),
        "{leads}"
    );
    let users = &files["tables/users.md"];
    assert!(
        users.contains(
            "| phone | `text` | null |  | contact | E.164 phone number (+5511999999999). |"
        ),
        "{users}"
    );
}

#[tokio::test]
async fn check_catches_a_stale_missing_or_extra_page() {
    let files = render(&schema(&crmdb_testkit::migrated_db().await).await);
    let dir = tempfile::tempdir().unwrap();
    docs::write(dir.path(), &files, false).unwrap();
    assert_eq!(docs::stale(dir.path(), &files, false), Vec::<String>::new());

    std::fs::write(dir.path().join("tables/leads.md"), "edited by hand\n").unwrap();
    std::fs::remove_file(dir.path().join("tables/tags.md")).unwrap();
    std::fs::write(dir.path().join("tables/dropped_table.md"), "gone\n").unwrap();
    assert_eq!(
        docs::stale(dir.path(), &files, false),
        [
            "tables/dropped_table.md",
            "tables/leads.md",
            "tables/tags.md"
        ]
    );

    docs::write(dir.path(), &files, false).unwrap();
    assert_eq!(docs::stale(dir.path(), &files, false), Vec::<String>::new());
}

#[tokio::test]
async fn a_schema_change_makes_the_docs_stale() {
    let db = crmdb_testkit::migrated_db().await;
    let before = render(&schema(&db).await);
    let dir = tempfile::tempdir().unwrap();
    docs::write(dir.path(), &before, false).unwrap();
    let mut conn = db.connect().await;
    sqlx::raw_sql("COMMENT ON COLUMN tags.color IS 'Hex colour of the tag.'")
        .execute(&mut conn)
        .await
        .unwrap();
    let after = render(&schema(&db).await);
    assert_eq!(docs::stale(dir.path(), &after, false), ["tables/tags.md"]);
}

#[tokio::test]
async fn the_committed_docs_are_current() {
    let files = render(&schema(&crmdb_testkit::migrated_db().await).await);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema");
    let stale = docs::stale(&committed, &files, false);
    assert!(
        stale.is_empty(),
        "run `crmdb docs` and commit: stale {stale:?}"
    );
}
