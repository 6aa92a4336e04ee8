//! Idempotency keys: parsing the header, fingerprinting a request, and the stored responses.
//!
//! A client sends `Idempotency-Key` with every mutating request. The storefront stores, per key,
//! a SHA-256 fingerprint of (method, path, canonical JSON body) and the final response. A retry
//! with the same key and the same request gets the stored response again (marked with
//! `Idempotent-Replayed: true`); the same key with a different request is a client bug and gets
//! 409. Responses with status 5xx are never stored, so a retry after a transient failure runs
//! the effect for real. The atomic check-execute-store sequence lives in [`crate::pipeline`].

use axum::http::{HeaderMap, Method, StatusCode};
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::problem::{Problem, ProblemKind};

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Longest accepted key; UUIDs and `order-123/charge` style keys fit easily.
pub const MAX_KEY_LEN: usize = 255;

/// A validated `Idempotency-Key`: 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, Problem> {
        let mut values = headers.get_all(IDEMPOTENCY_KEY_HEADER).iter();
        let Some(value) = values.next() else {
            return Err(Problem::new(
                ProblemKind::MissingIdempotencyKey,
                "send an Idempotency-Key header with every POST",
            ));
        };
        if values.next().is_some() {
            return Err(invalid("send exactly one Idempotency-Key header"));
        }
        let key = value
            .to_str()
            .map_err(|_| invalid("must be visible ASCII"))?;
        Self::parse(key)
    }

    pub fn parse(key: &str) -> Result<Self, Problem> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(invalid(&format!(
                "must be 1 to {MAX_KEY_LEN} characters, got {}",
                key.len()
            )));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("must be visible ASCII without spaces"));
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn invalid(detail: &str) -> Problem {
    Problem::new(
        ProblemKind::InvalidIdempotencyKey,
        format!("Idempotency-Key {detail}"),
    )
}

/// Hex SHA-256 of a request. Bodies are hashed in canonical form (sorted keys, no whitespace),
/// so a retry that re-serializes the same JSON differently is still "the same request".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(method: &Method, path: &str, body: &Value) -> Self {
        let mut canonical_body = String::new();
        write_canonical(body, &mut canonical_body);
        let mut hasher = Sha256::new();
        // Length prefixes keep the three parts from running into each other.
        for part in [method.as_str(), path, &canonical_body] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Self(hex::encode(hasher.finalize()))
    }
}

/// Canonical JSON, independent of whether serde_json's `preserve_order` feature is enabled
/// somewhere in the dependency graph.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A response as stored for replay.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: StatusCode,
    pub body: Value,
}

/// What the store knows about a key.
#[derive(Debug)]
pub enum Lookup {
    /// Never seen: run the effect.
    New,
    /// Seen with the same request: replay this.
    Replay(StoredResponse),
    /// Seen with a different request.
    Reused,
}

pub fn lookup(
    conn: &Connection,
    key: &IdempotencyKey,
    fingerprint: &Fingerprint,
) -> Result<Lookup, Problem> {
    let row: Option<(String, u16, String)> = conn
        .query_row(
            "SELECT fingerprint, status, body FROM idempotency WHERE key = ?1",
            [key.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((stored_fingerprint, status, body)) = row else {
        return Ok(Lookup::New);
    };
    if stored_fingerprint != fingerprint.0 {
        return Ok(Lookup::Reused);
    }
    let status = StatusCode::from_u16(status).map_err(Problem::internal)?;
    let body = serde_json::from_str(&body).map_err(Problem::internal)?;
    Ok(Lookup::Replay(StoredResponse { status, body }))
}

pub fn store(
    conn: &Connection,
    key: &IdempotencyKey,
    fingerprint: &Fingerprint,
    response: &StoredResponse,
) -> Result<(), Problem> {
    debug_assert!(
        !response.status.is_server_error(),
        "5xx responses must not be stored"
    );
    conn.execute(
        "INSERT INTO idempotency (key, fingerprint, status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        (key.as_str(), &fingerprint.0, response.status.as_u16(), response.body.to_string(), crate::db::now()),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprint_ignores_key_order_and_whitespace_but_not_content() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [1, {"y": 2, "x": 1}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":[1,{"x":1,"y":2}],"b":1}"#).unwrap();
        let c = json!({"a": [1, {"x": 1, "y": 2}], "b": 2});
        let fp = |body: &Value| Fingerprint::of(&Method::POST, "/payments/charges", body);
        assert_eq!(fp(&a), fp(&b));
        assert_ne!(fp(&a), fp(&c));
        assert_ne!(fp(&a), Fingerprint::of(&Method::POST, "/shipments", &a));
    }

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert!(IdempotencyKey::parse("order-1/charge").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(MAX_KEY_LEN + 1)).is_err());
        let mut headers = HeaderMap::new();
        let missing = IdempotencyKey::from_headers(&headers).unwrap_err();
        assert_eq!(missing.kind, ProblemKind::MissingIdempotencyKey);
        headers.append(IDEMPOTENCY_KEY_HEADER, "a".parse().unwrap());
        headers.append(IDEMPOTENCY_KEY_HEADER, "b".parse().unwrap());
        assert_eq!(
            IdempotencyKey::from_headers(&headers).unwrap_err().kind,
            ProblemKind::InvalidIdempotencyKey
        );
    }
}
