//! The names every ShopFlow binary must agree on.
//!
//! The ingest function starts workflows on a task queue, the local worker and the Lambda worker
//! poll it under one Worker Deployment Version, and the SAM template and the dev-stack scripts
//! register that version. If any of them disagreed, tasks would wait on a queue nobody polls, so
//! every name lives here once.

use crate::domain::OrderId;

/// The task queue `OrderWorkflow` and its activities run on.
pub const TASK_QUEUE: &str = "shopflow-orders";

/// The Worker Deployment both workers (local and Lambda) belong to.
pub const DEPLOYMENT_NAME: &str = "shopflow";

/// The build ID of this code.
///
/// It follows the `shared` crate's version: the workflow code lives in this crate, so a change
/// that could alter workflow behaviour bumps the version, and with it the build ID, which keeps
/// in-flight histories on workers that can replay them. `SHOPFLOW_BUILD_ID` overrides it (tests
/// use that to isolate runs).
pub const BUILD_ID: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// The build ID in effect: `SHOPFLOW_BUILD_ID` if set and non-empty, else [`BUILD_ID`].
pub fn build_id() -> String {
    std::env::var("SHOPFLOW_BUILD_ID")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| BUILD_ID.to_owned())
}

/// The deployment name in effect: `SHOPFLOW_DEPLOYMENT_NAME` if set and non-empty, else
/// [`DEPLOYMENT_NAME`]. Only tests set it: one deployment can have one current version, so tests
/// that run side by side each need their own.
pub fn deployment_name() -> String {
    std::env::var("SHOPFLOW_DEPLOYMENT_NAME")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEPLOYMENT_NAME.to_owned())
}

/// The task queue in effect: `TEMPORAL_TASK_QUEUE` if set and non-empty, else [`TASK_QUEUE`].
///
/// Tests give each run its own queue so that parallel tests never take each other's tasks.
pub fn task_queue() -> String {
    std::env::var("TEMPORAL_TASK_QUEUE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| TASK_QUEUE.to_owned())
}

/// The workflow ID of an order: `order-{orderId}`.
///
/// Deterministic on purpose: it is what makes a second submission of the same order find the
/// first workflow instead of starting another.
pub fn workflow_id(order_id: &OrderId) -> String {
    format!("order-{}", order_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_id_is_prefixed_order_id() {
        let id = OrderId::parse("A-1001").unwrap();
        assert_eq!(workflow_id(&id), "order-A-1001");
    }

    #[test]
    fn build_id_tracks_crate_version() {
        assert_eq!(BUILD_ID, format!("v{}", env!("CARGO_PKG_VERSION")));
    }
}
