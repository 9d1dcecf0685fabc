//! The demo's row ids: UUIDv7 built from generated timestamps and seeded random bits, so
//! the same seed gives the same ids.

use rand::RngCore;
use uuid::Uuid;

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
