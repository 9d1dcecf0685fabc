//! Bad input and unreachable servers: each answer names what failed, the value or path, and
//! the next step; under `--json` the answer is JSON; nothing hangs.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::{crmdb, run, stderr, success};

fn failure(output: std::process::Output) -> String {
    assert!(!output.status.success(), "crmdb succeeded: {output:?}");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    stderr(&output)
}

#[test]
fn a_server_that_accepts_and_never_answers_ends_in_the_connect_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts every connection and keeps it open without a byte in reply.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let mut child = crmdb()
        .args(["--connect-timeout", "1", "--database-url"])
        .arg(format!("postgres://crm:pw@127.0.0.1:{port}/crm"))
        .args(["migrate", "status"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Not a timing assertion: a generous bound that only a hang exceeds.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("crmdb still waits for the silent server after 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = failure(child.wait_with_output().unwrap());
    assert!(err.contains("did not answer within 1 s"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("--connect-timeout"), "{err}");
}

#[test]
fn a_url_of_another_database_is_refused_by_its_scheme_without_the_password() {
    let err = failure(run(crmdb()
        .args(["--database-url", "mysql://crm:s3cret-pw@127.0.0.1/crm"])
        .args(["migrate", "status"])));
    assert!(err.contains("\"mysql\" URL"), "{err}");
    assert!(err.contains("postgres://"), "{err}");
    assert!(!err.contains("s3cret-pw"), "{err}");
}

#[test]
fn errors_under_json_are_one_json_object_with_the_causes() {
    let output = run(crmdb()
        .args(["--json", "--database-url", "postgres://crm@127.0.0.1:1/crm"])
        .args(["--connect-timeout", "5", "migrate", "status"]));
    let err = failure(output);
    let value: serde_json::Value = serde_json::from_str(err.trim())
        .unwrap_or_else(|e| panic!("stderr is not one JSON object ({e}): {err}"));
    let message = value["error"].as_str().unwrap();
    assert!(message.contains("could not connect"), "{value}");
    let causes = value["causes"].as_array().unwrap();
    assert!(!causes.is_empty(), "{value}");
    for cause in causes {
        assert!(
            !message.contains(cause.as_str().unwrap()),
            "repeated: {value}"
        );
    }
}

#[test]
fn an_empty_database_url_means_the_embedded_cluster() {
    let file = tempfile::NamedTempFile::new().unwrap();
    // With the URL taken as unset, the embedded home is used, and this one is a file.
    let err = failure(run(crmdb()
        .env("DATABASE_URL", "")
        .arg("--home")
        .arg(file.path())
        .arg("url")));
    assert!(!err.contains("URL"), "{err}");
    assert!(err.contains("is not a directory"), "{err}");
}

#[test]
fn a_home_that_is_a_file_is_named_with_the_options_that_choose_another() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = failure(run(crmdb().arg("--home").arg(file.path()).arg("up")));
    assert!(err.contains(&file.path().display().to_string()), "{err}");
    assert!(err.contains("--home or CRMDB_HOME"), "{err}");
}

/// A home this user cannot write (made by root, or read-only): as root the binary runs as
/// `nobody`, for whom a root-owned directory is read-only, as it is for a user in CI.
#[test]
fn a_home_this_user_cannot_write_is_named_with_the_options_that_choose_another() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = dir.path().join("crmdb");
    std::fs::copy(env!("CARGO_BIN_EXE_crmdb"), &binary).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    if !nix::unistd::Uid::effective().is_root() {
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    // The home itself, and a home to be made inside it.
    for (path, says) in [
        (home.clone(), "not writable"),
        (home.join("sub/home"), "cannot be created"),
    ] {
        let mut cmd = std::process::Command::new(&binary);
        cmd.current_dir(dir.path())
            .arg("--home")
            .arg(&path)
            .arg("up")
            .env_remove("DATABASE_URL")
            .env_remove("CRMDB_HOME");
        if nix::unistd::Uid::effective().is_root() {
            let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
            cmd.uid(nobody.uid.as_raw()).gid(nobody.gid.as_raw());
        }
        let err = failure(run(&mut cmd));
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(err.contains("--home or CRMDB_HOME"), "{err}");
        assert!(
            !path.exists() || path == home,
            "nothing made: {}",
            path.display()
        );
    }
}

#[tokio::test]
async fn up_over_a_version_without_its_file_names_the_command_that_takes_the_flag() {
    let db = crmdb_testkit::migrated_db().await;
    crate::support::psql(
        &db.superuser_url(),
        "INSERT INTO crmdb_schema_history (version, name, checksum, checksum_algorithm, \
         transactional, statements_total, statements_done, progress_checksum, finished, \
         client) VALUES (9999, 'gone', 'x', 'sha256', true, 1, 1, 'x', true, 'test')",
    )
    .unwrap();
    let err = failure(run(crmdb().env("DATABASE_URL", db.url()).arg("up")));
    assert!(err.contains("9999"), "{err}");
    assert!(
        err.contains("crmdb migrate apply --ignore-missing"),
        "{err}"
    );
    success(run(crmdb()
        .env("DATABASE_URL", db.url())
        .args(["migrate", "status"])));
}
