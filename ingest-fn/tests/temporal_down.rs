//! Nothing is lost while Temporal is down: `POST /orders` answers 503 with `Retry-After` and the
//! SQS records are reported as failed (they stay on the queue); once Temporal is back, a client
//! that retries and the redelivered messages start every order — once. The function itself never
//! fails an invocation meanwhile.
//!
//! Uses a private dev server with a database file on a fixed port, so it can be stopped and
//! started again with its state (the shared server of `cargo xtask test` must not be stopped).

mod support;

use std::time::Duration;

use devstack::apps::LocalWorker;
use devstack::{TemporalDevServer, TemporalOptions};
use support::{Stack, StackOptions, eventually};

async fn start_temporal(options: &TemporalOptions) -> TemporalDevServer {
    let options = options.clone();
    tokio::task::spawn_blocking(move || TemporalDevServer::start(options))
        .await
        .unwrap()
        .expect("Temporal dev server")
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_wait_out_a_temporal_outage_and_then_start_exactly_once() {
    let dir = devstack::paths::shopflow_home()
        .join("test-runs")
        .join(format!("temporal-down-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let options = TemporalOptions {
        port: devstack::ports::pick_free_port().unwrap(),
        db_file: Some(dir.join("temporal.db")),
        ..TemporalOptions::default()
    };
    let temporal = start_temporal(&options).await;
    let options = TemporalOptions {
        port: temporal
            .address()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap(),
        ..options
    };
    let mut stack = Stack::start(StackOptions {
        sqs: true,
        temporal: Some(temporal),
        start_timeout_ms: 1500,
        // Covers the 1.5 s start timeout and the client's connect (the function's timeout is this).
        visibility_timeout_secs: 3,
        ..StackOptions::default()
    })
    .await;
    let queues = stack.queues.as_ref().unwrap();

    // Warm: the execution environment holds a connected client when Temporal goes away.
    let warm = stack.order_id("W");
    assert_eq!(stack.post(&stack.order_json(&warm)).await.status(), 202);
    stack.completes(&format!("order-{warm}")).await;

    // Down. The test then holds the server's port, so that no other server started meanwhile
    // (tests run side by side) can pick the freed port and answer in Temporal's place. A
    // listener that never accepts is a Temporal that hangs: the start timeout turns it into 503s.
    stack
        .worker
        .take()
        .unwrap()
        .interrupt()
        .expect("stop local-worker");
    stack
        .temporal
        .take()
        .unwrap()
        .stop()
        .expect("stop Temporal");
    let port_holder = std::net::TcpListener::bind(("127.0.0.1", options.port))
        .expect("hold the stopped server's port");

    let http_ids: Vec<String> = (0..3).map(|_| stack.order_id("D")).collect();
    for id in &http_ids {
        let response = stack.post(&stack.order_json(id)).await;
        assert_eq!(response.status(), 503);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry_after > 0);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let invocations_before = stack.emulator.stats(support::FUNCTION).unwrap().invocations;
    let sqs_ids: Vec<String> = (0..5).map(|_| stack.order_id("S")).collect();
    let bodies: Vec<String> = sqs_ids.iter().map(|id| stack.order_json(id)).collect();
    queues.send(&bodies).await;
    // Delivered, failed and redelivered at least once more — and still all on the queue.
    eventually("two SQS deliveries while Temporal is down", async || {
        (stack.emulator.stats(support::FUNCTION).unwrap().invocations >= invocations_before + 2)
            .then_some(())
    })
    .await;
    assert_eq!(
        queues.depth(&queues.url).await,
        5,
        "failed records stay on the queue"
    );
    assert!(
        queues.drain_dlq().await.is_empty(),
        "nothing was dead-lettered for an outage"
    );

    // Up again, same state; a new worker.
    drop(port_holder);
    stack.temporal = Some(start_temporal(&options).await);
    stack.worker = Some(LocalWorker::start(&stack.setup).expect("restart local-worker"));

    // The HTTP client retries as told (Retry-After) until accepted.
    for id in &http_ids {
        let body = stack.order_json(id);
        let status = eventually(&format!("{id} to be accepted"), async || {
            let response = stack.post(&body).await;
            match response.status().as_u16() {
                503 => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    None
                }
                status => Some(status),
            }
        })
        .await;
        assert!(status == 202 || status == 200, "{id}: {status}");
    }
    eventually("the redelivered messages to be processed", async || {
        (queues.depth(&queues.url).await == 0).then_some(())
    })
    .await;
    for id in http_ids.iter().chain(&sqs_ids) {
        let outcome = stack.completes(&format!("order-{id}")).await;
        assert!(
            matches!(outcome, shared::OrderOutcome::Completed { .. }),
            "{id}: {outcome:?}"
        );
        assert_eq!(stack.charges(id).await, 1, "{id} charged exactly once");
    }
    assert!(queues.drain_dlq().await.is_empty());
    eventually("visibility to list the 9 workflows", async || {
        (stack.workflow_count().await == 9).then_some(())
    })
    .await;
    // Every failure above was an answer (503s, batch item failures), never a crashed function:
    // a function error would also leave SQS records on the queue and could pass for one.
    let stats = stack.emulator.stats(support::FUNCTION).unwrap();
    assert_eq!(stats.errors, 0, "no invocation failed: {stats:?}");
    drop(stack);
    let _ = std::fs::remove_dir_all(&dir);
}
