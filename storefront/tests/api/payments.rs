use serde_json::json;
use storefront::Config;

use crate::helpers::{key, spawn_app, spawn_app_with};

#[tokio::test]
async fn charge_records_one_effect() {
    let app = spawn_app().await;
    let answer = app.charge(&key(), "order-1", "cust-1", 4_200).await;
    answer.assert_status(201);
    assert!(
        answer.body["chargeId"]
            .as_str()
            .is_some_and(|id| id.starts_with("ch_"))
    );
    assert_eq!(answer.body["orderId"], "order-1");
    assert_eq!(answer.body["amountMinor"], 4_200);
    assert_eq!(answer.body["currency"], "USD");

    let charges = app.effects_of("charge", Some("order-1")).await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["amountMinor"], 4_200);
    assert_eq!(charges[0]["reference"], answer.body["chargeId"]);
}

#[tokio::test]
async fn decline_rules_answer_402_and_charge_nothing() {
    let mut config = Config::default();
    config.declines.customers = vec!["blocked-bob".into()];
    config.declines.max_amount_minor = 10_000;
    let app = spawn_app_with(config).await;

    let cases = [
        ("decline-anyone", 100, "decline-"),
        ("blocked-bob", 100, "decline list"),
        ("cust-1", 10_001, "exceeds the limit"),
    ];
    for (customer, amount, reason) in cases {
        let answer = app.charge(&key(), "order-1", customer, amount).await;
        answer.assert_problem(402, "card-declined");
        let detail = answer.body["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{customer}: {detail}");
    }
    // Exactly at the limit is fine.
    app.charge(&key(), "order-2", "cust-1", 10_000)
        .await
        .assert_status(201);
    assert!(app.effects(Some("order-1")).await.is_empty());
}

#[tokio::test]
async fn refund_happens_once() {
    let app = spawn_app().await;
    let charge = app.charge(&key(), "order-1", "cust-1", 2_500).await;
    let charge_id = charge.body["chargeId"].as_str().unwrap();
    let path = format!("/payments/charges/{charge_id}/refund");

    let first = app.post(&path, Some(&key()), &json!({})).await;
    first.assert_status(200);
    assert_eq!(first.body["chargeId"], charge_id);
    assert_eq!(first.body["amountMinor"], 2_500);
    assert!(
        first.body["refundId"]
            .as_str()
            .is_some_and(|id| id.starts_with("rf_"))
    );

    let second = app.post(&path, Some(&key()), &json!({})).await;
    second.assert_status(200);
    assert_eq!(second.body, first.body, "a second refund returns the first");

    let refunds = app.effects_of("refund", Some("order-1")).await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["amountMinor"], 2_500);
}

#[tokio::test]
async fn refunding_an_unknown_charge_is_404() {
    let app = spawn_app().await;
    app.post("/payments/charges/ch_nope/refund", Some(&key()), &json!({}))
        .await
        .assert_problem(404, "not-found");
    assert!(app.effects(None).await.is_empty());
}
