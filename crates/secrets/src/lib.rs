//! Secrets at rest. Values the CRM must read back (provider credentials, OAuth tokens,
//! webhook and TOTP secrets, external API keys) are sealed with XChaCha20-Poly1305 under a
//! key from `CRMDB_ENCRYPTION_KEY`; the organization, table and column are bound as
//! associated data, so a ciphertext copied to another row or column does not open. Values
//! that are only compared are hashed; passwords use argon2.

mod hashing;
mod keyring;

pub use hashing::{
    generate_password, hash_password, hash_password_like, hash_password_with_salt_rng, hash_token,
    scram_sha256_verifier, verify_password,
};
pub use keyring::{Binding, Key, KeyId, Keyring, Sealed};
pub use secrecy::{ExposeSecret, SecretString};

/// The environment variable that holds the encryption keys: base64 keys separated by
/// commas, the first one current, the others older keys kept for reading during rotation.
pub const KEY_VAR: &str = "CRMDB_ENCRYPTION_KEY";

/// What can go wrong with keys and sealed values. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{KEY_VAR} holds an invalid key (entry {position}): {why}; each entry must be 32 \
         random bytes in base64, e.g. from `openssl rand -base64 32`"
    )]
    InvalidKey { position: usize, why: String },

    #[error("{KEY_VAR} is empty; set it to one or more base64 keys")]
    NoKey,

    #[error(
        "a value sealed under key {key_id} cannot be opened: that key is not in \
         {KEY_VAR}; add the old key after the current one until `crmdb secrets rotate` \
         has re-sealed everything"
    )]
    UnknownKey { key_id: String },

    #[error(
        "the sealed value of {table}.{column} for organization {organization_id} does not \
         open with key {key_id}: it was altered, or copied from another row or column"
    )]
    Tampered {
        key_id: String,
        organization_id: uuid::Uuid,
        table: String,
        column: String,
    },

    #[error("hashing the password failed: {0}")]
    Password(String),
}
