//! squawk's dangerous-operation rules, run per file as squawk runs them: a table is new only
//! in the transactional file that creates it, and every later file is judged against a
//! schema whose tables other sessions already use. squawk itself skips a few rules on a
//! table created earlier in the same transaction; the findings of the other rules on such a
//! table are dropped here too. `squawk-ignore` comments are disarmed before squawk's linter
//! sees the file: crmdb decides what they silence, and only with a reason (`allow.rs`).
//!
//! Left out of squawk's defaults, on purpose:
//! - prefer-robust-stmts: the runner applies a transactional file all or nothing and resumes
//!   a non-transactional one at its failed statement, rebuilding an INVALID index; `IF NOT
//!   EXISTS` would instead skip a half-built index.
//! - require-lock-timeout / require-statement-timeout: the runner sets `lock_timeout` itself
//!   (see require-lock-timeout, crmdb's rule); a statement timeout would kill index builds.
//! - prefer-identity: crmdb ids are UUIDv7, neither serial nor identity (no-serial-ids).
//! - prefer-bigint-over-int / -smallint: no integer ids; bounded counters carry range checks.
//! - prefer-repack: `REPACK` arrives in PostgreSQL 19; crmdb runs on 15.

use squawk_linter::Linter;
use squawk_syntax::{ast, ast::AstNode, Parse, SyntaxKind};

use crate::check::{Context, Violation};
use crate::rule::{Rule, SquawkRule};
use crate::source::Parsed;
use crate::syntax::touched_tables;

/// squawk's value for the rule.
fn linter_rule(rule: SquawkRule) -> squawk_linter::Rule {
    match rule {
        SquawkRule::AddingFieldWithDefault => squawk_linter::Rule::AddingFieldWithDefault,
        SquawkRule::AddingForeignKeyConstraint => squawk_linter::Rule::AddingForeignKeyConstraint,
        SquawkRule::AddingNotNullableField => squawk_linter::Rule::AddingNotNullableField,
        SquawkRule::AddingRequiredField => squawk_linter::Rule::AddingRequiredField,
        SquawkRule::AddingSerialPrimaryKeyField => squawk_linter::Rule::AddingSerialPrimaryKeyField,
        SquawkRule::BanAlterDomainWithAddConstraint => {
            squawk_linter::Rule::BanAlterDomainWithAddConstraint
        }
        SquawkRule::BanAlterIdentity => squawk_linter::Rule::BanAlterIdentity,
        SquawkRule::BanCharField => squawk_linter::Rule::BanCharField,
        SquawkRule::BanConcurrentIndexCreationInTransaction => {
            squawk_linter::Rule::BanConcurrentIndexCreationInTransaction
        }
        SquawkRule::BanCreateDomainWithConstraint => {
            squawk_linter::Rule::BanCreateDomainWithConstraint
        }
        SquawkRule::BanDropColumn => squawk_linter::Rule::BanDropColumn,
        SquawkRule::BanDropConstraint => squawk_linter::Rule::BanDropConstraint,
        SquawkRule::BanDropDatabase => squawk_linter::Rule::BanDropDatabase,
        SquawkRule::BanDropDefault => squawk_linter::Rule::BanDropDefault,
        SquawkRule::BanDropDomain => squawk_linter::Rule::BanDropDomain,
        SquawkRule::BanDropExtension => squawk_linter::Rule::BanDropExtension,
        SquawkRule::BanDropFunction => squawk_linter::Rule::BanDropFunction,
        SquawkRule::BanDropGeneratedExpression => squawk_linter::Rule::BanDropGeneratedExpression,
        SquawkRule::BanDropNotNull => squawk_linter::Rule::BanDropNotNull,
        SquawkRule::BanDropSchema => squawk_linter::Rule::BanDropSchema,
        SquawkRule::BanDropSequence => squawk_linter::Rule::BanDropSequence,
        SquawkRule::BanDropTable => squawk_linter::Rule::BanDropTable,
        SquawkRule::BanDropType => squawk_linter::Rule::BanDropType,
        SquawkRule::BanDropView => squawk_linter::Rule::BanDropView,
        SquawkRule::BanDuplicateColumnAssignments => {
            squawk_linter::Rule::BanDuplicateColumnAssignments
        }
        SquawkRule::BanSetSchema => squawk_linter::Rule::BanSetSchema,
        SquawkRule::BanTruncateCascade => squawk_linter::Rule::BanTruncateCascade,
        SquawkRule::BanUncommittedTransaction => squawk_linter::Rule::BanUncommittedTransaction,
        SquawkRule::ChangingColumnType => squawk_linter::Rule::ChangingColumnType,
        SquawkRule::ConstraintMissingNotValid => squawk_linter::Rule::ConstraintMissingNotValid,
        SquawkRule::DisallowedUniqueConstraint => squawk_linter::Rule::DisallowedUniqueConstraint,
        SquawkRule::IdentifierTooLong => squawk_linter::Rule::IdentifierTooLong,
        SquawkRule::PreferTextField => squawk_linter::Rule::PreferTextField,
        SquawkRule::PreferTimestampTz => squawk_linter::Rule::PreferTimestampTz,
        SquawkRule::RenamingColumn => squawk_linter::Rule::RenamingColumn,
        SquawkRule::RenamingObject => squawk_linter::Rule::RenamingObject,
        SquawkRule::RenamingTable => squawk_linter::Rule::RenamingTable,
        SquawkRule::RequireConcurrentIndexCreation => {
            squawk_linter::Rule::RequireConcurrentIndexCreation
        }
        SquawkRule::RequireConcurrentIndexDeletion => {
            squawk_linter::Rule::RequireConcurrentIndexDeletion
        }
        SquawkRule::RequireConcurrentPartitionDetach => {
            squawk_linter::Rule::RequireConcurrentPartitionDetach
        }
        SquawkRule::RequireConcurrentReindex => squawk_linter::Rule::RequireConcurrentReindex,
        SquawkRule::RequireEnumValueOrdering => squawk_linter::Rule::RequireEnumValueOrdering,
        SquawkRule::TransactionNesting => squawk_linter::Rule::TransactionNesting,
        SquawkRule::UnusedIgnore => squawk_linter::Rule::UnusedIgnore,
    }
}

