//! The slice of a live database's catalog that the audit rules judge: the tables of schema
//! `public` with their columns, constraints, indexes, policies and triggers, read in one
//! snapshot so the rules are pure functions of plain data.

use sqlx::postgres::types::Oid;
use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection, Row};

/// Whether a table belongs to one organization or to the whole system, as its comment says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Tenant,
    Global,
}

#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub name: String,
    pub comment: Option<String>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    pub columns: Vec<Column>,
    pub constraints: Vec<Constraint>,
    pub indexes: Vec<Index>,
    pub policies: Vec<String>,
    pub triggers: Vec<Trigger>,
}

#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    /// As `format_type` spells it: `uuid`, `bytea`, `timestamp with time zone`.
    pub data_type: String,
    pub not_null: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstraintKind {
    Primary,
    Foreign,
    Unique,
    Check,
    Exclusion,
    /// Constraint triggers and kinds newer than PostgreSQL 15: named by no convention.
    Other,
}

#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    pub columns: Vec<String>,
    pub foreign: Option<ForeignKey>,
}

#[derive(Debug, Clone)]
pub(crate) struct ForeignKey {
    pub table: String,
    pub columns: Vec<String>,
    pub on_delete: OnDelete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnDelete {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub name: String,
    pub method: String,
    pub unique: bool,
    pub valid: bool,
    /// The name of the primary-key, unique or exclusion constraint this index enforces.
    pub constraint: Option<String>,
    pub keys: Vec<IndexKey>,
    /// `INCLUDE` columns: stored, not searchable.
    pub include: Vec<String>,
    pub predicate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexKey {
    /// The column, or `None` for an expression.
    pub column: Option<String>,
    /// The column name or the expression, as `pg_get_indexdef` prints it.
    pub expression: String,
    pub opclass: String,
    pub collation: i64,
    /// `indoption`: bit 0 is DESC, bit 1 is NULLS FIRST.
    pub option: i16,
}

#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    pub name: String,
    pub function: String,
    pub before: bool,
    pub row_level: bool,
    pub on_update: bool,
    /// `UPDATE OF col, ...`: fires only when one of those columns is set.
    pub column_list: bool,
    pub enabled: bool,
}

impl Catalog {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

impl Table {
    /// The scope the comment declares: it must start with `scope: tenant` or `scope: global`
    /// followed by the end or a non-word character (`scope: tenants` declares nothing).
    pub fn scope(&self) -> Option<Scope> {
        let rest = self.comment.as_deref()?.strip_prefix("scope: ")?;
        let word_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        match &rest[..word_end] {
            "tenant" => Some(Scope::Tenant),
            "global" => Some(Scope::Global),
            _ => None,
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn primary_key(&self) -> Option<&Constraint> {
        self.constraints
            .iter()
            .find(|c| c.kind == ConstraintKind::Primary)
    }

    pub fn foreign_keys(&self) -> impl Iterator<Item = (&Constraint, &ForeignKey)> {
        self.constraints
            .iter()
            .filter_map(|c| c.foreign.as_ref().map(|f| (c, f)))
    }
}

impl Index {
    /// The plain columns that lead the index, up to its first expression.
    pub fn leading_columns(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map_while(|k| k.column.as_deref())
    }
}

const TABLES: &str = "
SELECT c.oid, c.relname::text AS name, obj_description(c.oid, 'pg_class') AS comment,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public'
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND NOT starts_with(c.relname, 'crmdb_')
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relname";

const COLUMNS: &str = "
SELECT a.attrelid AS table_oid, a.attname::text AS name,
       format_type(a.atttypid, a.atttypmod) AS data_type, a.attnotnull AS not_null
FROM pg_attribute a
WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum";

const CONSTRAINTS: &str = "
SELECT con.conrelid AS table_oid, con.conname::text AS name, con.contype::text AS kind,
       ARRAY(SELECT a.attname::text
             FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       ref.relname::text AS ref_table,
       ARRAY(SELECT a.attname::text
             FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS ref_columns,
       con.confdeltype::text AS on_delete
FROM pg_constraint con
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
WHERE con.conrelid = ANY($1)
ORDER BY con.conrelid, con.conname";

// Key columns are the first `indnkeyatts` of `indkey`; the rest are INCLUDE columns. The
// vectors are zero-based.
const INDEXES: &str = "
SELECT i.indrelid AS table_oid, ic.relname::text AS name, am.amname::text AS method,
       i.indisunique AS unique, i.indisvalid AS valid,
       (SELECT con.conname::text FROM pg_constraint con
        WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
          AND con.contype IN ('p', 'u', 'x')) AS constraint_name,
       ARRAY(SELECT a.attname::text
             FROM generate_series(0, i.indnkeyatts - 1) AS k
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k]
             ORDER BY k) AS key_columns,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k + 1, true)
             FROM generate_series(0, i.indnkeyatts - 1) AS k ORDER BY k) AS key_expressions,
       ARRAY(SELECT opc.opcname::text
             FROM generate_series(0, i.indnkeyatts - 1) AS k
             JOIN pg_opclass opc ON opc.oid = i.indclass[k]
             ORDER BY k) AS key_opclasses,
       ARRAY(SELECT i.indcollation[k]::int8
             FROM generate_series(0, i.indnkeyatts - 1) AS k ORDER BY k) AS key_collations,
       ARRAY(SELECT i.indoption[k]
             FROM generate_series(0, i.indnkeyatts - 1) AS k ORDER BY k) AS key_options,
       ARRAY(SELECT a.attname::text
             FROM generate_series(i.indnkeyatts, i.indnatts - 1) AS k
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k]
             ORDER BY k) AS include,
       pg_get_expr(i.indpred, i.indrelid, true) AS predicate
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
WHERE i.indrelid = ANY($1)
ORDER BY i.indrelid, ic.relname";

const POLICIES: &str = "
SELECT p.polrelid AS table_oid, p.polname::text AS name
FROM pg_policy p
WHERE p.polrelid = ANY($1)
ORDER BY p.polrelid, p.polname";

// tgtype bits (pg_trigger.h): 1 row, 2 before, 16 update.
const TRIGGERS: &str = "
SELECT t.tgrelid AS table_oid, t.tgname::text AS name, p.proname::text AS function,
       (t.tgtype & 2) <> 0 AS before, (t.tgtype & 1) <> 0 AS row_level,
       (t.tgtype & 16) <> 0 AS on_update, cardinality(t.tgattr::int2[]) > 0 AS column_list,
       t.tgenabled <> 'D' AS enabled
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid = ANY($1) AND NOT t.tgisinternal
ORDER BY t.tgrelid, t.tgname";

/// Reads the catalog in one read-only, repeatable-read transaction, so a migration running
/// beside the audit cannot show it half a table.
pub(crate) async fn load(conn: &mut PgConnection) -> Result<Catalog, sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let catalog = load_within(&mut tx).await?;
    tx.commit().await?;
    Ok(catalog)
}

/// [`load`] inside the caller's open transaction, whatever its isolation.
pub(crate) async fn load_within(tx: &mut PgConnection) -> Result<Catalog, sqlx::Error> {
    let mut tables: Vec<(Oid, Table)> = Vec::new();
    for row in sqlx::query(TABLES).fetch_all(&mut *tx).await? {
        let table = Table {
            name: row.try_get("name")?,
            comment: row.try_get("comment")?,
            rls_enabled: row.try_get("rls_enabled")?,
            rls_forced: row.try_get("rls_forced")?,
            columns: vec![],
            constraints: vec![],
            indexes: vec![],
            policies: vec![],
            triggers: vec![],
        };
        tables.push((row.try_get("oid")?, table));
    }
    let oids: Vec<Oid> = tables.iter().map(|(oid, _)| *oid).collect();
    let columns = fetch_of(&mut *tx, COLUMNS, &oids).await?;
    let constraints = fetch_of(&mut *tx, CONSTRAINTS, &oids).await?;
    let indexes = fetch_of(&mut *tx, INDEXES, &oids).await?;
    let policies = fetch_of(&mut *tx, POLICIES, &oids).await?;
    let triggers = fetch_of(&mut *tx, TRIGGERS, &oids).await?;

    for row in &columns {
        let column = Column {
            name: row.try_get("name")?,
            data_type: row.try_get("data_type")?,
            not_null: row.try_get("not_null")?,
        };
        owner(&mut tables, row)?.columns.push(column);
    }
    for row in &constraints {
        let constraint = constraint(row)?;
        owner(&mut tables, row)?.constraints.push(constraint);
    }
    for row in &indexes {
        let index = index(row)?;
        owner(&mut tables, row)?.indexes.push(index);
    }
    for row in &policies {
        let name = row.try_get("name")?;
        owner(&mut tables, row)?.policies.push(name);
    }
    for row in &triggers {
        let trigger = Trigger {
            name: row.try_get("name")?,
            function: row.try_get("function")?,
            before: row.try_get("before")?,
            row_level: row.try_get("row_level")?,
            on_update: row.try_get("on_update")?,
            column_list: row.try_get("column_list")?,
            enabled: row.try_get("enabled")?,
        };
        owner(&mut tables, row)?.triggers.push(trigger);
    }
    Ok(Catalog {
        tables: tables.into_iter().map(|(_, t)| t).collect(),
    })
}

/// The rows of `sql` for the tables `oids` (its parameter `$1`).
async fn fetch_of(
    conn: &mut PgConnection,
    sql: &'static str,
    oids: &[Oid],
) -> Result<Vec<PgRow>, sqlx::Error> {
    sqlx::query(sql).bind(oids).fetch_all(conn).await
}

/// The table a row of `fetch_of` belongs to.
fn owner<'t>(tables: &'t mut [(Oid, Table)], row: &PgRow) -> Result<&'t mut Table, sqlx::Error> {
    let oid: Oid = row.try_get("table_oid")?;
    let found = tables.iter_mut().find(|(o, _)| *o == oid);
    Ok(&mut found.expect("rows only of the audited tables").1)
}

