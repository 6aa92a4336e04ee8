//! Which trigger an invocation came from, told by the event's shape.
//!
//! One `lambda_runtime` handler serves both triggers, on `serde_json::Value`, and dispatches
//! here: `lambda_http::run` accepts HTTP events only, so the SQS trigger would otherwise need a
//! second function or a second runtime loop. An HTTP event then goes through `lambda_http`'s
//! conversion ([`crate::http::invoke`]), an SQS batch to [`crate::sqs::handle`]. An SQS event is
//! `{"Records": [{"eventSource": "aws:sqs", ...}]}`; an HTTP API 2.0 event has `version: "2.0"`
//! and `requestContext.http`. Anything else is refused as a function error.
//!
//! ## Who may send orders, per trigger
//!
//! HTTP requests carry an HMAC signature ([`shared::signing`]). SQS records carry none, and the
//! shape alone would let anyone who may call `lambda:InvokeFunction` on this function start
//! orders by sending `{"Records":[{"eventSource":"aws:sqs",…}]}` (or any local process that
//! reaches the emulator). Two rules close that:
//!
//! 1. **Only the configured queue.** An SQS event is accepted only when every record's
//!    `eventSourceARN` is `SHOPFLOW_INGEST_QUEUE_ARN` (the template sets it to the orders
//!    queue); with it unset no SQS event is accepted. A refused batch is a function error, so
//!    a real but misrouted mapping loses nothing: its messages return to their queue and reach
//!    that queue's DLQ by its redrive policy.
//! 2. **Invoking the function is a privilege equal to sending to the queue.** The ARN is data
//!    the invoker writes, so rule 1 stops mistakes and anyone who does not know the queue's
//!    ARN, not an insider. The boundary that holds is IAM: `template.yaml` gives the function a
//!    resource policy for its HTTP API only (the SQS mapping polls with the function's own
//!    role, which needs no resource policy), so nobody outside the account can invoke it, and
//!    inside the account `lambda:InvokeFunction` on `shopflow-ingest` must be granted as
//!    carefully as `sqs:SendMessage` on the orders queue (`docs/aws.md`, "Trust boundaries").

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::sqs::SqsEvent;
use serde_json::Value;

/// A classified invocation.
#[derive(Debug)]
pub enum Event {
    Http(Box<ApiGatewayV2httpRequest>),
    Sqs(SqsEvent),
}

/// The payload is not an event this function handles.
#[derive(Debug, thiserror::Error)]
pub enum UnknownEvent {
    #[error("not an API Gateway HTTP API (2.0) or SQS event")]
    Shape,
    #[error("malformed {0} event: {1}")]
    Malformed(&'static str, serde_json::Error),
    #[error("SQS events are not accepted: SHOPFLOW_INGEST_QUEUE_ARN is not set")]
    NoQueueConfigured,
    #[error("SQS records from {got:?} are not accepted: this function reads {expected}")]
    ForeignQueue { got: String, expected: String },
}

/// Rule 1 of the module doc: every record of `event` comes from `queue_arn`.
pub fn check_source(
    event: &aws_lambda_events::sqs::SqsEvent,
    queue_arn: Option<&str>,
) -> Result<(), UnknownEvent> {
    let expected = queue_arn.ok_or(UnknownEvent::NoQueueConfigured)?;
    match event
        .records
        .iter()
        .find(|record| record.event_source_arn.as_deref() != Some(expected))
    {
        None => Ok(()),
        Some(foreign) => Err(UnknownEvent::ForeignQueue {
            got: foreign.event_source_arn.clone().unwrap_or_default(),
            expected: expected.to_owned(),
        }),
    }
}

/// Classifies and decodes an invocation payload.
pub fn classify(payload: Value) -> Result<Event, UnknownEvent> {
    let is_sqs = payload
        .get("Records")
        .and_then(Value::as_array)
        .is_some_and(|records| {
            records
                .iter()
                .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
        });
    if is_sqs {
        return serde_json::from_value(payload)
            .map(Event::Sqs)
            .map_err(|e| UnknownEvent::Malformed("SQS", e));
    }
    let is_http = payload.get("version").and_then(Value::as_str) == Some("2.0")
        && payload.pointer("/requestContext/http").is_some();
    if is_http {
        return serde_json::from_value(payload)
            .map(|request| Event::Http(Box::new(request)))
            .map_err(|e| UnknownEvent::Malformed("HTTP API", e));
    }
    Err(UnknownEvent::Shape)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shapes_are_told_apart() {
        let sqs =
            json!({ "Records": [{ "messageId": "m1", "eventSource": "aws:sqs", "body": "{}" }] });
        assert!(matches!(classify(sqs), Ok(Event::Sqs(e)) if e.records.len() == 1));
        let http = json!({
            "version": "2.0", "routeKey": "POST /orders", "rawPath": "/orders",
            "requestContext": { "http": { "method": "POST", "path": "/orders" } },
            "headers": {}, "isBase64Encoded": false
        });
        assert!(matches!(classify(http), Ok(Event::Http(_))));
        for other in [
            json!({}),
            json!([]),
            json!("x"),
            json!({ "Records": [{ "eventSource": "aws:s3" }] }),
            json!({ "version": "1.0", "requestContext": { "http": {} } }),
        ] {
            assert!(
                matches!(classify(other.clone()), Err(UnknownEvent::Shape)),
                "{other}"
            );
        }
    }

    #[test]
    fn sqs_records_count_only_from_the_configured_queue() {
        const OURS: &str = "arn:aws:sqs:us-east-1:123456789012:shopflow-orders";
        let event = |arns: &[Option<&str>]| {
            let records: Vec<Value> = arns
                .iter()
                .enumerate()
                .map(|(i, arn)| json!({ "messageId": i.to_string(), "eventSource": "aws:sqs", "eventSourceARN": arn, "body": "{}" }))
                .collect();
            match classify(json!({ "Records": records })) {
                Ok(Event::Sqs(event)) => event,
                other => panic!("{other:?}"),
            }
        };
        assert!(check_source(&event(&[Some(OURS), Some(OURS)]), Some(OURS)).is_ok());
        assert!(matches!(
            check_source(&event(&[Some(OURS)]), None),
            Err(UnknownEvent::NoQueueConfigured)
        ));
        let other = "arn:aws:sqs:us-east-1:123456789012:someone-elses";
        for arns in [
            vec![Some(OURS), Some(other)],
            vec![None],
            vec![Some(OURS), None],
        ] {
            assert!(
                matches!(
                    check_source(&event(&arns), Some(OURS)),
                    Err(UnknownEvent::ForeignQueue { .. })
                ),
                "{arns:?}"
            );
        }
    }
}
