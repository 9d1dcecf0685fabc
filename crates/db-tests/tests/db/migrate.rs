//! The migration engine against a real PostgreSQL server: apply, revert, resume, locking,
//! time-outs, drift, and the errors a user sees.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crmdb_migrate::{
    Error, Migrations, Migrator, Options, RevertTarget, SourceError, State, VersionStatus,
};
use crmdb_testkit::TestDb;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/migrate")
        .join(name)
}

fn fixture(name: &str) -> Migrations {
    Migrations::from_dir(&fixture_dir(name)).expect("a valid fixture")
}

fn files(list: &[(&str, &str)]) -> Migrations {
    Migrations::from_files(list.iter().copied()).expect("valid migrations")
}

/// Quick to give up, so that failing paths stay fast.
fn fast() -> Options {
    Options {
        lock_wait: Duration::from_secs(30),
        lock_timeout: Duration::from_millis(500),
        lock_retries: 1,
        retry_backoff: Duration::from_millis(50),
        ..Options::default()
    }
}

fn migrator(migrations: Migrations) -> Migrator {
    Migrator::new(migrations, fast())
}

async fn applied_versions(db: &TestDb) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM crmdb_schema_history ORDER BY version")
        .fetch_all(&mut db.connect().await)
        .await
        .unwrap()
}

async fn exists(conn: &mut PgConnection, relation: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(relation)
        .fetch_one(conn)
        .await
        .unwrap()
}

fn states(list: &[VersionStatus]) -> Vec<(i64, State)> {
    list.iter().map(|s| (s.version, s.state)).collect()
}

/// Every object definition outside the system schemas (and the history table), as text,
/// sorted: two databases with equal dumps have the same schema.
async fn catalog(options: &PgConnectOptions) -> Vec<String> {
    let mut conn = PgConnection::connect_with(options).await.unwrap();
    sqlx::query_scalar(
        r#"
WITH ns AS (
    SELECT oid FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_toast%'
      AND nspname NOT LIKE 'pg_temp%'
), rel AS (
    SELECT c.* FROM pg_class c
    WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relname NOT LIKE 'crmdb_schema_history%'
)
SELECT line FROM (
    SELECT format('schema %I owner %s acl %s', nspname, nspowner::regrole, nspacl)
    FROM pg_namespace WHERE oid IN (SELECT oid FROM ns)
    UNION ALL
    SELECT format('extension %s %s', extname, extversion) FROM pg_extension
    UNION ALL
    SELECT format('relation %s kind %s persistence %s rls %s/%s acl %s options %s comment %s',
                  oid::regclass, relkind, relpersistence, relrowsecurity, relforcerowsecurity,
                  relacl, reloptions, obj_description(oid, 'pg_class'))
    FROM rel
    UNION ALL
    SELECT format('column %s.%I #%s %s notnull %s default %s identity %s generated %s comment %s',
                  a.attrelid::regclass, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
                  col_description(a.attrelid, a.attnum))
    FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s %s on %s: %s', conname, contype,
                  coalesce(conrelid::regclass::text, contypid::regtype::text),
                  pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace IN (SELECT oid FROM ns)
    UNION ALL
    SELECT format('index %s valid %s', pg_get_indexdef(indexrelid), indisvalid)
    FROM pg_index WHERE indrelid IN (SELECT oid FROM rel)
    UNION ALL
    SELECT format('view %s: %s', oid::regclass, pg_get_viewdef(oid)) FROM rel WHERE relkind IN ('v', 'm')
    UNION ALL
    SELECT format('routine %s acl %s comment %s', pg_get_functiondef(p.oid), p.proacl,
                  obj_description(p.oid, 'pg_proc'))
    FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns) AND p.prokind IN ('f', 'p')
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger
    WHERE tgrelid IN (SELECT oid FROM rel) AND NOT tgisinternal
    UNION ALL
    SELECT format('policy %s on %s %s %s roles %s using %s check %s', polname, polrelid::regclass,
                  polcmd, polpermissive, polroles::regrole[], pg_get_expr(polqual, polrelid),
                  pg_get_expr(polwithcheck, polrelid))
    FROM pg_policy WHERE polrelid IN (SELECT oid FROM rel)
    UNION ALL
    SELECT format('type %s %s labels %s', t.oid::regtype, t.typtype,
                  (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum e
                   WHERE e.enumtypid = t.oid))
    FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM ns) AND t.typtype IN ('e', 'd', 'c')
      AND (t.typrelid = 0 OR t.typrelid NOT IN (SELECT oid FROM rel WHERE relkind <> 'c'))
) dump(line)
ORDER BY line
"#,
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn fresh_apply_then_a_second_apply_is_a_no_op() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(fixture("basic"));
    let report = m.apply(&db.connect_options(), None).await.unwrap();
    let versions: Vec<i64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert!(!report.up_to_date);
    assert_eq!(report.version_before, None);
    assert_eq!(report.version_after, Some(3));
    assert!(report.applied[0].transactional && !report.applied[2].transactional);

    let mut conn = db.connect().await;
    assert!(exists(&mut conn, "contact_email").await);
    let label: String = sqlx::query_scalar(
        "INSERT INTO account (name) VALUES ('Ada') RETURNING account_label(account)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(label, "Ada's; account");
    let row: (bool, i32, i32, String, String) = sqlx::query_as(
        "SELECT finished, statements_done, statements_total, checksum_algorithm, applied_by
         FROM crmdb_schema_history WHERE version = 3",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        (row.0, row.1, row.2, row.3.as_str()),
        (true, 3, 3, "sha256-lf")
    );
    assert!(!row.4.is_empty());

    let again = m.apply(&db.connect_options(), None).await.unwrap();
    assert!(again.up_to_date && again.applied.is_empty());
    assert_eq!(again.version_after, Some(3));
    let status = m.status(&db.connect_options()).await.unwrap();
    assert!(
        status.iter().all(|s| s.state == State::Applied),
        "{status:?}"
    );
    assert!(m.verify(&db.connect_options()).await.unwrap().ok);
}

