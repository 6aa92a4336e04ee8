//! The real `storefront` binary, configured the way an operator does it (`--ingest-url` and
//! `SHOPFLOW_INGEST_SECRET`), forwarding to a tiny in-test ingest that checks the signature with
//! ingest-fn's own `verify` and keeps what it received.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use shared::signing::{SIGNATURE_HEADER, Secret, TIMESTAMP_HEADER, unix_now, verify};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::place_order_body;

/// One request as the stand-in ingest received it.
#[derive(Clone, Debug)]
struct Received {
    timestamp: Option<String>,
    signature: Option<String>,
    body: Bytes,
}

/// Accepts every request (202, like ingest-fn's "started") and records it.
async fn stand_in_ingest() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let app = axum::Router::new().route(
        "/orders",
        post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let order: Value = serde_json::from_slice(&body).unwrap_or_default();
                log.lock().unwrap().push(Received {
                    timestamp: header(TIMESTAMP_HEADER),
                    signature: header(SIGNATURE_HEADER),
                    body,
                });
                let workflow_id =
                    format!("order-{}", order["orderId"].as_str().unwrap_or_default());
                (
                    StatusCode::ACCEPTED,
                    axum::Json(
                        json!({ "workflowId": workflow_id, "runId": "r1", "duplicate": false }),
                    ),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/orders", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn the_binary_signs_forwarded_orders_with_the_secret_from_its_environment() {
    let (ingest_url, received) = stand_in_ingest().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_storefront"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--ingest-url",
            &ingest_url,
            "--db",
        ])
        .arg(dir.path().join("shop.db"))
        .env(
            "SHOPFLOW_INGEST_SECRET",
            "the-shared-secret-of-32-bytes-or-more",
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("storefront starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = line
        .strip_prefix("storefront listening on ")
        .expect("the address line")
        .to_owned();

    let response = reqwest::Client::new()
        .post(format!("{base}/shop/orders"))
        .json(&place_order_body("cust-7"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    let order_id = answer["orderId"].as_str().unwrap().to_owned();
    assert_eq!(answer["workflowId"], format!("order-{order_id}"));
    assert_eq!(
        answer["statusUrl"],
        format!("/shop/orders/{order_id}/status")
    );

    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "exactly one forwarded request");
    let request = &got[0];
    let secret = Secret::new("the-shared-secret-of-32-bytes-or-more").unwrap();
    let check = |secret: &Secret, body: &[u8]| {
        verify(
            secret,
            request.timestamp.as_deref(),
            request.signature.as_deref(),
            body,
            unix_now(),
        )
    };
    assert_eq!(
        check(&secret, &request.body),
        Ok(()),
        "ingest-fn's verify accepts the signature"
    );
    // And the check has teeth: another secret, or one changed byte, is refused.
    assert!(check(&Secret::random(), &request.body).is_err());
    let mut tampered = request.body.to_vec();
    tampered[10] ^= 1;
    assert!(check(&secret, &tampered).is_err());

    // What left is a complete order that ingest-fn's parser accepts, priced from the catalog.
    let order = shared::parse_order(&request.body).expect("a valid order");
    assert_eq!(order.order_id.as_str(), order_id);
    assert_eq!(order.customer.id.as_str(), "cust-7");
    let prices: Vec<(String, i64)> = order
        .items
        .iter()
        .map(|i| (i.sku.to_string(), i.unit_price_minor.get()))
        .collect();
    assert_eq!(
        prices,
        [
            ("MUG-CLASSIC".to_owned(), 1_400),
            ("STICKER-PACK".to_owned(), 500)
        ]
    );
    assert_eq!(
        order.shipping_address.line2, None,
        "an empty second line is left out"
    );

    // A body with a key twice is read one way (the last value wins), and what leaves is a fresh
    // serialization with the key once: ingest cannot read it differently from the storefront.
    let mut twice = place_order_body("cust-first").to_string();
    twice.insert_str(
        twice.len() - 1,
        r#","customer":{"id":"cust-last","email":"x@example.com"}"#,
    );
    let response = reqwest::Client::new()
        .post(format!("{base}/shop/orders"))
        .header("content-type", "application/json")
        .body(twice)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let forwarded = received.lock().unwrap()[1].body.clone();
    let text = String::from_utf8(forwarded.to_vec()).unwrap();
    assert_eq!(text.matches("\"customer\"").count(), 1, "{text}");
    assert_eq!(
        shared::parse_order(&forwarded)
            .unwrap()
            .customer
            .id
            .as_str(),
        "cust-last"
    );
}
