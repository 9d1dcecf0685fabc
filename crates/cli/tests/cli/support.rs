//! Running the crmdb binary in a clean environment, on the migration fixtures or in embedded
//! homes that clean up.

use std::path::PathBuf;
use std::process::{Command, Output};

/// A `crmdb` command with no inherited configuration: no DATABASE_URL, no CRMDB_HOME, no
/// RUST_LOG.
pub fn crmdb() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crmdb"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("CRMDB_HOME")
        .env_remove("PG_BINDIR")
        .env_remove("CRMDB_ENCRYPTION_KEY")
        .env_remove("RUST_LOG");
    cmd
}

/// `crmdb --database-url URL migrate ARGS… --migrations <fixture>`, on a migration set of
/// `crates/db-tests/tests/fixtures/migrate/`.
pub fn migrate(url: &str, fixture: &str, args: &[&str]) -> Command {
    let mut cmd = crmdb();
    cmd.arg("--database-url")
        .arg(url)
        .arg("migrate")
        .args(args)
        .arg("--migrations")
        .arg(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../db-tests/tests/fixtures/migrate")
                .join(fixture),
        );
    cmd
}

/// Runs the command and returns its output, whatever its exit status.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("running crmdb")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Panics with both streams when the command failed.
#[track_caller]
pub fn success(output: Output) -> Output {
    assert!(
        output.status.success(),
        "crmdb failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    output
}

/// An embedded home in a temporary directory; its cluster is stopped and deleted on drop.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::Builder::new()
                .prefix("crmdb-cli-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `crmdb --home <this home> ARGS…`
    pub fn crmdb(&self, args: &[&str]) -> Command {
        let mut cmd = crmdb();
        cmd.arg("--home").arg(self.path()).args(args);
        cmd
    }

    /// The pid of the running postmaster, from its pid file.
    pub fn postmaster_pid(&self) -> u32 {
        let text = std::fs::read_to_string(self.path().join("cluster/data/postmaster.pid"))
            .expect("a running cluster has a pid file");
        text.lines().next().unwrap().trim().parse().unwrap()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = self.crmdb(&["down", "--purge"]).output();
    }
}

/// The value of the `DATABASE_URL=` line that ends `up`'s output.
#[track_caller]
pub fn database_url_line(output: &Output) -> String {
    let text = stdout(output);
    let last = text.lines().last().expect("up prints a summary");
    last.strip_prefix("DATABASE_URL=")
        .unwrap_or_else(|| panic!("the last line of up is not DATABASE_URL=…: {text}"))
        .to_owned()
}

/// Runs `psql URL -c SQL` and returns its trimmed, unaligned output.
#[track_caller]
pub fn psql(url: &str, sql: &str) -> Result<String, String> {
    let output = Command::new("psql")
        .args(["-X", "-w", "-tA", "-v", "ON_ERROR_STOP=1"])
        .arg(url)
        .args(["-c", sql])
        .env_remove("PGPASSWORD")
        .output()
        .expect("running psql");
    if output.status.success() {
        Ok(stdout(&output).trim().to_owned())
    } else {
        Err(stderr(&output))
    }
}
