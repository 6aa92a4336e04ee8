//! The SQS trigger: a batch of order messages in, `batchItemFailures` out
//! (`ReportBatchItemFailures` must be on for the event source mapping). A plain async function,
//! tested without the network.
//!
//! Per record:
//! - valid, started or a duplicate of a started order → success (deleted from the queue);
//! - Temporal unavailable → reported as failed: SQS redelivers it after the visibility timeout,
//!   and after `maxReceiveCount` deliveries the queue's redrive policy moves it to the DLQ;
//! - never valid (over the HTTP API's 64 KiB body limit, malformed, breaks a rule, or a different
//!   order under an existing ID) → sent to the DLQ by us with the reason (see [`crate::dead_letter`]) and reported as success; logged
//!   once, with the reason. If that send fails, it is reported as failed (redrive is the net).
//!
//! Records of a batch run concurrently (each waits on Temporal independently). SQS messages are
//! not HMAC-signed: who may send to the queue is decided by IAM (the queue policy and the
//! senders' roles), and the queue is not reachable from the internet without AWS credentials.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt as _;
use ulid::Ulid;

use crate::config::MAX_BODY_BYTES;
use crate::dead_letter::{DeadLetter, DeadLetters};
use crate::ingest::{Ingested, RejectionKind, Source, ingest, reason};
use crate::starter::OrderStarter;

/// How many records of one batch wait on Temporal at the same time (a batch is at most 10 for
/// standard queues by default, up to 10 000 with a batching window).
pub const CONCURRENCY: usize = 10;

