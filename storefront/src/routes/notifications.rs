//! `POST /notifications`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use crate::AppState;
use crate::extract::Mutation;
use crate::faults::Service;
use crate::pipeline;
use crate::services::notifications::{self, NotificationRequest};

pub fn router() -> Router<AppState> {
    Router::new().route("/notifications", post(send))
}

async fn send(State(state): State<AppState>, request: Mutation<NotificationRequest>) -> Response {
    pipeline::run(&state, Service::Notifications, request, notifications::send).await
}
