//! `OrderWorkflow`'s activities: each one is one call to the shop's services.
//!
//! Every input carries the idempotency key the workflow derived for that effect, and every call
//! heartbeats while it waits, so a worker that dies mid-call is noticed within the heartbeat
//! timeout (seconds) and the activity retried elsewhere — with the same key, so the shop does the
//! effect once. Business refusals become non-retryable failures whose type is the shop's problem
//! code (`out-of-stock`, `card-declined`, `undeliverable-address`); the workflow compensates on
//! those. Everything else is retried by the activity retry policy.

pub mod shop_client;

use std::{future::Future, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};

use crate::domain::Address;
pub use shop_client::{ShopClient, ShopError};

/// How often a waiting activity heartbeats when its attempt has no heartbeat timeout. With one
/// (the workflow's activity options always set it) it beats every quarter of the timeout, so one
/// slow beat is not a false alarm.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(250);

/// A quarter of the attempt's heartbeat timeout, else [`HEARTBEAT_INTERVAL`].
fn heartbeat_interval(ctx: &ActivityContext) -> Duration {
    ctx.info()
        .heartbeat_timeout
        .filter(|t| !t.is_zero())
        .map_or(HEARTBEAT_INTERVAL, |t| t / 4)
}

/// Failure type of a transient shop error (retried).
pub const TRANSIENT_FAILURE: &str = "shop-unavailable";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemQuantity {
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveInventory {
    pub idempotency_key: String,
    pub order_id: String,
    pub items: Vec<ItemQuantity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub reservation_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeCustomer {
    pub idempotency_key: String,
    pub order_id: String,
    pub customer_id: String,
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Charge {
    pub charge_id: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateShipment {
    pub idempotency_key: String,
    pub order_id: String,
    pub address: Address,
    pub items: Vec<ItemQuantity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipment {
    pub shipment_id: String,
    pub tracking_number: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyCustomer {
    pub idempotency_key: String,
    pub order_id: String,
    pub email: String,
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub notification_id: String,
}

/// Undo one effect, addressed by what the forward step returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Undo {
    pub idempotency_key: String,
    /// Reservation, charge or shipment ID.
    pub reference: String,
}

/// The shop's services, as activities. Cheap to clone; one instance serves every task.
pub struct ShopActivities {
    shop: ShopClient,
}

impl ShopActivities {
    pub fn new(shop: ShopClient) -> Self {
        Self { shop }
    }

    async fn call<B: Serialize + Sync, R: serde::de::DeserializeOwned>(
        &self,
        ctx: &ActivityContext,
        path: &str,
        key: &str,
        body: &B,
    ) -> Result<R, ActivityError> {
        heartbeating(ctx, self.shop.post(path, key, body))
            .await?
            .map_err(into_activity_error)
    }
}

#[activities]
impl ShopActivities {
    #[activity(name = "ReserveInventory")]
    pub async fn reserve_inventory(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: ReserveInventory,
    ) -> Result<Reservation, ActivityError> {
        let body = serde_json::json!({ "orderId": input.order_id, "items": input.items });
        self.call(
            &ctx,
            "inventory/reservations",
            &input.idempotency_key,
            &body,
        )
        .await
    }

    #[activity(name = "ChargeCustomer")]
    pub async fn charge_customer(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: ChargeCustomer,
    ) -> Result<Charge, ActivityError> {
        let body = serde_json::json!({
            "orderId": input.order_id,
            "customerId": input.customer_id,
            "amountMinor": input.amount_minor,
            "currency": input.currency,
        });
        self.call(&ctx, "payments/charges", &input.idempotency_key, &body)
            .await
    }

    #[activity(name = "CreateShipment")]
    pub async fn create_shipment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: CreateShipment,
    ) -> Result<Shipment, ActivityError> {
        let a = &input.address;
        let body = serde_json::json!({
            "orderId": input.order_id,
            "address": {
                "name": a.name,
                "line1": a.line1,
                "line2": a.line2,
                "city": a.city,
                "postalCode": a.postal_code,
                "country": a.country,
            },
            "items": input.items,
        });
        self.call(&ctx, "shipments", &input.idempotency_key, &body)
            .await
    }

    #[activity(name = "NotifyCustomer")]
    pub async fn notify_customer(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: NotifyCustomer,
    ) -> Result<Notification, ActivityError> {
        let body = serde_json::json!({
            "orderId": input.order_id,
            "email": input.email,
            "kind": input.kind,
            "message": input.message,
        });
        self.call(&ctx, "notifications", &input.idempotency_key, &body)
            .await
    }

    #[activity(name = "ReleaseInventory")]
    pub async fn release_inventory(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: Undo,
    ) -> Result<(), ActivityError> {
        let path = format!("inventory/reservations/{}/release", input.reference);
        self.call::<_, serde_json::Value>(
            &ctx,
            &path,
            &input.idempotency_key,
            &serde_json::json!({}),
        )
        .await
        .map(drop)
    }

    #[activity(name = "RefundCharge")]
    pub async fn refund_charge(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: Undo,
    ) -> Result<(), ActivityError> {
        let path = format!("payments/charges/{}/refund", input.reference);
        self.call::<_, serde_json::Value>(
            &ctx,
            &path,
            &input.idempotency_key,
            &serde_json::json!({}),
        )
        .await
        .map(drop)
    }

    #[activity(name = "CancelShipment")]
    pub async fn cancel_shipment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: Undo,
    ) -> Result<(), ActivityError> {
        let path = format!("shipments/{}/cancel", input.reference);
        self.call::<_, serde_json::Value>(
            &ctx,
            &path,
            &input.idempotency_key,
            &serde_json::json!({}),
        )
        .await
        .map(drop)
    }
}

/// Run `work`, heartbeating every [`heartbeat_interval`] while it is pending; give up if the
/// activity is cancelled (the server timed it out, or the worker is shutting down).
async fn heartbeating<T>(
    ctx: &ActivityContext,
    work: impl Future<Output = T>,
) -> Result<T, ActivityError> {
    tokio::pin!(work);
    let mut beat = tokio::time::interval(heartbeat_interval(ctx));
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            out = &mut work => return Ok(out),
            _ = ctx.cancelled() => return Err(ActivityError::cancelled()),
            _ = beat.tick() => {
                ctx.record_heartbeat(()).await.map_err(|e| {
                    ActivityError::application(ApplicationFailure::new(e))
                })?;
            }
        }
    }
}

fn into_activity_error(e: ShopError) -> ActivityError {
    match e {
        ShopError::Business { code, detail, .. } => ActivityError::application(
            ApplicationFailure::builder(detail)
                .type_name(code)
                .non_retryable(true)
                .build(),
        ),
        ShopError::Transient(msg) => ActivityError::application(
            ApplicationFailure::builder(msg)
                .type_name(TRANSIENT_FAILURE.to_owned())
                .build(),
        ),
    }
}
