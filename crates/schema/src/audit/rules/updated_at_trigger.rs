//! Rule `updated_at_trigger`: a default alone does not keep `updated_at` current; the shared
//! trigger function does.

use crate::catalog::{Schema, Table};

pub(super) fn check(_schema: &Schema, table: &Table) -> Vec<String> {
    if table.column("updated_at").is_none() {
        return vec![];
    }
    // `UPDATE OF col` would skip updates of the other columns; a WHEN clause is the
    // table's business (skipping no-op updates is fine).
    let kept = table.triggers.iter().any(|t| {
        t.function == "set_updated_at"
            && t.before
            && t.row_level
            && t.on_update
            && !t.column_list
            && t.enabled
    });
    if kept {
        vec![]
    } else {
        vec!["no enabled BEFORE UPDATE FOR EACH ROW trigger calls set_updated_at()".to_owned()]
    }
}
