//! The local worker dies mid-order; a new worker finishes it and nothing happens twice.

use shared::{OrderOutcome, OrderStep};

use crate::helpers::TestApp;

/// Slow shipments down so the worker can be stopped while the call is in flight.
async fn slow_shipments(app: &TestApp) {
    app.set_faults(serde_json::json!({ "latencyMs": 3000, "services": ["shipments"] })).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_activity_then_restart_completes_with_each_effect_once() {
    let mut app = TestApp::spawn().await;
    slow_shipments(&app).await;
    let order = app.order(|_| {});
    let started = app.start(&order).await.unwrap();
    app.wait_for_step(&started.workflow_id, OrderStep::CreatingShipment).await.unwrap();

    app.kill_worker();
    app.start_worker();

    let outcome = app.outcome(&started.workflow_id).await;
    assert!(matches!(outcome, OrderOutcome::Completed { .. }), "{outcome:?}");
    let ledger = app.ledger(&order).await;
    for kind in ["charge", "ship", "notify"] {
        assert_eq!(ledger.count(kind), 1, "{kind}: {ledger:?}");
    }
    assert_eq!(ledger.count("reserve"), order.items.len());
    // Two different worker processes took part.
    let mut identities = app.task_identities(&started.workflow_id).await;
    identities.sort();
    identities.dedup();
    assert!(identities.len() >= 2, "{identities:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_drains_the_running_activity_before_exiting() {
    let mut app = TestApp::spawn().await;
    slow_shipments(&app).await;
    let order = app.order(|_| {});
    let started = app.start(&order).await.unwrap();
    app.wait_for_step(&started.workflow_id, OrderStep::CreatingShipment).await.unwrap();

    // Graceful: the shipment call in flight is allowed to finish within the grace period.
    app.interrupt_worker();
    let ledger = app.ledger(&order).await;
    assert_eq!(ledger.count("ship"), 1, "drained shipment is recorded: {ledger:?}");

    app.start_worker();
    let outcome = app.outcome(&started.workflow_id).await;
    assert!(matches!(outcome, OrderOutcome::Completed { .. }), "{outcome:?}");
    let ledger = app.ledger(&order).await;
    assert_eq!(ledger.count("ship"), 1, "{ledger:?}");
    assert_eq!(ledger.count("charge"), 1, "{ledger:?}");
}
