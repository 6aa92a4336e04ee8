//! The SQS event source against real LocalStack SQS: a batch with a partial failure deletes only
//! the successes, the failure comes back after the visibility timeout and reaches the DLQ through
//! the queue's redrive policy, and a function error leaves the whole batch on the queue. A queue
//! that does not exist yet is waited for.

mod common;

use std::time::Duration;

use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use common::*;
use lambda_emulator::{EmulatorConfig, SqsSource};

async fn create_queue(client: &aws_sdk_sqs::Client, name: &str, attributes: &[(QueueAttributeName, String)]) -> String {
    let mut request = client.create_queue().queue_name(name);
    for (key, value) in attributes {
        request = request.attributes(key.clone(), value);
    }
    request.send().await.expect("create queue").queue_url.expect("queue url")
}

async fn queue_depth(client: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let answer = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes");
    answer.attributes.unwrap_or_default().values().map(|v| v.parse::<u64>().unwrap_or(0)).sum()
}

async fn dlq_bodies(client: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    // A short visibility timeout: the test only peeks.
    let answer = client.receive_message().queue_url(url).max_number_of_messages(10).visibility_timeout(0).send().await.expect("receive");
    let mut bodies: Vec<String> = answer.messages.unwrap_or_default().into_iter().filter_map(|m| m.body).collect();
    bodies.sort();
    bodies
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_batch_failures_are_retried_and_redriven_to_the_dlq() {
    let localstack = tokio::task::spawn_blocking(devstack::localstack_for_tests).await.unwrap().expect("LocalStack");
    let endpoint = localstack.endpoint();
    let sqs = lambda_emulator::sqs_client(&endpoint, "us-east-1");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dlq_url = create_queue(&sqs, &format!("dlq-{id}"), &[]).await;
    let dlq_arn = format!("arn:aws:sqs:us-east-1:000000000000:dlq-{id}");
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}"#);
    let queue_name = format!("orders-{id}");
    let queue_url = create_queue(
        &sqs,
        &queue_name,
        // Longer than the batching window, so a message cannot come back within one batch.
        &[(QueueAttributeName::VisibilityTimeout, "3".into()), (QueueAttributeName::RedrivePolicy, redrive)],
    )
    .await;

    let entries = ["ok-1", "ok-2", "fail-3"]
        .iter()
        .enumerate()
        .map(|(i, body)| SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(*body).build().unwrap());
    sqs.send_message_batch().queue_url(&queue_url).set_entries(Some(entries.collect())).send().await.expect("send");

    let records = temp_dir("sqs").join("records");
    let mut function = test_function("consumer");
    function.environment.insert("EMULATOR_TEST_RECORD_FILE".into(), records.display().to_string());
    let mut source = SqsSource::new(&queue_name);
    source.maximum_batching_window = Duration::from_secs(1);
    source.report_batch_item_failures = true;
    let late_queue = format!("late-{id}");
    function.sqs_sources = vec![source, SqsSource::new(&late_queue)];
    let config = EmulatorConfig { sqs_endpoint: Some(endpoint.clone()), ..test_config() };
    let emulator = start_with(config, vec![function]).await;

    let dead = eventually("the failing message to reach the DLQ", async || {
        Some(dlq_bodies(&sqs, &dlq_url).await).filter(|b| !b.is_empty())
    })
    .await;
    assert_eq!(dead, ["fail-3"]);
    eventually("the queue to be empty", async || (queue_depth(&sqs, &queue_url).await == 0).then_some(())).await;
    let seen = std::fs::read_to_string(&records).unwrap();
    let count = |body: &str| seen.lines().filter(|l| *l == format!("sqs {body}")).count();
    assert_eq!((count("ok-1"), count("ok-2")), (1, 1), "successes are deleted after one delivery: {seen}");
    assert_eq!(count("fail-3"), 2, "the failure is delivered maxReceiveCount times: {seen}");

    // A function error fails the whole batch: nothing is deleted, all of it is redriven.
    sqs.send_message().queue_url(&queue_url).message_body("error-4").send().await.expect("send");
    eventually("the errored batch to reach the DLQ", async || {
        Some(dlq_bodies(&sqs, &dlq_url).await).filter(|b| b.len() == 2)
    })
    .await;
    let seen = std::fs::read_to_string(&records).unwrap();
    assert_eq!(seen.lines().filter(|l| *l == "sqs error-4").count(), 2);
    eventually("both failed invocations to be counted", async || {
        (emulator.stats("consumer").unwrap().errors == 2).then_some(())
    })
    .await;

    // The second source's queue is created only now; its poller has been waiting for it.
    let late_url = create_queue(&sqs, &late_queue, &[]).await;
    sqs.send_message().queue_url(&late_url).message_body("late-5").send().await.expect("send");
    eventually("the late queue's message to be delivered and deleted", async || {
        let delivered = std::fs::read_to_string(&records).unwrap().lines().any(|l| l == "sqs late-5");
        (delivered && queue_depth(&sqs, &late_url).await == 0).then_some(())
    })
    .await;
    drop(emulator);
    let _ = sqs.delete_queue().queue_url(&late_url).send().await;
    let _ = sqs.delete_queue().queue_url(&queue_url).send().await;
    let _ = sqs.delete_queue().queue_url(&dlq_url).send().await;
}
