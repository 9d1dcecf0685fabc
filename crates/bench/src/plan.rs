//! Whether a hot query's plan uses its intended index.

use crmdb_store::Db;

use crate::call::{Call, Parameters};
use crate::Error;

/// True when the plan of `call` names its query's intended index. It is planned where it
/// runs: under row-level security as the application role, except the lead-search
/// statement (planned as the owner of `search_leads` plans it) and the job claim (a
/// worker's query across organizations), which are planned as the login itself.
pub(crate) async fn uses_index(call: &Call, db: &Db) -> Result<bool, Error> {
    let plan = match (&call.parameters, call.organization()) {
        (Parameters::LeadSearch(..), _) | (_, None) => {
            let mut conn = db.begin_maintenance().await?;
            let plan = call.explain(&mut conn).await?;
            conn.rollback().await?;
            plan
        }
        (_, Some(org)) => {
            let mut tx = db.tenant(org).begin().await?;
            let plan = call.explain(&mut tx).await?;
            tx.rollback().await?;
            plan
        }
    };
    Ok(names_index(&plan, call.query.index))
}

/// True when some node of an `EXPLAIN (FORMAT JSON)` plan scans `index`.
fn names_index(plan: &serde_json::Value, index: &str) -> bool {
    match plan {
        serde_json::Value::Object(node) => node.iter().any(|(key, value)| {
            (key == "Index Name" && value.as_str() == Some(index)) || names_index(value, index)
        }),
        serde_json::Value::Array(items) => items.iter().any(|item| names_index(item, index)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_searched_for_the_index_at_any_depth() {
        let plan = serde_json::json!([{"Plan": {"Node Type": "Limit", "Plans": [
            {"Node Type": "Index Scan", "Index Name": "idx_x"}
        ]}}]);
        assert!(names_index(&plan, "idx_x"));
        assert!(!names_index(&plan, "idx_y"));
    }
}
