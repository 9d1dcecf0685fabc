//! Privileges held on a table, one of its columns or a function by a role other than its
//! owner (whose own are implied).

use std::collections::BTreeMap;

/// One privilege of one grantee, whoever granted it. Ordered by grantee, column, privilege.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct Grant {
    /// A role name, or `PUBLIC`.
    pub grantee: String,
    /// `None` for the whole table (and for a function).
    #[sqlx(rename = "column_name")]
    pub column: Option<String>,
    /// `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `REFERENCES`, `TRIGGER`, `EXECUTE`.
    pub privilege: String,
}

impl Grant {
    /// Grantee (or `grantee (column c)`) → its privileges, sorted: how drift compares grants
    /// and the docs list them.
    pub fn by_grantee(grants: &[Grant]) -> BTreeMap<String, Vec<String>> {
        let mut by_grantee: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for grant in grants {
            let holder = match &grant.column {
                None => grant.grantee.clone(),
                Some(column) => format!("{} (column {column})", grant.grantee),
            };
            by_grantee
                .entry(holder)
                .or_default()
                .push(grant.privilege.clone());
        }
        for privileges in by_grantee.values_mut() {
            privileges.sort();
            privileges.dedup();
        }
        by_grantee
    }
}

// aclexplode's grantee 0 is PUBLIC. A table without an ACL has its owner's privileges only.
pub(super) const TABLE_GRANTS: &str = "
SELECT c.oid AS table_oid,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee,
       NULL::text AS column_name, a.privilege_type AS privilege
FROM pg_class c
CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE c.oid = ANY($1) AND a.grantee <> c.relowner
UNION ALL
SELECT c.oid,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END,
       att.attname::text, a.privilege_type
FROM pg_attribute att
JOIN pg_class c ON c.oid = att.attrelid
CROSS JOIN LATERAL aclexplode(att.attacl) a
WHERE c.oid = ANY($1) AND att.attnum > 0 AND NOT att.attisdropped
  AND a.grantee <> c.relowner";

// Only what was granted: a function without an ACL has none here, though PUBLIC may
// execute it (see `Function::executable_by`).
pub(super) const FUNCTION_GRANTS: &str = "
SELECT p.oid::regprocedure::text AS signature,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee,
       NULL::text AS column_name, a.privilege_type AS privilege
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
CROSS JOIN LATERAL aclexplode(p.proacl) a
WHERE n.nspname = 'public' AND a.grantee <> p.proowner";

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(grantee: &str, column: Option<&str>, privilege: &str) -> Grant {
        Grant {
            grantee: grantee.into(),
            column: column.map(Into::into),
            privilege: privilege.into(),
        }
    }

    #[test]
    fn grants_group_by_grantee_and_column() {
        let grants = [
            grant("crm_app", None, "UPDATE"),
            grant("crm_app", None, "SELECT"),
            grant("crm_app", Some("name"), "UPDATE"),
            grant("crm_app", None, "SELECT"),
            grant("PUBLIC", None, "SELECT"),
        ];
        let grouped: Vec<(String, Vec<String>)> = Grant::by_grantee(&grants).into_iter().collect();
        assert_eq!(
            grouped,
            [
                ("PUBLIC".to_owned(), vec!["SELECT".to_owned()]),
                (
                    "crm_app".to_owned(),
                    vec!["SELECT".to_owned(), "UPDATE".to_owned()]
                ),
                (
                    "crm_app (column name)".to_owned(),
                    vec!["UPDATE".to_owned()]
                ),
            ]
        );
    }
}
