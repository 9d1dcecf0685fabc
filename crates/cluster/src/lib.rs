//! A private PostgreSQL cluster in a home directory, created and started on demand.
//!
//! The cluster runs from the machine's installed server binaries, listens on its own Unix
//! socket directory and on `127.0.0.1` at a free port, and authenticates with SCRAM and a
//! generated password. When crmdb runs as root the server runs as `postgres`, and its files
//! live under `/var/lib/crmdb/clusters/` (linked from the home directory), because the home
//! directory may sit below a directory that account cannot enter, such as `/root`.

mod account;
mod binaries;
mod error;
mod pidfile;
mod shared;
mod version;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Output, Stdio};
use std::time::Duration;

use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

pub use account::{Account, SERVER_ACCOUNT};
pub use binaries::{Binaries, MIN_MAJOR};
pub use error::{Error, Result};
pub use shared::{prune_shared_clusters, shared_clusters, SharedCluster};

/// The superuser that `initdb` creates and crmdb connects as.
pub const SUPERUSER: &str = "crmdb";

const ROOT_CLUSTERS: &str = "/var/lib/crmdb/clusters";
const CONF_FILE: &str = "postgresql.crmdb.conf";
const READY_MARKER: &str = "crmdb-ready";
/// In a cluster's directory: the socket directory chosen for it when `<root>/run` is too
/// long for a socket address.
const SOCKET_DIR_RECORD: &str = "socket_dir";
/// In a cluster under the shared directory: the home it belongs to.
const HOME_RECORD: &str = "home";
/// In a watched cluster's directory: keep it when the watching process ends.
const KEEP_MARKER: &str = "keep";
/// A Unix socket path must fit in `sun_path` (108 bytes) with `/.s.PGSQL.NNNNN` after it.
const MAX_SOCKET_DIR_LEN: usize = 90;

/// How the server is tuned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tuning {
    /// Durable: the defaults of PostgreSQL.
    #[default]
    Durable,
    /// Throw-away test data: no fsync, more connections.
    Disposable,
}

/// What `ensure_running` had to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Startup {
    /// `initdb` ran and the new cluster was started.
    Created,
    /// The cluster existed and was started (after a stop, a crash or a reboot).
    Started,
    /// The cluster was already running.
    AlreadyRunning,
}

/// How to reach a running cluster.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub port: u16,
    pub password: String,
    pub socket_dir: PathBuf,
}

impl Endpoint {
    /// A `postgres://` URL for `database` over TCP on 127.0.0.1, as psql and drivers accept it.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }
}

/// The embedded cluster of one home directory.
#[derive(Debug, Clone)]
pub struct Cluster {
    home: PathBuf,
}

/// The exclusive lock on a home directory, held while the cluster is created or started so
/// that concurrent crmdb processes do not race; released when dropped.
#[derive(Debug)]
pub struct HomeLock {
    _file: File,
}

