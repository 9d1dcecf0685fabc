//! tenant-organization-id: a tenant table carries `organization_id uuid NOT NULL` referencing
//! `organizations (id) ON DELETE CASCADE`, so each row belongs to exactly one organization
//! and offboarding an organization deletes all of its rows.

use crate::check::{Context, Violation};
use crate::rule::Rule;

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    let mut violations = Vec::new();
    for table in ctx.model.tables.values().filter(|t| t.is_tenant()) {
        let column = table.column("organization_id");
        let problem = match column {
            None => Some("has no organization_id column".to_owned()),
            Some(c) if c.ty != "uuid" => Some(format!("has organization_id of type {}", c.ty)),
            Some(c) if !c.not_null => Some("has a nullable organization_id".to_owned()),
            Some(_) => {
                let fk = table.foreign_keys.iter().find(|fk| {
                    fk.columns == ["organization_id"]
                        && fk.target == "organizations"
                        && (fk.target_columns.is_empty() || fk.target_columns == ["id"])
                });
                match fk {
                    None => Some("has no foreign key from organization_id to organizations".into()),
                    Some(fk) if !fk.on_delete_cascade => {
                        Some("references organizations without ON DELETE CASCADE".into())
                    }
                    Some(_) => None,
                }
            }
        };
        if let Some(problem) = problem {
            violations.push(Violation::at(
                table.site,
                Rule::TenantOrganizationId,
                format!("tenant table {} {problem}", table.name),
                "add `organization_id uuid NOT NULL` and `FOREIGN KEY (organization_id) \
                 REFERENCES organizations (id) ON DELETE CASCADE`",
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use crate::rule::Rule;
    use crate::testing::broken;

    const SCOPE: &str = "COMMENT ON TABLE tags IS 'scope: tenant. Tags.';";

    #[test]
    fn a_missing_nullable_or_unowned_organization_id_breaks_it() {
        for columns in [
            "id uuid",
            "organization_id uuid, id uuid",
            "organization_id uuid NOT NULL REFERENCES organizations (id), id uuid",
        ] {
            let sql = format!("CREATE TABLE tags ({columns});\n{SCOPE}");
            assert!(
                broken(&sql).contains(&Rule::TenantOrganizationId),
                "{columns}"
            );
        }
    }

    #[test]
    fn an_owned_organization_id_passes() {
        let sql = format!(
            "CREATE TABLE tags (organization_id uuid NOT NULL \
             REFERENCES organizations (id) ON DELETE CASCADE, id uuid);\n{SCOPE}"
        );
        assert!(!broken(&sql).contains(&Rule::TenantOrganizationId));
    }
}
