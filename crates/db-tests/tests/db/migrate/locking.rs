//! Locking: concurrent runners apply each version once, a blocked statement gives up within
//! the lock timeout and retries, a second runner names the lock's holder, and a failure
//! releases the lock.

use std::time::{Duration, Instant};

use crmdb_migrate::{Error, Migrator, Options};

use super::{applied_versions, fast, files, fixture, migrator};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_applies_apply_each_version_once() {
    let db = crmdb_testkit::empty_db().await;
    let migrations = files(&[
        ("0001_a.up.sql", "CREATE TABLE a (x int); SELECT pg_sleep(0.2);"),
        ("0002_b.up.sql", "CREATE TABLE b (x int); INSERT INTO b VALUES (1);"),
        (
            "0003_c.up.sql",
            "-- crmdb:no-transaction\nCREATE INDEX CONCURRENTLY b_x ON b (x);\nSELECT pg_sleep(0.2);",
        ),
        ("0004_d.up.sql", "ALTER TABLE a ADD COLUMN y int;"),
    ]);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let m = migrator(migrations.clone());
            let options = db.connect_options();
            tokio::spawn(async move { m.apply(&options, None).await })
        })
        .collect();
    let mut applied = Vec::new();
    for task in tasks {
        let report = task.await.unwrap().unwrap();
        applied.extend(report.applied.iter().map(|a| a.version));
    }
    applied.sort_unstable();
    assert_eq!(
        applied,
        [1, 2, 3, 4],
        "each version applied by exactly one runner"
    );
    assert_eq!(applied_versions(&db).await, [1, 2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_migration_fails_within_the_lock_timeout_then_succeeds() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let base = ("0001_t.up.sql", "CREATE TABLE t (a int);");
    migrator(files(&[base]))
        .apply(&options, None)
        .await
        .unwrap();

    let mut blocker = db.connect().await;
    sqlx::raw_sql("BEGIN; SELECT * FROM t;")
        .execute(&mut blocker)
        .await
        .unwrap();
    let m = migrator(files(&[
        base,
        ("0002_alter.up.sql", "\nALTER TABLE t ADD COLUMN b int;"),
    ]));
    let started = Instant::now();
    let e = m.apply(&options, None).await.unwrap_err();
    let took = started.elapsed();
    // Two attempts of 500 ms plus a 50 ms pause, and connection set-up.
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let Error::Migration(failure) = &e else {
        panic!("expected a migration failure, got {e}");
    };
    assert_eq!(failure.code.as_deref(), Some("55P03"));
    assert_eq!(failure.attempts, 2);
    let text = e.to_string();
    assert!(
        text.contains("0002_alter.up.sql failed at line 2"),
        "{text}"
    );
    assert!(
        text.contains("lock timeout") && text.contains("--lock-timeout"),
        "{text}"
    );
    assert_eq!(applied_versions(&db).await, [1]);

    // The blocker ends while the runner is between retries: the retry succeeds.
    let patient = Migrator::new(
        m.migrations().clone(),
        Options {
            lock_retries: 10,
            ..with_lock_timeout(Duration::from_millis(200))
        },
    );
    let run = tokio::spawn({
        let options = options.clone();
        async move { patient.apply(&options, None).await }
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    sqlx::raw_sql("COMMIT").execute(&mut blocker).await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert!(report.applied[0].attempts > 1, "{report:?}");
    assert_eq!(applied_versions(&db).await, [1, 2]);
}

fn with_lock_timeout(lock_timeout: Duration) -> Options {
    Options {
        lock_timeout,
        ..fast()
    }
}

#[tokio::test]
async fn a_second_runner_times_out_naming_the_lock_holder() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let slow = migrator(fixture("slow"));
    let first = tokio::spawn({
        let options = options.clone();
        async move { slow.apply(&options, None).await }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let impatient = Migrator::new(
        fixture("slow"),
        Options {
            lock_wait: Duration::from_millis(500),
            ..fast()
        },
    );
    let e = impatient.apply(&options, None).await.unwrap_err();
    let Error::LockTimeout { holders, .. } = &e else {
        panic!("expected a lock time-out, got {e}");
    };
    assert_eq!(holders.len(), 1, "{e}");
    assert!(
        holders[0]
            .application_name
            .starts_with("crmdb-migrate lock"),
        "{e}"
    );
    assert!(
        e.to_string().contains(&format!("pid {}", holders[0].pid)),
        "{e}"
    );
    first.await.unwrap().unwrap();
    // Released on success: a new runner gets it at once.
    let report = impatient.apply(&options, None).await.unwrap();
    assert!(report.up_to_date);
}

#[tokio::test]
async fn the_lock_is_released_when_a_migration_fails() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let broken = Migrator::new(
        files(&[("0001_bad.up.sql", "SELECT nope;")]),
        Options {
            lock_wait: Duration::from_millis(300),
            ..fast()
        },
    );
    assert!(matches!(
        broken.apply(&options, None).await,
        Err(Error::Migration(_))
    ));
    assert!(matches!(
        broken.apply(&options, None).await,
        Err(Error::Migration(_))
    ));
}
