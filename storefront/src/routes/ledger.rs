//! `GET /ledger[?orderId=…]`: every real effect and current stock, for tests and the demo.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::AppState;
use crate::extract::QueryParams;
use crate::problem::Problem;
use crate::services::ledger::{self, Ledger};

pub fn router() -> Router<AppState> {
    Router::new().route("/ledger", get(read))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LedgerQuery {
    order_id: Option<String>,
}

async fn read(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<LedgerQuery>,
) -> Result<Json<Ledger>, Problem> {
    let ledger = state
        .db
        .call(move |conn| ledger::read(conn, query.order_id.as_deref()))
        .await??;
    Ok(Json(ledger))
}
