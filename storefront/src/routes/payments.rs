//! `POST /payments/charges`, `POST /payments/charges/{id}/refund`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use crate::AppState;
use crate::extract::{Mutation, NoFields, PathId};
use crate::faults::Service;
use crate::pipeline;
use crate::services::payments::{self, ChargeRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments/charges", post(charge))
        .route("/payments/charges/{charge_id}/refund", post(refund))
}

async fn charge(State(state): State<AppState>, request: Mutation<ChargeRequest>) -> Response {
    let config = state.config.clone();
    pipeline::run(
        &state,
        Service::Payments,
        request,
        move |conn, key, body| payments::charge(conn, &config.declines, key, body),
    )
    .await
}

async fn refund(
    State(state): State<AppState>,
    PathId(charge_id): PathId,
    request: Mutation<NoFields>,
) -> Response {
    pipeline::run(
        &state,
        Service::Payments,
        request,
        move |conn, key, NoFields {}| payments::refund(conn, key, &charge_id),
    )
    .await
}
