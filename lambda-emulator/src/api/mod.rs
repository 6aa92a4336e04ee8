//! The Lambda API (the subset a Temporal server and the AWS SDKs use against one function):
//! Invoke and GetFunction under `/2015-03-31/functions/...`, plus the emulator's own metrics
//! under `/_emulator/`.
//!
//! SigV4-signed requests are accepted and the signature is **not** checked: the emulator listens
//! on loopback only and any credentials (`test`/`test`) must work, as with LocalStack.

mod errors;
mod get_function;
mod invoke;
mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use errors::ApiError;

use crate::emulator::Shared;
use crate::pool::FunctionPool;
use crate::registry::FunctionRef;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/2015-03-31/functions/{function}/invocations",
            post(invoke::invoke),
        )
        .route(
            "/2015-03-31/functions/{function}",
            get(get_function::get_function),
        )
        .route("/_emulator/metrics", get(metrics::json))
        .route("/_emulator/metrics/prometheus", get(metrics::prometheus))
        .fallback(unknown_operation)
        // A known path with a method it does not take (DeleteFunction, say) is an operation the
        // emulator does not have either: Lambda's error shape, not a bare 405.
        .method_not_allowed_fallback(unknown_operation)
        .with_state(shared)
}

async fn unknown_operation() -> ApiError {
    ApiError::UnknownOperation("Unknown operation".into())
}

/// Resolves the `{function}` path segment (already percent-decoded by axum) and an optional
/// `Qualifier` query parameter to a served function, and the reference with the qualifier the
/// caller gave either way.
fn resolve(
    shared: &Shared,
    function: &str,
    qualifier: Option<&str>,
) -> Result<(Arc<FunctionPool>, FunctionRef), ApiError> {
    let mut reference =
        FunctionRef::parse(function).map_err(|error| ApiError::Validation(error.to_string()))?;
    if let Some(qualifier) = qualifier {
        match &reference.qualifier {
            Some(existing) if existing != qualifier => {
                return Err(ApiError::InvalidParameterValue(
                    "The derived qualifier from the function name does not match the specified qualifier.".into(),
                ));
            }
            _ => reference.qualifier = Some(qualifier.to_owned()),
        }
    }
    match shared.registry.resolve(&reference) {
        Some(pool) => Ok((pool, reference)),
        None => Err(ApiError::ResourceNotFound(
            shared.registry.not_found_arn(&reference),
        )),
    }
}
