//! `OrderWorkflow`: reserve inventory → charge customer → create shipment → notify customer.
//!
//! A saga. Each forward step that succeeds pushes its undo; when a later step fails for good
//! (a business refusal — transient failures are retried, without limit, by the activity retry
//! policy), the undos run in reverse: cancel the shipment, refund the charge, release the stock.
//! A failed notification does not undo a shipped order; the outcome just says it was not sent.
//!
//! Determinism: the workflow reads nothing but its input, activity results and the workflow ID,
//! so it replays identically (see the replay test).

pub mod outcome;
pub mod takeover;

use std::time::Duration;

use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityExecutionError, ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};

use crate::activities::{
    ChargeCustomer, CreateShipment, ItemQuantity, NotifyCustomer, ReserveInventory, ShopActivities,
    Undo,
};
use crate::domain::Order;
use crate::idempotency::{Effect, idempotency_key};
pub use outcome::{OrderOutcome, OrderProgress, OrderStep, UndoAction, UndoRecord};
pub use takeover::{TAKEOVER_MEMO, Takeover};

/// StartToClose of every activity, as in the original demo. A Lambda worker's function timeout
/// must exceed this plus its stop buffer (7 s).
pub const ACTIVITY_START_TO_CLOSE: Duration = Duration::from_secs(120);

/// A worker that dies mid-activity stops heartbeating; after this long the server times the
/// attempt out and retries it on another worker (instead of waiting out StartToClose). Four
/// heartbeat intervals (the activities beat every quarter of it; the SDK sends at most one beat
/// per 0.8 × this, 2.5 RPCs a second per running activity): a late beat or two is tolerated.
/// Chosen from the benchmark's grid (`cargo xtask bench`, takeover): 1 s took a killed worker's
/// activity p50 2.1 s / p95 2.9 s to restart on Lambda, 500 ms took 1.14 s / 1.18 s, and 300 ms
/// no less (1.13 s / 1.18 s, the server's timers being up to 1 s late) at 4.2 RPCs a second. A
/// false alarm — a live worker stalled for half a second — costs one extra attempt, never a
/// second effect: every call carries its idempotency key. The default of [`Takeover`]; an order
/// may carry its own.
pub const ACTIVITY_HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(500);

/// First retry of a failed or timed-out attempt: short, because the common case after a crash is
/// "another worker is ready now"; the backoff doubles up to 10 s for a service that stays down.
/// The default of [`Takeover`].
pub const ACTIVITY_FIRST_RETRY: Duration = Duration::from_millis(100);

/// Activity options for every step: transient failures retry forever with capped backoff (a
/// down service stalls an order, visibly, rather than failing or half-doing it); business
/// failures are marked non-retryable by the activities themselves.
pub fn activity_options(takeover: Takeover) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(ACTIVITY_START_TO_CLOSE)
        .heartbeat_timeout(takeover.heartbeat_timeout())
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(takeover.first_retry())
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(10))
                .build(),
        )
        .build()
}

#[workflow]
#[derive(Default)]
pub struct OrderWorkflow {
    progress: OrderProgress,
}

/// A forward step that failed for good, with what the saga must undo.
struct Failure {
    step: OrderStep,
    error: ActivityExecutionError,
}

#[workflow_methods]
impl OrderWorkflow {
    #[run]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        order: Order,
    ) -> WorkflowResult<OrderOutcome> {
        let workflow_id = ctx.workflow_id().to_owned();
        let key = |effect| idempotency_key(&workflow_id, effect);
        let mut undo: Vec<(UndoAction, Undo)> = Vec::new();

        match Self::forward(ctx, &order, &key, &mut undo).await {
            Ok(outcome) => {
                set_step(ctx, OrderStep::Completed);
                Ok(outcome)
            }
            Err(Failure { step, error }) => {
                set_step(ctx, OrderStep::Compensating);
                let undone = Self::compensate(ctx, undo).await;
                set_step(ctx, OrderStep::Compensated);
                let (reason_code, reason) = describe(&error);
                Ok(OrderOutcome::Compensated {
                    order_id: order.order_id.to_string(),
                    failed_step: step,
                    reason_code,
                    reason,
                    undone,
                })
            }
        }
    }

    /// Current step, finished steps and compensations so far.
    #[query]
    pub fn progress(&self, _ctx: &WorkflowContextView) -> OrderProgress {
        self.progress.clone()
    }
}

