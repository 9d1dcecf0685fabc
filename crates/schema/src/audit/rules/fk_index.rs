//! Rule `fk_index`: every foreign key is served by an index, so deleting a parent row (or
//! joining to the children) does not scan the child table.

use crate::catalog::{Index, Schema, Table};

pub(super) fn check(_schema: &Schema, table: &Table) -> Vec<String> {
    table
        .foreign_keys()
        .filter(|(c, _)| !table.indexes.iter().any(|i| serves(i, &c.columns)))
        .map(|(c, _)| {
            format!(
                "foreign key {} {} has no index that starts with its columns",
                c.name,
                super::detail::columns(&c.columns)
            )
        })
        .collect()
}

/// A partial index does not serve the key (the planner may not use it for an arbitrary
/// parent), nor does one still being built; the column order must match the key's so the
/// schema keeps one ordering (organization first) everywhere.
fn serves(index: &Index, columns: &[String]) -> bool {
    index.valid
        && index.method == "btree"
        && index.predicate.is_none()
        && index.leading_columns().count() >= columns.len()
        && index.leading_columns().zip(columns).all(|(i, c)| i == c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::*;

    fn cols(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn leading_columns_in_order_serve() {
        let key = cols(&["organization_id", "lead_id"]);
        assert!(serves(&index("i", &["organization_id", "lead_id"]), &key));
        assert!(serves(
            &index("i", &["organization_id", "lead_id", "-created_at"]),
            &key
        ));
        assert!(!serves(&index("i", &["lead_id", "organization_id"]), &key));
        assert!(!serves(&index("i", &["organization_id"]), &key));
        assert!(!serves(
            &index("i", &["organization_id", "created_at", "lead_id"]),
            &key
        ));
    }

    #[test]
    fn partial_invalid_and_expression_indexes_do_not_serve() {
        let key = cols(&["organization_id", "lead_id"]);
        let mut partial = index("i", &["organization_id", "lead_id"]);
        partial.predicate = Some("deleted_at IS NULL".into());
        assert!(!serves(&partial, &key));
        let mut invalid = index("i", &["organization_id", "lead_id"]);
        invalid.valid = false;
        assert!(!serves(&invalid, &key));
        let mut expression = index("i", &["organization_id", "lead_id"]);
        expression.keys[1].column = None;
        assert!(!serves(&expression, &key));
    }
}
