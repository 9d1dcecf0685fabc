//! no-serial-ids: ids are UUIDv7 (`DEFAULT uuid_generate_v7()`), never `serial` or identity
//! columns: sequential integers leak row counts and cannot be merged across organizations or
//! shards.

use squawk_syntax::SyntaxKind;

use crate::check::{Context, Violation};
use crate::model::Site;
use crate::rule::Rule;
use crate::syntax::{has_child, name_in, type_text};

const SERIAL_TYPES: &[&str] = &[
    "serial",
    "serial4",
    "bigserial",
    "serial8",
    "smallserial",
    "serial2",
];

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in ctx.files {
        let columns = file
            .parse
            .syntax_node()
            .descendants()
            .filter(|n| matches!(n.kind(), SyntaxKind::COLUMN | SyntaxKind::ADD_COLUMN));
        for column in columns {
            let serial = column
                .children()
                .find(|n| n.kind() == SyntaxKind::PATH_TYPE)
                .is_some_and(|ty| SERIAL_TYPES.contains(&type_text(&ty).as_str()));
            let identity = column.children().any(|c| {
                c.kind() == SyntaxKind::GENERATED_CONSTRAINT
                    && has_child(&c, SyntaxKind::GENERATED_IDENTITY)
            });
            if serial || identity {
                let name = name_in(&column, SyntaxKind::COLUMN_NAME).unwrap_or_default();
                violations.push(Violation::at(
                    Site {
                        file: file.index,
                        range: column.text_range(),
                    },
                    Rule::NoSerialIds,
                    format!("column {name} is a serial or identity column"),
                    "use `uuid NOT NULL DEFAULT uuid_generate_v7()`",
                ));
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use crate::rule::Rule;
    use crate::testing::broken;

    #[test]
    fn serial_and_identity_columns_break_it() {
        assert!(
            broken("CREATE TABLE plans (id bigserial PRIMARY KEY);").contains(&Rule::NoSerialIds)
        );
        assert!(
            broken("CREATE TABLE plans (id bigint GENERATED ALWAYS AS IDENTITY);")
                .contains(&Rule::NoSerialIds)
        );
    }

    #[test]
    fn a_uuid_v7_id_passes() {
        let sql = "CREATE TABLE plans (id uuid NOT NULL DEFAULT uuid_generate_v7());";
        assert!(!broken(sql).contains(&Rule::NoSerialIds));
    }
}
