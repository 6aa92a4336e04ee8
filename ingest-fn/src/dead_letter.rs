//! Where SQS messages that can never become a valid order go: the dead-letter queue, sent there
//! by `ingest-fn` itself with the reason attached, instead of being retried until the queue's
//! redrive policy gives up.
//!
//! Why send it ourselves: retrying a message that fails validation cannot succeed, it only delays
//! the verdict by `maxReceiveCount` × visibility timeout and hides *why* it failed. Sent directly,
//! the DLQ message carries the reason as message attributes (`shopflow-reject-rule`,
//! `shopflow-reject-reason`, `shopflow-source-message-id`, `shopflow-ingest-id`); the body is the
//! original body, untouched, so it can be fixed and re-sent. Only after the DLQ accepted it is
//! the original reported as processed (and deleted). If the DLQ send fails — or no DLQ is
//! configured — the record is reported as failed instead, and the queue's redrive policy is the
//! safety net: nothing is lost either way.

use std::future::Future;

use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_sqs::types::MessageAttributeValue;

/// Why a message was dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Short machine-readable cause: `malformed-json`, `invalid-order`, `order-conflict`.
    pub rule: &'static str,
    /// Human-readable reason (the field errors, or the conflicting workflow).
    pub reason: String,
    pub ingest_id: String,
}

/// A place to put never-valid messages.
pub trait DeadLetters: Send + Sync + 'static {
    fn send(
        &self,
        record: &SqsMessage,
        letter: &DeadLetter,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// No DLQ configured: every send fails, so the record is retried and redriven by the queue.
impl<T: DeadLetters> DeadLetters for Option<T> {
    async fn send(&self, record: &SqsMessage, letter: &DeadLetter) -> Result<(), String> {
        match self {
            Some(inner) => inner.send(record, letter).await,
            None => Err("no dead-letter queue configured (SHOPFLOW_INGEST_DLQ_URL)".to_owned()),
        }
    }
}

/// The real DLQ: an SQS queue.
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

/// SQS caps a message attribute value (with the rest of the message) at 256 KiB; a reason is
/// a summary, so it is cut far below that.
const MAX_REASON_CHARS: usize = 2000;

impl SqsDeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

impl DeadLetters for SqsDeadLetters {
    async fn send(&self, record: &SqsMessage, letter: &DeadLetter) -> Result<(), String> {
        let text = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
        };
        let reason: String = letter.reason.chars().take(MAX_REASON_CHARS).collect();
        let source_id = record.message_id.as_deref().unwrap_or("unknown");
        // SQS refuses empty bodies; an empty original is recorded as such.
        let body = record
            .body
            .as_deref()
            .filter(|b| !b.is_empty())
            .unwrap_or("(empty body)");
        let attributes = [
            ("shopflow-reject-rule", letter.rule),
            ("shopflow-reject-reason", reason.as_str()),
            ("shopflow-source-message-id", source_id),
            ("shopflow-ingest-id", letter.ingest_id.as_str()),
        ];
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body);
        for (name, value) in attributes {
            request = request.message_attributes(name, text(value).map_err(|e| e.to_string())?);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
    }
}

/// A recording DLQ for the handlers' unit tests; `fail` makes every send fail.
#[cfg(test)]
pub(crate) mod fake {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[derive(Default)]
    pub(crate) struct FakeDeadLetters {
        pub(crate) sent: Mutex<Vec<(Option<String>, DeadLetter)>>,
        pub(crate) fail: AtomicBool,
        /// Never answer (a DLQ endpoint that hangs).
        pub(crate) hang: AtomicBool,
    }

    impl DeadLetters for FakeDeadLetters {
        async fn send(&self, record: &SqsMessage, letter: &DeadLetter) -> Result<(), String> {
            if self.fail.load(Ordering::SeqCst) {
                return Err("DLQ unreachable".into());
            }
            if self.hang.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            self.sent
                .lock()
                .unwrap()
                .push((record.message_id.clone(), letter.clone()));
            Ok(())
        }
    }
}