/// Longest wait for the DLQ to accept one never-valid message; past it the record is reported
/// failed and the queue's redrive is the net.
///
/// With the start timeout this bounds a batch: no record takes longer than start timeout + this,
/// and records run [`CONCURRENCY`] at a time, so a batch of `B` ends within
/// `ceil(B / CONCURRENCY) × (start timeout + DLQ_SEND_TIMEOUT)`. `template.yaml` caps
/// `BatchSize` so that this fits the function's timeout (checked by `xtask/tests/template.rs`).
pub const DLQ_SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Handles one batch; the answer lists the records to retry.
pub async fn handle(
    starter: &impl OrderStarter,
    dead_letters: &impl DeadLetters,
    event: &SqsEvent,
) -> SqsBatchResponse {
    let failed: Vec<String> = futures::stream::iter(&event.records)
        .map(|record| async move {
            (!process(starter, dead_letters, record).await)
                .then(|| record.message_id.clone().unwrap_or_default())
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|failed| async move { failed })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for message_id in failed {
        response.add_failure(message_id);
    }
    response
}

/// Handles one record; `true` when it is done with (may be deleted).
async fn process(
    starter: &impl OrderStarter,
    dead_letters: &impl DeadLetters,
    record: &SqsMessage,
) -> bool {
    let ingest_id = Ulid::new();
    let body = record.body.as_deref().unwrap_or_default();
    let letter = |rule: &'static str, reason: String| DeadLetter {
        rule,
        reason,
        ingest_id: ingest_id.to_string(),
    };
    // The same cap as the HTTP API's: a queue accepts up to 256 KiB (1 MiB since 2025), and an
    // order never needs more than 64 KiB; a larger body is not parsed at all.
    let letter = if body.len() > MAX_BODY_BYTES {
        letter(
            "too-large",
            format!(
                "the body is {} bytes; an order may be at most {MAX_BODY_BYTES}",
                body.len()
            ),
        )
    } else {
        match ingest(starter, body.as_bytes(), ingest_id, Source::Sqs).await {
            Ingested::Started(_) | Ingested::Duplicate(_) => return true,
            Ingested::Unavailable(_) => return false,
            Ingested::Rejected(rejection) => {
                let rule = match rejection.kind {
                    RejectionKind::Malformed => "malformed-json",
                    RejectionKind::Invalid => "invalid-order",
                };
                letter(rule, reason(&rejection.errors))
            }
            Ingested::Conflict { workflow_id, .. } => letter(
                "order-conflict",
                format!("{workflow_id} was started with different order contents"),
            ),
        }
    };
    let message_id = record.message_id.as_deref().unwrap_or_default();
    let sent = tokio::time::timeout(DLQ_SEND_TIMEOUT, dead_letters.send(record, &letter))
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "the DLQ did not answer within {DLQ_SEND_TIMEOUT:?}"
            ))
        });
    match sent {
        Ok(()) => {
            tracing::warn!(%ingest_id, source = "sqs", message_id, rule = letter.rule, reason = %letter.reason, "never-valid message moved to the dead-letter queue");
            true
        }
        Err(error) => {
            tracing::error!(%ingest_id, source = "sqs", message_id, rule = letter.rule, reason = %letter.reason, %error,
                "could not dead-letter a never-valid message; it stays on the queue for redrive");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use serde_json::{Value, json};
    use shared::domain::sample_order_json;

    use super::*;
    use crate::dead_letter::fake::FakeDeadLetters;
    use crate::starter::fake::FakeStarter;

    fn batch(bodies: &[String]) -> SqsEvent {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| json!({ "messageId": format!("m{i}"), "body": body, "eventSource": "aws:sqs" }))
            .collect();
        serde_json::from_value(json!({ "Records": records })).unwrap()
    }

    fn failed(response: &SqsBatchResponse) -> Vec<String> {
        let mut ids: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        ids.sort();
        ids
    }

    #[tokio::test]
    async fn never_valid_records_go_to_the_dlq_with_their_reason_and_the_rest_start_once() {
        let starter = FakeStarter::default();
        let dlq = FakeDeadLetters::default();
        let mut bodies: Vec<String> = (0..8)
            .map(|i| sample_order_json(&format!("S-{i}")))
            .collect();
        bodies.push("{ nope".into());
        let mut invalid: Value = serde_json::from_str(&sample_order_json("S-9")).unwrap();
        invalid["currency"] = "usd".into();
        bodies.push(invalid.to_string());
        let response = handle(&starter, &dlq, &batch(&bodies)).await;
        assert!(failed(&response).is_empty(), "{response:?}");
        assert_eq!(starter.count(), 8);
        let mut sent = dlq.sent.lock().unwrap().clone();
        sent.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(sent.len(), 2);
        assert_eq!(
            (sent[0].0.as_deref(), sent[0].1.rule),
            (Some("m8"), "malformed-json")
        );
        assert_eq!(
            (sent[1].0.as_deref(), sent[1].1.rule),
            (Some("m9"), "invalid-order")
        );
        assert!(sent[1].1.reason.contains("currency"), "{:?}", sent[1].1);

        // Redelivered (or sent twice): duplicates succeed without a second start; a changed
        // order under an existing ID is a conflict and is dead-lettered too.
        let mut changed: Value = serde_json::from_str(&bodies[0]).unwrap();
        changed["items"][0]["quantity"] = 9.into();
        let response = handle(
            &starter,
            &dlq,
            &batch(&[bodies[0].clone(), changed.to_string()]),
        )
        .await;
        assert!(failed(&response).is_empty());
        assert_eq!(starter.count(), 8);
        assert_eq!(
            dlq.sent.lock().unwrap().last().unwrap().1.rule,
            "order-conflict"
        );
    }

    #[tokio::test]
    async fn temporal_down_fails_only_the_valid_records_and_a_dlq_failure_keeps_the_message() {
        let starter = FakeStarter::default();
        let dlq = FakeDeadLetters::default();
        starter.set_down(true);
        let bodies = vec![
            sample_order_json("T-1"),
            "not json".into(),
            sample_order_json("T-2"),
        ];
        let response = handle(&starter, &dlq, &batch(&bodies)).await;
        assert_eq!(failed(&response), ["m0", "m2"]);
        assert_eq!(
            dlq.sent.lock().unwrap().len(),
            1,
            "the invalid one is dead-lettered regardless"
        );

        dlq.fail.store(true, Ordering::SeqCst);
        starter.set_down(false);
        let response = handle(&starter, &dlq, &batch(&bodies)).await;
        assert_eq!(
            failed(&response),
            ["m1"],
            "not dead-lettered, so not deleted"
        );
        assert_eq!(starter.count(), 2);

        // No DLQ configured at all: the same — fail and let the redrive policy move it.
        let response = handle(&starter, &None::<FakeDeadLetters>, &batch(&bodies[1..2])).await;
        assert_eq!(failed(&response), ["m0"]);
    }

    /// A DLQ that never answers costs a record [`DLQ_SEND_TIMEOUT`], not the whole batch its
    /// function timeout: the record is failed (redrive is the net) and the others are done.
    #[tokio::test(start_paused = true)]
    async fn a_hanging_dlq_fails_its_record_after_the_send_timeout() {
        let starter = FakeStarter::default();
        let dlq = FakeDeadLetters::default();
        dlq.hang.store(true, Ordering::SeqCst);
        let bodies = vec![sample_order_json("H-1"), "not json".into()];
        let began = tokio::time::Instant::now();
        let response = handle(&starter, &dlq, &batch(&bodies)).await;
        assert_eq!(failed(&response), ["m1"]);
        assert_eq!(starter.count(), 1);
        // Paused time: exactly the timeout passed, whatever the machine's load.
        assert_eq!(began.elapsed(), DLQ_SEND_TIMEOUT);
    }

    #[tokio::test]
    async fn bodies_over_the_http_limit_are_dead_lettered_unparsed() {
        let starter = FakeStarter::default();
        let dlq = FakeDeadLetters::default();
        let mut huge: Value = serde_json::from_str(&sample_order_json("S-big")).unwrap();
        huge["notes"] = "x".repeat(MAX_BODY_BYTES).into();
        let response = handle(
            &starter,
            &dlq,
            &batch(&[huge.to_string(), sample_order_json("S-ok")]),
        )
        .await;
        assert!(failed(&response).is_empty());
        assert_eq!(starter.count(), 1, "only the normal one started");
        let sent = dlq.sent.lock().unwrap().clone();
        assert_eq!((sent.len(), sent[0].1.rule), (1, "too-large"));
        assert!(
            sent[0].1.reason.contains("at most 65536"),
            "{:?}",
            sent[0].1
        );
    }

    #[tokio::test]
    async fn an_empty_batch_and_empty_bodies_are_handled() {
        let starter = FakeStarter::default();
        let dlq = FakeDeadLetters::default();
        assert!(failed(&handle(&starter, &dlq, &batch(&[])).await).is_empty());
        let response = handle(&starter, &dlq, &batch(&[String::new()])).await;
        assert!(failed(&response).is_empty());
        assert_eq!(dlq.sent.lock().unwrap()[0].1.rule, "malformed-json");
    }
}
