//! What each rule checks: squawk's dangerous-operation rules (`squawk.rs`) and crmdb's own,
//! one file each. A check reads the parsed files and the set's model and returns violations.

mod no_serial_ids;
mod require_lock_timeout;
mod secret_in_clear;
mod squawk;
mod syntax_error;
mod table_scope_comment;
mod tenant_composite_foreign_key;
mod tenant_organization_id;
mod tenant_primary_key;
mod tenant_row_level_security;

use crate::check::{Context, Violation};
use crate::rule::Rule;

type Check = fn(&Context) -> Vec<Violation>;

/// The check of one of crmdb's own rules; `None` for the rules judged elsewhere: squawk's,
/// all run by one pass of its linter, and invalid-allow, judged by the silencing.
fn crmdb_check(rule: Rule) -> Option<Check> {
    Some(match rule {
        Rule::NoSerialIds => no_serial_ids::check,
        Rule::RequireLockTimeout => require_lock_timeout::check,
        Rule::SecretInClear => secret_in_clear::check,
        Rule::SyntaxError => syntax_error::check,
        Rule::TableScopeComment => table_scope_comment::check,
        Rule::TenantCompositeForeignKey => tenant_composite_foreign_key::check,
        Rule::TenantOrganizationId => tenant_organization_id::check,
        Rule::TenantPrimaryKey => tenant_primary_key::check,
        Rule::TenantRowLevelSecurity => tenant_row_level_security::check,
        Rule::InvalidAllow | Rule::Squawk(_) => return None,
    })
}

pub(crate) fn check_all(ctx: &Context) -> Vec<Violation> {
    let mut violations = squawk::check(ctx);
    for check in enum_iterator::all::<Rule>().filter_map(crmdb_check) {
        violations.extend(check(ctx));
    }
    violations
}
