//! One order as the page and the dashboard show it: where it is (the workflow's `progress` query
//! while it runs, its outcome once closed), which worker ran its latest step (from the history's
//! task identities) and a link to it in the Temporal UI.
//!
//! A closed order never changes, so its view is computed once and kept ([`ClosedOrders`]): the
//! dashboard polls every second and would otherwise re-read every finished order's history.
//! Parts that cannot be read (no worker answers the query, say) leave their fields empty and say
//! why in `note`, rather than failing the whole answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use futures::StreamExt as _;
use serde::Serialize;
use shared::orders::{LastWorkers, WorkerKind};
use shared::workflow::UndoRecord;
use shared::{OrderOutcome, OrderStep};
use temporalio_client::errors::WorkflowInteractionError;
use temporalio_client::{
    Client, WorkflowDescribeOptions, WorkflowExecutionStatus, WorkflowListOptions,
};

use super::WebState;
use super::settings::WebSettings;
use super::temporal::{bounded, unavailable};
use crate::problem::Problem;

/// A running order's query is answered by a worker; without one it would wait for the full call
/// timeout, and the page polls every second.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// The forward steps, in order.
const FORWARD: [OrderStep; 4] = [
    OrderStep::ReservingInventory,
    OrderStep::ChargingCustomer,
    OrderStep::CreatingShipment,
    OrderStep::NotifyingCustomer,
];

/// Most closed orders remembered; past it the memory starts over (they are cheap to recompute).
const CLOSED_CACHE_LIMIT: usize = 2_000;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub order_id: String,
    pub workflow_id: String,
    pub run_id: String,
    /// Temporal's status of the run: `running`, `completed`, `failed`, `terminated`, ...
    pub status: &'static str,
    pub started_at: Option<String>,
    pub closed_at: Option<String>,
    /// Where the order is; `None` when it cannot be told (see `note`).
    pub step: Option<OrderStep>,
    pub done: Vec<OrderStep>,
    pub undone: Vec<UndoRecord>,
    pub outcome: Option<OrderOutcome>,
    pub worker: Option<WorkerView>,
    pub temporal_ui_url: Option<String>,
    /// Why some field is empty, for a human.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerView {
    pub identity: String,
    pub kind: WorkerKind,
}

/// Views of closed runs, by run ID.
#[derive(Default)]
pub struct ClosedOrders(Mutex<HashMap<String, OrderView>>);

impl ClosedOrders {
    fn get(&self, run_id: &str) -> Option<OrderView> {
        self.0
            .lock()
            .expect("closed orders lock")
            .get(run_id)
            .cloned()
    }

    fn keep(&self, view: &OrderView) {
        let mut map = self.0.lock().expect("closed orders lock");
        if map.len() >= CLOSED_CACHE_LIMIT {
            map.clear();
        }
        map.insert(view.run_id.clone(), view.clone());
    }
}

/// What the visibility store or a describe says about a run: enough to pick what to ask next.
struct Summary {
    workflow_id: String,
    run_id: String,
    status: WorkflowExecutionStatus,
    started_at: Option<SystemTime>,
    closed_at: Option<SystemTime>,
}

/// The view of one order by workflow ID (its latest run). 404 if there is no such workflow.
pub async fn one(web: &WebState, workflow_id: &str) -> Result<OrderView, Problem> {
    let client = web.temporal.client().await?;
    let description = bounded(async {
        shared::orders::handle(&client, workflow_id)
            .describe(WorkflowDescribeOptions::default())
            .await
            .map_err(|e| match e {
                WorkflowInteractionError::NotFound(_) => {
                    let order_id = workflow_id.strip_prefix("order-").unwrap_or(workflow_id);
                    Problem::not_found("order", order_id)
                }
                other => unavailable(other),
            })
    })
    .await?;
    let summary = Summary {
        workflow_id: workflow_id.to_owned(),
        run_id: description.run_id().to_owned(),
        status: description.status(),
        started_at: description.start_time(),
        closed_at: description.close_time(),
    };
    Ok(view(web, &client, summary).await)
}

/// The most recent orders (newest first), at most `limit`.
pub async fn recent(web: &WebState, limit: usize) -> Result<Vec<OrderView>, Problem> {
    let client = web.temporal.client().await?;
    let mut query = "WorkflowType = 'OrderWorkflow'".to_owned();
    if let Some(task_queue) = &web.settings.task_queue {
        // Task queue names are ours (configuration), but quote them safely all the same.
        query.push_str(&format!(
            " AND TaskQueue = '{}'",
            task_queue.replace('\\', "\\\\").replace('\'', "\\'")
        ));
    }
    let summaries = bounded(async {
        let stream =
            client.list_workflows(query, WorkflowListOptions::builder().limit(limit).build());
        let executions: Vec<_> = stream.collect().await;
        executions
            .into_iter()
            .map(|execution| {
                execution.map_err(unavailable).map(|e| Summary {
                    workflow_id: e.id().to_owned(),
                    run_id: e.run_id().to_owned(),
                    status: e.status(),
                    started_at: e.start_time(),
                    closed_at: e.close_time(),
                })
            })
            .collect::<Result<Vec<_>, Problem>>()
    })
    .await?;
    Ok(futures::future::join_all(summaries.into_iter().map(|s| view(web, &client, s))).await)
}

