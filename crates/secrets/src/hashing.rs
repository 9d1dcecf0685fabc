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

/// The PHC string of `password` hashed with the algorithm, parameters and salt of
/// `parameters` (a PHC string without its hash, as the database's `login_parameters`
/// returns it), for the database to compare with the stored hash; `None` when
/// `parameters` is not such a string.
pub fn hash_password_like(password: &SecretString, parameters: &str) -> Option<String> {
    let template = PasswordHash::new(parameters).ok()?;
    let salt = template.salt?;
    let params = argon2::Params::try_from(&template).ok()?;
    Argon2::default()
        .hash_password_customized(
            password.expose_secret().as_bytes(),
            Some(template.algorithm),
            template.version,
            params,
            salt,
        )
        .ok()
        .map(|hash| hash.to_string())
}

/// A new login password: 32 letters and digits (190 bits) from the operating system's
/// generator, safe in a URL without escaping.
pub fn generate_password() -> SecretString {
    use rand::distributions::{Alphanumeric, DistString};
    SecretString::from(Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32))
}

/// The SCRAM-SHA-256 verifier of a login's password, in the form PostgreSQL stores
/// (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, RFC 5802 and 7677).
/// Sent as the password of `CREATE ROLE`, it lets the server authenticate the login
/// without the password itself ever reaching the server, its logs or `pg_stat_activity`.
/// The passwords crmdb generates are ASCII, which SASLprep leaves unchanged.
pub fn scram_sha256_verifier(password: &SecretString) -> String {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    type HmacSha256 = Hmac<Sha256>;
    const ITERATIONS: u32 = 4096;
    let mac = |key: &[u8], message: &[u8]| {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(message);
        mac.finalize().into_bytes()
    };
    let salt: [u8; 16] = rand::random();
    let password = password.expose_secret().as_bytes();
    // Hi() of RFC 5802: PBKDF2 with HMAC-SHA-256, one block.
    let mut block = mac(password, &[&salt[..], &1u32.to_be_bytes()].concat());
    let mut salted = block;
    for _ in 1..ITERATIONS {
        block = mac(password, &block);
        salted
            .iter_mut()
            .zip(block.iter())
            .for_each(|(s, b)| *s ^= b);
    }
    let client_key = mac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = mac(&salted, b"Server Key");
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        b64.encode(salt),
        b64.encode(stored_key),
        b64.encode(server_key)
    )
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
    fn a_password_hashed_like_the_stored_one_equals_it() {
        let password = SecretString::from("correct horse");
        let stored = hash_password(&password).unwrap();
        let parameters = &stored[..stored.rfind('$').unwrap()];
        assert_eq!(hash_password_like(&password, parameters).unwrap(), stored);
        let wrong = hash_password_like(&SecretString::from("wrong"), parameters).unwrap();
        assert_ne!(wrong, stored);
        assert!(hash_password_like(&password, "not a phc string").is_none());
    }

    #[test]
    fn scram_verifiers_have_postgres_form_and_fresh_salts() {
        let password = SecretString::from("pencil");
        let a = scram_sha256_verifier(&password);
        let b = scram_sha256_verifier(&password);
        assert_ne!(a, b, "a fresh salt each time");
        let (head, keys) = a.split_once('$').unwrap().1.split_once('$').unwrap();
        assert!(head.starts_with("4096:"));
        let (stored, server) = keys.split_once(':').unwrap();
        assert_eq!(stored.len(), 44);
        assert_eq!(server.len(), 44);
        assert!(a.starts_with("SCRAM-SHA-256$4096:"));
    }

    #[test]
    fn token_hashes_are_stable_and_distinct() {
        let a = hash_token(&SecretString::from("abc"));
        assert_eq!(a, hash_token(&SecretString::from("abc")));
        assert_ne!(a, hash_token(&SecretString::from("abd")));
        assert_eq!(a.len(), 32);
    }
}