/// The rules that are only dangerous on a table other sessions already use.
fn only_on_existing_tables(rule: SquawkRule) -> bool {
    match rule {
        SquawkRule::AddingFieldWithDefault
        | SquawkRule::AddingForeignKeyConstraint
        | SquawkRule::AddingNotNullableField
        | SquawkRule::AddingRequiredField
        | SquawkRule::AddingSerialPrimaryKeyField
        | SquawkRule::BanAlterIdentity
        | SquawkRule::BanDropColumn
        | SquawkRule::BanDropConstraint
        | SquawkRule::BanDropDefault
        | SquawkRule::BanDropGeneratedExpression
        | SquawkRule::BanDropNotNull
        | SquawkRule::BanDropTable
        | SquawkRule::BanSetSchema
        | SquawkRule::ChangingColumnType
        | SquawkRule::ConstraintMissingNotValid
        | SquawkRule::DisallowedUniqueConstraint
        | SquawkRule::RenamingColumn
        | SquawkRule::RenamingObject
        | SquawkRule::RenamingTable
        | SquawkRule::RequireConcurrentIndexCreation
        | SquawkRule::RequireConcurrentIndexDeletion
        | SquawkRule::RequireConcurrentPartitionDetach
        | SquawkRule::RequireConcurrentReindex => true,
        SquawkRule::BanAlterDomainWithAddConstraint
        | SquawkRule::BanCharField
        | SquawkRule::BanConcurrentIndexCreationInTransaction
        | SquawkRule::BanCreateDomainWithConstraint
        | SquawkRule::BanDropDatabase
        | SquawkRule::BanDropDomain
        | SquawkRule::BanDropExtension
        | SquawkRule::BanDropFunction
        | SquawkRule::BanDropSchema
        | SquawkRule::BanDropSequence
        | SquawkRule::BanDropType
        | SquawkRule::BanDropView
        | SquawkRule::BanDuplicateColumnAssignments
        | SquawkRule::BanTruncateCascade
        | SquawkRule::BanUncommittedTransaction
        | SquawkRule::IdentifierTooLong
        | SquawkRule::PreferTextField
        | SquawkRule::PreferTimestampTz
        | SquawkRule::RequireEnumValueOrdering
        | SquawkRule::TransactionNesting
        | SquawkRule::UnusedIgnore => false,
    }
}

