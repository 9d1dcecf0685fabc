//! Test harness: one throw-away PostgreSQL cluster per test process (or the server of
//! `CRMDB_TEST_DATABASE_URL`), a template database migrated once per set of migrations, and
//! one database per test cloned from it — dropped when the test passes, kept when it fails.
//!
//! Nothing runs as a superuser that production would not: the databases belong to a login
//! with only `CREATEDB CREATEROLE` (a managed service's admin), which migrates them, and the
//! data layer's tests connect as the application and worker logins of the privilege model.
//! The superuser only creates that admin login.
//!
//! A real PgBouncer in transaction mode stands in front of the test server on demand
//! ([`pooler`]): [`TestDb::pooled_app_url`] and [`TestDb::pooled_worker_url`] reach a test's
//! database through it, and with `CRMDB_TEST_POOLER=1` [`TestDb::app_url`] and
//! [`TestDb::worker_url`] do too, so the data layer's tests run a second time through it:
//! `CRMDB_TEST_POOLER=1 cargo test -p crmdb-db-tests -- store::`.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crmdb_cluster::{Cluster, Tuning, Watchdog};
use crmdb_migrate::{Migrator, Options};
use crmdb_pg::ident::{quote_ident, quote_literal};
use crmdb_pg::sqlstate::{self, DUPLICATE_OBJECT, OBJECT_IN_USE};
use crmdb_schema::roles::LoginKind;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

pub mod pooler;

pub use pooler::POOLER_VAR;

/// The environment variable that points the tests at an existing server instead.
pub const SERVER_URL_VAR: &str = "CRMDB_TEST_DATABASE_URL";

struct Server {
    /// The maintenance database as the admin login (`CREATEDB CREATEROLE`, no superuser),
    /// from which databases are created and dropped.
    admin_url: String,
    /// The maintenance database as the superuser the server came with, when it came with
    /// one: only for tests that look past row-level security on purpose (the schema's
    /// constraint tests, the checks that read every organization).
    superuser_url: Option<String>,
    _watchdog: Option<Watchdog>,
    home: Option<PathBuf>,
}

/// The admin login the tests create when they are given a superuser, like a managed
/// service's master user.
const ADMIN_LOGIN: &str = "crmdb_test_admin";
/// The logins of the privilege model, created once per server.
const APP_LOGIN: &str = "crmdb_test_app";
const WORKER_LOGIN: &str = "crmdb_test_worker";
const READONLY_LOGIN: &str = "crmdb_test_readonly";

static SERVER: OnceLock<Server> = OnceLock::new();
static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static COUNTER: AtomicU32 = AtomicU32::new(0);
static LOGINS: OnceCell<()> = OnceCell::const_new();

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var(SERVER_URL_VAR) {
            let (admin_url, superuser_url) = admin_login(&url);
            return Server {
                admin_url,
                superuser_url,
                _watchdog: None,
                home: None,
            };
        }
        let root = test_homes_root();
        purge_abandoned_homes(&root);
        let home = root.join(format!("run-{}", std::process::id()));
        let (endpoint, watchdog) = Cluster::new(&home)
            .start_watched(Tuning::Disposable)
            .unwrap_or_else(|e| panic!("starting the test cluster in {}: {e}", home.display()));
        let (admin_url, superuser_url) = admin_login(&endpoint.url("postgres"));
        Server {
            admin_url,
            superuser_url,
            _watchdog: Some(watchdog),
            home: Some(home),
        }
    })
}

/// The URL of the admin login on the server of `url`: `url` itself when its login is no
/// superuser, else [`ADMIN_LOGIN`], created by that superuser with `CREATEDB CREATEROLE`;
/// and `url` again when it is a superuser's.
fn admin_login(url: &str) -> (String, Option<String>) {
    // Called once, from whichever thread or runtime asks first: a runtime of its own on a
    // helper thread works from both.
    let url = url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let options = PgConnectOptions::from_str(&url).expect("a valid server URL");
            let mut conn = PgConnection::connect_with(&options)
                .await
                .unwrap_or_else(|e| panic!("connecting to the test server: {e}"));
            let superuser: bool =
                sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                    .fetch_one(&mut conn)
                    .await
                    .expect("reading the login's attributes");
            if !superuser {
                return (url, None);
            }
            let password = login_password(&url, ADMIN_LOGIN);
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                    .bind(ADMIN_LOGIN)
                    .fetch_one(&mut conn)
                    .await
                    .expect("looking up the admin login");
            if !exists {
                let sql = format!(
                    "CREATE ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD {}",
                    quote(ADMIN_LOGIN),
                    quote_literal(&crmdb_secrets::scram_sha256_verifier(&password.into()))
                );
                if let Err(e) = sqlx::raw_sql(&sql).execute(&mut conn).await {
                    // Another test process on the same server created it first.
                    if !sqlstate::is(&e, &[DUPLICATE_OBJECT]) {
                        panic!("creating the admin login: {e}");
                    }
                }
            }
            let admin = with_login(&url, ADMIN_LOGIN, &login_password(&url, ADMIN_LOGIN));
            (admin, Some(url))
        })
    })
    .join()
    .expect("setting up the admin login")
}

