//! require-lock-timeout: the runner sets `lock_timeout` before every file, so a statement
//! that queues for a lock on a busy table gives up (and is retried) instead of blocking
//! every query behind it. A file that turns the time-out off (`SET lock_timeout = 0`,
//! `RESET lock_timeout`, `RESET ALL`) and then locks an existing table loses that guard.

use squawk_linter::analyze::possibly_slow_stmt;
use squawk_syntax::{ast, ast::AstNode, SyntaxKind, SyntaxNode};

use crate::check::{Context, Violation};
use crate::model::Site;
use crate::rule::Rule;
use crate::syntax::{last_segment, touched_tables};

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in ctx.files {
        let mut disabled = false;
        for stmt in &file.statements {
            let node = stmt.syntax();
            match stmt {
                ast::Stmt::Set(_) if configures_lock_timeout(node) => {
                    disabled = set_value_is_zero(node);
                }
                ast::Stmt::Reset(_) if configures_lock_timeout(node) || resets_all(node) => {
                    disabled = true;
                }
                _ if disabled && possibly_slow_stmt(stmt) => {
                    let at = file.pos(node.text_range().start());
                    let existing = touched_tables(stmt, |i| ctx.model.index_table(i))
                        .into_iter()
                        .find(|t| !ctx.model.new_at(t, at));
                    if let Some(table) = existing {
                        violations.push(Violation::at(
                            Site {
                                file: file.index,
                                range: node.text_range(),
                            },
                            Rule::RequireLockTimeout,
                            format!("this statement locks {table} with lock_timeout turned off"),
                            "do not turn off the runner's lock_timeout; `SET lock_timeout = '5s'` \
                             if this statement needs a longer wait",
                        ));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    violations
}

fn configures_lock_timeout(node: &SyntaxNode) -> bool {
    node.descendants()
        .find(|n| n.kind() == SyntaxKind::CONFIG_PARAMETER_REF)
        .and_then(|n| last_segment(&n))
        .is_some_and(|name| name == "lock_timeout")
}

fn resets_all(node: &SyntaxNode) -> bool {
    node.descendants_with_tokens()
        .any(|e| e.kind() == SyntaxKind::ALL_KW)
}

/// `= 0`, `TO '0s'`, `TO DEFAULT` (the server default is no time-out).
fn set_value_is_zero(node: &SyntaxNode) -> bool {
    let Some(value) = node
        .descendants()
        .find(|n| n.kind() == SyntaxKind::TO_CONFIG_VALUE)
    else {
        return true;
    };
    let text = value.text().to_string().to_lowercase();
    let text = text
        .trim()
        .trim_start_matches('=')
        .trim_start_matches("to")
        .trim()
        .trim_matches('\'');
    if text == "default" {
        return true;
    }
    let number: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse::<f64>().is_ok_and(|n| n == 0.0)
}

#[cfg(test)]
mod tests {
    use crate::rule::Rule;
    use crate::testing::broken;

    #[test]
    fn locking_an_existing_table_with_the_time_out_off_breaks_it() {
        for off in ["RESET ALL;", "RESET lock_timeout;", "SET lock_timeout = 0;"] {
            let sql = format!("{off}\nALTER TABLE accounts ADD COLUMN plan text;");
            assert!(broken(&sql).contains(&Rule::RequireLockTimeout), "{off}");
        }
    }

    #[test]
    fn a_longer_time_out_or_a_new_table_passes() {
        for sql in [
            "SET lock_timeout = '10s';\nALTER TABLE accounts ADD COLUMN plan text;",
            "SET lock_timeout = 0;\nCREATE TABLE plans (code text);\n\
             ALTER TABLE plans ADD COLUMN name text;",
        ] {
            assert!(!broken(sql).contains(&Rule::RequireLockTimeout), "{sql}");
        }
    }
}