#[tokio::test]
async fn apply_to_a_version_then_the_rest() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(fixture("basic"));
    let report = m.apply(&db.connect_options(), Some(2)).await.unwrap();
    assert_eq!(report.version_after, Some(2));
    let plan = m.plan(&db.connect_options(), None).await.unwrap();
    assert_eq!(plan.version_before, Some(2));
    assert_eq!(plan.migrations.len(), 1);
    assert!(!plan.migrations[0].transactional);
    let lines: Vec<u32> = plan.migrations[0]
        .statements
        .iter()
        .map(|s| s.line)
        .collect();
    assert_eq!(
        lines,
        [5, 6, 7],
        "statement lines count the BOM-prefixed header"
    );
    m.apply(&db.connect_options(), None).await.unwrap();
    assert_eq!(applied_versions(&db).await, [1, 2, 3]);
}

#[tokio::test]
async fn apply_revert_all_apply_leaves_the_same_catalog() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(fixture("basic"));
    let options = db.connect_options();
    m.apply(&options, None).await.unwrap();
    let first = catalog(&options).await;
    assert!(
        first.iter().any(|l| l.contains("contact_created")),
        "{first:#?}"
    );

    let reverted = m.revert(&options, RevertTarget::To(0)).await.unwrap();
    let order: Vec<i64> = reverted.reverted.iter().map(|r| r.version).collect();
    assert_eq!(order, [3, 2, 1]);
    assert_eq!(reverted.version_after, None);
    assert!(catalog(&options)
        .await
        .iter()
        .all(|l| !l.contains("account")));

    m.apply(&options, None).await.unwrap();
    assert_eq!(catalog(&options).await, first);
}

/// As a managed service's admin login would: `CREATEDB CREATEROLE`, neither SUPERUSER nor
/// BYPASSRLS, owner of the database.
#[tokio::test]
async fn the_crm_schema_applies_reverts_and_applies_to_the_same_catalog() {
    let db = crmdb_testkit::empty_db().await;
    let m = Migrator::new(crmdb_schema::migrations().unwrap(), fast());
    let options = db.connect_options();
    let attributes: (bool, bool, bool, bool, bool) = sqlx::query_as(
        "SELECT r.rolsuper, r.rolbypassrls, r.rolcreatedb, r.rolcreaterole, \
                d.datdba = r.oid \
         FROM pg_roles AS r, pg_database AS d \
         WHERE r.rolname = current_user AND d.datname = current_database()",
    )
    .fetch_one(&mut db.connect().await)
    .await
    .unwrap();
    assert_eq!(attributes, (false, false, true, true, true));
    crmdb_schema::roles::prepare_database(&options)
        .await
        .unwrap();
    m.apply(&options, None).await.unwrap();
    let first = catalog(&options).await;
    m.revert(&options, RevertTarget::To(0)).await.unwrap();
    m.apply(&options, None).await.unwrap();
    let second = catalog(&options).await;
    let only_first: Vec<&String> = first.iter().filter(|l| !second.contains(l)).collect();
    let only_second: Vec<&String> = second.iter().filter(|l| !first.contains(l)).collect();
    assert!(
        only_first.is_empty() && only_second.is_empty(),
        "first only: {only_first:#?}\nsecond only: {only_second:#?}"
    );
}

