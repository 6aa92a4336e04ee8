//! Starts and stops real LocalStack instances (installing it on first run) and talks SQS to them:
//! through `devstack::sqs` (the client, queue creation, message counts).

use devstack::localstack::{health, sqs_is_running};
use devstack::ports::closes_within;
use devstack::sqs::{self, OrdersQueues, QueueDepth};
use devstack::{LocalStack, LocalStackOptions, localstack_for_tests};
use std::time::Duration;

use aws_sdk_sqs::types::{Message, QueueAttributeName};

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

/// Sends `bodies` one by one, then receives up to `receive` messages (waiting up to 5 s for any).
async fn send_then_receive(
    client: &aws_sdk_sqs::Client,
    url: &str,
    bodies: &[&str],
    receive: i32,
) -> Vec<Message> {
    for body in bodies {
        client
            .send_message()
            .queue_url(url)
            .message_body(*body)
            .send()
            .await
            .unwrap();
    }
    client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(receive)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

#[test]
fn serves_sqs_with_local_queue_urls_and_stops() {
    let stack = LocalStack::start(LocalStackOptions::default()).unwrap();
    let endpoint = stack.endpoint();
    assert!(stack.is_owned());
    assert!(sqs_is_running(&endpoint));
    assert_eq!(health(&endpoint).unwrap()["services"]["sqs"], "running");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = sqs::client(&endpoint);
        let url = client
            .create_queue()
            .queue_name("orders")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        assert_eq!(
            url,
            format!("{endpoint}/000000000000/orders"),
            "SQS_ENDPOINT_STRATEGY=off"
        );
        let body = r#"{"orderId":"o-1"}"#;
        let received = send_then_receive(&client, &url, &[body], 10).await;
        assert_eq!(received[0].body.as_deref(), Some(body));

        let missing = client
            .get_queue_url()
            .queue_name("nope")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(missing.is_queue_does_not_exist(), "{missing:?}");
    });

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
    // One received and not deleted: in flight for the queue's 180 s visibility timeout.
    let received = send_then_receive(&client, &url, &["one", "two", "three"], 1).await;
    assert_eq!(received.len(), 1);
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
