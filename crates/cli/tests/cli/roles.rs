//! `crmdb roles login`: a login of each kind on any database, printed once; a new password
//! on a second run; an admin's name refused.

use crate::support::{crmdb, psql, run, stderr, stdout, success};

fn login(db: &crmdb_testkit::TestDb, name: &str, kind: &str) -> std::process::Output {
    run(crmdb()
        .arg("--database-url")
        .arg(db.url())
        .args(["roles", "login", name, "--for", kind]))
}

#[tokio::test]
async fn a_login_reads_nothing_until_it_enters_its_role_and_a_rerun_changes_its_password() {
    let db = crmdb_testkit::migrated_db().await;
    let name = format!("web_{}", std::process::id());
    let first = success(login(&db, &name, "app"));
    assert!(stdout(&first).starts_with(&format!("created login {name} (member of crm_app)")));
    let url = stdout(&first).lines().last().unwrap().to_owned();
    assert!(url.starts_with(&format!("postgres://{name}:")), "{url}");
    let refused = psql(&url, "SELECT count(*) FROM leads").unwrap_err();
    assert!(
        refused.contains("permission denied for table leads"),
        "{refused}"
    );
    let inherit = psql(
        &url,
        "SELECT rolinherit FROM pg_roles WHERE rolname = session_user",
    );
    assert_eq!(inherit.unwrap(), "f");
    let worker = psql(&url, "SET ROLE crm_worker").unwrap_err();
    assert!(worker.contains("permission denied to set role"), "{worker}");

    let second = success(login(&db, &name, "app"));
    assert!(stdout(&second).starts_with(&format!("new password for login {name}")));
    let new_url = stdout(&second).lines().last().unwrap().to_owned();
    assert_ne!(new_url, url);
    assert!(psql(&url, "SELECT 1").is_err(), "the old password is gone");
    assert_eq!(psql(&new_url, "SELECT 1").unwrap(), "1");
}

#[tokio::test]
async fn a_role_that_is_more_than_a_login_is_refused() {
    let db = crmdb_testkit::migrated_db().await;
    let admin: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut db.connect().await)
        .await
        .unwrap();
    let output = login(&db, &admin, "readonly");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("exists but is not a crmdb login"),
        "{}",
        stderr(&output)
    );
    // A login of one kind is not turned into another.
    let web = format!("reader_{}", std::process::id());
    success(login(&db, &web, "readonly"));
    let output = login(&db, &web, "worker");
    assert!(
        stderr(&output).contains("exists but is not a crmdb login"),
        "{}",
        stderr(&output)
    );
    let output = run(crmdb().arg("--database-url").arg(db.url()).args([
        "roles",
        "login",
        "x",
        "--for",
        "superuser",
    ]));
    assert!(
        stderr(&output).contains("invalid value 'superuser'"),
        "{}",
        stderr(&output)
    );
}
