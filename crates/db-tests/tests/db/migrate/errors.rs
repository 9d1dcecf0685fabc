//! The errors a user sees: bad file names, and a failing statement named by file, line and
//! column (or by its text when PostgreSQL gives no position).

use crmdb_migrate::{Error, Migrations, SourceError};

use super::{exists, files, fixture_dir, migrator};

#[test]
fn bad_file_names_are_errors_naming_the_file() {
    let e = Migrations::from_dir(&fixture_dir("bad_name")).unwrap_err();
    assert!(
        matches!(e, SourceError::BadName { ref file } if file == "0002-dash.up.sql"),
        "{e}"
    );
    let e = Migrations::from_dir(&fixture_dir("orphan_down")).unwrap_err();
    assert!(e.to_string().contains("0002_gone.down.sql"), "{e}");
    let e = Migrations::from_files([("0001_a.up.sql", ""), ("001_b.up.sql", "")]).unwrap_err();
    assert!(
        matches!(e, SourceError::DuplicateVersion { version: 1, .. }),
        "{e}"
    );
}

#[tokio::test]
async fn a_syntax_error_names_file_line_and_column_and_applies_nothing_of_the_file() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let m = migrator(files(&[
        ("0001_a.up.sql", "CREATE TABLE a (x int);"),
        (
            "0002_b.up.sql",
            "-- header\nCREATE TABLE b (x int);\n\nCREATE TABLE c (x int,\n    y intt);\n",
        ),
    ]));
    let e = m.apply(&options, None).await.unwrap_err();
    let text = e.to_string();
    let Error::Migration(failure) = &e else {
        panic!("expected a migration failure, got {e}");
    };
    assert_eq!(failure.code.as_deref(), Some("42704"), "{text}");
    assert_eq!((failure.line, failure.column), (Some(5), Some(7)), "{text}");
    assert!(
        text.contains("0002_b.up.sql failed at line 5, column 7"),
        "{text}"
    );
    assert!(text.contains("type \"intt\" does not exist"), "{text}");
    assert!(text.contains("stays at version 1"), "{text}");
    assert!(
        !exists(&mut db.connect().await, "b").await,
        "0002 is all or nothing"
    );

    let db = crmdb_testkit::empty_db().await;
    let m = migrator(files(&[(
        "0001_a.up.sql",
        "CREATE TABLE a (x int);\nSELECT 1;\nCREATE TABEL b (x int);\n",
    )]));
    let e = m.apply(&db.connect_options(), None).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("0001_a.up.sql failed at line 3, column 8"),
        "{text}"
    );
    assert!(text.contains("ERROR 42601"), "{text}");
}

#[tokio::test]
async fn an_error_without_position_names_the_failing_statement() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(files(&[(
        "0001_a.up.sql",
        "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n\n  CREATE TABLE a (y int);\n",
    )]));
    let e = m.apply(&db.connect_options(), None).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("0001_a.up.sql failed at line 4, column 3"),
        "{text}"
    );
    assert!(text.contains("ERROR 42P07"), "{text}");
    assert!(text.contains("STATEMENT: CREATE TABLE a (y int)"), "{text}");
    assert!(text.contains("no migration is fully applied"), "{text}");
}
