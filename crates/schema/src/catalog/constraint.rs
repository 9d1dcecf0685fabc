//! A table's constraints: primary, foreign and unique keys, checks, exclusions and
//! constraint triggers, with their columns and, for a foreign key, what it references.

use sqlx::postgres::PgRow;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    /// The constrained columns, in the constraint's order.
    pub columns: Vec<String>,
    /// As `pg_get_constraintdef` prints it: `FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE`.
    pub definition: String,
    pub foreign: Option<ForeignKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    Primary,
    Foreign,
    Unique,
    Check,
    Exclusion,
    /// A constraint trigger.
    Trigger,
    /// What PostgreSQL 15 does not keep in `pg_constraint`: a NOT NULL (newer servers do),
    /// or any kind newer still.
    NotNull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The referenced table.
    pub table: String,
    /// The referenced columns, paired in order with the constraint's.
    pub columns: Vec<String>,
    pub on_delete: OnDelete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl ConstraintKind {
    /// `primary key`, `foreign key`, `unique`, `check`, `exclude`, `trigger`, `not null`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintKind::Primary => "primary key",
            ConstraintKind::Foreign => "foreign key",
            ConstraintKind::Unique => "unique",
            ConstraintKind::Check => "check",
            ConstraintKind::Exclusion => "exclude",
            ConstraintKind::Trigger => "trigger",
            ConstraintKind::NotNull => "not null",
        }
    }

    /// `pg_constraint.contype`.
    fn of(contype: &str) -> ConstraintKind {
        match contype {
            "p" => ConstraintKind::Primary,
            "f" => ConstraintKind::Foreign,
            "u" => ConstraintKind::Unique,
            "c" => ConstraintKind::Check,
            "x" => ConstraintKind::Exclusion,
            "t" => ConstraintKind::Trigger,
            _ => ConstraintKind::NotNull,
        }
    }
}

impl OnDelete {
    /// `pg_constraint.confdeltype`.
    fn of(confdeltype: &str) -> OnDelete {
        match confdeltype {
            "r" => OnDelete::Restrict,
            "c" => OnDelete::Cascade,
            "n" => OnDelete::SetNull,
            "d" => OnDelete::SetDefault,
            _ => OnDelete::NoAction,
        }
    }
}

pub(super) const CONSTRAINTS: &str = "
SELECT con.conrelid AS table_oid, con.conname::text AS name, con.contype::text AS kind,
       pg_get_constraintdef(con.oid) AS definition,
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
WHERE con.conrelid = ANY($1)";

impl sqlx::FromRow<'_, PgRow> for Constraint {
    fn from_row(row: &PgRow) -> Result<Constraint, sqlx::Error> {
        let kind = ConstraintKind::of(&row.try_get::<String, _>("kind")?);
        let ref_table: Option<String> = row.try_get("ref_table")?;
        let foreign = match (kind, ref_table) {
            (ConstraintKind::Foreign, Some(table)) => Some(ForeignKey {
                table,
                columns: row.try_get("ref_columns")?,
                on_delete: OnDelete::of(&row.try_get::<String, _>("on_delete")?),
            }),
            _ => None,
        };
        Ok(Constraint {
            name: row.try_get("name")?,
            kind,
            columns: row.try_get("columns")?,
            definition: row.try_get("definition")?,
            foreign,
        })
    }
}
