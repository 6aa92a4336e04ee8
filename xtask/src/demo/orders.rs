//! The demo's orders: placing them, waiting for them, and reading from each history which worker
//! ran each step (local process or Lambda invocation) and when.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use shared::domain::{Order, parse_order, sample_order_json};
use shared::{OrderOutcome, orders};
use temporalio_client::{Client, WorkflowFetchHistoryOptions};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// Which kind of worker ran a task, from its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerKind {
    Local,
    Lambda,
    Other,
}

impl WorkerKind {
    pub fn of(identity: &str) -> Self {
        if identity.starts_with("local-worker@") {
            WorkerKind::Local
        } else if identity.contains(":function:") {
            WorkerKind::Lambda
        } else {
            WorkerKind::Other
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WorkerKind::Local => "local",
            WorkerKind::Lambda => "Lambda",
            WorkerKind::Other => "other",
        }
    }
}

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
        s.serialize_u64(t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0))
    }
}

/// A sample order with a fresh ID; `edit` changes its JSON.
pub fn new_order(prefix: &str, n: usize, edit: impl FnOnce(&mut serde_json::Value)) -> Order {
    let id = format!("{prefix}-{n:03}-{}", &ulid::Ulid::new().to_string()[20..]);
    let mut v: serde_json::Value = serde_json::from_str(&sample_order_json(&id)).expect("sample is JSON");
    edit(&mut v);
    parse_order(v.to_string().as_bytes()).expect("demo orders are valid")
}

pub async fn place(client: &Client, order: &Order) -> Result<()> {
    orders::start_order(client, shared::TASK_QUEUE, order).await.with_context(|| format!("starting order {}", order.order_id))?;
    Ok(())
}

pub async fn wait_all(client: &Client, placed: &[Order], timeout: Duration) -> Result<HashMap<String, OrderOutcome>> {
    let mut outcomes = HashMap::new();
    for order in placed {
        let wf = shared::workflow_id(&order.order_id);
        let outcome = tokio::time::timeout(timeout, orders::outcome(client, &wf))
            .await
            .with_context(|| format!("order {} did not finish within {timeout:?} (stuck)", order.order_id))?
            .with_context(|| format!("order {} failed", order.order_id))?;
        outcomes.insert(order.order_id.to_string(), outcome);
    }
    Ok(outcomes)
}

/// Every activity start (with its attempt) and workflow task completion of an order.
pub async fn timeline(client: &Client, order_id: &str) -> Result<Vec<StepRun>> {
    let wf = format!("order-{order_id}");
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
            .and_then(|t| SystemTime::UNIX_EPOCH.checked_add(Duration::new(t.seconds.max(0) as u64, t.nanos.max(0) as u32)))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                scheduled.insert(e.event_id, a.activity_type.map(|t| t.name).unwrap_or_default());
            }
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => runs.push(StepRun {
                order_id: order_id.to_owned(),
                step: scheduled.get(&a.scheduled_event_id).cloned().unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_kind_from_identity() {
        assert_eq!(WorkerKind::of("local-worker@vm:42"), WorkerKind::Local);
        assert_eq!(WorkerKind::of("0a1c@arn:aws:lambda:us-east-1:000000000000:function:shopflow-worker"), WorkerKind::Lambda);
        assert_eq!(WorkerKind::of("temporal-cli:root@vm"), WorkerKind::Other);
    }
}
