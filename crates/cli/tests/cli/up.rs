//! `crmdb up`, `url` and `down` against an embedded cluster of the test's own.

use std::process::Stdio;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::support::{database_url_line, psql, run, stderr, stdout, success, Home};

#[test]
fn up_on_an_empty_home_creates_everything_and_a_second_up_changes_nothing() {
    let home = Home::new();
    let first = success(run(&mut home.crmdb(&["up"])));
    let text = stdout(&first);
    assert!(
        text.contains("embedded cluster created and started"),
        "{text}"
    );
    assert!(text.contains("database:   created"), "{text}");
    assert!(text.contains("0001_foundation"), "{text}");
    let url = database_url_line(&first);
    let version = psql(&url, "SHOW server_version").unwrap();
    let major_minor = version.split_whitespace().next().unwrap();
    assert!(
        text.lines().next().unwrap().starts_with(&format!(
            "server:     PostgreSQL {major_minor}, embedded cluster"
        )),
        "the server's version ({version}) first: {text}"
    );
    assert_eq!(
        psql(
            &url,
            "SELECT version FROM crmdb_schema_history WHERE version = 1"
        )
        .unwrap(),
        "1"
    );
    assert_eq!(
        psql(
            &url,
            "SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'"
        )
        .unwrap(),
        "pg_trgm"
    );
    let uuid = psql(&url, "SELECT uuid_generate_v7()").unwrap();
    assert_eq!(&uuid[14..15], "7", "a version-7 UUID: {uuid}");

    let second = success(run(&mut home.crmdb(&["up"])));
    let text = stdout(&second);
    assert!(text.contains("already running"), "{text}");
    assert!(text.contains("nothing changed"), "{text}");
    assert_eq!(database_url_line(&second), url);

    let printed = success(run(&mut home.crmdb(&["url"])));
    assert_eq!(stdout(&printed).trim(), url);
}

/// `up` hands out the application and worker logins, before its last line; they are kept
/// (0600 files in the home), printed by `url --app` / `--worker`, and see nothing until a
/// transaction enters their role.
#[test]
fn up_hands_out_an_application_and_a_worker_login() {
    let home = Home::new();
    let first = success(run(&mut home.crmdb(&["up", "--no-demo"])));
    let text = stdout(&first);
    let line = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} line: {text}"))
            .to_owned()
    };
    let (app, worker) = (line("APP_DATABASE_URL"), line("WORKER_DATABASE_URL"));
    assert!(app.starts_with("postgres://crmdb_app:"), "{app}");
    assert!(worker.starts_with("postgres://crmdb_worker:"), "{worker}");
    assert!(database_url_line(&first).starts_with("postgres://crmdb:"));
    for file in ["app.password", "worker.password"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(home.path().join(file))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let again = success(run(&mut home.crmdb(&["up", "--no-demo"])));
    assert!(stdout(&again).contains(&format!("APP_DATABASE_URL={app}")));
    assert!(stdout(&again).contains("nothing changed"));
    let printed = success(run(&mut home.crmdb(&["url", "--app"])));
    assert_eq!(stdout(&printed).trim(), app);
    let printed = success(run(&mut home.crmdb(&["url", "--worker"])));
    assert_eq!(stdout(&printed).trim(), worker);

    let refused = psql(&app, "SELECT count(*) FROM organizations").unwrap_err();
    assert!(
        refused.contains("permission denied for table organizations"),
        "{refused}"
    );
    let entered = psql(
        &app,
        // One simple query is one transaction: the role holds for the second statement.
        "SELECT set_config('role', 'crm_app', true); SELECT count(*) FROM organizations",
    );
    assert_eq!(entered.unwrap(), "crm_app\n0", "no organization entered");
    let claimed = psql(
        &worker,
        "SELECT set_config('role', 'crm_worker', true); \
         SELECT count(*) FROM claim_background_job('default', 'w')",
    );
    assert_eq!(claimed.unwrap(), "crm_worker\n0", "the queue is empty");
}

#[test]
fn up_after_kill_9_of_the_postmaster_starts_it_again() {
    let home = Home::new();
    let url = database_url_line(&success(run(&mut home.crmdb(&["up"]))));
    let pid = home.postmaster_pid();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    assert!(psql(&url, "SELECT 1").is_err(), "the server is down");

    let again = success(run(&mut home.crmdb(&["up"])));
    assert!(stdout(&again).contains("embedded cluster started"));
    let url = database_url_line(&again);
    assert_eq!(psql(&url, "SELECT 1").unwrap(), "1");
    assert_ne!(home.postmaster_pid(), pid);
}

#[test]
fn a_stale_pid_file_naming_a_live_unrelated_process_is_not_taken_for_the_server() {
    let home = Home::new();
    success(run(&mut home.crmdb(&["up"])));
    success(run(&mut home.crmdb(&["down"])));
    // After a reboot the old pid may belong to anything; this test process stands in.
    let pid_file = home.path().join("cluster/data/postmaster.pid");
    std::fs::write(
        &pid_file,
        format!("{}\n/somewhere\n0\n5432\n", std::process::id()),
    )
    .unwrap();
    let again = success(run(&mut home.crmdb(&["up"])));
    assert_eq!(psql(&database_url_line(&again), "SELECT 1").unwrap(), "1");
}

