use serde_json::json;

use crate::helpers::{charge, key, notification, read, spawn_app};

#[tokio::test]
async fn same_key_same_request_replays_without_a_second_effect() {
    let app = spawn_app().await;
    let k = key();
    let first = app.charge(&k, "order-1", "cust-1", 1_000).await;
    first.assert_status(201);
    assert!(!first.replayed());

    let again = app.charge(&k, "order-1", "cust-1", 1_000).await;
    again.assert_status(201);
    assert!(again.replayed());
    assert_eq!(again.body, first.body);
    assert_eq!(app.effects_of("charge", None).await.len(), 1);
}

#[tokio::test]
async fn replay_ignores_json_key_order_and_whitespace() {
    let app = spawn_app().await;
    let k = key();
    let first = app.charge(&k, "order-1", "cust-1", 1_000).await;
    let reordered =
        r#"{ "currency":"USD",  "amountMinor": 1000, "customerId":"cust-1", "orderId":"order-1" }"#;
    let again = app.post_raw("/payments/charges", &k, reordered).await;
    again.assert_status(201);
    assert!(again.replayed());
    assert_eq!(again.body, first.body);
}

#[tokio::test]
async fn same_key_different_request_is_409() {
    let app = spawn_app().await;
    let k = key();
    app.charge(&k, "order-1", "cust-1", 1_000)
        .await
        .assert_status(201);
    app.charge(&k, "order-1", "cust-1", 1_001)
        .await
        .assert_problem(409, "idempotency-key-reused");
    // A valid request to another endpoint under the same key: also a different request.
    app.post("/notifications", Some(&k), &notification("order-1", "hi"))
        .await
        .assert_problem(409, "idempotency-key-reused");
    assert_eq!(app.effects(None).await.len(), 1);
}

#[tokio::test]
async fn missing_key_is_400_and_nothing_happens() {
    let app = spawn_app().await;
    for path in [
        "/payments/charges",
        "/inventory/reservations",
        "/shipments",
        "/notifications",
    ] {
        app.post(path, None, &charge("order-1", "cust-1", 1_000))
            .await
            .assert_problem(400, "missing-idempotency-key");
    }
    assert!(app.effects(None).await.is_empty());
}

#[tokio::test]
async fn business_failures_are_stored_and_replayed() {
    // Only 5xx answers are forgotten; a 4xx is the final answer for its key.
    let app = spawn_app().await;
    app.set_stock("CAP-NAVY", 0).await;
    let k = key();
    let first = app.reserve(&k, "order-1", &[("CAP-NAVY", 1)]).await;
    first.assert_problem(409, "out-of-stock");
    app.set_stock("CAP-NAVY", 10).await;
    let again = app.reserve(&k, "order-1", &[("CAP-NAVY", 1)]).await;
    again.assert_problem(409, "out-of-stock");
    assert!(again.replayed());
    assert_eq!(again.body, first.body);
    assert_eq!(app.stock("CAP-NAVY").await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_cause_one_effect() {
    let app = spawn_app().await;
    let k = key();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let request = app
            .client
            .post(app.url("/payments/charges"))
            .header("Idempotency-Key", &k)
            .json(&charge("order-1", "cust-1", 777));
        tasks.spawn(async move { read(request.send().await.unwrap()).await });
    }
    let answers = tasks.join_all().await;
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    let charge_ids: std::collections::HashSet<_> = answers
        .iter()
        .map(|a| a.body["chargeId"].to_string())
        .collect();
    assert_eq!(charge_ids.len(), 1, "all answers name the same charge");
    assert_eq!(
        answers.iter().filter(|a| !a.replayed()).count(),
        1,
        "exactly one request executed"
    );
    assert_eq!(app.effects_of("charge", None).await.len(), 1);
}

#[tokio::test]
async fn release_accepts_an_empty_body_and_replays() {
    let app = spawn_app().await;
    let reserved = app.reserve(&key(), "order-1", &[("MUG-CLASSIC", 1)]).await;
    let path = format!(
        "/inventory/reservations/{}/release",
        reserved.body["reservationId"].as_str().unwrap()
    );
    let k = key();
    let empty = read(
        app.client
            .post(app.url(&path))
            .header("Idempotency-Key", &k)
            .send()
            .await
            .unwrap(),
    )
    .await;
    empty.assert_status(200);
    // `{}` and an empty body are the same request.
    let braces = app.post(&path, Some(&k), &json!({})).await;
    braces.assert_status(200);
    assert!(braces.replayed());
    assert_eq!(app.effects_of("release", None).await.len(), 1);
}
