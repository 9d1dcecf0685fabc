//! `crmdb migrate` as separate processes: concurrent runners and a runner killed mid-way.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{migrate, run, stdout, success};

async fn applied_versions(db: &crmdb_testkit::TestDb) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT version, count(*) FROM crmdb_schema_history GROUP BY version ORDER BY version",
    )
    .fetch_all(&mut db.connect().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn eight_apply_processes_at_once_apply_every_version_exactly_once() {
    let db = crmdb_testkit::empty_db().await;
    let children: Vec<_> = (0..8)
        .map(|_| {
            migrate(db.url(), "basic", &["apply", "--no-lint"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        success(child.wait_with_output().unwrap());
    }
    assert_eq!(applied_versions(&db).await, vec![(1, 1), (2, 1), (3, 1)]);
    let status = success(run(&mut migrate(
        db.url(),
        "basic",
        &["status", "--exit-code"],
    )));
    assert!(stdout(&status).contains("applied"));
}

#[tokio::test]
async fn kill_9_of_the_runner_mid_migration_leaves_the_previous_version() {
    let db = crmdb_testkit::empty_db().await;
    let mut child = migrate(db.url(), "slow", &["apply", "--no-lint"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until 0002 is running (its table exists inside the open transaction, so watch
    // pg_stat_activity for the sleep instead).
    let started = Instant::now();
    let mut conn = db.connect().await;
    loop {
        let sleeping: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                            WHERE datname = current_database() AND query LIKE '%pg_sleep(5)%'
                              AND pid <> pg_backend_pid())",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if sleeping {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "0002 never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // `Child::kill` sends SIGKILL: the runner gets no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    drop(conn);

    assert_eq!(applied_versions(&db).await, vec![(1, 1)]);
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('slow')::text")
        .fetch_one(&mut db.connect().await)
        .await
        .unwrap();
    assert_eq!(table, None, "0002's transaction was rolled back");

    success(run(&mut migrate(db.url(), "slow", &["apply", "--no-lint"])));
    assert_eq!(applied_versions(&db).await, vec![(1, 1), (2, 1)]);
}
