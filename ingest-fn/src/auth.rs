//! Request signatures for `POST /orders`: HMAC-SHA256 over `timestamp + "." + body` with a secret
//! shared between the storefront (or any trusted sender) and `ingest-fn`.
//!
//! Headers: `X-ShopFlow-Timestamp: <unix seconds>` and `X-ShopFlow-Signature: v1=<hex>`. The
//! timestamp is inside the signed bytes, so a captured request cannot be re-dated; requests more
//! than [`MAX_SKEW_SECS`] away from our clock are refused, which bounds how long a captured
//! request can be replayed. A replay inside that window can only re-submit the same order,
//! which the exactly-once start turns into a harmless `duplicate: true`.
//!
//! The comparison is constant-time (`hmac`'s `verify_slice`). Several `v1=` values separated by
//! commas are accepted (any one may match) so a sender can sign with an old and a new secret while
//! a secret is rotated. SQS messages are not signed: IAM decides who may send to the queue.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the signing time (unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-shopflow-timestamp";
/// Header carrying `v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "x-shopflow-signature";
/// Largest accepted distance between the signing time and our clock, either way.
pub const MAX_SKEW_SECS: i64 = 5 * 60;
/// The signature scheme's version prefix.
const SCHEME: &str = "v1=";

type HmacSha256 = Hmac<Sha256>;

/// The shared secret. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret from its text; `None` when blank (a blank secret would sign anything).
    pub fn new(value: impl Into<String>) -> Option<Self> {
        let value = value.into();
        let trimmed = value.trim();
        (!trimmed.is_empty()).then(|| Self(trimmed.as_bytes().to_vec()))
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Why a request's signature was refused. The messages are safe to show to the caller: they say
/// what is wrong with the request, never anything about the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the X-ShopFlow-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the X-ShopFlow-Timestamp header must be unix seconds")]
    BadTimestamp,
    #[error("the request was signed {0} s away from the server's clock (at most 300 s allowed)")]
    OutsideWindow(i64),
    #[error("the X-ShopFlow-Signature header is missing")]
    MissingSignature,
    #[error("the X-ShopFlow-Signature header must be v1=<64 hex digits>")]
    MalformedSignature,
    #[error("the signature does not match the request")]
    Mismatch,
}

/// `v1=<hex>` for `body` signed at `timestamp` (unix seconds).
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let tag = secret
        .mac(&timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("{SCHEME}{}", hex::encode(tag))
}

