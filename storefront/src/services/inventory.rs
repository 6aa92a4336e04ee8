//! Inventory: stock per SKU, reservations (all lines or none) and their release.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::ledger::{self, EffectKind, NewEffect};
use super::new_id;
use crate::config::Config;
use crate::domain::{LineItem, LineItems, OrderId, Sku};
use crate::idempotency::IdempotencyKey;
use crate::pipeline::Reply;
use crate::problem::{Problem, ProblemKind};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveRequest {
    pub order_id: OrderId,
    pub items: LineItems,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub reservation_id: String,
    pub order_id: OrderId,
    pub items: LineItems,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Released {
    pub reservation_id: String,
    pub released: bool,
}

/// One entry of `GET /catalog`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    pub sku: Sku,
    pub name: String,
    pub unit_price_minor: i64,
    pub currency: String,
    pub available: i64,
}

/// 422 `unknown-sku` unless every line names a catalog SKU. Shared with shipments.
pub fn require_known_skus(config: &Config, items: &LineItems) -> Result<(), Problem> {
    match items
        .iter()
        .find(|item| config.catalog_item(&item.sku).is_none())
    {
        Some(item) => Err(Problem::new(
            ProblemKind::UnknownSku,
            format!("SKU {} is not in the catalog", item.sku),
        )
        .with("sku", item.sku.as_str())),
        None => Ok(()),
    }
}

pub fn reserve(
    conn: &Connection,
    config: &Config,
    key: &IdempotencyKey,
    request: ReserveRequest,
) -> Result<Reply, Problem> {
    require_known_skus(config, &request.items)?;
    let reservation_id = new_id("rsv");
    conn.execute(
        "INSERT INTO reservations (id, order_id, created_at) VALUES (?1, ?2, ?3)",
        (&reservation_id, request.order_id.as_str(), crate::db::now()),
    )?;
    for LineItem { sku, quantity } in request.items.iter() {
        // The guard in WHERE makes check-and-decrement one statement; a line that cannot be
        // covered aborts the whole reservation (the pipeline rolls back earlier lines).
        let taken = conn.execute(
            "UPDATE stock SET available = available - ?2 WHERE sku = ?1 AND available >= ?2",
            (sku.as_str(), quantity.get()),
        )?;
        if taken == 0 {
            let available = available(conn, sku)?;
            return Err(Problem::new(
                ProblemKind::OutOfStock,
                format!(
                    "SKU {sku}: requested {}, only {available} available",
                    quantity.get()
                ),
            )
            .with("sku", sku.as_str())
            .with("requested", quantity.get())
            .with("available", available));
        }
        conn.execute(
            "INSERT INTO reservation_items (reservation_id, sku, quantity) VALUES (?1, ?2, ?3)",
            (&reservation_id, sku.as_str(), quantity.get()),
        )?;
        ledger::record(
            conn,
            key,
            NewEffect {
                sku: Some(sku.as_str()),
                quantity: Some(quantity.get()),
                ..NewEffect::new(
                    EffectKind::Reserve,
                    request.order_id.as_str(),
                    &reservation_id,
                )
            },
        )?;
    }
    Reply::created(Reservation {
        reservation_id,
        order_id: request.order_id,
        items: request.items,
    })
}

/// Returns a reservation's stock once; releasing again answers the same without moving stock.
pub fn release(
    conn: &Connection,
    key: &IdempotencyKey,
    reservation_id: &str,
) -> Result<Reply, Problem> {
    let reservation: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT order_id, released_at FROM reservations WHERE id = ?1",
            [reservation_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((order_id, released_at)) = reservation else {
        return Err(Problem::not_found("reservation", reservation_id));
    };
    if released_at.is_none() {
        conn.execute(
            "UPDATE reservations SET released_at = ?2 WHERE id = ?1",
            (reservation_id, crate::db::now()),
        )?;
        let mut lines = conn.prepare(
            "SELECT sku, quantity FROM reservation_items WHERE reservation_id = ?1 ORDER BY sku",
        )?;
        let lines: Vec<(String, u32)> = lines
            .query_map([reservation_id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (sku, quantity) in &lines {
            conn.execute(
                "UPDATE stock SET available = available + ?2 WHERE sku = ?1",
                (sku, quantity),
            )?;
            ledger::record(
                conn,
                key,
                NewEffect {
                    sku: Some(sku),
                    quantity: Some(*quantity),
                    ..NewEffect::new(EffectKind::Release, &order_id, reservation_id)
                },
            )?;
        }
    }
    Reply::ok(Released {
        reservation_id: reservation_id.to_owned(),
        released: true,
    })
}

fn available(conn: &Connection, sku: &Sku) -> Result<i64, Problem> {
    let available = conn
        .query_row(
            "SELECT available FROM stock WHERE sku = ?1",
            [sku.as_str()],
            |row| row.get(0),
        )
        .optional()?;
    Ok(available.unwrap_or(0))
}

/// The catalog with current stock, in catalog order.
pub fn catalog(conn: &Connection, config: &Config) -> Result<Vec<CatalogEntry>, Problem> {
    config
        .catalog
        .iter()
        .map(|item| {
            Ok(CatalogEntry {
                sku: item.sku.clone(),
                name: item.name.clone(),
                unit_price_minor: item.unit_price_minor.get(),
                currency: item.currency.to_string(),
                available: available(conn, &item.sku)?,
            })
        })
        .collect()
}

/// Sets a SKU's stock (admin/demo). Not an effect: it writes no ledger row.
pub fn set_stock(
    conn: &Connection,
    config: &Config,
    sku: &Sku,
    available: u32,
) -> Result<(), Problem> {
    if config.catalog_item(sku).is_none() {
        return Err(Problem::not_found("SKU", sku.as_str()));
    }
    conn.execute(
        "INSERT INTO stock (sku, available) VALUES (?1, ?2) ON CONFLICT (sku) DO UPDATE SET available = excluded.available",
        (sku.as_str(), available),
    )?;
    Ok(())
}
