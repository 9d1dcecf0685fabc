//! table-scope-comment: every table declares its scope where the audit and the docs read it,
//! its comment: `COMMENT ON TABLE t IS 'scope: tenant. …'` or `'scope: global. …'`.

use super::{Context, Violation};

pub(super) const RULE: &str = "table-scope-comment";

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    ctx.model
        .tables
        .values()
        .filter_map(|table| {
            let message = match table.scope.as_deref() {
                Some("tenant" | "global") => return None,
                Some(other) => format!("table {} declares an unknown scope {other:?}", table.name),
                None => format!("table {} declares no scope", table.name),
            };
            Some(Violation::at(
                table.site,
                RULE,
                message,
                "add `COMMENT ON TABLE <table> IS 'scope: tenant. <purpose>'` (or `scope: global`)",
            ))
        })
        .collect()
}
