//! `crmdb privacy export|erase` end to end on demo data: the export is one JSON document
//! (stdout or a private file), the erasure refuses without `--yes`, `--dry-run` changes
//! nothing, and a real erasure leaves the subject's e-mail nowhere and is idempotent.

use std::os::unix::fs::PermissionsExt as _;

use crate::support::{crmdb, psql, run, stderr, stdout, success};

fn privacy(db: &crmdb_testkit::TestDb, args: &[&str]) -> std::process::Output {
    let mut cmd = crmdb();
    cmd.arg("--database-url")
        .arg(db.url())
        .arg("privacy")
        .args(args);
    run(&mut cmd)
}

/// Demo data, and the slug, lead and e-mail of a subject with communications.
async fn demo() -> (crmdb_testkit::TestDb, String, String, String) {
    let db = crmdb_testkit::migrated_db().await;
    let mut seed = crmdb();
    seed.arg("--database-url")
        .arg(db.superuser_url())
        .env(
            "CRMDB_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["seed", "demo", "--orgs", "2", "--leads-per-org", "20"]);
    success(run(&mut seed));
    let row = psql(
        &db.superuser_url(),
        "SELECT o.slug || ' ' || l.id || ' ' || l.email FROM leads l
         JOIN organizations o ON o.id = l.organization_id
         WHERE l.email IS NOT NULL
           AND EXISTS (SELECT FROM communications c WHERE c.lead_id = l.id)
         ORDER BY l.id LIMIT 1",
    )
    .unwrap();
    let mut parts = row.split(' ').map(str::to_owned);
    let (slug, lead, email) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    (db, slug, lead, email)
}

/// Rows of the whole database that mention the e-mail in a text or JSON column.
fn mentions(db: &crmdb_testkit::TestDb, email: &str) -> String {
    psql(
        &db.superuser_url(),
        &format!(
            "SELECT count(*) FROM (SELECT to_jsonb(l) FROM leads l UNION ALL
                SELECT to_jsonb(c) FROM communications c UNION ALL
                SELECT to_jsonb(a) FROM audit_logs a UNION ALL
                SELECT to_jsonb(w) FROM webhook_delivery_logs w) AS r(row)
             WHERE strpos(lower(row::text), '{email}') > 0"
        ),
    )
    .unwrap()
}

#[tokio::test]
async fn export_prints_one_document_or_writes_a_private_file() {
    let (db, slug, lead, email) = demo().await;
    let printed = success(privacy(&db, &["export", "--org", &slug, "--email", &email]));
    let document: serde_json::Value = serde_json::from_str(&stdout(&printed)).unwrap();
    assert_eq!(document["leads"][0], lead.as_str());
    assert_eq!(document["schema_version"], 16);
    assert!(document["exported_at"].is_string());
    assert_eq!(document["tables"]["leads"][0]["email"], email.as_str());
    assert!(!document["tables"]["communications"]
        .as_array()
        .unwrap()
        .is_empty());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("subject.json");
    let written = success(privacy(
        &db,
        &[
            "export",
            "--org",
            &slug,
            "--lead",
            &lead,
            "--out",
            file.to_str().unwrap(),
        ],
    ));
    assert!(stdout(&written).starts_with(&format!("wrote {}: 1 lead(s), ", file.display())));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let from_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(from_file["tables"], document["tables"]);

    let neither = privacy(&db, &["export", "--org", &slug]);
    assert_eq!(neither.status.code(), Some(2), "{}", stderr(&neither));
    let unknown = privacy(&db, &["export", "--org", "no-such-org", "--lead", &lead]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no organization \"no-such-org\""));
}

#[tokio::test]
async fn erase_refuses_without_yes_counts_on_a_dry_run_and_is_idempotent() {
    let (db, slug, _, email) = demo().await;
    let before = mentions(&db, &email);
    assert_ne!(before, "0");

    let refused = privacy(&db, &["erase", "--org", &slug, "--email", &email]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("refusing to erase without --yes"));

    let dry = success(privacy(
        &db,
        &[
            "--json",
            "erase",
            "--org",
            &slug,
            "--email",
            &email,
            "--dry-run",
        ],
    ));
    let counted: serde_json::Value = serde_json::from_str(&stdout(&dry)).unwrap();
    assert_eq!(counted["dry_run"], true);
    assert_eq!(counted["tables"]["leads"]["deleted"], 1);
    let dry = success(privacy(
        &db,
        &["erase", "--org", &slug, "--email", &email, "--dry-run"],
    ));
    assert!(
        stdout(&dry).contains("(dry run: nothing changed)"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(mentions(&db, &email), before);

    let mut json = crmdb();
    json.arg("--database-url").arg(db.url()).args([
        "--json", "privacy", "erase", "--org", &slug, "--email", &email, "--yes",
    ]);
    let erased: serde_json::Value =
        serde_json::from_str(&stdout(&success(run(&mut json)))).unwrap();
    assert_eq!(erased["dry_run"], false);
    assert_eq!(erased["tables"], counted["tables"]);
    assert_eq!(erased["tables"]["leads"]["deleted"], 1);
    assert_eq!(mentions(&db, &email), "0");

    let again = success(privacy(
        &db,
        &["erase", "--org", &slug, "--email", &email, "--yes"],
    ));
    assert_eq!(
        stdout(&again),
        "nothing to erase: no row of the organization is about this subject\n"
    );
}