fn constraint(row: &PgRow) -> Result<Constraint, sqlx::Error> {
    let kind = match row.try_get::<String, _>("kind")?.as_str() {
        "p" => ConstraintKind::Primary,
        "f" => ConstraintKind::Foreign,
        "u" => ConstraintKind::Unique,
        "c" => ConstraintKind::Check,
        "x" => ConstraintKind::Exclusion,
        _ => ConstraintKind::Other,
    };
    let ref_table: Option<String> = row.try_get("ref_table")?;
    let foreign = match (kind, ref_table) {
        (ConstraintKind::Foreign, Some(table)) => Some(ForeignKey {
            table,
            columns: row.try_get("ref_columns")?,
            on_delete: match row.try_get::<String, _>("on_delete")?.as_str() {
                "r" => OnDelete::Restrict,
                "c" => OnDelete::Cascade,
                "n" => OnDelete::SetNull,
                "d" => OnDelete::SetDefault,
                _ => OnDelete::NoAction,
            },
        }),
        _ => None,
    };
    Ok(Constraint {
        name: row.try_get("name")?,
        kind,
        columns: row.try_get("columns")?,
        foreign,
    })
}

fn index(row: &PgRow) -> Result<Index, sqlx::Error> {
    let columns: Vec<Option<String>> = row.try_get("key_columns")?;
    let expressions: Vec<String> = row.try_get("key_expressions")?;
    let opclasses: Vec<String> = row.try_get("key_opclasses")?;
    let collations: Vec<i64> = row.try_get("key_collations")?;
    let options: Vec<i16> = row.try_get("key_options")?;
    let keys = columns
        .into_iter()
        .zip(expressions)
        .zip(opclasses)
        .zip(collations)
        .zip(options)
        .map(
            |((((column, expression), opclass), collation), option)| IndexKey {
                column,
                expression,
                opclass,
                collation,
                option,
            },
        )
        .collect();
    Ok(Index {
        name: row.try_get("name")?,
        method: row.try_get("method")?,
        unique: row.try_get("unique")?,
        valid: row.try_get("valid")?,
        constraint: row.try_get("constraint_name")?,
        keys,
        include: row.try_get("include")?,
        predicate: row.try_get("predicate")?,
    })
}
