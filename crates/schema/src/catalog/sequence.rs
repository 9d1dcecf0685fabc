//! The sequences of schema `public` (those of identity columns included): who owns them and
//! who may use them. The migrations create none today; one a restore or a hand brings shows.

use super::grant::Grant;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sequence {
    pub owner: String,
    /// Held by roles other than the owner.
    pub grants: Vec<Grant>,
}

pub(super) const SEQUENCES: &str = "
SELECT c.relname::text AS name, pg_get_userbyid(c.relowner)::text AS owner
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'S'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')";

pub(super) const SEQUENCE_GRANTS: &str = "
SELECT c.relname::text AS name,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee,
       NULL::text AS column_name, a.privilege_type AS privilege
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE n.nspname = 'public' AND c.relkind = 'S' AND a.grantee <> c.relowner";
