//! `crmdb secrets rotate` end to end, on demo data sealed under an old key.

use crate::support::{crmdb, psql, run, stdout, success, Home};

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

/// The rows of every sealed table that `crmdb secrets rotate` would still re-seal: those
/// sealed under another key than the home's current one. Zero means the home's keys open
/// everything the next command needs.
fn plain_rotation_rows(home: &Home) -> u64 {
    let json = stdout(&success(run(
        &mut home.crmdb(&["--json", "secrets", "rotate"])
    )));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rows"].as_u64().unwrap())
        .sum()
}

fn home_key_ids(home: &Home) -> Vec<String> {
    let value = std::fs::read_to_string(home.path().join("encryption.key")).unwrap();
    crmdb_secrets::Keyring::parse(&value.trim().to_owned().into())
        .unwrap()
        .ids()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn key_id(key: &str) -> String {
    crmdb_secrets::Keyring::parse(&key.to_owned().into())
        .unwrap()
        .current_id()
        .to_owned()
}

#[test]
fn the_readme_rotation_on_the_embedded_home_leaves_keys_the_next_plain_command_opens() {
    let home = Home::new();
    success(run(&mut home.crmdb(&["up"])));
    let generated = std::fs::read_to_string(home.path().join("encryption.key")).unwrap();
    let generated = generated.trim();

    // The README's recipe: the new key first, the old one after it.
    success(run(home
        .crmdb(&["secrets", "rotate"])
        .env("CRMDB_ENCRYPTION_KEY", format!("{NEW},{generated}"))));
    assert_eq!(home_key_ids(&home), [key_id(NEW)]);
    assert_eq!(plain_rotation_rows(&home), 0);

    // The new key alone: the home keeps the old one until every row is re-sealed.
    let output = success(run(home
        .crmdb(&["secrets", "rotate"])
        .env("CRMDB_ENCRYPTION_KEY", OLD)));
    assert!(stdout(&output).contains("retired"), "{}", stdout(&output));
    assert_eq!(home_key_ids(&home), [key_id(OLD)]);
    assert_eq!(plain_rotation_rows(&home), 0);
}

#[test]
fn a_key_given_to_any_command_on_the_embedded_home_is_saved_before_it_seals() {
    let home = Home::new();
    success(run(&mut home.crmdb(&["up"])));
    let generated = home_key_ids(&home);
    // Seeding with a new key seals under it; without it saved, the next plain command
    // could not open what was sealed.
    success(run(home
        .crmdb(&["seed", "demo", "--orgs", "4", "--leads-per-org", "5"])
        .env("CRMDB_ENCRYPTION_KEY", NEW)));
    assert_eq!(home_key_ids(&home), [vec![key_id(NEW)], generated].concat());
    assert!(plain_rotation_rows(&home) > 0);
    assert_eq!(home_key_ids(&home), [key_id(NEW)]);
    assert_eq!(plain_rotation_rows(&home), 0);
}
