//! Rule `personal_data`: every column whose name or type suggests personal data declares what
//! it holds (`pii: contact`, `identifier`, `content` or `none` on the first line of its
//! comment), so that the map LGPD's access and erasure read is complete: a new column joins
//! it or the audit fails.

use crate::catalog::{Schema, Table};
use crate::pii::{self, Classified};

pub(super) fn check(_schema: &Schema, table: &Table) -> Vec<String> {
    let mut details = Vec::new();
    for column in &table.columns {
        match pii::classify(column.comment.as_deref()) {
            Classified::Classified { .. } => {}
            Classified::Malformed { class } => details.push(format!(
                "column {} declares the unknown personal-data class {class:?}; use one of \
                 contact, identifier, content, none",
                column.name
            )),
            Classified::Unclassified => {
                if let Some(why) = pii::suspicion(&column.name, &column.data_type) {
                    details.push(format!(
                        "column {} may hold personal data ({why}) but its comment declares no \
                         classification: start it with a line `pii: contact|identifier|content|none`",
                        column.name
                    ));
                }
            }
        }
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::*;

    #[test]
    fn unclassified_suspects_and_unknown_classes_fail() {
        let mut t = table("leads", "scope: tenant");
        let commented = |name: &str, data_type: &str, comment: &str| {
            let mut c = column(name, data_type);
            c.comment = Some(comment.into());
            c
        };
        t.columns = vec![
            column("id", "uuid"),
            commented("email", "text", "pii: contact\nLower-case."),
            commented("status", "text", "pii: none"),
            column("customer_cpf", "text"),
            commented("birth_date", "date", "When they were born."),
            commented("phone", "text", "pii: phone"),
            column("score", "integer"),
        ];
        assert_eq!(
            check(&Schema::default(), &t),
            [
                "column customer_cpf may hold personal data (its name has \"cpf\") but its \
                 comment declares no classification: start it with a line \
                 `pii: contact|identifier|content|none`",
                "column birth_date may hold personal data (its name has \"birth\") but its \
                 comment declares no classification: start it with a line \
                 `pii: contact|identifier|content|none`",
                "column phone declares the unknown personal-data class \"phone\"; use one of \
                 contact, identifier, content, none",
            ]
        );
    }
}
