//! The event files in `events/` invoke the real function as they are — what
//! `cargo lambda invoke --data-file` does — through the emulator's Invoke path.

mod support;

use serde_json::Value;
use support::{Stack, StackOptions};

fn event(name: &str) -> Vec<u8> {
    std::fs::read(devstack::workspace_root().join("events").join(name)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_events_invoke_the_function_as_they_are() {
    let stack = Stack::start(StackOptions::default()).await;

    // The HTTP API event carries a placeholder signature: refused, as a well-formed 401.
    let answer = stack
        .emulator
        .invoke(support::FUNCTION, event("http-api-post-orders.json"))
        .await
        .unwrap();
    let lambda_emulator::InvokeOutcome::Success(payload) = answer.outcome else {
        panic!("function error: {answer:?}")
    };
    let response: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(response["statusCode"], 401, "{response}");
    assert_eq!(
        response["headers"]["content-type"],
        "application/problem+json"
    );

    // The SQS batch, with this run's order IDs (a shared Temporal server outlives runs): the two
    // valid orders start; the invalid third has no DLQ configured here, so it is reported as
    // failed (left for the queue's redrive).
    let ids = [stack.order_id("A"), stack.order_id("A")];
    let batch = String::from_utf8(event("sqs-orders-batch.json"))
        .unwrap()
        .replace("A-1001", &ids[0])
        .replace("A-2001", &ids[1]);
    let answer = stack
        .emulator
        .invoke(support::FUNCTION, batch)
        .await
        .unwrap();
    let lambda_emulator::InvokeOutcome::Success(payload) = answer.outcome else {
        panic!("function error: {answer:?}")
    };
    let response: Value = serde_json::from_slice(&payload).unwrap();
    let records: Value = serde_json::from_slice(&event("sqs-orders-batch.json")).unwrap();
    assert_eq!(
        response["batchItemFailures"],
        serde_json::json!([{ "itemIdentifier": records["Records"][2]["messageId"] }])
    );
    for id in &ids {
        assert!(stack.workflow_exists(&format!("order-{id}")).await, "{id}");
    }

    // The same batch from another queue (a direct invoke that forges an SQS event): a function
    // error, and nothing starts.
    let forged_id = stack.order_id("F");
    let forged = String::from_utf8(event("sqs-orders-batch.json"))
        .unwrap()
        .replace("A-1001", &forged_id)
        .replace(
            support::SAMPLE_QUEUE_ARN,
            "arn:aws:sqs:us-east-1:000000000000:not-ours",
        );
    let answer = stack
        .emulator
        .invoke(support::FUNCTION, forged)
        .await
        .unwrap();
    let lambda_emulator::InvokeOutcome::FunctionError(payload) = &answer.outcome else {
        panic!("a forged batch was accepted: {answer:?}")
    };
    let error = String::from_utf8_lossy(payload);
    assert!(
        error.contains("not-ours") && error.contains("not accepted"),
        "{error}"
    );
    assert!(!stack.workflow_exists(&format!("order-{forged_id}")).await);
}
