//! The rules by name: every rule the lint checks, the kebab-case name findings and allow
//! comments use for it, and the parsing of that name. What each rule checks lives in
//! `rules/`.

use std::fmt;
use std::str::FromStr;

use enum_iterator::Sequence;
use serde::{Serialize, Serializer};

/// A rule the lint checks: crmdb's own, or one of squawk's dangerous-operation rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Sequence)]
pub enum Rule {
    NoSerialIds,
    RequireLockTimeout,
    SecretInClear,
    TableScopeComment,
    TenantCompositeForeignKey,
    TenantOrganizationId,
    TenantPrimaryKey,
    TenantRowLevelSecurity,
    /// An allow comment that is malformed, names no rule, or silences nothing.
    InvalidAllow,
    /// A file squawk's parser cannot read: nothing after the error can be judged.
    SyntaxError,
    Squawk(SquawkRule),
}

/// The squawk rules crmdb enables; `rules/squawk.rs` says which it leaves out and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Sequence)]
pub enum SquawkRule {
    AddingFieldWithDefault,
    AddingForeignKeyConstraint,
    AddingNotNullableField,
    AddingRequiredField,
    AddingSerialPrimaryKeyField,
    BanAlterDomainWithAddConstraint,
    BanAlterIdentity,
    BanCharField,
    BanConcurrentIndexCreationInTransaction,
    BanCreateDomainWithConstraint,
    BanDropColumn,
    BanDropConstraint,
    BanDropDatabase,
    BanDropDefault,
    BanDropDomain,
    BanDropExtension,
    BanDropFunction,
    BanDropGeneratedExpression,
    BanDropNotNull,
    BanDropSchema,
    BanDropSequence,
    BanDropTable,
    BanDropType,
    BanDropView,
    BanDuplicateColumnAssignments,
    BanSetSchema,
    BanTruncateCascade,
    BanUncommittedTransaction,
    ChangingColumnType,
    ConstraintMissingNotValid,
    DisallowedUniqueConstraint,
    IdentifierTooLong,
    PreferTextField,
    PreferTimestampTz,
    RenamingColumn,
    RenamingObject,
    RenamingTable,
    RequireConcurrentIndexCreation,
    RequireConcurrentIndexDeletion,
    RequireConcurrentPartitionDetach,
    RequireConcurrentReindex,
    RequireEnumValueOrdering,
    TransactionNesting,
    /// squawk's complaint about a name in a `squawk-ignore` comment that is none of its rules.
    /// No allow comment may name it: it is about squawk's comments, not about the SQL.
    UnusedIgnore,
}

impl Rule {
    /// Every rule an allow comment may name, sorted by name: all but squawk's unused-ignore
    /// and syntax-error, which are about the file, not about a statement's SQL.
    pub fn all() -> Vec<Rule> {
        let mut rules: Vec<Rule> = enum_iterator::all::<Rule>()
            .filter(|rule| {
                !matches!(
                    rule,
                    Rule::Squawk(SquawkRule::UnusedIgnore) | Rule::SyntaxError
                )
            })
            .collect();
        rules.sort_unstable_by_key(|rule| rule.name());
        rules
    }

    pub fn name(self) -> &'static str {
        match self {
            Rule::NoSerialIds => "no-serial-ids",
            Rule::RequireLockTimeout => "require-lock-timeout",
            Rule::SecretInClear => "secret-in-clear",
            Rule::TableScopeComment => "table-scope-comment",
            Rule::TenantCompositeForeignKey => "tenant-composite-foreign-key",
            Rule::TenantOrganizationId => "tenant-organization-id",
            Rule::TenantPrimaryKey => "tenant-primary-key",
            Rule::TenantRowLevelSecurity => "tenant-row-level-security",
            Rule::InvalidAllow => "invalid-allow",
            Rule::SyntaxError => "syntax-error",
            Rule::Squawk(rule) => rule.name(),
        }
    }
}

