//! Deterministic ids: stable ids for default rows (so a re-run finds the same rows) and
//! UUIDv7 ids built from generated timestamps and seeded random bits for demo data.

use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A stable id for `(scope, kind, key)`: version 8 (RFC 9562 "custom"), the other bits
/// from a SHA-256 of the parts. The same default row gets the same id on every run and in
/// every database, so a second seed conflicts on the primary key instead of duplicating.
pub fn stable_id(scope: Uuid, kind: &str, key: &str) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(b"crmdb-seed/v1\0");
    hasher.update(scope.as_bytes());
    // Length-prefixed so ("ab", "c") and ("a", "bc") differ.
    for part in [kind, key] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// A UUIDv7 for a row created at `unix_millis`, its random bits drawn from `rng`: ids stay
/// time-ordered like the database's own `uuid_generate_v7()`, and reproducible.
pub fn v7(unix_millis: i64, rng: &mut impl RngCore) -> Uuid {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    let millis = u64::try_from(unix_millis).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn stable_ids_depend_on_every_part_only() {
        let org = Uuid::from_u128(7);
        let a = stable_id(org, "stage", "Lead");
        assert_eq!(a, stable_id(org, "stage", "Lead"));
        assert_ne!(a, stable_id(org, "stage", "Contato"));
        assert_ne!(a, stable_id(Uuid::from_u128(8), "stage", "Lead"));
        assert_ne!(stable_id(org, "ab", "c"), stable_id(org, "a", "bc"));
        assert_eq!(a.get_version_num(), 8);
    }

    #[test]
    fn v7_ids_carry_the_timestamp_and_repeat_with_the_seed() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let id = v7(1_767_225_600_000, &mut rng);
        assert_eq!(id.get_version_num(), 7);
        let (secs, _) = id.get_timestamp().unwrap().to_unix();
        assert_eq!(secs, 1_767_225_600);
        let mut again = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(id, v7(1_767_225_600_000, &mut again));
        assert!(v7(1_767_225_600_001, &mut again) > id);
    }
}
