//! Lambda's API error shapes: the error code in `x-amzn-ErrorType`, and a body of
//! `{"Type": "User" | "Service", "message": ...}` — what the AWS SDKs parse — plus the
//! `x-amzn-RequestId` Lambda puts on every answer (an SDK reports it with the error).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Function not found: {0}")]
    ResourceNotFound(String),
    #[error("Could not parse request body into json: {0}")]
    InvalidRequestContent(String),
    #[error("Request must be smaller than {0} bytes for the InvokeFunction operation")]
    RequestTooLarge(usize),
    /// `reserved`: the function's reserved concurrency was the limit, not the account's.
    #[error("Rate Exceeded.")]
    TooManyRequests { reserved: bool },
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    UnknownOperation(String),
    #[error("{0}")]
    Service(String),
}

impl ApiError {
    fn code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::ResourceNotFound(_) => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            Self::InvalidRequestContent(_) => {
                (StatusCode::BAD_REQUEST, "InvalidRequestContentException")
            }
            Self::RequestTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
            ),
            Self::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException")
            }
            Self::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationException"),
            Self::InvalidParameterValue(_) => {
                (StatusCode::BAD_REQUEST, "InvalidParameterValueException")
            }
            Self::UnknownOperation(_) => (StatusCode::NOT_FOUND, "UnknownOperationException"),
            Self::Service(_) => (StatusCode::INTERNAL_SERVER_ERROR, "ServiceException"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        let kind = if status.is_server_error() {
            "Service"
        } else {
            "User"
        };
        let mut body = json!({ "Type": kind, "message": self.to_string() });
        if let Self::TooManyRequests { reserved } = self {
            // Lambda tells a function's own limit from the account's (the SDKs expose `Reason`).
            let reason = if reserved {
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            } else {
                "ConcurrentInvocationLimitExceeded"
            };
            body["Reason"] = json!(reason);
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        (
            status,
            [
                ("x-amzn-ErrorType", code),
                ("x-amzn-RequestId", request_id.as_str()),
            ],
            Json(body),
        )
            .into_response()
    }
}
