//! Global options and the database they select: the server of `--database-url`, or the
//! embedded cluster of `--home`, started on demand.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context as _;
use crmdb_cluster::{Cluster, Startup, Tuning};
use crmdb_pg::sqlstate::{self, INVALID_CATALOG_NAME};
use crmdb_secrets::{ExposeSecret, Key, Keyring, SecretString};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::render::Renderer;

/// The file of the embedded home that holds the generated encryption key.
const KEY_FILE: &str = "encryption.key";

/// The database the embedded cluster serves the CRM from.
pub const EMBEDDED_DATABASE: &str = "crm";

/// Options shared by every command.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Use this PostgreSQL server and database instead of the embedded cluster.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// The directory of the embedded cluster.
    #[arg(long, env = "CRMDB_HOME", global = true, default_value = ".crmdb")]
    pub home: PathBuf,
    /// Print machine-readable JSON instead of text (errors too).
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds to wait for the database server to answer a connection before giving up.
    #[arg(
        long,
        env = "CRMDB_CONNECT_TIMEOUT",
        global = true,
        default_value_t = 10,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub connect_timeout: u64,
}

/// What every command gets: the global options and the renderer.
#[derive(Debug)]
pub struct Context {
    pub global: GlobalArgs,
    pub out: Renderer,
}

/// A database that exists and accepts connections.
#[derive(Debug)]
pub struct Database {
    pub url: String,
    pub options: PgConnectOptions,
    /// What the embedded cluster had to do; `None` for an external server.
    pub startup: Option<Startup>,
    /// True when this call created the database.
    pub created: bool,
    /// The server's version, such as `18.4`.
    pub server_version: String,
}

impl Database {
    /// The data layer's connection settings for the same database (the data layer connects
    /// with tokio-postgres, the session tools with sqlx), with the command's connect timeout.
    pub fn store_config(&self, connect_timeout: u64) -> anyhow::Result<tokio_postgres::Config> {
        let mut config: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|_| anyhow::anyhow!("the database URL is not one the data layer accepts"))?;
        config.connect_timeout(std::time::Duration::from_secs(connect_timeout));
        Ok(config)
    }
}

impl Context {
    /// [`Database::store_config`] of the command's database.
    pub async fn store_config(&self) -> anyhow::Result<tokio_postgres::Config> {
        self.database()
            .await?
            .store_config(self.global.connect_timeout)
    }

    pub fn new(mut global: GlobalArgs) -> Context {
        // `DATABASE_URL=` (set but empty) means no URL, as it does for libpq's variables.
        if global.database_url.as_deref().is_some_and(str::is_empty) {
            global.database_url = None;
        }
        let out = Renderer::new(global.json);
        Context { global, out }
    }

    /// The embedded cluster, or `None` when a database URL was given.
    pub fn embedded(&self) -> Option<Cluster> {
        match self.global.database_url {
            Some(_) => None,
            None => Some(Cluster::new(&self.global.home)),
        }
    }

    /// The target database, started and created if needed.
    pub async fn database(&self) -> anyhow::Result<Database> {
        let (url, startup) = match self.embedded() {
            Some(cluster) => {
                check_home(&self.global.home)?;
                let (endpoint, startup) =
                    tokio::task::spawn_blocking(move || cluster.ensure_running(Tuning::Durable))
                        .await?
                        .context("could not start the embedded PostgreSQL cluster")?;
                (endpoint.url(EMBEDDED_DATABASE), Some(startup))
            }
            None => (self.global.database_url.clone().unwrap_or_default(), None),
        };
        let options = parse_url(&url)?;
        let timeout = std::time::Duration::from_secs(self.global.connect_timeout);
        let (created, server_version) = tokio::time::timeout(timeout, create_if_missing(&options))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "{} did not answer within {} s; check the host and port, or wait longer \
                     with --connect-timeout (or CRMDB_CONNECT_TIMEOUT)",
                    server_description(&options),
                    self.global.connect_timeout
                )
            })??;
        Ok(Database {
            url,
            options,
            startup,
            created,
            server_version,
        })
    }
}

