use serde_json::json;

use crate::helpers::{key, reservation, spawn_app};

#[tokio::test]
async fn health_and_catalog() {
    let app = spawn_app().await;
    let health = app.get("/health").await;
    health.assert_status(200);
    assert_eq!(health.body, json!({ "status": "ok" }));

    let catalog = app.get("/catalog").await;
    catalog.assert_status(200);
    let items = catalog.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    let mug = items
        .iter()
        .find(|item| item["sku"] == "MUG-CLASSIC")
        .expect("mug in catalog");
    assert_eq!(mug["unitPriceMinor"], 1400);
    assert_eq!(mug["currency"], "USD");
    assert_eq!(mug["available"], 50);
    assert!(mug["name"].as_str().is_some_and(|n| !n.is_empty()));
}

#[tokio::test]
async fn reservation_takes_stock_and_records_one_effect_per_line() {
    let app = spawn_app().await;
    let answer = app
        .reserve(&key(), "order-1", &[("MUG-CLASSIC", 2), ("CAP-NAVY", 3)])
        .await;
    answer.assert_status(201);
    assert!(
        answer.body["reservationId"]
            .as_str()
            .is_some_and(|id| id.starts_with("rsv_"))
    );
    assert_eq!(answer.body["orderId"], "order-1");
    assert_eq!(
        answer.body["items"],
        json!([{ "sku": "MUG-CLASSIC", "quantity": 2 }, { "sku": "CAP-NAVY", "quantity": 3 }])
    );

    assert_eq!(app.stock("MUG-CLASSIC").await, 48);
    assert_eq!(app.stock("CAP-NAVY").await, 7);
    let reserves = app.effects_of("reserve", Some("order-1")).await;
    assert_eq!(reserves.len(), 2);
    assert!(
        reserves
            .iter()
            .all(|e| e["reference"] == answer.body["reservationId"])
    );
    assert_eq!(app.catalog_available("CAP-NAVY").await, 7);
}

#[tokio::test]
async fn out_of_stock_reserves_nothing() {
    let app = spawn_app().await;
    // The first line fits, the second does not: neither may be taken.
    let answer = app
        .reserve(&key(), "order-1", &[("MUG-CLASSIC", 5), ("CAP-NAVY", 11)])
        .await;
    answer.assert_problem(409, "out-of-stock");
    assert_eq!(answer.body["sku"], "CAP-NAVY");
    assert_eq!(answer.body["available"], 10);

    assert_eq!(app.stock("MUG-CLASSIC").await, 50);
    assert_eq!(app.stock("CAP-NAVY").await, 10);
    assert!(app.effects(None).await.is_empty());
}

#[tokio::test]
async fn unknown_sku_is_422() {
    let app = spawn_app().await;
    let answer = app
        .reserve(&key(), "order-1", &[("MUG-CLASSIC", 1), ("NO-SUCH-SKU", 1)])
        .await;
    answer.assert_problem(422, "unknown-sku");
    assert_eq!(answer.body["sku"], "NO-SUCH-SKU");
    assert_eq!(app.stock("MUG-CLASSIC").await, 50);
    assert!(app.effects(None).await.is_empty());
}

#[tokio::test]
async fn release_returns_stock_exactly_once() {
    let app = spawn_app().await;
    let reserved = app.reserve(&key(), "order-1", &[("HOODIE-GRY-M", 4)]).await;
    let id = reserved.body["reservationId"].as_str().unwrap();
    assert_eq!(app.stock("HOODIE-GRY-M").await, 21);

    let path = format!("/inventory/reservations/{id}/release");
    let first = app.post(&path, Some(&key()), &json!({})).await;
    first.assert_status(200);
    assert_eq!(first.body, json!({ "reservationId": id, "released": true }));
    assert_eq!(app.stock("HOODIE-GRY-M").await, 25);

    // A second release under a NEW key is a new request, yet must not return stock again.
    let second = app
        .client
        .post(app.url(&path))
        .header("Idempotency-Key", key())
        .send()
        .await
        .unwrap();
    let second = crate::helpers::read(second).await;
    second.assert_status(200);
    assert_eq!(second.body, first.body);
    assert!(!second.replayed());
    assert_eq!(app.stock("HOODIE-GRY-M").await, 25);
    assert_eq!(app.effects_of("release", Some("order-1")).await.len(), 1);
}

#[tokio::test]
async fn releasing_an_unknown_reservation_is_404() {
    let app = spawn_app().await;
    app.post(
        "/inventory/reservations/rsv_nope/release",
        Some(&key()),
        &json!({}),
    )
    .await
    .assert_problem(404, "not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reservations_never_oversell() {
    let app = spawn_app().await;
    app.set_stock("CAP-NAVY", 5).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..12 {
        let client = app.client.clone();
        let url = app.url("/inventory/reservations");
        tasks.spawn(async move {
            let body = reservation(&format!("order-{n}"), &[("CAP-NAVY", 1)]);
            let response = client
                .post(url)
                .header("Idempotency-Key", format!("race-{n}"))
                .json(&body)
                .send()
                .await;
            response.unwrap().status().as_u16()
        });
    }
    let statuses: Vec<u16> = tasks.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(app.stock("CAP-NAVY").await, 0);
    assert_eq!(app.effects_of("reserve", None).await.len(), 5);
}

/// Stock is conserved: for every SKU, initial − reserved + released = available, computed from
/// the ledger alone, after a mix of successes, rejections, lost responses and retries.
#[tokio::test]
async fn ledger_accounts_for_all_stock_under_faults() {
    let app = spawn_app().await;
    let initial: std::collections::HashMap<String, i64> = app.get("/catalog").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["sku"].as_str().unwrap().to_owned(),
                item["available"].as_i64().unwrap(),
            )
        })
        .collect();

    let mut reservations = Vec::new();
    for n in 0..8_u32 {
        // Every other request "loses" its response; the client retries with the same key.
        let lost = n % 2 == 0;
        app.set_faults(json!({ "lostResponseRate": if lost { 1.0 } else { 0.0 } }))
            .await;
        let k = key();
        let items = [("CAP-NAVY", 1 + n % 3), ("MUG-CLASSIC", 2)];
        let first = app.reserve(&k, &format!("order-{n}"), &items).await;
        app.set_faults(json!({})).await;
        let answer = if lost {
            app.reserve(&k, &format!("order-{n}"), &items).await
        } else {
            first
        };
        if answer.status == 201 {
            reservations.push(answer.body["reservationId"].as_str().unwrap().to_owned());
        } else {
            answer.assert_problem(409, "out-of-stock");
        }
    }
    for id in reservations.iter().step_by(2) {
        let path = format!("/inventory/reservations/{id}/release");
        app.post(&path, Some(&key()), &json!({}))
            .await
            .assert_status(200);
        app.post(&path, Some(&key()), &json!({}))
            .await
            .assert_status(200);
    }

    let ledger = app.get("/ledger").await.body;
    for (sku, initial) in &initial {
        let moved: i64 = ledger["effects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["sku"] == sku.as_str())
            .map(|e| {
                let quantity = e["quantity"].as_i64().unwrap();
                if e["kind"] == "reserve" {
                    -quantity
                } else {
                    quantity
                }
            })
            .sum();
        assert_eq!(ledger["stock"][sku], initial + moved, "{sku}");
    }
    assert!(!reservations.is_empty() && ledger["stock"]["CAP-NAVY"].as_i64().unwrap() < 10);
}
