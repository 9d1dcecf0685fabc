//! tenant-primary-key: a tenant table's primary key leads with `organization_id`, so every
//! lookup by id is also scoped to the organization and the table can be distributed by it.

use super::{Context, Violation};

pub(super) const RULE: &str = "tenant-primary-key";

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    ctx.model
        .tables
        .values()
        .filter(|t| t.is_tenant())
        .filter_map(|table| {
            let message = match &table.primary_key {
                None => format!("tenant table {} has no primary key", table.name),
                Some(key) if key.first().map(String::as_str) != Some("organization_id") => {
                    format!(
                        "tenant table {} has primary key ({}), which does not lead with organization_id",
                        table.name,
                        key.join(", ")
                    )
                }
                Some(_) => return None,
            };
            Some(Violation::at(
                table.site,
                RULE,
                message,
                "declare `PRIMARY KEY (organization_id, id)`",
            ))
        })
        .collect()
}