/// Both headers for `body`, signed now: what a client adds to its request.
pub fn signed_headers(secret: &Secret, body: &[u8]) -> [(&'static str, String); 2] {
    let now = unix_now();
    [
        (TIMESTAMP_HEADER, now.to_string()),
        (SIGNATURE_HEADER, sign(secret, now, body)),
    ]
}

/// Checks the headers of a request against its body at time `now` (unix seconds).
pub fn verify(
    secret: &Secret,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), AuthError> {
    let timestamp = timestamp
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::MissingTimestamp)?;
    // Digits only: `+5` or ` 5` would parse but sign different bytes than the sender meant.
    if timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::BadTimestamp);
    }
    let signed_at: i64 = timestamp.parse().map_err(|_| AuthError::BadTimestamp)?;
    let skew = now - signed_at;
    if skew.abs() > MAX_SKEW_SECS {
        return Err(AuthError::OutsideWindow(skew));
    }
    let signature = signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(AuthError::MissingSignature)?;
    let tags: Vec<Vec<u8>> = signature
        .split(',')
        .map(|part| {
            part.trim()
                .strip_prefix(SCHEME)
                .and_then(|h| hex::decode(h).ok())
                .filter(|t| t.len() == 32)
        })
        .collect::<Option<_>>()
        .ok_or(AuthError::MalformedSignature)?;
    let mac = secret.mac(timestamp, body);
    // `verify_slice` compares in constant time; it consumes the MAC, hence the clone per tag.
    if tags.iter().any(|tag| mac.clone().verify_slice(tag).is_ok()) {
        Ok(())
    } else {
        Err(AuthError::Mismatch)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("s3cret").unwrap()
    }

    #[test]
    fn a_signed_request_verifies() {
        let body = br#"{"orderId":"A-1"}"#;
        let signature = sign(&secret(), 1_700_000_000, body);
        assert!(signature.starts_with("v1=") && signature.len() == 3 + 64);
        assert_eq!(
            verify(
                &secret(),
                Some("1700000000"),
                Some(&signature),
                body,
                1_700_000_100
            ),
            Ok(())
        );
    }

    #[test]
    fn matches_an_independent_implementation() {
        // echo -n '1700000000.{}' | openssl dgst -sha256 -hmac s3cret
        let expected = "v1=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf";
        assert_eq!(sign(&secret(), 1_700_000_000, b"{}"), expected);
    }

    #[test]
    fn every_tampering_is_refused() {
        let body = b"{}";
        let now = 1_700_000_000;
        let good = sign(&secret(), now, body);
        let other = Secret::new("other").unwrap();
        // (timestamp header, signature header, body, expected refusal)
        type Case<'a> = (Option<&'a str>, Option<String>, &'a [u8], AuthError);
        let cases: Vec<Case> = vec![
            (None, Some(good.clone()), body, AuthError::MissingTimestamp),
            (
                Some(""),
                Some(good.clone()),
                body,
                AuthError::MissingTimestamp,
            ),
            (
                Some("yesterday"),
                Some(good.clone()),
                body,
                AuthError::BadTimestamp,
            ),
            (
                Some("+1700000000"),
                Some(good.clone()),
                body,
                AuthError::BadTimestamp,
            ),
            (
                Some("99999999999999999999"),
                Some(good.clone()),
                body,
                AuthError::BadTimestamp,
            ),
            (
                Some("1699999699"),
                Some(sign(&secret(), 1_699_999_699, body)),
                body,
                AuthError::OutsideWindow(301),
            ),
            (
                Some("1700000301"),
                Some(sign(&secret(), 1_700_000_301, body)),
                body,
                AuthError::OutsideWindow(-301),
            ),
            (Some("1700000000"), None, body, AuthError::MissingSignature),
            (
                Some("1700000000"),
                Some("v2=abcd".into()),
                body,
                AuthError::MalformedSignature,
            ),
            (
                Some("1700000000"),
                Some(good.replace("v1=", "")),
                body,
                AuthError::MalformedSignature,
            ),
            (
                Some("1700000000"),
                Some(format!("{good}00")),
                body,
                AuthError::MalformedSignature,
            ),
            (
                Some("1700000000"),
                Some(sign(&other, now, body)),
                body,
                AuthError::Mismatch,
            ),
            (
                Some("1700000000"),
                Some(good.clone()),
                b"{ }",
                AuthError::Mismatch,
            ),
            (
                Some("1700000001"),
                Some(good.clone()),
                body,
                AuthError::Mismatch,
            ),
        ];
        for (timestamp, signature, body, expected) in cases {
            assert_eq!(
                verify(&secret(), timestamp, signature.as_deref(), body, now),
                Err(expected.clone()),
                "{timestamp:?} {signature:?}"
            );
        }
    }

    #[test]
    fn rotation_accepts_any_listed_signature() {
        let now = 1_700_000_000;
        let old = sign(&Secret::new("old").unwrap(), now, b"x");
        let new = sign(&secret(), now, b"x");
        assert_eq!(
            verify(
                &secret(),
                Some("1700000000"),
                Some(&format!("{old}, {new}")),
                b"x",
                now
            ),
            Ok(())
        );
    }

    #[test]
    fn blank_secrets_do_not_exist_and_debug_hides_them() {
        assert!(Secret::new("  ").is_none());
        assert_eq!(format!("{:?}", secret()), "Secret(..)");
    }
}
