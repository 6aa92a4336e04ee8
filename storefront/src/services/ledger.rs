//! The effect ledger: one row per real effect, so tests can check "exactly once" and "stock
//! conserved" from outside.
//!
//! Rows are written in the same transaction as the effect they describe, so a replayed or
//! rolled-back request can never leave a row behind. A reservation or release writes one row per
//! SKU line (with `sku` and `quantity`), so stock movements can be summed per SKU.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;

use crate::idempotency::IdempotencyKey;
use crate::problem::Problem;

/// The kinds of effect (the shop's wire contract: one spelling, shared with every reader).
pub use shared::shop_api::EffectKind;

/// An effect about to be recorded.
#[derive(Debug, Clone, Copy)]
pub struct NewEffect<'a> {
    pub kind: EffectKind,
    pub order_id: &'a str,
    /// The resource the effect belongs to (reservation, charge, shipment, … ID).
    pub reference: &'a str,
    pub amount_minor: Option<i64>,
    pub sku: Option<&'a str>,
    pub quantity: Option<u32>,
}

impl<'a> NewEffect<'a> {
    pub fn new(kind: EffectKind, order_id: &'a str, reference: &'a str) -> Self {
        Self {
            kind,
            order_id,
            reference,
            amount_minor: None,
            sku: None,
            quantity: None,
        }
    }
}

pub fn record(
    conn: &Connection,
    key: &IdempotencyKey,
    effect: NewEffect<'_>,
) -> Result<(), Problem> {
    conn.execute(
        "INSERT INTO effects (kind, order_id, reference, idempotency_key, amount_minor, sku, quantity, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        (
            effect.kind.as_str(),
            effect.order_id,
            effect.reference,
            key.as_str(),
            effect.amount_minor,
            effect.sku,
            effect.quantity,
            crate::db::now(),
        ),
    )?;
    Ok(())
}

/// One ledger row as `GET /ledger` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectRow {
    pub seq: i64,
    pub kind: EffectKind,
    pub order_id: String,
    pub reference: String,
    pub idempotency_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    pub at: String,
}

/// The `GET /ledger` body: effects in commit order, and current stock of every SKU.
#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    pub effects: Vec<EffectRow>,
    pub stock: BTreeMap<String, i64>,
}

pub fn read(conn: &Connection, order_id: Option<&str>) -> Result<Ledger, Problem> {
    let mut query = conn.prepare(
        "SELECT seq, kind, order_id, reference, idempotency_key, amount_minor, sku, quantity, at
         FROM effects WHERE ?1 IS NULL OR order_id = ?1 ORDER BY seq",
    )?;
    let effects = query
        .query_map([order_id], |row| {
            let kind: String = row.get(1)?;
            Ok(EffectRow {
                seq: row.get(0)?,
                kind: EffectKind::parse(&kind).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        1,
                        rusqlite::types::Type::Text,
                        kind.into(),
                    )
                })?,
                order_id: row.get(2)?,
                reference: row.get(3)?,
                idempotency_key: row.get(4)?,
                amount_minor: row.get(5)?,
                sku: row.get(6)?,
                quantity: row.get(7)?,
                at: row.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Ledger {
        effects,
        stock: stock(conn)?,
    })
}

pub fn stock(conn: &Connection) -> Result<BTreeMap<String, i64>, Problem> {
    let mut query = conn.prepare("SELECT sku, available FROM stock ORDER BY sku")?;
    let stock = query
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(stock)
}
