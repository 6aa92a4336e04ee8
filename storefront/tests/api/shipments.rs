use serde_json::json;
use storefront::Config;

use crate::helpers::{key, shipment, spawn_app, spawn_app_with};

#[tokio::test]
async fn shipment_gets_a_tracking_number() {
    let app = spawn_app().await;
    let mut body = shipment("order-1", "DE", "10115");
    // International addresses are unicode; an explicit null line2 is "absent".
    body["address"]["line1"] = json!("Straße des 17. Juni 135");
    body["address"]["city"] = json!("Zürich—東京");
    body["address"]["line2"] = json!(null);
    let answer = app.post("/shipments", Some(&key()), &body).await;
    answer.assert_status(201);
    assert!(
        answer.body["shipmentId"]
            .as_str()
            .is_some_and(|id| id.starts_with("shp_"))
    );
    assert_eq!(answer.body["orderId"], "order-1");
    assert!(
        answer.body["trackingNumber"]
            .as_str()
            .is_some_and(|t| t.len() > 8)
    );
    assert_eq!(app.effects_of("ship", Some("order-1")).await.len(), 1);
}

#[tokio::test]
async fn undeliverable_addresses_are_422() {
    let app = spawn_app().await;
    for (country, postal_code) in [("US", "00000"), ("BR", "01000-000")] {
        let answer = app
            .post(
                "/shipments",
                Some(&key()),
                &shipment("order-1", country, postal_code),
            )
            .await;
        answer.assert_problem(422, "undeliverable-address");
        assert_eq!(answer.body["country"], country);
    }
    assert!(app.effects(None).await.is_empty());
}

#[tokio::test]
async fn deliverable_countries_come_from_config() {
    let mut config = Config::default();
    config.shipping.countries = vec!["BR".to_owned().try_into().unwrap()];
    let app = spawn_app_with(config).await;
    app.post(
        "/shipments",
        Some(&key()),
        &shipment("order-1", "BR", "01000-000"),
    )
    .await
    .assert_status(201);
    app.post(
        "/shipments",
        Some(&key()),
        &shipment("order-2", "US", "10001"),
    )
    .await
    .assert_problem(422, "undeliverable-address");
}

#[tokio::test]
async fn cancel_happens_once() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/shipments",
            Some(&key()),
            &shipment("order-1", "US", "10001"),
        )
        .await;
    let id = created.body["shipmentId"].as_str().unwrap();
    let path = format!("/shipments/{id}/cancel");
    for _ in 0..2 {
        let answer = app.post(&path, Some(&key()), &json!({})).await;
        answer.assert_status(200);
        assert_eq!(answer.body, json!({ "shipmentId": id, "cancelled": true }));
    }
    assert_eq!(
        app.effects_of("cancel_shipment", Some("order-1"))
            .await
            .len(),
        1
    );
    app.post("/shipments/shp_nope/cancel", Some(&key()), &json!({}))
        .await
        .assert_problem(404, "not-found");
}
