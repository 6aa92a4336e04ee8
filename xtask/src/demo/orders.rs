//! The demo's orders once they are in: waiting for them to start and end, and reading from each
//! history which worker ran each step (local process or Lambda invocation) and when. How they
//! get in is [`super::front_door`]'s business.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use shared::domain::{OrderId, sample_order_json};
use shared::{OrderOutcome, orders};
use temporalio_client::{Client, WorkflowCountOptions, WorkflowFetchHistoryOptions};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// Which kind of worker ran a task, from its identity: `shared`'s reading of the identity
/// conventions, the same one the storefront's dashboard uses.
pub use shared::orders::WorkerKind;

/// One step of one order, as the history tells it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepRun {
    pub order_id: String,
    /// Activity type, or `WorkflowTask`.
    pub step: String,
    pub attempt: i32,
    pub worker: WorkerKind,
    pub identity: String,
    #[serde(with = "unix_millis")]
    pub at: SystemTime,
}

mod unix_millis {
    use std::time::{SystemTime, UNIX_EPOCH};
    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(
            t.duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        )
    }
}

/// A fresh order ID: `{prefix}-{n}-{random}`, unique across runs on the same server.
pub fn fresh_id(prefix: &str, n: usize) -> String {
    format!("{prefix}-{n:03}-{}", &ulid::Ulid::new().to_string()[20..])
}

/// The project's sample order (`shared`'s, the same as `events/orders/valid.json`) under `id`.
pub fn sample_body(id: &str) -> String {
    sample_order_json(id)
}

/// Wait until `order-{id}` exists: an order sent through the queue starts when ingest-fn's
/// event source gets to it.
pub async fn wait_started(client: &Client, order_id: &str, timeout: Duration) -> Result<()> {
    let wf = workflow_id(order_id)?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = orders::started_with(client, &wf).await {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "order {order_id} was not started within {timeout:?} (lost)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many workflow executions (runs) the server has for `order-{id}`, closed ones included.
/// Visibility may trail a start by a moment, so a started order counted 0 is asked again.
pub async fn runs_of(client: &Client, order_id: &str, started: bool) -> Result<usize> {
    let query = format!("WorkflowId = '{}'", workflow_id(order_id)?);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let count = client
            .count_workflows(query.clone(), WorkflowCountOptions::default())
            .await
            .context("counting workflow runs")?
            .count();
        if count > 0 || !started || tokio::time::Instant::now() >= deadline {
            return Ok(count);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `order-{orderId}`, for an order ID as the front door handed it back.
pub fn workflow_id(order_id: &str) -> Result<String> {
    let id = OrderId::parse(order_id).map_err(|e| anyhow::anyhow!("order ID {order_id:?}: {e}"))?;
    Ok(shared::workflow_id(&id))
}

pub async fn wait_all(
    client: &Client,
    order_ids: &[String],
    timeout: Duration,
) -> Result<HashMap<String, OrderOutcome>> {
    let mut outcomes = HashMap::new();
    for order_id in order_ids {
        let wf = workflow_id(order_id)?;
        let outcome = tokio::time::timeout(timeout, orders::outcome(client, &wf))
            .await
            .with_context(|| format!("order {order_id} did not finish within {timeout:?} (stuck)"))?
            .with_context(|| format!("order {order_id} failed"))?;
        outcomes.insert(order_id.clone(), outcome);
    }
    Ok(outcomes)
}

/// Every activity start (with its attempt) and workflow task completion of an order.
pub async fn timeline(client: &Client, order_id: &str) -> Result<Vec<StepRun>> {
    let wf = workflow_id(order_id)?;
    let events = orders::handle(client, &wf)
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .with_context(|| format!("history of {wf}"))?;
    let mut scheduled: HashMap<i64, String> = HashMap::new();
    let mut runs = Vec::new();
    for e in events {
        let at = e
            .event_time
            .and_then(|t| {
                SystemTime::UNIX_EPOCH.checked_add(Duration::new(
                    t.seconds.max(0) as u64,
                    t.nanos.max(0) as u32,
                ))
            })
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                scheduled.insert(
                    e.event_id,
                    a.activity_type.map(|t| t.name).unwrap_or_default(),
                );
            }
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => runs.push(StepRun {
                order_id: order_id.to_owned(),
                step: scheduled
                    .get(&a.scheduled_event_id)
                    .cloned()
                    .unwrap_or_default(),
                attempt: a.attempt,
                worker: WorkerKind::of(&a.identity),
                identity: a.identity,
                at,
            }),
            Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => runs.push(StepRun {
                order_id: order_id.to_owned(),
                step: "WorkflowTask".to_owned(),
                attempt: 1,
                worker: WorkerKind::of(&a.identity),
                identity: a.identity,
                at,
            }),
            _ => {}
        }
    }
    Ok(runs)
}
