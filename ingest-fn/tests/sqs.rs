//! The SQS trigger end to end: real LocalStack queues, the emulator's event source mapping with
//! `ReportBatchItemFailures`, the real `ingest-fn` binary, Temporal, storefront and worker.

mod support;

use aws_sdk_sqs::types::Message;
use serde_json::Value;
use support::{Stack, StackOptions, eventually};

async fn send(stack: &Stack, bodies: &[String]) {
    stack.queues.as_ref().unwrap().send(bodies).await;
}

/// Collects exactly `n` dead letters (bounded wait), then checks nothing more arrives soon after.
async fn dead_letters(stack: &Stack, n: usize) -> Vec<Message> {
    let queues = stack.queues.as_ref().unwrap();
    let mut dead = Vec::new();
    eventually(&format!("{n} messages on the DLQ"), async || {
        dead.extend(queues.drain_dlq().await);
        (dead.len() >= n).then_some(())
    })
    .await;
    assert_eq!(dead.len(), n, "{dead:?}");
    dead
}

fn attribute<'a>(message: &'a Message, name: &str) -> &'a str {
    message
        .message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_ten_with_two_bad_starts_the_eight_once_and_dead_letters_the_two_with_reasons() {
    let stack = Stack::start(StackOptions {
        sqs: true,
        ..StackOptions::default()
    })
    .await;
    let queues = stack.queues.as_ref().unwrap();
    let ids: Vec<String> = (0..8).map(|_| stack.order_id("Q")).collect();
    let mut bodies: Vec<String> = ids.iter().map(|id| stack.order_json(id)).collect();
    let malformed = r#"{"orderId": "Q-broken", "customer": "#.to_owned();
    let mut invalid: Value = serde_json::from_str(&stack.order_json(&stack.order_id("Q"))).unwrap();
    invalid["currency"] = "usd".into();
    bodies.insert(3, malformed.clone());
    bodies.insert(7, invalid.to_string());
    send(&stack, &bodies).await;

    for id in &ids {
        let workflow_id = format!("order-{id}");
        eventually(&format!("{workflow_id} to start"), async || {
            stack.workflow_exists(&workflow_id).await.then_some(())
        })
        .await;
        stack.completes(&workflow_id).await;
        assert_eq!(stack.charges(id).await, 1, "{id} charged once");
    }
    let mut dead = dead_letters(&stack, 2).await;
    dead.sort_by_key(|m| attribute(m, "shopflow-reject-rule").to_owned());
    assert_eq!(
        dead[0].body(),
        Some(invalid.to_string().as_str()),
        "the original body, untouched"
    );
    assert_eq!(attribute(&dead[0], "shopflow-reject-rule"), "invalid-order");
    assert!(
        attribute(&dead[0], "shopflow-reject-reason").contains("currency"),
        "{:?}",
        dead[0]
    );
    assert_eq!(dead[1].body(), Some(malformed.as_str()));
    assert_eq!(
        attribute(&dead[1], "shopflow-reject-rule"),
        "malformed-json"
    );
    assert!(
        dead.iter()
            .all(|m| !attribute(m, "shopflow-source-message-id").is_empty()
                && !attribute(m, "shopflow-ingest-id").is_empty())
    );
    // Each never-valid message is logged once, with its reason.
    for message in &dead {
        let line = stack
            .logged_once(attribute(message, "shopflow-ingest-id"))
            .await;
        assert!(
            line.contains(attribute(message, "shopflow-reject-rule")) && line.contains("reason"),
            "{line}"
        );
    }
    eventually("the orders queue to be empty", async || {
        (queues.depth(&queues.url).await == 0).then_some(())
    })
    .await;

    // Sent again (a producer retry): no second workflow, nothing dead-lettered. A different
    // payload under an existing order ID is a conflict: dead-lettered with that reason.
    let mut conflicting: Value = serde_json::from_str(&bodies[0]).unwrap();
    conflicting["items"][0]["quantity"] = 7.into();
    send(&stack, &[bodies[0].clone(), conflicting.to_string()]).await;
    let dead = dead_letters(&stack, 1).await;
    assert_eq!(
        attribute(&dead[0], "shopflow-reject-rule"),
        "order-conflict"
    );
    eventually("the orders queue to be empty again", async || {
        (queues.depth(&queues.url).await == 0).then_some(())
    })
    .await;
    assert_eq!(stack.charges(&ids[0]).await, 1);
    eventually("visibility to list exactly 8 workflows", async || {
        (stack.workflow_count().await == 8).then_some(())
    })
    .await;
    assert_eq!(stack.emulator.stats(support::FUNCTION).unwrap().errors, 0);
}
