//! A table's row-level security policies.

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Policy {
    pub name: String,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    pub permissive: bool,
    /// Sorted; `public` when it applies to everyone.
    pub roles: Vec<String>,
    #[sqlx(rename = "qual")]
    pub using: Option<String>,
    pub with_check: Option<String>,
}

impl Policy {
    /// The policy as one line, as drift compares it and the docs show it:
    /// `PERMISSIVE FOR ALL TO crm_app USING (…) WITH CHECK (…)`.
    pub fn text(&self) -> String {
        let mut text = format!(
            "{} FOR {} TO {}",
            if self.permissive {
                "PERMISSIVE"
            } else {
                "RESTRICTIVE"
            },
            self.command,
            self.roles.join(", ")
        );
        if let Some(using) = &self.using {
            text.push_str(&format!(" USING ({using})"));
        }
        if let Some(check) = &self.with_check {
            text.push_str(&format!(" WITH CHECK ({check})"));
        }
        text
    }
}

// pg_policies spells out the command, the roles and the expressions.
pub(super) const POLICIES: &str = "
SELECT c.oid AS table_oid, p.policyname::text AS name, p.cmd AS command,
       p.permissive = 'PERMISSIVE' AS permissive,
       ARRAY(SELECT r::text FROM unnest(p.roles) AS r ORDER BY r::text COLLATE \"C\") AS roles,
       p.qual, p.with_check
FROM pg_policies p
JOIN pg_namespace n ON n.nspname = p.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
WHERE c.oid = ANY($1)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_reads_as_one_line() {
        let mut policy = Policy {
            name: "tenant_isolation".into(),
            command: "ALL".into(),
            permissive: true,
            roles: vec!["crm_app".into(), "crm_readonly".into()],
            using: Some("(organization_id = current_organization_id())".into()),
            with_check: None,
        };
        assert_eq!(
            policy.text(),
            "PERMISSIVE FOR ALL TO crm_app, crm_readonly USING ((organization_id = \
             current_organization_id()))"
        );
        policy.permissive = false;
        policy.using = None;
        policy.with_check = Some("true".into());
        assert_eq!(
            policy.text(),
            "RESTRICTIVE FOR ALL TO crm_app, crm_readonly WITH CHECK (true)"
        );
    }
}
