//! `crmdb seed demo` under pressure, through the real binary: Ctrl-C while a huge
//! organization is being generated and while a COPY runs (exit 130, bounded memory,
//! nothing half-loaded, no server backend left), a re-run after an interrupted load, and
//! what it says about organizations already loaded with another number of leads.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{crmdb, psql, run, stderr, stdout, success};

/// A fixed encryption key: the demo seals its secrets with it.
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The bound on the memory of a load, whatever the size of its organizations: a few
/// chunks of 2,000 leads in flight per connection, well below what one organization of
/// 100 million leads would take.
const MEMORY_BOUND_KB: u64 = 300 * 1024;

/// A bound only a hang exceeds.
const GENEROUS: Duration = Duration::from_secs(30);

fn demo(url: &str, args: &[&str]) -> Command {
    let mut cmd = crmdb();
    cmd.arg("--database-url")
        .arg(url)
        .env("CRMDB_ENCRYPTION_KEY", KEY)
        .args(["seed", "demo"])
        .args(args);
    cmd
}

fn spawn(url: &str, args: &[&str]) -> Child {
    demo(url, args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting crmdb")
}

/// The state and statement of every other client backend on the test's database.
fn backends(db: &crmdb_testkit::TestDb) -> Vec<String> {
    let listed = psql(
        &db.superuser_url(),
        &format!(
            "SELECT coalesce(state, '') || ' ' || left(query, 60) FROM pg_stat_activity \
             WHERE datname = '{}' AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            db.name()
        ),
    )
    .unwrap();
    listed
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Polls until one of the load's backends is in a state `wanted` accepts, and returns it.
fn wait_for_backend(
    db: &crmdb_testkit::TestDb,
    child: &mut Child,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(found) = backends(db).into_iter().find(|b| wanted(b)) {
            return found;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the load ended before it was interrupted"
        );
        assert!(Instant::now() < deadline, "the load never got there");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The peak resident memory of a process so far, in kB.
fn peak_memory_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

fn sigint(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the process to exit, failing only when it hangs; returns its exit code and
/// standard error.
fn exit_code(mut child: Child) -> (i32, String) {
    let signalled = Instant::now();
    let deadline = signalled + GENEROUS;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("crmdb did not exit within {GENEROUS:?} of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "exited {:.2} s after SIGINT",
        signalled.elapsed().as_secs_f64()
    );
    let output = child.wait_with_output().unwrap();
    (output.status.code().unwrap_or(-1), stderr(&output))
}

/// Nothing of the interrupted load stays: no organization, no lead, and, once the server
/// has seen the connections close, no backend of the load.
fn assert_nothing_left(db: &crmdb_testkit::TestDb) {
    let rows = psql(
        &db.superuser_url(),
        "SELECT (SELECT count(*) FROM organizations) || ' ' || (SELECT count(*) FROM leads) \
           || ' ' || (SELECT count(*) FROM users)",
    )
    .unwrap();
    assert_eq!(
        rows, "0 0 0",
        "organizations, leads, users after the interrupt"
    );
    let deadline = Instant::now() + GENEROUS;
    loop {
        let left = backends(db);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "backends of the interrupted load outlived it: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn ctrl_c_while_generating_a_huge_organization_exits_130_with_bounded_memory() {
    let db = crmdb_testkit::migrated_db().await;
    let url = db.superuser_url();
    let mut child = spawn(&url, &["--orgs", "1", "--leads-per-org", "100000000"]);
    // Let the stream run for a while (the old generator had taken 1.4 GB by now), then
    // catch the loader waiting on the generator: its transaction idle between chunks.
    std::thread::sleep(Duration::from_secs(4));
    wait_for_backend(&db, &mut child, |b| b.starts_with("idle in transaction"));
    let peak = peak_memory_kb(child.id());
    sigint(child.id());
    let (code, err) = exit_code(child);
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(
        peak < MEMORY_BOUND_KB,
        "peak memory {peak} kB while streaming"
    );
    eprintln!("peak memory while streaming 100,000,000 leads: {peak} kB");
    assert_nothing_left(&db);
}

#[tokio::test]
async fn ctrl_c_during_a_copy_cancels_it_on_the_server_and_exits_130() {
    let db = crmdb_testkit::migrated_db().await;
    // As the admin login: its tenant rows go through staging tables and INSERT … SELECT,
    // and the cancel comes from a connection of the same login.
    let mut child = spawn(db.url(), &["--orgs", "2", "--leads-per-org", "100000"]);
    let running = wait_for_backend(&db, &mut child, |b| {
        b.starts_with("active ")
            && (b.contains("COPY demo_staging_communications")
                || b.contains("INSERT INTO communications"))
    });
    let peak = peak_memory_kb(child.id());
    sigint(child.id());
    let (code, err) = exit_code(child);
    assert_eq!(code, 130, "interrupted during `{running}`: {err}");
    assert!(peak < MEMORY_BOUND_KB, "peak memory {peak} kB");
    assert_nothing_left(&db);
    let forced = psql(
        &db.superuser_url(),
        "SELECT bool_and(relforcerowsecurity) FROM pg_class WHERE relname IN ('leads', 'communications')",
    )
    .unwrap();
    assert_eq!(forced, "t", "row-level security stays forced");
}

#[tokio::test]
async fn a_rerun_after_an_interrupted_load_of_20000_leads_completes() {
    let db = crmdb_testkit::migrated_db().await;
    let url = db.superuser_url();
    let args = ["--orgs", "1", "--leads-per-org", "20000", "--seed", "21"];
    let mut child = spawn(&url, &args);
    // Interrupt well into the organization: once the third chunk's leads are copied.
    for _ in 0..3 {
        wait_for_backend(&db, &mut child, |b| b.contains("COPY leads"));
        wait_for_backend(&db, &mut child, |b| !b.contains("COPY leads"));
    }
    sigint(child.id());
    let (code, err) = exit_code(child);
    assert_eq!(code, 130, "{err}");
    assert_nothing_left(&db);
    // What autovacuum does after the rollback: the statistics now say leads is empty.
    psql(&url, "ANALYZE leads").unwrap();
    let reltuples = psql(
        &url,
        "SELECT reltuples FROM pg_class WHERE relname = 'leads'",
    )
    .unwrap();
    assert_eq!(reltuples, "0", "the statistics say leads is empty");

    let started = Instant::now();
    let rerun = success(run(&mut demo(&url, &args)));
    eprintln!(
        "re-run of 20,000 leads after an interrupted load: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        stdout(&rerun).contains("1 organization(s) loaded"),
        "{}",
        stdout(&rerun)
    );
    let leads = psql(&url, "SELECT count(*) FROM leads").unwrap();
    assert_eq!(leads, "20000");
}

#[tokio::test]
async fn organizations_already_loaded_are_described_with_the_leads_they_have() {
    let db = crmdb_testkit::migrated_db().await;
    // What `crmdb up` loads, as the admin login, which sees leads only with an
    // organization entered.
    let url = db.url();
    success(run(&mut demo(
        url,
        &["--orgs", "3", "--leads-per-org", "200"],
    )));

    let fewer = stdout(&success(run(&mut demo(
        url,
        &["--orgs", "2", "--leads-per-org", "50"],
    ))));
    assert!(
        fewer.contains("organizations 1–2 of seed 42 are already loaded with 200 leads each"),
        "{fewer}"
    );
    assert!(
        fewer.contains("--leads-per-org 50 changes nothing for organizations already loaded"),
        "{fewer}"
    );
    assert!(fewer.contains("0 organization(s) loaded"), "{fewer}");
    assert!(!fewer.contains("50 leads each"), "{fewer}");

    let more = stdout(&success(run(&mut demo(
        url,
        &["--orgs", "4", "--leads-per-org", "50"],
    ))));
    assert!(
        more.contains("1 organization(s) loaded with 50 leads each, 3 already present"),
        "{more}"
    );
    assert!(
        more.contains("organizations 1–3 of seed 42 are already loaded with 200 leads each"),
        "{more}"
    );

    let same = stdout(&success(run(&mut demo(
        url,
        &["--orgs", "3", "--leads-per-org", "200"],
    ))));
    assert!(
        same.contains("nothing changed: every organization asked for is already loaded"),
        "{same}"
    );
    assert!(!same.contains("changes nothing"), "{same}");

    let mixed = stdout(&success(run(&mut demo(
        url,
        &["--orgs", "4", "--leads-per-org", "200"],
    ))));
    assert!(
        mixed.contains("organization 4 of seed 42 is already loaded with 50 leads"),
        "{mixed}"
    );

    let zero = run(&mut demo(url, &["--orgs", "0"]));
    assert_eq!(zero.status.code(), Some(2), "{}", stderr(&zero));
    assert!(stderr(&zero).contains("--orgs"), "{}", stderr(&zero));
}
