//! tenant-row-level-security: a tenant table has row-level security enabled and forced (the
//! owner is subject to it too) and at least one policy, somewhere in the linted set; without
//! a policy a forced table shows no rows at all.

use crate::check::{Context, Violation};
use crate::rule::Rule;

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    ctx.model
        .tables
        .values()
        .filter(|t| t.is_tenant())
        .filter_map(|table| {
            let missing: Vec<&str> = [
                (!table.rls_enabled).then_some("ENABLE ROW LEVEL SECURITY"),
                (!table.rls_forced).then_some("FORCE ROW LEVEL SECURITY"),
                (table.policies == 0).then_some("a policy"),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!missing.is_empty()).then(|| {
                Violation::at(
                    table.site,
                    Rule::TenantRowLevelSecurity,
                    format!("tenant table {} lacks {}", table.name, missing.join(", ")),
                    "add `ALTER TABLE <table> ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY` \
                     and `CREATE POLICY … USING (organization_id = NULLIF(current_setting(\
                     'app.current_organization_id', true), '')::uuid)` with the same WITH CHECK",
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::rule::Rule;
    use crate::testing::broken;

    const TAGS: &str = "CREATE TABLE tags (organization_id uuid NOT NULL, id uuid);";

    #[test]
    fn security_enabled_but_not_forced_breaks_it() {
        let sql = format!("{TAGS}\nALTER TABLE tags ENABLE ROW LEVEL SECURITY;");
        assert!(broken(&sql).contains(&Rule::TenantRowLevelSecurity));
    }

    #[test]
    fn security_forced_with_a_policy_passes() {
        let sql = format!(
            "{TAGS}\nALTER TABLE tags ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;\n\
             CREATE POLICY tenant_isolation ON tags USING (true);"
        );
        assert!(!broken(&sql).contains(&Rule::TenantRowLevelSecurity));
    }
}