impl Context {
    /// The keyring that seals secrets. With an external server: `CRMDB_ENCRYPTION_KEY`, which
    /// must be set — a generated key would be lost with the machine, and the secrets with it.
    /// With the embedded cluster the home's key file (mode 0600) is the record: generated
    /// on first use, and when `CRMDB_ENCRYPTION_KEY` brings keys the file lacks they are
    /// written into it first (the given current key first, every stored key kept), so the
    /// next command without the variable still opens everything sealed under them.
    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        let given = match std::env::var(crmdb_secrets::KEY_VAR) {
            Ok(value) => Some(
                Keyring::parse(&SecretString::from(value))
                    .with_context(|| format!("could not read {}", crmdb_secrets::KEY_VAR))?,
            ),
            Err(_) => None,
        };
        if self.global.database_url.is_some() {
            return given.with_context(|| {
                format!(
                    "{} is not set; with an external database crmdb needs the key that seals \
                     its secrets: set it to a base64 key of 32 bytes (`openssl rand -base64 \
                     32`) and keep it safe",
                    crmdb_secrets::KEY_VAR
                )
            });
        }
        let path = self.key_file();
        let stored = if path.exists() {
            Some(read_keyring(&path)?)
        } else {
            None
        };
        match (given, stored) {
            (None, Some(stored)) => Ok(stored),
            (None, None) => {
                self.create_home()?;
                // Written whole under a private name, then linked into place: a concurrent
                // crmdb either wins the link or reads the winner's complete key.
                let key = Key::generate();
                let staging =
                    crate::private_file::stage(&path, key.to_base64().expose_secret().as_bytes())?;
                let linked = std::fs::hard_link(&staging, &path);
                std::fs::remove_file(&staging).ok();
                match linked {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(e)
                            .with_context(|| format!("could not create {}", path.display()))
                    }
                    _ => {}
                }
                read_keyring(&path)
            }
            (Some(given), None) => {
                self.create_home()?;
                self.store_keyring(&given)?;
                Ok(given)
            }
            (Some(given), Some(stored)) => {
                let stored_ids: Vec<String> = stored.ids().into_iter().map(str::to_owned).collect();
                let merged = given.merged_with(stored);
                if merged.ids() != stored_ids {
                    self.store_keyring(&merged)?;
                }
                Ok(merged)
            }
        }
    }

    /// Keeps only the current key in the embedded home's key file, once no value is sealed
    /// under the others (after a complete rotation). Nothing to do for an external server,
    /// whose keys live in `CRMDB_ENCRYPTION_KEY` only. Returns the ids of the keys dropped.
    pub fn retire_old_keys(&self, keyring: Keyring) -> anyhow::Result<Vec<String>> {
        if self.global.database_url.is_some() {
            return Ok(Vec::new());
        }
        let all: Vec<String> = keyring.ids().into_iter().map(str::to_owned).collect();
        let current = keyring.current_only();
        if all.len() > 1 {
            self.store_keyring(&current)?;
        }
        Ok(all.into_iter().skip(1).collect())
    }

    fn key_file(&self) -> PathBuf {
        self.global.home.join(KEY_FILE)
    }

    fn create_home(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.global.home).with_context(|| {
            format!(
                "could not create the home directory {}; choose another with --home or \
                 CRMDB_HOME",
                self.global.home.display()
            )
        })
    }

    /// Replaces the key file whole: a reader sees the old ring or the new one.
    fn store_keyring(&self, keyring: &Keyring) -> anyhow::Result<()> {
        let path = self.key_file();
        let staging =
            crate::private_file::stage(&path, keyring.to_value().expose_secret().as_bytes())?;
        std::fs::rename(&staging, &path).with_context(|| {
            std::fs::remove_file(&staging).ok();
            format!("could not save the encryption keys in {}", path.display())
        })
    }
}

fn read_keyring(path: &std::path::Path) -> anyhow::Result<Keyring> {
    let value = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    Keyring::parse(&SecretString::from(value.trim().to_owned()))
        .with_context(|| format!("the key in {} is invalid", path.display()))
}

