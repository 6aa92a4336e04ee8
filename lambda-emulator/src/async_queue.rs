//! Asynchronous (`Event`) invocations: accepted at once, then run in the background the way
//! Lambda's internal queue does — throttles are retried with a growing back-off, but only while
//! the event is younger than the maximum event age (Lambda's `MaximumEventAgeInSeconds`, six
//! hours by default; AWS "Asynchronous invocation"), function errors are retried
//! `async_retry_delays.len()` times (Lambda: twice, about one and two minutes apart), and then the
//! event is dropped with a log line (Lambda would send it to an on-failure destination or DLQ,
//! which are not emulated). Every attempt keeps the event's request id, as in Lambda.

use std::sync::Arc;

use crate::config::EmulatorConfig;
use crate::invoke::{InvokeError, InvokeInput};
use crate::pool::FunctionPool;

/// Queues `input` for `pool` and returns at once.
pub(crate) fn enqueue(pool: Arc<FunctionPool>, config: Arc<EmulatorConfig>, input: InvokeInput) {
    pool.metrics().async_event_accepted();
    tokio::spawn(async move {
        run_with_retries(&pool, &config, input).await;
        pool.metrics().async_event_done();
    });
}

async fn run_with_retries(pool: &Arc<FunctionPool>, config: &EmulatorConfig, input: InvokeInput) {
    let function = pool.config().name.clone();
    let mut retries = config.async_retry_delays.iter();
    let mut backoff = config.throttle_retry_delay;
    let accepted = tokio::time::Instant::now();
    loop {
        if accepted.elapsed() >= config.max_event_age {
            tracing::warn!(%function, request_id = %input.request_id, max_event_age = ?config.max_event_age,
                "event dropped: older than the maximum event age");
            return;
        }
        match pool.invoke(input.clone()).await {
            Err(InvokeError::Throttled) => {
                tracing::debug!(%function, request_id = %input.request_id, ?backoff, "event throttled; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(config.throttle_retry_max);
            }
            Err(InvokeError::ShuttingDown | InvokeError::UnknownFunction) => {
                tracing::warn!(%function, request_id = %input.request_id, "event dropped: the emulator is shutting down");
                return;
            }
            Ok(result) if !result.outcome.is_error() => return,
            Ok(result) => match retries.next() {
                Some(delay) => {
                    tracing::info!(%function, request_id = %input.request_id, ?delay, "event failed; retrying");
                    tokio::time::sleep(*delay).await;
                }
                None => {
                    let error = String::from_utf8_lossy(result.outcome.payload());
                    tracing::warn!(%function, request_id = %input.request_id, %error, "event failed after all retries; dropped");
                    return;
                }
            },
        }
    }
}
