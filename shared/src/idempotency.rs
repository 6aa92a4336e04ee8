//! Idempotency keys for the shop's services.
//!
//! A key is derived from the workflow ID and the step, never from the attempt or the run: a
//! retried activity, or the same activity re-run on another worker after a crash, sends the same
//! key, so the service replays its stored answer instead of charging, reserving or shipping
//! again. The workflow ID is the order's (`order-{orderId}`), so the key is stable for the life of
//! the order.

use serde::{Deserialize, Serialize};

/// Each effect the workflow can cause. The string form is part of every key: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Effect {
    Reserve,
    Charge,
    Ship,
    Notify,
    Release,
    Refund,
    CancelShipment,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Reserve => "reserve",
            Effect::Charge => "charge",
            Effect::Ship => "ship",
            Effect::Notify => "notify",
            Effect::Release => "release",
            Effect::Refund => "refund",
            Effect::CancelShipment => "cancel-shipment",
        }
    }
}

/// The `Idempotency-Key` for `effect` within workflow `workflow_id`.
pub fn idempotency_key(workflow_id: &str, effect: Effect) -> String {
    format!("{workflow_id}/{}", effect.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct_per_effect() {
        assert_eq!(
            idempotency_key("order-A-1", Effect::Charge),
            "order-A-1/charge"
        );
        let all = [
            Effect::Reserve,
            Effect::Charge,
            Effect::Ship,
            Effect::Notify,
            Effect::Release,
            Effect::Refund,
            Effect::CancelShipment,
        ];
        let keys: std::collections::HashSet<_> = all
            .iter()
            .map(|e| idempotency_key("order-A-1", *e))
            .collect();
        assert_eq!(keys.len(), all.len());
    }
}
