//! A real PgBouncer in transaction mode in front of the test server, for the tests that
//! must show the data layer working through a transaction pooler (and the session commands
//! refusing one).
//!
//! It is started once per test process, on first use ([`crate::TestDb::pooled_app_url`],
//! [`crate::TestDb::pooled_worker_url`], [`crate::TestDb::pooled_url`]), from the machine's
//! `pgbouncer` (`$PATH`, else `/usr/sbin/pgbouncer`; Debian's package `pgbouncer`, which
//! `.ci/run` installs), listening on `127.0.0.1` at a free port, with its configuration,
//! password file and log in a new private directory in the temporary directory:
//!
//! - `pool_mode = transaction`: a client holds a server connection for one transaction only,
//!   so consecutive transactions of one client may run on different server connections and
//!   one server connection serves many clients in turn;
//! - `[databases] * = host=… port=…`: every database of the test server, since each test
//!   creates its own;
//! - `auth_type = scram-sha-256` with the passwords of the test logins (the admin login and
//!   the application, worker and reporting logins), which PgBouncer also uses to log in to
//!   the server;
//! - `default_pool_size = 2`: a test's clients share two server connections per login, so a
//!   server connection one client left is soon used by the next;
//! - `server_reset_query` empty: in transaction mode PgBouncer resets nothing between
//!   clients, so what a transaction leaves on its server connection is what the next client
//!   finds, and the data layer alone must leave nothing;
//! - `ignore_startup_parameters = extra_float_digits,options`: sqlx sends the first,
//!   tokio-postgres may send the second, and PgBouncer refuses unknown ones otherwise.
//!
//! PgBouncer refuses to run as root: under root (as in CI) it runs as the account the
//! cluster's server runs as ([`crmdb_cluster::Account`]), which is given the directory.
//! Like the test cluster's watchdog, a shell holds the read end of a pipe whose write end
//! only this process has: when the process ends, however it ends, the shell's `read`
//! returns, and it stops PgBouncer and deletes the directory.
//!
//! With `CRMDB_TEST_POOLER=1` ([`POOLER_VAR`]) in the environment, [`crate::TestDb::app_url`]
//! and [`crate::TestDb::worker_url`] return the pooled URLs, so that the data layer's tests
//! run a second time through the pooler:
//!
//! ```text
//! CRMDB_TEST_POOLER=1 cargo test -p crmdb-db-tests -- store::
//! ```
//!
//! Only the data layer's tests are meant for that pass: other modules use these logins
//! through sqlx, whose named prepared statements (`sqlx_s_1`, …) collide on a shared server
//! connection behind a pooler without prepared-statement support (PgBouncer before 1.21,
//! such as Debian 12's 1.18).

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crmdb_cluster::{Account, Watchdog};

/// The environment variable that routes [`crate::TestDb::app_url`] and
/// [`crate::TestDb::worker_url`] through the pooler when it is `1`.
pub const POOLER_VAR: &str = "CRMDB_TEST_POOLER";

/// Server connections per database and login: fewer than the clients of a concurrent test,
/// so that clients share them.
const POOL_SIZE: u32 = 2;

/// How long PgBouncer may take to listen.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// Whether [`POOLER_VAR`] asks for the application and worker logins through the pooler.
pub(crate) fn routed() -> bool {
    std::env::var(POOLER_VAR).is_ok_and(|v| v == "1")
}

/// What the pooler stands in front of.
pub(crate) struct Target {
    /// The test server's host (a name, an address or a Unix socket directory) and port.
    pub host: String,
    pub port: u16,
    /// Every login a test may connect as through the pooler, with its password.
    pub logins: Vec<(String, String)>,
}

/// The running PgBouncer; kept for the life of the process.
struct Pooler {
    port: u16,
    /// The watchdog shell, whose stdin closes when the process ends.
    _watchdog: Watchdog,
}

static POOLER: OnceLock<Pooler> = OnceLock::new();

/// The pooler's port on `127.0.0.1`, starting it in front of `target()` on first use.
pub(crate) fn port(target: impl FnOnce() -> Target) -> u16 {
    POOLER.get_or_init(|| start(&target())).port
}

fn start(target: &Target) -> Pooler {
    let program = program();
    let account = Account::for_current_user()
        .unwrap_or_else(|e| panic!("choosing the account to run PgBouncer as: {e}"));
    let mut failures = Vec::new();
    // A free port may be taken between the check and PgBouncer's bind: a few tries.
    for _ in 0..5 {
        match attempt(&program, &account, target) {
            Ok(pooler) => return pooler,
            Err(failure) => failures.push(failure),
        }
    }
    panic!(
        "starting PgBouncer ({}) in front of the test server failed:\n{}",
        program.display(),
        failures.join("\n---\n")
    );
}

/// The `pgbouncer` program: on `$PATH`, else Debian's.
fn program() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("pgbouncer"))
        .find(|p| p.is_file());
    let program = on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/pgbouncer"));
    assert!(
        program.is_file(),
        "the pooler tests need PgBouncer: install Debian's package `pgbouncer` \
         (`apt-get install pgbouncer`; .ci/run does)"
    );
    program
}

