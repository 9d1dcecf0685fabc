//! Who may log in and act in a live database, beyond its schema: the roles of the privilege
//! model, the logins that are members of them, and which may create temporary tables. Read
//! once, right after the catalog (whose grants and functions the privilege rules judge too),
//! so the privilege rules are pure functions of plain data.

use sqlx::PgConnection;

use crate::roles::ROLES;

#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    /// The roles of [`ROLES`] that exist.
    pub roles: Vec<RoleRow>,
    /// Logins that are members of a crm_* role, with their attributes.
    pub members: Vec<MemberRow>,
    /// The roles of the model that may create temporary objects in this database.
    pub temporary: Vec<String>,
}

impl Access {
    /// Whether the role `name` of the model exists. A restore into a cluster without the
    /// roles loses every grant to them and every object they own: the rules report the
    /// missing role once (`roles`) rather than each of its grants.
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.name == name)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RoleRow {
    pub name: String,
    pub superuser: bool,
    pub bypassrls: bool,
    pub can_login: bool,
    /// The roles it is a member of.
    pub member_of: Vec<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub login: String,
    pub role: String,
    pub inherit: bool,
    /// A superuser, or a login that may create roles or databases: an admin, not one of the
    /// logins handed out.
    pub admin: bool,
}

const ROLE_ROWS: &str = "
SELECT r.rolname::text AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
       r.rolcanlogin AS can_login,
       ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
             WHERE m.member = r.oid ORDER BY 1) AS member_of
FROM pg_roles r
WHERE r.rolname = ANY($1)
ORDER BY r.rolname";

const MEMBER_ROWS: &str = "
SELECT DISTINCT l.rolname::text AS login, g.rolname::text AS role, l.rolinherit AS inherit,
       l.rolsuper OR l.rolcreaterole OR l.rolcreatedb AS admin
FROM pg_auth_members m
JOIN pg_roles g ON g.oid = m.roleid
JOIN pg_roles l ON l.oid = m.member
WHERE g.rolname = ANY($1) AND l.rolcanlogin
ORDER BY 1, 2";

const TEMPORARY: &str = "
SELECT r.rolname::text FROM pg_roles r
WHERE r.rolname = ANY($1) AND has_database_privilege(r.oid, current_database(), 'TEMPORARY')
ORDER BY 1";

/// Reads the access model on `conn`, inside the audit's transaction.
pub(crate) async fn load(conn: &mut PgConnection) -> Result<Access, sqlx::Error> {
    let roles: Vec<&str> = ROLES.to_vec();
    Ok(Access {
        roles: sqlx::query_as(ROLE_ROWS)
            .bind(&roles)
            .fetch_all(&mut *conn)
            .await?,
        members: sqlx::query_as(MEMBER_ROWS)
            .bind(&roles)
            .fetch_all(&mut *conn)
            .await?,
        temporary: sqlx::query_scalar(TEMPORARY)
            .bind(
                &[
                    crate::roles::APP,
                    crate::roles::WORKER,
                    crate::roles::READONLY,
                ][..],
            )
            .fetch_all(&mut *conn)
            .await?,
    })
}
