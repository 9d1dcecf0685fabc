//! tenant-composite-foreign-key: a foreign key between two tenant tables includes
//! `organization_id` on both sides, so a row can never point at another organization's row
//! (RLS does not stop that: referential checks bypass row security). A plain `ON DELETE SET
//! NULL` on such a key would null `organization_id` too; it must name its columns.

use crate::check::{Context, Violation};
use crate::rule::Rule;

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    let mut violations = Vec::new();
    for table in ctx.model.tables.values().filter(|t| t.is_tenant()) {
        for fk in &table.foreign_keys {
            let target_is_tenant = ctx
                .model
                .tables
                .get(&fk.target)
                .is_some_and(|target| target.is_tenant());
            if !target_is_tenant {
                continue;
            }
            let local = fk.columns.iter().position(|c| c == "organization_id");
            let composite = local.is_some_and(|at| {
                fk.target_columns.get(at).map(String::as_str) == Some("organization_id")
            });
            if !composite {
                violations.push(Violation::at(
                    fk.site,
                    Rule::TenantCompositeForeignKey,
                    format!(
                        "foreign key ({}) of tenant table {} to tenant table {} does not include organization_id on both sides",
                        fk.columns.join(", "),
                        table.name,
                        fk.target
                    ),
                    "reference `(organization_id, <column>) REFERENCES <target> (organization_id, id)`",
                ));
            } else if fk.set_null_all {
                violations.push(Violation::at(
                    fk.site,
                    Rule::TenantCompositeForeignKey,
                    format!(
                        "foreign key ({}) of tenant table {} uses ON DELETE SET NULL, which would null organization_id",
                        fk.columns.join(", "),
                        table.name
                    ),
                    "name the columns to null: `ON DELETE SET NULL (<column>)`",
                ));
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use crate::rule::Rule;
    use crate::testing::broken;

    /// A tenant table `notes` whose `lead_id` references the tenant table `leads` by `key`.
    fn notes_referencing_leads(key: &str) -> String {
        format!(
            "CREATE TABLE leads (organization_id uuid NOT NULL, id uuid);\n\
             CREATE TABLE notes (organization_id uuid NOT NULL, lead_id uuid, {key});"
        )
    }

    #[test]
    fn a_key_without_organization_id_or_nulling_it_breaks_it() {
        for key in [
            "FOREIGN KEY (lead_id) REFERENCES leads (id)",
            "FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id) \
             ON DELETE SET NULL",
        ] {
            let sql = notes_referencing_leads(key);
            assert!(
                broken(&sql).contains(&Rule::TenantCompositeForeignKey),
                "{key}"
            );
        }
    }

    #[test]
    fn a_composite_key_passes() {
        let sql = notes_referencing_leads(
            "FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id) \
             ON DELETE SET NULL (lead_id)",
        );
        assert!(!broken(&sql).contains(&Rule::TenantCompositeForeignKey));
    }
}
