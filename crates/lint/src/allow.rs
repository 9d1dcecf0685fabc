//! Silencing, in two spellings, each only with a reason:
//! - `-- crmdb:allow <rule>[, <rule>…] because <reason>` on a statement (in the comments just
//!   before it, inside it, or after it on its last line) silences those rules for that
//!   statement;
//! - squawk's own `-- squawk-ignore <rule>[, <rule>…] -- <reason>` silences them where squawk
//!   does, on the comment's line and the line after it, and `-- squawk-ignore-file …` in the
//!   whole file; so a team that also runs squawk gets one verdict from both tools. squawk
//!   reads the reason after the second `--` as a comment of the comment.
//!
//! A malformed or unused comment is a finding itself, so every exception stays named and
//! explained.

use rowan::{TextRange, TextSize};
use squawk_linter::ignore::{ignore_rule_info, IgnoreKind};
use squawk_syntax::{ast::AstNode, SyntaxKind, SyntaxToken};

use crate::check::Violation;
use crate::rule::{Rule, SquawkRule, UnknownRule};
use crate::source::Parsed;

const ALLOW: &str = "crmdb:allow";

/// Where an allow comment silences.
enum Scope {
    /// The statement the comment belongs to.
    Statement(TextRange),
    /// A squawk-ignore comment: findings starting on these two 1-based lines.
    Lines(usize),
    File,
}

struct Allow {
    file: usize,
    scope: Scope,
    comment: TextRange,
    /// The rules crmdb checks among those named; a squawk-ignore may also name squawk rules
    /// crmdb leaves out, which silence nothing here and are never unused.
    rules: Vec<Rule>,
    used: bool,
}

impl Allow {
    fn covers(&self, file: &Parsed, v: &Violation) -> bool {
        self.file == v.file
            && self.rules.contains(&v.rule)
            && match self.scope {
                Scope::Statement(statement) => statement.contains_inclusive(v.range.start()),
                Scope::Lines(line) => {
                    let (at, _) = file.line_col(v.range.start());
                    at == line || at == line + 1
                }
                Scope::File => true,
            }
    }
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
        .filter(
            |v| match allows.iter_mut().find(|a| a.covers(&files[v.file], v)) {
                Some(allow) => {
                    allow.used = true;
                    false
                }
                None => true,
            },
        )
        .collect();
    for allow in allows.iter().filter(|a| !a.used && !a.rules.is_empty()) {
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
        let range = token.text_range();
        let problem = |message: String, help: &str| Violation {
            file: file.index,
            range,
            rule: Rule::InvalidAllow,
            message,
            help: Some(help.into()),
        };
        if ignore_rule_info(&token).is_some() {
            allows.extend(squawk_ignore(file, &token, problems));
            continue;
        }
        let Some(rest) = comment_body(&token).strip_prefix(ALLOW) else {
            continue;
        };
        let (names, reason) = match rest.split_once(" because ") {
            Some((names, reason)) => (names, reason.trim()),
            None => (rest, ""),
        };
        let names = rule_names(names);
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
            scope: Scope::Statement(statement),
            comment: range,
            rules,
            used: false,
        });
    }
}

/// A `squawk-ignore` or `squawk-ignore-file` comment, read as squawk reads it: rule names
/// separated by commas, then, after `--`, the reason crmdb requires. A name squawk does not
/// know is squawk's unused-ignore, as squawk reports it.
fn squawk_ignore(
    file: &Parsed,
    token: &SyntaxToken,
    problems: &mut Vec<Violation>,
) -> Option<Allow> {
    let (_, _, kind) = ignore_rule_info(token)?;
    let range = token.text_range();
    let body = comment_body(token);
    let rest = body
        .strip_prefix("squawk-ignore-file")
        .or_else(|| body.strip_prefix("squawk-ignore"))
        .unwrap_or(body);
    let (names, reason) = rest.split_once("--").unwrap_or((rest, ""));
    let names = rule_names(names);
    let mut rules = Vec::new();
    for name in &names {
        if squawk_linter::Rule::try_from(*name).is_err() {
            problems.push(Violation {
                file: file.index,
                range,
                rule: Rule::Squawk(SquawkRule::UnusedIgnore),
                message: format!("unknown name {name}"),
                help: Some(
                    "a squawk-ignore comment names squawk's rules; crmdb's own are silenced \
                     with `-- crmdb:allow <rule> because <reason>`"
                        .into(),
                ),
            });
        } else if let Ok(rule) = name.parse::<Rule>() {
            rules.push(rule);
        }
    }
    let invalid = |message: &str| Violation {
        file: file.index,
        range,
        rule: Rule::InvalidAllow,
        message: message.into(),
        help: Some("write `-- squawk-ignore <rule>[, <rule>…] -- <reason>`".into()),
    };
    if names.is_empty() {
        problems.push(invalid(
            "a squawk-ignore comment must name the rules it silences",
        ));
        return None;
    }
    if reason.trim().is_empty() {
        problems.push(invalid(
            "a squawk-ignore comment must give the reason after its rules, behind `--`",
        ));
        return None;
    }
    let scope = match kind {
        IgnoreKind::File => Scope::File,
        IgnoreKind::Line => Scope::Lines(file.line_col(range.start()).0),
    };
    Some(Allow {
        file: file.index,
        scope,
        comment: range,
        rules,
        used: false,
    })
}

/// A comment's text without its `--` or `/* */` and the spaces around it.
fn comment_body(token: &SyntaxToken) -> &str {
    let text = token.text();
    text.strip_prefix("--")
        .or_else(|| text.strip_prefix("/*").and_then(|t| t.strip_suffix("*/")))
        .unwrap_or(text)
        .trim()
}

/// `a, b,c` → `[a, b, c]`.
fn rule_names(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect()
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
