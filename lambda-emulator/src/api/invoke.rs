//! Invoke: `POST /2015-03-31/functions/{function}/invocations`.
//!
//! - `X-Amz-Invocation-Type: RequestResponse` (default): runs the function and answers 200 with
//!   its payload, or with its error document and `X-Amz-Function-Error: Unhandled`; 429 when the
//!   function is at its concurrency limit.
//! - `Event`: validates, answers 202 at once and runs the invocation in the background with
//!   Lambda's retries (see `async_queue`).
//! - `DryRun`: validates and answers 204.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiError, resolve};
use crate::async_queue;
use crate::config::{EVENT_PAYLOAD_LIMIT, SYNC_PAYLOAD_LIMIT};
use crate::emulator::Shared;
use crate::invoke::{InvokeError, InvokeInput, InvokeOutcome};

#[derive(Deserialize)]
pub(super) struct Params {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

impl InvocationType {
    fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let Some(value) = headers.get("x-amz-invocation-type") else {
            return Ok(Self::RequestResponse);
        };
        match value.to_str().unwrap_or_default() {
            "RequestResponse" => Ok(Self::RequestResponse),
            "Event" => Ok(Self::Event),
            "DryRun" => Ok(Self::DryRun),
            other => Err(ApiError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            ))),
        }
    }

    /// The name [`crate::metrics::ApiCalls`] counts this invocation type under.
    fn operation(self) -> &'static str {
        match self {
            Self::RequestResponse => "Invoke:RequestResponse",
            Self::Event => "Invoke:Event",
            Self::DryRun => "Invoke:DryRun",
        }
    }

    fn payload_limit(self) -> usize {
        if self == Self::Event {
            EVENT_PAYLOAD_LIMIT
        } else {
            SYNC_PAYLOAD_LIMIT
        }
    }
}

pub(super) async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(function): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    shared.api_calls.record("Invoke");
    let invocation_type = InvocationType::from_headers(&headers)?;
    shared.api_calls.record(invocation_type.operation());
    let (pool, reference) = resolve(&shared, &function, params.qualifier.as_deref())?;
    let payload = read_payload(body, invocation_type.payload_limit()).await?;
    let input = InvokeInput::new(payload, shared.registry.invoked_arn(&reference));
    let request_id = input.request_id.clone();
    match invocation_type {
        InvocationType::DryRun => Ok(answer(StatusCode::NO_CONTENT, &request_id, Body::empty())),
        InvocationType::Event => {
            async_queue::enqueue(pool, shared.config.clone(), input);
            Ok(answer(StatusCode::ACCEPTED, &request_id, Body::empty()))
        }
        InvocationType::RequestResponse => {
            let result = pool.invoke(input).await.map_err(|error| match error {
                InvokeError::Throttled => ApiError::TooManyRequests {
                    reserved: pool.config().reserved_concurrency.is_some(),
                },
                InvokeError::ShuttingDown | InvokeError::UnknownFunction => {
                    ApiError::Service(error.to_string())
                }
            })?;
            let is_error = result.outcome.is_error();
            let (InvokeOutcome::Success(body) | InvokeOutcome::FunctionError(body)) =
                result.outcome;
            let mut response = answer(StatusCode::OK, &request_id, Body::from(body));
            response.headers_mut().insert(
                "content-type",
                "application/json".parse().expect("static header"),
            );
            if is_error {
                response.headers_mut().insert(
                    "x-amz-function-error",
                    "Unhandled".parse().expect("static header"),
                );
            }
            Ok(response)
        }
    }
}

/// Reads the payload within Lambda's limit and checks it is JSON. An empty payload is the
/// empty object, as with Lambda.
async fn read_payload(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::RequestTooLarge(limit))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::from_static(b"{}"));
    }
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return Err(ApiError::InvalidRequestContent(format!(
            "Could not parse payload into json: {error}"
        )));
    }
    Ok(bytes)
}

fn answer(status: StatusCode, request_id: &str, body: Body) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "x-amz-executed-version",
        "$LATEST".parse().expect("static header"),
    );
    if let Ok(value) = request_id.parse() {
        headers.insert("x-amzn-requestid", value);
    }
    response
}
