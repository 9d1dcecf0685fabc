//! `crmdb org export|delete` end to end on demo data: the export's manifest counts what the
//! database holds, the deletion refuses without `--yes` and then removes the organization
//! alone.

use crate::support::{crmdb, psql, run, stderr, stdout, success};

fn org(db: &crmdb_testkit::TestDb, args: &[&str]) -> std::process::Output {
    let mut cmd = crmdb();
    cmd.arg("--database-url").arg(db.url()).args(args);
    run(&mut cmd)
}

#[tokio::test]
async fn export_then_delete_one_organization() {
    let db = crmdb_testkit::migrated_db().await;
    let mut seed = crmdb();
    seed.arg("--database-url")
        .arg(db.superuser_url())
        .env(
            "CRMDB_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["seed", "demo", "--orgs", "2", "--leads-per-org", "10"]);
    success(run(&mut seed));
    let slugs = psql(
        &db.superuser_url(),
        "SELECT string_agg(slug, ' ' ORDER BY slug) FROM organizations",
    )
    .unwrap();
    let (gone, kept) = slugs.split_once(' ').unwrap();
    let count = |slug: &str| {
        psql(
            &db.superuser_url(),
            &format!(
                "SELECT (SELECT count(*) FROM leads l JOIN organizations o ON o.id = l.organization_id WHERE o.slug = '{slug}')
                      + (SELECT count(*) FROM communications c JOIN organizations o ON o.id = c.organization_id WHERE o.slug = '{slug}')"
            ),
        )
        .unwrap()
    };
    let kept_before = count(kept);

    let dir = tempfile::tempdir().unwrap();
    let exported = success(org(
        &db,
        &[
            "--json",
            "org",
            "export",
            gone,
            "--out",
            dir.path().to_str().unwrap(),
        ],
    ));
    let manifest: serde_json::Value = serde_json::from_str(&stdout(&exported)).unwrap();
    let rows = |table: &str| {
        manifest["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == table)
            .unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        (rows("leads") + rows("communications")).to_string(),
        count(gone)
    );
    assert!(dir.path().join("manifest.json").exists());
    assert!(dir.path().join("leads.jsonl").exists());

    let refused = org(&db, &["org", "delete", gone]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("without --yes"),
        "{}",
        stderr(&refused)
    );
    assert_ne!(count(gone), "0");

    let deleted = success(org(&db, &["org", "delete", gone, "--yes"]));
    assert!(
        stdout(&deleted).contains("deleted organization"),
        "{}",
        stdout(&deleted)
    );
    assert!(stdout(&deleted).contains("communications"));
    assert_eq!(count(gone), "0");
    assert_eq!(count(kept), kept_before);
    let again = org(&db, &["org", "delete", gone, "--yes"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("no organization"));
}
