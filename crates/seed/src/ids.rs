//! Stable ids for default rows: the same row gets the same id on every run, so a re-run
//! finds the rows it inserted before.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