impl Cluster {
    /// The cluster of `home`; nothing is touched on disk until it is used.
    pub fn new(home: impl Into<PathBuf>) -> Cluster {
        Cluster { home: home.into() }
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Creates the cluster if needed and starts it if it is not running; a cluster created
    /// by another major version than the binaries found is refused
    /// ([`Error::VersionMismatch`]), running or not, because they could not restart it.
    pub fn ensure_running(&self, tuning: Tuning) -> Result<(Endpoint, Startup)> {
        let binaries = Binaries::find()?;
        let account = Account::for_current_user()?;
        let _lock = self.lock()?;
        let layout = self.layout(&account)?;
        let created = if layout.is_ready() {
            version::check(&self.home, &layout.data_dir(), &binaries)?;
            false
        } else {
            self.init(&binaries, &account, &layout)?;
            true
        };
        let password = self.password()?;
        if let Some(port) = pidfile::live_port(&layout.data_dir()) {
            let endpoint = Endpoint {
                port,
                password,
                socket_dir: layout.socket_dir.clone(),
            };
            return Ok((endpoint, Startup::AlreadyRunning));
        }
        let port = self.start(&binaries, &account, &layout, tuning)?;
        let startup = if created {
            Startup::Created
        } else {
            Startup::Started
        };
        let endpoint = Endpoint {
            port,
            password,
            socket_dir: layout.socket_dir.clone(),
        };
        Ok((endpoint, startup))
    }

    /// Starts the cluster as a child of this process that stops when the process exits,
    /// however it exits: a watchdog shell stops the server once its stdin closes. Used by
    /// test harnesses, which have no teardown hook.
    pub fn start_watched(&self, tuning: Tuning) -> Result<(Endpoint, Watchdog)> {
        let (endpoint, _) = self.ensure_running(tuning)?;
        let binaries = Binaries::find()?;
        let account = Account::for_current_user()?;
        let layout = self.layout(&account)?;
        // After the stop, the cluster's files go too, unless `keep_after_watch` asked
        // otherwise: a test run leaves nothing behind but what a failure wants inspected.
        let script = r#"read _ignored; "$0" -D "$1" -m fast -w stop >/dev/null 2>&1
[ -e "$2/$3" ] || rm -rf "$2""#;
        let child = account
            .command(Path::new("/bin/sh"), Path::new("/"))
            .arg("-c")
            .arg(script)
            .arg(binaries.program("pg_ctl"))
            .arg(layout.data_dir())
            .arg(&layout.root)
            .arg(KEEP_MARKER)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(Error::io("starting the watchdog of the test cluster"))?;
        Ok((endpoint, Watchdog::new(child)))
    }

    /// Keeps a watched cluster's files when its watchdog stops it (for a failed test's
    /// databases to be inspected); without this they are deleted with the stop.
    pub fn keep_after_watch(&self) -> Result<()> {
        let account = Account::for_current_user()?;
        let Some(layout) = self.existing_layout(&account)? else {
            return Ok(());
        };
        write_private(&layout.root.join(KEEP_MARKER), "")?;
        account.give(&layout.root.join(KEEP_MARKER))
    }

    /// How to reach the cluster if it is running, without starting it.
    pub fn endpoint_if_running(&self) -> Result<Option<Endpoint>> {
        let account = Account::for_current_user()?;
        let layout = self.existing_layout(&account)?;
        let Some(layout) = layout.filter(Layout::is_ready) else {
            return Ok(None);
        };
        let Some(port) = pidfile::live_port(&layout.data_dir()) else {
            return Ok(None);
        };
        Ok(Some(Endpoint {
            port,
            password: self.password()?,
            socket_dir: layout.socket_dir,
        }))
    }

    /// Stops the cluster (fast shutdown), keeping its data. False when it was not running.
    pub fn stop(&self) -> Result<bool> {
        let account = Account::for_current_user()?;
        let Some(layout) = self.existing_layout(&account)? else {
            return Ok(false);
        };
        let _lock = self.lock()?;
        if pidfile::live_port(&layout.data_dir()).is_none() {
            return Ok(false);
        }
        let binaries = Binaries::find()?;
        let output = account
            .command(&binaries.program("pg_ctl"), &layout.root)
            .arg("-D")
            .arg(layout.data_dir())
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .map_err(Error::io("running pg_ctl stop"))?;
        check(output, "pg_ctl", "stopping the cluster", &layout.log_file())?;
        Ok(true)
    }

    /// Stops the cluster and deletes it with all its data and the home directory.
    /// False when there was nothing to delete.
    pub fn purge(&self) -> Result<bool> {
        if !self.home.exists() {
            return Ok(false);
        }
        self.stop()?;
        let account = Account::for_current_user()?;
        let _lock = self.lock()?;
        if let Some(layout) = self.existing_layout(&account)? {
            remove_dir_all_if_exists(&layout.root)?;
            if layout.socket_dir.starts_with(std::env::temp_dir()) {
                remove_dir_all_if_exists(&layout.socket_dir)?;
            }
        }
        remove_dir_all_if_exists(&self.home)?;
        Ok(true)
    }

    /// Takes the home directory's lock, waiting for another crmdb process that holds it.
    pub fn lock(&self) -> Result<HomeLock> {
        create_private_dir(&self.home)?;
        let path = self.home.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(Error::io(format!(
                "opening the lock file {}",
                path.display()
            )))?;
        file.lock()
            .map_err(Error::io(format!("locking {}", path.display())))?;
        Ok(HomeLock { _file: file })
    }

    fn password(&self) -> Result<String> {
        let path = self.home.join("password");
        let text = fs::read_to_string(&path).map_err(|e| Error::Damaged {
            home: self.home.clone(),
            why: format!("its password file {} cannot be read ({e})", path.display()),
        })?;
        Ok(text.trim().to_owned())
    }

    /// Where this home's cluster lives, creating its directories if needed.
    fn layout(&self, account: &Account) -> Result<Layout> {
        let canonical = fs::canonicalize(&self.home)
            .map_err(Error::io(format!("resolving {}", self.home.display())))?;
        // Absolute from here on: the server programs run in another working directory.
        let link = canonical.join("cluster");
        let root = if account.is_switched() {
            let root = Path::new(ROOT_CLUSTERS).join(short_hash(&canonical));
            fs::create_dir_all(ROOT_CLUSTERS)
                .map_err(Error::io(format!("creating {ROOT_CLUSTERS}")))?;
            if fs::read_link(&link).ok().as_deref() != Some(root.as_path()) {
                let _ = fs::remove_file(&link);
                std::os::unix::fs::symlink(&root, &link)
                    .map_err(Error::io(format!("linking {}", link.display())))?;
            }
            root
        } else {
            link
        };
        if !root.exists() {
            create_private_dir(&root)?;
            account.give(&root)?;
        }
        if account.is_switched() {
            // What `crmdb clusters` reads to tell whose cluster this is, and whether its
            // home still exists.
            write_private(&root.join(HOME_RECORD), &canonical.display().to_string())?;
        }
        let socket_dir = socket_dir(&root, account)?;
        Ok(Layout { root, socket_dir })
    }

    fn existing_layout(&self, account: &Account) -> Result<Option<Layout>> {
        if !self.home.join("cluster").exists() {
            return Ok(None);
        }
        self.layout(account).map(Some)
    }

    fn init(&self, binaries: &Binaries, account: &Account, layout: &Layout) -> Result<()> {
        // A data directory without the ready marker is the remains of an interrupted initdb.
        remove_dir_all_if_exists(&layout.data_dir())?;
        let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
        write_private(&self.home.join("password"), &password)?;
        let pwfile = layout.root.join("initdb.pw");
        write_private(&pwfile, &password)?;
        account.give(&pwfile)?;
        let output = account
            .command(&binaries.program("initdb"), &layout.root)
            .arg("-D")
            .arg(layout.data_dir())
            .arg(format!("--username={SUPERUSER}"))
            .arg(format!("--pwfile={}", pwfile.display()))
            .args([
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ])
            .output()
            .map_err(Error::io("running initdb"));
        let _ = fs::remove_file(&pwfile);
        check(
            output?,
            "initdb",
            "creating the cluster",
            &layout.log_file(),
        )?;
        let conf = layout.data_dir().join("postgresql.conf");
        let mut file = OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(Error::io(format!("opening {}", conf.display())))?;
        writeln!(file, "\ninclude_if_exists = '{CONF_FILE}'")
            .map_err(Error::io(format!("writing {}", conf.display())))?;
        write_private(&layout.root.join(READY_MARKER), "")?;
        account.give(&layout.root.join(READY_MARKER))
    }

    fn start(
        &self,
        binaries: &Binaries,
        account: &Account,
        layout: &Layout,
        tuning: Tuning,
    ) -> Result<u16> {
        pidfile::remove_stale(&layout.data_dir(), &layout.socket_dir);
        let stored = fs::read_to_string(self.home.join("port"))
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok());
        let mut last_failure = None;
        // A just-killed server's children may hold its shared memory for a moment, and a
        // free port may be taken between the check and the start: retry a few times.
        for attempt in 0..5 {
            let port = match stored.filter(|p| attempt == 0 && port_is_free(*p)) {
                Some(port) => port,
                None => free_port()?,
            };
            let conf = layout.data_dir().join(CONF_FILE);
            write_private(&conf, &server_settings(port, &layout.socket_dir, tuning))?;
            account.give(&conf)?;
            let output = account
                .command(&binaries.program("pg_ctl"), &layout.root)
                .arg("-D")
                .arg(layout.data_dir())
                .arg("-l")
                .arg(layout.log_file())
                .args(["-w", "-t", "120", "start"])
                .stdin(Stdio::null())
                .output()
                .map_err(Error::io("running pg_ctl start"))?;
            match check(output, "pg_ctl", "starting the cluster", &layout.log_file()) {
                Ok(()) => {
                    write_private(&self.home.join("port"), &port.to_string())?;
                    return Ok(port);
                }
                Err(err) => last_failure = Some(err),
            }
            std::thread::sleep(Duration::from_millis(300 * (attempt + 1)));
        }
        Err(last_failure.expect("the loop ran at least once"))
    }
}

