//! What one invocation is made of and what it ends in, shared by every way in (Invoke API, HTTP
//! API, SQS, retries of `Event` invocations), plus the error documents Lambda itself writes when
//! the function cannot answer (timeout, crash, missing binary).

use std::time::Duration;

use axum::body::Bytes;
use serde_json::json;

/// One invocation as handed to an execution environment.
#[derive(Clone, Debug)]
pub struct InvokeInput {
    pub request_id: String,
    /// The event, already validated as JSON.
    pub payload: Bytes,
    /// The ARN the caller used, reported to the function (`Lambda-Runtime-Invoked-Function-Arn`).
    pub invoked_arn: String,
    pub trace_id: String,
}

impl InvokeInput {
    /// A new invocation with a fresh request id and trace id.
    pub fn new(payload: Bytes, invoked_arn: String) -> Self {
        Self {
            request_id: uuid::Uuid::new_v4().to_string(),
            payload,
            invoked_arn,
            trace_id: new_trace_id(),
        }
    }
}

/// How an invocation ended, as Lambda reports it to a synchronous caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvokeOutcome {
    /// The function's response payload.
    Success(Bytes),
    /// An error document (`{"errorType", "errorMessage", ...}`), sent with
    /// `X-Amz-Function-Error: Unhandled`.
    FunctionError(Bytes),
}

impl InvokeOutcome {
    pub fn is_error(&self) -> bool {
        matches!(self, Self::FunctionError(_))
    }

    pub fn payload(&self) -> &Bytes {
        match self {
            Self::Success(body) | Self::FunctionError(body) => body,
        }
    }
}

/// The result of an invocation that ran (see [`crate::RunningEmulator::invoke`]).
#[derive(Clone, Debug)]
pub struct InvokeResult {
    pub request_id: String,
    pub outcome: InvokeOutcome,
}

/// Why an invocation did not run at all.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvokeError {
    /// Every environment the concurrency limit allows is busy.
    #[error("Rate Exceeded.")]
    Throttled,
    /// No such function is served.
    #[error("function not found")]
    UnknownFunction,
    /// The emulator is shutting down.
    #[error("the emulator is shutting down")]
    ShuttingDown,
}

/// The error document Lambda writes when it, not the function, ends an invocation.
pub(crate) fn platform_error(error_type: &str, request_id: &str, detail: &str) -> Bytes {
    let document = json!({ "errorType": error_type, "errorMessage": format!("RequestId: {request_id} Error: {detail}") });
    Bytes::from(document.to_string())
}

pub(crate) fn timeout_error(request_id: &str, timeout: Duration) -> Bytes {
    let detail = format!("Task timed out after {:.2} seconds", timeout.as_secs_f64());
    platform_error("Sandbox.Timedout", request_id, &detail)
}

/// An X-Ray style trace header (`Root=1-<epoch hex>-<96 random bits>`), as Lambda passes in
/// `Lambda-Runtime-Trace-Id`.
pub(crate) fn new_trace_id() -> String {
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{epoch:08x}-{};Sampled=0", &random[..24])
}
