//! squawk's dangerous-operation rules, run per file. squawk knows only the tables created
//! earlier in the same file; a statement on a table that an earlier file of the linted set
//! created is on a new table too, so those findings are dropped here.

use squawk_linter::{Linter, Rule};
use squawk_syntax::ast::AstNode;

use super::{Context, Violation};
use crate::syntax::touched_tables;

/// `existing` marks the rules that are only dangerous on a table other sessions already
/// use. Left out of squawk's defaults, on purpose:
/// - prefer-robust-stmts: the runner applies a transactional file all or nothing and resumes
///   a non-transactional one at its failed statement, rebuilding an INVALID index; `IF NOT
///   EXISTS` would instead skip a half-built index.
/// - require-lock-timeout / require-statement-timeout: the runner sets `lock_timeout` itself
///   (see require-lock-timeout, crmdb's rule); a statement timeout would kill index builds.
/// - prefer-identity: crmdb ids are UUIDv7, neither serial nor identity (no-serial-ids).
/// - prefer-bigint-over-int / -smallint: no integer ids; bounded counters carry range checks.
/// - prefer-repack: `REPACK` arrives in PostgreSQL 19; crmdb runs on 15.
const RULES: &[(Rule, bool)] = &[
    (Rule::AddingFieldWithDefault, true),
    (Rule::AddingForeignKeyConstraint, true),
    (Rule::AddingNotNullableField, true),
    (Rule::AddingRequiredField, true),
    (Rule::AddingSerialPrimaryKeyField, true),
    (Rule::BanAlterDomainWithAddConstraint, false),
    (Rule::BanAlterIdentity, true),
    (Rule::BanCharField, false),
    (Rule::BanConcurrentIndexCreationInTransaction, false),
    (Rule::BanCreateDomainWithConstraint, false),
    (Rule::BanDropColumn, true),
    (Rule::BanDropConstraint, true),
    (Rule::BanDropDatabase, false),
    (Rule::BanDropDefault, true),
    (Rule::BanDropDomain, false),
    (Rule::BanDropExtension, false),
    (Rule::BanDropFunction, false),
    (Rule::BanDropGeneratedExpression, true),
    (Rule::BanDropNotNull, true),
    (Rule::BanDropSchema, false),
    (Rule::BanDropSequence, false),
    (Rule::BanDropTable, true),
    (Rule::BanDropType, false),
    (Rule::BanDropView, false),
    (Rule::BanDuplicateColumnAssignments, false),
    (Rule::BanSetSchema, true),
    (Rule::BanTruncateCascade, false),
    (Rule::BanUncommittedTransaction, false),
    (Rule::ChangingColumnType, true),
    (Rule::ConstraintMissingNotValid, true),
    (Rule::DisallowedUniqueConstraint, true),
    (Rule::IdentifierTooLong, false),
    (Rule::PreferTextField, false),
    (Rule::PreferTimestampTz, false),
    (Rule::RenamingColumn, true),
    (Rule::RenamingObject, true),
    (Rule::RenamingTable, true),
    (Rule::RequireConcurrentIndexCreation, true),
    (Rule::RequireConcurrentIndexDeletion, true),
    (Rule::RequireConcurrentPartitionDetach, true),
    (Rule::RequireConcurrentReindex, true),
    (Rule::RequireEnumValueOrdering, false),
    (Rule::TransactionNesting, false),
];

pub(super) fn rule_names() -> impl Iterator<Item = String> {
    RULES.iter().map(|(rule, _)| rule.to_string())
}

/// The safe alternative, for the rules whose squawk message names none.
fn alternative(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::BanDropColumn
        | Rule::BanDropTable
        | Rule::BanDropView
        | Rule::BanDropFunction
        | Rule::BanDropType
        | Rule::BanDropDomain
        | Rule::BanDropSequence
        | Rule::BanDropSchema
        | Rule::BanDropExtension => {
            "stop every reader first (a release that no longer uses it), then drop it in a later \
             migration with `-- crmdb:allow <rule> because <who stopped using it>`"
        }
        Rule::BanDropConstraint | Rule::BanDropNotNull | Rule::BanDropDefault => {
            "make sure no client relies on the guarantee, then allow it with the reason"
        }
        Rule::RenamingColumn | Rule::RenamingTable | Rule::RenamingObject => {
            "add the new name beside the old one (a new column kept in sync, or a view), move \
             the clients, then drop the old name in a later migration"
        }
        Rule::ChangingColumnType => {
            "add a column of the new type, backfill it in batches, switch the clients, then \
             drop the old column"
        }
        Rule::BanAlterIdentity | Rule::BanDropGeneratedExpression | Rule::BanSetSchema => {
            "add a new column or object beside the old one and move the clients to it"
        }
        Rule::BanCharField => "use `text` with a `CHECK (length(col) = n)`",
        Rule::BanCreateDomainWithConstraint | Rule::BanAlterDomainWithAddConstraint => {
            "use a plain domain and put the CHECK on the table columns"
        }
        Rule::IdentifierTooLong => "shorten the name to at most 63 bytes",
        _ => return None,
    })
}

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in ctx.files {
        let mut linter = Linter::from(RULES.iter().map(|(rule, _)| *rule));
        linter.settings.assume_in_transaction = file.transactional;
        for found in linter.lint(&file.parse, &file.text) {
            let existing_only = RULES
                .iter()
                .any(|(rule, existing)| *rule == found.code && *existing);
            let statement = file.statements.iter().find(|s| {
                s.syntax()
                    .text_range()
                    .contains_inclusive(found.text_range.start())
            });
            if existing_only {
                if let Some(statement) = statement {
                    let at = file.pos(statement.syntax().text_range().start());
                    let tables = touched_tables(statement, |i| ctx.model.index_table(i));
                    if !tables.is_empty() && tables.iter().all(|t| ctx.model.created_before(t, at))
                    {
                        continue;
                    }
                }
            }
            violations.push(Violation {
                file: file.index,
                range: found.text_range,
                rule: found.code.to_string(),
                message: found.message,
                help: found
                    .help
                    .or_else(|| alternative(found.code).map(str::to_owned)),
            });
        }
    }
    violations
}
