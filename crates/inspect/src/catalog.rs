//! The schema of a live database, read from PostgreSQL's catalog: every table, column,
//! constraint, index, trigger, policy, grant, view and function of schema `public` that the
//! migrations own (extension members and the migration history are left out). Maps are
//! ordered by name, so the same schema always reads, compares and renders the same way.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::PgConnection;

use crate::Error;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
    /// View name → its definition.
    pub views: BTreeMap<String, String>,
    /// Signature (`name(arg types)`) → the function.
    pub functions: BTreeMap<String, Function>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    pub name: String,
    pub comment: Option<String>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    /// In column order.
    pub columns: Vec<Column>,
    pub constraints: BTreeMap<String, Constraint>,
    /// Index name → its `CREATE INDEX` statement.
    pub indexes: BTreeMap<String, String>,
    /// Trigger name → its `CREATE TRIGGER` statement.
    pub triggers: BTreeMap<String, String>,
    pub policies: BTreeMap<String, Policy>,
    /// Grantee (or `grantee (column c)`) → privileges, sorted; the owner's own are left out.
    pub grants: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// `always`, `by default` or `stored` (generated) when the column is not plain.
    pub generated: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    /// `primary key`, `foreign key`, `unique`, `check`, `exclude`, `trigger`, `not null`.
    pub kind: String,
    pub definition: String,
    /// The referenced table of a foreign key.
    pub references: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub command: String,
    pub permissive: bool,
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    pub definition: String,
    pub comment: Option<String>,
    pub grants: BTreeMap<String, Vec<String>>,
}

/// The name of the runner's history table, which belongs to no migration.
fn history_table() -> &'static str {
    crmdb_migrate::HISTORY_TABLE
        .rsplit('.')
        .next()
        .unwrap_or(crmdb_migrate::HISTORY_TABLE)
}

const TABLES: &str = "
SELECT c.relname::text, obj_description(c.oid, 'pg_class'), c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> $1
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')";

const COLUMNS: &str = "
SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(ad.adbin, ad.adrelid),
       CASE WHEN a.attidentity = 'a' THEN 'always' WHEN a.attidentity = 'd' THEN 'by default'
            WHEN a.attgenerated = 's' THEN 'stored' END,
       col_description(c.oid, a.attnum)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum";

const CONSTRAINTS: &str = "
SELECT c.relname::text, co.conname::text,
       CASE co.contype WHEN 'p' THEN 'primary key' WHEN 'f' THEN 'foreign key'
            WHEN 'u' THEN 'unique' WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclude'
            WHEN 't' THEN 'trigger' ELSE 'not null' END,
       pg_get_constraintdef(co.oid), r.relname::text
FROM pg_constraint co
JOIN pg_class c ON c.oid = co.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class r ON r.oid = co.confrelid
WHERE n.nspname = 'public'";

const INDEXES: &str = "
SELECT t.relname::text, i.relname::text,
       pg_get_indexdef(i.oid) || CASE WHEN x.indisvalid THEN '' ELSE ' -- INVALID' END
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public'";

const TRIGGERS: &str = "
SELECT c.relname::text, t.tgname::text,
       pg_get_triggerdef(t.oid) || CASE t.tgenabled WHEN 'D' THEN ' -- DISABLED' ELSE '' END
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND NOT t.tgisinternal";

const POLICIES: &str = "
SELECT tablename::text, policyname::text, cmd, permissive = 'PERMISSIVE',
       roles::text[], qual, with_check
FROM pg_policies
WHERE schemaname = 'public'";

const TABLE_GRANTS: &str = "
SELECT c.relname::text,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END,
       a.privilege_type
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.grantee <> c.relowner";

const COLUMN_GRANTS: &str = "
SELECT c.relname::text,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END
         || ' (column ' || att.attname || ')',
       a.privilege_type
FROM pg_attribute att
JOIN pg_class c ON c.oid = att.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(att.attacl) a
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND att.attnum > 0
  AND NOT att.attisdropped AND a.grantee <> c.relowner";

const VIEWS: &str = "
SELECT c.relname::text, pg_get_viewdef(c.oid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')";

const FUNCTIONS: &str = "
SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid), obj_description(p.oid, 'pg_proc')
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')";

