//! The SQS event source mapping: long-polls a queue, gathers a batch (BatchSize,
//! MaximumBatchingWindowInSeconds), invokes the function synchronously with an `SqsEvent`, and
//! deletes what succeeded — all of it, or with `ReportBatchItemFailures` everything except the
//! reported items. Failed messages are never deleted or made visible early: they come back after
//! the queue's visibility timeout and, past its `maxReceiveCount`, the queue's redrive policy
//! moves them to the dead-letter queue (that is the queue's job, as in AWS).
//!
//! As on Lambda ("Using Lambda with Amazon SQS"): a batch the function is throttled for is not
//! retried by the mapping — its messages return after the visibility timeout and the receive
//! counts toward `maxReceiveCount`; and a mapping is refused, as `CreateEventSourceMapping`
//! refuses it, when the function's timeout exceeds the queue's visibility timeout (a message
//! would come back while its first invocation still runs).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use axum::body::Bytes;

use crate::emulator::Shared;
use crate::invoke::{InvokeError, InvokeInput, InvokeOutcome};
use crate::pool::FunctionPool;
use crate::registry::{SqsSource, function_arn, queue_arn};

/// SQS returns at most 10 messages per receive.
const MAX_RECEIVE: usize = 10;

/// The longest long poll SQS allows.
const MAX_WAIT_SECONDS: u64 = 20;

/// An SQS client for `endpoint` (LocalStack). Credentials come from the usual variables when
/// set; LocalStack accepts any. The HTTP client uses rustls with ring (see the workspace
/// manifest for why), and serves plain `http://` endpoints too.
pub fn client(endpoint: &str, region: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "test".into());
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".into());
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(key, secret, None, None, "lambda-emulator"))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// One event source mapping at work.
pub(crate) struct Poller {
    client: Client,
    pool: Arc<FunctionPool>,
    source: SqsSource,
    shared: Arc<Shared>,
}

