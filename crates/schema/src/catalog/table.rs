//! A table of the catalog and its columns, with the scope its comment declares.

use super::constraint::{Constraint, ConstraintKind, ForeignKey};
use super::grant::Grant;
use super::index::Index;
use super::policy::Policy;
use super::trigger::Trigger;

/// A table with its parts: the columns in column order, the rest by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Table {
    pub name: String,
    /// The admin that migrates the database, in the privilege model.
    pub owner: String,
    pub comment: Option<String>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    /// A partition of a partitioned table, which the audit judges through its parent.
    pub is_partition: bool,
    /// In column order.
    #[sqlx(skip)]
    pub columns: Vec<Column>,
    #[sqlx(skip)]
    pub constraints: Vec<Constraint>,
    #[sqlx(skip)]
    pub indexes: Vec<Index>,
    #[sqlx(skip)]
    pub triggers: Vec<Trigger>,
    #[sqlx(skip)]
    pub policies: Vec<Policy>,
    /// Held by roles other than the table's owner, on the table or one of its columns.
    #[sqlx(skip)]
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Column {
    pub name: String,
    /// As `format_type` spells it: `uuid`, `bytea`, `timestamp with time zone`.
    pub data_type: String,
    pub not_null: bool,
    #[sqlx(rename = "default_value")]
    pub default: Option<String>,
    /// `always`, `by default` (identity) or `stored` (generated) when the column is not plain.
    pub generated: Option<String>,
    pub comment: Option<String>,
}

impl Column {
    /// The personal-data class the comment declares; `None` when it declares none (or one the
    /// audit's `personal_data` rule rejects).
    pub fn pii(&self) -> Option<crate::pii::Pii> {
        match crate::pii::classify(self.comment.as_deref()) {
            crate::pii::Classified::Classified { pii, .. } => Some(pii),
            _ => None,
        }
    }
}

/// Whether a table belongs to one organization or to the whole system, as its comment says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Tenant,
    Global,
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

// Partitioned tables (`p`) are tables; their partitions too, flagged.
pub(super) const TABLES: &str = "
SELECT c.oid, c.relname::text AS name, pg_get_userbyid(c.relowner)::text AS owner,
       obj_description(c.oid, 'pg_class') AS comment,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       c.relispartition AS is_partition
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')";

// attidentity: `a` always, `d` by default; attgenerated `s`: stored.
pub(super) const COLUMNS: &str = "
SELECT a.attrelid AS table_oid, a.attname::text AS name,
       format_type(a.atttypid, a.atttypmod) AS data_type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default_value,
       CASE WHEN a.attidentity = 'a' THEN 'always' WHEN a.attidentity = 'd' THEN 'by default'
            WHEN a.attgenerated = 's' THEN 'stored' END AS generated,
       col_description(a.attrelid, a.attnum) AS comment
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum";

#[cfg(test)]
mod tests {
    use super::*;

    fn commented(comment: &str) -> Table {
        Table {
            comment: Some(comment.into()),
            ..Table::default()
        }
    }

    #[test]
    fn the_scope_word_must_be_whole() {
        for (comment, scope) in [
            ("scope: tenant", Some(Scope::Tenant)),
            ("scope: global. Users.", Some(Scope::Global)),
            ("scope: tenants", None),
            ("Scope: tenant", None),
            ("leads. scope: tenant", None),
        ] {
            assert_eq!(commented(comment).scope(), scope, "{comment}");
        }
        assert_eq!(Table::default().scope(), None);
    }
}
