//! `crmdb secrets rotate` end to end, on demo data sealed under an old key.

use crate::support::{crmdb, psql, run, stdout, success};

/// The key the demo data is sealed with.
const OLD: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The key rotation moves to.
const NEW: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn with_keys(db: &crmdb_testkit::TestDb, keys: &str, args: &[&str]) -> std::process::Command {
    // Loading demo data still needs a superuser (COPY into tables with forced row-level
    // security); rotating runs as the admin login that owns the database.
    let url = if args.first() == Some(&"seed") {
        db.superuser_url()
    } else {
        db.url().to_owned()
    };
    let mut cmd = crmdb();
    cmd.arg("--database-url")
        .arg(url)
        .env("CRMDB_ENCRYPTION_KEY", keys)
        .args(args);
    cmd
}

/// The distinct key ids of every sealed row.
fn key_ids(db: &crmdb_testkit::TestDb) -> String {
    let union = crmdb_store::sealing::SEALED_TABLES
        .iter()
        .map(|t| {
            format!(
                "SELECT encryption_key_id FROM {} WHERE encryption_key_id IS NOT NULL",
                t.table
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ");
    psql(
        &db.superuser_url(),
        &format!("SELECT string_agg(DISTINCT encryption_key_id, ',') FROM ({union}) AS k"),
    )
    .unwrap()
}

#[tokio::test]
async fn rotation_re_seals_the_demo_secrets_under_the_new_key_and_is_idempotent() {
    let db = crmdb_testkit::migrated_db().await;
    success(run(&mut with_keys(
        &db,
        OLD,
        &["seed", "demo", "--orgs", "2", "--leads-per-org", "20"],
    )));
    let old_id = crmdb_secrets::Keyring::parse(&OLD.to_owned().into())
        .unwrap()
        .current_id()
        .to_owned();
    let new_id = crmdb_secrets::Keyring::parse(&NEW.to_owned().into())
        .unwrap()
        .current_id()
        .to_owned();
    assert_eq!(key_ids(&db), old_id);

    let rotate = |keys: &str| {
        let json = stdout(&success(run(&mut with_keys(
            &db,
            keys,
            &["--json", "secrets", "rotate", "--batch-size", "3"],
        ))));
        serde_json::from_str::<serde_json::Value>(&json).unwrap()
    };
    let report = rotate(&format!("{NEW},{OLD}"));
    assert_eq!(report["key_id"], new_id.as_str());
    let rows: u64 = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rows"].as_u64().unwrap())
        .sum();
    assert!(rows > 0, "{report}");
    assert_eq!(key_ids(&db), new_id);

    // Nothing is left under the old key: the new key alone has nothing to do.
    let again = rotate(NEW);
    assert!(
        again["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["rows"] == 0),
        "{again}"
    );
    let text = stdout(&success(run(&mut with_keys(
        &db,
        NEW,
        &["secrets", "rotate"],
    ))));
    assert!(text.contains("nothing to do"), "{text}");
}

#[tokio::test]
async fn rotation_without_the_old_key_fails_and_names_it() {
    let db = crmdb_testkit::migrated_db().await;
    success(run(&mut with_keys(
        &db,
        OLD,
        &["seed", "demo", "--orgs", "1", "--leads-per-org", "10"],
    )));
    let output = run(&mut with_keys(&db, NEW, &["secrets", "rotate"]));
    assert!(!output.status.success());
    let old_id = crmdb_secrets::Keyring::parse(&OLD.to_owned().into())
        .unwrap()
        .current_id()
        .to_owned();
    let err = crate::support::stderr(&output);
    assert!(err.contains(&old_id), "{err}");
}