/// Keeps a watched server alive; the server stops when this is dropped or the process ends.
#[derive(Debug)]
pub struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    /// Watches `child`, a process that stops what it guards when its stdin reaches
    /// end-of-file (a shell waiting on `read`): dropping the watchdog closes that stdin and
    /// waits for the child, and so does the end of this process, however it ends.
    pub fn new(mut child: Child) -> Watchdog {
        let stdin = child.stdin.take();
        Watchdog { child, stdin }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone)]
struct Layout {
    root: PathBuf,
    socket_dir: PathBuf,
}

impl Layout {
    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
    fn log_file(&self) -> PathBuf {
        self.root.join("server.log")
    }
    fn is_ready(&self) -> bool {
        self.root.join(READY_MARKER).exists()
    }
}

fn server_settings(port: u16, socket_dir: &Path, tuning: Tuning) -> String {
    let mut conf = format!(
        "# Written by crmdb before every start; edit postgresql.conf instead.\n\
         listen_addresses = '127.0.0.1'\n\
         port = {port}\n\
         unix_socket_directories = '{}'\n\
         unix_socket_permissions = 0700\n\
         password_encryption = 'scram-sha-256'\n",
        socket_dir.display().to_string().replace('\'', "''")
    );
    if tuning == Tuning::Disposable {
        conf.push_str(
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             max_connections = 300\nshared_buffers = '256MB'\n",
        );
    }
    conf
}

