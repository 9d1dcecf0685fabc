//! tenant-primary-key: a tenant table's primary key leads with `organization_id`, so every
//! lookup by id is also scoped to the organization and the table can be distributed by it.

use crate::check::{Context, Violation};
use crate::rule::Rule;

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
                Rule::TenantPrimaryKey,
                message,
                "declare `PRIMARY KEY (organization_id, id)`",
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::rule::Rule;
    use crate::testing::broken;

    #[test]
    fn a_key_not_led_by_organization_id_breaks_it() {
        for key in [
            "",
            ", PRIMARY KEY (id)",
            ", PRIMARY KEY (id, organization_id)",
        ] {
            let sql = format!("CREATE TABLE tags (organization_id uuid NOT NULL, id uuid{key});");
            assert!(broken(&sql).contains(&Rule::TenantPrimaryKey), "{key}");
        }
    }

    #[test]
    fn a_key_led_by_organization_id_passes() {
        let sql = "CREATE TABLE tags (organization_id uuid NOT NULL, id uuid, \
                   PRIMARY KEY (organization_id, id));";
        assert!(!broken(sql).contains(&Rule::TenantPrimaryKey));
    }
}
