//! Sending message bodies to a queue fast: batches of 10 (SQS's maximum per request), many
//! batches in flight at once, with a progress bar and a final rate.

use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};

/// SQS's limit of entries per `SendMessageBatch`.
pub const BATCH: usize = 10;

/// What a run achieved.
#[derive(Debug, Default)]
pub struct Report {
    pub sent: usize,
    /// `(body index, reason)` of every message SQS did not take.
    pub failed: Vec<(usize, String)>,
    pub elapsed: Duration,
}

impl Report {
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// A queue URL as given, or looked up by name.
pub async fn queue_url(client: &Client, queue: &str) -> anyhow::Result<String> {
    if queue.starts_with("https://") || queue.starts_with("http://") {
        return Ok(queue.to_owned());
    }
    let answer = client
        .get_queue_url()
        .queue_name(queue)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "looking up queue {queue:?}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            )
        })?;
    answer
        .queue_url
        .ok_or_else(|| anyhow::anyhow!("no URL for queue {queue:?}"))
}

/// Sends every body, `concurrency` batches at a time.
pub async fn send_all(
    client: &Client,
    queue_url: &str,
    bodies: &[String],
    concurrency: usize,
    progress: &ProgressBar,
) -> Report {
    progress.set_length(bodies.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} messages ({per_sec}, eta {eta})",
        )
        .expect("valid template"),
    );
    let started = Instant::now();
    let batches = bodies
        .chunks(BATCH)
        .enumerate()
        .map(|(n, chunk)| (n * BATCH, chunk));
    let results: Vec<(usize, Vec<(usize, String)>)> = futures::stream::iter(batches)
        .map(|(first, chunk)| async move {
            let failed = send_batch(client, queue_url, first, chunk).await;
            progress.inc((chunk.len() - failed.len()) as u64);
            (chunk.len() - failed.len(), failed)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    progress.finish();
    let mut report = Report {
        elapsed: started.elapsed(),
        ..Report::default()
    };
    for (sent, failed) in results {
        report.sent += sent;
        report.failed.extend(failed);
    }
    report.failed.sort();
    report
}

/// One `SendMessageBatch`; returns the entries that failed (all of them if the call failed).
async fn send_batch(
    client: &Client,
    queue_url: &str,
    first: usize,
    chunk: &[String],
) -> Vec<(usize, String)> {
    let entries: Result<Vec<_>, _> = chunk
        .iter()
        .enumerate()
        .map(|(i, body)| {
            SendMessageBatchRequestEntry::builder()
                .id((first + i).to_string())
                .message_body(body)
                .build()
        })
        .collect();
    let entries = match entries {
        Ok(entries) => entries,
        Err(e) => {
            return (first..first + chunk.len())
                .map(|i| (i, e.to_string()))
                .collect();
        }
    };
    match client
        .send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
    {
        Ok(answer) => answer
            .failed
            .into_iter()
            .map(|f| (f.id.parse().unwrap_or(first), f.message.unwrap_or(f.code)))
            .collect(),
        Err(e) => {
            let reason = aws_sdk_sqs::error::DisplayErrorContext(&e).to_string();
            (first..first + chunk.len())
                .map(|i| (i, reason.clone()))
                .collect()
        }
    }
}
