//! The audit's rules, one module each. A table rule is a pure function of the catalog and
//! one table that returns the details of that table's breaches; a privilege rule, of the
//! catalog or the access model, returning details keyed by table, role or function.

mod definer_functions;
mod detail;
#[cfg(test)]
mod fixture;
mod fk_index;
mod naming;
mod owners;
mod personal_data;
mod privileges;
mod redundant_index;
mod rls;
mod roles;
mod scope;
pub(super) mod secret_columns;
mod tenant_fk;
mod updated_at_trigger;

use super::access::Access;
use super::report::{Rule, Violation};
use crate::catalog::{Schema, Table};

type Check = fn(&Schema, &Table) -> Vec<String>;

const RULES: &[(Rule, Check)] = &[
    (Rule::Scope, scope::check),
    (Rule::TenantFk, tenant_fk::check),
    (Rule::FkIndex, fk_index::check),
    (Rule::Rls, rls::check),
    (Rule::UpdatedAtTrigger, updated_at_trigger::check),
    (Rule::SecretColumns, secret_columns::check),
    (Rule::PersonalData, personal_data::check),
    (Rule::RedundantIndex, redundant_index::check),
    (Rule::Naming, naming::check),
];

pub(super) fn check(schema: &Schema) -> Vec<Violation> {
    let mut violations = Vec::new();
    for table in schema.tables.values() {
        for (rule, check) in RULES {
            violations.extend(check(schema, table).into_iter().map(|detail| Violation {
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
pub(super) fn check_access(schema: &Schema, access: &Access) -> Vec<Violation> {
    let found = [
        (Rule::Roles, roles::check(access)),
        (Rule::Privileges, privileges::check(schema, access)),
        (
            Rule::DefinerFunctions,
            definer_functions::check(schema, access),
        ),
        (Rule::Owners, owners::check(schema)),
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
