use serde_json::json;
use storefront::Config;

use crate::helpers::{key, notification, spawn_app, spawn_app_with};

#[tokio::test]
async fn error_rate_one_fails_before_any_effect_and_is_not_stored() {
    let app = spawn_app().await;
    app.set_faults(json!({ "errorRate": 1.0 })).await;
    let k = key();
    app.charge(&k, "order-1", "cust-1", 500)
        .await
        .assert_problem(503, "injected-fault");
    app.reserve(&key(), "order-1", &[("MUG-CLASSIC", 1)])
        .await
        .assert_problem(503, "injected-fault");
    assert!(app.effects(None).await.is_empty());
    assert_eq!(app.stock("MUG-CLASSIC").await, 50);

    app.set_faults(json!({ "errorRate": 0.0 })).await;
    let retry = app.charge(&k, "order-1", "cust-1", 500).await;
    retry.assert_status(201);
    assert!(
        !retry.replayed(),
        "a 5xx must not be stored, so the retry runs for real"
    );
    assert_eq!(app.effects(None).await.len(), 1);
}

#[tokio::test]
async fn lost_response_commits_and_the_retry_replays() {
    let app = spawn_app().await;
    app.set_faults(json!({ "lostResponseRate": 1.0 })).await;
    let k = key();
    let lost = app.charge(&k, "order-1", "cust-1", 900).await;
    lost.assert_problem(503, "injected-fault");
    assert_eq!(lost.body["lostResponse"], true);
    let charges = app.effects_of("charge", None).await;
    assert_eq!(
        charges.len(),
        1,
        "the effect happened although the client saw 503"
    );

    app.set_faults(json!({})).await;
    let retry = app.charge(&k, "order-1", "cust-1", 900).await;
    retry.assert_status(201);
    assert!(retry.replayed());
    assert_eq!(retry.body["chargeId"], charges[0]["reference"]);
    assert_eq!(app.effects_of("charge", None).await.len(), 1);
}

#[tokio::test]
async fn fail_skus_and_fail_customers_target_requests() {
    let app = spawn_app().await;
    app.set_faults(json!({ "failSkus": ["CAP-NAVY"], "failCustomers": ["cust-flaky"] }))
        .await;
    let answer = app
        .reserve(&key(), "order-1", &[("MUG-CLASSIC", 1), ("CAP-NAVY", 1)])
        .await;
    answer.assert_problem(503, "injected-fault");
    assert_eq!(answer.body["failing"], "CAP-NAVY");
    app.charge(&key(), "order-1", "cust-flaky", 100)
        .await
        .assert_problem(503, "injected-fault");
    assert!(app.effects(None).await.is_empty());

    app.reserve(&key(), "order-2", &[("MUG-CLASSIC", 1)])
        .await
        .assert_status(201);
    app.charge(&key(), "order-2", "cust-ok", 100)
        .await
        .assert_status(201);
    assert_eq!(app.effects(None).await.len(), 2);
}

#[tokio::test]
async fn services_limit_where_faults_apply() {
    let app = spawn_app().await;
    app.set_faults(json!({ "errorRate": 1.0, "services": ["payments"] }))
        .await;
    app.charge(&key(), "order-1", "cust-1", 100)
        .await
        .assert_problem(503, "injected-fault");
    app.reserve(&key(), "order-1", &[("MUG-CLASSIC", 1)])
        .await
        .assert_status(201);
    app.post(
        "/notifications",
        Some(&key()),
        &notification("order-1", "hi"),
    )
    .await
    .assert_status(201);
}

#[tokio::test]
async fn latency_is_added_and_the_request_still_succeeds() {
    let app = spawn_app().await;
    app.set_faults(json!({ "latencyMs": 400 })).await;
    // Only a lower bound, which no load on the machine can break: the answer cannot come before
    // the injected delay has passed. (400 ms: far more than a local call takes without it, so a
    // delay that is not applied fails here.)
    let started = std::time::Instant::now();
    app.charge(&key(), "order-1", "cust-1", 100)
        .await
        .assert_status(201);
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(400),
        "answered after {took:?}, before the injected 400 ms"
    );
    assert_eq!(app.get("/admin/faults").await.body["latencyMs"], 400);
}

#[tokio::test]
async fn fault_config_round_trips_and_rejects_nonsense() {
    let app = spawn_app().await;
    let defaults = app.get("/admin/faults").await;
    defaults.assert_status(200);
    assert_eq!(
        defaults.body,
        json!({ "errorRate": 0.0, "latencyMs": 0, "lostResponseRate": 0.0, "services": [], "failSkus": [], "failCustomers": [] })
    );
    let set = app
        .put(
            "/admin/faults",
            &json!({ "errorRate": 0.25, "services": ["inventory", "shipments"] }),
        )
        .await;
    set.assert_status(200);
    assert_eq!(set.body["errorRate"], 0.25);
    assert_eq!(set.body["services"], json!(["inventory", "shipments"]));

    app.put("/admin/faults", &json!({ "errorRate": 1.5 }))
        .await
        .assert_problem(422, "invalid-request");
    app.put("/admin/faults", &json!({ "lostResponseRate": -0.1 }))
        .await
        .assert_problem(422, "invalid-request");
    app.put("/admin/faults", &json!({ "services": ["billing"] }))
        .await
        .assert_problem(422, "invalid-request");
    app.put("/admin/faults", &json!({ "errorRat": 0.5 }))
        .await
        .assert_problem(422, "invalid-request");
    // Rejected updates leave the last good config in place.
    assert_eq!(app.get("/admin/faults").await.body["errorRate"], 0.25);
}

#[tokio::test]
async fn initial_faults_come_from_config() {
    let mut config = Config::default();
    config.faults.error_rate = 1.0;
    let app = spawn_app_with(config).await;
    app.charge(&key(), "order-1", "cust-1", 100)
        .await
        .assert_problem(503, "injected-fault");
    // Reads are never faulted: the ledger must stay inspectable during chaos.
    app.get("/ledger").await.assert_status(200);
}
