//! A table's indexes: their definition, and the parts of it the audit compares (method,
//! keys with their operator classes, collations and orderings, INCLUDE columns, predicate).

use sqlx::postgres::PgRow;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    /// The `CREATE INDEX` statement, as `pg_get_indexdef` prints it.
    pub definition: String,
    pub method: String,
    pub unique: bool,
    /// False while a failed or running concurrent build leaves it unusable.
    pub valid: bool,
    /// The name of the primary-key, unique or exclusion constraint this index enforces.
    pub constraint: Option<String>,
    pub keys: Vec<IndexKey>,
    /// `INCLUDE` columns: stored, not searchable.
    pub include: Vec<String>,
    pub predicate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    /// The column, or `None` for an expression.
    pub column: Option<String>,
    /// The column name or the expression, as `pg_get_indexdef` prints it.
    pub expression: String,
    pub opclass: String,
    pub collation: i64,
    /// `indoption`: bit 0 is DESC, bit 1 is NULLS FIRST.
    pub option: i16,
}

impl Index {
    /// The plain columns that lead the index, up to its first expression.
    pub fn leading_columns(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map_while(|k| k.column.as_deref())
    }

    /// The definition as drift compares it and the docs show it: an invalid index is
    /// marked, since it serves no query.
    pub fn text(&self) -> String {
        let mark = if self.valid { "" } else { " -- INVALID" };
        format!("{}{mark}", self.definition)
    }
}

// Key columns are the first `indnkeyatts` of `indkey`; the rest are INCLUDE columns. The
// vectors are zero-based.
pub(super) const INDEXES: &str = "
SELECT i.indrelid AS table_oid, ic.relname::text AS name,
       pg_get_indexdef(i.indexrelid) AS definition, am.amname::text AS method,
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
WHERE i.indrelid = ANY($1)";

impl sqlx::FromRow<'_, PgRow> for Index {
    fn from_row(row: &PgRow) -> Result<Index, sqlx::Error> {
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
            definition: row.try_get("definition")?,
            method: row.try_get("method")?,
            unique: row.try_get("unique")?,
            valid: row.try_get("valid")?,
            constraint: row.try_get("constraint_name")?,
            keys,
            include: row.try_get("include")?,
            predicate: row.try_get("predicate")?,
        })
    }
}
