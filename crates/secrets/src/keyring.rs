//! The keyring: the current key that seals, the older keys that still open, and the
//! sealed-value format `nonce (24 bytes) || ciphertext+tag`, with the key id stored beside it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Error;

const NONCE_LEN: usize = 24;
const AAD_VERSION: &str = "crmdb-seal-v1";

/// The short public id of a key: the first 8 bytes of SHA-256 of the key, in hex. Stored
/// beside every sealed value so rotation knows which key opens it.
pub type KeyId = String;

/// One 256-bit key.
pub struct Key {
    id: KeyId,
    bytes: SecretBox<[u8; 32]>,
}

impl Key {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        let id = hex::encode(&Sha256::digest(bytes)[..8]);
        Key {
            id,
            bytes: SecretBox::new(Box::new(bytes)),
        }
    }

    /// A fresh random key.
    pub fn generate() -> Key {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Key::from_bytes(bytes)
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key in base64, the form `CRMDB_ENCRYPTION_KEY` takes.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.bytes.expose_secret()))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.bytes.expose_secret().into())
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("bytes", &"[redacted]")
            .finish()
    }
}

/// Where a sealed value lives: bound into the AEAD's associated data.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub organization_id: Uuid,
    pub table: &'a str,
    pub column: &'a str,
}

impl Binding<'_> {
    fn associated_data(&self) -> Vec<u8> {
        format!(
            "{AAD_VERSION}|{}|{}|{}",
            self.organization_id, self.table, self.column
        )
        .into_bytes()
    }
}

/// A sealed value as stored: the key id column and the `bytea` ciphertext column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: KeyId,
    pub ciphertext: Vec<u8>,
}

