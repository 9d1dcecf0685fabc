//! Rule `rls`: row-level security isolates the organizations of every tenant table, even
//! from the table's owner (forced).

use crate::catalog::{Schema, Scope, Table};

pub(super) fn check(_schema: &Schema, table: &Table) -> Vec<String> {
    let mut details = Vec::new();
    if table.scope() != Some(Scope::Tenant) {
        return details;
    }
    if !table.rls_enabled {
        details.push("row-level security is not enabled".to_owned());
    }
    if !table.rls_forced {
        details.push("row-level security is not forced".to_owned());
    }
    if table.policies.is_empty() {
        details.push("no row-level security policy".to_owned());
    }
    details
}
