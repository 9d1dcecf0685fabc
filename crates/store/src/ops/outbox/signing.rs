//! The signature of a delivery, Stripe-style: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>">`, keyed with the subscription's signing secret. The timestamp is signed
//! with the body, so a receiver that checks it against its clock refuses a replay of an
//! old delivery as well as a forged one.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Crmdb-Signature";
/// The header that carries the delivery's id, the same on every attempt: a receiver
/// dedupes by it, as delivery is at least once.
pub const DELIVERY_HEADER: &str = "X-Crmdb-Delivery";
/// The header that carries the event's type.
pub const EVENT_HEADER: &str = "X-Crmdb-Event";
/// How far a signature's timestamp may be from the receiver's clock by default.
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);

/// The HMAC-SHA256 of the concatenated `parts` keyed with `key`.
fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

fn signed_parts<'a>(timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 3] {
    [timestamp.as_bytes(), b".", body]
}

/// The value of [`SIGNATURE_HEADER`] for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let digest = mac(secret.as_bytes(), &signed_parts(&t, body))
        .finalize()
        .into_bytes();
    format!("t={t},v1={}", hex::encode(digest))
}

/// For receivers: whether `header` (a [`SIGNATURE_HEADER`] value) signs `body` with
/// `secret` at a time within `tolerance` of `now` (unix seconds). Any of several `v1=`
/// entries may match; each is compared in constant time.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance: Duration) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for entry in header.split(',') {
        match entry.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", hex_digest)) => signatures.extend(hex::decode(hex_digest).ok()),
            _ => {}
        }
    }
    let Some((t, seconds)) = timestamp.and_then(|t| Some((t, t.parse::<i64>().ok()?))) else {
        return false;
    };
    if now.abs_diff(seconds) > tolerance.as_secs() {
        return false;
    }
    let expected = mac(secret.as_bytes(), &signed_parts(t, body));
    signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_is_hmac_sha256() {
        // RFC 4231, test case 2.
        let digest = mac(b"Jefe", &[b"what do ya ", b"want for nothing?"])
            .finalize()
            .into_bytes();
        assert_eq!(
            hex::encode(digest),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        // hmac.new(b"whsec_test", b'1700000000.{"a":1}', sha256).hexdigest() in Python.
        assert_eq!(
            sign("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn verify_accepts_only_a_fresh_signature_of_the_same_body_and_secret() {
        let body = br#"{"a":1}"#;
        let header = sign("whsec_test", 1_700_000_000, body);
        let now = 1_700_000_100;
        assert!(verify(
            "whsec_test",
            &header,
            body,
            now,
            SIGNATURE_TOLERANCE
        ));
        assert!(!verify(
            "whsec_other",
            &header,
            body,
            now,
            SIGNATURE_TOLERANCE
        ));
        assert!(!verify(
            "whsec_test",
            &header,
            br#"{"a":2}"#,
            now,
            SIGNATURE_TOLERANCE
        ));
        assert!(!verify(
            "whsec_test",
            &header,
            body,
            now + 3600,
            SIGNATURE_TOLERANCE
        ));
        let shifted = header.replace("t=1700000000", "t=1700000001");
        assert!(!verify(
            "whsec_test",
            &shifted,
            body,
            now,
            SIGNATURE_TOLERANCE
        ));
        let rotated = format!("{},v1=00ff", header);
        assert!(verify(
            "whsec_test",
            &rotated,
            body,
            now,
            SIGNATURE_TOLERANCE
        ));
        assert!(!verify(
            "whsec_test",
            "v1=00",
            body,
            now,
            SIGNATURE_TOLERANCE
        ));
        assert!(!verify(
            "whsec_test",
            "garbage",
            body,
            now,
            SIGNATURE_TOLERANCE
        ));
    }
}
