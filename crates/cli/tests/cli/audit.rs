//! `crmdb audit` and `crmdb migrate verify --drift` on what a restore leaves: a database
//! crmdb never migrated fails the audit, and drift compares with the migrations of
//! `--migrations DIR` when given, each difference with its repair.

use std::path::Path;

use crate::support::{crmdb, run, stderr, stdout, success};

#[tokio::test]
async fn the_audit_of_a_database_crmdb_never_migrated_fails_and_says_so() {
    let db = crmdb_testkit::empty_db().await;
    let output = run(crmdb().arg("--database-url").arg(db.url()).arg("audit"));
    assert!(!output.status.success(), "{}", stdout(&output));
    assert!(
        stderr(&output).contains(&format!(
            "the database {} was never migrated by crmdb",
            db.name()
        )),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn drift_compares_with_the_migrations_of_the_directory_given() {
    let db = crmdb_testkit::migrated_db().await;
    let verify = |migrations: Option<&Path>| {
        let mut cmd = crmdb();
        cmd.arg("--database-url")
            .arg(db.url())
            .args(["migrate", "verify", "--drift"]);
        if let Some(dir) = migrations {
            cmd.arg("--migrations").arg(dir);
        }
        run(&mut cmd)
    };
    let embedded = success(verify(None));
    assert!(
        stdout(&embedded).contains("no drift: the schema is the one the migrations produce"),
        "{}",
        stdout(&embedded)
    );

    let dir = tempfile::tempdir().unwrap();
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    for entry in std::fs::read_dir(repository).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("0900_restore_probe.up.sql"),
        "CREATE TABLE restore_probe (id uuid);\n\
         COMMENT ON TABLE restore_probe IS 'scope: global. A probe.';\n",
    )
    .unwrap();
    let newer = verify(Some(dir.path()));
    assert!(!newer.status.success());
    assert!(
        stdout(&newer).contains(
            "missing owner of table restore_probe; repair: ALTER TABLE restore_probe OWNER TO"
        ),
        "{}",
        stdout(&newer)
    );
}