/// The directory of the server's Unix socket: `<root>/run` when its path fits a socket
/// address, else a directory with a random name in the temporary directory, made by this
/// call (never an existing one) and recorded in `<root>/socket_dir`. Either is checked
/// before every use: a directory, not a link, owned by the server's account, with no
/// access for anyone else. A predictable shared path could be planted by another user,
/// who would then receive the connections and their passwords.
fn socket_dir(root: &Path, account: &Account) -> Result<PathBuf> {
    let inside = root.join("run");
    if inside.as_os_str().len() <= MAX_SOCKET_DIR_LEN {
        if !inside.exists() {
            create_private_dir(&inside)?;
            account.give(&inside)?;
        }
        check_private_dir(&inside, account)?;
        return Ok(inside);
    }
    let record = root.join(SOCKET_DIR_RECORD);
    if let Ok(text) = fs::read_to_string(&record) {
        let recorded = PathBuf::from(text.trim());
        match fs::symlink_metadata(&recorded) {
            // Gone with the temporary directory (a reboot): make a new one below.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            _ => {
                check_private_dir(&recorded, account)?;
                return Ok(recorded);
            }
        }
    }
    let made = new_random_private_dir(&std::env::temp_dir())?;
    account.give(&made)?;
    write_private(&record, &made.display().to_string())?;
    account.give(&record)?;
    Ok(made)
}

/// Makes a new directory `crmdb-<random>` in `parent` with mode 0700. `create_dir` fails
/// on an existing path, so a directory planted in advance is never taken over.
fn new_random_private_dir(parent: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    loop {
        let name = format!(
            "crmdb-{}",
            Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
        );
        let path = parent.join(name);
        match fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("creating {}", path.display()))(e)),
        }
    }
}

