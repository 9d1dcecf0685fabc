//! `crmdb seed`, `crmdb seed demo` and the seeding done by `crmdb up`, end to end.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{crmdb, database_url_line, psql, run, stderr, stdout, success, Home};

/// A fixed encryption key: the demo seals its secrets with it.
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn against(db: &crmdb_testkit::TestDb, args: &[&str]) -> std::process::Command {
    let mut cmd = crmdb();
    cmd.arg("--database-url")
        .arg(db.superuser_url())
        .env("CRMDB_ENCRYPTION_KEY", KEY)
        .args(args);
    cmd
}

#[tokio::test]
async fn seed_twice_reports_nothing_changed_the_second_time() {
    let db = crmdb_testkit::migrated_db().await;
    psql(
        &db.superuser_url(),
        "INSERT INTO organizations (name, slug) VALUES ('Ótica Aurora', 'otica-aurora')",
    )
    .unwrap();
    let first = stdout(&success(run(&mut against(&db, &["seed"]))));
    assert!(first.contains("inserted:"), "{first}");
    assert!(first.contains("5 pipeline_stages"), "{first}");
    let second = stdout(&success(run(&mut against(&db, &["seed"]))));
    assert!(second.contains("nothing changed"), "{second}");
    let json = stdout(&success(run(&mut against(&db, &["--json", "seed"]))));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["organizations"], 1);
    assert_eq!(report["pipeline_stages"], 0);
}

#[tokio::test]
async fn seed_demo_prints_a_summary_and_json() {
    let db = crmdb_testkit::migrated_db().await;
    let text = stdout(&success(run(&mut against(
        &db,
        &["seed", "demo", "--orgs", "2", "--leads-per-org", "20"],
    ))));
    assert!(text.contains("2 organization(s) loaded"), "{text}");
    assert!(text.contains("communications"), "{text}");
    assert!(text.contains("rows/s"), "{text}");
    let json = stdout(&success(run(&mut against(
        &db,
        &[
            "--json",
            "seed",
            "demo",
            "--orgs",
            "3",
            "--leads-per-org",
            "20",
        ],
    ))));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["organizations_loaded"], 1, "{json}");
    assert_eq!(report["organizations_skipped"], 2, "{json}");
}

#[tokio::test]
async fn a_demo_load_killed_mid_way_leaves_whole_organizations_and_a_rerun_completes() {
    let db = crmdb_testkit::migrated_db().await;
    let args = [
        "seed",
        "demo",
        "--orgs",
        "60",
        "--leads-per-org",
        "300",
        "--seed",
        "5",
    ];
    let mut child = against(&db, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once some organizations are committed, well before the end.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let committed: u32 = psql(&db.superuser_url(), "SELECT count(*) FROM organizations")
            .unwrap()
            .parse()
            .unwrap();
        if committed >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no organization committed in time"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the load ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let orgs: u32 = psql(&db.superuser_url(), "SELECT count(*) FROM organizations")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (2..60).contains(&orgs),
        "{orgs} organizations after the kill"
    );
    let incomplete = psql(
        &db.superuser_url(),
        "SELECT count(*) FROM organizations o WHERE \
           (SELECT count(*) FROM leads l WHERE l.organization_id = o.id) <> 300 \
           OR (SELECT count(*) FROM pipeline_stages s WHERE s.organization_id = o.id) <> 5 \
           OR NOT EXISTS (SELECT 1 FROM audit_logs a WHERE a.organization_id = o.id)",
    )
    .unwrap();
    assert_eq!(
        incomplete, "0",
        "every organization left behind is complete"
    );

    let rerun = success(run(&mut against(&db, &args)));
    let text = stdout(&rerun);
    assert!(text.contains(&format!("{orgs} already present")), "{text}");
    let total = psql(
        &db.superuser_url(),
        "SELECT count(*) || ' ' || (SELECT count(*) FROM leads) FROM organizations",
    )
    .unwrap();
    assert_eq!(total, "60 18000");
}

#[test]
fn up_seeds_defaults_and_a_small_demo_once() {
    let home = Home::new();
    let first = success(run(&mut home.crmdb(&["up"])));
    let text = stdout(&first);
    assert!(
        text.contains("demo loaded: 3 organizations × 200 leads (seed 42)"),
        "{text}\n{}",
        stderr(&first)
    );
    let url = database_url_line(&first);
    assert_eq!(psql(&url, "SELECT count(*) FROM leads").unwrap(), "600");
    let second = success(run(&mut home.crmdb(&["up"])));
    let text = stdout(&second);
    assert!(text.contains("seed:       defaults present"), "{text}");
    assert!(text.contains("nothing changed"), "{text}");
    assert_eq!(database_url_line(&second), url);
}

#[test]
fn up_with_no_demo_seeds_only_the_catalogue() {
    let home = Home::new();
    let first = success(run(&mut home.crmdb(&["up", "--no-demo"])));
    let url = database_url_line(&first);
    assert!(
        stdout(&first).contains("no demo (--no-demo)"),
        "{}",
        stdout(&first)
    );
    assert_eq!(
        psql(&url, "SELECT count(*) FROM organizations").unwrap(),
        "0"
    );
    assert_eq!(psql(&url, "SELECT count(*) FROM plans").unwrap(), "5");
}
