//! The version guard: an embedded home opens only with server binaries of the major version
//! that created it, and says which version that is and what to do otherwise.

use std::ffi::OsString;

use crate::support::{database_url_line, psql, run, stderr, stdout, success, Home};

/// The variable naming the `bin` directory of a second PostgreSQL major, other than the one
/// crmdb finds by default; `.ci/run` points it at PostgreSQL 18's.
const OTHER_BINDIR_VAR: &str = "CRMDB_TEST_OTHER_PG_BINDIR";

fn data_major(home: &Home) -> u32 {
    let path = home.path().join("cluster/data/PG_VERSION");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .trim()
        .parse()
        .expect("PG_VERSION holds a major version")
}

fn is_running(home: &Home) -> bool {
    home.path().join("cluster/data/postmaster.pid").exists()
}

#[track_caller]
fn assert_refused(output: &std::process::Output, data_major: u32, binaries_major: u32) {
    assert!(!output.status.success(), "{}", stdout(output));
    let err = stderr(output);
    assert!(
        err.contains(&format!("created by PostgreSQL {data_major}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("are PostgreSQL {binaries_major}")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "set PG_BINDIR to the `bin` directory of PostgreSQL {data_major}"
        )),
        "{err}"
    );
    assert!(err.contains("crmdb down --purge"), "{err}");
}

/// Works with one installed version: the home's `PG_VERSION` is made to name the next major,
/// which is what the guard reads.
#[test]
fn a_home_of_another_major_is_refused_without_starting_and_purge_starts_over() {
    let home = Home::new();
    success(run(&mut home.crmdb(&["url"])));
    let installed = data_major(&home);
    success(run(&mut home.crmdb(&["down"])));
    let newer = installed + 1;
    std::fs::write(
        home.path().join("cluster/data/PG_VERSION"),
        format!("{newer}\n"),
    )
    .unwrap();

    let refused = run(&mut home.crmdb(&["url"]));
    assert_refused(&refused, newer, installed);
    assert!(!is_running(&home), "the server was not started");

    let purged = success(run(&mut home.crmdb(&["down", "--purge"])));
    assert!(stdout(&purged).contains("deleted"), "{}", stdout(&purged));
    let fresh = success(run(&mut home.crmdb(&["url"])));
    assert_eq!(
        psql(stdout(&fresh).trim(), "SELECT 1").unwrap(),
        "1",
        "a new cluster"
    );
    assert_eq!(data_major(&home), installed);
}

/// Needs two majors for real: CI sets the variable; elsewhere run it with
/// `CRMDB_TEST_OTHER_PG_BINDIR=<bin of another major> cargo test -p crmdb --test cli --
/// --ignored version_guard`.
#[test]
#[ignore = "needs a second PostgreSQL major in CRMDB_TEST_OTHER_PG_BINDIR (.ci/run sets it)"]
fn homes_of_two_majors_each_refuse_the_other_binaries() {
    let other: OsString = std::env::var_os(OTHER_BINDIR_VAR)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "{OTHER_BINDIR_VAR} is not set: point it at the `bin` directory of a \
                 PostgreSQL major other than the default one (.ci/run installs 18 and sets it)"
            )
        });

    let default_home = Home::new();
    success(run(&mut default_home.crmdb(&["url"])));
    let default_major = data_major(&default_home);
    success(run(&mut default_home.crmdb(&["down"])));

    let other_home = Home::new();
    let up = success(run(other_home
        .crmdb(&["--json", "up", "--no-demo"])
        .env("PG_BINDIR", &other)));
    let summary: serde_json::Value = serde_json::from_slice(&up.stdout).unwrap();
    let other_major = data_major(&other_home);
    assert_ne!(
        default_major, other_major,
        "{OTHER_BINDIR_VAR} must hold another major than the default binaries"
    );
    let version = summary["server_version"].as_str().unwrap();
    assert!(version.starts_with(&format!("{other_major}.")), "{summary}");
    success(run(other_home.crmdb(&["down"]).env("PG_BINDIR", &other)));

    let refused = run(default_home.crmdb(&["url"]).env("PG_BINDIR", &other));
    assert_refused(&refused, default_major, other_major);
    assert!(!is_running(&default_home));

    // The reported bug: 18's postgresql.conf names settings 15 does not know.
    let refused = run(&mut other_home.crmdb(&["url"]));
    assert_refused(&refused, other_major, default_major);
    assert!(!stderr(&refused).contains("unrecognized configuration parameter"));
    assert!(!is_running(&other_home));

    // Each still opens with its own binaries, and the remedy works with the wrong ones,
    // even on a running cluster.
    let url = database_url_line(&success(run(other_home
        .crmdb(&["up", "--no-demo"])
        .env("PG_BINDIR", &other))));
    assert_eq!(
        psql(&url, "SELECT count(*) > 0 FROM plans").unwrap(),
        "t",
        "the data survived the refusals"
    );
    success(run(&mut default_home.crmdb(&["url"])));
    let purged = success(run(default_home
        .crmdb(&["down", "--purge"])
        .env("PG_BINDIR", &other)));
    assert!(stdout(&purged).contains("deleted"), "{}", stdout(&purged));
    assert!(!default_home.path().exists());
}
