//! Orders from `POST /shop/orders` to their outcome, watched the way the page and the dashboard
//! watch them. One stack for the related checks: starting one costs seconds.

use std::time::Duration;

use serde_json::Value;

use crate::support::{INGEST_FUNCTION, Signing, Stack, StackOptions, WORKER_FUNCTION};

#[tokio::test(flavor = "multi_thread")]
async fn orders_progress_to_their_outcome_and_show_on_the_dashboard() {
    let stack = Stack::start().await;

    // A plain order completes, every forward step done, run by the local worker.
    let completed = stack.place("cust-42").await;
    let view = stack.final_status(&completed).await;
    assert_eq!(view["step"], "Completed", "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(
        view["done"],
        serde_json::json!([
            "ReservingInventory",
            "ChargingCustomer",
            "CreatingShipment",
            "NotifyingCustomer"
        ])
    );
    assert_eq!(view["outcome"]["status"], "completed");
    assert!(
        view["outcome"]["trackingNumber"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{view}"
    );
    assert_eq!(view["worker"]["kind"], "local", "{view}");
    assert!(
        view["worker"]["identity"]
            .as_str()
            .unwrap()
            .starts_with("local-worker@"),
        "{view}"
    );
    assert_eq!(
        view["temporalUiUrl"],
        format!("http://127.0.0.1:8233/namespaces/default/workflows/order-{completed}")
    );

    // The price came from the catalog, not the browser: 2 mugs at 14.00 + 1 sticker pack at 5.00.
    let ledger: Value = reqwest::get(format!("{}/ledger?orderId={completed}", stack.shop.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let charge = ledger["effects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "charge")
        .expect("a charge");
    assert_eq!(charge["amountMinor"], 3_300);

    // A declined customer is compensated: the charge failed, the reservation was released.
    let declined = stack.place("decline-ada").await;
    let view = stack.final_status(&declined).await;
    assert_eq!(view["step"], "Compensated", "{view}");
    assert_eq!(view["outcome"]["failedStep"], "ChargingCustomer");
    assert_eq!(view["outcome"]["reasonCode"], "card-declined");
    assert_eq!(view["done"], serde_json::json!(["ReservingInventory"]));
    assert_eq!(view["undone"][0]["action"], "ReleaseInventory", "{view}");

    // The dashboard lists both (the visibility store catches up within a moment), with workers.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = stack.shop.get("/dashboard/api/orders").await;
        assert_eq!(status, 200, "{body}");
        let orders = body["orders"].as_array().unwrap();
        let find = |id: &str| orders.iter().find(|o| o["orderId"] == id).cloned();
        if let (Some(a), Some(b)) = (find(&completed), find(&declined)) {
            assert_eq!(
                (a["step"].as_str(), a["worker"]["kind"].as_str()),
                (Some("Completed"), Some("local")),
                "{a}"
            );
            assert_eq!(
                (b["step"].as_str(), b["worker"]["kind"].as_str()),
                (Some("Compensated"), Some("local")),
                "{b}"
            );
            // Only this run's task queue is listed.
            assert_eq!(orders.len(), 2, "{body}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dashboard never listed both orders: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The Lambda chart's data: ingest-fn ran once per order in the emulator.
    let (status, body) = stack.shop.get("/dashboard/api/lambda?seconds=30").await;
    assert_eq!(status, 200, "{body}");
    let ingest = body["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == INGEST_FUNCTION)
        .expect("ingest-fn")
        .clone();
    assert_eq!(ingest["invocations"], 2, "{ingest}");
    let series = ingest["series"].as_array().unwrap();
    assert!(
        series.len() <= 30,
        "trimmed to the asked window: {}",
        series.len()
    );
    let started: u64 = series
        .iter()
        .map(|s| s["invocations"].as_u64().unwrap())
        .sum();
    assert!(started <= 2, "{ingest}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_signing_secret_is_refused_by_ingest_and_reported_as_the_servers_fault() {
    let stack = Stack::start_signing(Signing::Wrong).await;
    let (status, body) = stack
        .shop
        .post_json("/shop/orders", &crate::support::place_order_body("cust-42"))
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        body["type"],
        "https://shopflow.dev/problems/upstream-unavailable"
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("SHOPFLOW_INGEST_SECRET") && detail.contains("signature"),
        "{detail}"
    );
    assert!(
        !detail.contains(&stack.secret),
        "the secret must never be shown: {detail}"
    );
    // Nothing started: the dashboard has no order on this run's queue.
    let (status, body) = stack.shop.get("/dashboard/api/orders").await;
    assert_eq!(
        (status, body["orders"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_that_does_not_exist_is_404_and_a_bad_id_is_422() {
    let stack = Stack::start().await;
    let (status, body) = stack.shop.get("/shop/orders/web-never-placed/status").await;
    assert_eq!(
        (status, body["type"].as_str()),
        (404, Some("https://shopflow.dev/problems/not-found")),
        "{body}"
    );
    for bad in ["a%20b", "%3Cscript%3E", &"x".repeat(200)] {
        let (status, body) = stack.shop.get(&format!("/shop/orders/{bad}/status")).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
}

/// The demo's story through the web endpoints: an order on the local worker; Ctrl+C the local
/// worker; the next order is run by a Lambda worker the Worker Controller invoked — the status
/// and the dashboard say so — and Lambda concurrency falls back to zero once the work is done.
#[tokio::test(flavor = "multi_thread")]
async fn after_the_local_worker_stops_orders_run_on_lambda_and_the_dashboard_says_so() {
    let mut stack = Stack::start_with(StackOptions {
        lambda_worker: true,
        ..StackOptions::default()
    })
    .await;

    let local = stack.place("cust-local").await;
    let view = stack.final_status(&local).await;
    assert_eq!(
        (view["step"].as_str(), view["worker"]["kind"].as_str()),
        (Some("Completed"), Some("local")),
        "{view}"
    );

    stack.stop_local_worker();
    let lambda = stack.place("cust-lambda").await;
    let view = stack.final_status(&lambda).await;
    assert_eq!(view["step"], "Completed", "{view}");
    assert_eq!(view["worker"]["kind"], "lambda", "{view}");
    let identity = view["worker"]["identity"].as_str().unwrap();
    assert!(
        identity.contains(&format!(
            "@arn:aws:lambda:us-east-1:000000000000:function:{WORKER_FUNCTION}"
        )),
        "{identity}"
    );

    // The dashboard shows one order per kind of worker.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = stack.shop.get("/dashboard/api/orders").await;
        assert_eq!(status, 200, "{body}");
        let kind = |id: &str| {
            body["orders"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["orderId"] == id)
                .and_then(|o| o["worker"]["kind"].as_str().map(str::to_owned))
        };
        if (kind(&local).as_deref(), kind(&lambda).as_deref()) == (Some("local"), Some("lambda")) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dashboard never showed both workers: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The chart's data: the Lambda worker was invoked, and scales back to zero (idle exit 1 s).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (status, body) = stack.shop.get("/dashboard/api/lambda").await;
        assert_eq!(status, 200, "{body}");
        let worker = body["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == WORKER_FUNCTION)
            .cloned()
            .expect("the worker function");
        assert!(worker["invocations"].as_u64().unwrap() >= 1, "{worker}");
        let started: u64 = worker["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["invocations"].as_u64().unwrap())
            .sum();
        assert!(started >= 1, "the series shows the invocation: {worker}");
        if worker["concurrentExecutions"] == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Lambda worker never scaled to zero: {worker}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// With no worker at all, an order is accepted and waits: the status says it runs, cannot say
/// which step (nobody answers the query) and why — instead of failing or hanging the page.
#[tokio::test(flavor = "multi_thread")]
async fn with_no_worker_the_status_says_running_and_why_the_step_is_unknown() {
    let mut stack = Stack::start().await;
    stack.stop_local_worker();
    let order_id = stack.place("cust-waiting").await;
    let (status, view) = stack
        .shop
        .get(&format!("/shop/orders/{order_id}/status"))
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "running", "{view}");
    assert_eq!(view["step"], Value::Null, "{view}");
    assert!(
        view["note"]
            .as_str()
            .is_some_and(|n| n.contains("progress query")),
        "{view}"
    );
    assert_eq!(view["outcome"], Value::Null);
}
