//! Rule `redundant_index`: every index costs every write, so none may duplicate another or
//! be a leading prefix of another that answers the same queries.

use std::cmp::Ordering;

use crate::catalog::{Index, IndexKey, Schema, Table};

pub(super) fn check(_schema: &Schema, table: &Table) -> Vec<String> {
    let mut details = Vec::new();
    for index in &table.indexes {
        let others = table.indexes.iter().filter(|o| o.name != index.name);
        if let Some(kept) = others
            .clone()
            .find(|o| duplicates(index, o) && keep_first(o, index) == Ordering::Less)
        {
            details.push(format!("index {} duplicates {}", index.name, kept.name));
        } else if let Some(wider) = others
            .clone()
            .filter(|o| covers(o, index))
            .min_by(|a, b| keep_first(a, b))
        {
            details.push(format!(
                "index {} is a leading prefix of {}, which serves the same queries",
                index.name, wider.name
            ));
        }
    }
    details
}

/// Of two duplicates, the one to keep (and of several covering indexes, the one to name): a
/// constraint's index, else the first by name.
fn keep_first(a: &Index, b: &Index) -> Ordering {
    (a.constraint.is_none(), &a.name).cmp(&(b.constraint.is_none(), &b.name))
}

/// Same method, keys (expressions, operator classes, collations, orderings), INCLUDE
/// columns, predicate and uniqueness: one of the two is pure cost.
fn duplicates(a: &Index, b: &Index) -> bool {
    a.method == b.method
        && a.unique == b.unique
        && a.keys == b.keys
        && sorted(&a.include) == sorted(&b.include)
        && a.predicate == b.predicate
}

/// True when `wide` answers every query `narrow` does and `narrow` enforces nothing: the
/// keys of `narrow` lead `wide` (a B-tree scans both ways, so all orderings flipped is the
/// same order), on the same rows, storing what `narrow` stores. Between two such indexes
/// of equal keys, the unique one (else the first by name) is the one kept.
fn covers(wide: &Index, narrow: &Index) -> bool {
    if narrow.unique || narrow.constraint.is_some() || !wide.valid {
        return false;
    }
    if wide.method != "btree" || narrow.method != "btree" || wide.predicate != narrow.predicate {
        return false;
    }
    if !is_prefix(&narrow.keys, &wide.keys) {
        return false;
    }
    let stored = |c: &String| {
        wide.include.contains(c) || wide.keys.iter().any(|k| k.column.as_ref() == Some(c))
    };
    if !narrow.include.iter().all(stored) {
        return false;
    }
    wide.keys.len() > narrow.keys.len()
        || wide.unique
        || (!duplicates(wide, narrow) && wide.name < narrow.name)
}

/// `short` leads `long`: same keys in the same order, each with the same ordering, or each
/// with the opposite one (a backward scan).
fn is_prefix(short: &[IndexKey], long: &[IndexKey]) -> bool {
    if short.len() > long.len() {
        return false;
    }
    let pairs = || short.iter().zip(long);
    let same_key = pairs().all(|(s, l)| {
        s.expression == l.expression && s.opclass == l.opclass && s.collation == l.collation
    });
    let same_order = pairs().all(|(s, l)| s.option == l.option);
    // A backward scan flips both DESC (bit 0) and NULLS FIRST (bit 1).
    let reversed = pairs().all(|(s, l)| s.option ^ 3 == l.option);
    same_key && (same_order || reversed)
}

fn sorted(list: &[String]) -> Vec<&String> {
    let mut v: Vec<&String> = list.iter().collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::*;

    fn report(indexes: Vec<Index>) -> Vec<String> {
        let mut t = table("leads", "scope: tenant");
        t.indexes = indexes;
        check(&Schema::default(), &t)
    }

    #[test]
    fn prefix_needs_same_keys_and_consistent_order() {
        let keys = |c: &[&str]| index("i", c).keys;
        assert!(is_prefix(&keys(&["a"]), &keys(&["a", "b"])));
        assert!(is_prefix(&keys(&["-a"]), &keys(&["a", "b"])));
        assert!(is_prefix(&keys(&["a", "b"]), &keys(&["a", "b"])));
        assert!(is_prefix(&keys(&["-a", "-b"]), &keys(&["a", "b", "c"])));
        let mut nulls_last = keys(&["-a"]);
        nulls_last[0].option = 1;
        assert!(!is_prefix(&nulls_last, &keys(&["a", "b"])));
        assert!(!is_prefix(&keys(&["a", "-b"]), &keys(&["a", "b", "c"])));
        assert!(!is_prefix(&keys(&["b"]), &keys(&["a", "b"])));
        assert!(!is_prefix(&keys(&["a", "b", "c"]), &keys(&["a", "b"])));
        let mut trigram = keys(&["a"]);
        trigram[0].opclass = "gin_trgm_ops".into();
        assert!(!is_prefix(&trigram, &keys(&["a", "b"])));
    }

    #[test]
    fn a_prefix_index_is_redundant() {
        assert_eq!(
            report(vec![
                index("idx_leads_org", &["organization_id"]),
                index("idx_leads_org_stage", &["organization_id", "stage_id"]),
            ]),
            ["index idx_leads_org is a leading prefix of idx_leads_org_stage, which serves the same queries"]
        );
    }

    #[test]
    fn identical_indexes_report_one_duplicate_and_keep_the_constraint() {
        let mut uq = index("uq_leads_email", &["organization_id", "email"]);
        uq.unique = true;
        uq.constraint = Some("uq_leads_email".into());
        let mut copy = index("a_copy", &["organization_id", "email"]);
        copy.unique = true;
        assert_eq!(
            report(vec![uq.clone(), copy]),
            ["index a_copy duplicates uq_leads_email"]
        );
        assert_eq!(
            report(vec![index("idx_b", &["x"]), index("idx_a", &["x"])]),
            ["index idx_b duplicates idx_a"]
        );
    }

    #[test]
    fn unique_constraint_and_partial_indexes_are_not_redundant() {
        let mut pk = index("pk_leads", &["organization_id", "id"]);
        pk.unique = true;
        pk.constraint = Some("pk_leads".into());
        let mut uq = index("uq_leads_org", &["organization_id"]);
        uq.unique = true;
        let mut open = index("idx_leads_open", &["organization_id"]);
        open.predicate = Some("status = 'open'::text".into());
        assert!(report(vec![pk.clone(), uq, open]).is_empty());
        // A plain index equal to the unique one is covered by it.
        assert_eq!(
            report(vec![pk, index("idx_leads_org_id", &["organization_id", "id"])]),
            ["index idx_leads_org_id is a leading prefix of pk_leads, which serves the same queries"]
        );
    }

    #[test]
    fn include_columns_must_be_stored_by_the_wider_index() {
        let mut narrow = index("idx_leads_org", &["organization_id"]);
        narrow.include = vec!["score".into()];
        let wide = index("idx_leads_org_stage", &["organization_id", "stage_id"]);
        assert!(report(vec![narrow.clone(), wide.clone()]).is_empty());
        let mut wider = wide;
        wider.include = vec!["score".into()];
        assert_eq!(report(vec![narrow, wider]).len(), 1);
    }
}
