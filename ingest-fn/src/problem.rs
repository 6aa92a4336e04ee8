//! RFC 9457 "problem details" answers of `POST /orders`: every non-2xx response is one of these,
//! as `application/problem+json`, in an `http::Response` (`lambda_http` turns it into the HTTP
//! API's payload 2.0 response).
//!
//! A closed set of [`ProblemKind`]s keeps handlers from inventing ad-hoc error shapes, and
//! clients (and tests) can match on the `type` URI. The same URIs as the storefront's problems
//! are used (`https://shopflow.dev/problems/<slug>`), so one client library understands both.

use lambda_http::http::{HeaderMap, HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Map, Value, json};
use shared::domain::FieldError;

/// Prefix of every problem `type` URI.
pub const PROBLEM_BASE: &str = "https://shopflow.dev/problems/";

/// Media type of problem bodies (RFC 9457 §3).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Everything `POST /orders` can refuse with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Not JSON, or JSON of the wrong shape (wrong type, missing or unknown field).
    MalformedJson,
    /// Well-formed JSON that breaks the order's rules.
    InvalidOrder,
    /// Missing, malformed, wrong or stale signature.
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    /// The order ID exists already with a different payload.
    OrderConflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Temporal could not be reached; nothing was started, retry later.
    Unavailable,
}

impl ProblemKind {
    pub fn slug(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed-json",
            Self::InvalidOrder => "invalid-order",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::OrderConflict => "order-conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Unavailable => "temporarily-unavailable",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::MalformedJson | Self::InvalidOrder => 400,
            Self::Unauthorized => 401,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::OrderConflict => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Unavailable => 503,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedJson => "The request body is not a well-formed order",
            Self::InvalidOrder => "The order breaks one or more rules",
            Self::Unauthorized => "The request is not signed correctly",
            Self::NotFound => "No such resource",
            Self::MethodNotAllowed => "Method not allowed on this resource",
            Self::OrderConflict => "An order with this ID exists with different contents",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "The request body must be application/json",
            Self::Unavailable => "Orders cannot be accepted right now; retry later",
        }
    }

    /// The full `type` URI.
    pub fn type_uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }
}

/// One problem answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub detail: String,
    /// Field errors (`errors: [{field, rule, message}]`), for the 400s.
    pub errors: Vec<FieldError>,
    /// Extension members (e.g. `workflowId`, `ingestId`).
    pub extensions: Map<String, Value>,
    /// Seconds for a `Retry-After` header (503).
    pub retry_after: Option<u64>,
    /// Methods for an `Allow` header (405).
    pub allow: Option<&'static str>,
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            extensions: Map::new(),
            retry_after: None,
            allow: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn allow(mut self, methods: &'static str) -> Self {
        self.allow = Some(methods);
        self
    }

    /// The JSON body (RFC 9457 members first, then extensions; `errors` only when there are some).
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), self.kind.type_uri().into());
        body.insert("title".into(), self.kind.title().into());
        body.insert("status".into(), self.kind.status().into());
        body.insert("detail".into(), self.detail.clone().into());
        if !self.errors.is_empty() {
            body.insert("errors".into(), json!(self.errors));
        }
        for (key, value) in &self.extensions {
            body.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Value::Object(body)
    }

    /// The HTTP response.
    pub fn into_response(self) -> Response<Body> {
        let mut headers = HeaderMap::new();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.kind == ProblemKind::Unauthorized {
            // A 401 must name the scheme it wants (RFC 9110 §15.5.2).
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"ShopFlow-Signature version="v1""#),
            );
        }
        if let Some(methods) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(methods));
        }
        json_response(
            self.kind.status(),
            PROBLEM_CONTENT_TYPE,
            &self.body(),
            headers,
        )
    }
}

/// A JSON response with `status`, `content_type` and extra `headers`.
pub fn json_response(
    status: u16,
    content_type: &'static str,
    body: &Value,
    mut headers: HeaderMap,
) -> Response<Body> {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let mut response = Response::new(Body::Text(body.to_string()));
    // Every status used here is a constant of `ProblemKind` or the handler (2xx-5xx).
    *response.status_mut() = StatusCode::from_u16(status).expect("a valid HTTP status");
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_rfc_9457_with_field_errors_and_extensions() {
        let error = FieldError {
            field: "currency".into(),
            rule: "iso4217".into(),
            message: "bad".into(),
        };
        let problem = Problem::new(ProblemKind::InvalidOrder, "1 field is invalid")
            .with_errors(vec![error])
            .with("ingestId", "01J");
        let body = problem.body();
        assert_eq!(body["type"], "https://shopflow.dev/problems/invalid-order");
        assert_eq!(body["status"], 400);
        assert_eq!(body["errors"][0]["field"], "currency");
        assert_eq!(body["errors"][0]["rule"], "iso4217");
        assert_eq!(body["ingestId"], "01J");
        let response = problem.into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
    }

    #[test]
    fn unavailable_carries_retry_after_and_extensions_cannot_override_members() {
        let response = Problem::new(ProblemKind::Unavailable, "down")
            .retry_after(5)
            .with("status", 200)
            .into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let Body::Text(text) = response.into_body() else {
            panic!("text body")
        };
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["status"], 503);
    }
}