#[tokio::test]
async fn revert_steps_and_refusal_without_down_file() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let m = migrator(fixture("basic"));
    m.apply(&options, None).await.unwrap();
    let report = m.revert(&options, RevertTarget::Steps(1)).await.unwrap();
    assert_eq!(report.reverted.len(), 1);
    assert_eq!(report.version_after, Some(2));
    assert!(!exists(&mut db.connect().await, "contact_email").await);

    let without_down = files(&[
        ("0001_a.up.sql", "CREATE TABLE a (x int);"),
        ("0001_a.down.sql", "DROP TABLE a;"),
        ("0002_b.up.sql", "CREATE TABLE b (x int);"),
    ]);
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let m = migrator(without_down);
    m.apply(&options, None).await.unwrap();
    let e = m.revert(&options, RevertTarget::To(0)).await.unwrap_err();
    assert!(matches!(e, Error::NoDownFile(ref v) if v == &[2]), "{e}");
    assert_eq!(applied_versions(&db).await, [1, 2], "nothing was reverted");
}

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

#[tokio::test]
async fn edited_files_are_reported_but_line_end_changes_are_not() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let original = "CREATE TABLE t (a int);\nCREATE TABLE u (a int);\n";
    migrator(files(&[("0001_t.up.sql", original)]))
        .apply(&options, None)
        .await
        .unwrap();

    let crlf = original.replace('\n', "\r\n");
    let bom = format!("\u{feff}{crlf}");
    let same = migrator(files(&[("0001_t.up.sql", &bom)]));
    assert_eq!(
        states(&same.status(&options).await.unwrap()),
        [(1, State::Applied)]
    );
    assert!(same.verify(&options).await.unwrap().ok);
    assert!(same.apply(&options, None).await.unwrap().up_to_date);

    let edited = migrator(files(&[(
        "0001_t.up.sql",
        "CREATE TABLE t (a int);\nCREATE TABLE u (a bigint);\n",
    )]));
    assert_eq!(
        states(&edited.status(&options).await.unwrap()),
        [(1, State::Changed)]
    );
    let verify = edited.verify(&options).await.unwrap();
    assert!(!verify.ok);
    assert_eq!(verify.changed.len(), 1);
    let e = edited.apply(&options, None).await.unwrap_err();
    assert!(matches!(e, Error::Changed(_)), "{e}");
    assert!(e.to_string().contains("0001_t.up.sql"), "{e}");

    let repaired = edited.repair(&options, 1).await.unwrap();
    assert!(repaired.changed);
    let status = edited.status(&options).await.unwrap();
    assert_eq!(states(&status), [(1, State::Applied)]);
    assert!(status[0].repaired_at.is_some());
    assert!(status[0]
        .repair_note
        .as_deref()
        .unwrap_or("")
        .contains("repair"));
    assert!(edited.verify(&options).await.unwrap().ok);
    assert!(!edited.repair(&options, 1).await.unwrap().changed);
}

#[tokio::test]
async fn a_missing_file_blocks_apply_unless_ignored() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let a = ("0001_a.up.sql", "CREATE TABLE a (x int);");
    let b = ("0002_b.up.sql", "CREATE TABLE b (x int);");
    let c = ("0003_c.up.sql", "CREATE TABLE c (x int);");
    migrator(files(&[a, b]))
        .apply(&options, None)
        .await
        .unwrap();

    let m = migrator(files(&[a, c]));
    let status = m.status(&options).await.unwrap();
    assert_eq!(
        states(&status),
        [
            (1, State::Applied),
            (2, State::Missing),
            (3, State::Pending)
        ]
    );
    assert!(!m.verify(&options).await.unwrap().ok);
    let e = m.apply(&options, None).await.unwrap_err();
    assert!(matches!(e, Error::Missing(ref v) if v == &[2]), "{e}");
    let lenient = Migrator::new(
        files(&[a, c]),
        Options {
            ignore_missing: true,
            ..fast()
        },
    );
    assert_eq!(
        lenient.apply(&options, None).await.unwrap().applied.len(),
        1
    );
}

#[tokio::test]
async fn an_out_of_order_file_is_refused_unless_allowed() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let a = ("0001_a.up.sql", "CREATE TABLE a (x int);");
    let b = ("0002_b.up.sql", "CREATE TABLE b (x int);");
    let c = ("0003_c.up.sql", "CREATE TABLE c (x int);");
    migrator(files(&[a, c]))
        .apply(&options, None)
        .await
        .unwrap();
    let m = migrator(files(&[a, b, c]));
    let e = m.apply(&options, None).await.unwrap_err();
    assert!(
        matches!(e, Error::OutOfOrder { ref versions, latest_applied: 3 } if versions == &[2]),
        "{e}"
    );
    assert!(e.to_string().contains("--allow-out-of-order"), "{e}");
    let lenient = Migrator::new(
        files(&[a, b, c]),
        Options {
            allow_out_of_order: true,
            ..fast()
        },
    );
    let report = lenient.apply(&options, None).await.unwrap();
    assert_eq!(report.applied[0].version, 2);
    assert_eq!(applied_versions(&db).await, [1, 2, 3]);
}

