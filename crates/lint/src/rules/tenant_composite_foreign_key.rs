//! tenant-composite-foreign-key: a foreign key between two tenant tables includes
//! `organization_id` on both sides, so a row can never point at another organization's row
//! (RLS does not stop that: referential checks bypass row security). A plain `ON DELETE SET
//! NULL` on such a key would null `organization_id` too; it must name its columns.

use super::{Context, Violation};

pub(super) const RULE: &str = "tenant-composite-foreign-key";

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
                    RULE,
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
                    RULE,
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