/// The current key and the older keys that can still open values.
#[derive(Debug)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl Keyring {
    /// A keyring from the value of `CRMDB_ENCRYPTION_KEY`: base64 keys separated by commas,
    /// the first one current.
    pub fn parse(value: &SecretString) -> Result<Keyring, Error> {
        let keys = value
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .enumerate()
            .map(|(i, entry)| {
                let position = i + 1;
                let mut decoded = STANDARD.decode(entry).map_err(|e| Error::InvalidKey {
                    position,
                    why: format!("not base64 ({e})"),
                })?;
                let bytes: [u8; 32] =
                    decoded
                        .as_slice()
                        .try_into()
                        .map_err(|_| Error::InvalidKey {
                            position,
                            why: format!("{} bytes instead of 32", decoded.len()),
                        })?;
                zeroize::Zeroize::zeroize(&mut decoded);
                Ok(Key::from_bytes(bytes))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Keyring::new(keys)
    }

    /// A keyring whose first key is current.
    pub fn new(keys: Vec<Key>) -> Result<Keyring, Error> {
        if keys.is_empty() {
            return Err(Error::NoKey);
        }
        Ok(Keyring { keys })
    }

    /// The current key's id: values sealed under another id need re-sealing.
    pub fn current_id(&self) -> &str {
        self.keys[0].id()
    }

    /// The ids of every key, the current one first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(Key::id).collect()
    }

    /// This keyring followed by the keys of `older` it lacks: what a stored keyring becomes
    /// when a new ring is given, so that nothing sealed under a stored key is orphaned.
    pub fn merged_with(self, older: Keyring) -> Keyring {
        let mut keys = self.keys;
        for key in older.keys {
            if !keys.iter().any(|k| k.id == key.id) {
                keys.push(key);
            }
        }
        Keyring { keys }
    }

    /// Only the current key: what remains once no value is sealed under the others.
    pub fn current_only(mut self) -> Keyring {
        self.keys.truncate(1);
        self
    }

    /// The keyring in the form [`Keyring::parse`] reads: base64 keys, comma-separated.
    pub fn to_value(&self) -> SecretString {
        let value = self
            .keys
            .iter()
            .map(|k| k.to_base64().expose_secret().to_owned())
            .collect::<Vec<_>>()
            .join(",");
        SecretString::from(value)
    }

    /// Seals `plaintext` for `binding` under the current key with a random nonce.
    pub fn seal(&self, plaintext: &SecretString, binding: Binding<'_>) -> Sealed {
        self.seal_with_rng(plaintext, binding, &mut rand::rngs::OsRng)
    }

    /// Seals with a nonce drawn from `rng`. Demo data passes its seeded generator so the same
    /// seed gives byte-identical rows; everything else uses [`Keyring::seal`].
    pub fn seal_with_rng(
        &self,
        plaintext: &SecretString,
        binding: Binding<'_>,
        rng: &mut impl RngCore,
    ) -> Sealed {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let aad = binding.associated_data();
        let sealed = key
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory values");
        let mut ciphertext = Vec::with_capacity(NONCE_LEN + sealed.len());
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&sealed);
        Sealed {
            key_id: key.id.clone(),
            ciphertext,
        }
    }

    /// Opens a sealed value, with whichever key of the ring its id names.
    pub fn open(&self, sealed: &Sealed, binding: Binding<'_>) -> Result<SecretString, Error> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| Error::UnknownKey {
                key_id: sealed.key_id.clone(),
            })?;
        let tampered = || Error::Tampered {
            key_id: sealed.key_id.clone(),
            organization_id: binding.organization_id,
            table: binding.table.to_owned(),
            column: binding.column.to_owned(),
        };
        if sealed.ciphertext.len() < NONCE_LEN {
            return Err(tampered());
        }
        let (nonce, body) = sealed.ciphertext.split_at(NONCE_LEN);
        let aad = binding.associated_data();
        let plain = key
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| tampered())?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| tampered())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(table: &'static str) -> Binding<'static> {
        Binding {
            organization_id: Uuid::from_u128(7),
            table,
            column: "credentials_ciphertext",
        }
    }

    #[test]
    fn sealed_values_open_only_where_they_were_sealed() {
        let ring = Keyring::new(vec![Key::generate()]).unwrap();
        let secret = SecretString::from("sk_live_123");
        let sealed = ring.seal(&secret, binding("voip_configs"));
        assert!(!sealed.ciphertext.windows(11).any(|w| w == b"sk_live_123"));
        let opened = ring.open(&sealed, binding("voip_configs")).unwrap();
        assert_eq!(opened.expose_secret(), "sk_live_123");
        let moved = ring.open(&sealed, binding("whatsapp_configs"));
        assert!(matches!(moved, Err(Error::Tampered { .. })));
        let other_org = Binding {
            organization_id: Uuid::from_u128(8),
            ..binding("voip_configs")
        };
        assert!(ring.open(&sealed, other_org).is_err());
    }

    #[test]
    fn a_merged_ring_keeps_the_new_current_key_and_every_stored_key_once() {
        let (old, new) = (Key::generate(), Key::generate());
        let stored = Keyring::parse(&Keyring::new(vec![old]).unwrap().to_value()).unwrap();
        let old_id = stored.current_id().to_owned();
        let given = Keyring::parse(&SecretString::from(format!(
            "{},{}",
            new.to_base64().expose_secret(),
            stored.to_value().expose_secret()
        )))
        .unwrap();
        let new_id = given.current_id().to_owned();
        let merged = given.merged_with(stored);
        assert_eq!(merged.ids(), [new_id.as_str(), old_id.as_str()]);
        let reread = Keyring::parse(&merged.to_value()).unwrap();
        assert_eq!(reread.ids(), merged.ids());
        assert_eq!(reread.current_only().ids(), [new_id.as_str()]);
    }

    #[test]
    fn old_keys_open_and_unknown_keys_are_named() {
        let old = Key::generate();
        let old_b64 = old.to_base64();
        let old_ring = Keyring::new(vec![old]).unwrap();
        let sealed = old_ring.seal(&SecretString::from("x"), binding("t"));
        let new = Key::generate();
        let both = format!(
            "{},{}",
            new.to_base64().expose_secret(),
            old_b64.expose_secret()
        );
        let rotated = Keyring::parse(&SecretString::from(both)).unwrap();
        assert_eq!(rotated.current_id(), new.id());
        assert_eq!(
            rotated.open(&sealed, binding("t")).unwrap().expose_secret(),
            "x"
        );
        let only_new = Keyring::new(vec![new]).unwrap();
        let err = only_new.open(&sealed, binding("t")).unwrap_err();
        assert!(err.to_string().contains(&sealed.key_id));
    }

    #[test]
    fn bad_keys_are_refused_with_their_position() {
        let err = Keyring::parse(&SecretString::from("not-base64!")).unwrap_err();
        assert!(err.to_string().contains("entry 1"));
        let short = STANDARD.encode([1u8; 16]);
        let err = Keyring::parse(&SecretString::from(short)).unwrap_err();
        assert!(err.to_string().contains("16 bytes"));
        assert!(matches!(
            Keyring::parse(&SecretString::from(" , ")),
            Err(Error::NoKey)
        ));
    }

    #[test]
    fn a_seeded_rng_gives_identical_sealed_bytes() {
        use rand::SeedableRng;
        let key = Key::from_bytes([9; 32]);
        let ring = Keyring::new(vec![key]).unwrap();
        let seal = || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            ring.seal_with_rng(&SecretString::from("v"), binding("t"), &mut rng)
        };
        assert_eq!(seal(), seal());
    }

    #[test]
    fn debug_output_redacts_key_material() {
        let key = Key::from_bytes([3; 32]);
        let text = format!("{key:?}");
        assert!(text.contains("redacted"));
        assert!(!text.contains("3, 3"));
    }
}
