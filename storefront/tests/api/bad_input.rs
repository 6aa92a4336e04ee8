//! Malformed, oversized and hostile input: a clear 4xx problem, and nothing stored — proven by
//! an empty ledger, unchanged stock, and the same key still being usable for a valid request.

use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, charge, key, read, reservation, spawn_app};

/// Sends `body` under a fresh key, expects `status`/`slug`, then checks nothing was stored.
async fn rejected(
    app: &TestApp,
    path: &str,
    body: impl Into<reqwest::Body>,
    status: u16,
    slug: &str,
) -> Answer {
    let k = key();
    let answer = app.post_raw(path, &k, body).await;
    answer.assert_problem(status, slug);
    assert!(app.effects(None).await.is_empty(), "no effect after {slug}");
    assert_eq!(app.stock("MUG-CLASSIC").await, 50);
    // The key was not consumed by the rejected request.
    let valid = match path {
        "/inventory/reservations" => reservation("order-ok", &[("MUG-CLASSIC", 1)]),
        _ => charge("order-ok", "cust-1", 100),
    };
    let endpoint = if path == "/inventory/reservations" {
        path
    } else {
        "/payments/charges"
    };
    app.post(endpoint, Some(&k), &valid)
        .await
        .assert_status(201);
    app.post("/admin/reset", None, &json!({}))
        .await
        .assert_status(204);
    answer
}

fn text(value: Value) -> String {
    value.to_string()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for body in ["{\"orderId\": ", "not json", "{\"a\":1}}", "\u{feff}{}"] {
        rejected(&app, "/payments/charges", body, 400, "malformed-json").await;
    }
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    rejected(&app, "/payments/charges", deep, 400, "malformed-json").await;
}

#[tokio::test]
async fn missing_fields_and_wrong_types_are_422_naming_the_field() {
    let app = spawn_app().await;
    let answer = rejected(
        &app,
        "/payments/charges",
        text(json!({ "orderId": "o1", "customerId": "c1", "currency": "USD" })),
        422,
        "invalid-request",
    )
    .await;
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("amountMinor"),
        "{}",
        answer.body
    );

    let answer = rejected(
        &app,
        "/payments/charges",
        text(
            json!({ "orderId": "o1", "customerId": "c1", "amountMinor": "100", "currency": "USD" }),
        ),
        422,
        "invalid-request",
    )
    .await;
    assert_eq!(answer.body["field"], "amountMinor");

    let answer = rejected(
        &app,
        "/inventory/reservations",
        text(json!({ "orderId": "o1", "items": [{ "sku": "MUG-CLASSIC", "quantity": 1.5 }] })),
        422,
        "invalid-request",
    )
    .await;
    assert_eq!(answer.body["field"], "items[0].quantity");

    for body in [
        json!([]),
        json!("charge"),
        json!(null),
        json!({ "orderId": 7, "items": [] }),
    ] {
        rejected(
            &app,
            "/inventory/reservations",
            text(body),
            422,
            "invalid-request",
        )
        .await;
    }
}

#[tokio::test]
async fn zero_and_negative_numbers_are_422() {
    let app = spawn_app().await;
    for quantity in [json!(0), json!(-1), json!(10_001), json!(4_294_967_296_u64)] {
        let body =
            json!({ "orderId": "o1", "items": [{ "sku": "MUG-CLASSIC", "quantity": quantity }] });
        rejected(
            &app,
            "/inventory/reservations",
            text(body),
            422,
            "invalid-request",
        )
        .await;
    }
    for amount in [json!(0), json!(-100), json!(i64::MIN)] {
        let body = json!({ "orderId": "o1", "customerId": "c1", "amountMinor": amount, "currency": "USD" });
        rejected(
            &app,
            "/payments/charges",
            text(body),
            422,
            "invalid-request",
        )
        .await;
    }
    for currency in ["usd", "US", "EURO", ""] {
        let body =
            json!({ "orderId": "o1", "customerId": "c1", "amountMinor": 1, "currency": currency });
        rejected(
            &app,
            "/payments/charges",
            text(body),
            422,
            "invalid-request",
        )
        .await;
    }
}

