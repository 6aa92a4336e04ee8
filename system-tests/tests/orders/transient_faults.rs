//! Transient failures are retried with the same idempotency key, so they cost time, not money.

use devstack::shop::EffectKind;
use shared::OrderOutcome;

use crate::helpers::TestApp;
use crate::history;

#[tokio::test(flavor = "multi_thread")]
async fn a_flaky_payment_service_still_charges_exactly_once() {
    let app = TestApp::spawn().await;
    // Half the payment calls fail before doing anything, and a third of those that do charge
    // lose their response — the retry must get the stored answer, not a second charge.
    app.set_faults(serde_json::json!({
        "errorRate": 0.5,
        "lostResponseRate": 0.34,
        "services": ["payments"],
    }))
    .await;

    // Eight orders: the chance that no payment fault fires at all — every first attempt neither
    // fails (1/2) nor loses its answer (0.66) — is 0.33^8 ≈ 1 in 7,000, and the history check
    // below then fails the run rather than passing it without testing anything.
    let mut orders = Vec::new();
    for _ in 0..8 {
        let order = app.order(|_| {});
        app.start(&order).await.expect("start");
        orders.push(order);
    }
    let mut charge_attempts = Vec::new();
    for order in &orders {
        let workflow_id = shared::workflow_id(&order.order_id);
        let outcome = app.outcome(&workflow_id).await;
        assert!(
            matches!(outcome, OrderOutcome::Completed { .. }),
            "{outcome:?}"
        );
        let ledger = app.ledger(order).await;
        assert_eq!(ledger.count(EffectKind::Charge), 1, "{ledger:?}");
        assert_eq!(ledger.count(EffectKind::Refund), 0, "{ledger:?}");
        let events = history::events(&app, &workflow_id).await;
        charge_attempts.extend(
            history::activity_starts(&events, "ChargeCustomer")
                .into_iter()
                .map(|(attempt, _)| attempt),
        );
    }
    // The faults fired: some charge only succeeded on a retry (the server records the attempt
    // that closed the activity).
    assert!(
        charge_attempts.iter().any(|&a| a > 1),
        "no ChargeCustomer was retried: {charge_attempts:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_waits_for_a_shop_that_is_down_and_completes_once_it_is_back() {
    let mut app = TestApp::spawn().await;
    let shop = app.shop.take().unwrap();
    let db = shop.db().to_path_buf();
    let port: u16 = app.shop_url.rsplit(':').next().unwrap().parse().unwrap();
    shop.stop().unwrap();

    let order = app.order(|_| {});
    let started = app.start(&order).await.unwrap();
    // While the shop is down the first step keeps retrying.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let progress = app.progress(&started.workflow_id).await.unwrap();
    assert_eq!(progress.step, shared::OrderStep::ReservingInventory);

    app.shop = Some(devstack::apps::Storefront::start_with_db(&db, port, &[]).unwrap());
    let outcome = app.outcome(&started.workflow_id).await;
    assert!(
        matches!(outcome, OrderOutcome::Completed { .. }),
        "{outcome:?}"
    );
    let ledger = app.ledger(&order).await;
    assert_eq!(ledger.count(EffectKind::Charge), 1);
}