#[test]
fn bad_file_names_are_errors_naming_the_file() {
    let e = Migrations::from_dir(&fixture_dir("bad_name")).unwrap_err();
    assert!(
        matches!(e, SourceError::BadName { ref file } if file == "0002-dash.up.sql"),
        "{e}"
    );
    let e = Migrations::from_dir(&fixture_dir("orphan_down")).unwrap_err();
    assert!(e.to_string().contains("0002_gone.down.sql"), "{e}");
    let e = Migrations::from_files([("0001_a.up.sql", ""), ("001_b.up.sql", "")]).unwrap_err();
    assert!(
        matches!(e, SourceError::DuplicateVersion { version: 1, .. }),
        "{e}"
    );
}

#[tokio::test]
async fn a_syntax_error_names_file_line_and_column_and_applies_nothing_of_the_file() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    let m = migrator(files(&[
        ("0001_a.up.sql", "CREATE TABLE a (x int);"),
        (
            "0002_b.up.sql",
            "-- header\nCREATE TABLE b (x int);\n\nCREATE TABLE c (x int,\n    y intt);\n",
        ),
    ]));
    let e = m.apply(&options, None).await.unwrap_err();
    let text = e.to_string();
    let Error::Migration(failure) = &e else {
        panic!("expected a migration failure, got {e}");
    };
    assert_eq!(failure.code.as_deref(), Some("42704"), "{text}");
    assert_eq!((failure.line, failure.column), (Some(5), Some(7)), "{text}");
    assert!(
        text.contains("0002_b.up.sql failed at line 5, column 7"),
        "{text}"
    );
    assert!(text.contains("type \"intt\" does not exist"), "{text}");
    assert!(text.contains("stays at version 1"), "{text}");
    assert!(
        !exists(&mut db.connect().await, "b").await,
        "0002 is all or nothing"
    );

    let db = crmdb_testkit::empty_db().await;
    let m = migrator(files(&[(
        "0001_a.up.sql",
        "CREATE TABLE a (x int);\nSELECT 1;\nCREATE TABEL b (x int);\n",
    )]));
    let e = m.apply(&db.connect_options(), None).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("0001_a.up.sql failed at line 3, column 8"),
        "{text}"
    );
    assert!(text.contains("ERROR 42601"), "{text}");
}

#[tokio::test]
async fn an_error_without_position_names_the_failing_statement() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(files(&[(
        "0001_a.up.sql",
        "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n\n  CREATE TABLE a (y int);\n",
    )]));
    let e = m.apply(&db.connect_options(), None).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("0001_a.up.sql failed at line 4, column 3"),
        "{text}"
    );
    assert!(text.contains("ERROR 42P07"), "{text}");
    assert!(text.contains("STATEMENT: CREATE TABLE a (y int)"), "{text}");
    assert!(text.contains("no migration is fully applied"), "{text}");
}

#[tokio::test]
async fn baseline_adopts_an_existing_database() {
    let db = crmdb_testkit::empty_db().await;
    let options = db.connect_options();
    sqlx::raw_sql(
        "CREATE TABLE account (id int);
         CREATE TABLE contact (id int, account_id int, email text, created_at timestamptz);",
    )
    .execute(&mut db.connect().await)
    .await
    .unwrap();
    let m = migrator(fixture("basic"));
    let report = m.baseline(&options, 2).await.unwrap();
    assert_eq!(report.marked, [1, 2]);
    assert!(!report.marker_row);
    let status = m.status(&options).await.unwrap();
    assert_eq!(
        states(&status),
        [
            (1, State::Applied),
            (2, State::Applied),
            (3, State::Pending)
        ]
    );
    assert!(status[0].baselined);
    let applied = m.apply(&options, None).await.unwrap();
    assert_eq!(applied.applied.len(), 1);
    let e = m.baseline(&options, 2).await.unwrap_err();
    assert!(matches!(e, Error::BaselineNotEmpty { .. }), "{e}");
}

#[tokio::test]
async fn status_on_a_database_never_migrated_creates_nothing() {
    let db = crmdb_testkit::empty_db().await;
    let m = migrator(fixture("basic"));
    let status = m.status(&db.connect_options()).await.unwrap();
    assert!(status.iter().all(|s| s.state == State::Pending));
    assert!(!exists(&mut db.connect().await, "crmdb_schema_history").await);
}
