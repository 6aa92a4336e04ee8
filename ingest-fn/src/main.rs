//! `ingest-fn`'s entry point: read the settings, build the state of this execution environment
//! (no Temporal connection yet — that happens on the first order), and serve invocations.

use ingest_fn::IngestFn;
use ingest_fn::config::{AUTH_OFF_WARNING, Auth, IngestConfig};
use ingest_fn::dead_letter::SqsDeadLetters;
use ingest_fn::starter::{Connect, TemporalStarter};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init(shared::telemetry::WORKER_FILTER);
    let config = IngestConfig::from_env().await?;
    if config.auth == Auth::Off {
        tracing::warn!("{AUTH_OFF_WARNING}");
    }
    let starter = TemporalStarter::new(
        Connect::FromEnv,
        config.task_queue.clone(),
        config.start_timeout,
    );
    let dead_letters = match &config.dead_letter_queue_url {
        Some(url) => Some(SqsDeadLetters::new(
            aws_clients::sqs_client(None, None).await,
            url,
        )),
        None => None,
    };
    let function = IngestFn::new(config, starter, dead_letters);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let function = function.clone();
        async move { function.invoke(event).await.map_err(Error::from) }
    }))
    .await
}
