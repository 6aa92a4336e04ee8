//! Starts and stops real LocalStack instances (installing it on first run) and talks SQS to them:
//! by hand on the wire once, then through `devstack::sqs` (queue creation, message counts).

use devstack::localstack::{health, sqs_is_running};
use devstack::ports::closes_within;
use devstack::sqs::{self, OrdersQueues, QueueDepth};
use devstack::{LocalStack, LocalStackOptions, localstack_for_tests};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

/// One SQS call over the JSON protocol (what current AWS SDKs speak); LocalStack ignores the
/// signature, so none is sent.
fn sqs(endpoint: &str, action: &str, body: serde_json::Value) -> Result<serde_json::Value, String> {
    let response = ureq::post(endpoint)
        .header("X-Amz-Target", &format!("AmazonSQS.{action}"))
        .header("Content-Type", "application/x-amz-json-1.0")
        .config()
        .http_status_as_error(false)
        .build()
        .send(body.to_string());
    let mut response = response.map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

#[test]
fn serves_sqs_with_local_queue_urls_and_stops() {
    let stack = LocalStack::start(LocalStackOptions::default()).unwrap();
    let endpoint = stack.endpoint();
    assert!(stack.is_owned());
    assert!(sqs_is_running(&endpoint));
    assert_eq!(health(&endpoint).unwrap()["services"]["sqs"], "running");

    let created = sqs(
        &endpoint,
        "CreateQueue",
        serde_json::json!({"QueueName": "orders"}),
    )
    .unwrap();
    let url = created["QueueUrl"].as_str().unwrap().to_owned();
    assert_eq!(
        url,
        format!("{endpoint}/000000000000/orders"),
        "SQS_ENDPOINT_STRATEGY=off"
    );

    sqs(
        &endpoint,
        "SendMessage",
        serde_json::json!({"QueueUrl": url, "MessageBody": "{\"orderId\":\"o-1\"}"}),
    )
    .unwrap();
    let received = sqs(
        &endpoint,
        "ReceiveMessage",
        serde_json::json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 5}),
    )
    .unwrap();
    assert_eq!(received["Messages"][0]["Body"], "{\"orderId\":\"o-1\"}");

    let missing = sqs(
        &endpoint,
        "GetQueueUrl",
        serde_json::json!({"QueueName": "nope"}),
    )
    .unwrap_err();
    assert!(
        missing.contains("NonExistentQueue") || missing.contains("QueueDoesNotExist"),
        "{missing}"
    );

    let port = port_of(&endpoint);
    let scratch = devstack::paths::data_dir().join(format!("localstack-{port}"));
    assert!(scratch.is_dir(), "default data dir {scratch:?}");
    stack.stop().unwrap();
    assert!(
        closes_within(port, Duration::from_secs(5)),
        "port {port} still answers 5 s after stop"
    );
    assert!(
        !scratch.exists(),
        "the default data dir is scratch and goes with the instance"
    );
}

#[test]
fn a_busy_port_is_refused_before_anything_starts() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let err = LocalStack::start(LocalStackOptions {
        port,
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("already in use"), "{err:#}");
}

#[test]
fn drop_stops_it_and_state_goes_to_the_data_dir() {
    let dir = devstack::paths::data_dir().join(format!("test-localstack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let stack = LocalStack::start(LocalStackOptions {
        data_dir: Some(dir.clone()),
        ..Default::default()
    })
    .unwrap();
    let port = port_of(&stack.endpoint());
    drop(stack);
    assert!(
        closes_within(port, Duration::from_secs(5)),
        "port {port} still answers 5 s after drop"
    );
    // A data dir the caller chose is the caller's: it is kept.
    assert!(
        dir.is_dir() && std::fs::read_dir(&dir).unwrap().next().is_some(),
        "nothing written to {dir:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tests_share_the_instance_named_in_the_environment() {
    let stack = localstack_for_tests().unwrap();
    assert_eq!(
        stack.is_owned(),
        std::env::var_os(devstack::ENV_SQS_ENDPOINT).is_none()
    );
    assert!(sqs_is_running(&stack.endpoint()));
}

#[test]
fn connecting_to_nothing_fails() {
    let port = devstack::ports::pick_free_port().unwrap();
    let err = LocalStack::connect(&format!("http://127.0.0.1:{port}")).unwrap_err();
    assert!(err.to_string().contains("no LocalStack"), "{err}");
}

/// Queue names of this run: the shared LocalStack outlives it, and other tests create
/// template.yaml's own queues there.
fn orders_queues() -> OrdersQueues {
    let run = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .unwrap()
            .as_nanos()
    );
    OrdersQueues {
        name: format!("orders-{run}"),
        visibility_timeout_secs: 180,
        max_receive_count: 5,
        dlq_name: format!("orders-dlq-{run}"),
        dlq_retention_secs: 1_209_600,
    }
}

