//! An order that nothing goes wrong for.

use devstack::shop::EffectKind;
use shared::{OrderOutcome, OrderStep};

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn an_order_completes_with_each_effect_once() {
    let app = TestApp::spawn().await;
    let before = app.stock().await;
    let order = app.order(|_| {});

    let outcome = app.run(&order).await;

    let OrderOutcome::Completed {
        charge_id,
        shipment_id,
        amount_minor,
        notification_id,
        ..
    } = &outcome
    else {
        panic!("expected completed, got {outcome:?}");
    };
    assert_eq!(*amount_minor, order.total_minor());
    assert!(notification_id.is_some());

    let ledger = app.ledger(&order).await;
    // One reserve row per line item, and one of everything else.
    assert_eq!(
        ledger.count(EffectKind::Reserve),
        order.items.len(),
        "{ledger:?}"
    );
    for kind in [EffectKind::Charge, EffectKind::Ship, EffectKind::Notify] {
        assert_eq!(ledger.count(kind), 1, "{kind}: {ledger:?}");
    }
    assert_eq!(
        ledger.effects.len(),
        order.items.len() + 3,
        "nothing else: {ledger:?}"
    );
    assert!(
        ledger
            .effects
            .iter()
            .all(|e| e.order_id == order.order_id.as_str())
    );
    let charge = ledger
        .effects
        .iter()
        .find(|e| e.kind == EffectKind::Charge)
        .unwrap();
    assert_eq!(&charge.reference, charge_id);
    assert_eq!(charge.amount_minor, Some(order.total_minor()));
    assert!(
        ledger
            .effects
            .iter()
            .any(|e| e.kind == EffectKind::Ship && &e.reference == shipment_id)
    );
    // Keys are derived from the workflow ID and the step.
    let wf = shared::workflow_id(&order.order_id);
    assert_eq!(charge.idempotency_key, format!("{wf}/charge"));

    // Stock went down by exactly the ordered quantities.
    let after = ledger.stock;
    for item in &order.items {
        let sku = item.sku.as_str();
        assert_eq!(after[sku], before[sku] - i64::from(item.quantity), "{sku}");
    }

    // The query answers after completion too, and the history says who did the work.
    let progress = app.progress(&wf).await.unwrap();
    assert_eq!(progress.step, OrderStep::Completed);
    assert_eq!(
        progress.done,
        vec![
            OrderStep::ReservingInventory,
            OrderStep::ChargingCustomer,
            OrderStep::CreatingShipment,
            OrderStep::NotifyingCustomer
        ]
    );
    let identities = app.task_identities(&wf).await;
    assert!(!identities.is_empty());
    assert!(
        identities.iter().all(|i| i.starts_with("local-worker@")),
        "{identities:?}"
    );
}
