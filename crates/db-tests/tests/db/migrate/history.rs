//! The recorded history against the files: edited, missing and out-of-order files, adopting
//! an existing database by baseline, and a status that creates nothing.

use crmdb_migrate::{Error, Migrator, Options, State};

use super::{applied_versions, exists, fast, files, fixture, migrator, states};

#[tokio::test]
async fn edited_files_are_reported_but_line_end_changes_are_not() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let original = "CREATE TABLE t (a int);\nCREATE TABLE u (a int);\n";
    migrator(files(&[("0001_t.up.sql", original)]))
        .apply(&options, None)
        .await
        .unwrap();

    let crlf = original.replace('\n', "\r\n");
    let bom = format!("\u{feff}{crlf}");
    let same = migrator(files(&[("0001_t.up.sql", &bom)]));
    assert_eq!(
        states(&same.status(&options).await.unwrap()),
        [(1, State::Applied)]
    );
    assert!(same.verify(&options).await.unwrap().ok);
    assert!(same.apply(&options, None).await.unwrap().up_to_date);

    let edited = migrator(files(&[(
        "0001_t.up.sql",
        "CREATE TABLE t (a int);\nCREATE TABLE u (a bigint);\n",
    )]));
    assert_eq!(
        states(&edited.status(&options).await.unwrap()),
        [(1, State::Changed)]
    );
    let verify = edited.verify(&options).await.unwrap();
    assert!(!verify.ok);
    assert_eq!(verify.changed.len(), 1);
    let e = edited.apply(&options, None).await.unwrap_err();
    assert!(matches!(e, Error::Changed(_)), "{e}");
    assert!(e.to_string().contains("0001_t.up.sql"), "{e}");

    let repaired = edited.repair(&options, 1).await.unwrap();
    assert!(repaired.changed);
    let status = edited.status(&options).await.unwrap();
    assert_eq!(states(&status), [(1, State::Applied)]);
    assert!(status[0].repaired_at.is_some());
    assert!(status[0]
        .repair_note
        .as_deref()
        .unwrap_or("")
        .contains("repair"));
    assert!(edited.verify(&options).await.unwrap().ok);
    assert!(!edited.repair(&options, 1).await.unwrap().changed);
}

#[tokio::test]
async fn a_missing_file_blocks_apply_unless_ignored() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let a = ("0001_a.up.sql", "CREATE TABLE a (x int);");
    let b = ("0002_b.up.sql", "CREATE TABLE b (x int);");
    let c = ("0003_c.up.sql", "CREATE TABLE c (x int);");
    migrator(files(&[a, b]))
        .apply(&options, None)
        .await
        .unwrap();

    let m = migrator(files(&[a, c]));
    let status = m.status(&options).await.unwrap();
    assert_eq!(
        states(&status),
        [
            (1, State::Applied),
            (2, State::Missing),
            (3, State::Pending)
        ]
    );
    assert!(!m.verify(&options).await.unwrap().ok);
    let e = m.apply(&options, None).await.unwrap_err();
    assert!(matches!(e, Error::Missing(ref v) if v == &[2]), "{e}");
    let lenient = Migrator::new(
        files(&[a, c]),
        Options {
            ignore_missing: true,
            ..fast()
        },
    );
    assert_eq!(
        lenient.apply(&options, None).await.unwrap().applied.len(),
        1
    );
}

#[tokio::test]
async fn an_out_of_order_file_is_refused_unless_allowed() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let a = ("0001_a.up.sql", "CREATE TABLE a (x int);");
    let b = ("0002_b.up.sql", "CREATE TABLE b (x int);");
    let c = ("0003_c.up.sql", "CREATE TABLE c (x int);");
    migrator(files(&[a, c]))
        .apply(&options, None)
        .await
        .unwrap();
    let m = migrator(files(&[a, b, c]));
    let e = m.apply(&options, None).await.unwrap_err();
    assert!(
        matches!(e, Error::OutOfOrder { ref versions, latest_applied: 3 } if versions == &[2]),
        "{e}"
    );
    assert!(e.to_string().contains("--allow-out-of-order"), "{e}");
    let lenient = Migrator::new(
        files(&[a, b, c]),
        Options {
            allow_out_of_order: true,
            ..fast()
        },
    );
    let report = lenient.apply(&options, None).await.unwrap();
    assert_eq!(report.applied[0].version, 2);
    assert_eq!(applied_versions(&db).await, [1, 2, 3]);
}

#[tokio::test]
async fn baseline_adopts_an_existing_database() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    sqlx::raw_sql(
        "CREATE TABLE account (id int);
         CREATE TABLE contact (id int, account_id int, email text, created_at timestamptz);",
    )
    .execute(&mut db.connect().await)
    .await
    .unwrap();
    let m = migrator(fixture("basic"));
    let report = m.baseline(&options, 2).await.unwrap();
    assert_eq!(report.marked, [1, 2]);
    assert!(!report.marker_row);
    let status = m.status(&options).await.unwrap();
    assert_eq!(
        states(&status),
        [
            (1, State::Applied),
            (2, State::Applied),
            (3, State::Pending)
        ]
    );
    assert!(status[0].baselined);
    let applied = m.apply(&options, None).await.unwrap();
    assert_eq!(applied.applied.len(), 1);
    let e = m.baseline(&options, 2).await.unwrap_err();
    assert!(matches!(e, Error::BaselineNotEmpty { .. }), "{e}");
}

#[tokio::test]
async fn status_on_a_database_never_migrated_creates_nothing() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(fixture("basic"));
    let status = m.status(&db.connect_options()).await.unwrap();
    assert!(status.iter().all(|s| s.state == State::Pending));
    assert!(!exists(&mut db.connect().await, "crmdb_schema_history").await);
}