#[test]
fn down_keeps_the_data_and_purge_deletes_it() {
    let home = Home::new();
    let url = database_url_line(&success(run(&mut home.crmdb(&["up"]))));
    psql(
        &url,
        "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)",
    )
    .unwrap();
    let down = success(run(&mut home.crmdb(&["down"])));
    assert!(stdout(&down).contains("stopped"));
    assert!(psql(&url, "SELECT 1").is_err());
    let url = database_url_line(&success(run(&mut home.crmdb(&["up"]))));
    assert_eq!(psql(&url, "SELECT x FROM kept").unwrap(), "42");
    let purged = success(run(&mut home.crmdb(&["down", "--purge"])));
    assert!(stdout(&purged).contains("deleted"));
    assert!(!home.path().exists());
}

#[test]
fn missing_binaries_fail_clearly_and_create_nothing() {
    let home = Home::new();
    let empty = tempfile::tempdir().unwrap();
    let output = run(home.crmdb(&["up"]).env("PG_BINDIR", empty.path()));
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("PG_BINDIR"), "{err}");
    assert!(err.contains("PostgreSQL 15"), "{err}");
    assert!(!home.path().exists(), "nothing half-created");
}

#[test]
fn two_concurrent_ups_on_one_home_both_succeed_with_one_cluster() {
    let home = Home::new();
    let children: Vec<_> = (0..2)
        .map(|_| {
            home.crmdb(&["up"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| success(c.wait_with_output().unwrap()))
        .collect();
    let urls: Vec<String> = outputs.iter().map(database_url_line).collect();
    assert_eq!(urls[0], urls[1], "one cluster, one URL");
    assert_eq!(
        psql(
            &urls[0],
            "SELECT count(*) FROM crmdb_schema_history WHERE version = 1"
        )
        .unwrap(),
        "1"
    );
}

#[test]
fn tcp_access_without_the_password_is_refused() {
    let home = Home::new();
    let url = database_url_line(&success(run(&mut home.crmdb(&["up"]))));
    let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
    let no_password = format!("postgres://crmdb@127.0.0.1:{port}/crm");
    let err = psql(&no_password, "SELECT 1").unwrap_err();
    assert!(err.contains("password"), "{err}");
    let wrong = format!("postgres://crmdb:wrong@127.0.0.1:{port}/crm");
    let err = psql(&wrong, "SELECT 1").unwrap_err();
    assert!(err.contains("password authentication failed"), "{err}");
    let mode = std::fs::metadata(home.path().join("password")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
}

#[test]
fn up_with_a_database_url_uses_that_server_and_creates_the_database() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(crmdb_testkit::empty_db());
    let mut url = url::Url::parse(db.url()).unwrap();
    let name = format!("{}_made_by_up", db.name());
    url.set_path(&name);
    let output = success(run(crate::support::crmdb()
        .args(["up"])
        .env("DATABASE_URL", url.as_str())));
    let text = stdout(&output);
    assert!(text.contains("external server"), "{text}");
    assert!(text.contains("database:   created"), "{text}");
    assert_eq!(database_url_line(&output), url.as_str());
    let again = success(run(crate::support::crmdb()
        .args(["--json", "up"])
        .env("DATABASE_URL", url.as_str())));
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["changed"], false, "{summary}");
    let version = psql(url.as_str(), "SHOW server_version").unwrap();
    assert_eq!(
        summary["server_version"].as_str(),
        version.split_whitespace().next(),
        "{summary}"
    );
    runtime.block_on(async {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect_with(&crmdb_testkit::admin_options())
            .await
            .unwrap();
        sqlx::raw_sql(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    });
}

/// With the default relative `--home` and crmdb not running as root, the cluster lives in
/// the home itself. Under root (as in CI) the binary runs as `nobody` for this test, so
/// the unprivileged path is covered whoever runs the tests.
#[test]
fn up_as_an_unprivileged_user_keeps_the_cluster_in_a_relative_home() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A copy of the binary, because the build directory may sit where `nobody` cannot go.
    let binary = dir.path().join("crmdb");
    std::fs::copy(env!("CARGO_BIN_EXE_crmdb"), &binary).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let as_user = |args: &[&str]| {
        let mut cmd = std::process::Command::new(&binary);
        cmd.current_dir(&work)
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("CRMDB_HOME")
            .env_remove("PG_BINDIR");
        if nix::unistd::Uid::effective().is_root() {
            let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
            nix::unistd::chown(&work, Some(nobody.uid), Some(nobody.gid)).unwrap();
            cmd.uid(nobody.uid.as_raw()).gid(nobody.gid.as_raw());
        }
        run(&mut cmd)
    };

    let first = success(as_user(&["up", "--no-demo"]));
    let url = database_url_line(&first);
    assert_eq!(psql(&url, "SELECT count(*) > 0 FROM plans").unwrap(), "t");
    let cluster = work.join(".crmdb/cluster");
    let kind = std::fs::symlink_metadata(&cluster).unwrap().file_type();
    assert!(
        kind.is_dir(),
        "the cluster is in the home, not linked elsewhere"
    );
    assert!(cluster.join("data/PG_VERSION").exists());
    let again = success(as_user(&["up", "--no-demo"]));
    assert!(stdout(&again).contains("nothing changed"));
    success(as_user(&["down", "--purge"]));
    assert!(!work.join(".crmdb").exists());
}

#[test]
fn up_under_json_prints_one_document_with_the_audit_as_an_object() {
    let home = Home::new();
    let output = success(run(&mut home.crmdb(&["--json", "up", "--no-demo"])));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let audit = &summary["audit"];
    assert!(audit["tables"].as_u64().unwrap() >= 40, "{summary}");
    assert_eq!(audit["violations"], serde_json::json!([]), "{summary}");
    assert!(summary["url"].as_str().unwrap().starts_with("postgres://"));
}
