//! The page's order endpoints: `POST /shop/orders` places an order (built here, forwarded to the
//! ingest API) and `GET /shop/orders/{orderId}/status` says where it is.
//!
//! The browser sends only what a shopper chooses — customer, SKUs and quantities, address. This
//! server adds what must not come from a browser: a fresh order ID, the time, and the prices
//! (from the catalog). The result is checked with the same parser ingest-fn uses
//! (`shared::parse_order`) before anything leaves, so bad input is answered here with the
//! fields that are wrong, and the ingest API only ever sees orders that parse.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::order_view;
use crate::AppState;
use crate::extract::JsonBody;
use crate::problem::{Problem, ProblemKind, json_response};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shop/orders", post(place_order))
        .route("/shop/orders/{order_id}/status", get(order_status))
}

/// What the page sends. Unknown fields are refused: an order is money, and a `unitPriceMinor`
/// smuggled in here must not look accepted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceOrder {
    pub customer: CustomerInput,
    pub items: Vec<ItemInput>,
    pub shipping_address: AddressInput,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    pub id: String,
    pub email: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressInput {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

/// The order JSON for ingest: the shopper's choices plus a fresh ID, the time and catalog prices.
/// Fails on SKUs the catalog does not have and on carts that mix currencies.
pub fn build_order(state: &AppState, input: PlaceOrder) -> Result<(String, Value), Problem> {
    if input.items.is_empty() {
        return Err(
            Problem::new(ProblemKind::InvalidRequest, "the cart is empty").with("field", "items"),
        );
    }
    let mut currency: Option<&str> = None;
    let mut items = Vec::with_capacity(input.items.len());
    for (i, item) in input.items.iter().enumerate() {
        let entry = state
            .config
            .catalog
            .iter()
            .find(|c| c.sku.as_str() == item.sku)
            .ok_or_else(|| {
                Problem::new(
                    ProblemKind::UnknownSku,
                    format!("{:?} is not in the catalog", item.sku),
                )
                .with("sku", item.sku.clone())
                .with("field", format!("items[{i}].sku"))
            })?;
        match currency {
            Some(c) if c != entry.currency.as_str() => {
                return Err(Problem::new(
                    ProblemKind::InvalidRequest,
                    "one order cannot mix currencies",
                )
                .with("field", format!("items[{i}].sku")));
            }
            _ => currency = Some(entry.currency.as_str()),
        }
        items.push(json!({ "sku": item.sku, "quantity": item.quantity, "unitPriceMinor": entry.unit_price_minor.get() }));
    }
    let order_id = format!("web-{}", ulid::Ulid::new().to_string().to_lowercase());
    let address = &input.shipping_address;
    let mut shipping_address = json!({
        "name": address.name, "line1": address.line1, "city": address.city,
        "postalCode": address.postal_code, "country": address.country,
    });
    // An empty second line is "no second line", not a blank one (which the order rules refuse).
    if let Some(line2) = address.line2.as_deref().filter(|l| !l.trim().is_empty()) {
        shipping_address["line2"] = json!(line2);
    }
    let order = json!({
        "orderId": order_id,
        "customer": { "id": input.customer.id, "email": input.customer.email },
        "items": items,
        "currency": currency,
        "shippingAddress": shipping_address,
        "placedAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    Ok((order_id, order))
}

/// Checks the order with ingest-fn's own parser; every broken rule is listed in `errors`.
fn check_order(order: &Value) -> Result<Vec<u8>, Problem> {
    let bytes = serde_json::to_vec(order).map_err(Problem::internal)?;
    match shared::parse_order(&bytes) {
        Ok(_) => Ok(bytes),
        Err(shared::OrderRejection::Malformed { path, message }) => {
            Err(Problem::new(ProblemKind::InvalidRequest, message).with("field", path))
        }
        Err(shared::OrderRejection::Invalid(errors)) => {
            let detail = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let field = errors.first().map(|e| e.field.clone()).unwrap_or_default();
            Err(Problem::new(ProblemKind::InvalidRequest, detail)
                .with("field", field)
                .with("errors", json!(errors)))
        }
    }
}

async fn place_order(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<PlaceOrder>,
) -> Result<Response, Problem> {
    let (order_id, order) = build_order(&state, input)?;
    let bytes = check_order(&order)?;
    let answer = state.web.ingest.forward(bytes).await?;
    if answer.status.is_success() {
        let mut body = json!({
            "orderId": order_id,
            "workflowId": answer.body["workflowId"],
            "runId": answer.body["runId"],
            "duplicate": answer.body["duplicate"],
            "statusUrl": format!("/shop/orders/{order_id}/status"),
        });
        if let Some(link) = order_view::ui_link(
            &state.web.settings,
            &shared::workflow_id(&parse_order_id(&order_id)?),
        ) {
            body["temporalUiUrl"] = json!(link);
        }
        tracing::info!(%order_id, "order placed through the ingest API");
        return Ok(json_response(StatusCode::ACCEPTED, &body));
    }
    tracing::warn!(%order_id, status = %answer.status, body = %answer.body, "the ingest API refused an order");
    if matches!(
        answer.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        // Our signature was refused: a configuration mistake on this server, not the shopper's.
        let why = answer.body["detail"]
            .as_str()
            .unwrap_or("no reason given")
            .to_owned();
        return Err(Problem::new(
            ProblemKind::UpstreamUnavailable,
            format!(
                "the ingest API refused the storefront's signature ({why}); check SHOPFLOW_INGEST_SECRET"
            ),
        ));
    }
    // Anything else (invalid order, conflict, Temporal down behind ingest) is passed on as is,
    // marked as coming from ingest, so the page can show the real reason.
    let mut body = answer.body;
    if let Some(object) = body.as_object_mut() {
        object.insert("upstream".into(), json!("ingest"));
        object.insert("orderId".into(), json!(order_id));
    }
    Ok(json_response(answer.status, &body).into_response())
}

fn parse_order_id(raw: &str) -> Result<shared::domain::OrderId, Problem> {
    shared::domain::OrderId::parse(raw).map_err(|e| {
        Problem::new(
            ProblemKind::InvalidRequest,
            format!("order ID {raw:?}: {e}"),
        )
        .with("field", "orderId")
    })
}

async fn order_status(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let order_id = parse_order_id(&order_id)?;
    let view = order_view::one(&state.web, &shared::workflow_id(&order_id)).await?;
    Ok(Json(serde_json::to_value(view).map_err(Problem::internal)?))
}