async fn view(web: &WebState, client: &Client, summary: Summary) -> OrderView {
    let running = summary.status == WorkflowExecutionStatus::Running;
    if !running && let Some(kept) = web.closed_orders.get(&summary.run_id) {
        return kept;
    }
    let mut notes = Vec::new();
    let mut view = OrderView {
        order_id: summary
            .workflow_id
            .strip_prefix("order-")
            .unwrap_or(&summary.workflow_id)
            .to_owned(),
        temporal_ui_url: ui_link(&web.settings, &summary.workflow_id),
        workflow_id: summary.workflow_id,
        run_id: summary.run_id,
        status: status_name(summary.status),
        started_at: summary.started_at.map(rfc3339),
        closed_at: summary.closed_at.map(rfc3339),
        step: None,
        done: Vec::new(),
        undone: Vec::new(),
        outcome: None,
        worker: None,
        note: None,
    };
    let workers = bounded(async {
        shared::orders::last_workers(client, &view.workflow_id)
            .await
            .map_err(unavailable)
    });
    let state = async {
        if running {
            let query = shared::orders::progress(client, &view.workflow_id);
            match tokio::time::timeout(QUERY_TIMEOUT, query).await {
                Ok(Ok(progress)) => Ok((Some(progress.step), progress.done, progress.undone, None)),
                Ok(Err(e)) => Err(format!("the progress query failed: {e}")),
                Err(_) => Err("no worker answered the progress query yet".to_owned()),
            }
        } else if summary.status == WorkflowExecutionStatus::Completed {
            let outcome = bounded(async {
                shared::orders::outcome(client, &view.workflow_id)
                    .await
                    .map_err(unavailable)
            });
            match outcome.await {
                Ok(outcome) => Ok(from_outcome(outcome)),
                Err(problem) => Err(format!("the outcome could not be read: {}", problem.detail)),
            }
        } else {
            Err(format!(
                "the workflow is {} (not an order outcome)",
                view.status
            ))
        }
    };
    let (workers, state) = tokio::join!(workers, state);
    match workers {
        Ok(last) => view.worker = worker_view(&last),
        Err(problem) => notes.push(format!("the history could not be read: {}", problem.detail)),
    }
    match state {
        Ok((step, done, undone, outcome)) => {
            (view.step, view.done, view.undone, view.outcome) = (step, done, undone, outcome)
        }
        Err(why) => notes.push(why),
    }
    view.note = (!notes.is_empty()).then(|| notes.join("; "));
    if !running && view.note.is_none() {
        web.closed_orders.keep(&view);
    }
    view
}

type StepState = (
    Option<OrderStep>,
    Vec<OrderStep>,
    Vec<UndoRecord>,
    Option<OrderOutcome>,
);

/// A closed order's steps, from its outcome alone (no worker needed).
fn from_outcome(outcome: OrderOutcome) -> StepState {
    match &outcome {
        OrderOutcome::Completed { .. } => (
            Some(OrderStep::Completed),
            FORWARD.to_vec(),
            Vec::new(),
            Some(outcome),
        ),
        OrderOutcome::Compensated {
            failed_step,
            undone,
            ..
        } => {
            let done = FORWARD
                .iter()
                .copied()
                .take_while(|s| s != failed_step)
                .collect();
            let undone = undone.clone();
            (Some(OrderStep::Compensated), done, undone, Some(outcome))
        }
    }
}

fn worker_view(last: &LastWorkers) -> Option<WorkerView> {
    last.latest().map(|identity| WorkerView {
        identity: identity.to_owned(),
        kind: WorkerKind::of(identity),
    })
}

/// `{ui}/namespaces/{namespace}/workflows/{workflowId}`, each part percent-encoded.
pub fn ui_link(settings: &WebSettings, workflow_id: &str) -> Option<String> {
    let mut url = settings.temporal_ui_url.clone()?;
    url.path_segments_mut().ok()?.pop_if_empty().extend([
        "namespaces",
        &settings.namespace,
        "workflows",
        workflow_id,
    ]);
    Some(url.to_string())
}

fn status_name(status: WorkflowExecutionStatus) -> &'static str {
    match status {
        WorkflowExecutionStatus::Running => "running",
        WorkflowExecutionStatus::Completed => "completed",
        WorkflowExecutionStatus::Failed => "failed",
        WorkflowExecutionStatus::Canceled => "canceled",
        WorkflowExecutionStatus::Terminated => "terminated",
        WorkflowExecutionStatus::ContinuedAsNew => "continuedAsNew",
        WorkflowExecutionStatus::TimedOut => "timedOut",
        WorkflowExecutionStatus::Paused => "paused",
        _ => "unknown",
    }
}

fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_links_encode_the_workflow_id() {
        let settings = WebSettings {
            temporal_ui_url: Some(reqwest::Url::parse("http://127.0.0.1:8233/").unwrap()),
            ..WebSettings::default()
        };
        assert_eq!(
            ui_link(&settings, "order-A 1/x").as_deref(),
            Some("http://127.0.0.1:8233/namespaces/default/workflows/order-A%201%2Fx")
        );
        assert_eq!(ui_link(&WebSettings::default(), "order-1"), None);
    }

    #[test]
    fn a_compensated_order_did_the_steps_before_the_one_that_failed() {
        let outcome = OrderOutcome::Compensated {
            order_id: "1".into(),
            failed_step: OrderStep::ChargingCustomer,
            reason_code: "card-declined".into(),
            reason: "declined".into(),
            undone: vec![UndoRecord {
                action: shared::workflow::UndoAction::ReleaseInventory,
                reference: "r".into(),
                error: None,
            }],
        };
        let (step, done, undone, _) = from_outcome(outcome);
        assert_eq!(
            (step, done, undone.len()),
            (
                Some(OrderStep::Compensated),
                vec![OrderStep::ReservingInventory],
                1
            )
        );
    }
}
