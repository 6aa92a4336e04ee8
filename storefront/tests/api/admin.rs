use serde_json::json;

use crate::helpers::{key, spawn_app};

#[tokio::test]
async fn set_stock_changes_availability_without_a_ledger_row() {
    let app = spawn_app().await;
    let answer = app
        .put("/admin/stock/MUG-CLASSIC", &json!({ "available": 3 }))
        .await;
    answer.assert_status(200);
    assert_eq!(answer.body, json!({ "sku": "MUG-CLASSIC", "available": 3 }));
    assert_eq!(app.catalog_available("MUG-CLASSIC").await, 3);
    assert!(app.effects(None).await.is_empty());

    app.put("/admin/stock/NO-SUCH-SKU", &json!({ "available": 3 }))
        .await
        .assert_problem(404, "not-found");
    app.put("/admin/stock/MUG-CLASSIC", &json!({ "available": -1 }))
        .await
        .assert_problem(422, "invalid-request");
    app.put("/admin/stock/MUG-CLASSIC", &json!({}))
        .await
        .assert_problem(422, "invalid-request");
}

#[tokio::test]
async fn reset_forgets_everything_and_restores_stock() {
    let app = spawn_app().await;
    let k = key();
    app.reserve(&k, "order-1", &[("MUG-CLASSIC", 5)])
        .await
        .assert_status(201);
    app.set_faults(json!({ "latencyMs": 1 })).await;
    app.post("/admin/reset", None, &json!({}))
        .await
        .assert_status(204);

    assert!(app.effects(None).await.is_empty());
    assert_eq!(app.stock("MUG-CLASSIC").await, 50);
    assert_eq!(app.get("/admin/faults").await.body["latencyMs"], 0);
    // The idempotency record is gone too: the same key executes again.
    let again = app.reserve(&k, "order-1", &[("MUG-CLASSIC", 5)]).await;
    again.assert_status(201);
    assert!(!again.replayed());
}

#[tokio::test]
async fn ledger_filters_by_order_and_numbers_effects_in_order() {
    let app = spawn_app().await;
    app.reserve(&key(), "order-a", &[("MUG-CLASSIC", 1)])
        .await
        .assert_status(201);
    app.charge(&key(), "order-b", "cust-1", 100)
        .await
        .assert_status(201);
    app.charge(&key(), "order-a", "cust-1", 200)
        .await
        .assert_status(201);
    let all = app.effects(None).await;
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let order_a = app.effects(Some("order-a")).await;
    let kinds: Vec<&str> = order_a
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reserve", "charge"]);
    assert!(
        order_a
            .iter()
            .all(|e| e["idempotencyKey"].as_str().is_some() && e["at"].as_str().is_some())
    );
    assert!(app.effects(Some("order-zzz")).await.is_empty());
}
