//! The SQS event source against real LocalStack SQS: a batch with a partial failure deletes only
//! the successes, the failure comes back only after the visibility timeout and reaches the DLQ
//! through the queue's redrive policy, and a function error leaves the whole batch on the queue.
//! BatchSize caps each invocation's records. A queue that does not exist yet is waited for, and
//! an SQS endpoint that goes down (and comes back) is polled again until it answers.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use common::*;
use devstack::sqs::{OrdersQueues, QueueUrls, create_orders_queues, queue_depth};
use lambda_emulator::{EmulatorConfig, SqsSource};
use tokio::net::{TcpListener, TcpStream};

async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url")
}

async fn send_batch(client: &aws_sdk_sqs::Client, url: &str, bodies: &[&str]) {
    let entries = bodies.iter().enumerate().map(|(i, body)| {
        SendMessageBatchRequestEntry::builder()
            .id(i.to_string())
            .message_body(*body)
            .build()
            .unwrap()
    });
    let answer = client
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries.collect()))
        .send()
        .await
        .expect("send");
    assert!(answer.failed.is_empty(), "{:?}", answer.failed);
}

/// The deliveries of `body` the test function recorded: (ApproximateReceiveCount, milliseconds
/// since the message was first received).
fn attempts(records: &str, body: &str) -> Vec<(u64, u64)> {
    records
        .lines()
        .filter_map(|line| {
            line.strip_prefix("attempt ")?
                .strip_prefix(body)?
                .strip_prefix(' ')?
                .split_once(' ')
        })
        .map(|(count, since_first)| (count.parse().unwrap(), since_first.parse().unwrap()))
        .collect()
}

/// Asserts `body` was delivered exactly twice, the second time no sooner than the visibility
/// timeout after the first: the emulator neither deletes a failed message nor makes it visible
/// early. (A lower bound: a slow machine only makes the gap longer.)
fn assert_redelivered_after(records: &str, body: &str, visibility_timeout: Duration) {
    let seen = attempts(records, body);
    assert_eq!(
        seen.iter().map(|a| a.0).collect::<Vec<_>>(),
        [1, 2],
        "{body}: receive counts 1 then 2: {records}"
    );
    // Both timestamps are whole milliseconds; allow for their rounding and LocalStack's.
    let floor = visibility_timeout.as_millis() as u64 - 100;
    assert!(
        seen[1].1 >= floor,
        "{body} came back {} ms after its first receive, within the visibility timeout",
        seen[1].1
    );
}

