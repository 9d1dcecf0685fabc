//! `crmdb -v`: the engine's spans and events on stderr, the command's output on stdout
//! unchanged; without `-v`, nothing on stderr.

use crate::support::{migrate, run, stderr, stdout, success};

#[tokio::test]
async fn verbose_logs_the_migrator_on_stderr_and_leaves_stdout_alone() {
    let db = crmdb_testkit::empty_db().await;
    let quiet_apply = success(run(&mut migrate(
        db.url(),
        "basic",
        &["apply", "--no-lint"],
    )));
    assert_eq!(stderr(&quiet_apply), "");

    let quiet = success(run(&mut migrate(db.url(), "basic", &["status"])));
    assert_eq!(stderr(&quiet), "");
    let verbose = success(run(migrate(db.url(), "basic", &["status"]).arg("-v")));
    assert_eq!(stdout(&verbose), stdout(&quiet));
    let log = stderr(&verbose);
    assert!(log.contains("INFO status: crmdb_migrate"), "{log}");
    assert!(log.contains("read the status versions=3"), "{log}");

    // The lock's release is a detail: -vv shows it, -v does not.
    let steps = stderr(&success(run(migrate(
        db.url(),
        "basic",
        &["apply", "--no-lint"],
    )
    .arg("-v"))));
    assert!(steps.contains("took the migration lock"), "{steps}");
    assert!(!steps.contains("released the migration lock"), "{steps}");
    let details = stderr(&success(run(migrate(
        db.url(),
        "basic",
        &["apply", "--no-lint"],
    )
    .arg("-vv"))));
    assert!(
        details.contains("DEBUG apply{to=None}: crmdb_migrate::lock"),
        "{details}"
    );
    assert!(details.contains("released the migration lock"), "{details}");
}
