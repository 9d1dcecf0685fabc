//! The rules: squawk's dangerous-operation rules (`squawk.rs`) and crmdb's own, one file
//! each. A rule reads the parsed files and the set's [`Model`] and returns violations.

mod no_serial_ids;
mod require_lock_timeout;
mod secret_in_clear;
mod squawk;
mod table_scope_comment;
mod tenant_composite_foreign_key;
mod tenant_organization_id;
mod tenant_primary_key;
mod tenant_row_level_security;

use rowan::TextRange;

use crate::model::{Model, Site};
use crate::source::Parsed;

pub(crate) struct Context<'a> {
    pub files: &'a [Parsed],
    pub model: &'a Model,
}

/// A broken rule before silencing and before its position is turned into a line.
#[derive(Debug)]
pub(crate) struct Violation {
    pub file: usize,
    pub range: TextRange,
    pub rule: String,
    pub message: String,
    pub help: Option<String>,
}

impl Violation {
    fn at(site: Site, rule: &str, message: String, help: &str) -> Violation {
        Violation {
            file: site.file,
            range: site.range,
            rule: rule.into(),
            message,
            help: Some(help.into()),
        }
    }
}

type Check = fn(&Context) -> Vec<Violation>;

/// crmdb's own rules, by name.
const CRMDB_RULES: &[(&str, Check)] = &[
    (no_serial_ids::RULE, no_serial_ids::check),
    (require_lock_timeout::RULE, require_lock_timeout::check),
    (secret_in_clear::RULE, secret_in_clear::check),
    (table_scope_comment::RULE, table_scope_comment::check),
    (
        tenant_composite_foreign_key::RULE,
        tenant_composite_foreign_key::check,
    ),
    (tenant_organization_id::RULE, tenant_organization_id::check),
    (tenant_primary_key::RULE, tenant_primary_key::check),
    (
        tenant_row_level_security::RULE,
        tenant_row_level_security::check,
    ),
];

pub(crate) fn check_all(ctx: &Context) -> Vec<Violation> {
    let mut violations = squawk::check(ctx);
    for (_, check) in CRMDB_RULES {
        violations.extend(check(ctx));
    }
    violations
}

/// Every rule the lint checks, sorted: the names an allow comment may use.
pub fn rule_names() -> Vec<String> {
    let mut names: Vec<String> = CRMDB_RULES.iter().map(|(name, _)| (*name).into()).collect();
    names.extend(squawk::rule_names());
    names.push(crate::allow::RULE.into());
    names.sort_unstable();
    names
}