impl SquawkRule {
    /// squawk's own name of the rule.
    pub fn name(self) -> &'static str {
        match self {
            SquawkRule::AddingFieldWithDefault => "adding-field-with-default",
            SquawkRule::AddingForeignKeyConstraint => "adding-foreign-key-constraint",
            SquawkRule::AddingNotNullableField => "adding-not-nullable-field",
            SquawkRule::AddingRequiredField => "adding-required-field",
            SquawkRule::AddingSerialPrimaryKeyField => "adding-serial-primary-key-field",
            SquawkRule::BanAlterDomainWithAddConstraint => "ban-alter-domain-with-add-constraint",
            SquawkRule::BanAlterIdentity => "ban-alter-identity",
            SquawkRule::BanCharField => "ban-char-field",
            SquawkRule::BanConcurrentIndexCreationInTransaction => {
                "ban-concurrent-index-creation-in-transaction"
            }
            SquawkRule::BanCreateDomainWithConstraint => "ban-create-domain-with-constraint",
            SquawkRule::BanDropColumn => "ban-drop-column",
            SquawkRule::BanDropConstraint => "ban-drop-constraint",
            SquawkRule::BanDropDatabase => "ban-drop-database",
            SquawkRule::BanDropDefault => "ban-drop-default",
            SquawkRule::BanDropDomain => "ban-drop-domain",
            SquawkRule::BanDropExtension => "ban-drop-extension",
            SquawkRule::BanDropFunction => "ban-drop-function",
            SquawkRule::BanDropGeneratedExpression => "ban-drop-generated-expression",
            SquawkRule::BanDropNotNull => "ban-drop-not-null",
            SquawkRule::BanDropSchema => "ban-drop-schema",
            SquawkRule::BanDropSequence => "ban-drop-sequence",
            SquawkRule::BanDropTable => "ban-drop-table",
            SquawkRule::BanDropType => "ban-drop-type",
            SquawkRule::BanDropView => "ban-drop-view",
            SquawkRule::BanDuplicateColumnAssignments => "ban-duplicate-column-assignments",
            SquawkRule::BanSetSchema => "ban-set-schema",
            SquawkRule::BanTruncateCascade => "ban-truncate-cascade",
            SquawkRule::BanUncommittedTransaction => "ban-uncommitted-transaction",
            SquawkRule::ChangingColumnType => "changing-column-type",
            SquawkRule::ConstraintMissingNotValid => "constraint-missing-not-valid",
            SquawkRule::DisallowedUniqueConstraint => "disallowed-unique-constraint",
            SquawkRule::IdentifierTooLong => "identifier-too-long",
            SquawkRule::PreferTextField => "prefer-text-field",
            SquawkRule::PreferTimestampTz => "prefer-timestamp-tz",
            SquawkRule::RenamingColumn => "renaming-column",
            SquawkRule::RenamingObject => "renaming-object",
            SquawkRule::RenamingTable => "renaming-table",
            SquawkRule::RequireConcurrentIndexCreation => "require-concurrent-index-creation",
            SquawkRule::RequireConcurrentIndexDeletion => "require-concurrent-index-deletion",
            SquawkRule::RequireConcurrentPartitionDetach => "require-concurrent-partition-detach",
            SquawkRule::RequireConcurrentReindex => "require-concurrent-reindex",
            SquawkRule::RequireEnumValueOrdering => "require-enum-value-ordering",
            SquawkRule::TransactionNesting => "transaction-nesting",
            SquawkRule::UnusedIgnore => "unused-ignore",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A name that is no rule's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRule(pub String);

impl fmt::Display for UnknownRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a rule", self.0)
    }
}

impl std::error::Error for UnknownRule {}

impl FromStr for Rule {
    type Err = UnknownRule;

    /// Only the exact name of a rule in [`Rule::all`]: an allow comment that spells a rule
    /// otherwise names nothing.
    fn from_str(name: &str) -> Result<Rule, UnknownRule> {
        Rule::all()
            .into_iter()
            .find(|rule| rule.name() == name)
            .ok_or_else(|| UnknownRule(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_parses_back_to_its_rule() {
        for rule in Rule::all() {
            assert_eq!(rule.name().parse::<Rule>(), Ok(rule));
            assert_eq!(rule.to_string(), rule.name());
        }
    }

    #[test]
    fn names_are_unique_and_listed_in_order() {
        let names: Vec<&str> = Rule::all().into_iter().map(Rule::name).collect();
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names, unique);
        assert_eq!(names.len(), enum_iterator::cardinality::<Rule>() - 2);
        assert_eq!(names.first(), Some(&"adding-field-with-default"));
    }

    #[test]
    fn only_exact_names_of_listed_rules_parse() {
        for name in [
            "No-Serial-Ids",
            " no-serial-ids",
            "prefer-timestamptz",
            "no-such-rule",
            "unused-ignore",
            "syntax-error",
        ] {
            assert_eq!(name.parse::<Rule>(), Err(UnknownRule(name.into())));
        }
    }
}