async fn dlq_bodies(client: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    // A short visibility timeout: the test only peeks.
    let answer = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .expect("receive");
    let mut bodies: Vec<String> = answer
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect();
    bodies.sort();
    bodies
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_batch_failures_are_retried_and_redriven_to_the_dlq() {
    const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(3);
    let localstack = tokio::task::spawn_blocking(devstack::localstack_for_tests)
        .await
        .unwrap()
        .expect("LocalStack");
    let endpoint = localstack.endpoint();
    let sqs = lambda_emulator::sqs_client(&endpoint, "us-east-1");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let queue_name = format!("orders-{id}");
    let queues = OrdersQueues {
        name: queue_name.clone(),
        // Longer than the batching window, so a message cannot come back within one batch.
        visibility_timeout_secs: VISIBILITY_TIMEOUT.as_secs() as u32,
        max_receive_count: 2,
        dlq_name: format!("dlq-{id}"),
        dlq_retention_secs: 1_209_600,
    };
    let QueueUrls {
        orders: queue_url,
        dlq: dlq_url,
    } = create_orders_queues(&sqs, &queues)
        .await
        .expect("create queues");

    send_batch(&sqs, &queue_url, &["ok-1", "ok-2", "fail-3"]).await;

    let records = temp_dir("sqs").join("records");
    let mut function = test_function("consumer");
    function.environment.insert(
        "EMULATOR_TEST_RECORD_FILE".into(),
        records.display().to_string(),
    );
    let mut source = SqsSource::new(&queue_name);
    source.maximum_batching_window = Duration::from_secs(1);
    source.report_batch_item_failures = true;
    let late_queue = format!("late-{id}");
    function.sqs_sources = vec![source, SqsSource::new(&late_queue)];
    let config = EmulatorConfig {
        sqs_endpoint: Some(endpoint.clone()),
        ..test_config()
    };
    let emulator = start_with(config, vec![function]).await;

    let dead = eventually("the failing message to reach the DLQ", async || {
        Some(dlq_bodies(&sqs, &dlq_url).await).filter(|b| !b.is_empty())
    })
    .await;
    assert_eq!(dead, ["fail-3"]);
    eventually("the queue to be empty", async || {
        (queue_depth(&sqs, &queue_url).await.unwrap() == 0).then_some(())
    })
    .await;
    let seen = std::fs::read_to_string(&records).unwrap();
    let count = |body: &str| seen.lines().filter(|l| *l == format!("sqs {body}")).count();
    assert_eq!(
        (count("ok-1"), count("ok-2")),
        (1, 1),
        "successes are deleted after one delivery: {seen}"
    );
    assert_eq!(
        count("fail-3"),
        2,
        "the failure is delivered maxReceiveCount times: {seen}"
    );
    assert_redelivered_after(&seen, "fail-3", VISIBILITY_TIMEOUT);

    // A function error fails the whole batch: nothing is deleted, all of it is redriven.
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("error-4")
        .send()
        .await
        .expect("send");
    eventually("the errored batch to reach the DLQ", async || {
        Some(dlq_bodies(&sqs, &dlq_url).await).filter(|b| b.len() == 2)
    })
    .await;
    let seen = std::fs::read_to_string(&records).unwrap();
    assert_eq!(seen.lines().filter(|l| *l == "sqs error-4").count(), 2);
    assert_redelivered_after(&seen, "error-4", VISIBILITY_TIMEOUT);
    eventually("both failed invocations to be counted", async || {
        (emulator.stats("consumer").unwrap().errors == 2).then_some(())
    })
    .await;

    // The second source's queue is created only now; its poller has been waiting for it.
    let late_url = create_queue(&sqs, &late_queue).await;
    sqs.send_message()
        .queue_url(&late_url)
        .message_body("late-5")
        .send()
        .await
        .expect("send");
    eventually(
        "the late queue's message to be delivered and deleted",
        async || {
            let delivered = std::fs::read_to_string(&records)
                .unwrap()
                .lines()
                .any(|l| l == "sqs late-5");
            (delivered && queue_depth(&sqs, &late_url).await.unwrap() == 0).then_some(())
        },
    )
    .await;
    drop(emulator);
    let _ = sqs.delete_queue().queue_url(&late_url).send().await;
    let _ = sqs.delete_queue().queue_url(&queue_url).send().await;
    let _ = sqs.delete_queue().queue_url(&dlq_url).send().await;
}

/// A throttled batch is not retried by the mapping: its messages come back after the visibility
/// timeout, each receive counting toward `maxReceiveCount`, so a function that stays throttled
/// (reserved concurrency 0) sends them to the DLQ without ever running.
#[tokio::test(flavor = "multi_thread")]
async fn throttled_batches_return_to_the_queue_and_count_toward_max_receive() {
    let localstack = tokio::task::spawn_blocking(devstack::localstack_for_tests)
        .await
        .unwrap()
        .expect("LocalStack");
    let endpoint = localstack.endpoint();
    let sqs = lambda_emulator::sqs_client(&endpoint, "us-east-1");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let queue_name = format!("throttled-{id}");
    let queues = OrdersQueues {
        name: queue_name.clone(),
        visibility_timeout_secs: 3,
        max_receive_count: 2,
        dlq_name: format!("throttled-dlq-{id}"),
        dlq_retention_secs: 1_209_600,
    };
    let QueueUrls {
        orders: queue_url,
        dlq: dlq_url,
    } = create_orders_queues(&sqs, &queues)
        .await
        .expect("create queues");
    send_batch(&sqs, &queue_url, &["throttled-1"]).await;

    let records = temp_dir("throttled").join("records");
    let mut function = test_function("never-runs");
    function.environment.insert(
        "EMULATOR_TEST_RECORD_FILE".into(),
        records.display().to_string(),
    );
    function.reserved_concurrency = Some(0);
    function.sqs_sources = vec![SqsSource::new(&queue_name)];
    let config = EmulatorConfig {
        sqs_endpoint: Some(endpoint.clone()),
        ..test_config()
    };
    let emulator = start_with(config, vec![function]).await;

    let dead = eventually("the throttled message to reach the DLQ", async || {
        Some(dlq_bodies(&sqs, &dlq_url).await).filter(|b| !b.is_empty())
    })
    .await;
    assert_eq!(dead, ["throttled-1"]);
    assert!(!records.exists(), "the function never ran");
    assert!(
        emulator.stats("never-runs").unwrap().throttles >= 2,
        "one throttle per receive"
    );
    drop(emulator);
    let _ = sqs.delete_queue().queue_url(&queue_url).send().await;
    let _ = sqs.delete_queue().queue_url(&dlq_url).send().await;
}

/// BatchSize caps the records of one invocation: seven waiting messages, a batch size of three
/// and a batching window — every batch holds at most three, a full one is gathered, and each
/// message arrives once.
#[tokio::test(flavor = "multi_thread")]
async fn batches_hold_at_most_batch_size_records() {
    let localstack = tokio::task::spawn_blocking(devstack::localstack_for_tests)
        .await
        .unwrap()
        .expect("LocalStack");
    let endpoint = localstack.endpoint();
    let sqs = lambda_emulator::sqs_client(&endpoint, "us-east-1");
    let queue_name = format!("batches-{}", uuid::Uuid::new_v4().simple());
    let queue_url = create_queue(&sqs, &queue_name).await;
    let bodies: Vec<String> = (1..=7).map(|i| format!("m-{i}")).collect();
    send_batch(
        &sqs,
        &queue_url,
        &bodies.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;

    let records = temp_dir("sqs-batches").join("records");
    let mut function = test_function("batched");
    function.environment.insert(
        "EMULATOR_TEST_RECORD_FILE".into(),
        records.display().to_string(),
    );
    let mut source = SqsSource::new(&queue_name);
    source.batch_size = 3;
    source.maximum_batching_window = Duration::from_secs(2);
    function.sqs_sources = vec![source];
    let config = EmulatorConfig {
        sqs_endpoint: Some(endpoint.clone()),
        ..test_config()
    };
    let emulator = start_with(config, vec![function]).await;

    let seen = eventually(
        "all seven messages to be delivered and deleted",
        async || {
            let seen = std::fs::read_to_string(&records).unwrap_or_default();
            let all = bodies
                .iter()
                .all(|body| seen.lines().any(|l| l == format!("sqs {body}")));
            (all && queue_depth(&sqs, &queue_url).await.unwrap() == 0).then_some(seen)
        },
    )
    .await;
    let batches: Vec<usize> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("batch ")?.parse().ok())
        .collect();
    assert!(
        batches.iter().all(|&n| (1..=3).contains(&n)),
        "every batch within BatchSize: {batches:?}"
    );
    assert_eq!(
        batches.iter().sum::<usize>(),
        7,
        "each message once: {seen}"
    );
    assert_eq!(
        batches.iter().max(),
        Some(&3),
        "the window gathers a full batch from a queue that has them: {batches:?}"
    );
    drop(emulator);
    let _ = sqs.delete_queue().queue_url(&queue_url).send().await;
}

/// A TCP relay in front of LocalStack that the test can take down: while down it accepts each
/// connection and closes it at once (counting them), and cuts the connections it was relaying —
/// to the emulator, the SQS endpoint has failed.
struct Relay {
    addr: SocketAddr,
    down: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    relaying: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start(upstream: SocketAddr, down: bool) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let relay = Self {
            addr: listener.local_addr().unwrap(),
            down: Arc::new(AtomicBool::new(down)),
            refused: Arc::default(),
            relaying: Arc::default(),
        };
        let (is_down, refused, relaying) = (
            relay.down.clone(),
            relay.refused.clone(),
            relay.relaying.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if is_down.load(Ordering::SeqCst) {
                    refused.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                relaying.lock().unwrap().push(task.abort_handle());
            }
        });
        relay
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        for task in self.relaying.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn come_back(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

/// SQS down when the source starts (the queue URL is asked again), and again while it polls (a
/// failed receive is retried): once SQS answers again, messages sent meanwhile are delivered.
#[tokio::test(flavor = "multi_thread")]
async fn receive_failures_are_retried_until_sqs_is_back() {
    let localstack = tokio::task::spawn_blocking(devstack::localstack_for_tests)
        .await
        .unwrap()
        .expect("LocalStack");
    let endpoint = localstack.endpoint();
    let sqs = lambda_emulator::sqs_client(&endpoint, "us-east-1");
    let queue_name = format!("outage-{}", uuid::Uuid::new_v4().simple());
    let queue_url = create_queue(&sqs, &queue_name).await;
    let upstream: SocketAddr = endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("LocalStack's address");
    let relay = Relay::start(upstream, true).await;

    let records = temp_dir("sqs-outage").join("records");
    let mut function = test_function("outage");
    function.environment.insert(
        "EMULATOR_TEST_RECORD_FILE".into(),
        records.display().to_string(),
    );
    function.sqs_sources = vec![SqsSource::new(&queue_name)];
    let config = EmulatorConfig {
        sqs_endpoint: Some(relay.url()),
        ..test_config()
    };
    let emulator = start_with(config, vec![function]).await;
    let delivered = |body: &str| {
        std::fs::read_to_string(&records)
            .unwrap_or_default()
            .lines()
            .any(|l| l == format!("sqs {body}"))
    };

    eventually("the source to try the endpoint that is down", async || {
        (relay.refused() >= 1).then_some(())
    })
    .await;
    relay.come_back();
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("before")
        .send()
        .await
        .expect("send");
    eventually("the message to be delivered once SQS answers", async || {
        delivered("before").then_some(())
    })
    .await;

    relay.go_down();
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("during")
        .send()
        .await
        .expect("send");
    let refused = relay.refused();
    // One receive is tried three times by the SDK; a fourth connection is the source polling
    // again after a receive failed.
    eventually("receives to fail", async || {
        (relay.refused() >= refused + 4).then_some(())
    })
    .await;
    assert!(
        !delivered("during"),
        "nothing can be received while SQS is down"
    );
    relay.come_back();
    eventually(
        "the message sent during the outage to be delivered and deleted",
        async || {
            (delivered("during") && queue_depth(&sqs, &queue_url).await.unwrap() == 0).then_some(())
        },
    )
    .await;
    drop(emulator);
    let _ = sqs.delete_queue().queue_url(&queue_url).send().await;
}
