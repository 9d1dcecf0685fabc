//! Rule `tenant_fk`: a foreign key to a tenant table pairs `organization_id` with
//! `organization_id` first, so a row can never point at another organization's row.

use crate::catalog::{Schema, Scope, Table};

pub(super) fn check(schema: &Schema, table: &Table) -> Vec<String> {
    table
        .foreign_keys()
        .filter(|(_, f)| schema.tables.get(&f.table).and_then(Table::scope) == Some(Scope::Tenant))
        .filter(|(c, f)| {
            c.columns.first().map(String::as_str) != Some("organization_id")
                || f.columns.first().map(String::as_str) != Some("organization_id")
        })
        .map(|(c, f)| {
            format!(
                "foreign key {} {} -> {} {} does not start with organization_id",
                c.name,
                super::detail::columns(&c.columns),
                f.table,
                super::detail::columns(&f.columns)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::*;
    use crate::catalog::OnDelete;

    #[test]
    fn only_keys_to_tenant_tables_must_be_composite() {
        let mut notes = table("lead_notes", "scope: tenant");
        notes.constraints = vec![
            foreign_key("fk_a", &["lead_id"], "leads", &["id"], OnDelete::Cascade),
            foreign_key(
                "fk_b",
                &["organization_id", "lead_id"],
                "leads",
                &["organization_id", "id"],
                OnDelete::Cascade,
            ),
            foreign_key("fk_c", &["author_id"], "users", &["id"], OnDelete::Restrict),
        ];
        let schema = schema(vec![
            table("leads", "scope: tenant"),
            table("users", "scope: global"),
        ]);
        assert_eq!(
            check(&schema, &notes),
            ["foreign key fk_a (lead_id) -> leads (id) does not start with organization_id"]
        );
    }
}
