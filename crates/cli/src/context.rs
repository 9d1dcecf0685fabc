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
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
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

impl Context {
    pub fn new(global: GlobalArgs) -> Context {
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
                let (endpoint, startup) =
                    tokio::task::spawn_blocking(move || cluster.ensure_running(Tuning::Durable))
                        .await?
                        .context("could not start the embedded PostgreSQL cluster")?;
                (endpoint.url(EMBEDDED_DATABASE), Some(startup))
            }
            None => (self.global.database_url.clone().unwrap_or_default(), None),
        };
        let options = PgConnectOptions::from_str(&url).with_context(|| {
            "the database URL is not valid; it should look like \
             postgres://user:password@host:5432/database"
        })?;
        let (created, server_version) = create_if_missing(&options).await?;
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
    /// The keyring that seals secrets: `CRMDB_ENCRYPTION_KEY` when set; otherwise, for the
    /// embedded cluster, a key generated once into the home directory (mode 0600). An
    /// external server without a key is an error: a generated key would be lost with the
    /// machine, and the secrets with it.
    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        if let Ok(value) = std::env::var(crmdb_secrets::KEY_VAR) {
            return Keyring::parse(&SecretString::from(value))
                .context("could not read the encryption keys");
        }
        if self.global.database_url.is_some() {
            anyhow::bail!(
                "{} is not set; with an external database crmdb needs the key that seals its \
                 secrets: set it to a base64 key of 32 bytes (`openssl rand -base64 32`) and \
                 keep it safe",
                crmdb_secrets::KEY_VAR
            );
        }
        let path = self.global.home.join(KEY_FILE);
        if !path.exists() {
            std::fs::create_dir_all(&self.global.home)
                .with_context(|| format!("could not create {}", self.global.home.display()))?;
            // Written whole under a private name, then linked into place: a concurrent
            // crmdb either wins the link or reads the winner's complete key.
            let key = Key::generate();
            let staging =
                crate::private_file::stage(&path, key.to_base64().expose_secret().as_bytes())?;
            let linked = std::fs::hard_link(&staging, &path);
            std::fs::remove_file(&staging).ok();
            match linked {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(e).with_context(|| format!("could not create {}", path.display()))
                }
                _ => {}
            }
        }
        let value = std::fs::read_to_string(&path)
            .with_context(|| format!("could not read {}", path.display()))?;
        Keyring::parse(&SecretString::from(value.trim().to_owned()))
            .with_context(|| format!("the key in {} is invalid", path.display()))
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