/// A login's password, the same in every test process on one server (so concurrent
/// processes agree without sharing state), and unguessable without the server's URL.
fn login_password(server_url: &str, login: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{server_url}\n{login}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `url` with another login and password.
fn with_login(url: &str, login: &str, password: &str) -> String {
    let mut url = url::Url::parse(url).expect("a valid server URL");
    url.set_username(login).expect("a URL with a host");
    url.set_password(Some(password)).expect("a URL with a host");
    url.to_string()
}

/// `url` (of the test server) with the host and port of the test process's PgBouncer: the
/// same login, password and database, through the pooler.
fn through_pooler(url: &str) -> String {
    let port = pooler::port(pooler_target);
    let mut url = url::Url::parse(url).expect("a valid server URL");
    url.set_host(Some("127.0.0.1")).expect("a URL with a host");
    url.set_port(Some(port)).expect("a URL with a host");
    url.to_string()
}

/// The test server and the logins the pooler lets through: the admin login and the
/// logins of the privilege model, with their passwords.
fn pooler_target() -> pooler::Target {
    let admin_url = &server().admin_url;
    let url = url::Url::parse(admin_url).expect("a valid server URL");
    let mut logins = vec![(
        percent_decode(url.username()),
        percent_decode(url.password().unwrap_or_default()),
    )];
    for login in [APP_LOGIN, WORKER_LOGIN, READONLY_LOGIN] {
        logins.push((login.to_owned(), login_password(admin_url, login)));
    }
    pooler::Target {
        host: url.host_str().unwrap_or("127.0.0.1").to_owned(),
        port: url.port().unwrap_or(5432),
        logins,
    }
}

/// A URL's user or password as it is (`%XX` escapes decoded).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `target/crmdb-test`, beside the test binaries, so `cargo clean` removes it.
fn test_homes_root() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    target.join("crmdb-test")
}

/// Deletes the clusters of earlier test runs whose process is gone, unless a failed test
/// asked to keep it for inspection.
fn purge_abandoned_homes(root: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("run-")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = std::path::Path::new("/proc").join(pid.to_string()).exists();
        if !alive && !entry.path().join("keep").exists() {
            let _ = Cluster::new(entry.path()).purge();
        }
    }
}

/// Connection options for the server's maintenance database as the admin login (to create
/// or drop databases, or to see cluster-wide state).
pub fn admin_options() -> PgConnectOptions {
    PgConnectOptions::from_str(&server().admin_url).expect("a valid server URL")
}