#[tokio::test]
async fn empty_and_duplicate_item_lists_are_422() {
    let app = spawn_app().await;
    rejected(
        &app,
        "/inventory/reservations",
        text(reservation("o1", &[])),
        422,
        "invalid-request",
    )
    .await;
    let duplicate = reservation("o1", &[("MUG-CLASSIC", 1), ("MUG-CLASSIC", 2)]);
    rejected(
        &app,
        "/inventory/reservations",
        text(duplicate),
        422,
        "invalid-request",
    )
    .await;
}

#[tokio::test]
async fn hostile_strings_are_rejected() {
    let app = spawn_app().await;
    let hostile_skus = [
        "MUG-CLASSIC' OR '1'='1",
        "'; DROP TABLE stock; --",
        "MÜG",
        "MUG\u{0}",
        &"A".repeat(65),
    ];
    for sku in hostile_skus {
        rejected(
            &app,
            "/inventory/reservations",
            text(reservation("o1", &[(sku, 1)])),
            422,
            "invalid-request",
        )
        .await;
    }
    let hostile_ids = ["order 1", "ordér-1", "order-1\n", "", &"o".repeat(129)];
    for order_id in hostile_ids {
        rejected(
            &app,
            "/payments/charges",
            text(charge(order_id, "cust-1", 100)),
            422,
            "invalid-request",
        )
        .await;
    }
    // The catalog survived all of it.
    assert_eq!(
        app.get("/catalog").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app().await;
    let padding = "x".repeat(70 * 1024);
    let body = text(
        json!({ "orderId": "o1", "customerId": "c1", "amountMinor": 1, "currency": "USD", "pad": padding }),
    );
    let answer = rejected(&app, "/payments/charges", body, 413, "payload-too-large").await;
    assert_eq!(answer.body["limitBytes"], 65_536);
}

#[tokio::test]
async fn bad_idempotency_keys_are_400() {
    let app = spawn_app().await;
    let body = charge("o1", "c1", 100);
    let long = "k".repeat(256);
    for bad_key in [long.as_str(), "with space", ""] {
        let response = app
            .client
            .post(app.url("/payments/charges"))
            .header("Idempotency-Key", bad_key)
            .json(&body)
            .send();
        read(response.await.unwrap())
            .await
            .assert_problem(400, "invalid-idempotency-key");
    }
    let non_ascii = reqwest::header::HeaderValue::from_bytes("ключ".as_bytes()).unwrap();
    let response = app
        .client
        .post(app.url("/payments/charges"))
        .header("Idempotency-Key", non_ascii)
        .json(&body)
        .send();
    read(response.await.unwrap())
        .await
        .assert_problem(400, "invalid-idempotency-key");
    // 255 characters is the documented maximum and works.
    app.charge(&"k".repeat(255), "o1", "c1", 100)
        .await
        .assert_status(201);
    assert_eq!(app.effects(None).await.len(), 1);
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/payments/charges"))
        .header("Idempotency-Key", key())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("orderId=o1&amountMinor=100")
        .send();
    read(response.await.unwrap())
        .await
        .assert_problem(415, "unsupported-media-type");
    assert!(app.effects(None).await.is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    app.get("/nope").await.assert_problem(404, "not-found");
    app.get("/payments/charges")
        .await
        .assert_problem(405, "method-not-allowed");
}

#[tokio::test]
async fn hostile_path_ids_and_queries_are_problems() {
    let app = spawn_app().await;
    for id in ["'%20OR%20'1'='1", "%FF%FE", "rsv_%00", &"x".repeat(2000)] {
        let path = format!("/inventory/reservations/{id}/release");
        app.post(&path, Some(&key()), &json!({}))
            .await
            .assert_problem(404, "not-found");
    }
    app.get("/ledger?orderId=a&orderId=b")
        .await
        .assert_problem(422, "invalid-request");
    app.put("/admin/stock/%FF", &json!({ "available": 1 }))
        .await
        .assert_problem(404, "not-found");
    assert!(app.effects(None).await.is_empty());
}
