//! Notifications: records what would have been sent to the customer (nothing is sent).

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::ledger::{self, EffectKind, NewEffect};
use super::new_id;
use crate::domain::{Email, Line, Message, OrderId};
use crate::idempotency::IdempotencyKey;
use crate::pipeline::Reply;
use crate::problem::Problem;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRequest {
    pub order_id: OrderId,
    pub email: Email,
    pub kind: Line,
    pub message: Message,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub notification_id: String,
}

pub fn send(
    conn: &Connection,
    key: &IdempotencyKey,
    request: NotificationRequest,
) -> Result<Reply, Problem> {
    let notification_id = new_id("ntf");
    conn.execute(
        "INSERT INTO notifications (id, order_id, email, kind, message, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (
            &notification_id,
            request.order_id.as_str(),
            request.email.as_str(),
            request.kind.as_str(),
            request.message.as_str(),
            crate::db::now(),
        ),
    )?;
    ledger::record(
        conn,
        key,
        NewEffect::new(
            EffectKind::Notify,
            request.order_id.as_str(),
            &notification_id,
        ),
    )?;
    Reply::created(Notification { notification_id })
}
