//! `POST /shipments`, `POST /shipments/{id}/cancel`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use crate::AppState;
use crate::extract::{Mutation, NoFields, PathId};
use crate::faults::Service;
use crate::pipeline;
use crate::services::shipments::{self, ShipmentRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shipments", post(create))
        .route("/shipments/{shipment_id}/cancel", post(cancel))
}

async fn create(State(state): State<AppState>, request: Mutation<ShipmentRequest>) -> Response {
    let config = state.config.clone();
    pipeline::run(
        &state,
        Service::Shipments,
        request,
        move |conn, key, body| shipments::create(conn, &config, key, body),
    )
    .await
}

async fn cancel(
    State(state): State<AppState>,
    PathId(shipment_id): PathId,
    request: Mutation<NoFields>,
) -> Response {
    pipeline::run(
        &state,
        Service::Shipments,
        request,
        move |conn, key, NoFields {}| shipments::cancel(conn, key, &shipment_id),
    )
    .await
}
