//! Silencing: `-- crmdb:allow <rule>[, <rule>…] because <reason>` on a statement (in the
//! comments just before it, inside it, or after it on its last line) silences those rules
//! for that statement. A malformed or unused allow comment is a finding itself, so every
//! exception stays named and explained.

use rowan::{TextRange, TextSize};
use squawk_syntax::{ast::AstNode, SyntaxKind};

use crate::check::Violation;
use crate::rule::{Rule, UnknownRule};
use crate::source::Parsed;

const ALLOW: &str = "crmdb:allow";
const SQUAWK_IGNORE: &str = "squawk-ignore";

struct Allow {
    file: usize,
    /// The statement the comment belongs to.
    statement: TextRange,
    comment: TextRange,
    rules: Vec<Rule>,
    used: bool,
}

/// Drops the violations an allow comment silences; adds one for every comment that is
/// malformed, names an unknown rule or silences nothing.
pub(crate) fn apply(files: &[Parsed], violations: Vec<Violation>) -> Vec<Violation> {
    let mut problems = Vec::new();
    let mut allows = Vec::new();
    for file in files {
        collect(file, &mut allows, &mut problems);
    }
    let mut kept: Vec<Violation> = violations
        .into_iter()
        .filter(|v| {
            let allow = allows.iter_mut().find(|a| {
                a.file == v.file
                    && a.statement.contains_inclusive(v.range.start())
                    && a.rules.contains(&v.rule)
            });
            match allow {
                Some(allow) => {
                    allow.used = true;
                    false
                }
                None => true,
            }
        })
        .collect();
    for allow in allows.iter().filter(|a| !a.used) {
        let names: Vec<&str> = allow.rules.iter().map(|rule| rule.name()).collect();
        problems.push(Violation {
            file: allow.file,
            range: allow.comment,
            rule: Rule::InvalidAllow,
            message: format!(
                "this allow comment silences nothing: {} is not broken by its statement",
                names.join(", ")
            ),
            help: Some("remove the comment, or move it onto the statement it excuses".into()),
        });
    }
    kept.extend(problems);
    kept
}

fn collect(file: &Parsed, allows: &mut Vec<Allow>, problems: &mut Vec<Violation>) {
    let root = file.parse.syntax_node();
    let statements: Vec<TextRange> = file
        .statements
        .iter()
        .map(|s| s.syntax().text_range())
        .collect();
    let comments = root
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| t.kind() == SyntaxKind::COMMENT);
    for token in comments {
        let text = token.text();
        let body = text
            .strip_prefix("--")
            .or_else(|| text.strip_prefix("/*").and_then(|t| t.strip_suffix("*/")))
            .unwrap_or(text)
            .trim();
        let range = token.text_range();
        let problem = |message: String, help: &str| Violation {
            file: file.index,
            range,
            rule: Rule::InvalidAllow,
            message,
            help: Some(help.into()),
        };
        if body.starts_with(SQUAWK_IGNORE) {
            problems.push(problem(
                "squawk-ignore comments are not honoured here: an exception needs a reason".into(),
                "write `-- crmdb:allow <rule> because <reason>` on the statement",
            ));
            continue;
        }
        let Some(rest) = body.strip_prefix(ALLOW) else {
            continue;
        };
        let (names, reason) = match rest.split_once(" because ") {
            Some((names, reason)) => (names, reason.trim()),
            None => (rest, ""),
        };
        let names: Vec<&str> = names
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() || reason.is_empty() {
            problems.push(problem(
                "an allow comment must name the rule and give the reason".into(),
                "write `-- crmdb:allow <rule> because <reason>`",
            ));
            continue;
        }
        let rules = match names
            .iter()
            .map(|n| n.parse())
            .collect::<Result<Vec<Rule>, _>>()
        {
            Ok(rules) => rules,
            Err(UnknownRule(unknown)) => {
                problems.push(problem(
                    format!("the allow comment names {unknown}, which is not a rule"),
                    "`crmdb migrate lint --rules` lists the rules",
                ));
                continue;
            }
        };
        let Some(statement) = owner(&statements, &file.text, range.start()) else {
            problems.push(problem(
                "this allow comment is on no statement".into(),
                "put it on the line before the statement it excuses",
            ));
            continue;
        };
        allows.push(Allow {
            file: file.index,
            statement,
            comment: range,
            rules,
            used: false,
        });
    }
}

/// The statement a comment at `at` belongs to: the one it is inside, the one whose last line
/// it ends, or else the next one.
fn owner(statements: &[TextRange], text: &str, at: TextSize) -> Option<TextRange> {
    if let Some(inside) = statements.iter().find(|s| s.contains(at)) {
        return Some(*inside);
    }
    let line_start = TextSize::from(
        u32::try_from(text[..usize::from(at)].rfind('\n').map_or(0, |i| i + 1)).unwrap_or(0),
    );
    statements
        .iter()
        .rev()
        .find(|s| s.end() <= at && s.end() > line_start)
        .or_else(|| statements.iter().find(|s| s.start() >= at))
        .copied()
}

#[cfg(test)]
mod tests {
    use crate::rule::{Rule, SquawkRule};
    use crate::testing::broken;

    #[test]
    fn an_allow_with_a_reason_silences_its_rule() {
        let sql = "DROP TABLE legacy; -- crmdb:allow ban-drop-table because it was archived";
        assert_eq!(broken(sql), []);
    }

    #[test]
    fn an_allow_naming_no_rule_or_squawks_comment_breaks_invalid_allow() {
        for comment in [
            "-- crmdb:allow no-such-rule because it is fine",
            "-- crmdb:allow unused-ignore because it is fine",
            "-- crmdb:allow prefer-timestamptz because it is fine",
        ] {
            let sql = format!("{comment}\nCREATE DOMAIN email AS text;");
            assert_eq!(broken(&sql), [Rule::InvalidAllow], "{comment}");
        }
        let squawk = broken("-- squawk-ignore nope\nCREATE DOMAIN email AS text;");
        let unused = Rule::Squawk(SquawkRule::UnusedIgnore);
        assert_eq!(squawk, [Rule::InvalidAllow, unused]);
    }
}
