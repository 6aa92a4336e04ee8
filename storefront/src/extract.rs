//! Request extractors that turn every kind of bad input into a problem+json response.
//!
//! axum's own `Json` extractor answers bad input with plain text; callers and tests rely on
//! problem bodies, so the storefront reads bodies itself:
//! - a body over the limit (see [`BODY_LIMIT_BYTES`]) → 413 `payload-too-large`;
//! - a non-empty body with a non-JSON `Content-Type` → 415 (a missing `Content-Type` is fine);
//! - bytes that are not JSON → 400 `malformed-json`; an empty body counts as `{}`;
//! - JSON of the wrong shape → 422 `invalid-request` naming the field (`items[0].quantity`).
//!
//! [`Mutation`] additionally requires the `Idempotency-Key` header and fingerprints the request.
//! [`PathId`] and [`QueryParams`] do the same for path segments and query strings.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::problem::{Problem, ProblemKind};

/// Largest request body accepted (64 KiB): far above any real order, far below harm.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The body of endpoints that need none (release, refund, cancel): empty, `{}`, or any object.
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

/// A parsed JSON body (for non-idempotent endpoints such as `PUT /admin/faults`).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json = read_json(req, state).await?;
        Ok(Self(parse_shape(json)?))
    }
}

/// A mutating request: its idempotency key, fingerprint, raw JSON and typed body.
pub struct Mutation<T> {
    pub key: IdempotencyKey,
    pub fingerprint: Fingerprint,
    /// The body as sent; fault injection looks for `failSkus`/`failCustomers` values in it.
    pub json: Value,
    pub body: T,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Mutation<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        // The key is checked first: without it nothing else about the request matters.
        let key = IdempotencyKey::from_headers(req.headers())?;
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let json = read_json(req, state).await?;
        let fingerprint = Fingerprint::of(&method, &path, &json);
        let body = parse_shape(json.clone())?;
        Ok(Self {
            key,
            fingerprint,
            json,
            body,
        })
    }
}

async fn read_json<S: Send + Sync>(req: Request, state: &S) -> Result<Value, Problem> {
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                ProblemKind::PayloadTooLarge,
                format!("request bodies are limited to {BODY_LIMIT_BYTES} bytes"),
            )
            .with("limitBytes", BODY_LIMIT_BYTES)
        } else {
            Problem::new(
                ProblemKind::MalformedJson,
                format!("cannot read the body: {}", rejection.body_text()),
            )
        }
    })?;
    // No body means "no fields", whatever the headers say (release/cancel/refund send none).
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    if let Some(content_type) = content_type {
        let is_json = content_type.to_str().is_ok_and(|value| {
            let mime = value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
        if !is_json {
            return Err(Problem::new(
                ProblemKind::UnsupportedMediaType,
                format!("Content-Type must be application/json, got {content_type:?}"),
            ));
        }
    }
    serde_json::from_slice(&bytes)
        .map_err(|err| Problem::new(ProblemKind::MalformedJson, err.to_string()))
}

fn parse_shape<T: DeserializeOwned>(json: Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(json).map_err(|err| {
        let path = err.path().to_string();
        if path == "." {
            // The body itself is wrong (not an object, or a top-level field is missing).
            Problem::new(ProblemKind::InvalidRequest, err.inner().to_string())
        } else {
            Problem::new(
                ProblemKind::InvalidRequest,
                format!("{path}: {}", err.inner()),
            )
            .with("field", path)
        }
    })
}

/// A resource ID from the route's single path parameter (`{reservation_id}`, `{sku}`, …). An ID
/// that cannot be decoded names no resource: 404, like any other unknown ID.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Self(id)),
            Err(rejection) => Err(Problem::new(
                ProblemKind::NotFound,
                format!("unusable ID in path: {}", rejection.body_text()),
            )),
        }
    }
}

/// Parsed query parameters; a query that does not parse is 422 `invalid-request`.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(params)) => Ok(Self(params)),
            Err(rejection) => Err(Problem::new(
                ProblemKind::InvalidRequest,
                rejection.body_text(),
            )),
        }
    }
}
