//! Rule `naming`: constraint, index and trigger names say what they are and whose they are,
//! so an error message names its rule (`ck_leads_lead_score`) and a plan names its index.

use crate::catalog::{ConstraintKind, Schema, Table};

pub(super) fn check(_schema: &Schema, table: &Table) -> Vec<String> {
    let mut details = Vec::new();
    for c in &table.constraints {
        let Some((what, prefix)) = constraint_prefix(c.kind) else {
            continue;
        };
        if let Some(expected) = misnamed(
            &table.name,
            &c.name,
            prefix,
            c.kind == ConstraintKind::Primary,
        ) {
            details.push(format!("{what} {} should be named {expected}", c.name));
        }
    }
    // A constraint's index carries the constraint's name, checked above.
    for index in table.indexes.iter().filter(|i| i.constraint.is_none()) {
        let (what, prefix) = if index.unique {
            ("unique index", "uq")
        } else {
            ("index", "idx")
        };
        if let Some(expected) = misnamed(&table.name, &index.name, prefix, false) {
            details.push(format!("{what} {} should be named {expected}", index.name));
        }
    }
    for trigger in &table.triggers {
        if let Some(expected) = misnamed(&table.name, &trigger.name, "trg", false) {
            details.push(format!(
                "trigger {} should be named {expected}",
                trigger.name
            ));
        }
    }
    details
}

fn constraint_prefix(kind: ConstraintKind) -> Option<(&'static str, &'static str)> {
    match kind {
        ConstraintKind::Primary => Some(("primary key", "pk")),
        ConstraintKind::Foreign => Some(("foreign key", "fk")),
        ConstraintKind::Unique => Some(("unique constraint", "uq")),
        ConstraintKind::Check => Some(("check constraint", "ck")),
        ConstraintKind::Exclusion => Some(("exclusion constraint", "ex")),
        ConstraintKind::Trigger | ConstraintKind::NotNull => None,
    }
}

/// `None` when `name` follows the convention; else the pattern it should follow:
/// `<prefix>_<table>` exactly when `exact` (a primary key), `<prefix>_<table>_...` otherwise.
fn misnamed(table: &str, name: &str, prefix: &str, exact: bool) -> Option<String> {
    let stem = format!("{prefix}_{table}");
    let ok = if exact {
        name == stem
    } else {
        name.strip_prefix(&stem)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|rest| !rest.is_empty())
    };
    match (ok, exact) {
        (true, _) => None,
        (false, true) => Some(stem),
        (false, false) => Some(format!("{stem}_...")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::*;

    #[test]
    fn names_follow_prefix_table_rest() {
        assert_eq!(misnamed("leads", "pk_leads", "pk", true), None);
        assert_eq!(
            misnamed("leads", "leads_pkey", "pk", true),
            Some("pk_leads".into())
        );
        assert_eq!(misnamed("leads", "fk_leads_stage", "fk", false), None);
        assert_eq!(
            misnamed("leads", "fk_leads", "fk", false),
            Some("fk_leads_...".into())
        );
        assert_eq!(
            misnamed("leads", "fk_leads_", "fk", false),
            Some("fk_leads_...".into())
        );
        assert_eq!(
            misnamed("lead_tags", "fk_leads_tag", "fk", false),
            Some("fk_lead_tags_...".into())
        );
        assert_eq!(
            misnamed("leads", "fk_lead_tags_tag", "fk", false),
            Some("fk_leads_...".into())
        );
    }

    #[test]
    fn checks_constraints_and_free_indexes() {
        let mut t = table("tags", "scope: tenant");
        t.constraints = vec![
            constraint(
                "tags_pkey",
                ConstraintKind::Primary,
                &["organization_id", "id"],
            ),
            constraint("ck_tags_color", ConstraintKind::Check, &["color"]),
            constraint("tags_name_check", ConstraintKind::Check, &["name"]),
        ];
        let mut pk = index("tags_pkey", &["organization_id", "id"]);
        pk.unique = true;
        pk.constraint = Some("tags_pkey".into());
        let mut unique = index("idx_tags_name", &["organization_id", "name"]);
        unique.unique = true;
        t.indexes = vec![pk, unique, index("idx_tags_color", &["color"])];
        assert_eq!(
            check(&Schema::default(), &t),
            [
                "primary key tags_pkey should be named pk_tags",
                "check constraint tags_name_check should be named ck_tags_...",
                "unique index idx_tags_name should be named uq_tags_...",
            ]
        );
    }
}