/// The safe alternative, for the rules whose squawk message names none.
fn alternative(rule: SquawkRule) -> Option<&'static str> {
    Some(match rule {
        SquawkRule::BanDropColumn
        | SquawkRule::BanDropTable
        | SquawkRule::BanDropView
        | SquawkRule::BanDropFunction
        | SquawkRule::BanDropType
        | SquawkRule::BanDropDomain
        | SquawkRule::BanDropSequence
        | SquawkRule::BanDropSchema
        | SquawkRule::BanDropExtension => {
            "stop every reader first (a release that no longer uses it), then drop it in a later \
             migration with `-- crmdb:allow <rule> because <who stopped using it>`"
        }
        SquawkRule::BanDropConstraint | SquawkRule::BanDropNotNull | SquawkRule::BanDropDefault => {
            "make sure no client relies on the guarantee, then allow it with the reason"
        }
        SquawkRule::RenamingColumn | SquawkRule::RenamingTable | SquawkRule::RenamingObject => {
            "add the new name beside the old one (a new column kept in sync, or a view), move \
             the clients, then drop the old name in a later migration"
        }
        SquawkRule::ChangingColumnType => {
            "add a column of the new type, backfill it in batches, switch the clients, then \
             drop the old column"
        }
        SquawkRule::BanAlterIdentity
        | SquawkRule::BanDropGeneratedExpression
        | SquawkRule::BanSetSchema => {
            "add a new column or object beside the old one and move the clients to it"
        }
        SquawkRule::BanCharField => "use `text` with a `CHECK (length(col) = n)`",
        SquawkRule::BanCreateDomainWithConstraint | SquawkRule::BanAlterDomainWithAddConstraint => {
            "use a plain domain and put the CHECK on the table columns"
        }
        SquawkRule::IdentifierTooLong => "shorten the name to at most 63 bytes",
        _ => return None,
    })
}

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in ctx.files {
        let mut linter = Linter::from(enum_iterator::all::<SquawkRule>().map(linter_rule));
        linter.settings.assume_in_transaction = file.transactional;
        let found = match disarmed(file) {
            Some((parse, text)) => linter.lint(&parse, &text),
            None => linter.lint(&file.parse, &file.text),
        };
        for found in found {
            // squawk reports only the rules it was given, and unused-ignore.
            let Some(rule) =
                enum_iterator::all::<SquawkRule>().find(|r| linter_rule(*r) == found.code)
            else {
                continue;
            };
            let statement = file.statements.iter().find(|s| {
                s.syntax()
                    .text_range()
                    .contains_inclusive(found.text_range.start())
            });
            if only_on_existing_tables(rule) {
                if let Some(statement) = statement {
                    let at = file.pos(statement.syntax().text_range().start());
                    let tables = touched_tables(statement, |i| ctx.model.index_table(i));
                    if !tables.is_empty() && tables.iter().all(|t| ctx.model.new_at(t, at)) {
                        continue;
                    }
                }
            }
            violations.push(Violation {
                file: file.index,
                range: found.text_range,
                rule: Rule::Squawk(rule),
                message: found.message,
                help: found.help.or_else(|| alternative(rule).map(str::to_owned)),
            });
        }
    }
    violations
}

/// The file with every `squawk-ignore` comment disarmed (`squawk_ignore`, the same length,
/// so every offset still points into the file), re-parsed; `None` when it has none.
fn disarmed(file: &Parsed) -> Option<(Parse<ast::SourceFile>, String)> {
    let marks: Vec<usize> = file
        .parse
        .syntax_node()
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| t.kind() == SyntaxKind::COMMENT)
        .filter(|t| squawk_linter::ignore::ignore_rule_info(t).is_some())
        .filter_map(|t| {
            let dash = t.text().find(IGNORE_DASH)? + IGNORE_DASH.len() - 1;
            Some(usize::from(t.text_range().start()) + dash)
        })
        .collect();
    if marks.is_empty() {
        return None;
    }
    let mut text = file.text.clone();
    for at in marks {
        text.replace_range(at..=at, "_");
    }
    Some((ast::SourceFile::parse(&text), text))
}

/// Up to the dash squawk's ignore comments are recognised by.
const IGNORE_DASH: &str = "squawk-";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::broken;

    #[test]
    fn names_are_squawks_own() {
        for rule in enum_iterator::all::<SquawkRule>() {
            assert_eq!(rule.name(), linter_rule(rule).to_string());
        }
    }

    #[test]
    fn dropping_an_existing_table_breaks_ban_drop_table() {
        let rules = broken("DROP TABLE legacy_accounts;");
        assert_eq!(rules, [Rule::Squawk(SquawkRule::BanDropTable)]);
    }

    #[test]
    fn changing_a_table_the_set_created_earlier_is_safe() {
        let sql = "CREATE TABLE plans (code text);
                   COMMENT ON TABLE plans IS 'scope: global. Plans.';
                   ALTER TABLE plans RENAME COLUMN code TO name;";
        assert_eq!(broken(sql), []);
    }
}