#[test]
fn the_orders_queues_are_created_with_their_redrive_policy_and_idempotently() {
    let stack = localstack_for_tests().unwrap();
    let endpoint = stack.endpoint();
    let queues = orders_queues();
    let urls = sqs::create_orders_queues_blocking(&endpoint, &queues).unwrap();
    let url = urls.orders.clone();
    assert_eq!(url, format!("{endpoint}/000000000000/{}", queues.name));
    assert_eq!(
        urls.dlq,
        format!("{endpoint}/000000000000/{}", queues.dlq_name)
    );
    // Again, and from inside a runtime (as an async caller would): same queue, no error.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        assert_eq!(
            sqs::create_orders_queues_blocking(&endpoint, &queues).unwrap(),
            urls
        );
        let client = sqs::client(&endpoint);
        let all = |url: String| {
            let client = client.clone();
            async move {
                client
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::All)
                    .send()
                    .await
                    .unwrap()
                    .attributes
                    .unwrap()
            }
        };
        let orders = all(url.clone()).await;
        assert_eq!(orders[&QueueAttributeName::VisibilityTimeout], "180");
        let redrive: serde_json::Value =
            serde_json::from_str(&orders[&QueueAttributeName::RedrivePolicy]).unwrap();
        assert_eq!(
            redrive["maxReceiveCount"].to_string().trim_matches('"'),
            "5",
            "{redrive}"
        );
        let dlq_arn = redrive["deadLetterTargetArn"].as_str().unwrap();
        assert!(
            dlq_arn.ends_with(&format!(":{}", queues.dlq_name)),
            "{dlq_arn}"
        );
        let dlq = all(urls.dlq.clone()).await;
        assert_eq!(dlq[&QueueAttributeName::MessageRetentionPeriod], "1209600");
        assert_eq!(dlq[&QueueAttributeName::QueueArn], dlq_arn);

        // The same name with other attributes is refused, not silently kept as it was.
        let other = OrdersQueues {
            visibility_timeout_secs: 30,
            ..queues.clone()
        };
        let err = sqs::create_orders_queues(&client, &other)
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains(&queues.name), "{err:#}");
    });
}

#[tokio::test]
async fn queue_depth_counts_visible_and_in_flight_messages() {
    let stack = tokio::task::spawn_blocking(localstack_for_tests)
        .await
        .unwrap()
        .unwrap();
    let client = sqs::client(&stack.endpoint());
    let url = sqs::create_orders_queues(&client, &orders_queues())
        .await
        .unwrap()
        .orders;
    assert_eq!(
        sqs::depth(&client, &url).await.unwrap(),
        QueueDepth::default()
    );
    for body in ["one", "two", "three"] {
        client
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    // One received and not deleted: in flight for the queue's 180 s visibility timeout.
    let received = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(1)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages.unwrap_or_default().len(), 1);
    let depth = sqs::depth(&client, &url).await.unwrap();
    assert_eq!(
        depth,
        QueueDepth {
            visible: 2,
            in_flight: 1
        }
    );
    assert_eq!(sqs::queue_depth(&client, &url).await.unwrap(), 3);

    let missing = url.replace("/orders-", "/missing-");
    let err = sqs::queue_depth(&client, &missing).await.unwrap_err();
    assert!(format!("{err:#}").contains(&missing), "{err:#}");
}