const FUNCTION_GRANTS: &str = "
SELECT p.oid::regprocedure::text,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END,
       a.privilege_type
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
CROSS JOIN LATERAL aclexplode(p.proacl) a
WHERE n.nspname = 'public' AND a.grantee <> p.proowner";

type Row2 = (String, String);
type Row3 = (String, String, String);

impl Schema {
    /// Reads the schema of the database `conn` is connected to.
    pub async fn read(conn: &mut PgConnection) -> Result<Schema, Error> {
        let mut schema = Schema::default();
        let tables: Vec<(String, Option<String>, bool, bool)> = sqlx::query_as(TABLES)
            .bind(history_table())
            .fetch_all(&mut *conn)
            .await
            .map_err(Error::Catalog)?;
        for (name, comment, rls_enabled, rls_forced) in tables {
            let table = Table {
                name: name.clone(),
                comment,
                rls_enabled,
                rls_forced,
                ..Table::default()
            };
            schema.tables.insert(name, table);
        }
        type ColumnRow = (
            String,
            String,
            String,
            bool,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let columns: Vec<ColumnRow> = fetch(conn, COLUMNS).await?;
        for (table, name, data_type, not_null, default, generated, comment) in columns {
            if let Some(table) = schema.tables.get_mut(&table) {
                table.columns.push(Column {
                    name,
                    data_type,
                    not_null,
                    default,
                    generated,
                    comment,
                });
            }
        }
        let constraints: Vec<(String, String, String, String, Option<String>)> =
            fetch(conn, CONSTRAINTS).await?;
        for (table, name, kind, definition, references) in constraints {
            if let Some(table) = schema.tables.get_mut(&table) {
                let constraint = Constraint {
                    kind,
                    definition,
                    references,
                };
                table.constraints.insert(name, constraint);
            }
        }
        for (table, name, definition) in fetch::<Row3>(conn, INDEXES).await? {
            if let Some(table) = schema.tables.get_mut(&table) {
                table.indexes.insert(name, definition);
            }
        }
        for (table, name, definition) in fetch::<Row3>(conn, TRIGGERS).await? {
            if let Some(table) = schema.tables.get_mut(&table) {
                table.triggers.insert(name, definition);
            }
        }
        type PolicyRow = (
            String,
            String,
            String,
            bool,
            Vec<String>,
            Option<String>,
            Option<String>,
        );
        let policies: Vec<PolicyRow> = fetch(conn, POLICIES).await?;
        for (table, name, command, permissive, mut roles, using, with_check) in policies {
            if let Some(table) = schema.tables.get_mut(&table) {
                roles.sort();
                let policy = Policy {
                    command,
                    permissive,
                    roles,
                    using,
                    with_check,
                };
                table.policies.insert(name, policy);
            }
        }
        let mut grants = fetch::<Row3>(conn, TABLE_GRANTS).await?;
        grants.extend(fetch::<Row3>(conn, COLUMN_GRANTS).await?);
        for (table, grantee, privilege) in grants {
            if let Some(table) = schema.tables.get_mut(&table) {
                add_grant(&mut table.grants, grantee, privilege);
            }
        }
        for (name, definition) in fetch::<Row2>(conn, VIEWS).await? {
            schema.views.insert(name, definition);
        }
        let functions: Vec<(String, String, Option<String>)> = fetch(conn, FUNCTIONS).await?;
        for (signature, definition, comment) in functions {
            let function = Function {
                definition,
                comment,
                grants: BTreeMap::new(),
            };
            schema.functions.insert(signature, function);
        }
        for (signature, grantee, privilege) in fetch::<Row3>(conn, FUNCTION_GRANTS).await? {
            if let Some(function) = schema.functions.get_mut(&signature) {
                add_grant(&mut function.grants, grantee, privilege);
            }
        }
        Ok(schema)
    }
}

fn add_grant(grants: &mut BTreeMap<String, Vec<String>>, grantee: String, privilege: String) {
    let privileges = grants.entry(grantee).or_default();
    privileges.push(privilege);
    privileges.sort();
    privileges.dedup();
}

async fn fetch<T>(conn: &mut PgConnection, sql: &'static str) -> Result<Vec<T>, Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(sql)
        .fetch_all(conn)
        .await
        .map_err(Error::Catalog)
}
