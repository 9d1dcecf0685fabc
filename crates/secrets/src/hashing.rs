//! Hashes of values that are only compared: tokens (SHA-256) and passwords (argon2id).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::Error;

/// The SHA-256 of a high-entropy token (session, invitation, reset): the token is random, so
/// a fast hash is enough, and lookups by hash stay indexable.
pub fn hash_token(token: &SecretString) -> Vec<u8> {
    Sha256::digest(token.expose_secret().as_bytes()).to_vec()
}

/// An argon2id PHC string (`$argon2id$v=19$…`) of a password, with a random salt.
pub fn hash_password(password: &SecretString) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Password(e.to_string()))
}

/// An argon2id PHC string of a password with its salt drawn from `rng`. Only for demo
/// data, where a seeded generator makes the hash reproducible; real passwords use
/// [`hash_password`].
pub fn hash_password_with_salt_rng(
    password: &SecretString,
    rng: &mut impl argon2::password_hash::rand_core::CryptoRngCore,
) -> Result<String, Error> {
    let salt = SaltString::generate(rng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Password(e.to_string()))
}

/// True when `password` matches the PHC string `hash`; false for a malformed hash too.
pub fn verify_password(password: &SecretString, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password(&SecretString::from("correct horse")).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&SecretString::from("correct horse"), &hash));
        assert!(!verify_password(&SecretString::from("wrong"), &hash));
        assert!(!verify_password(&SecretString::from("x"), "not a hash"));
    }

    #[test]
    fn a_seeded_salt_gives_the_same_verifiable_hash() {
        use rand::SeedableRng;
        let password = SecretString::from("demo");
        let hash = |seed| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            hash_password_with_salt_rng(&password, &mut rng).unwrap()
        };
        assert_eq!(hash(1), hash(1));
        assert_ne!(hash(1), hash(2));
        assert!(verify_password(&password, &hash(1)));
    }

    #[test]
    fn token_hashes_are_stable_and_distinct() {
        let a = hash_token(&SecretString::from("abc"));
        assert_eq!(a, hash_token(&SecretString::from("abc")));
        assert_ne!(a, hash_token(&SecretString::from("abd")));
        assert_eq!(a.len(), 32);
    }
}