impl Poller {
    pub(crate) fn new(
        client: Client,
        pool: Arc<FunctionPool>,
        source: SqsSource,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            client,
            pool,
            source,
            shared,
        }
    }

    pub(crate) async fn run(self) {
        let queue_url = self.queue_url().await;
        if let Err(refusal) = self.check_visibility_timeout(&queue_url).await {
            tracing::error!(function = %self.pool.config().name, queue = %self.source.queue_name, "SQS event source refused: {refusal}");
            return;
        }
        let region = self.shared.registry.region().to_owned();
        let queue_arn = queue_arn(&region, &self.source.queue_name);
        tracing::info!(function = %self.pool.config().name, queue = %self.source.queue_name, "SQS event source polling");
        loop {
            let messages = self.receive_batch(&queue_url).await;
            if !messages.is_empty() {
                self.deliver(&queue_url, &queue_arn, &region, messages)
                    .await;
            }
        }
    }

    /// Lambda's check when the mapping is created: the queue's visibility timeout must cover the
    /// function's timeout. A queue whose attributes cannot be read is let through.
    async fn check_visibility_timeout(&self, queue_url: &str) -> Result<(), String> {
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
            .send()
            .await;
        let visibility = attributes.ok().and_then(|a| a.attributes).and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
                .and_then(|v| v.parse().ok())
        });
        match visibility {
            Some(seconds) => {
                visibility_covers_timeout(Duration::from_secs(seconds), self.pool.config().timeout)
            }
            None => Ok(()),
        }
    }

    /// Waits until the queue exists (it may be created after the emulator starts).
    async fn queue_url(&self) -> String {
        let mut delay = Duration::from_millis(200);
        loop {
            match self
                .client
                .get_queue_url()
                .queue_name(&self.source.queue_name)
                .send()
                .await
            {
                Ok(answer) => {
                    if let Some(url) = answer.queue_url {
                        return url;
                    }
                }
                Err(error) => tracing::warn!(
                    queue = %self.source.queue_name,
                    error = %aws_sdk_sqs::error::DisplayErrorContext(&error),
                    "SQS queue not available yet"
                ),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Collects up to BatchSize messages: one long poll, then more receives until the batch is
    /// full or the batching window (counted from the first message) has passed.
    async fn receive_batch(&self, queue_url: &str) -> Vec<Message> {
        let batch_size = self.source.batch_size.max(1) as usize;
        let mut batch = Vec::new();
        let mut window_end: Option<Instant> = None;
        loop {
            let wait = match window_end {
                None => self.shared.config.sqs_wait_time,
                Some(end) => end.saturating_duration_since(Instant::now()),
            };
            let wanted = (batch_size - batch.len()).min(MAX_RECEIVE);
            let received = self
                .client
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(wanted as i32)
                .wait_time_seconds(long_poll_seconds(wait))
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await;
            match received {
                Ok(answer) => {
                    for message in answer.messages.unwrap_or_default() {
                        // A message whose visibility timeout ran out within the batching window
                        // comes back: it stays one record, with the newest receipt handle (the
                        // earlier one no longer deletes it).
                        let earlier = batch.iter_mut().find(|m: &&mut Message| {
                            m.message_id.is_some() && m.message_id == message.message_id
                        });
                        match earlier {
                            Some(earlier) => *earlier = message,
                            None => batch.push(message),
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(queue = %self.source.queue_name, error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "SQS receive failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if batch.is_empty() {
                        continue;
                    }
                }
            }
            if batch.is_empty() {
                continue;
            }
            let end = *window_end
                .get_or_insert_with(|| Instant::now() + self.source.maximum_batching_window);
            if batch.len() >= batch_size || Instant::now() >= end {
                return batch;
            }
        }
    }

    async fn deliver(
        &self,
        queue_url: &str,
        queue_arn: &str,
        region: &str,
        messages: Vec<Message>,
    ) {
        let function = &self.pool.config().name;
        let event = sqs_event(&messages, queue_arn, region);
        let Ok(payload) = serde_json::to_vec(&event) else {
            return;
        };
        // The mapping SAM creates for an `SQS` event names the unqualified function ARN (no alias
        // here), and that is the ARN Lambda passes on.
        let input = InvokeInput::new(Bytes::from(payload), function_arn(region, function));
        let result = match self.pool.invoke(input).await {
            Ok(result) => result,
            Err(InvokeError::Throttled) => {
                tracing::info!(%function, messages = messages.len(),
                    "function throttled; the batch returns after its visibility timeout (the receive counts toward maxReceiveCount)");
                // Lambda's pollers back off when throttled; so does this one, briefly.
                tokio::time::sleep(self.shared.config.throttle_retry_delay).await;
                return;
            }
            Err(_) => return,
        };
        let handles: HashMap<&str, &str> = messages
            .iter()
            .filter_map(|m| Some((m.message_id.as_deref()?, m.receipt_handle.as_deref()?)))
            .collect();
        let to_delete: Vec<&str> = match &result.outcome {
            InvokeOutcome::FunctionError(error) => {
                tracing::info!(%function, request_id = %result.request_id, error = %String::from_utf8_lossy(error),
                    "SQS batch failed; its messages return after the visibility timeout");
                return;
            }
            InvokeOutcome::Success(_) if !self.source.report_batch_item_failures => {
                handles.values().copied().collect()
            }
            InvokeOutcome::Success(answer) => match failed_items(answer, &handles) {
                Some(failed) => handles
                    .iter()
                    .filter(|(id, _)| !failed.contains(**id))
                    .map(|(_, h)| *h)
                    .collect(),
                None => {
                    tracing::warn!(%function, request_id = %result.request_id,
                        "invalid batchItemFailures; the whole batch counts as failed, as in Lambda");
                    return;
                }
            },
        };
        self.delete(queue_url, &to_delete).await;
    }

    async fn delete(&self, queue_url: &str, receipt_handles: &[&str]) {
        for chunk in receipt_handles.chunks(MAX_RECEIVE) {
            let entries = chunk.iter().enumerate().filter_map(|(index, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(*handle)
                    .build()
                    .ok()
            });
            let outcome = self
                .client
                .delete_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries.collect()))
                .send()
                .await;
            match outcome {
                Ok(answer) if !answer.failed.is_empty() => {
                    tracing::warn!(queue = %self.source.queue_name, failed = answer.failed.len(), "some SQS deletes failed");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(queue = %self.source.queue_name, error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "SQS delete failed");
                }
            }
        }
    }
}

/// `WaitTimeSeconds` for a receive that should wait `wait`: whole seconds (SQS's unit) rounded
/// **up**, at most 20. Rounding down turned the batching window's last second into short polls
/// (`0`) that return at once when the queue is empty — a tight loop of receives until the window
/// ended. Rounded up, an empty queue holds the receive at most one second past the window; the
/// alternative, cutting the receive off when the window ends, would drop an answer SQS may
/// already have sent, hiding its messages until their visibility timeout. A long poll still
/// returns as soon as messages are there, so a filling batch is not held up.
fn long_poll_seconds(wait: Duration) -> i32 {
    let seconds = wait
        .as_nanos()
        .div_ceil(1_000_000_000)
        .min(u128::from(MAX_WAIT_SECONDS));
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

/// The message ids the function reported as failed, or `None` when the report is invalid (not
/// a batch response, or an id that is empty or not in the batch) — Lambda then fails the batch.
/// A null or empty list means every message succeeded.
fn failed_items(answer: &[u8], batch: &HashMap<&str, &str>) -> Option<HashSet<String>> {
    let value: serde_json::Value = serde_json::from_slice(answer).ok()?;
    if value.is_null()
        || value
            .get("batchItemFailures")
            .is_none_or(serde_json::Value::is_null)
    {
        return Some(HashSet::new());
    }
    let response: SqsBatchResponse = serde_json::from_value(value).ok()?;
    response
        .batch_item_failures
        .into_iter()
        .map(|item| {
            batch
                .contains_key(item.item_identifier.as_str())
                .then_some(item.item_identifier)
        })
        .collect()
}

/// The event Lambda builds for a batch.
fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|message| {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id.clone();
            record.receipt_handle = message.receipt_handle.clone();
            record.body = message.body.clone();
            record.md5_of_body = message.md5_of_body.clone();
            record.md5_of_message_attributes = message.md5_of_message_attributes.clone();
            record.attributes = message
                .attributes
                .iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect();
            record.message_attributes = message
                .message_attributes
                .iter()
                .flatten()
                .map(|(name, value)| {
                    let mut attribute = SqsMessageAttribute::default();
                    attribute.string_value = value.string_value.clone();
                    attribute.binary_value = value.binary_value.as_ref().map(|blob| {
                        let mut data = Base64Data::default();
                        data.extend_from_slice(blob.as_ref());
                        data
                    });
                    attribute.data_type = Some(value.data_type.clone());
                    (name.clone(), attribute)
                })
                .collect();
            record.event_source = Some("aws:sqs".into());
            record.event_source_arn = Some(queue_arn.to_owned());
            record.aws_region = Some(region.to_owned());
            record
        })
        .collect();
    event
}

/// `CreateEventSourceMapping`'s rule: "Queue visibility timeout: V seconds is less than Function
/// timeout: T seconds".
fn visibility_covers_timeout(
    visibility: Duration,
    function_timeout: Duration,
) -> Result<(), String> {
    if visibility < function_timeout {
        return Err(format!(
            "Invalid request provided: Queue visibility timeout: {} seconds is less than Function timeout: {} seconds",
            visibility.as_secs(),
            function_timeout.as_secs()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_visibility_timeout_must_cover_the_function_timeout() {
        assert!(
            visibility_covers_timeout(Duration::from_secs(30), Duration::from_secs(30)).is_ok()
        );
        let refusal = visibility_covers_timeout(Duration::from_secs(10), Duration::from_secs(30))
            .unwrap_err();
        assert!(
            refusal.contains(
                "Queue visibility timeout: 10 seconds is less than Function timeout: 30 seconds"
            ),
            "{refusal}"
        );
    }

    #[test]
    fn long_polls_round_the_remaining_window_up_to_whole_seconds() {
        assert_eq!(
            long_poll_seconds(Duration::ZERO),
            0,
            "nothing left: one last short poll"
        );
        assert_eq!(long_poll_seconds(Duration::from_nanos(1)), 1);
        assert_eq!(
            long_poll_seconds(Duration::from_millis(300)),
            1,
            "under a second must not become a short poll"
        );
        assert_eq!(long_poll_seconds(Duration::from_millis(999)), 1);
        assert_eq!(long_poll_seconds(Duration::from_secs(1)), 1);
        assert_eq!(long_poll_seconds(Duration::from_millis(1_001)), 2);
        assert_eq!(long_poll_seconds(Duration::from_secs(20)), 20);
        assert_eq!(
            long_poll_seconds(Duration::from_secs(300)),
            20,
            "SQS allows at most 20 s"
        );
    }

    #[test]
    fn batch_item_failures_are_validated_against_the_batch() {
        let batch: HashMap<&str, &str> = [("m1", "h1"), ("m2", "h2")].into();
        let failed = failed_items(
            br#"{"batchItemFailures":[{"itemIdentifier":"m2"}]}"#,
            &batch,
        )
        .unwrap();
        assert_eq!(failed, HashSet::from(["m2".to_owned()]));
        assert_eq!(
            failed_items(br#"{"batchItemFailures":[]}"#, &batch),
            Some(HashSet::new())
        );
        assert_eq!(failed_items(b"null", &batch), Some(HashSet::new()));
        assert_eq!(
            failed_items(
                br#"{"batchItemFailures":[{"itemIdentifier":"other"}]}"#,
                &batch
            ),
            None
        );
        assert_eq!(
            failed_items(br#"{"batchItemFailures":[{"itemIdentifier":""}]}"#, &batch),
            None
        );
        assert_eq!(
            failed_items(br#"{"batchItemFailures":"nope"}"#, &batch),
            None
        );
    }
}
