//! Who may do what in a live database: the roles of the privilege model, every table and
//! column privilege granted to someone other than the table's owner, and the SECURITY
//! DEFINER functions with their owner, settings and EXECUTE grantees. Read once, right after
//! the catalog, so the privilege rules are pure functions of plain data.

use sqlx::PgConnection;

use crate::roles::ROLES;

#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    /// The roles of [`ROLES`] that exist.
    pub roles: Vec<RoleRow>,
    /// Logins that are members of a crm_* role, with their attributes.
    pub members: Vec<MemberRow>,
    pub grants: Vec<GrantRow>,
    pub definers: Vec<DefinerRow>,
    /// The roles of the model that may create temporary objects in this database.
    pub temporary: Vec<String>,
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

/// One privilege on a table (or one of its columns) held by a role other than its owner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub(crate) struct GrantRow {
    pub table: String,
    /// A role name, or `PUBLIC`.
    pub grantee: String,
    /// `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `REFERENCES` or `TRIGGER`.
    pub privilege: String,
    /// `None` for the whole table.
    pub column: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct DefinerRow {
    /// `name(type,type)`, as `regprocedure` prints it.
    pub signature: String,
    pub owner: String,
    /// `proconfig`: the settings the function pins, `name=value`.
    pub config: Vec<String>,
    /// The roles (or `PUBLIC`) that may execute it, besides its owner.
    pub execute: Vec<String>,
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

// aclexplode's grantee 0 is PUBLIC. A table without an ACL has its owner's defaults only.
const GRANT_ROWS: &str = "
SELECT c.relname::text AS table, coalesce(g.rolname::text, 'PUBLIC') AS grantee,
       a.privilege_type::text AS privilege, NULL::text AS column
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.grantee <> c.relowner
UNION ALL
SELECT c.relname::text, coalesce(g.rolname::text, 'PUBLIC'), a.privilege_type::text,
       att.attname::text
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute att ON att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
CROSS JOIN LATERAL aclexplode(att.attacl) AS a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND att.attacl IS NOT NULL
  AND a.grantee <> c.relowner
ORDER BY 1, 2, 3, 4";

const DEFINER_ROWS: &str = "
SELECT p.oid::regprocedure::text AS signature, pg_get_userbyid(p.proowner)::text AS owner,
       coalesce(p.proconfig, '{}') AS config,
       ARRAY(SELECT coalesce(g.rolname::text, 'PUBLIC')
             FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
             LEFT JOIN pg_roles g ON g.oid = a.grantee
             WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
             ORDER BY 1) AS execute
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prosecdef
ORDER BY 1";

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
        grants: sqlx::query_as(GRANT_ROWS).fetch_all(&mut *conn).await?,
        definers: sqlx::query_as(DEFINER_ROWS).fetch_all(&mut *conn).await?,
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
