//! Payments: charges (subject to the configured decline rules) and one full refund per charge.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::ledger::{self, EffectKind, NewEffect};
use super::new_id;
use crate::config::DeclineRules;
use crate::domain::{AmountMinor, Currency, CustomerId, OrderId};
use crate::idempotency::IdempotencyKey;
use crate::pipeline::Reply;
use crate::problem::{Problem, ProblemKind};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeRequest {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub amount_minor: AmountMinor,
    pub currency: Currency,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Charge {
    pub charge_id: String,
    pub order_id: OrderId,
    pub amount_minor: AmountMinor,
    pub currency: Currency,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub charge_id: String,
    pub refund_id: String,
    pub amount_minor: i64,
}

/// Why a charge is declined, if it is.
pub fn decline_reason(rules: &DeclineRules, request: &ChargeRequest) -> Option<String> {
    let customer = request.customer_id.as_str();
    if rules.customers.iter().any(|declined| declined == customer) {
        return Some(format!("customer {customer} is on the decline list"));
    }
    if !rules.customer_prefix.is_empty() && customer.starts_with(&rules.customer_prefix) {
        return Some(format!(
            "customer IDs starting with {:?} are declined",
            rules.customer_prefix
        ));
    }
    let amount = request.amount_minor.get();
    if amount > rules.max_amount_minor {
        return Some(format!(
            "amount {amount} exceeds the limit of {} minor units",
            rules.max_amount_minor
        ));
    }
    None
}

pub fn charge(
    conn: &Connection,
    rules: &DeclineRules,
    key: &IdempotencyKey,
    request: ChargeRequest,
) -> Result<Reply, Problem> {
    if let Some(reason) = decline_reason(rules, &request) {
        return Err(Problem::new(ProblemKind::CardDeclined, reason));
    }
    let charge_id = new_id("ch");
    conn.execute(
        "INSERT INTO charges (id, order_id, customer_id, amount_minor, currency, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (
            &charge_id,
            request.order_id.as_str(),
            request.customer_id.as_str(),
            request.amount_minor.get(),
            request.currency.as_str(),
            crate::db::now(),
        ),
    )?;
    ledger::record(
        conn,
        key,
        NewEffect {
            amount_minor: Some(request.amount_minor.get()),
            ..NewEffect::new(EffectKind::Charge, request.order_id.as_str(), &charge_id)
        },
    )?;
    Reply::created(Charge {
        charge_id,
        order_id: request.order_id,
        amount_minor: request.amount_minor,
        currency: request.currency,
    })
}

/// Refunds the whole charge once; a second refund returns the first.
pub fn refund(conn: &Connection, key: &IdempotencyKey, charge_id: &str) -> Result<Reply, Problem> {
    let charge: Option<(String, i64)> = conn
        .query_row(
            "SELECT order_id, amount_minor FROM charges WHERE id = ?1",
            [charge_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((order_id, amount_minor)) = charge else {
        return Err(Problem::not_found("charge", charge_id));
    };
    let existing: Option<(String, i64)> = conn
        .query_row(
            "SELECT id, amount_minor FROM refunds WHERE charge_id = ?1",
            [charge_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (refund_id, amount_minor) = match existing {
        Some(existing) => existing,
        None => {
            let refund_id = new_id("rf");
            conn.execute(
                "INSERT INTO refunds (id, charge_id, amount_minor, created_at) VALUES (?1, ?2, ?3, ?4)",
                (&refund_id, charge_id, amount_minor, crate::db::now()),
            )?;
            ledger::record(
                conn,
                key,
                NewEffect {
                    amount_minor: Some(amount_minor),
                    ..NewEffect::new(EffectKind::Refund, &order_id, &refund_id)
                },
            )?;
            (refund_id, amount_minor)
        }
    };
    Reply::ok(Refund {
        charge_id: charge_id.to_owned(),
        refund_id,
        amount_minor,
    })
}
