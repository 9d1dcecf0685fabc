//! syntax-error: a file squawk's parser cannot read. The parser recovers and the other rules
//! still run, but a statement it misread may hide a dangerous operation, so the file is not
//! clean; squawk's own CLI reports the same error under the same name. Only a file's first
//! error is reported: the parser's recovery turns one mistake into several.

use crate::check::{Context, Violation};
use crate::model::Site;
use crate::rule::Rule;

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    ctx.files
        .iter()
        .filter_map(|file| {
            file.parse.errors().into_iter().next().map(|error| {
                Violation::at(
                    Site {
                        file: file.index,
                        range: error.range(),
                    },
                    Rule::SyntaxError,
                    error.message().to_owned(),
                    "fix the SQL; PostgreSQL would reject it too, or squawk's parser does not \
                     know this syntax yet (then apply with --no-lint after checking it by hand)",
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::rule::Rule;
    use crate::testing::broken;

    #[test]
    fn an_unclosed_parenthesis_breaks_it() {
        let rules = broken("CREATE DOMAIN email AS text;\nSELECT (1;");
        assert_eq!(rules, [Rule::SyntaxError]);
    }

    #[test]
    fn valid_sql_passes() {
        assert_eq!(broken("CREATE DOMAIN email AS text;"), []);
    }
}
