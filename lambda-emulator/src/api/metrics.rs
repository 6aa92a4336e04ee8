//! `GET /_emulator/metrics` (JSON, with the per-second series) and
//! `GET /_emulator/metrics/prometheus` (Prometheus text).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::emulator::Shared;
use crate::metrics::prometheus_text;

pub(super) async fn json(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let functions: serde_json::Map<String, Value> = shared
        .registry
        .all()
        .iter()
        .map(|pool| {
            let metrics = pool.metrics();
            let entry = json!({ "stats": metrics.stats(), "series": metrics.series() });
            (pool.config().name.clone(), entry)
        })
        .collect();
    Json(json!({ "functions": functions, "api_calls": shared.api_calls.all() }))
}

pub(super) async fn prometheus(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let stats: Vec<_> = shared
        .registry
        .all()
        .iter()
        .map(|p| (p.config().name.clone(), p.metrics().stats()))
        .collect();
    (
        [("content-type", "text/plain; version=0.0.4")],
        prometheus_text(&stats),
    )
}
