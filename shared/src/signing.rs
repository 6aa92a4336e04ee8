//! Request signatures for `POST /orders` — part of the shop's wire contract, so the senders
//! (storefront, `push-events sign`, the demo) and the checker (`ingest-fn`) share one
//! implementation and cannot drift apart: HMAC-SHA256 over `timestamp + "." + body` with a secret
//! shared between the storefront (or any trusted sender) and `ingest-fn`.
//!
//! Headers: `X-ShopFlow-Timestamp: <unix seconds>` and `X-ShopFlow-Signature: v1=<hex>`. The
//! timestamp is inside the signed bytes, so a captured request cannot be re-dated; requests more
//! than [`MAX_SKEW_SECS`] away from our clock are refused, which bounds how long a captured
//! request can be replayed. A replay inside that window can only re-submit the same order,
//! which the exactly-once start turns into a harmless `duplicate: true`.
//!
//! The comparison is constant-time (`hmac`'s `verify_slice`). Several `v1=` values are accepted
//! (any one may match) so a sender can sign with an old and a new secret while a secret is
//! rotated — separated by commas in one header, or as repeated headers (HTTP allows both, and
//! proxies may turn one into the other). SQS messages are not signed: see `ingest-fn`'s `event`
//! module for that trust boundary.
//!
//! A secret must have at least [`MIN_SECRET_BYTES`] bytes: RFC 2104 §3 asks for a key no shorter
//! than the hash's output (32 bytes for SHA-256), and a short one can be guessed offline from a
//! single captured request.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the signing time (unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-shopflow-timestamp";
/// Header carrying `v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "x-shopflow-signature";
/// Largest accepted distance between the signing time and our clock, either way.
pub const MAX_SKEW_SECS: i64 = 5 * 60;
/// Shortest accepted secret, in bytes (the SHA-256 output length; RFC 2104 §3).
pub const MIN_SECRET_BYTES: usize = 32;
/// Most `v1=` values one request may carry (a rotation needs two).
const MAX_SIGNATURES: usize = 4;
/// The signature scheme's version prefix.
const SCHEME: &str = "v1=";

type HmacSha256 = Hmac<Sha256>;

/// The shared secret. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret from its text (surrounding white space trimmed): refused when blank or shorter
    /// than [`MIN_SECRET_BYTES`].
    pub fn new(value: impl Into<String>) -> Result<Self, SecretError> {
        let value = value.into();
        let trimmed = value.trim();
        match trimmed.len() {
            0 => Err(SecretError::Blank),
            n if n < MIN_SECRET_BYTES => Err(SecretError::TooShort(n)),
            _ => Ok(Self(trimmed.as_bytes().to_vec())),
        }
    }

    /// A fresh random secret (64 hex digits), for a demo or a test that signs its own requests.
    pub fn random() -> Self {
        Self(hex::encode(rand::random::<[u8; 32]>()).into_bytes())
    }

    /// The secret's text, to hand to the other side of a local set-up (a child process's
    /// environment). Never log it.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.0).expect("secrets are made from strings")
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

/// Why a text is not a usable secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret is blank")]
    Blank,
    #[error(
        "the secret has {0} bytes; at least {MIN_SECRET_BYTES} are needed (e.g. `openssl rand -hex 32`)"
    )]
    TooShort(usize),
}

/// Why a request's signature was refused. The messages are safe to show to the caller: they say
/// what is wrong with the request, never anything about the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the X-ShopFlow-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the X-ShopFlow-Timestamp header must be unix seconds")]
    BadTimestamp,
    #[error("the X-ShopFlow-Timestamp header must appear once")]
    RepeatedTimestamp,
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

