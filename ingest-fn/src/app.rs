//! The function as a value: its settings, how it starts orders and where never-valid messages go,
//! with one entry point per invocation. `main` builds one per execution environment; tests and
//! benchmarks can build their own.

use std::sync::Arc;

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::config::IngestConfig;
use crate::dead_letter::DeadLetters;
use crate::event::{Event, UnknownEvent, classify};
use crate::starter::OrderStarter;

/// `ingest-fn`'s state for the life of an execution environment.
pub struct IngestFn<S, D> {
    pub config: IngestConfig,
    pub starter: S,
    pub dead_letters: D,
}

impl<S: OrderStarter, D: DeadLetters> IngestFn<S, D> {
    pub fn new(config: IngestConfig, starter: S, dead_letters: D) -> Arc<Self> {
        Arc::new(Self {
            config,
            starter,
            dead_letters,
        })
    }

    /// One invocation: an HTTP API request or an SQS batch in, its response event out. The
    /// Lambda context goes with an HTTP request (`lambda_http` puts it in the request's
    /// extensions, with the X-Ray trace header).
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, UnknownEvent> {
        let LambdaEvent { payload, context } = event;
        Ok(match classify(payload)? {
            Event::Http(request) => {
                crate::http::invoke(&self.config, &self.starter, *request, context).await
            }
            Event::Sqs(event) => {
                crate::event::check_source(&event, self.config.queue_arn.as_deref())
                    .inspect_err(|refusal| tracing::warn!(%refusal, "SQS event refused"))?;
                serde_json::to_value(
                    crate::sqs::handle(&self.starter, &self.dead_letters, &event).await,
                )
                // Plain data; serializing it cannot fail.
                .expect("the SQS batch response serializes")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use shared::signing::Secret;

    const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:orders";

    fn event(payload: Value) -> LambdaEvent<Value> {
        LambdaEvent::new(payload, lambda_runtime::Context::default())
    }
    use crate::dead_letter::fake::FakeDeadLetters;
    use crate::starter::fake::FakeStarter;

    #[tokio::test]
    async fn invocations_are_dispatched_by_shape_and_answered_in_the_trigger_s_format() {
        let function = IngestFn::new(
            IngestConfig {
                auth: crate::config::Auth::Off,
                queue_arn: Some(QUEUE.into()),
                ..IngestConfig::with_secret(Secret::random())
            },
            FakeStarter::default(),
            FakeDeadLetters::default(),
        );
        let http = json!({
            "version": "2.0", "rawPath": "/orders",
            "requestContext": { "http": { "method": "POST", "path": "/orders" } },
            "headers": { "content-type": "application/json" },
            "body": shared::domain::sample_order_json("D-1"), "isBase64Encoded": false
        });
        let answer = function.invoke(event(http)).await.unwrap();
        assert_eq!(answer["statusCode"], 202);
        assert_eq!(
            serde_json::from_str::<Value>(answer["body"].as_str().unwrap()).unwrap()["workflowId"],
            "order-D-1"
        );

        let sqs = json!({ "Records": [
            { "messageId": "a", "eventSource": "aws:sqs", "eventSourceARN": QUEUE, "body": shared::domain::sample_order_json("D-2") },
        ] });
        let answer = function.invoke(event(sqs)).await.unwrap();
        assert_eq!(answer, json!({ "batchItemFailures": [] }));
        function.starter.set_down(true);
        let sqs = json!({ "Records": [{ "messageId": "b", "eventSource": "aws:sqs", "eventSourceARN": QUEUE, "body": shared::domain::sample_order_json("D-3") }] });
        assert_eq!(
            function.invoke(event(sqs)).await.unwrap(),
            json!({ "batchItemFailures": [{ "itemIdentifier": "b" }] })
        );

        assert!(
            function
                .invoke(event(json!({ "hello": "world" })))
                .await
                .is_err()
        );
        // A forged batch naming another queue starts nothing.
        function.starter.set_down(false);
        let forged = json!({ "Records": [{ "messageId": "c", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:elsewhere",
            "body": shared::domain::sample_order_json("D-4") }] });
        assert!(matches!(
            function.invoke(event(forged)).await,
            Err(UnknownEvent::ForeignQueue { .. })
        ));
        assert_eq!(function.starter.count(), 2);
    }
}
