//! HTTP routes: one file per service, each exporting `router()`, merged here with the
//! cross-cutting pieces (problem+json fallbacks, body limit, who may change state
//! ([`crate::guard`]), request logging).

mod admin;
mod inventory;
mod ledger;
mod notifications;
mod payments;
mod shipments;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::routing::get;
use axum::{Json, middleware};
use serde_json::{Value, json};

use crate::AppState;
use crate::extract::BODY_LIMIT_BYTES;
use crate::problem::{Problem, ProblemKind};

/// The complete application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .merge(inventory::router())
        .merge(payments::router())
        .merge(shipments::router())
        .merge(notifications::router())
        .merge(ledger::router())
        .merge(admin::router())
        // Merge point for the storefront web page (see `crate::web`).
        .merge(crate::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::guard::protect,
        ))
        .layer(middleware::from_fn(crate::telemetry::log_request))
        .with_state(state)
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn not_found(uri: Uri) -> Problem {
    Problem::new(
        ProblemKind::NotFound,
        format!("no route for {}", uri.path()),
    )
}

async fn method_not_allowed(uri: Uri) -> Problem {
    Problem::new(
        ProblemKind::MethodNotAllowed,
        format!("{} does not support this method", uri.path()),
    )
}
