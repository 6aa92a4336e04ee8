//! `GET /catalog`, `POST /inventory/reservations`, `POST /inventory/reservations/{id}/release`.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::extract::{Mutation, NoFields, PathId};
use crate::faults::Service;
use crate::pipeline;
use crate::problem::Problem;
use crate::services::inventory::{self, ReserveRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/catalog", get(catalog))
        .route("/inventory/reservations", post(reserve))
        .route(
            "/inventory/reservations/{reservation_id}/release",
            post(release),
        )
}

async fn catalog(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    let config = state.config.clone();
    let items = state
        .db
        .call(move |conn| inventory::catalog(conn, &config))
        .await??;
    Ok(Json(json!({ "items": items })))
}

async fn reserve(State(state): State<AppState>, request: Mutation<ReserveRequest>) -> Response {
    let config = state.config.clone();
    pipeline::run(
        &state,
        Service::Inventory,
        request,
        move |conn, key, body| inventory::reserve(conn, &config, key, body),
    )
    .await
}

async fn release(
    State(state): State<AppState>,
    PathId(reservation_id): PathId,
    request: Mutation<NoFields>,
) -> Response {
    pipeline::run(
        &state,
        Service::Inventory,
        request,
        move |conn, key, NoFields {}| inventory::release(conn, key, &reservation_id),
    )
    .await
}
