//! SQS on the local LocalStack, through the AWS SDK: the client, template.yaml's orders queue with
//! its dead-letter queue, and how many messages a queue holds.
//!
//! The SDK speaks SQS's wire format (the JSON protocol, errors included) so nobody here parses
//! XML or JSON by hand, and `stack up`, the demo and every test that watches a queue drain count
//! messages the same way. The rest of devstack is synchronous, so queue creation also comes as a
//! blocking call that is safe inside or outside a tokio runtime.

use anyhow::{Context, Result};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

/// A client for the local SQS at `endpoint` (`LocalStack::endpoint()`). LocalStack accepts any
/// credentials and keeps its queues in `us-east-1`, so neither comes from the environment: a
/// developer's real AWS settings must not decide where local queues go (`aws-clients`).
pub fn client(endpoint: &str) -> Client {
    aws_clients::local_sqs_client(endpoint)
}

/// The orders queue and its dead-letter queue, with the attributes `template.yaml` gives them
/// (xtask reads them from there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersQueues {
    pub name: String,
    pub visibility_timeout_secs: u32,
    /// Deliveries before SQS moves a message to the dead-letter queue.
    pub max_receive_count: u32,
    pub dlq_name: String,
    pub dlq_retention_secs: u32,
}

/// The URLs of the orders queue and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    pub orders: String,
    pub dlq: String,
}

/// Creates the orders queue and its dead-letter queue (redrive after `max_receive_count`
/// deliveries) so the emulator's event source, `push-events` and the demo find them. Idempotent:
/// SQS returns the existing queue when the attributes match.
pub async fn create_orders_queues(client: &Client, queues: &OrdersQueues) -> Result<QueueUrls> {
    let dlq = create_queue(
        client,
        &queues.dlq_name,
        [(
            QueueAttributeName::MessageRetentionPeriod,
            queues.dlq_retention_secs.to_string(),
        )],
    )
    .await?;
    // The ARN as SQS reports it, rather than one put together from an assumed account and region.
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("reading the ARN of {dlq}"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .with_context(|| format!("no QueueArn for {dlq}"))?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": queues.max_receive_count.to_string(),
    });
    let orders = create_queue(
        client,
        &queues.name,
        [
            (
                QueueAttributeName::VisibilityTimeout,
                queues.visibility_timeout_secs.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ],
    )
    .await?;
    Ok(QueueUrls { orders, dlq })
}

/// `CreateQueue`; returns the URL.
async fn create_queue(
    client: &Client,
    name: &str,
    attributes: impl IntoIterator<Item = (QueueAttributeName, String)>,
) -> Result<String> {
    client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes.into_iter().collect()))
        .send()
        .await
        .with_context(|| format!("creating SQS queue {name}"))?
        .queue_url
        .context("CreateQueue answered without a QueueUrl")
}

/// [`create_orders_queues`] for synchronous callers (xtask, devstack's own tests). It runs on a
/// thread of its own with a current-thread runtime, so it neither needs a runtime nor blocks (or
/// panics inside) one the caller may be running on.
pub fn create_orders_queues_blocking(endpoint: &str, queues: &OrdersQueues) -> Result<QueueUrls> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("starting a runtime for SQS")?
                    .block_on(create_orders_queues(&client(endpoint), queues))
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A queue's approximate message counts (SQS's own figures, eventually consistent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueDepth {
    /// Waiting to be received (`ApproximateNumberOfMessages`).
    pub visible: u64,
    /// Received and not yet deleted or back (`ApproximateNumberOfMessagesNotVisible`).
    pub in_flight: u64,
}

impl QueueDepth {
    /// Everything still on the queue: 0 once every message has been dealt with.
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight
    }
}

/// Both counts of the queue at `url`.
pub async fn depth(client: &Client, url: &str) -> Result<QueueDepth> {
    let mut attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .with_context(|| format!("reading the message counts of {url}"))?
        .attributes
        .unwrap_or_default();
    let mut count = |name: QueueAttributeName| -> Result<u64> {
        let value = attributes
            .remove(&name)
            .with_context(|| format!("{url}: no {name} in the answer"))?;
        value
            .parse()
            .with_context(|| format!("{url}: {name} {value:?} is not a count"))
    };
    Ok(QueueDepth {
        visible: count(QueueAttributeName::ApproximateNumberOfMessages)?,
        in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?,
    })
}

/// Messages on the queue at `url`, visible or in flight.
pub async fn queue_depth(client: &Client, url: &str) -> Result<u64> {
    Ok(depth(client, url).await?.total())
}