/// The connection options of a PostgreSQL URL. Any other scheme is refused by name, and
/// the password never appears in an error.
fn parse_url(url: &str) -> anyhow::Result<PgConnectOptions> {
    const SHAPE: &str = "it should look like postgres://user:password@host:5432/database";
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        Some("postgres" | "postgresql") => {}
        Some(other) => anyhow::bail!(
            "the database URL is a {other:?} URL; crmdb needs a PostgreSQL server: {SHAPE}"
        ),
        None => anyhow::bail!("the database URL has no scheme; {SHAPE}"),
    }
    PgConnectOptions::from_str(url)
        .with_context(|| format!("the database URL is not valid; {SHAPE}"))
}

/// The home must be a directory this user can write, or a path where one can be made:
/// caught here, the answer names the path and how to choose another, instead of the
/// operating system's bare "Permission denied" from deep inside the cluster's start.
/// Nothing is created here, so a command that fails later leaves no half-made home.
fn check_home(home: &std::path::Path) -> anyhow::Result<()> {
    use nix::unistd::{access, AccessFlags};
    let hint = "choose another with --home or CRMDB_HOME";
    let writable =
        |dir: &std::path::Path| access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_ok();
    match std::fs::metadata(home) {
        Ok(meta) if !meta.is_dir() => {
            anyhow::bail!("the home {} is not a directory; {hint}", home.display())
        }
        Ok(_) if !writable(home) => {
            anyhow::bail!(
                "the home {} is not writable by this user; {hint}",
                home.display()
            )
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let absolute = std::path::absolute(home).unwrap_or_else(|_| home.to_owned());
            let parent = absolute
                .ancestors()
                .skip(1)
                .find(|dir| dir.exists())
                .unwrap_or(std::path::Path::new("/"));
            if !parent.is_dir() || !writable(parent) {
                anyhow::bail!(
                    "the home {} cannot be created: {} is not a directory this user can \
                     write; {hint}",
                    home.display(),
                    parent.display()
                );
            }
            Ok(())
        }
        Err(e) => {
            Err(e).with_context(|| format!("could not open the home {}; {hint}", home.display()))
        }
    }
}

/// Creates the URL's database when it does not exist yet: whether it was created, and the
/// server's version.
async fn create_if_missing(options: &PgConnectOptions) -> anyhow::Result<(bool, String)> {
    let server = server_description(options);
    match PgConnection::connect_with(options).await {
        Ok(conn) => {
            let version = server_version(&conn);
            conn.close().await.ok();
            return Ok((false, version));
        }
        Err(e) if sqlstate::is(&e, &[INVALID_CATALOG_NAME]) => {}
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "could not connect to {server}; check that the server runs and that \
                     --database-url (or DATABASE_URL) names the right host, port, user and \
                     password, or unset it to use the embedded cluster"
                )
            });
        }
    }
    let name = options
        .get_database()
        .unwrap_or(EMBEDDED_DATABASE)
        .to_owned();
    let maintenance = options.clone().database("postgres");
    let mut conn = PgConnection::connect_with(&maintenance)
        .await
        .with_context(|| {
            format!(
                "database {name:?} does not exist on {server}, and creating it needs a \
                 connection to its `postgres` database, which failed; create the database by \
                 hand or use a role that may"
            )
        })?;
    let version = server_version(&conn);
    // False when another crmdb created it between our check and our CREATE.
    let created = crmdb_pg::create_database(&mut conn, &name, None)
        .await
        .with_context(|| format!("could not create database {name:?} on {server}"))?;
    Ok((created, version))
}

/// The version the server reported when the connection started (no query needed), as
/// `major.minor`; `unknown` from a server that reports none, as some poolers do.
fn server_version(conn: &PgConnection) -> String {
    match conn.server_version_num() {
        Some(num) => format!("{}.{}", num / 10_000, num % 10_000),
        None => "unknown".to_owned(),
    }
}

fn server_description(options: &PgConnectOptions) -> String {
    format!(
        "the PostgreSQL server at {}:{} as {:?}",
        options.get_host(),
        options.get_port(),
        options.get_username()
    )
}
