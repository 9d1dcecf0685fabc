//! table-scope-comment: every table declares its scope where the audit and the docs read it,
//! its comment: `COMMENT ON TABLE t IS 'scope: tenant. …'` or `'scope: global. …'`.

use crate::check::{Context, Violation};
use crate::rule::Rule;

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
                Rule::TableScopeComment,
                message,
                "add `COMMENT ON TABLE <table> IS 'scope: tenant. <purpose>'` (or `scope: global`)",
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::rule::Rule;
    use crate::testing::broken;

    #[test]
    fn a_table_without_a_known_scope_breaks_it() {
        let unknown = "COMMENT ON TABLE plans IS 'scope: everywhere. Plans.';";
        for comment in ["", unknown] {
            let sql = format!("CREATE TABLE plans (id uuid PRIMARY KEY);\n{comment}");
            assert!(broken(&sql).contains(&Rule::TableScopeComment), "{comment}");
        }
    }

    #[test]
    fn a_declared_scope_passes() {
        let sql = "CREATE TABLE plans (id uuid PRIMARY KEY);
                   COMMENT ON TABLE plans IS 'scope: global. Plans.';";
        assert!(!broken(sql).contains(&Rule::TableScopeComment));
    }
}
