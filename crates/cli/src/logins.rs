//! The logins crmdb hands out: the application and worker logins of the embedded cluster
//! (created on `up`, their passwords kept in the home, mode 0600), and a login of any kind
//! on any database (`crmdb roles login`). The URL of a login is the admin URL with the
//! login's name and password in place of the admin's.

use std::path::Path;

use anyhow::Context as _;
use crmdb_schema::roles::{self, LoginKind, LoginOutcome};
use crmdb_secrets::{ExposeSecret, SecretString};
use sqlx::{Connection, PgConnection};

use crate::context::Database;

/// A login of the embedded cluster: its role name and the home file of its password.
pub struct EmbeddedLogin {
    pub name: &'static str,
    pub kind: LoginKind,
    file: &'static str,
}

/// The application login: `APP_DATABASE_URL`.
pub const APP: EmbeddedLogin = EmbeddedLogin {
    name: "crmdb_app",
    kind: LoginKind::App,
    file: "app.password",
};

/// The worker login: `WORKER_DATABASE_URL`.
pub const WORKER: EmbeddedLogin = EmbeddedLogin {
    name: "crmdb_worker",
    kind: LoginKind::Worker,
    file: "worker.password",
};

/// Creates (or gives a new password to) `name` as a login of `kind` on the database's
/// server, and returns its password and which of the two happened.
pub async fn create(
    database: &Database,
    name: &str,
    kind: LoginKind,
) -> anyhow::Result<(SecretString, LoginOutcome)> {
    let password = crmdb_secrets::generate_password();
    let verifier = crmdb_secrets::scram_sha256_verifier(&password);
    let mut conn = PgConnection::connect_with(&database.options)
        .await
        .context("could not connect to create the login")?;
    let outcome = roles::ensure_login(&mut conn, name, kind, &verifier)
        .await
        .with_context(|| format!("could not create the login {name}"))?;
    conn.close().await.ok();
    Ok((password, outcome))
}

/// The URL of the embedded cluster's `login`, creating the login (or resetting a password
/// that was lost) when its file is missing or the role is. Returns whether it changed
/// anything.
pub async fn embedded(
    home: &Path,
    database: &Database,
    login: &EmbeddedLogin,
) -> anyhow::Result<(String, bool)> {
    let path = home.join(login.file);
    // Two `up`s at once would both create the login and race on its password file.
    let cluster = crmdb_cluster::Cluster::new(home);
    let _lock = tokio::task::spawn_blocking(move || cluster.lock())
        .await?
        .context("could not lock the home to create the logins")?;
    let mut conn = PgConnection::connect_with(&database.options)
        .await
        .context("could not connect to look up the logins")?;
    let exists = crmdb_schema::roles::role_exists(&mut conn, login.name)
        .await
        .context("could not look up the logins")?;
    conn.close().await.ok();
    if exists {
        if let Ok(password) = std::fs::read_to_string(&path) {
            let password = SecretString::from(password.trim().to_owned());
            return Ok((url_for(&database.url, login.name, &password)?, false));
        }
    }
    let (password, _) = create(database, login.name, login.kind).await?;
    write_private(&path, &password)?;
    Ok((url_for(&database.url, login.name, &password)?, true))
}

/// The password file, readable by its owner only, replaced whole.
fn write_private(path: &Path, password: &SecretString) -> anyhow::Result<()> {
    let staging = crate::private_file::stage(path, password.expose_secret().as_bytes())?;
    std::fs::rename(&staging, path).with_context(|| format!("could not create {}", path.display()))
}

/// `admin_url` with `login` and `password` as its user.
pub fn url_for(admin_url: &str, login: &str, password: &SecretString) -> anyhow::Result<String> {
    let mut url = url::Url::parse(admin_url).context("the database URL is not valid")?;
    url.set_username(login)
        .map_err(|()| anyhow::anyhow!("the database URL has no host to log in to"))?;
    url.set_password(Some(password.expose_secret()))
        .map_err(|()| anyhow::anyhow!("the database URL has no host to log in to"))?;
    Ok(url.to_string())
}