/// One try: a new directory, a free port, PgBouncer started and listening.
fn attempt(program: &Path, account: &Account, target: &Target) -> Result<Pooler, String> {
    let dir = tempfile::Builder::new()
        .prefix("crmdb-pgbouncer-")
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| format!("creating its directory: {e}"))?
        .keep();
    let port = free_port().map_err(|e| format!("finding a free port: {e}"))?;
    let config = dir.join("pgbouncer.ini");
    let auth = dir.join("userlist.txt");
    let log = dir.join("pgbouncer.log");
    write_private(&auth, &auth_file(&target.logins))?;
    write_private(&config, &config_file(target, port, &auth, &log))?;
    for path in [&dir, &auth, &config] {
        account
            .give(path)
            .map_err(|e| format!("giving {} to PgBouncer's account: {e}", path.display()))?;
    }
    // `$0` PgBouncer, `$1` its configuration, `$2` the directory to delete after it.
    let script = r#""$0" "$1" >/dev/null 2>&1 &
pid=$!
echo "$pid"
read _ignored
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rm -rf "$2""#;
    let mut shell = account
        .command(Path::new("/bin/sh"), Path::new("/"))
        .arg("-c")
        .arg(script)
        .arg(program)
        .arg(&config)
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting its watchdog shell: {e}"))?;
    let stdout = shell.stdout.take().expect("a piped stdout");
    let watchdog = Watchdog::new(shell);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("reading PgBouncer's pid: {e}"))?;
    let pid = line.trim().to_owned();
    let started = Instant::now();
    loop {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(Pooler {
                port,
                _watchdog: watchdog,
            });
        }
        let running = alive(&pid);
        if !running || started.elapsed() > READY_WITHIN {
            let why = if running {
                format!("not listening on port {port} after {READY_WITHIN:?}")
            } else {
                format!("exited before listening on port {port}")
            };
            let log_text = fs::read_to_string(&log).unwrap_or_default();
            // Closing its stdin makes the shell stop PgBouncer and delete the directory.
            drop(watchdog);
            return Err(format!("{why}; its log:\n{log_text}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` runs: its `/proc` entry exists and is no zombie (an exited
/// PgBouncer stays one until the shell, blocked in `read`, reaps it).
fn alive(pid: &str) -> bool {
    fs::read_to_string(Path::new("/proc").join(pid).join("stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

/// Seconds PgBouncer keeps an idle server connection. Every test has a database of its own,
/// so every test leaves pools behind; at PgBouncer's default of 10 minutes a run of a hundred
/// tests holds more idle connections than the test server accepts. A test's steps follow
/// one another well within this.
const SERVER_IDLE_TIMEOUT: u32 = 5;

fn config_file(target: &Target, port: u16, auth: &Path, log: &Path) -> String {
    format!(
        "[databases]\n\
         * = host={host} port={server_port}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = scram-sha-256\n\
         auth_file = {auth}\n\
         pool_mode = transaction\n\
         default_pool_size = {POOL_SIZE}\n\
         reserve_pool_size = 0\n\
         max_client_conn = 1000\n\
         server_reset_query =\n\
         server_idle_timeout = {SERVER_IDLE_TIMEOUT}\n\
         ignore_startup_parameters = extra_float_digits,options\n\
         logfile = {log}\n\
         log_connections = 0\n\
         log_disconnections = 0\n",
        host = target.host,
        server_port = target.port,
        auth = auth.display(),
        log = log.display(),
    )
}

/// PgBouncer's `auth_file`: `"login" "password"` a line, a `"` inside doubled.
fn auth_file(logins: &[(String, String)]) -> String {
    let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    logins
        .iter()
        .map(|(login, password)| format!("{} {}\n", quoted(login), quoted(password)))
        .collect()
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Writes `path` with mode 0600: it holds passwords.
fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(contents.as_bytes()))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_file_quotes_each_login_and_password() {
        let logins = vec![
            ("app".to_owned(), "s3cret".to_owned()),
            ("odd\"one".to_owned(), "pa\"ss".to_owned()),
        ];
        assert_eq!(
            auth_file(&logins),
            "\"app\" \"s3cret\"\n\"odd\"\"one\" \"pa\"\"ss\"\n"
        );
    }

    #[test]
    fn the_configuration_pools_by_transaction_in_front_of_every_database() {
        let target = Target {
            host: "127.0.0.1".to_owned(),
            port: 5544,
            logins: Vec::new(),
        };
        let config = config_file(
            &target,
            6544,
            Path::new("/tmp/x/userlist.txt"),
            Path::new("/tmp/x/pgbouncer.log"),
        );
        for line in [
            "* = host=127.0.0.1 port=5544",
            "listen_port = 6544",
            "pool_mode = transaction",
            "default_pool_size = 2",
            "auth_file = /tmp/x/userlist.txt",
            "ignore_startup_parameters = extra_float_digits,options",
        ] {
            assert!(config.lines().any(|l| l == line), "{line} in\n{config}");
        }
    }
}
