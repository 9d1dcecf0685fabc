//! The cluster-wide roles of the privilege model, and the logins handed out to the
//! application, the workers and reporting.
//!
//! Roles live in the cluster, not in a database, so some of what the model needs cannot
//! come from the per-database migrations when the migrating login is a managed service's
//! admin (`LOGIN CREATEDB CREATEROLE`, neither SUPERUSER nor BYPASSRLS):
//! - migration 0010 says `CREATE ROLE crm_owner ... BYPASSRLS` when the role is missing,
//!   which only a superuser (15) or a BYPASSRLS role (16+) may do; created here first,
//!   without the attribute, that statement is skipped;
//! - `ALTER FUNCTION ... OWNER TO crm_owner` needs the migrating login to be a member of
//!   crm_owner (15) and to be allowed to `SET ROLE` to it (16+), and crm_owner to have
//!   `CREATE` on schema `public`.
//!
//! [`prepare`] does exactly that before every apply; it is idempotent and safe when several
//! databases of one cluster migrate at once (a concurrent creator's duplicate is ignored).
//! Role names are constants, quoted through [`crate::ident`] like every dynamic identifier.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crmdb_pg::ident::{quote_ident, quote_literal, InvalidIdentifier};
use crmdb_pg::sqlstate::{self, DUPLICATE_OBJECT, UNIQUE_VIOLATION};

/// Owns the SECURITY DEFINER functions.
pub const OWNER: &str = "crm_owner";
/// The web application's role: what a tenant transaction runs as.
pub const APP: &str = "crm_app";
/// The background workers' role: the application's rights and the cross-organization claim.
pub const WORKER: &str = "crm_worker";
/// Reporting: reads one organization at a time, never a credential.
pub const READONLY: &str = "crm_readonly";

/// Every role of the model, none of which can log in.
pub const ROLES: [&str; 4] = [OWNER, APP, WORKER, READONLY];

/// The repair when the roles are missing where a database was restored: a dump holds the
/// grants and owners but not the roles they name, and a restore without them drops both.
pub const RESTORE_ROLES: &str = "restore the roles first: pg_dumpall --roles-only on the old \
     cluster, psql -f of its output on this one; then restore the database again into a new \
     database (a restore without the roles lost every grant to them and every object they own)";

/// What a login is for: the one role it may enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    App,
    Worker,
    Readonly,
}

impl LoginKind {
    /// The role a login of this kind is a member of.
    pub fn role(self) -> &'static str {
        match self {
            LoginKind::App => APP,
            LoginKind::Worker => WORKER,
            LoginKind::Readonly => READONLY,
        }
    }
}