fn url_for(database: &str) -> String {
    let mut url = url::Url::parse(&server().admin_url).expect("a valid server URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

async fn admin() -> PgConnection {
    PgConnection::connect_with(&admin_options())
        .await
        .expect("connecting to the test server")
}

/// A database that belongs to one test.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL that psql, the crmdb binary and drivers accept, as the admin login that owns
    /// the database and migrated it (`CREATEDB CREATEROLE`, no superuser).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This database as the server's superuser, for a test that must look past row-level
    /// security; panics when the server was given without one.
    pub fn superuser_url(&self) -> String {
        let superuser = server().superuser_url.as_deref().unwrap_or_else(|| {
            panic!("this test needs a superuser, and {SERVER_URL_VAR} names none")
        });
        let mut url = url::Url::parse(superuser).expect("a valid server URL");
        url.set_path(&format!("/{}", self.name));
        url.to_string()
    }

    /// One connection to this database as the server's superuser (see
    /// [`TestDb::superuser_url`]).
    pub async fn superuser_connect(&self) -> PgConnection {
        PgConnection::connect(&self.superuser_url())
            .await
            .expect("connecting to the test database as the superuser")
    }

    /// This database as the application login: `NOINHERIT`, member of `crm_app` only.
    /// Through the pooler when `CRMDB_TEST_POOLER=1` ([`POOLER_VAR`]).
    pub async fn app_url(&self) -> String {
        if pooler::routed() {
            return self.pooled_app_url().await;
        }
        self.login_url(APP_LOGIN).await
    }

    /// This database as the worker login: `NOINHERIT`, member of `crm_worker` only.
    /// Through the pooler when `CRMDB_TEST_POOLER=1` ([`POOLER_VAR`]).
    pub async fn worker_url(&self) -> String {
        if pooler::routed() {
            return self.pooled_worker_url().await;
        }
        self.login_url(WORKER_LOGIN).await
    }

    /// This database as the application login through the test process's PgBouncer in
    /// transaction mode ([`pooler`]), started on first use.
    pub async fn pooled_app_url(&self) -> String {
        through_pooler(&self.login_url(APP_LOGIN).await)
    }

    /// This database as the worker login through the test process's PgBouncer in
    /// transaction mode ([`pooler`]).
    pub async fn pooled_worker_url(&self) -> String {
        through_pooler(&self.login_url(WORKER_LOGIN).await)
    }

    /// This database as the admin login that owns it (see [`TestDb::url`]) through the test
    /// process's PgBouncer in transaction mode ([`pooler`]): for the session commands'
    /// refusal of a pooler.
    pub fn pooled_url(&self) -> String {
        through_pooler(&self.url)
    }

    /// This database as the reporting login: `NOINHERIT`, member of `crm_readonly` only.
    pub async fn readonly_url(&self) -> String {
        self.login_url(READONLY_LOGIN).await
    }

    /// The URL of one of the model's logins, which are created once per server (the roles
    /// they join exist once a template was migrated). A login that exists keeps its
    /// password, which every test process derives the same way.
    async fn login_url(&self, login: &str) -> String {
        LOGINS
            .get_or_init(|| async {
                let mut admin = PgConnection::connect_with(&self.connect_options())
                    .await
                    .expect("connecting as the admin login");
                for (login, kind) in [
                    (APP_LOGIN, LoginKind::App),
                    (WORKER_LOGIN, LoginKind::Worker),
                    (READONLY_LOGIN, LoginKind::Readonly),
                ] {
                    let exists: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
                    )
                    .bind(login)
                    .fetch_one(&mut admin)
                    .await
                    .expect("looking up a login");
                    if exists {
                        continue;
                    }
                    let password = login_password(&server().admin_url, login);
                    let verifier = crmdb_secrets::scram_sha256_verifier(&password.into());
                    if let Err(e) =
                        crmdb_schema::roles::ensure_login(&mut admin, login, kind, &verifier).await
                    {
                        let raced = matches!(&e, crmdb_schema::roles::RolesError::Login { source, .. }
                            if sqlstate::is(source, &[DUPLICATE_OBJECT]));
                        assert!(raced, "creating the login {login}: {e}");
                    }
                }
            })
            .await;
        with_login(
            &self.url,
            login,
            &login_password(&server().admin_url, login),
        )
    }

    /// Connection options for this database.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.url).expect("a valid database URL")
    }

    /// A small pool on this database, bound to the calling test's runtime.
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(5)
            .connect_with(self.connect_options())
            .await
            .expect("connecting to the test database")
    }

    /// One connection to this database.
    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect_with(&self.connect_options())
            .await
            .expect("connecting to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(home) = &server().home {
                let _ = std::fs::write(home.join("keep"), "");
                // Otherwise the watchdog deletes the cluster when the test process ends.
                let _ = Cluster::new(home).keep_after_watch();
                eprintln!(
                    "kept test database {} for inspection: {}  (start its cluster again with \
                     `crmdb --home {} up`)",
                    self.name,
                    self.url,
                    home.display()
                );
            } else {
                eprintln!("kept test database {}: {}", self.name, self.url);
            }
            return;
        }
        let name = self.name.clone();
        // Drop runs outside any async context the test may have left; a runtime of its own
        // on a helper thread works from both sync and async tests.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async { crmdb_pg::drop_database(&mut admin().await, &name).await })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

fn quote(name: &str) -> String {
    quote_ident(name).expect("test database names are valid identifiers")
}

