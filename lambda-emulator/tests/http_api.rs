//! The HTTP API event source: routing from the functions' `HttpApi` events, the 2.0 event the
//! function receives, how its answer becomes the HTTP response, and the integration timeout.

mod common;

use common::*;
use lambda_emulator::HttpRoute;
use serde_json::{Value, json};

fn route(method: &str, path: &str) -> HttpRoute {
    HttpRoute {
        method: method.into(),
        path: path.into(),
    }
}

async fn emulator() -> lambda_emulator::RunningEmulator {
    let mut orders = test_function("orders");
    orders.http_routes = vec![
        route("POST", "/orders"),
        route("GET", "/orders/{id}"),
        route("ANY", "/plain"),
        route("ANY", "/status/{code}"),
    ];
    let mut fallback = test_function("fallback");
    fallback.http_routes = vec![route("ANY", "$default")];
    let mut failing = test_function("failing");
    failing.http_routes = vec![route("GET", "/broken")];
    failing.binary = "/no/such/binary".into();
    start(vec![orders, fallback, failing]).await
}

#[tokio::test]
async fn a_request_becomes_a_2_0_event_and_the_structured_answer_the_response() {
    let emulator = emulator().await;
    let response = client()
        .post(format!("{}/orders?a=1&a=2&b=x%20y", emulator.http_url()))
        .header("x-custom", "one")
        .header("cookie", "c1=v1; c2=v2")
        .json(&json!({ "orderId": "o-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-test-fn"], "yes");
    assert!(response.headers().contains_key("apigw-requestid"));
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/orders");
    assert_eq!(seen["routeKey"], "POST /orders");
    assert_eq!(seen["query"], "a=1&a=2&b=x%20y");
    assert_eq!(seen["body"], r#"{"orderId":"o-1"}"#);
    assert_eq!(seen["isBase64Encoded"], false);
    assert_eq!(seen["headers"]["x-custom"], "one");
    assert!(
        seen["headers"].get("cookie").is_none(),
        "cookies travel in their own field"
    );
}

#[tokio::test]
async fn the_event_carries_what_api_gateway_sends() {
    let emulator = emulator().await;
    let seen: Value = client()
        .get(format!("{}/orders/42", emulator.http_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["version"], "2.0");
    assert_eq!(seen["routeKey"], "GET /orders/{id}");
    let context = &seen["requestContext"];
    assert_eq!(context["http"]["method"], "GET");
    assert_eq!(context["http"]["path"], "/orders/42");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(
        (context["stage"].as_str(), context["accountId"].as_str()),
        (Some("$default"), Some("000000000000"))
    );
    assert!(context["requestId"].is_string() && context["timeEpoch"].as_i64().unwrap() > 0);
    assert_eq!(seen["pathParameters"], json!({ "id": "42" }));

    let binary = client()
        .post(format!("{}/anything/else", emulator.http_url()))
        .body(vec![0u8, 159, 146, 150])
        .send()
        .await
        .unwrap();
    assert_eq!(binary.status(), 200);
    let seen: Value = binary.json().await.unwrap();
    assert_eq!(seen["routeKey"], "$default");
    assert_eq!(seen["isBase64Encoded"], true);
    assert_eq!(seen["body"], "AJ+Slg==");

    // API Gateway's added headers.
    let headers = &seen["headers"];
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(
        headers["x-forwarded-port"],
        emulator.http_addr().port().to_string()
    );
    assert!(
        headers["x-amzn-trace-id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-"),
        "{headers}"
    );
}

/// API Gateway base64-encodes every body whose content type is not text, even when its bytes
/// are valid UTF-8: a function that ignores `isBase64Encoded` fails on AWS with form posts.
#[tokio::test]
async fn bodies_of_non_text_content_types_arrive_base64_encoded() {
    let emulator = emulator().await;
    let url = format!("{}/anything/else", emulator.http_url());
    for (content_type, base64) in [
        ("application/json", false),
        ("application/json; charset=utf-8", false),
        ("application/problem+json", false),
        ("text/plain", false),
        ("application/xml", false),
        ("application/x-www-form-urlencoded", true),
        ("application/octet-stream", true),
        ("image/png", true),
    ] {
        let seen: Value = client()
            .post(&url)
            .header("content-type", content_type)
            .body("a=1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(seen["isBase64Encoded"], base64, "{content_type}");
        assert_eq!(
            seen["body"],
            if base64 { "YT0x" } else { "a=1" },
            "{content_type}"
        );
    }
}

/// API Gateway takes up to 10 MB, but the event must fit Lambda's 6 MB: a 5 MB binary body
/// (6.7 MB in base64) is refused, the same body as text is not.
#[tokio::test]
async fn the_event_must_fit_lambdas_payload_limit() {
    let emulator = emulator().await;
    let url = format!("{}/anything/else", emulator.http_url());
    let body = "a".repeat(5 * 1024 * 1024);
    let binary = client()
        .post(&url)
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(binary.status(), 413);
    let text = client()
        .post(&url)
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_ne!(text.status(), 413);
    let over = client()
        .post(&url)
        .header("content-type", "text/plain")
        .body("a".repeat(11 * 1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), 413);
}

#[tokio::test]
async fn plain_json_answers_follow_the_inference_rule() {
    let emulator = emulator().await;
    let response = client()
        .get(format!("{}/plain", emulator.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "plain": true })
    );
    let teapot = client()
        .delete(format!("{}/status/418", emulator.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(teapot.status(), 418);
}

#[tokio::test]
async fn routing_misses_and_function_failures_get_api_gateway_errors() {
    let mut only = test_function("only");
    only.http_routes = vec![route("POST", "/orders")];
    let narrow = start(vec![only]).await;
    for (method, path) in [
        ("GET", "/orders"),
        ("POST", "/orders/1"),
        ("POST", "/"),
        ("POST", "/ORDERS"),
    ] {
        let response = client()
            .request(
                method.parse().unwrap(),
                format!("{}{path}", narrow.http_url()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "message": "Not Found" })
        );
    }
    let too_big = client()
        .post(format!("{}/orders", narrow.http_url()))
        .body(vec![b'x'; 6 * 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);

    let emulator = emulator().await;
    let broken = client()
        .get(format!("{}/broken", emulator.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 500);
    assert_eq!(
        broken.json::<Value>().await.unwrap(),
        json!({ "message": "Internal Server Error" })
    );
}

/// API Gateway gives up on an integration after 30 s (here shortened) with a 503; the Lambda
/// invocation is not cut off — it runs to its end.
#[tokio::test]
async fn a_function_slower_than_the_integration_timeout_gets_a_503_and_runs_on() {
    let mut slow = test_function("slow");
    slow.http_routes = vec![route("GET", "/sleep/{ms}")];
    slow.timeout = std::time::Duration::from_secs(30);
    let config = lambda_emulator::EmulatorConfig {
        http_integration_timeout: std::time::Duration::from_millis(200),
        ..test_config()
    };
    let emulator = start_with(config, vec![slow]).await;
    let response = client()
        .get(format!("{}/sleep/2000", emulator.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "message": "Service Unavailable" })
    );
    let stats = eventually("the invocation to finish", async || {
        emulator
            .stats("slow")
            .filter(|s| s.invocations == 1 && s.concurrent_executions == 0)
    })
    .await;
    assert_eq!(stats.errors, 0, "the function was not cut off: {stats:?}");
}
