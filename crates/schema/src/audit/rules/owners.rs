//! Rule `owners`: the admin that owns the database owns every table (the migration history
//! included), sequence and function of the schema but the SECURITY DEFINER functions, which
//! are `definer_functions`'. A `pg_restore --no-owner` run by another login (a superuser)
//! hands them all to that login, and the admin can no longer migrate them.

use crate::catalog::Schema;

/// The violations, keyed by table name, `sequence <name>` or `function <signature>`.
pub(crate) fn check(schema: &Schema) -> Vec<(String, String)> {
    let admin = &schema.database.owner;
    let tables = schema
        .tables
        .values()
        .chain(schema.history.as_ref())
        .map(|t| (t.name.clone(), "TABLE", &t.name, &t.owner));
    let sequences = schema
        .sequences
        .iter()
        .map(|(name, s)| (format!("sequence {name}"), "SEQUENCE", name, &s.owner));
    let functions = schema
        .functions
        .iter()
        .filter(|(_, f)| !f.security_definer)
        .map(|(signature, f)| {
            (
                format!("function {signature}"),
                "FUNCTION",
                signature,
                &f.owner,
            )
        });
    tables
        .chain(sequences)
        .chain(functions)
        .filter(|(_, _, _, owner)| *owner != admin)
        .map(|(key, kind, name, owner)| {
            (
                key,
                format!(
                    "is owned by {owner} instead of {admin}, the owner of the database (a \
                     pg_restore --no-owner as another login does this); repair: ALTER {kind} \
                     {name} OWNER TO {admin}"
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::{schema, table};
    use crate::catalog::{Database, Function, Table};

    fn owned(name: &str, owner: &str) -> Table {
        Table {
            owner: owner.into(),
            ..table(name, "scope: tenant")
        }
    }

    fn function(owner: &str, security_definer: bool) -> Function {
        Function {
            definition: String::new(),
            comment: None,
            owner: owner.into(),
            security_definer,
            config: vec![],
            grants: vec![],
            executable_by: vec![],
        }
    }

    #[test]
    fn everything_but_the_definer_functions_belongs_to_the_database_owner() {
        let mut schema = schema(vec![owned("leads", "admin"), owned("tags", "postgres")]);
        schema.database = Database {
            name: "crm".into(),
            owner: "admin".into(),
            grants: vec![],
        };
        schema.history = Some(owned("crmdb_schema_history", "postgres"));
        schema
            .functions
            .insert("set_updated_at()".into(), function("postgres", false));
        schema.functions.insert(
            "search_leads(uuid,text,integer)".into(),
            function("crm_owner", true),
        );
        let found: Vec<String> = check(&schema)
            .into_iter()
            .map(|(k, d)| format!("{k}: {d}"))
            .collect();
        assert_eq!(
            found,
            [
                "tags: is owned by postgres instead of admin, the owner of the database (a \
                 pg_restore --no-owner as another login does this); repair: ALTER TABLE tags \
                 OWNER TO admin",
                "crmdb_schema_history: is owned by postgres instead of admin, the owner of the \
                 database (a pg_restore --no-owner as another login does this); repair: ALTER \
                 TABLE crmdb_schema_history OWNER TO admin",
                "function set_updated_at(): is owned by postgres instead of admin, the owner \
                 of the database (a pg_restore --no-owner as another login does this); repair: \
                 ALTER FUNCTION set_updated_at() OWNER TO admin",
            ]
        );
    }
}
