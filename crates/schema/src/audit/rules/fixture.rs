//! Hand-built catalogs for the rules' unit tests.

use crate::audit::access::{Access, RoleRow};
use crate::catalog::*;
use crate::roles::{APP, ROLES, WORKER};

/// The roles of the model, as the privilege model wants them.
pub fn role(name: &str) -> RoleRow {
    RoleRow {
        name: name.into(),
        superuser: false,
        bypassrls: false,
        can_login: false,
        member_of: if name == WORKER {
            vec![APP.into()]
        } else {
            vec![]
        },
    }
}

/// A cluster with every role of the model and no login.
pub fn access() -> Access {
    Access {
        roles: ROLES.iter().map(|r| role(r)).collect(),
        ..Access::default()
    }
}

pub fn schema(tables: Vec<Table>) -> Schema {
    Schema {
        tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
        ..Schema::default()
    }
}

/// A table with its row-level security enabled and forced.
pub fn table(name: &str, comment: &str) -> Table {
    Table {
        name: name.into(),
        comment: Some(comment.into()),
        rls_enabled: true,
        rls_forced: true,
        ..Table::default()
    }
}

pub fn column(name: &str, data_type: &str) -> Column {
    Column {
        name: name.into(),
        data_type: data_type.into(),
        not_null: true,
        default: None,
        generated: None,
        comment: None,
    }
}

pub fn constraint(name: &str, kind: ConstraintKind, columns: &[&str]) -> Constraint {
    Constraint {
        name: name.into(),
        kind,
        columns: columns.iter().map(|c| c.to_string()).collect(),
        definition: String::new(),
        foreign: None,
    }
}

pub fn foreign_key(
    name: &str,
    columns: &[&str],
    table: &str,
    ref_columns: &[&str],
    on_delete: OnDelete,
) -> Constraint {
    Constraint {
        foreign: Some(ForeignKey {
            table: table.into(),
            columns: ref_columns.iter().map(|c| c.to_string()).collect(),
            on_delete,
        }),
        ..constraint(name, ConstraintKind::Foreign, columns)
    }
}

/// A valid, full, non-unique btree index on plain columns; `-col` means DESC (whose
/// nulls come first by default).
pub fn index(name: &str, columns: &[&str]) -> Index {
    Index {
        name: name.into(),
        definition: String::new(),
        method: "btree".into(),
        unique: false,
        valid: true,
        constraint: None,
        keys: columns
            .iter()
            .map(|c| {
                let (name, option) = match c.strip_prefix('-') {
                    Some(name) => (name, 3),
                    None => (*c, 0),
                };
                IndexKey {
                    column: Some(name.into()),
                    expression: name.into(),
                    opclass: "uuid_ops".into(),
                    collation: 0,
                    option,
                }
            })
            .collect(),
        include: vec![],
        predicate: None,
    }
}