/// Checks the headers of a request against its body at time `now` (unix seconds). Each header
/// is given as all the values the request carried for it, in order.
pub fn verify<'a>(
    secret: &Secret,
    timestamps: impl IntoIterator<Item = &'a str>,
    signatures: impl IntoIterator<Item = &'a str>,
    body: &[u8],
    now: i64,
) -> Result<(), AuthError> {
    let mut timestamps = timestamps.into_iter();
    let timestamp = timestamps
        .next()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::MissingTimestamp)?;
    // Two timestamps would leave open which one was signed.
    if timestamps.next().is_some() {
        return Err(AuthError::RepeatedTimestamp);
    }
    // Digits only: `+5` or ` 5` would parse but sign different bytes than the sender meant.
    if timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::BadTimestamp);
    }
    let signed_at: i64 = timestamp.parse().map_err(|_| AuthError::BadTimestamp)?;
    let skew = now - signed_at;
    if skew.abs() > MAX_SKEW_SECS {
        return Err(AuthError::OutsideWindow(skew));
    }
    let parts: Vec<&str> = signatures
        .into_iter()
        .flat_map(|header| header.split(','))
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(AuthError::MissingSignature);
    }
    // Bounded, so a request cannot make us compute thousands of MACs.
    if parts.len() > MAX_SIGNATURES {
        return Err(AuthError::MalformedSignature);
    }
    let tags: Vec<Vec<u8>> = parts
        .iter()
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
        Secret::new("s3cret-s3cret-s3cret-s3cret-s3cret").unwrap()
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
                Some(signature.as_str()),
                body,
                1_700_000_100
            ),
            Ok(())
        );
    }

    #[test]
    fn matches_an_independent_implementation() {
        // echo -n '1700000000.{}' | openssl dgst -sha256 -hmac s3cret-s3cret-s3cret-s3cret-s3cret
        let expected = "v1=a5ff16665e9cd6ec7c6140bf4a11e240021fac3917ad986de01e5bffcee536ec";
        assert_eq!(sign(&secret(), 1_700_000_000, b"{}"), expected);
    }

    #[test]
    fn every_tampering_is_refused() {
        let body = b"{}";
        let now = 1_700_000_000;
        let good = sign(&secret(), now, body);
        let other = Secret::new("other-other-other-other-other-other").unwrap();
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
        let old = sign(
            &Secret::new("old-old-old-old-old-old-old-old-old").unwrap(),
            now,
            b"x",
        );
        let new = sign(&secret(), now, b"x");
        assert_eq!(
            verify(
                &secret(),
                Some("1700000000"),
                Some(format!("{old}, {new}").as_str()),
                b"x",
                now
            ),
            Ok(())
        );
        // The same two as repeated headers, in either order.
        for headers in [[old.as_str(), new.as_str()], [new.as_str(), old.as_str()]] {
            assert_eq!(
                verify(&secret(), Some("1700000000"), headers, b"x", now),
                Ok(())
            );
        }
        // Only wrong ones: refused; too many: refused before any MAC is computed.
        assert_eq!(
            verify(
                &secret(),
                Some("1700000000"),
                [old.as_str(), old.as_str()],
                b"x",
                now
            ),
            Err(AuthError::Mismatch)
        );
        let many = vec![old.as_str(); MAX_SIGNATURES]
            .into_iter()
            .chain([new.as_str()]);
        assert_eq!(
            verify(&secret(), Some("1700000000"), many, b"x", now),
            Err(AuthError::MalformedSignature)
        );
    }

    #[test]
    fn one_timestamp_only() {
        let now = 1_700_000_000;
        let good = sign(&secret(), now, b"x");
        assert_eq!(
            verify(
                &secret(),
                ["1700000000", "1700000000"],
                Some(good.as_str()),
                b"x",
                now
            ),
            Err(AuthError::RepeatedTimestamp)
        );
    }

    #[test]
    fn weak_secrets_do_not_exist_and_debug_hides_them() {
        assert_eq!(Secret::new("  "), Err(SecretError::Blank));
        assert_eq!(Secret::new(" hunter2 "), Err(SecretError::TooShort(7)));
        assert_eq!(Secret::new("x".repeat(31)), Err(SecretError::TooShort(31)));
        assert!(Secret::new("x".repeat(32)).is_ok());
        let random = Secret::random();
        assert_eq!(random.expose().len(), 64);
        assert_ne!(random, Secret::random());
        assert_eq!(format!("{:?}", secret()), "Secret(..)");
    }
}
