//! Where secrets live at rest: every sealed column of the schema, the binding that ties a
//! ciphertext to its organization, table and column, and fresh random secrets.
//!
//! Each table seals all its `*_ciphertext` columns under one key, named by the row's
//! `encryption_key_id`, so rotation re-seals a row as a unit.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crmdb_secrets::{Binding, Keyring, Sealed};
use rand::RngCore;
use secrecy::SecretString;
use uuid::Uuid;

use crate::error::Result;

/// A table with sealed columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedTable {
    pub table: &'static str,
    /// The `bytea` columns sealed under the row's `encryption_key_id`.
    pub columns: &'static [&'static str],
    /// True for tenant tables; global tables bind their values to the nil organization.
    pub tenant: bool,
}

/// Every sealed column of the schema.
pub const SEALED_TABLES: &[SealedTable] = &[
    SealedTable {
        table: "user_two_factor",
        columns: &["secret_ciphertext"],
        tenant: false,
    },
    SealedTable {
        table: "whatsapp_configs",
        columns: &["credentials_ciphertext"],
        tenant: true,
    },
    SealedTable {
        table: "voip_configs",
        columns: &["credentials_ciphertext"],
        tenant: true,
    },
    SealedTable {
        table: "calendar_integrations",
        columns: &["access_token_ciphertext", "refresh_token_ciphertext"],
        tenant: true,
    },
    SealedTable {
        table: "marketing_integrations",
        columns: &["access_token_ciphertext", "refresh_token_ciphertext"],
        tenant: true,
    },
    SealedTable {
        table: "webhook_subscriptions",
        columns: &["secret_ciphertext"],
        tenant: true,
    },
    SealedTable {
        table: "api_keys",
        columns: &["key_ciphertext"],
        tenant: true,
    },
];

/// The associated data of a sealed value: global rows use the nil organization.
pub fn binding<'a>(organization_id: Option<Uuid>, table: &'a str, column: &'a str) -> Binding<'a> {
    Binding {
        organization_id: organization_id.unwrap_or(Uuid::nil()),
        table,
        column,
    }
}

/// Seals `secret` for a column of a tenant table.
pub(crate) fn seal(
    keyring: &Keyring,
    organization_id: Uuid,
    table: &str,
    column: &str,
    secret: &SecretString,
) -> Sealed {
    keyring.seal(secret, binding(Some(organization_id), table, column))
}

/// Opens a value sealed by [`seal`].
pub(crate) fn open(
    keyring: &Keyring,
    organization_id: Uuid,
    table: &str,
    column: &str,
    key_id: String,
    ciphertext: Vec<u8>,
) -> Result<SecretString> {
    let sealed = Sealed { key_id, ciphertext };
    Ok(keyring.open(&sealed, binding(Some(organization_id), table, column))?)
}

/// A random secret of 32 bytes in URL-safe base64 after `prefix` (invitation tokens,
/// webhook signing secrets).
pub(crate) fn random_secret(prefix: &str) -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The display hint of a secret: its last 4 characters.
pub(crate) fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn random_secrets_differ_and_hints_are_short() {
        let a = random_secret("whsec_");
        let b = random_secret("whsec_");
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(a.expose_secret().starts_with("whsec_"));
        assert_eq!(hint("sk-abcdef1234"), "1234");
        assert_eq!(hint("ab"), "ab");
    }
}
