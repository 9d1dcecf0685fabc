//! Resuming: a runner killed or failed mid-file leaves the previous version, or the
//! statements of a non-transactional file it finished, and the next run goes on from there.

use std::time::{Duration, Instant};

use crmdb_migrate::{Error, State};

use super::{applied_versions, exists, files, fixture, migrator, states};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_mid_transaction_leaves_the_previous_version() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let m = migrator(fixture("slow"));
    let runner = {
        let m = m.clone();
        let options = options.clone();
        tokio::spawn(async move { m.apply(&options, None).await })
    };
    let mut watcher = db.connect().await;
    let sleeping = "SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND query LIKE '%pg_sleep(5)%'
                      AND pid <> pg_backend_pid()";
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: i64 = sqlx::query_scalar(sleeping)
            .fetch_one(&mut watcher)
            .await
            .unwrap();
        if n > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow migration never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Aborting drops the runner's connections mid-statement, as a kill -9 closes its sockets.
    runner.abort();
    assert!(runner.await.unwrap_err().is_cancelled());

    let gone = Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar(sleeping)
            .fetch_one(&mut watcher)
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        assert!(
            gone.elapsed() < Duration::from_secs(3),
            "the orphaned backend should notice the closed socket within a second or so"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(applied_versions(&db).await, [1]);
    assert!(
        !exists(&mut watcher, "slow").await,
        "nothing of 0002 is left"
    );

    let started = Instant::now();
    let report = m.apply(&options, None).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the lock was free at once"
    );
    assert_eq!(report.applied.len(), 1);
    assert_eq!(applied_versions(&db).await, [1, 2]);
}

#[tokio::test]
async fn a_failed_concurrent_index_build_resumes_after_the_data_is_fixed() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let migrations = files(&[
        (
            "0001_t.up.sql",
            "CREATE TABLE t (a int, b int, c int);\n\
             INSERT INTO t SELECT g, g % 10, g FROM generate_series(1, 1000) g;",
        ),
        (
            "0002_indexes.up.sql",
            "-- crmdb:no-transaction\n\
             CREATE INDEX CONCURRENTLY t_a ON t (a);\n\
             CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_b ON t (b);\n\
             CREATE INDEX CONCURRENTLY t_c ON t (c);\n",
        ),
    ]);
    let m = migrator(migrations);
    let e = m.apply(&options, None).await.unwrap_err();
    let Error::Migration(failure) = &e else {
        panic!("expected a migration failure, got {e}");
    };
    assert_eq!(
        failure.code.as_deref(),
        Some(crmdb_pg::sqlstate::UNIQUE_VIOLATION)
    );
    assert_eq!((failure.line, failure.statements_done), (Some(3), 1));
    assert!(failure
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("is duplicated"));
    let text = e.to_string();
    assert!(
        text.contains("0002_indexes.up.sql") && text.contains("line 3"),
        "{text}"
    );
    assert!(text.contains("resumes at statement 2"), "{text}");
    assert!(text.contains("stays at version 1"), "{text}");

    let mut conn = db.connect().await;
    let invalid = "SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indrelid = 't'::regclass";
    let n: i64 = sqlx::query_scalar(invalid)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        n, 1,
        "the failed build left an INVALID index, as PostgreSQL does"
    );
    let status = m.status(&options).await.unwrap();
    assert_eq!(states(&status), [(1, State::Applied), (2, State::Partial)]);
    assert_eq!(status[1].statements_done, Some(1));

    sqlx::raw_sql("UPDATE t SET b = a")
        .execute(&mut conn)
        .await
        .unwrap();
    let report = m.apply(&options, None).await.unwrap();
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.applied[0].resumed_at, Some(2));
    assert_eq!(report.applied[0].dropped_invalid_indexes, ["public.t_b"]);

    let n: i64 = sqlx::query_scalar(invalid)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 0, "no INVALID index remains");
    let valid: Vec<String> = sqlx::query_scalar(
        "SELECT indexrelid::regclass::text FROM pg_index
         WHERE indrelid = 't'::regclass AND indisvalid ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(valid, ["t_a", "t_b", "t_c"]);
    let status = m.status(&options).await.unwrap();
    assert_eq!(states(&status), [(1, State::Applied), (2, State::Applied)]);
}

#[tokio::test]
async fn a_non_transactional_file_failing_at_its_first_statement_resumes() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let m = migrator(files(&[
        ("0001_t.up.sql", "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1);"),
        (
            "0002_unique.up.sql",
            "-- crmdb:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_a2 ON t (a);",
        ),
    ]));
    let e = m.apply(&options, None).await.unwrap_err();
    assert!(e.to_string().contains("resumes at statement 1"), "{e}");
    let mut conn = db.connect().await;
    sqlx::raw_sql("DELETE FROM t WHERE ctid <> (SELECT min(ctid) FROM t)")
        .execute(&mut conn)
        .await
        .unwrap();
    let report = m.apply(&options, None).await.unwrap();
    assert_eq!(report.applied[0].resumed_at, Some(1));
    assert_eq!(report.applied[0].dropped_invalid_indexes, ["public.t_a"]);
    assert!(exists(&mut conn, "t_a2").await);
}

/// A runner that dies after a concurrent build finished but before it recorded it: the
/// resumed run finds the valid index and does not build it again.
#[tokio::test]
async fn a_resumed_run_skips_a_build_that_finished_unrecorded() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let m = migrator(files(&[
        ("0001_t.up.sql", "CREATE TABLE t (a int, b int);"),
        (
            "0002_indexes.up.sql",
            "-- crmdb:no-transaction\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_b ON t (b);",
        ),
    ]));
    m.apply(&options, None).await.unwrap();
    let done_one = m.migrations().get(2).unwrap().up.prefix_checksum(1);
    sqlx::query(
        "UPDATE crmdb_schema_history SET finished = false, statements_done = 1,
                progress_checksum = $1 WHERE version = 2",
    )
    .bind(done_one)
    .execute(&mut db.connect().await)
    .await
    .unwrap();
    assert_eq!(
        states(&m.status(&options).await.unwrap()),
        [(1, State::Applied), (2, State::Partial)]
    );
    let report = m.apply(&options, None).await.unwrap();
    assert_eq!(report.applied[0].resumed_at, Some(2));
    assert_eq!(
        states(&m.status(&options).await.unwrap()),
        [(1, State::Applied), (2, State::Applied)]
    );
}
