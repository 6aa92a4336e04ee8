//! Which trigger an invocation came from, told by the event's shape.
//!
//! One `lambda_runtime` handler serves both triggers, on `serde_json::Value`, and dispatches
//! here: `lambda_http::run` accepts HTTP events only, so the SQS trigger would otherwise need a
//! second function or a second runtime loop. An HTTP event then goes through `lambda_http`'s
//! conversion ([`crate::http::invoke`]), an SQS batch to [`crate::sqs::handle`]. An SQS event is
//! `{"Records": [{"eventSource": "aws:sqs", ...}]}`; an HTTP API 2.0 event has `version: "2.0"`
//! and `requestContext.http`. Anything else is refused as a function error.

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
}
