//! The function as a value: its settings, how it starts orders and where never-valid messages go,
//! with one entry point per invocation. `main` builds one per execution environment; tests and
//! benchmarks can build their own.

use std::sync::Arc;

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
        Arc::new(Self { config, starter, dead_letters })
    }

    /// One invocation: an HTTP API request or an SQS batch in, its response event out.
    pub async fn invoke(&self, payload: Value) -> Result<Value, UnknownEvent> {
        let answer = match classify(payload)? {
            Event::Http(request) => serde_json::to_value(crate::http::handle(&self.config, &self.starter, &request).await),
            Event::Sqs(event) => serde_json::to_value(crate::sqs::handle(&self.starter, &self.dead_letters, &event).await),
        };
        // Both response types are plain data; serializing them cannot fail.
        Ok(answer.expect("response events serialize"))
    }
}
