//! The functions and procedures of schema `public`: their definition, and who owns, may
//! execute and is trusted by them (SECURITY DEFINER, pinned settings).

use super::grant::Grant;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Function {
    /// The `CREATE OR REPLACE FUNCTION` statement, as `pg_get_functiondef` prints it.
    pub definition: String,
    pub comment: Option<String>,
    pub owner: String,
    /// SECURITY DEFINER: it runs with its owner's rights.
    pub security_definer: bool,
    /// The settings it pins (`proconfig`), `name=value`.
    pub config: Vec<String>,
    /// As granted, sorted: none when the function has its default privileges.
    #[sqlx(skip)]
    pub grants: Vec<Grant>,
    /// The roles (or `PUBLIC`) that may execute it besides its owner, sorted; the default
    /// privileges (PUBLIC may) included.
    pub executable_by: Vec<String>,
}

pub(super) const FUNCTIONS: &str = "
SELECT p.oid::regprocedure::text AS signature, pg_get_functiondef(p.oid) AS definition,
       obj_description(p.oid, 'pg_proc') AS comment, pg_get_userbyid(p.proowner)::text AS owner,
       p.prosecdef AS security_definer, coalesce(p.proconfig, '{}') AS config,
       ARRAY(SELECT DISTINCT (CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                   ELSE pg_get_userbyid(a.grantee)::text END) COLLATE \"C\"
             FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
             WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
             ORDER BY 1) AS executable_by
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')";
