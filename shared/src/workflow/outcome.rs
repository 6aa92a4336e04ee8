//! What an order run reports: its progress while it runs (the query) and its outcome at the end.

use serde::{Deserialize, Serialize};

/// Where an order is in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum OrderStep {
    #[default]
    Received,
    ReservingInventory,
    ChargingCustomer,
    CreatingShipment,
    NotifyingCustomer,
    Compensating,
    Completed,
    Compensated,
}

impl OrderStep {
    pub fn is_final(self) -> bool {
        matches!(self, OrderStep::Completed | OrderStep::Compensated)
    }
}

/// Answer of the `progress` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderProgress {
    pub step: OrderStep,
    /// Forward steps that finished, in order.
    pub done: Vec<OrderStep>,
    /// Compensations that ran, in the order they ran.
    pub undone: Vec<UndoRecord>,
}

/// What a compensation does — named as its activity is (`ReleaseInventory`, …), which is also
/// its spelling in a workflow's result, so results written before this type existed still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UndoAction {
    ReleaseInventory,
    RefundCharge,
    CancelShipment,
}

impl UndoAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReleaseInventory => "ReleaseInventory",
            Self::RefundCharge => "RefundCharge",
            Self::CancelShipment => "CancelShipment",
        }
    }
}

impl std::fmt::Display for UndoAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One compensation and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UndoRecord {
    pub action: UndoAction,
    /// The reservation, charge or shipment it undid.
    pub reference: String,
    /// `None` when it succeeded; otherwise why it could not be undone (needs a human).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How an order ended. Both are successful workflow results: a compensated order is the system
/// working as designed, not a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum OrderOutcome {
    #[serde(rename_all = "camelCase")]
    Completed {
        order_id: String,
        reservation_id: String,
        charge_id: String,
        amount_minor: i64,
        currency: String,
        shipment_id: String,
        tracking_number: String,
        /// `None` if the confirmation could not be sent (the order still stands).
        notification_id: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Compensated {
        order_id: String,
        /// The step that failed for good.
        failed_step: OrderStep,
        /// Machine-readable reason, e.g. `card-declined`, `out-of-stock`.
        reason_code: String,
        /// Human-readable reason from the service.
        reason: String,
        /// What was undone, in the order it was undone.
        undone: Vec<UndoRecord>,
    },
}

impl OrderOutcome {
    pub fn is_completed(&self) -> bool {
        matches!(self, OrderOutcome::Completed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::UndoAction;

    /// The wire spelling is the activity's name, unchanged from when `action` was a string.
    #[test]
    fn undo_actions_serialize_as_their_activity_names() {
        for action in [
            UndoAction::ReleaseInventory,
            UndoAction::RefundCharge,
            UndoAction::CancelShipment,
        ] {
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
            let back: UndoAction = serde_json::from_value(action.as_str().into()).unwrap();
            assert_eq!(back, action);
        }
        assert!(serde_json::from_value::<UndoAction>("CancelShipmnet".into()).is_err());
    }
}
