//! Shipments: creation (only to deliverable addresses) and cancellation.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::inventory::require_known_skus;
use super::ledger::{self, EffectKind, NewEffect};
use super::new_id;
use crate::config::{Config, ShippingRules};
use crate::domain::{CountryCode, Line, LineItems, OrderId, PostalCode};
use crate::idempotency::IdempotencyKey;
use crate::pipeline::Reply;
use crate::problem::{Problem, ProblemKind};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub line1: Line,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<Line>,
    pub city: Line,
    pub postal_code: PostalCode,
    pub country: CountryCode,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentRequest {
    pub order_id: OrderId,
    pub address: Address,
    pub items: LineItems,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipment {
    pub shipment_id: String,
    pub order_id: OrderId,
    pub tracking_number: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancelled {
    pub shipment_id: String,
    pub cancelled: bool,
}

/// Why an address cannot be delivered to, if it cannot.
pub fn undeliverable_reason(rules: &ShippingRules, address: &Address) -> Option<String> {
    if !rules.countries.contains(&address.country) {
        return Some(format!("we do not ship to country {}", address.country));
    }
    let postal_code = address.postal_code.as_str().trim();
    if rules
        .undeliverable_postal_codes
        .iter()
        .any(|code| code == postal_code)
    {
        return Some(format!("postal code {postal_code} is not deliverable"));
    }
    None
}

pub fn create(
    conn: &Connection,
    config: &Config,
    key: &IdempotencyKey,
    request: ShipmentRequest,
) -> Result<Reply, Problem> {
    if let Some(reason) = undeliverable_reason(&config.shipping, &request.address) {
        return Err(Problem::new(ProblemKind::UndeliverableAddress, reason)
            .with("country", request.address.country.as_str())
            .with("postalCode", request.address.postal_code.as_str()));
    }
    require_known_skus(config, &request.items)?;
    let shipment_id = new_id("shp");
    // The ULID's random tail: unique enough for a demo carrier, and looks like a tracking code.
    let tracking_number = format!("SF{}", &ulid::Ulid::new().to_string()[10..]);
    let stored_request = serde_json::to_string(&request).map_err(Problem::internal)?;
    conn.execute(
        "INSERT INTO shipments (id, order_id, tracking_number, request, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        (&shipment_id, request.order_id.as_str(), &tracking_number, stored_request, crate::db::now()),
    )?;
    ledger::record(
        conn,
        key,
        NewEffect::new(EffectKind::Ship, request.order_id.as_str(), &shipment_id),
    )?;
    Reply::created(Shipment {
        shipment_id,
        order_id: request.order_id,
        tracking_number,
    })
}

/// Cancels once; cancelling again answers the same without a second effect.
pub fn cancel(
    conn: &Connection,
    key: &IdempotencyKey,
    shipment_id: &str,
) -> Result<Reply, Problem> {
    let shipment: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT order_id, cancelled_at FROM shipments WHERE id = ?1",
            [shipment_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((order_id, cancelled_at)) = shipment else {
        return Err(Problem::not_found("shipment", shipment_id));
    };
    if cancelled_at.is_none() {
        conn.execute(
            "UPDATE shipments SET cancelled_at = ?2 WHERE id = ?1",
            (shipment_id, crate::db::now()),
        )?;
        ledger::record(
            conn,
            key,
            NewEffect::new(EffectKind::CancelShipment, &order_id, shipment_id),
        )?;
    }
    Reply::ok(Cancelled {
        shipment_id: shipment_id.to_owned(),
        cancelled: true,
    })
}
