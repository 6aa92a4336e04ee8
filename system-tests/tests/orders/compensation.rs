//! Business failures: the saga undoes what was done, in reverse, and nothing else happens.

use devstack::shop::EffectKind;
use shared::{OrderOutcome, OrderStep};

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_payment_releases_the_inventory_and_ships_nothing() {
    let app = TestApp::spawn().await;
    let before = app.stock().await;
    // The storefront declines customers whose ID starts with `decline-`.
    let order = app.order(|o| o["customer"]["id"] = "decline-card-expired".into());

    let outcome = app.run(&order).await;

    let OrderOutcome::Compensated {
        failed_step,
        reason_code,
        undone,
        ..
    } = &outcome
    else {
        panic!("expected compensated, got {outcome:?}");
    };
    assert_eq!(*failed_step, OrderStep::ChargingCustomer);
    assert_eq!(reason_code, "card-declined");
    assert_eq!(undone.len(), 1);
    assert_eq!(
        undone[0].action,
        shared::workflow::UndoAction::ReleaseInventory
    );
    assert!(undone[0].error.is_none(), "{undone:?}");

    let ledger = app.ledger(&order).await;
    assert_eq!(ledger.count(EffectKind::Charge), 0, "{ledger:?}");
    assert_eq!(ledger.count(EffectKind::Ship), 0);
    assert_eq!(
        ledger.count(EffectKind::Release),
        order.items.len(),
        "one release row per reserved line"
    );
    assert_eq!(ledger.stock, before, "stock is back where it was");

    let progress = app
        .progress(&shared::workflow_id(&order.order_id))
        .await
        .unwrap();
    assert_eq!(progress.step, OrderStep::Compensated);
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_stock_charges_nothing() {
    let app = TestApp::spawn().await;
    app.set_stock("MUG-CLASSIC", 1).await;
    let order = app.order(|_| {}); // wants 2 mugs

    let outcome = app.run(&order).await;

    let OrderOutcome::Compensated {
        failed_step,
        reason_code,
        undone,
        ..
    } = &outcome
    else {
        panic!("expected compensated, got {outcome:?}");
    };
    assert_eq!(*failed_step, OrderStep::ReservingInventory);
    assert_eq!(reason_code, "out-of-stock");
    assert!(
        undone.is_empty(),
        "nothing was done, so nothing is undone: {undone:?}"
    );
    let ledger = app.ledger(&order).await;
    assert!(ledger.effects.is_empty(), "{ledger:?}");
    assert_eq!(
        ledger.stock["MUG-CLASSIC"], 1,
        "a partial reservation would have taken the last mug"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undeliverable_address_refunds_and_releases_in_reverse_order() {
    let app = TestApp::spawn().await;
    let before = app.stock().await;
    // The storefront cannot deliver to postal code 00000.
    let order = app.order(|o| o["shippingAddress"]["postalCode"] = "00000".into());

    let outcome = app.run(&order).await;

    let OrderOutcome::Compensated {
        failed_step,
        reason_code,
        undone,
        ..
    } = &outcome
    else {
        panic!("expected compensated, got {outcome:?}");
    };
    assert_eq!(*failed_step, OrderStep::CreatingShipment);
    assert_eq!(reason_code, "undeliverable-address");
    let actions: Vec<&str> = undone.iter().map(|u| u.action.as_str()).collect();
    assert_eq!(actions, vec!["RefundCharge", "ReleaseInventory"]);

    let ledger = app.ledger(&order).await;
    assert_eq!(ledger.count(EffectKind::Charge), 1);
    assert_eq!(ledger.count(EffectKind::Refund), 1);
    assert_eq!(ledger.count(EffectKind::Ship), 0);
    let refund = ledger
        .effects
        .iter()
        .position(|e| e.kind == EffectKind::Refund)
        .unwrap();
    let release = ledger
        .effects
        .iter()
        .position(|e| e.kind == EffectKind::Release)
        .unwrap();
    assert!(
        refund < release,
        "undo runs newest first: {:?}",
        ledger.kinds()
    );
    assert_eq!(ledger.stock, before);
}