/// Why the roles could not be prepared or a login could not be created.
#[derive(Debug, thiserror::Error)]
pub enum RolesError {
    #[error("could not create the role {role}: {source}")]
    CreateRole {
        role: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the login {login} cannot become {role}, which migrations need ({source}); ask a role \
         with ADMIN OPTION on {role} to run: GRANT {role} TO {login}"
    )]
    Membership {
        role: &'static str,
        login: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "crm_owner lacks CREATE on schema public, which owning functions there needs \
         ({source}); ask the database owner to run: GRANT CREATE ON SCHEMA public TO crm_owner"
    )]
    SchemaCreate {
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the role {0} exists but is not a crmdb login (it can create roles or databases, is a \
         superuser, bypasses row-level security, or belongs to other roles); choose another name"
    )]
    NotALogin(String),
    #[error(
        "the role {role} is missing; run `crmdb migrate apply` (or `crmdb up`) against this \
         database first"
    )]
    MissingRole { role: &'static str },
    #[error("could not create or update the login {login}: {source}")]
    Login {
        login: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    InvalidIdentifier(#[from] InvalidIdentifier),
    #[error("could not read the roles of the cluster: {0}")]
    Read(#[source] sqlx::Error),
}

/// Creates the roles that are missing, lets crm_worker inherit crm_app, lets the migrating
/// login (unless it is a superuser) become every role, and gives crm_owner `CREATE` on
/// schema `public`.
pub async fn prepare(conn: &mut PgConnection) -> Result<(), RolesError> {
    prepare_as(conn, Missing::Create).await
}

/// What [`prepare`] does with a role of the model that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    Create,
    /// Fail with [`RolesError::MissingRole`]: roles are cluster-wide, and a check (schema
    /// drift) must not change the cluster it checks.
    Refuse,
}

async fn prepare_as(conn: &mut PgConnection, missing: Missing) -> Result<(), RolesError> {
    // Two runs on one database would update the same ACL of schema public at once, which
    // PostgreSQL refuses ("tuple concurrently updated"): one at a time per database. A
    // session lock, because a duplicate from another database's run must not abort a
    // transaction; it ends with the connection at the latest.
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(PREPARE_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(RolesError::Read)?;
    let prepared = prepare_locked(conn, missing).await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(PREPARE_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(RolesError::Read)?;
    prepared
}

/// The advisory lock key of [`prepare`]: "crmdbrol" in ASCII, apart from the migrator's.
const PREPARE_LOCK: i64 = 0x63_72_6d_64_62_72_6f_6c;

async fn prepare_locked(conn: &mut PgConnection, missing: Missing) -> Result<(), RolesError> {
    if missing == Missing::Refuse {
        if let Some(role) = missing_roles(conn).await?.into_iter().next() {
            return Err(RolesError::MissingRole { role });
        }
    }
    for role in ROLES {
        let create = format!("CREATE ROLE {} NOLOGIN", quote_ident(role)?);
        if !role_exists(conn, role).await? {
            run_unless_concurrent(conn, &create)
                .await
                .map_err(|source| RolesError::CreateRole {
                    role: role.to_owned(),
                    source,
                })?;
        }
    }
    if !has_role(conn, WORKER, APP).await? {
        run_unless_concurrent(conn, "GRANT crm_app TO crm_worker")
            .await
            .map_err(|source| RolesError::CreateRole {
                role: WORKER.to_owned(),
                source,
            })?;
    }
    let (login, superuser): (String, bool) = sqlx::query_as(
        "SELECT current_user::text, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(RolesError::Read)?;
    if !superuser {
        for role in ROLES {
            if has_role(conn, &login, role).await? {
                continue;
            }
            // INHERIT (the login's default) to own and replace crm_owner's functions; on
            // 16+ a plain GRANT also gives SET, which handing a function over needs.
            let grant = format!("GRANT {} TO CURRENT_USER", quote_ident(role)?);
            run_unless_concurrent(conn, &grant)
                .await
                .map_err(|source| RolesError::Membership {
                    role,
                    login: login.clone(),
                    source,
                })?;
        }
    }
    let owner_creates: bool =
        sqlx::query_scalar("SELECT has_schema_privilege('crm_owner', 'public', 'CREATE')")
            .fetch_one(&mut *conn)
            .await
            .map_err(RolesError::Read)?;
    if !owner_creates {
        sqlx::raw_sql("GRANT CREATE ON SCHEMA public TO crm_owner")
            .execute(&mut *conn)
            .await
            .map_err(|source| RolesError::SchemaCreate { source })?;
    }
    Ok(())
}

/// The roles of the model the cluster lacks, in [`ROLES`] order.
pub async fn missing_roles(conn: &mut PgConnection) -> Result<Vec<&'static str>, RolesError> {
    let mut missing = Vec::new();
    for role in ROLES {
        if !role_exists(conn, role).await? {
            missing.push(role);
        }
    }
    Ok(missing)
}

/// Whether a role (or login) named `role` exists in the cluster.
pub async fn role_exists(conn: &mut PgConnection, role: &str) -> Result<bool, RolesError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(&mut *conn)
        .await
        .map_err(RolesError::Read)
}

/// Whether `member` has the privileges of `role` (directly or through other roles).
async fn has_role(conn: &mut PgConnection, member: &str, role: &str) -> Result<bool, RolesError> {
    sqlx::query_scalar("SELECT pg_catalog.pg_has_role($1, $2, 'USAGE')")
        .bind(member)
        .bind(role)
        .fetch_one(&mut *conn)
        .await
        .map_err(RolesError::Read)
}

/// Runs a role statement; another database's migration doing the same at the same time
/// (roles are cluster-wide) shows as a duplicate, which is success.
async fn run_unless_concurrent(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    match sqlx::raw_sql(sql).execute(&mut *conn).await {
        Ok(_) => Ok(()),
        Err(e) if sqlstate::is(&e, &[DUPLICATE_OBJECT, UNIQUE_VIOLATION]) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether [`ensure_login`] created the login or gave an existing one a new password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Created,
    PasswordSet,
}

/// Creates `name` as a login of `kind` (`LOGIN NOINHERIT`, member of that kind's role
/// only), or sets the password of such a login that exists. `verifier` is the password's
/// SCRAM-SHA-256 verifier, so the password itself never reaches the server or its logs.
/// A role of that name that is more than a login (a superuser, an admin, a member of other
/// roles) is refused, never converted.
pub async fn ensure_login(
    conn: &mut PgConnection,
    name: &str,
    kind: LoginKind,
    verifier: &str,
) -> Result<LoginOutcome, RolesError> {
    let role = kind.role();
    let quoted = quote_ident(name)?;
    if !role_exists(conn, role).await? {
        return Err(RolesError::MissingRole { role });
    }
    let existing: Option<(bool, Vec<String>)> = sqlx::query_as(
        "SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolbypassrls OR r.rolreplication, \
                coalesce(array_agg(g.rolname::text) FILTER (WHERE g.rolname IS NOT NULL), '{}') \
           FROM pg_catalog.pg_roles AS r \
           LEFT JOIN pg_catalog.pg_auth_members AS m ON m.member = r.oid \
           LEFT JOIN pg_catalog.pg_roles AS g ON g.oid = m.roleid \
          WHERE r.rolname = $1 \
          GROUP BY r.oid, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, r.rolreplication",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(RolesError::Read)?;
    let login_error = |source| RolesError::Login {
        login: name.to_owned(),
        source,
    };
    let (verb, outcome) = match existing {
        Some((privileged, member_of)) => {
            if privileged || member_of.iter().any(|m| m != role) {
                return Err(RolesError::NotALogin(name.to_owned()));
            }
            ("ALTER", LoginOutcome::PasswordSet)
        }
        None => ("CREATE", LoginOutcome::Created),
    };
    let sql = format!(
        "{verb} ROLE {quoted} LOGIN NOINHERIT PASSWORD {}",
        quote_literal(verifier)
    );
    sqlx::raw_sql(&sql)
        .execute(&mut *conn)
        .await
        .map_err(login_error)?;
    let grant = format!("GRANT {} TO {quoted}", quote_ident(role)?);
    sqlx::raw_sql(&grant)
        .execute(&mut *conn)
        .await
        .map_err(login_error)?;
    Ok(outcome)
}

/// [`prepare`] on a connection of its own to the database that is about to be migrated.
pub async fn prepare_database(options: &PgConnectOptions) -> Result<(), RolesError> {
    prepare_database_as(options, Missing::Create).await
}

/// [`prepare_database`] for a database that is migrated only to be read (a scratch
/// database): a role of the model that is missing is [`RolesError::MissingRole`], never
/// created.
pub async fn prepare_database_with_existing_roles(
    options: &PgConnectOptions,
) -> Result<(), RolesError> {
    prepare_database_as(options, Missing::Refuse).await
}

async fn prepare_database_as(
    options: &PgConnectOptions,
    missing: Missing,
) -> Result<(), RolesError> {
    let mut conn = PgConnection::connect_with(options)
        .await
        .map_err(RolesError::Read)?;
    prepare_as(&mut conn, missing).await?;
    conn.close().await.map_err(RolesError::Read)
}