fn unique_name(kind: &str) -> String {
    format!(
        "crmdb_{kind}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new, empty database for one test.
pub async fn empty_db() -> TestDb {
    let name = unique_name("test");
    crmdb_pg::create_database(&mut admin().await, &name, None)
        .await
        .expect("creating a test database");
    TestDb {
        url: url_for(&name),
        name,
    }
}

/// A new database for one test, with every CRM migration applied (cloned from the template).
pub async fn migrated_db() -> TestDb {
    let template = TEMPLATE.get_or_init(build_template).await;
    let name = unique_name("test");
    // Two clones of one template at the same instant may see each other as "other users"
    // of the template (SQLSTATE 55006); a short retry settles it.
    let mut attempt = 0;
    loop {
        match crmdb_pg::create_database(&mut admin().await, &name, Some(template)).await {
            Ok(_) => break,
            Err(e) if attempt < 50 && e.sqlstate().as_deref() == Some(OBJECT_IN_USE) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
            }
            Err(e) => panic!("cloning the template database {template}: {e}"),
        }
    }
    // A database's own privileges are not copied from its template: migration 0011's
    // REVOKE TEMPORARY is repeated on the clone, as migrating it would have done.
    sqlx::raw_sql(&format!(
        "REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC",
        quote(&name)
    ))
    .execute(&mut admin().await)
    .await
    .expect("revoking TEMPORARY on the clone");
    TestDb {
        url: url_for(&name),
        name,
    }
}

/// Builds the template database once per set of migrations: its name carries their
/// fingerprint, so a changed migration gets a new template and an unchanged one is reused.
async fn build_template() -> String {
    let migrations = crmdb_schema::migrations().expect("the embedded migrations are valid");
    let fingerprint = migrations.fingerprint();
    let name = format!("crmdb_template_{}", &fingerprint[..16]);
    let mut admin = admin().await;
    let exists = crmdb_pg::database_exists(&mut admin, &name)
        .await
        .expect("looking up the template");
    if exists {
        return name;
    }
    let building = unique_name("building");
    crmdb_pg::create_database(&mut admin, &building, None)
        .await
        .expect("creating the template database");
    let options = PgConnectOptions::from_str(&url_for(&building)).expect("a valid URL");
    crmdb_schema::roles::prepare_database(&options)
        .await
        .unwrap_or_else(|e| panic!("preparing the roles: {e}"));
    Migrator::new(migrations, Options::default())
        .apply(&options, None)
        .await
        .unwrap_or_else(|e| panic!("migrating the template database: {e}"));
    // The rename makes the finished template appear atomically; another test process that
    // built the same template first wins, and this copy is dropped.
    if crmdb_pg::rename_database(&mut admin, &building, &name)
        .await
        .is_err()
    {
        let _ = crmdb_pg::drop_database(&mut admin, &building).await;
    }
    name
}

/// A second, empty cluster for one test (a restore's destination): started on demand under
/// `target/crmdb-test/`, stopped and deleted when dropped, kept when the test fails.
pub struct SpareCluster {
    cluster: Cluster,
    endpoint: crmdb_cluster::Endpoint,
    watchdog: Option<Watchdog>,
}

impl SpareCluster {
    /// Starts a new cluster; only its superuser exists.
    pub fn start() -> SpareCluster {
        let home = test_homes_root().join(format!(
            "spare-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let cluster = Cluster::new(&home);
        let (endpoint, watchdog) = cluster
            .start_watched(Tuning::Disposable)
            .unwrap_or_else(|e| panic!("starting a spare cluster in {}: {e}", home.display()));
        SpareCluster {
            cluster,
            endpoint,
            watchdog: Some(watchdog),
        }
    }

    /// `database` as the cluster's superuser.
    pub fn superuser_url(&self, database: &str) -> String {
        self.endpoint.url(database)
    }

    /// `url` (a URL of the test server) with this cluster's port: the same login, password
    /// and database, here.
    pub fn same_login(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).expect("a valid URL");
        url.set_host(Some("127.0.0.1")).expect("a URL with a host");
        url.set_port(Some(self.endpoint.port))
            .expect("a URL with a host");
        url.to_string()
    }
}

impl Drop for SpareCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "kept the spare cluster {} for inspection: {}",
                self.cluster.home().display(),
                self.endpoint.url("postgres")
            );
            return;
        }
        drop(self.watchdog.take());
        if let Err(e) = self.cluster.purge() {
            eprintln!(
                "could not delete the spare cluster {}: {e}",
                self.cluster.home().display()
            );
        }
    }
}