impl OrderWorkflow {
    async fn forward(
        ctx: &mut WorkflowContext<Self>,
        order: &Order,
        key: &impl Fn(Effect) -> String,
        undo: &mut Vec<(UndoAction, Undo)>,
    ) -> Result<OrderOutcome, Failure> {
        let order_id = order.order_id.to_string();
        let items: Vec<ItemQuantity> = order
            .items
            .iter()
            .map(|i| ItemQuantity {
                sku: i.sku.to_string(),
                quantity: i.quantity,
            })
            .collect();
        let reservation = Self::step(
            ctx,
            OrderStep::ReservingInventory,
            ShopActivities::reserve_inventory,
            ReserveInventory {
                idempotency_key: key(Effect::Reserve),
                order_id: order_id.clone(),
                items: items.clone(),
            },
        )
        .await?;
        undo.push((
            UndoAction::ReleaseInventory,
            Undo {
                idempotency_key: key(Effect::Release),
                reference: reservation.reservation_id.clone(),
            },
        ));

        let charge = Self::step(
            ctx,
            OrderStep::ChargingCustomer,
            ShopActivities::charge_customer,
            ChargeCustomer {
                idempotency_key: key(Effect::Charge),
                order_id: order_id.clone(),
                customer_id: order.customer.id.to_string(),
                amount_minor: order.total_minor(),
                currency: order.currency.to_string(),
            },
        )
        .await?;
        undo.push((
            UndoAction::RefundCharge,
            Undo {
                idempotency_key: key(Effect::Refund),
                reference: charge.charge_id.clone(),
            },
        ));

        let shipment = Self::step(
            ctx,
            OrderStep::CreatingShipment,
            ShopActivities::create_shipment,
            CreateShipment {
                idempotency_key: key(Effect::Ship),
                order_id: order_id.clone(),
                address: order.shipping_address.clone(),
                items,
            },
        )
        .await?;
        undo.push((
            UndoAction::CancelShipment,
            Undo {
                idempotency_key: key(Effect::CancelShipment),
                reference: shipment.shipment_id.clone(),
            },
        ));

        set_step(ctx, OrderStep::NotifyingCustomer);
        let notification = ctx
            .execute_activity(
                ShopActivities::notify_customer,
                NotifyCustomer {
                    idempotency_key: key(Effect::Notify),
                    order_id: order_id.clone(),
                    email: order.customer.email.to_string(),
                    kind: "order-confirmed".to_owned(),
                    message: format!(
                        "Order {order_id} is on its way: tracking number {}.",
                        shipment.tracking_number
                    ),
                },
                options(ctx),
            )
            .await
            // A confirmation that cannot be sent is no reason to take back a shipped order.
            .ok();
        step_done(ctx, OrderStep::NotifyingCustomer);

        Ok(OrderOutcome::Completed {
            order_id,
            reservation_id: reservation.reservation_id,
            charge_id: charge.charge_id,
            amount_minor: charge.amount_minor,
            currency: order.currency.to_string(),
            shipment_id: shipment.shipment_id,
            tracking_number: shipment.tracking_number,
            notification_id: notification.map(|n| n.notification_id),
        })
    }

    /// One forward step: mark it current, run its activity, mark it done — or fail for good.
    async fn step<AD: temporalio_common::ActivityDefinition>(
        ctx: &mut WorkflowContext<Self>,
        step: OrderStep,
        activity: AD,
        input: impl Into<AD::Input>,
    ) -> Result<AD::Output, Failure> {
        set_step(ctx, step);
        let output = ctx
            .execute_activity(activity, input, options(ctx))
            .await
            .map_err(|error| Failure { step, error })?;
        step_done(ctx, step);
        Ok(output)
    }

    /// Run the undos newest first. Transient failures retry forever; a permanent failure of an
    /// undo is recorded (a person must look) and the remaining undos still run.
    async fn compensate(
        ctx: &mut WorkflowContext<Self>,
        undo: Vec<(UndoAction, Undo)>,
    ) -> Vec<UndoRecord> {
        let mut records = Vec::new();
        for (action, input) in undo.into_iter().rev() {
            let reference = input.reference.clone();
            // Exhaustive: a new kind of undo cannot fall through to another one's activity.
            let result = match action {
                UndoAction::ReleaseInventory => {
                    ctx.execute_activity(ShopActivities::release_inventory, input, options(ctx))
                        .await
                }
                UndoAction::RefundCharge => {
                    ctx.execute_activity(ShopActivities::refund_charge, input, options(ctx))
                        .await
                }
                UndoAction::CancelShipment => {
                    ctx.execute_activity(ShopActivities::cancel_shipment, input, options(ctx))
                        .await
                }
            };
            let record = UndoRecord {
                action,
                reference,
                error: result.err().map(|e| describe(&e).1),
            };
            ctx.state_mut(|s| s.progress.undone.push(record.clone()));
            records.push(record);
        }
        records
    }
}

/// This order's activity options: its [`Takeover`] settings from the memo, else the defaults.
/// The memo is part of the start event, so a replay reads the same.
fn options(ctx: &WorkflowContext<OrderWorkflow>) -> ActivityOptions {
    let takeover = ctx
        .memo()
        .get::<Takeover>(TAKEOVER_MEMO)
        .ok()
        .flatten()
        .map(Takeover::or_default_if_out_of_bounds)
        .unwrap_or_default();
    activity_options(takeover)
}

fn set_step(ctx: &WorkflowContext<OrderWorkflow>, step: OrderStep) {
    ctx.state_mut(|s| s.progress.step = step);
}

fn step_done(ctx: &WorkflowContext<OrderWorkflow>, step: OrderStep) {
    ctx.state_mut(|s| s.progress.done.push(step));
}

/// `(code, message)` of a failed activity: the application failure's type and message when the
/// shop refused, else a timeout or generic description.
fn describe(error: &ActivityExecutionError) -> (String, String) {
    use temporalio_common::error::IncomingError;
    match error.reason() {
        Some(IncomingError::Application(app)) => (
            app.type_name().unwrap_or("activity-failed").to_owned(),
            app.failure()
                .map(|f| f.message.clone())
                .unwrap_or_else(|| app.source_error().to_string()),
        ),
        Some(other) => (
            "activity-failed".to_owned(),
            other.failure().message.clone(),
        ),
        None => ("activity-failed".to_owned(), error.to_string()),
    }
}
