//! Admin endpoints for tests and the demo: faults, stock, reset. Not idempotency-keyed: they set
//! state rather than cause effects, so repeating one is harmless.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::domain::Sku;
use crate::extract::{JsonBody, PathId};
use crate::faults::FaultConfig;
use crate::problem::{Problem, ProblemKind};
use crate::services::inventory;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/faults", get(get_faults).put(put_faults))
        .route("/admin/stock/{sku}", put(set_stock))
        .route("/admin/reset", post(reset))
}

async fn get_faults(State(state): State<AppState>) -> Json<FaultConfig> {
    Json(state.faults.get())
}

async fn put_faults(
    State(state): State<AppState>,
    JsonBody(config): JsonBody<FaultConfig>,
) -> Result<Json<FaultConfig>, Problem> {
    config
        .validate()
        .map_err(|detail| Problem::new(ProblemKind::InvalidRequest, detail))?;
    tracing::info!(?config, "fault configuration changed");
    state.faults.set(config);
    Ok(Json(state.faults.get()))
}

#[derive(Debug, Deserialize)]
struct SetStock {
    available: u32,
}

#[derive(Debug, Serialize)]
struct StockLevel {
    sku: Sku,
    available: u32,
}

async fn set_stock(
    State(state): State<AppState>,
    PathId(sku): PathId,
    JsonBody(SetStock { available }): JsonBody<SetStock>,
) -> Result<Json<StockLevel>, Problem> {
    let sku =
        Sku::try_from(sku).map_err(|detail| Problem::new(ProblemKind::InvalidRequest, detail))?;
    let config = state.config.clone();
    let stored_sku = sku.clone();
    state
        .db
        .call(move |conn| inventory::set_stock(conn, &config, &stored_sku, available))
        .await??;
    Ok(Json(StockLevel { sku, available }))
}

/// Deletes all orders, effects and idempotency records, restores initial stock and the startup
/// fault configuration.
async fn reset(State(state): State<AppState>) -> Result<StatusCode, Problem> {
    state.db.reset(state.config.catalog.clone()).await?;
    state.faults.set(state.config.faults.clone());
    tracing::warn!("storefront reset: orders, effects and idempotency records deleted");
    Ok(StatusCode::NO_CONTENT)
}
