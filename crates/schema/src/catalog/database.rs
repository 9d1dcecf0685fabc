//! The database itself and its schema `public`: who owns them and who may connect, create
//! temporary tables, use or create in them. A `pg_restore` without `--create` leaves the
//! database's privileges at their defaults, and one into a cluster without the roles loses
//! the schema's grants: both are read here so drift and the audit can see it.

use super::grant::Grant;

/// The database the catalog was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Database {
    pub name: String,
    pub owner: String,
    /// Held by roles other than the owner, the defaults (PUBLIC may connect and create
    /// temporary tables) included.
    pub grants: Vec<Grant>,
}

/// Schema `public`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace {
    /// `pg_database_owner` on a database created on PostgreSQL 15 or newer.
    pub owner: String,
    /// Held by roles other than the owner, the defaults included.
    pub grants: Vec<Grant>,
}

pub(super) const DATABASE: &str = "
SELECT d.datname::text, pg_get_userbyid(d.datdba)::text
FROM pg_database d WHERE d.datname = current_database()";

// A NULL ACL means the defaults, which acldefault spells out: the same privileges read the
// same whether they were ever changed or not.
pub(super) const DATABASE_GRANTS: &str = "
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee,
       NULL::text AS column_name, a.privilege_type AS privilege
FROM pg_database d
CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
WHERE d.datname = current_database() AND a.grantee <> d.datdba";

pub(super) const NAMESPACE: &str = "
SELECT pg_get_userbyid(n.nspowner)::text FROM pg_namespace n WHERE n.nspname = 'public'";

pub(super) const NAMESPACE_GRANTS: &str = "
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee,
       NULL::text AS column_name, a.privilege_type AS privilege
FROM pg_namespace n
CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
WHERE n.nspname = 'public' AND a.grantee <> n.nspowner";
