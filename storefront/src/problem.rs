//! RFC 9457 "problem details" errors: every non-2xx response of the storefront is one of these.
//!
//! Callers (ShopFlow's activities) decide retry-vs-give-up from the status alone (4xx except
//! 408/429 is permanent, 5xx is transient), and tests match on the `type` URI. Keeping one type
//! with a closed set of [`ProblemKind`]s means a handler cannot invent an ad-hoc error shape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Prefix of every problem `type` URI.
pub const PROBLEM_BASE: &str = "https://shopflow.dev/problems/";

/// Media type of problem bodies (RFC 9457 §3).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The closed set of problems the storefront reports. The slug is the last segment of `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    MissingIdempotencyKey,
    InvalidIdempotencyKey,
    IdempotencyKeyReused,
    MalformedJson,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    OutOfStock,
    UnknownSku,
    NotFound,
    MethodNotAllowed,
    CardDeclined,
    UndeliverableAddress,
    InjectedFault,
    Internal,
    /// The web endpoints' dependencies (see `crate::web`).
    TemporalUnavailable,
    UpstreamUnavailable,
    NotConfigured,
    /// A browser request from another site tried to change state (see `crate::guard`).
    CrossSiteRequest,
    /// The shop requires its shared token and the request did not carry it.
    Unauthorized,
}

impl ProblemKind {
    pub fn slug(self) -> &'static str {
        match self {
            Self::MissingIdempotencyKey => "missing-idempotency-key",
            Self::InvalidIdempotencyKey => "invalid-idempotency-key",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::MalformedJson => "malformed-json",
            Self::InvalidRequest => "invalid-request",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::OutOfStock => "out-of-stock",
            Self::UnknownSku => "unknown-sku",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::CardDeclined => "card-declined",
            Self::UndeliverableAddress => "undeliverable-address",
            Self::InjectedFault => "injected-fault",
            Self::Internal => "internal",
            Self::TemporalUnavailable => "temporal-unavailable",
            Self::UpstreamUnavailable => "upstream-unavailable",
            Self::NotConfigured => "not-configured",
            Self::CrossSiteRequest => "cross-site-request",
            Self::Unauthorized => "unauthorized",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingIdempotencyKey | Self::InvalidIdempotencyKey | Self::MalformedJson => {
                StatusCode::BAD_REQUEST
            }
            Self::IdempotencyKeyReused | Self::OutOfStock => StatusCode::CONFLICT,
            Self::InvalidRequest | Self::UnknownSku | Self::UndeliverableAddress => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::CardDeclined => StatusCode::PAYMENT_REQUIRED,
            Self::InjectedFault => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporalUnavailable | Self::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            Self::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            Self::CrossSiteRequest => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::MissingIdempotencyKey => "Idempotency-Key header is required",
            Self::InvalidIdempotencyKey => "Idempotency-Key header is invalid",
            Self::IdempotencyKeyReused => {
                "Idempotency-Key was already used for a different request"
            }
            Self::MalformedJson => "Request body is not valid JSON",
            Self::InvalidRequest => "Request body does not match the expected shape",
            Self::PayloadTooLarge => "Request body is too large",
            Self::UnsupportedMediaType => "Request body must be JSON",
            Self::OutOfStock => "Not enough stock",
            Self::UnknownSku => "Unknown SKU",
            Self::NotFound => "Resource not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::CardDeclined => "Card declined",
            Self::UndeliverableAddress => "Address is not deliverable",
            Self::InjectedFault => "Injected fault",
            Self::Internal => "Internal error",
            Self::TemporalUnavailable => "Temporal is unavailable",
            Self::UpstreamUnavailable => "An upstream service did not answer",
            Self::NotConfigured => "This feature is not configured",
            Self::CrossSiteRequest => "Cross-site requests may not change the shop",
            Self::Unauthorized => "The shop's token is required",
        }
    }

    pub fn type_uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }
}

/// One problem response. `extra` carries the extension members (e.g. `sku` for out-of-stock).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub detail: String,
    pub extra: Map<String, Value>,
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            extra: Map::new(),
        }
    }

    /// Adds an extension member. Reserved member names are ignored so they cannot be clobbered.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        if !matches!(name, "type" | "title" | "status" | "detail") {
            self.extra.insert(name.to_owned(), value.into());
        }
        self
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            ProblemKind::NotFound,
            format!("{what} {id:?} does not exist"),
        )
    }

    /// A 500 whose detail is safe to show: the cause is logged, not returned.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            ProblemKind::Internal,
            "the storefront failed to handle the request",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), json!(self.kind.type_uri()));
        body.insert("title".into(), json!(self.kind.title()));
        body.insert("status".into(), json!(self.status().as_u16()));
        body.insert("detail".into(), json!(self.detail));
        body.extend(self.extra.clone());
        Value::Object(body)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.slug(),
            self.status(),
            self.detail
        )
    }
}

impl std::error::Error for Problem {}

impl From<rusqlite::Error> for Problem {
    fn from(err: rusqlite::Error) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        json_response(self.status(), &self.body())
    }
}

/// Serializes `body` with the media type that matches the status: problem+json for errors.
/// Shared by fresh responses and idempotent replays so both look byte-for-byte alike.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let content_type = if status.is_client_error() || status.is_server_error() {
        PROBLEM_CONTENT_TYPE
    } else {
        "application/json"
    };
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
