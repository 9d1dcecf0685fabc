//! Rule `secret_columns`: a column named like a secret never holds it in clear. Values read
//! back are sealed (`_ciphertext`, `bytea`); values only compared are hashed (`_hash`); a
//! display hint may stay in clear. Columns whose name merely looks secret are listed, with
//! the reason, in [`NOT_SECRET`]: the one place to add an exception.

use crate::catalog::{Schema, Table};

/// A column whose name contains a secret word but which holds no secret.
#[derive(Debug, Clone, Copy)]
pub struct NotSecret {
    /// `table.column`.
    pub column: &'static str,
    pub reason: &'static str,
}

/// Every exception to the rule, with the reason it holds no secret.
pub const NOT_SECRET: &[NotSecret] = &[
    NotSecret {
        column: "ai_conversations.token_usage",
        reason: "a count of the language model's tokens, not an access token",
    },
    NotSecret {
        column: "api_keys.key_name",
        reason: "the label the organization gave the key (e.g. \"production\"), not the key",
    },
    NotSecret {
        column: "calendar_integrations.token_expires_at",
        reason: "when the sealed access token expires: a timestamp",
    },
    NotSecret {
        column: "custom_field_definitions.key",
        reason: "the custom field's identifier in leads.custom_fields, not a cryptographic key",
    },
    NotSecret {
        column: "marketing_integrations.token_expires_at",
        reason: "when the sealed access token expires: a timestamp",
    },
];

/// Name fragments that say "secret".
const SECRET_WORDS: &[&str] = &["token", "secret", "password", "credential", "key"];

/// Name endings of columns that hold a secret's hash, ciphertext, hint or key id — never the
/// secret itself. A bare `key_id` counts as a key id too.
const SAFE_SUFFIXES: &[&str] = &[
    "_hash",
    "_hashes",
    "_ciphertext",
    "_hint",
    "_prefix",
    "_key_id",
];

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The name says nothing about secrets.
    Plain,
    /// A hash, ciphertext, hint, prefix or key id, by its name.
    Safe,
    /// Listed in [`NOT_SECRET`].
    Listed,
    /// Named after this secret word, and nothing says it is safe.
    ClearText(&'static str),
}

fn classify(table: &str, column: &str) -> Verdict {
    let name = column.to_ascii_lowercase();
    let Some(word) = SECRET_WORDS.iter().find(|w| name.contains(*w)) else {
        return Verdict::Plain;
    };
    if SAFE_SUFFIXES
        .iter()
        .any(|s| name.ends_with(s) || name == s[1..])
    {
        return Verdict::Safe;
    }
    let qualified = format!("{table}.{column}");
    if NOT_SECRET.iter().any(|n| n.column == qualified) {
        return Verdict::Listed;
    }
    Verdict::ClearText(word)
}

pub(super) fn check(_schema: &Schema, table: &Table) -> Vec<String> {
    let mut details = Vec::new();
    for column in &table.columns {
        if column.name.ends_with("_ciphertext") && column.data_type != "bytea" {
            details.push(format!(
                "column {} is {}; a _ciphertext column must be bytea",
                column.name, column.data_type
            ));
        }
        if let Verdict::ClearText(word) = classify(&table.name, &column.name) {
            details.push(format!(
                "column {} is named like a secret ({word:?}) but is not a _hash, _ciphertext, \
                 _hint or _prefix column, nor listed as not secret",
                column.name
            ));
        }
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::*;

    #[test]
    fn classifies_names() {
        assert_eq!(classify("leads", "name"), Verdict::Plain);
        assert_eq!(classify("users", "password_hash"), Verdict::Safe);
        assert_eq!(
            classify("user_two_factor", "backup_code_hashes"),
            Verdict::Plain
        );
        assert_eq!(
            classify("user_two_factor", "secret_ciphertext"),
            Verdict::Safe
        );
        assert_eq!(classify("api_keys", "key_hint"), Verdict::Safe);
        assert_eq!(classify("api_keys", "token_prefix"), Verdict::Safe);
        assert_eq!(classify("api_keys", "encryption_key_id"), Verdict::Safe);
        assert_eq!(classify("api_keys", "key_id"), Verdict::Safe);
        assert_eq!(classify("x", "api_token"), Verdict::ClearText("token"));
        assert_eq!(classify("x", "Client_Secret"), Verdict::ClearText("secret"));
        assert_eq!(classify("x", "password"), Verdict::ClearText("password"));
        assert_eq!(
            classify("x", "credentials"),
            Verdict::ClearText("credential")
        );
        assert_eq!(classify("x", "stripe_key"), Verdict::ClearText("key"));
        assert_eq!(classify("x", "token_hash_v2"), Verdict::ClearText("token"));
    }

    #[test]
    fn every_listed_column_is_accepted() {
        for entry in NOT_SECRET {
            let (table, column) = entry.column.split_once('.').unwrap();
            assert_eq!(classify(table, column), Verdict::Listed, "{}", entry.column);
            assert!(!entry.reason.is_empty());
        }
    }

    #[test]
    fn ciphertext_must_be_bytea() {
        let mut t = table("api_keys", "scope: tenant");
        t.columns = vec![
            column("key_ciphertext", "text"),
            column("credentials_ciphertext", "bytea"),
            column("access_token", "text"),
        ];
        assert_eq!(
            check(&Schema::default(), &t),
            [
                "column key_ciphertext is text; a _ciphertext column must be bytea",
                "column access_token is named like a secret (\"token\") but is not a _hash, \
                 _ciphertext, _hint or _prefix column, nor listed as not secret",
            ]
        );
    }
}
