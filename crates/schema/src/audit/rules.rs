//! The audit's rules, one module each. A table rule is a pure function of the catalog and
//! one table that returns the details of that table's breaches; a privilege rule, of the
//! access model (and the catalog), returning details keyed by table, role or function.

mod definer_functions;
mod fk_index;
mod naming;
mod privileges;
mod redundant_index;
mod rls;
mod roles;
mod scope;
pub(super) mod secret_columns;
mod tenant_fk;
mod updated_at_trigger;

use super::access::Access;
use super::catalog::{Catalog, Table};
use super::{Rule, Violation};

type Check = fn(&Catalog, &Table) -> Vec<String>;

const RULES: &[(Rule, Check)] = &[
    (Rule::Scope, scope::check),
    (Rule::TenantFk, tenant_fk::check),
    (Rule::FkIndex, fk_index::check),
    (Rule::Rls, rls::check),
    (Rule::UpdatedAtTrigger, updated_at_trigger::check),
    (Rule::SecretColumns, secret_columns::check),
    (Rule::RedundantIndex, redundant_index::check),
    (Rule::Naming, naming::check),
];

pub(super) fn check(catalog: &Catalog) -> Vec<Violation> {
    let mut violations = Vec::new();
    for table in &catalog.tables {
        for (rule, check) in RULES {
            violations.extend(check(catalog, table).into_iter().map(|detail| Violation {
                table: table.name.clone(),
                rule: *rule,
                detail,
            }));
        }
    }
    violations
}

/// The privilege rules, which judge the roles, grants and functions of the whole database
/// rather than one table at a time.
pub(super) fn check_access(catalog: &Catalog, access: &Access) -> Vec<Violation> {
    let found = [
        (Rule::Roles, roles::check(access)),
        (Rule::Privileges, privileges::check(catalog, access)),
        (Rule::DefinerFunctions, definer_functions::check(access)),
    ];
    found
        .into_iter()
        .flat_map(|(rule, details)| {
            details.into_iter().map(move |(table, detail)| Violation {
                table,
                rule,
                detail,
            })
        })
        .collect()
}

/// `(a, b)`: how a detail shows a column list.
fn columns(list: &[String]) -> String {
    format!("({})", list.join(", "))
}

#[cfg(test)]
pub(crate) mod fixture {
    //! Hand-built catalogs for the rules' unit tests.

    use crate::audit::catalog::*;

    pub fn table(name: &str, comment: &str) -> Table {
        Table {
            name: name.into(),
            comment: Some(comment.into()),
            rls_enabled: true,
            rls_forced: true,
            columns: vec![],
            constraints: vec![],
            indexes: vec![],
            policies: vec![],
            triggers: vec![],
        }
    }

    pub fn column(name: &str, data_type: &str) -> Column {
        Column {
            name: name.into(),
            data_type: data_type.into(),
            not_null: true,
        }
    }

    pub fn constraint(name: &str, kind: ConstraintKind, columns: &[&str]) -> Constraint {
        Constraint {
            name: name.into(),
            kind,
            columns: columns.iter().map(|c| c.to_string()).collect(),
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
}
