//! Rule `scope`: every table declares its scope in its comment, and a tenant table is keyed
//! and owned by its organization.

use crate::catalog::{OnDelete, Schema, Scope, Table};

pub(super) fn check(_schema: &Schema, table: &Table) -> Vec<String> {
    let mut details = Vec::new();
    match table.scope() {
        Some(Scope::Global) => {}
        None => details.push(match &table.comment {
            None => "no COMMENT ON TABLE declaring `scope: tenant` or `scope: global`".to_owned(),
            Some(_) => "the table comment does not start with `scope: tenant` or `scope: global`"
                .to_owned(),
        }),
        Some(Scope::Tenant) => {
            match table.column("organization_id") {
                None => details.push("tenant table without an organization_id column".to_owned()),
                Some(column) => {
                    if column.data_type != "uuid" {
                        details.push(format!("organization_id is {}, not uuid", column.data_type));
                    }
                    if !column.not_null {
                        details.push("organization_id is nullable".to_owned());
                    }
                }
            }
            let to_organizations = table.foreign_keys().find(|(c, f)| {
                c.columns == ["organization_id"]
                    && f.table == "organizations"
                    && f.columns == ["id"]
            });
            match to_organizations {
                None => details.push(
                    "no foreign key (organization_id) REFERENCES organizations (id)".to_owned(),
                ),
                Some((c, f)) if f.on_delete != OnDelete::Cascade => details.push(format!(
                    "foreign key {} to organizations is not ON DELETE CASCADE",
                    c.name
                )),
                Some(_) => {}
            }
            match table.primary_key() {
                None => details.push("no primary key".to_owned()),
                Some(pk) if pk.columns.first().map(String::as_str) != Some("organization_id") => {
                    details.push(format!(
                        "primary key {} {} does not start with organization_id",
                        pk.name,
                        super::detail::columns(&pk.columns)
                    ))
                }
                Some(_) => {}
            }
        }
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::*;
    use crate::catalog::ConstraintKind;

    fn tenant_table() -> Table {
        let mut t = table("leads", "scope: tenant. Leads.");
        t.columns = vec![column("organization_id", "uuid"), column("id", "uuid")];
        t.constraints = vec![
            constraint(
                "pk_leads",
                ConstraintKind::Primary,
                &["organization_id", "id"],
            ),
            foreign_key(
                "fk_leads_organization",
                &["organization_id"],
                "organizations",
                &["id"],
                OnDelete::Cascade,
            ),
        ];
        t
    }

    fn details(t: &Table) -> Vec<String> {
        check(&Schema::default(), t)
    }

    #[test]
    fn a_well_formed_tenant_table_passes() {
        assert!(details(&tenant_table()).is_empty());
    }

    #[test]
    fn reports_each_missing_part() {
        let mut t = tenant_table();
        t.columns[0].not_null = false;
        t.constraints[0].columns = vec!["id".into()];
        t.constraints[1].foreign.as_mut().unwrap().on_delete = OnDelete::Restrict;
        assert_eq!(
            details(&t),
            [
                "organization_id is nullable",
                "foreign key fk_leads_organization to organizations is not ON DELETE CASCADE",
                "primary key pk_leads (id) does not start with organization_id",
            ]
        );
        t.comment = None;
        assert_eq!(
            details(&t),
            ["no COMMENT ON TABLE declaring `scope: tenant` or `scope: global`"]
        );
    }
}
