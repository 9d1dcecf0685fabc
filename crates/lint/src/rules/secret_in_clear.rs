//! secret-in-clear: a column named like a secret (token, secret, password, credentials, key)
//! stores it readable by anyone who reads the table or a backup. Values read back are sealed
//! (`*_ciphertext`, with `*_key_id`), values only compared are hashed (`*_hash`).

use squawk_syntax::SyntaxKind;

use crate::check::{Context, Violation};
use crate::model::Site;
use crate::rule::Rule;
use crate::syntax::name_in;

/// The last word of a column name that makes it a secret: `access_token`, `password`. Names
/// ending in anything else (`token_hash`, `secret_ciphertext`, `key_hint`, `key_prefix`,
/// `encryption_key_id`, `token_expires_at`) describe a secret without holding it.
const SECRET_WORDS: &[&str] = &[
    "token",
    "tokens",
    "secret",
    "secrets",
    "password",
    "passwords",
    "passwd",
    "credential",
    "credentials",
    "apikey",
];

/// A `key` is a secret only with a word that says so: `api_key`, not a custom field's `key`
/// or an `idempotency_key`.
const SECRET_KEY_KINDS: &[&str] = &[
    "api",
    "access",
    "auth",
    "client",
    "encryption",
    "license",
    "master",
    "private",
    "secret",
    "signing",
];

pub(crate) fn is_secret_name(name: &str) -> bool {
    let mut words = name.rsplit('_');
    match (words.next(), words.next()) {
        (Some("key" | "keys"), Some(kind)) => SECRET_KEY_KINDS.contains(&kind),
        (Some(last), _) => SECRET_WORDS.contains(&last),
        (None, _) => false,
    }
}

pub(super) fn check(ctx: &Context) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in ctx.files {
        let columns = file
            .parse
            .syntax_node()
            .descendants()
            .filter(|n| matches!(n.kind(), SyntaxKind::COLUMN | SyntaxKind::ADD_COLUMN));
        for column in columns {
            let Some(name) = name_in(&column, SyntaxKind::COLUMN_NAME) else {
                continue;
            };
            if is_secret_name(&name) {
                violations.push(Violation::at(
                    Site {
                        file: file.index,
                        range: column.text_range(),
                    },
                    Rule::SecretInClear,
                    format!("column {name} looks like a secret stored in clear"),
                    "store `<name>_ciphertext bytea` sealed by the application (with its key id) \
                     when it is read back, or `<name>_hash` when it is only compared",
                ));
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::is_secret_name;
    use crate::rule::Rule;
    use crate::testing::broken;

    #[test]
    fn a_secret_column_breaks_it() {
        let sql = "ALTER TABLE integrations ADD COLUMN access_token text;";
        assert!(broken(sql).contains(&Rule::SecretInClear));
    }

    #[test]
    fn a_hashed_or_sealed_secret_passes() {
        let sql = "CREATE TABLE integrations (token_hash text, secret_ciphertext bytea);";
        assert!(!broken(sql).contains(&Rule::SecretInClear));
    }

    #[test]
    fn names_that_hold_or_describe_a_secret() {
        for name in [
            "access_token",
            "api_key",
            "password",
            "credentials",
            "webhook_secret",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "token_hash",
            "backup_code_hashes",
            "secret_ciphertext",
            "key_hint",
            "key_prefix",
            "encryption_key_id",
            "token_expires_at",
            "token_usage",
            "key_name",
            "sync_cursor",
            "key",
            "idempotency_key",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