/// Refuses a socket directory that is a link, not a directory, not owned by the server's
/// account, or open to anyone else.
fn check_private_dir(path: &Path, account: &Account) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let unsafe_dir = |why: String| Error::UnsafeSocketDir {
        path: path.to_owned(),
        why,
    };
    let meta =
        fs::symlink_metadata(path).map_err(Error::io(format!("checking {}", path.display())))?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir("it is a symbolic link".into()));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("it is not a directory".into()));
    }
    if meta.uid() != account.uid().as_raw() {
        return Err(unsafe_dir(format!(
            "it belongs to user id {}, not to the server's account (user id {})",
            meta.uid(),
            account.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(unsafe_dir(format!(
            "its mode is {:o}, open to other users (it must be 700)",
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

fn short_hash(path: &Path) -> String {
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    hex::encode(&digest[..8])
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(Error::io("finding a free port on 127.0.0.1"))?;
    let port = listener
        .local_addr()
        .map_err(Error::io("finding a free port on 127.0.0.1"))?
        .port();
    Ok(port)
}

fn create_private_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(Error::io(format!("creating {}", path.display())))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        .map_err(Error::io(format!("restricting {}", path.display())))
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    let write = || -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(path)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(contents.as_bytes())
    };
    write().map_err(Error::io(format!("writing {}", path.display())))
}

fn remove_dir_all_if_exists(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            action: format!("deleting {}", path.display()),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn check(output: Output, program: &str, action: &str, log: &Path) -> Result<()> {
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    if let Ok(log_text) = fs::read_to_string(log) {
        let tail: Vec<&str> = log_text.lines().rev().take(10).collect();
        text.push_str("\n-- last lines of the server log --\n");
        for line in tail.into_iter().rev() {
            text.push_str(line);
            text.push('\n');
        }
    }
    Err(Error::Command {
        program: program.to_owned(),
        action: action.to_owned(),
        status: output.status.to_string(),
        output: text.trim().to_owned(),
        log: log.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_tcp_with_password() {
        let endpoint = Endpoint {
            port: 5555,
            password: "pw".into(),
            socket_dir: "/tmp".into(),
        };
        assert_eq!(
            endpoint.url("crm"),
            "postgres://crmdb:pw@127.0.0.1:5555/crm"
        );
    }

    #[test]
    fn long_roots_get_a_new_private_socket_dir_that_is_checked_on_every_use() {
        let account = Account::for_current_user().unwrap();
        let base = tempfile::tempdir().unwrap();
        let short = base.path().join("c");
        fs::create_dir(&short).unwrap();
        account.give(&short).unwrap();
        assert_eq!(socket_dir(&short, &account).unwrap(), short.join("run"));

        let long = base.path().join("x".repeat(100));
        fs::create_dir(&long).unwrap();
        account.give(&long).unwrap();
        let made = socket_dir(&long, &account).unwrap();
        assert!(
            made.as_os_str().len() <= MAX_SOCKET_DIR_LEN,
            "{}",
            made.display()
        );
        assert!(made.starts_with(std::env::temp_dir()));
        assert_eq!(
            socket_dir(&long, &account).unwrap(),
            made,
            "recorded and reused"
        );

        fs::set_permissions(&made, fs::Permissions::from_mode(0o777)).unwrap();
        let refused = socket_dir(&long, &account).unwrap_err();
        assert!(
            matches!(refused, Error::UnsafeSocketDir { .. }),
            "{refused}"
        );
        assert!(refused.to_string().contains("777"), "{refused}");

        fs::remove_dir(&made).unwrap();
        let again = socket_dir(&long, &account).unwrap();
        assert_ne!(again, made, "a new random directory, not the old path");
        fs::remove_dir(&again).unwrap();
    }

    #[test]
    fn random_socket_dirs_are_new_and_private_every_time() {
        let parent = tempfile::tempdir().unwrap();
        let mut made = Vec::new();
        for _ in 0..20 {
            made.push(new_random_private_dir(parent.path()).unwrap());
        }
        made.sort();
        made.dedup();
        assert_eq!(made.len(), 20);
        for dir in &made {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(fs::metadata(dir).unwrap().mode() & 0o777, 0o700);
        }
    }

    #[test]
    fn disposable_tuning_turns_fsync_off() {
        let conf = server_settings(1, Path::new("/s"), Tuning::Disposable);
        assert!(conf.contains("fsync = off"));
        assert!(!server_settings(1, Path::new("/s"), Tuning::Durable).contains("fsync"));
    }
}
