//! Bad input to `POST /shop/orders` is answered here with a 4xx problem and never forwarded.
//!
//! The ingest URL points at a port nobody listens on: a request that got as far as forwarding
//! would answer 502, so each 4xx below proves the order was stopped before leaving (and the
//! first test proves a valid order does get that far).

use serde_json::{Value, json};
use storefront::web::{IngestTarget, WebSettings, parse_http_url};

use crate::support::{Shop, place_order_body};

async fn shop_with_dead_ingest() -> Shop {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Shop::start(WebSettings {
        ingest: Some(IngestTarget {
            url: parse_http_url(&format!("http://127.0.0.1:{port}/orders")).unwrap(),
            secret: Some(shared::signing::Secret::random()),
        }),
        ..WebSettings::default()
    })
    .await
}

#[track_caller]
fn assert_problem(answer: &(u16, Value), status: u16, slug: &str, case: &str) {
    assert_eq!(answer.0, status, "{case}: {}", answer.1);
    assert_eq!(
        answer.1["type"],
        format!("https://shopflow.dev/problems/{slug}"),
        "{case}: {}",
        answer.1
    );
}

#[tokio::test]
async fn a_valid_order_is_forwarded_and_an_unreachable_ingest_is_a_502() {
    let shop = shop_with_dead_ingest().await;
    let answer = shop
        .post_json("/shop/orders", &place_order_body("cust-1"))
        .await;
    assert_problem(&answer, 502, "upstream-unavailable", "dead ingest");
    assert!(
        answer.1["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{}",
        answer.1
    );
}

#[tokio::test]
async fn without_an_ingest_url_placing_orders_is_503_not_configured() {
    let shop = Shop::start(WebSettings::default()).await;
    let answer = shop
        .post_json("/shop/orders", &place_order_body("cust-1"))
        .await;
    assert_problem(&answer, 503, "not-configured", "no ingest");
    assert!(
        answer.1["detail"]
            .as_str()
            .unwrap()
            .contains("SHOPFLOW_INGEST_URL")
    );
}

#[tokio::test]
async fn malformed_oversized_and_non_json_bodies_are_refused() {
    let shop = shop_with_dead_ingest().await;
    assert_problem(
        &shop
            .post_raw("/shop/orders", "application/json", "{\"customer\":")
            .await,
        400,
        "malformed-json",
        "truncated",
    );
    assert_problem(
        &shop
            .post_raw("/shop/orders", "application/json", "[1,2]")
            .await,
        422,
        "invalid-request",
        "array",
    );
    assert_problem(
        &shop.post_raw("/shop/orders", "text/plain", "hello").await,
        415,
        "unsupported-media-type",
        "text",
    );
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    assert_problem(
        &shop
            .post_raw("/shop/orders", "application/json", huge)
            .await,
        413,
        "payload-too-large",
        "70 KiB",
    );
    assert_problem(
        &shop.post_raw("/shop/orders", "application/json", "").await,
        422,
        "invalid-request",
        "empty",
    );
    let post = |body: Vec<u8>| shop.post_raw("/shop/orders", "application/json", body);
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_problem(
        &post(nested.into_bytes()).await,
        400,
        "malformed-json",
        "deeply nested",
    );
    let invalid_utf8 = b"{\"customer\":{\"id\":\"\xff\xfe\"}}".to_vec();
    assert_problem(
        &post(invalid_utf8).await,
        400,
        "malformed-json",
        "bad UTF-8",
    );
}

#[tokio::test]
async fn orders_that_break_a_rule_are_refused_naming_the_field() {
    let shop = shop_with_dead_ingest().await;
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut body = place_order_body("cust-1");
        f(&mut body);
        body
    };
    let cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        (
            "empty cart",
            edit(&|b| b["items"] = json!([])),
            422,
            "invalid-request",
            "items",
        ),
        (
            "unknown SKU",
            edit(&|b| b["items"][0]["sku"] = json!("NOPE")),
            422,
            "unknown-sku",
            "items[0].sku",
        ),
        (
            "zero quantity",
            edit(&|b| b["items"][0]["quantity"] = json!(0)),
            422,
            "invalid-request",
            "items[0].quantity",
        ),
        (
            "huge quantity",
            edit(&|b| b["items"][0]["quantity"] = json!(1_000_000)),
            422,
            "invalid-request",
            "items[0].quantity",
        ),
        (
            "fractional quantity",
            edit(&|b| b["items"][0]["quantity"] = json!(1.5)),
            422,
            "invalid-request",
            "items[0].quantity",
        ),
        (
            "duplicate SKU lines",
            edit(&|b| b["items"][1]["sku"] = json!("MUG-CLASSIC")),
            422,
            "invalid-request",
            "items",
        ),
        (
            "a price from the browser",
            edit(&|b| b["items"][0]["unitPriceMinor"] = json!(1)),
            422,
            "invalid-request",
            "items[0]",
        ),
        (
            "an order ID from the browser",
            edit(&|b| b["orderId"] = json!("mine")),
            422,
            "invalid-request",
            "",
        ),
        (
            "bad e-mail",
            edit(&|b| b["customer"]["email"] = json!("not-an-email")),
            422,
            "invalid-request",
            "customer.email",
        ),
        (
            "hostile customer ID",
            edit(&|b| b["customer"]["id"] = json!("'; DROP TABLE orders;--")),
            422,
            "invalid-request",
            "customer.id",
        ),
        (
            "control characters",
            edit(&|b| b["shippingAddress"]["name"] = json!("Ada\u{0}\u{1b}[2J")),
            422,
            "invalid-request",
            "shippingAddress.name",
        ),
        (
            "unknown country",
            edit(&|b| b["shippingAddress"]["country"] = json!("germany")),
            422,
            "invalid-request",
            "shippingAddress.country",
        ),
        (
            "missing address",
            edit(&|b| {
                b.as_object_mut().unwrap().remove("shippingAddress");
            }),
            422,
            "invalid-request",
            "",
        ),
        (
            "line1 too long",
            edit(&|b| b["shippingAddress"]["line1"] = json!("x".repeat(101))),
            422,
            "invalid-request",
            "shippingAddress.line1",
        ),
        (
            "wrong type",
            edit(&|b| b["customer"] = json!("ada")),
            422,
            "invalid-request",
            "customer",
        ),
    ];
    for (case, body, status, slug, field) in cases {
        let answer = shop.post_json("/shop/orders", &body).await;
        assert_problem(&answer, status, slug, case);
        if !field.is_empty() {
            // The `field` member names the first broken rule; `errors` lists all of them.
            let mut named: Vec<&str> = answer.1["field"].as_str().into_iter().collect();
            named.extend(
                answer.1["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["field"].as_str()),
            );
            assert!(
                named.iter().any(|n| n.starts_with(field)),
                "{case}: fields {named:?}, expected {field:?}: {}",
                answer.1
            );
        }
    }
}

#[tokio::test]
async fn dashboard_queries_out_of_range_or_unknown_are_422() {
    let shop = Shop::start(WebSettings::default()).await;
    for path in [
        "/dashboard/api/orders?limit=0",
        "/dashboard/api/orders?limit=100000",
        "/dashboard/api/orders?limit=abc",
        "/dashboard/api/orders?query=WorkflowType%3D%27x%27",
        "/dashboard/api/lambda?seconds=0",
        "/dashboard/api/lambda?seconds=-1",
        "/dashboard/api/lambda?url=http://evil.example",
    ] {
        let answer = shop.get(path).await;
        assert_problem(&answer, 422, "invalid-request", path);
    }
}
